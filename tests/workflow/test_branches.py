"""Every branch of the shipped three-tier process, through the services (F-30).

The change request's approval is walked in test_walk.py; here: the L1 classes, the accident and the
incident, the rejected change request, the board's quorum and majority, admins standing in, the two
ways of choosing a role's member, and the expected date over the New Year holidays.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from otklik.core import clock
from otklik.core.errors import Conflict, PermissionDenied, ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel, Timetable
from otklik.sla.services import timetable_apply_calendar
from otklik.tickets.loglines import log_text
from otklik.tickets.models import Message, MessageKind, SpamState, TicketEvent
from otklik.workflow.models import Move, Role, TicketProcess, Vote
from otklik.workflow.services import workflow_transition, workflow_vote
from tests.conftest import make_user
from tests.helpers import fresh, msk


def state_of(ticket) -> tuple[str, str]:
    place = TicketProcess.objects.get(ticket=ticket)
    return place.state, place.role


def move(actor, ticket, transition, **values):
    return workflow_transition(actor=actor, ticket=fresh(ticket), transition=transition, values=values)


def public_replies(ticket) -> list[str]:
    return list(
        Message.objects.filter(ticket=ticket, kind=MessageKind.PUBLIC, number__gt=1)
        .order_by("number")
        .values_list("body", flat=True)
    )


@pytest.fixture
def answer(db):
    return DictionaryEntry.objects.create(
        kind="answer", code="offtopic", name_ru="Не по теме", name_en="Off-topic",
        description_ru="Мы отвечаем только на вопросы о портале.",
        description_en="We answer questions about the portal only.",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("transition", "state", "team"),
    [("to_administration", "administration", "admin_team"), ("map_content", "content", "content")],
)
def test_l1_routes_to_a_team_which_resolves_then_l1_informs(crew, make_ticket, transition, state, team):
    ticket = make_ticket()
    move(crew.l1, ticket, transition)
    assert state_of(ticket) == (state, {"administration": "administration", "content": "content_team"}[state])
    with pytest.raises(ValidationFailed) as error:
        move(getattr(crew, team), ticket, "resolve")
    assert list(error.value.errors) == ["comment"]
    move(getattr(crew, team), ticket, "resolve", comment="Done on our side")
    assert state_of(ticket) == ("inform", "l1_operator")
    move(crew.l1, ticket, "close", reply="Settled.")
    assert fresh(ticket).closed_at is not None and public_replies(ticket) == ["Settled."]
    assert TicketProcess.objects.get(ticket=ticket).l1_outcome == transition.replace("to_", "")


def test_profanity_closes_the_ticket_as_spam(crew, make_ticket):
    ticket = make_ticket(message="!!!")
    move(crew.l1, ticket, "profanity")
    ticket = fresh(ticket)
    assert ticket.spam == SpamState.POSSIBLE and ticket.closed_at is not None
    assert state_of(ticket) == ("closed", "")
    assert TicketProcess.objects.get(ticket=ticket).l1_outcome == "profanity"
    assert public_replies(ticket) == []


def test_off_topic_answers_with_the_template_and_closes(crew, make_ticket, answer):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as error:
        move(crew.l1, ticket, "off_topic")
    assert "answer" in error.value.errors
    move(crew.l1, ticket, "off_topic", answer=answer.pk)
    assert public_replies(ticket) == ["Мы отвечаем только на вопросы о портале."]  # the author's language
    assert fresh(ticket).closed_at is not None


def test_faq_needs_an_answer_or_a_reply(crew, make_ticket, answer):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as error:
        move(crew.l1, ticket, "faq")
    assert set(error.value.errors) == {"answer", "reply"}
    move(crew.l1, ticket, "faq", reply="See https://example.test/faq#login")
    assert public_replies(ticket) == ["See https://example.test/faq#login"]
    assert state_of(ticket) == ("closed", "")


def test_the_incident_manager_sends_a_non_technical_ticket_back(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Looks technical")
    with pytest.raises(ValidationFailed):
        move(crew.manager, ticket, "back_to_l1")
    move(crew.manager, ticket, "back_to_l1", comment="A billing question: the administration")
    assert state_of(ticket) == ("l1", "l1_operator") and fresh(ticket).tier == "L1"
    move(crew.l1, ticket, "to_administration")
    assert state_of(ticket)[0] == "administration"


def test_an_accident_gets_the_highest_criticality_and_an_it_operator(crew, make_ticket):
    highest = DictionaryEntry.objects.filter(kind="criticality", active=True).order_by("-sort", "-id").first()
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="The site is down")
    move(crew.manager, ticket, "accident")
    ticket = fresh(ticket)
    assert ticket.ticket_type == "accident" and ticket.criticality == highest
    assert state_of(ticket) == ("accident", "incident_manager")
    move(crew.manager, ticket, "assign_it")
    assert state_of(ticket) == ("work", "it_operator") and fresh(ticket).responsible == crew.itop
    assert fresh(ticket).tier == "L2"
    move(crew.itop, ticket, "done", comment="Restarted the database")
    move(crew.tester, ticket, "verified")
    move(crew.l1, ticket, "close", reply="The site works again.")
    assert fresh(ticket).closed_at is not None


def test_a_failed_test_sends_the_work_back_to_whoever_did_it(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Error 500 on save")
    move(crew.manager, ticket, "incident")
    assert fresh(ticket).ticket_type == "incident"
    move(crew.manager, ticket, "assign_developer")
    move(crew.developer, ticket, "done")
    with pytest.raises(ValidationFailed):
        move(crew.tester, ticket, "failed")  # the reason is required
    move(crew.tester, ticket, "failed", comment="Still 500 with a long title")
    assert state_of(ticket) == ("work", "developer") and fresh(ticket).tier == "L2"
    move(crew.developer, ticket, "done")
    assert state_of(ticket) == ("testing", "tester")


def test_a_rejected_change_request_goes_to_l1_to_inform(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Wants dark mode")
    move(crew.manager, ticket, "change_request")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="reject", comment="Not now")
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="reject")
    with pytest.raises(Conflict):
        move(crew.board3, ticket, "approve")  # the votes say otherwise
    move(crew.board3, ticket, "reject", comment="Two against")
    assert state_of(ticket) == ("inform", "l1_operator")
    move(crew.l1, ticket, "close", reply="The change was not approved this year.")
    assert fresh(ticket).closed_at is not None
    assert Vote.objects.filter(ticket=ticket).count() == 2  # kept after the decision


def test_the_board_decides_by_quorum_and_majority_and_votes_change_until_then(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="RfC")
    move(crew.manager, ticket, "change_request")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve")
    with pytest.raises(Conflict, match="2"):
        move(crew.board1, ticket, "approve")  # one vote of the quorum of two
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="reject")
    for decision in ("approve", "reject"):  # a tie decides nothing
        with pytest.raises(Conflict):
            move(crew.board1, ticket, decision)
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve", comment="Changed my mind")
    assert Vote.objects.filter(ticket=ticket).count() == 2
    with pytest.raises(PermissionDenied):
        workflow_vote(actor=crew.manager, ticket=fresh(ticket), vote="approve")
    with pytest.raises(ValidationFailed):
        workflow_vote(actor=crew.board3, ticket=fresh(ticket), vote="maybe")
    move(crew.board1, ticket, "approve")
    assert state_of(ticket) == ("planning", "incident_manager")
    with pytest.raises(Conflict):  # the vote is over
        workflow_vote(actor=crew.board3, ticket=fresh(ticket), vote="reject")


def test_an_admin_may_override_the_board_and_take_any_step_logged(crew, cast, make_ticket):
    ticket = make_ticket()
    move(cast.admin, ticket, "escalate", comment="Taking it myself")
    first = Move.objects.get(ticket=ticket)
    assert first.acted_as == "admin"
    move(crew.manager, ticket, "change_request")
    move(cast.admin, ticket, "approve", comment="Urgent: approved by the director")
    decision = Move.objects.filter(ticket=ticket).last()
    assert decision.acted_as == "admin" and decision.values["override"] is True
    log = Message.objects.filter(ticket=ticket, kind=MessageKind.LOG).order_by("-number").first()
    with translation.override("en"):  # whatever language an earlier test left active
        assert "Taken by a support admin in place of the role" in log_text(log.data)


def test_the_history_line_says_from_where_to_where_by_whom_and_why(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Checked the logs: a timeout")
    log = Message.objects.filter(ticket=ticket, kind=MessageKind.LOG).order_by("-number").first()
    assert log.author == crew.l1
    with translation.override("en"):
        text = log_text(log.data)
    assert "Technical question: escalate to the incident manager" in text
    assert "First line: classification → Incident manager's triage" in text
    assert "Checked the logs: a timeout" in text
    stage = TicketEvent.objects.get(ticket=ticket, field="stage")
    assert stage.staff_only and stage.actor == crew.l1


def test_a_move_not_available_here_is_a_conflict_and_a_client_is_refused(crew, cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(Conflict):
        move(crew.l1, ticket, "verified")
    with pytest.raises(PermissionDenied):
        move(cast.client, ticket, "escalate", comment="Me")
    with pytest.raises(ValidationFailed) as error:
        move(crew.l1, ticket, "escalate", comment="x", reply="not a field of this move")
    assert list(error.value.errors) == ["reply"]


def test_round_robin_takes_the_developers_in_turn(crew, make_ticket):
    second = make_user("developer2", "staff")
    Role.objects.get(code="developer").users.add(second)
    chosen = []
    for n in range(3):
        ticket = make_ticket(title=f"Change {n}")
        move(crew.l1, ticket, "escalate", comment="RfC")
        move(crew.manager, ticket, "change_request")
        workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve")
        workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve")
        move(crew.board1, ticket, "approve")
        move(crew.manager, ticket, "plan", planned_effort="4")
        move(crew.manager, ticket, "assign_developer")
        chosen.append(fresh(ticket).responsible)
        reason = Move.objects.filter(ticket=ticket).last().values["assignment"]["reason"]
        assert reason["en"] == "next in turn among 2 members"
    assert chosen == [crew.developer, second, crew.developer]


def test_least_loaded_takes_the_it_operator_with_fewer_open_tickets(crew, cast, make_ticket):
    busy = crew.itop
    idle = make_user("itop2", "staff")
    Role.objects.get(code="it_operator").users.add(idle)
    from otklik.tickets import services

    for n in range(2):
        services.ticket_update(
            actor=cast.admin, ticket=make_ticket(title=f"Busy {n}"), changes={"responsible": busy}
        )
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Down")
    move(crew.manager, ticket, "incident")
    move(crew.manager, ticket, "assign_it")
    assert fresh(ticket).responsible == idle
    assert Move.objects.filter(ticket=ticket).last().values["assignment"]["reason"]["en"] == (
        "the least loaded: 0 open tickets"
    )


@pytest.fixture
def moscow_sla(cast):
    table = Timetable.objects.create(code="msk", name="Moscow", week=[[[36000, 68400]]] * 5 + [[], []])
    for year in (2025, 2026):
        timetable_apply_calendar(table, year)
    level = SlaLevel.objects.create(
        name="Clients: standard", response_time=6, response_unit="hours", timetable=table, priority=10
    )
    level.groups.add(*cast.client.groups.all())
    return level


def test_a_plan_over_the_new_year_holidays_lands_after_them(crew, make_ticket, moscow_sla):
    ticket = make_ticket()
    assert fresh(ticket).sla == moscow_sla
    move(crew.l1, ticket, "escalate", comment="RfC")
    move(crew.manager, ticket, "change_request")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve")
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve")
    move(crew.board1, ticket, "approve")
    # Tue 30 Dec 2025, 10:00 Moscow: 9 working hours; 31 December and 1-11 January are off; 7 more hours
    # on Monday 12 January.
    with clock.frozen(msk(2025, 12, 30, 10, 0)):
        move(crew.manager, ticket, "plan", planned_effort="16")
    assert fresh(ticket).expected_date == dt.date(2026, 1, 12)
    assert fresh(ticket).planned_effort_minutes == 960
    with clock.frozen(msk(2025, 12, 30, 10, 0)):  # an explicit date wins over the computed one
        move(crew.manager, ticket, "plan", planned_effort="2", expected_date="2026-02-01")
    assert fresh(ticket).expected_date == dt.date(2026, 2, 1)
    with pytest.raises(ValidationFailed) as error:
        move(crew.manager, ticket, "plan", planned_effort="-3")
    assert "planned_effort" in error.value.errors
