"""F-11 "do not notify author" through every channel staff use: the ticket page and the REST API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from otklik.notifications import catalog as c
from otklik.notifications.models import OutboxMessage
from otklik.tickets.models import Ticket
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def new_events(ticket: Ticket, since: int) -> list[str]:
    return list(
        OutboxMessage.objects.filter(ticket_id=ticket.pk, id__gt=since)
        .order_by("id")
        .values_list("event", flat=True)
    )


def last_id() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def staff_web(cast) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.staff)
    return client


@pytest.mark.parametrize("quiet", [False, True])
def test_web_reply_quiet_checkbox_decides_author_mail(cast, make_ticket, staff_web, quiet):
    ticket = make_ticket()
    since = last_id()
    data = {"reply-body": "We are on it."} | ({"reply-quiet": "on"} if quiet else {})
    response = staff_web.post(reverse("tickets:staff_detail", args=[ticket.pk]), data)
    assert response.status_code == 302
    author_mail = c.CHANGED_BY_SUPPORT_FOR_AUTHOR in new_events(ticket, since)
    assert author_mail is not quiet
    assert c.CHANGED_FOR_SUPPORT in new_events(ticket, since)


@pytest.mark.parametrize("quiet", [False, True])
def test_web_close_quiet_checkbox_decides_author_mail(cast, make_ticket, staff_web, quiet):
    ticket = make_ticket()
    since = last_id()
    data = {"action": "close"} | ({"quiet": "on"} if quiet else {})
    staff_web.post(reverse("tickets:staff_action", args=[ticket.pk]), data)
    assert Ticket.objects.get(pk=ticket.pk).closed_at is not None
    assert (c.CHANGED_BY_SUPPORT_FOR_AUTHOR in new_events(ticket, since)) is not quiet


def test_web_ticket_page_offers_the_quiet_checkboxes(cast, make_ticket, staff_web):
    ticket = make_ticket()
    page = staff_web.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert 'name="reply-quiet"' in page
    assert 'id="attributes-quiet"' in page
    # One box in the properties form: the Close / Reopen buttons submit that form to the action URL.
    assert page.count('name="quiet"') == 1
    assert 'form="props-form" formaction="' + reverse("tickets:staff_action", args=[ticket.pk]) in page


@pytest.mark.parametrize("notify", [True, False])
def test_api_message_notify_author_flag_decides_author_mail(cast, make_ticket, notify):
    ticket = make_ticket()
    since = last_id()
    response = Api(cast.staff).send(
        "POST", f"/api/v1/tickets/{ticket.pk}/messages", {"body": "Answer", "notify_author": notify}
    )
    assert response.status_code == 201, response.content
    assert (c.CHANGED_BY_SUPPORT_FOR_AUTHOR in new_events(ticket, since)) is notify


@pytest.mark.parametrize("notify", [True, False])
def test_api_patch_notify_author_flag_decides_author_mail(cast, make_ticket, notify):
    ticket = make_ticket()
    since = last_id()
    response = Api(cast.staff).send(
        "PATCH", f"/api/v1/tickets/{ticket.pk}", {"title": "Renamed", "closed": True, "notify_author": notify}
    )
    assert response.status_code == 200, response.content
    author_mail = [e for e in new_events(ticket, since) if e == c.CHANGED_BY_SUPPORT_FOR_AUTHOR]
    assert len(author_mail) == (2 if notify else 0)


def test_api_create_ticket_by_client_queues_both_new_ticket_mails(cast):
    response = Api(cast.client).send("POST", "/api/v1/tickets", {"title": "VPN", "message": "Down"})
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert sorted(new_events(ticket, 0)) == sorted([c.NEW_FOR_AUTHOR, c.NEW_FOR_SUPPORT])
