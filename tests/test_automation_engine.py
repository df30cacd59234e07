"""Automation rules on ticket changes: created, updated, client replied; order, stop, loops, refusals, log."""

import pytest
from django.utils import translation

from otklik.automation.models import FiringOutcome, RuleFiring
from otklik.automation.services import rule_create, rule_update
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.tickets import services
from otklik.tickets.models import Message, MessageKind
from otklik.tickets.services.tags import ticket_tag_names, ticket_tags_change
from tests.helpers import fresh

pytestmark = pytest.mark.django_db


def entry(kind: str, en: str, ru: str = "") -> DictionaryEntry:
    return DictionaryEntry.objects.create(kind=kind, name_en=en, name_ru=ru or en)


@pytest.fixture
def high():
    return entry(DictionaryKind.CRITICALITY, "High", "Высокая")


def rule(cast, **data):
    data.setdefault("name", f"Rule {RuleFiring.objects.count()}-{len(data)}")
    data.setdefault("event", "created")
    return rule_create(actor=cast.admin, data=data)


def rule_lines(ticket, language="en") -> list[str]:
    """The rule log lines of the ticket, rendered in `language`."""
    lines = []
    with translation.override(language):
        for message in Message.objects.filter(ticket=ticket, kind=MessageKind.LOG).order_by("number"):
            if any(str(item.get("code", "")).startswith("rule") for item in message.data or ()):
                lines.extend(message.log_lines)
    return lines


def test_created_rule_with_matching_text_sets_criticality_and_logs_in_both_languages(cast, make_ticket, high):
    rule(
        cast,
        name="VIP first",
        conditions=[{"field": "message", "op": "contains", "value": "URGENT"}],
        actions={"changes": {"criticality": high.pk}},
    )
    ticket = make_ticket(message="This is urgent, please")
    assert ticket.criticality_id == high.pk  # the caller's instance shows the rule's change
    assert fresh(ticket).criticality_id == high.pk
    assert rule_lines(ticket, "en") == ["Rule “VIP first” set criticality to High"]
    assert (
        rule_lines(ticket, "ru")[0].startswith("Правило «VIP first»")
        or "VIP first" in rule_lines(ticket, "ru")[0]
    )
    firing = RuleFiring.objects.get()
    assert (firing.outcome, firing.event, firing.ticket_id) == (FiringOutcome.OK, "created", ticket.pk)


def test_created_rule_not_matching_does_nothing(cast, make_ticket, high):
    rule(
        cast,
        conditions=[{"field": "message", "op": "contains", "value": "urgent"}],
        actions={"changes": {"criticality": high.pk}},
    )
    ticket = make_ticket(message="No hurry at all")
    assert fresh(ticket).criticality_id != high.pk
    assert not RuleFiring.objects.exists()
    assert rule_lines(ticket) == []


def test_inactive_rule_does_not_fire(cast, make_ticket, high):
    rule(cast, active=False, actions={"changes": {"criticality": high.pk}})
    ticket = make_ticket()
    assert fresh(ticket).criticality_id != high.pk


def test_client_replied_rule_fires_on_client_message_only(cast, make_ticket):
    rule(cast, event="client_replied", actions={"add_tags": ["client-wrote"]})
    ticket = make_ticket()
    assert ticket_tag_names(ticket) == []
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Support answer"))
    assert ticket_tag_names(ticket) == []
    services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Thanks, still broken")
    )
    assert ticket_tag_names(ticket) == ["client-wrote"]
    assert RuleFiring.objects.get().event == "client_replied"


def test_updated_rule_fires_on_field_change(cast, make_ticket, high):
    rule(
        cast,
        event="updated",
        conditions=[{"field": "criticality", "op": "is", "value": high.pk}],
        actions={"add_tags": ["hot"], "reply": "We raised the priority.", "reply_hidden": True},
    )
    ticket = make_ticket()
    assert ticket_tag_names(ticket) == []
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"criticality": high.pk})
    assert ticket_tag_names(ticket) == ["hot"]
    note = Message.objects.get(ticket=ticket, kind=MessageKind.HIDDEN)
    assert note.author == cast.admin and note.body == "We raised the priority."
    [line] = rule_lines(ticket)
    assert "added a hidden note" in line and "set tags to hot" in line


def test_rules_run_in_order_and_stop_processing_stops_later_rules(cast, make_ticket):
    rule(cast, name="second", order=20, actions={"add_tags": ["second"]})
    rule(cast, name="first", order=10, actions={"add_tags": ["first"]}, stop_processing=True)
    ticket = make_ticket()
    assert ticket_tag_names(ticket) == ["first"]
    assert list(RuleFiring.objects.values_list("rule__name", flat=True)) == ["first"]


