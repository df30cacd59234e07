"""A rule's "transition" action: the support-process move is taken where the ticket's state offers it, and
refused (recorded, nothing of the rule applied) where it does not."""

import pytest
from django.utils import translation

from otklik.automation.models import FiringOutcome, RuleFiring
from otklik.automation.services import rule_create
from otklik.tickets.services.tags import ticket_tag_names
from otklik.workflow.models import Move, TicketProcess

pytestmark = pytest.mark.django_db


def state(ticket) -> str:
    return TicketProcess.objects.get(ticket=ticket).state


def test_rule_transition_moves_the_ticket_where_its_state_offers_the_move(cast, make_ticket):
    rule = rule_create(
        actor=cast.admin,
        data={
            "name": "Accounts to administration",
            "event": "created",
            "conditions": [{"field": "title", "op": "contains", "value": "password"}],
            "actions": {"transition": "to_administration", "add_tags": ["admin-team"]},
            "run_as": cast.admin.pk,
        },
    )
    ticket = make_ticket(title="Reset my password")
    assert state(ticket) == "administration"
    assert list(Move.objects.filter(ticket=ticket).values_list("transition", flat=True)) == [
        "to_administration"
    ]
    assert ticket_tag_names(ticket) == ["admin-team"]
    firing = RuleFiring.objects.get(rule=rule, ticket=ticket)
    assert firing.outcome == FiringOutcome.OK


def test_rule_transition_not_offered_in_the_state_is_refused_and_nothing_applied(cast, make_ticket):
    rule = rule_create(
        actor=cast.admin,
        data={
            "name": "Approve at once",
            "event": "created",
            # "approve" leaves the change board's state, not the first line's where a new ticket starts.
            "actions": {"add_tags": ["approved"], "transition": "approve"},
            "run_as": cast.admin.pk,
        },
    )
    with translation.override("en"):  # the refusal is recorded in the language active at the change
        ticket = make_ticket(title="A new export format")
    assert state(ticket) == "l1"
    assert not Move.objects.filter(ticket=ticket).exists()
    assert ticket_tag_names(ticket) == []  # the tag added before the refused move is undone
    firing = RuleFiring.objects.get(rule=rule, ticket=ticket)
    assert firing.outcome == FiringOutcome.REFUSED
    assert firing.detail.startswith("The move approve is not available in the state")
