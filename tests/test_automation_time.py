"""Time-based rules in working hours, SLA reminder/overdue rules, and the dry-run."""

import pytest

from otklik.automation.models import AutomationRule, RuleFiring
from otklik.automation.services import rule_create, rule_dry_run, rules_pending_run
from otklik.core import clock, events
from otklik.core.errors import PermissionDenied
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.schedule import SCHEDULE
from otklik.sla.models import SlaLevel, Timetable
from otklik.tickets import services
from otklik.tickets.services.sla_tick import sla_tick
from otklik.tickets.services.tags import ticket_tag_names
from tests.helpers import msk

pytestmark = pytest.mark.django_db

WORKDAY = [[36000, 68400]]  # 10:00-19:00


@pytest.fixture
def sla(cast):
    table = Timetable.objects.create(code="msk", name="Moscow", week=[WORKDAY] * 5 + [[], []])
    level = SlaLevel.objects.create(
        name="Standard", response_time=1, response_unit="hours", timetable=table, priority=10
    )
    level.groups.add(*cast.client.groups.all())
    return level


def pending_rule(cast, hours=4, **data):
    data = {
        "name": "Nudge",
        "event": "pending_hours",
        "hours": hours,
        "actions": {"add_tags": ["nudged"]},
        **data,
    }
    return rule_create(actor=cast.admin, data=data)


def answered_friday_17(cast, make_ticket):
    # 2025-10-24 is a Friday; the 25th and 26th are a weekend.
    with clock.frozen(msk(2025, 10, 24, 16, 0)):
        ticket = make_ticket()
    with clock.frozen(msk(2025, 10, 24, 17, 0)):
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Try again"))
    return ticket


def run_at(*when) -> int:
    with clock.frozen(msk(*when)):
        return rules_pending_run()


def test_pending_rule_counts_working_hours_over_a_weekend(cast, make_ticket, sla):
    pending_rule(cast)
    ticket = answered_friday_17(cast, make_ticket)
    assert ticket.sla_id == sla.pk
    assert run_at(2025, 10, 24, 21, 0) == 0  # 4 wall-clock hours, 2 working hours
    assert run_at(2025, 10, 25, 12, 0) == 0  # Saturday: no working time
    assert run_at(2025, 10, 27, 11, 59) == 0  # Monday: 2 h on Friday + 1 h 59 min
    assert ticket_tag_names(ticket) == []
    assert run_at(2025, 10, 27, 12, 0) == 1
    assert ticket_tag_names(ticket) == ["nudged"]
    firing = RuleFiring.objects.get()
    assert firing.event == "pending_hours" and firing.period_start == msk(2025, 10, 24, 17, 0)


def test_pending_rule_fires_once_per_waiting_period(cast, make_ticket, sla):
    pending_rule(cast, actions={"reply": "Is the problem still there?"})
    ticket = answered_friday_17(cast, make_ticket)
    assert run_at(2025, 10, 27, 12, 0) == 1
    assert run_at(2025, 10, 27, 12, 5) == 0
    # The rule's own answer at 12:00 is support's last message: a new period, due at 16:00.
    assert run_at(2025, 10, 27, 15, 59) == 0
    assert run_at(2025, 10, 27, 16, 0) == 1
    assert RuleFiring.objects.count() == 2
    # A client reply ends the wait; support's next answer starts a new period.
    with clock.frozen(msk(2025, 10, 29, 10, 0)):
        services.message_post(
            actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Still broken")
        )
    assert run_at(2025, 10, 29, 18, 0) == 0  # waiting for support, not for the client
    with clock.frozen(msk(2025, 10, 29, 11, 0)):
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed now"))
    assert run_at(2025, 10, 29, 15, 0) == 1
    periods = set(RuleFiring.objects.values_list("period_start", flat=True))
    assert msk(2025, 10, 29, 11, 0) in periods


def test_pending_rule_leaves_closed_and_unanswered_tickets(cast, make_ticket, sla):
    pending_rule(cast)
    with clock.frozen(msk(2025, 10, 24, 10, 0)):
        make_ticket()  # nobody answered: it waits for support
        closed = make_ticket()
        services.message_post(actor=cast.staff, ticket=closed, draft=services.MessageDraft(body="Done"))
        services.ticket_close(actor=cast.staff, ticket=closed)
    assert run_at(2025, 10, 28, 12, 0) == 0


def test_pending_rule_conditions_select_the_tickets(cast, make_ticket, sla):
    pending_rule(cast, conditions=[{"field": "title", "op": "contains", "value": "printer"}])
    ticket = answered_friday_17(cast, make_ticket)
    assert run_at(2025, 10, 27, 12, 0) == 0
    assert ticket_tag_names(ticket) == []


def test_pending_job_is_in_the_schedule():
    assert any(job.lock == "otklik-rules-pending" for job in SCHEDULE)


def test_sla_overdue_rule_fires_once_on_the_batch(cast, make_ticket, sla):
    rule_create(
        actor=cast.admin, data={"name": "Late", "event": "sla_overdue", "actions": {"add_tags": ["late"]}}
    )
    with clock.frozen(msk(2025, 10, 24, 17, 0)):
        ticket = make_ticket()
    with clock.frozen(msk(2025, 10, 24, 18, 30)):
        report = sla_tick()
        events.dispatch()
        events.dispatch()
    assert report.overdue == 1
    assert ticket_tag_names(ticket) == ["late"]
    firing = RuleFiring.objects.get()
    assert firing.event == "sla_overdue"


# -- dry-run -------------------------------------------------------------------------------------------
def test_dry_run_lists_open_tickets_that_match_now(cast, make_ticket):
    billing = DictionaryEntry.objects.create(kind=DictionaryKind.CATEGORY, name_ru="Счета", name_en="Billing")
    wanted = make_ticket(title="Invoice twice", category=billing.pk, message="Please refund")
    make_ticket(title="Invoice", category=billing.pk, message="Just a question")  # text does not match
    make_ticket(title="Other", message="Please refund")  # category does not match
    done = make_ticket(title="Old", category=billing.pk, message="Please refund")
    services.ticket_close(actor=cast.staff, ticket=done)
    rule = rule_create(
        actor=cast.admin,
        data={
            "name": "Refunds",
            "event": "created",
            "conditions": [
                {"field": "category", "op": "is", "value": billing.pk},
                {"field": "message", "op": "contains", "value": "refund"},
            ],
            "actions": {"add_tags": ["refund"]},
        },
    )
    assert [(m.id, m.title) for m in rule_dry_run(actor=cast.admin, rule=rule)] == [
        (wanted.pk, "Invoice twice")
    ]


def test_dry_run_sql_only_conditions_and_limit(cast, make_ticket):
    tickets = [make_ticket(title=f"T{i}") for i in range(5)]
    rule = AutomationRule(
        name="x",
        event="created",
        conditions=[{"field": "tag", "op": "is_empty", "value": True}],
        actions={"close": True},
    )
    found = rule_dry_run(actor=cast.admin, rule=rule, limit=3)
    assert len(found) == 3 and {m.id for m in found} <= {t.pk for t in tickets}


def test_dry_run_refused_for_staff(cast):
    rule = AutomationRule(name="x", event="created", actions={"close": True})
    with pytest.raises(PermissionDenied):
        rule_dry_run(actor=cast.staff, rule=rule)
