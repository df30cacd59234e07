"""Walk every branch of the shipped three-tier process through the services (F-30)."""

from __future__ import annotations

import pytest

from otklik.core.errors import Conflict, NotFound, ValidationFailed
from otklik.tickets import services
from otklik.tickets.models import Message, MessageKind
from otklik.workflow.models import Move, TicketProcess
from otklik.workflow.services import workflow_transition, workflow_vote
from tests.helpers import fresh


def place(ticket) -> TicketProcess:
    return TicketProcess.objects.get(ticket=ticket)


def move(actor, ticket, transition, **values):
    return workflow_transition(actor=actor, ticket=fresh(ticket), transition=transition, values=values)


def test_a_new_ticket_starts_at_l1_with_the_first_tier(crew, make_ticket):
    ticket = make_ticket()
    assert place(ticket).state == "l1" and place(ticket).role == "l1_operator"
    assert fresh(ticket).tier == "L1"


def test_change_request_approved_planned_built_tested_and_closed(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Needs a new export format")
    assert place(ticket).state == "triage" and fresh(ticket).tier == "L2"
    assert place(ticket).l1_outcome == "technical"
    move(crew.manager, ticket, "change_request")
    assert place(ticket).state == "board" and fresh(ticket).ticket_type == "change_request"
    with pytest.raises(Conflict):
        move(crew.board1, ticket, "approve")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve", comment="Useful")
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve")
    move(crew.board3, ticket, "approve")
    assert place(ticket).state == "planning"
    with pytest.raises(Conflict):
        move(crew.manager, ticket, "assign_developer")
    move(crew.manager, ticket, "plan", planned_effort="16")
    assert fresh(ticket).planned_effort_minutes == 960 and fresh(ticket).expected_date is not None
    move(crew.manager, ticket, "assign_developer")
    assert place(ticket).state == "work" and place(ticket).role == "developer"
    assert fresh(ticket).responsible == crew.developer and fresh(ticket).tier == "L3"
    with pytest.raises(NotFound):  # not the IT operator's ticket: they do not even see it
        move(crew.itop, ticket, "done")
    move(crew.developer, ticket, "done")
    move(crew.tester, ticket, "failed", comment="Still broken on Firefox")
    assert place(ticket).state == "work" and place(ticket).role == "developer"
    move(crew.developer, ticket, "done")
    move(crew.tester, ticket, "verified")
    with pytest.raises(ValidationFailed) as error:
        move(crew.l1, ticket, "close")
    assert "reply" in error.value.errors
    move(crew.l1, ticket, "close", reply="Done: the export now offers XLSX.")
    ticket = fresh(ticket)
    assert ticket.closed_at is not None and place(ticket).state == "closed" and place(ticket).role == ""
    public = Message.objects.filter(ticket=ticket, kind=MessageKind.PUBLIC).order_by("-number").first()
    assert public.body == "Done: the export now offers XLSX."
    assert list(Move.objects.filter(ticket=ticket).values_list("transition", flat=True)) == [
        "escalate", "change_request", "approve", "plan", "assign_developer", "done", "failed", "done",
        "verified", "close",
    ]  # fmt: skip


def test_a_reopened_ticket_goes_back_to_l1(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "solve", comment="Cleared the cache")
    move(crew.l1, ticket, "close", reply="Please try again now.")
    services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
    assert place(ticket).state == "l1" and fresh(ticket).tier == "L1"
    assert Move.objects.filter(ticket=ticket).last().transition == "reopen"


def test_the_client_sees_the_stage_and_staff_see_the_moves(crew, cast, make_ticket):
    from django.utils import translation

    from otklik.workflow.policies import WorkflowPolicy
    from otklik.workflow.selectors import process_view

    ticket = make_ticket()
    with translation.override("en"):
        mine = process_view(WorkflowPolicy(cast.client), fresh(ticket))
        theirs = process_view(WorkflowPolicy(crew.l1), fresh(ticket))
    assert mine.stage == "Registered by the first line of support" and mine.role == ""
    assert not mine.inside and mine.moves == [] and mine.history == []
    assert theirs.inside and theirs.role == "l1_operator" and theirs.role_name == "L1 operator"
    assert [m.code for m in theirs.moves] == [
        "to_administration", "profanity", "off_topic", "faq", "map_content", "solve", "escalate",
    ]  # fmt: skip
    escalate = next(m for m in theirs.moves if m.code == "escalate")
    assert [(f.name, f.required, f.type) for f in escalate.fields] == [("comment", True, "text")]


def test_a_ticket_closed_outside_the_process_leaves_every_queue_and_comes_back_on_reopen(
    crew, cast, make_ticket
):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Checked the basics")
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))  # the client solved it alone
    assert (place(ticket).state, place(ticket).role) == ("closed", "")
    closed = Move.objects.filter(ticket=ticket).last()
    assert (closed.transition, closed.source, closed.target, closed.actor) == (
        "closed",
        "triage",
        "closed",
        cast.client,
    )
    services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
    assert (place(ticket).state, place(ticket).role) == ("l1", "l1_operator")


def test_a_close_by_the_process_itself_is_one_move(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "solve")
    move(crew.l1, ticket, "close", reply="Fixed.")
    assert list(Move.objects.filter(ticket=ticket).values_list("transition", flat=True)) == ["solve", "close"]
