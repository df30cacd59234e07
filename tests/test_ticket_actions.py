"""The shared action sets of macros and rules, and the tags service they use."""

import pytest

from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.tickets.models import Message, Tag, Ticket, TicketEvent
from otklik.tickets.services.actions import TicketActions, ticket_actions_apply, ticket_actions_from_json
from otklik.tickets.services.tags import ticket_tag_names, ticket_tags_change, ticket_tags_set

pytestmark = pytest.mark.django_db


def test_tags_change_creates_tags_once_regardless_of_case_and_logs_for_staff(cast, make_ticket):
    ticket = make_ticket()
    assert ticket_tags_change(actor=cast.staff, ticket=ticket, add=["VIP", " billing  issue "]) == [
        "billing issue",
        "VIP",
    ]
    other = make_ticket()
    ticket_tags_change(actor=cast.staff, ticket=other, add=["vip"])
    assert Tag.objects.count() == 2
    assert ticket_tag_names(other) == ["VIP"]
    event = TicketEvent.objects.get(ticket=ticket, field="tags")
    assert event.staff_only and event.new == "billing issue, VIP"


def test_tags_change_by_client_refused(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(PermissionDenied):
        ticket_tags_change(actor=cast.client, ticket=ticket, add=["mine"])
    assert not Tag.objects.exists()


@pytest.mark.parametrize("bad", ["", "a,b", "x" * 51, "<b>"])
def test_tags_change_bad_name_refused_with_field_message(cast, make_ticket, bad):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as caught:
        ticket_tags_change(actor=cast.staff, ticket=ticket, add=[bad])
    assert "tags" in caught.value.errors


def test_tags_set_replaces_and_unchanged_set_writes_nothing(cast, make_ticket):
    ticket = make_ticket()
    ticket_tags_set(actor=cast.staff, ticket=ticket, names=["a", "b"])
    assert ticket_tags_set(actor=cast.staff, ticket=ticket, names=["b", "c"]) == ["b", "c"]
    logs = Message.objects.filter(ticket=ticket, kind="log").count()
    ticket_tags_set(actor=cast.staff, ticket=ticket, names=["C", "b"])
    assert Message.objects.filter(ticket=ticket, kind="log").count() == logs


def test_actions_apply_reply_fields_tags_and_close(cast, make_ticket):
    ticket = make_ticket()
    actions = ticket_actions_from_json(
        {"changes": {"is_postponed": True}, "add_tags": ["waiting"], "close": True},
        reply="Hello, {author.name}! Ticket #{ticket.id}.",
    )
    ticket_actions_apply(actor=cast.staff, ticket=ticket, actions=actions)
    ticket.refresh_from_db()
    assert ticket.is_postponed and ticket.closed_at is not None
    assert ticket_tag_names(ticket) == ["waiting"]
    reply = Message.objects.filter(ticket=ticket, kind="public", by_support=True).get()
    assert reply.body == f"Hello, Ivan Petrov! Ticket #{ticket.pk}."


def test_actions_apply_refused_change_applies_nothing(cast, make_ticket):
    ticket = make_ticket()
    messages = Message.objects.filter(ticket=ticket).count()
    # The author may not set the responsible (F-13): the reply before it must not stay either.
    actions = TicketActions(changes={"responsible": cast.staff.pk}, reply="Done", add_tags=("x",))
    with pytest.raises(PermissionDenied):
        ticket_actions_apply(actor=cast.client, ticket=ticket, actions=actions)
    assert Message.objects.filter(ticket=ticket).count() == messages
    assert Ticket.objects.get(pk=ticket.pk).responsible_id is None


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"changes": {"author": 1}},
        {"changes": []},
        {"add_tags": "x"},
        {"drop": 1},
        {"close": 1, "reopen": 1},
    ],
)
def test_actions_from_json_bad_input_refused(data):
    with pytest.raises(ValidationFailed):
        ticket_actions_from_json(data)


def test_tags_differing_only_in_cyrillic_case_are_one_tag(cast, make_ticket):
    # SQLite's lower() knows only ASCII: the key is folded in Python so both databases agree.
    first, second = make_ticket(), make_ticket()
    ticket_tags_change(actor=cast.staff, ticket=first, add=["Срочно"])
    ticket_tags_change(actor=cast.staff, ticket=second, add=["СРОЧНО"])
    assert Tag.objects.count() == 1
    assert ticket_tag_names(second) == ["Срочно"]
