"""Split is offered, and done, only for messages that can be split: a client's own words (F-02, F-14).

Change-log lines, support's answers and the notes Otklik writes itself are not a client's problem to move
into a ticket of its own: the page offers no "split" for them and a forced POST is refused.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from otklik.core.errors import PermissionDenied
from otklik.tickets import services
from otklik.tickets.models import Message, MessageKind, Ticket
from otklik.tickets.policies import TicketPolicy
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def discussion(cast, make_ticket):
    """A ticket with a client message (1), a support answer, a log line, and a client reply."""
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Please send a screenshot.")
    )
    services.ticket_update(
        actor=cast.staff, ticket=Ticket.objects.get(pk=ticket.pk), changes={"title": "Renamed"}
    )
    services.message_post(
        actor=cast.client,
        ticket=Ticket.objects.get(pk=ticket.pk),
        draft=services.MessageDraft(body="Also: the invoice."),
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    by_kind = {
        "client": list(ticket.messages.filter(by_support=False).exclude(kind=MessageKind.LOG)),
        "support": ticket.messages.get(by_support=True, kind=MessageKind.PUBLIC),
        "log": ticket.messages.filter(kind=MessageKind.LOG).first(),
    }
    assert by_kind["log"] is not None and len(by_kind["client"]) == 2
    return ticket, by_kind


def _split_url(ticket: Ticket, message: Message) -> str:
    return reverse("tickets:message_split", args=[ticket.pk, message.number])


def test_split_policy_only_client_messages_are_splittable(cast, discussion):
    ticket, m = discussion
    policy = TicketPolicy(cast.staff)
    assert all(policy.can_split_message(msg) for msg in m["client"])
    assert not policy.can_split_message(m["support"])
    assert not policy.can_split_message(m["log"])
    assert not TicketPolicy(cast.demo).can_split_message(m["client"][0])


def test_staff_page_offers_split_only_for_splittable_messages(cast, discussion):
    ticket, m = discussion
    html = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    for msg in m["client"]:
        assert _split_url(ticket, msg) in html
    assert _split_url(ticket, m["support"]) not in html
    assert _split_url(ticket, m["log"]) not in html


@pytest.mark.parametrize("which", ["support", "log"])
def test_split_forced_post_for_unsplittable_message_refused_and_creates_nothing(cast, discussion, which):
    ticket, m = discussion
    client = logged_in(cast.staff)
    before = Ticket.objects.count()
    assert client.get(_split_url(ticket, m[which])).status_code == 403
    response = client.post(_split_url(ticket, m[which]), {"title": "Forced"})
    assert response.status_code == 403
    assert Ticket.objects.count() == before


def test_split_service_refuses_support_answer(cast, discussion):
    ticket, m = discussion
    with pytest.raises(PermissionDenied):
        services.ticket_split(actor=cast.staff, ticket=ticket, message=m["support"])
