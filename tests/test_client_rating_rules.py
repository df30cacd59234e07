"""The author's later changes depend on the ticket's state (issue 17, F-13, F-22).

A mark rates support's answers: the author may rate only once support has posted a public answer.
The criticality tells support how urgent the work is: the author may not change it on a closed ticket.
The service, the API and the client's pages all refuse; the pages show only what is allowed and say why.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from otklik.accounts.models import Profile
from otklik.core.errors import PermissionDenied
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets import services
from otklik.tickets.models import Message, Ticket
from otklik.tickets.policies import TicketPolicy, support_answered
from tests.conftest import logged_in
from tests.helpers import MSK, Api, fresh


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def answer(cast, ticket: Ticket, **options) -> Message:
    return services.message_post(
        actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="An answer.", **options)
    )


def rate(cast, ticket: Ticket, code: str = "good") -> Ticket:
    return services.ticket_update(
        actor=cast.client, ticket=fresh(ticket), changes={"mark": entry("mark", code)}
    )


@pytest.fixture
def ticket(cast, make_ticket) -> Ticket:
    """A client's ticket the staff member is responsible for, not answered yet."""
    made = make_ticket()
    return services.ticket_update(actor=cast.admin, ticket=made, changes={"responsible": cast.staff})


# -- "support has answered" ----------------------------------------------------------------------
def test_support_answered_new_ticket_false(ticket):
    assert support_answered(fresh(ticket)) is False


def test_support_answered_after_public_answer_true(cast, ticket):
    answer(cast, ticket)
    assert support_answered(fresh(ticket)) is True


def test_support_answered_after_answer_and_client_reply_stays_true(cast, ticket):
    answer(cast, ticket)
    services.message_post(actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Thanks"))
    t = fresh(ticket)
    assert not t.last_message_by_support and support_answered(t) is True


@pytest.mark.parametrize("option", ["hidden", "not_change_status"])
def test_support_answered_after_hidden_or_no_status_message_false(cast, ticket, option):
    answer(cast, ticket, **{option: True})
    assert support_answered(fresh(ticket)) is False


def test_support_answered_after_the_only_answer_deleted_false(cast, ticket):
    message = answer(cast, ticket)
    services.message_delete(actor=cast.admin, message=message)
    assert support_answered(fresh(ticket)) is False


# -- the service -----------------------------------------------------------------------------
def test_ticket_update_mark_by_author_before_support_answer_refused_with_reason(cast, ticket):
    with pytest.raises(PermissionDenied) as info:
        rate(cast, ticket)
    assert "once support has answered" in info.value.text()
    assert fresh(ticket).mark_id is None


def test_ticket_update_mark_by_author_after_support_answer_saved(cast, ticket):
    answer(cast, ticket)
    assert rate(cast, ticket).mark == entry("mark", "good")


def test_ticket_update_mark_by_author_on_closed_answered_ticket_saved(cast, ticket):
    answer(cast, ticket)
    services.ticket_close(actor=cast.staff, ticket=fresh(ticket))
    assert rate(cast, ticket, "bad").mark == entry("mark", "bad")


def test_ticket_update_mark_on_stale_instance_judged_on_stored_state(cast, ticket):
    stale = fresh(ticket)  # loaded before support answered
    answer(cast, ticket)
    updated = services.ticket_update(actor=cast.client, ticket=stale, changes={"mark": entry("mark", "good")})
    assert updated.mark == entry("mark", "good")


def test_ticket_update_criticality_by_author_on_closed_ticket_refused_with_reason(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    with pytest.raises(PermissionDenied) as info:
        services.ticket_update(
            actor=cast.client, ticket=fresh(ticket), changes={"criticality": entry("criticality", "high")}
        )
    assert "reopen it" in info.value.text()
    assert fresh(ticket).criticality != entry("criticality", "high")


def test_ticket_update_criticality_by_author_after_reopen_saved(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
    changed = services.ticket_update(
        actor=cast.client, ticket=fresh(ticket), changes={"criticality": entry("criticality", "high")}
    )
    assert changed.criticality == entry("criticality", "high")


def test_ticket_update_criticality_by_staff_on_closed_ticket_saved(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    changed = services.ticket_update(
        actor=cast.staff, ticket=fresh(ticket), changes={"criticality": entry("criticality", "high")}
    )
    assert changed.criticality == entry("criticality", "high")


def test_policy_editable_fields_for_author_follow_state(cast, ticket):
    policy = TicketPolicy(cast.client)
    assert policy.editable_fields(fresh(ticket)) == {"criticality"}
    answer(cast, ticket)
    assert policy.editable_fields(fresh(ticket)) == {"criticality", "mark"}
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    assert policy.editable_fields(fresh(ticket)) == {"mark"}


# -- the API ---------------------------------------------------------------------------------
def test_api_patch_mark_before_support_answer_answers_403_with_field_reason(cast, ticket):
    Profile.objects.filter(user=cast.client).update(language="en")  # the API answers in the user's language
    response = Api(cast.client).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"mark": "good"})
    assert response.status_code == 403, response.content
    assert "once support has answered" in response.json()["errors"]["mark"][0]
    assert fresh(ticket).mark_id is None


def test_api_patch_mark_after_support_answer_answers_200(cast, ticket):
    answer(cast, ticket)
    response = Api(cast.client).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"mark": "good"})
    assert response.status_code == 200, response.content
    assert fresh(ticket).mark == entry("mark", "good")


