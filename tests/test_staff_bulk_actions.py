"""F-14 bulk actions: "Close" and "Open" are quiet for the author, their "and notify" twins mail the author
exactly as a single close/open by staff does; every action asks first and the form starts on no action.

Every mail test asserts the exact outbox rows (event, To, Cc, Bcc) the confirmed POST wrote.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from otklik.notifications import catalog as c
from otklik.notifications.models import OutboxMessage
from otklik.tickets import services
from otklik.tickets.models import SpamState, Ticket
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
BULK = reverse("tickets:staff_bulk")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _mails_since(first_id: int, ticket: Ticket) -> list[tuple[str, list[str], list[str], list[str]]]:
    rows = OutboxMessage.objects.filter(ticket_id=ticket.pk, id__gt=first_id).order_by("id")
    return [(m.event, sorted(m.to), sorted(m.cc), sorted(m.bcc)) for m in rows]


def _last_mail_id() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _confirmed(client, action: str, tickets: list[Ticket], **extra):
    data = {"action": action, "ids": [t.pk for t in tickets], "confirmed": "yes", **extra}
    return client.post(BULK, data)


def _single(cast, make_ticket, action: str):
    """Return the mails of the same change made on a twin ticket through the single-ticket service."""
    twin = make_ticket(title="Twin")
    if action == "open":
        services.ticket_close(actor=cast.staff, ticket=twin)
    first = _last_mail_id()
    if action == "close":
        services.ticket_close(actor=cast.staff, ticket=_fresh(twin))
    else:
        services.ticket_reopen(actor=cast.staff, ticket=_fresh(twin))
    return _mails_since(first, twin)


@pytest.mark.parametrize("action", ["close", "open"])
def test_bulk_plain_close_or_open_mails_support_only_never_the_author(cast, make_ticket, action):
    tickets = [make_ticket(title=f"T{i}") for i in range(2)]
    if action == "open":
        for t in tickets:
            services.ticket_close(actor=cast.staff, ticket=t)
    first = _last_mail_id()
    response = _confirmed(logged_in(cast.staff), action, tickets)
    assert response.status_code == 302
    for t in tickets:
        assert (_fresh(t).closed_at is not None) == (action == "close")
        # Nobody is responsible: the support copy goes to every admin; the author hears nothing.
        assert _mails_since(first, t) == [(c.CHANGED_FOR_SUPPORT, [cast.admin.email], [], [])]


@pytest.mark.parametrize("action", ["close", "open"])
def test_bulk_notify_close_or_open_mails_exactly_as_single_staff_change(cast, make_ticket, action):
    expected = _single(cast, make_ticket, action)
    assert (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, [cast.client.email], [], []) in expected
    tickets = [make_ticket(title=f"T{i}") for i in range(2)]
    if action == "open":
        for t in tickets:
            services.ticket_close(actor=cast.staff, ticket=t)
    first = _last_mail_id()
    response = _confirmed(logged_in(cast.staff), f"{action}_notify", tickets)
    assert response.status_code == 302
    for t in tickets:
        assert (_fresh(t).closed_at is not None) == (action == "close")
        assert _mails_since(first, t) == expected


@pytest.mark.parametrize(
    "action, label",
    [
        ("close", "Close"),
        ("close_notify", "Close and notify"),
        ("open", "Open"),
        ("open_notify", "Open and notify"),
        ("possible_spam", "Mark as possible spam"),
        ("not_spam", "Mark as not spam"),
        ("spam", "Mark as spam"),
        ("delete", "Delete"),
        ("assign", "Assign to…"),
    ],
)
def test_bulk_action_without_confirmation_asks_and_changes_nothing(cast, make_ticket, action, label):
    tickets = [make_ticket(title=f"T{i}") for i in range(3)]
    if action.startswith("open"):
        for t in tickets:
            services.ticket_close(actor=cast.staff, ticket=t)
    before = [(t.pk, _fresh(t).closed_at, _fresh(t).spam, _fresh(t).responsible_id) for t in tickets]
    first = _last_mail_id()
    data = {"action": action, "ids": [t.pk for t in tickets], "responsible": cast.staff2.pk}
    response = logged_in(cast.admin).post(BULK, data)
    assert response.status_code == 200
    html = response.content.decode()
    # The step names the action and the number of tickets, and posts the confirmation itself.
    assert label in html and "3 tickets" in html
    assert 'name="confirmed" value="yes"' in html
    assert re.search(r"<button[^>]*type=\"submit\"", html)
    # Keyboard first: the safe choice has the focus (Cancel for a deletion, else the confirmation).
    assert "autofocus" in html
    assert [(t.pk, _fresh(t).closed_at, _fresh(t).spam, _fresh(t).responsible_id) for t in tickets] == before
    assert OutboxMessage.objects.filter(id__gt=first).count() == 0


def test_bulk_confirmed_spam_marks_every_chosen_ticket(cast, make_ticket):
    tickets = [make_ticket(title=f"T{i}") for i in range(2)]
    _confirmed(logged_in(cast.staff), "possible_spam", tickets)
    assert {_fresh(t).spam for t in tickets} == {SpamState.POSSIBLE}


def test_staff_list_bulk_select_starts_on_no_action(cast, make_ticket):
    make_ticket()
    html = logged_in(cast.staff).get(reverse("tickets:staff_list")).content.decode()
    select = re.search(r'<select name="action"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", select)
    assert options[0][0].strip().startswith('value=""') and "Action for the chosen" in options[0][1]
    assert not any("selected" in attrs for attrs, _label in options[1:])


@pytest.mark.parametrize("confirmed", ["", "yes"])
def test_bulk_no_action_changes_nothing_with_clear_message(cast, make_ticket, confirmed):
    ticket = make_ticket()
    first = _last_mail_id()
    response = logged_in(cast.staff).post(BULK, {"action": "", "ids": [ticket.pk], "confirmed": confirmed})
    assert response.status_code == 302
    assert "Choose an action: nothing was changed." in _flashes(response)
    assert _fresh(ticket).closed_at is None
    assert OutboxMessage.objects.filter(id__gt=first).count() == 0


def test_bulk_unknown_action_refused_with_message(cast, make_ticket):
    ticket = make_ticket()
    response = _confirmed(logged_in(cast.staff), "close_everything", [ticket])
    assert response.status_code == 302
    assert "Choose an action: nothing was changed." in _flashes(response)
    assert _fresh(ticket).closed_at is None