def test_rules_run_in_order_later_rule_sees_earlier_change(cast, make_ticket):
    rule(
        cast,
        name="b",
        order=20,
        conditions=[{"field": "tag", "op": "contains", "value": "a"}],
        actions={"add_tags": ["b"]},
    )
    rule(cast, name="a", order=10, actions={"add_tags": ["a"]})
    ticket = make_ticket()
    assert ticket_tag_names(ticket) == ["a", "b"]


def test_refused_rule_rolls_back_only_itself_and_is_recorded(cast, make_ticket):
    # The refused rule replies first and then sets a field nobody may set: its reply must go too.
    rule(cast, name="bad", order=10, actions={"reply": "You will not see this", "changes": {"mark": 999999}})
    rule(cast, name="good", order=20, actions={"add_tags": ["ok"]})
    ticket = make_ticket()
    assert ticket_tag_names(ticket) == ["ok"]
    assert not Message.objects.filter(ticket=ticket, by_support=True, kind=MessageKind.PUBLIC).exists()
    bad = RuleFiring.objects.get(rule__name="bad")
    assert bad.outcome == FiringOutcome.REFUSED and bad.detail
    assert RuleFiring.objects.get(rule__name="good").outcome == FiringOutcome.OK
    assert any(line.startswith("Rule “bad” could not act") for line in rule_lines(ticket))


def test_rules_that_undo_each_other_are_stopped_as_a_loop(cast, make_ticket):
    on = rule(
        cast,
        name="postpone",
        event="updated",
        conditions=[{"field": "is_postponed", "op": "is", "value": False}],
        actions={"changes": {"is_postponed": True}},
    )
    rule(
        cast,
        name="resume",
        event="updated",
        conditions=[{"field": "is_postponed", "op": "is", "value": True}],
        actions={"changes": {"is_postponed": False}},
    )
    ticket = make_ticket()
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Changed"})
    outcomes = sorted(RuleFiring.objects.values_list("rule__name", "outcome"))
    assert outcomes == [("postpone", "loop"), ("postpone", "ok"), ("resume", "ok")]
    assert fresh(ticket).is_postponed is False  # the last change before the loop was stopped
    loop_lines = [line for line in rule_lines(ticket) if "loop" in line]
    assert len(loop_lines) == 1
    assert on.pk  # the rules stay; only this change's loop was stopped


def test_rule_that_triggers_itself_fires_once_per_change(cast, make_ticket):
    # No condition: each firing's note is an update that would fire it again.
    rule(cast, name="echo", event="updated", actions={"reply": "noted", "reply_hidden": True})
    ticket = make_ticket()
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Changed"})
    assert Message.objects.filter(ticket=ticket, kind=MessageKind.HIDDEN).count() == 1
    assert list(RuleFiring.objects.values_list("outcome", flat=True)) == ["ok"]


def test_hard_cap_stops_a_chain_of_rules(cast, make_ticket):
    # A chain of ten rules, each triggered by the previous one's tag: depth runs out at MAX_DEPTH.
    for i in range(10):
        rule(
            cast,
            name=f"chain {i}",
            event="updated",
            order=i,
            conditions=[{"field": "tag", "op": "contains", "value": f"t{i}"}],
            actions={"add_tags": [f"t{i + 1}"]},
        )
    ticket = make_ticket()
    ticket_tags_change(actor=cast.staff, ticket=ticket, add=["t0"])
    assert RuleFiring.objects.filter(outcome="loop").count() == 1
    assert RuleFiring.objects.filter(outcome="ok").count() == 5  # MAX_DEPTH rules deep
    assert ticket_tag_names(ticket) == ["t0", "t1", "t2", "t3", "t4", "t5"]
    assert len([line for line in rule_lines(ticket) if "loop" in line]) == 1


def test_rule_already_satisfied_is_not_a_firing(cast, make_ticket, high):
    rule(cast, event="updated", actions={"changes": {"criticality": high.pk}})
    ticket = make_ticket(criticality=high.pk)
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Other"})
    assert not RuleFiring.objects.exists()


def test_notify_mentions_staff_in_a_hidden_note(cast, make_ticket):
    from otklik.notifications.models import InAppNotification

    rule(cast, actions={"notify": {"users": [cast.staff2.pk], "text": "Look"}})
    ticket = make_ticket()
    note = Message.objects.get(ticket=ticket, kind=MessageKind.HIDDEN)
    assert note.body == "@staff2 Look"
    assert InAppNotification.objects.filter(
        recipient=cast.staff2, ticket_id=ticket.pk, kind="mention"
    ).exists()


def test_rule_edit_takes_effect_on_next_ticket(cast, make_ticket):
    saved = rule(cast, actions={"add_tags": ["one"]})
    make_ticket()
    rule_update(actor=cast.admin, rule=saved, data={"actions": {"add_tags": ["two"]}})
    ticket = make_ticket()
    assert ticket_tag_names(ticket) == ["two"]