def test_api_patch_criticality_by_author_on_closed_ticket_answers_403(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    response = Api(cast.client).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"criticality": "high"})
    assert response.status_code == 403, response.content
    assert "criticality" in response.json()["errors"]


def test_api_ticket_actions_for_author_list_only_what_state_allows(cast, ticket):
    api = Api(cast.client)
    assert api.get(f"/api/v1/tickets/{ticket.pk}").json()["actions"]["editable_fields"] == ["criticality"]
    answer(cast, ticket)
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    assert api.get(f"/api/v1/tickets/{ticket.pk}").json()["actions"]["editable_fields"] == ["mark"]


# -- the client's ticket page ------------------------------------------------------------------
def page(cast, ticket: Ticket) -> str:
    response = logged_in(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def closed_notice(html: str) -> str:
    found = re.search(r'<section class="closed-notice" id="closed-notice".*?</section>', html, re.S)
    assert found, "no closed-ticket notice"
    return found.group(0)


def test_client_page_before_support_answer_explains_rating_without_form(cast, ticket):
    html = page(cast, ticket)
    assert 'name="mark"' not in html
    assert "You can rate the answer once support has answered." in html


def test_client_page_after_support_answer_offers_rating(cast, ticket):
    answer(cast, ticket)
    html = page(cast, ticket)
    assert 'name="mark"' in html
    assert "once support has answered" not in html


def test_client_page_for_colleague_shows_no_rating_block(cast, ticket):
    answer(cast, ticket)
    html = logged_in(cast.colleague).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert 'name="mark"' not in html and "once support has answered" not in html


def test_client_page_open_ticket_offers_criticality_and_no_closed_notice(cast, ticket):
    html = page(cast, ticket)
    assert 'name="criticality"' in html
    assert 'id="closed-notice"' not in html


def test_client_page_closed_ticket_says_closed_on_date_offers_reopen_hides_criticality(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    closed_at = fresh(ticket).closed_at
    html = page(cast, ticket)
    assert 'id="closed-notice"' in html
    assert "This ticket is closed" in html
    assert closed_at.astimezone(MSK).strftime("%d.%m.%Y %H:%M") in html
    notice = closed_notice(html)
    assert 'value="reopen"' in notice and "Write a new ticket" in notice
    assert 'name="criticality"' not in html


def test_client_page_closed_ticket_for_colleague_suggests_new_ticket_not_reopen(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    html = logged_in(cast.colleague).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    notice = closed_notice(html)
    assert 'value="reopen"' not in html
    assert "To ask about something else, write a new ticket." in notice and "Write a new ticket" in notice


def test_client_action_mark_before_support_answer_redirects_with_reason(cast, ticket):
    browser = logged_in(cast.client)
    response = browser.post(
        reverse("tickets:client_action", args=[ticket.pk]),
        {"action": "mark", "mark": entry("mark", "good").pk},
        follow=True,
    )
    assert response.status_code == 200
    assert "You can rate the answer once support has answered." in response.content.decode()
    assert fresh(ticket).mark_id is None


def test_client_action_criticality_on_closed_ticket_redirects_with_reason(cast, ticket):
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    browser = logged_in(cast.client)
    response = browser.post(
        reverse("tickets:client_action", args=[ticket.pk]),
        {"action": "criticality", "criticality": entry("criticality", "high").pk},
        follow=True,
    )
    assert response.status_code == 200
    assert "reopen it to change the criticality" in response.content.decode()
    assert fresh(ticket).criticality != entry("criticality", "high")


# -- the client's list -----------------------------------------------------------------------
def test_client_list_rows_carry_card_labels(cast, ticket):
    html = logged_in(cast.client).get(reverse("tickets:client_list")).content.decode()
    assert 'class="list table-cards"' in html
    for label in ("Title", "Modified", "Status", "Criticality", "Mark", "Responsible"):
        assert f'data-label="{label}"' in html
