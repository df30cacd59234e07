"""The staff new-ticket form (issue 17): the author is found by typing or filed by a new address."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from otklik.accounts.models import AccessLevel
from otklik.accounts.selectors import AUTHOR_SEARCH_LIMIT
from otklik.tickets.models import Ticket
from tests.conftest import logged_in, make_user

SEARCH = "tickets:staff_new_authors"


def _search(user, q: str):
    return logged_in(user).get(reverse(SEARCH), {"q": q})


def _ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-id="(\d+)"', response.content.decode())]


def _new(user, **data):
    form = {"title": "Printer does not print", "message": "Called at 10:05: the office printer is offline."}
    return logged_in(user).post(reverse("tickets:staff_new"), form | data)


# -- the search endpoint -------------------------------------------------------------------------
def test_author_search_by_name_finds_client_any_case(cast):
    assert _ids(_search(cast.staff, "petr")) == [cast.client.pk]
    assert _ids(_search(cast.staff, "IVAN PET")) == [cast.client.pk]


def test_author_search_by_email_or_login_finds_client(cast):
    assert _ids(_search(cast.staff, "other@exam")) == [cast.other_client.pk]
    assert cast.colleague.pk in _ids(_search(cast.staff, "colleag"))


def test_author_search_cyrillic_name_found_in_lower_case(cast):
    make_user("anna", AccessLevel.CLIENT, first_name="Анна", last_name="Сидорова")
    assert len(_ids(_search(cast.staff, "сидор"))) == 1


def test_author_search_short_query_lists_nobody_and_says_so(cast):
    response = _search(cast.staff, "p")
    assert response.status_code == 200
    assert _ids(response) == [] and "Type at least 2 characters" in response.content.decode()
    assert _search(cast.staff, "").content.decode().strip() == ""


def test_author_search_caps_results(cast):
    for i in range(AUTHOR_SEARCH_LIMIT + 3):
        make_user(f"acme{i:02d}", AccessLevel.CLIENT)
    assert len(_ids(_search(cast.staff, "acme"))) == AUTHOR_SEARCH_LIMIT


def test_author_search_staff_lists_only_active_clients(cast):
    cast.other_client.is_active = False
    cast.other_client.save()
    assert _ids(_search(cast.staff, "staff2")) == []  # a colleague is not a client
    assert _ids(_search(cast.staff, "other")) == []  # an inactive account is nobody's author
    assert _ids(_search(cast.staff, "admin")) == []
    assert _ids(_search(cast.admin, "staff2")) == [cast.staff2.pk]  # an admin may file for anyone


@pytest.mark.parametrize("who", ["client", "colleague", "demo"])
def test_author_search_by_non_support_is_forbidden(cast, who):
    response = _search(getattr(cast, who), "other")
    assert response.status_code == 403
    assert (
        'role="option"' not in response.content.decode()
        and "other@example.com" not in response.content.decode()
    )


def test_author_search_anonymous_is_sent_to_login(client, cast):
    response = client.get(reverse(SEARCH), {"q": "petr"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_author_search_unknown_address_offers_new_client(cast):
    page = _search(cast.staff, "New.Person@Example.org").content.decode()
    assert "New client new.person@example.org" in page and 'data-id=""' in page


def test_author_search_known_address_offers_that_client_not_a_new_one(cast):
    response = _search(cast.staff, "client@example.com")
    assert _ids(response) == [cast.client.pk] and "New client" not in response.content.decode()


# -- filing the ticket ---------------------------------------------------------------------------
def test_staff_new_page_has_picker_and_no_list_of_users(cast):
    page = logged_in(cast.staff).get(reverse("tickets:staff_new")).content.decode()
    assert 'role="combobox"' in page and 'role="listbox"' in page and "author-picker.js" in page
    assert 'name="author"' in page and '<select name="author"' not in page
    assert cast.other_client.email not in page


def test_staff_new_for_chosen_client_files_ticket_for_them(cast):
    response = _new(cast.staff, author=str(cast.client.pk), author_query="Ivan Petrov <client@example.com>")
    assert response.status_code == 302, response.content.decode()
    ticket = Ticket.objects.get()
    assert (ticket.author, ticket.created_by, ticket.author_email) == (
        cast.client,
        cast.staff,
        cast.client.email,
    )


def test_staff_new_for_typed_known_address_files_for_that_client(cast):
    assert _new(cast.staff, author_query="CLIENT@example.com").status_code == 302
    assert Ticket.objects.get().author == cast.client


def test_staff_new_for_new_address_files_by_address_without_account(cast):
    from django.contrib.auth.models import User

    users = User.objects.count()
    response = _new(cast.staff, author_query="New.Person@Example.org")
    assert response.status_code == 302, response.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.author is None and ticket.author_email == "new.person@example.org"
    assert ticket.created_by == cast.staff
    assert User.objects.count() == users  # no account is made for the address


def test_staff_new_blank_author_files_for_the_staff_member(cast):
    assert _new(cast.staff).status_code == 302
    assert Ticket.objects.get().author == cast.staff


@pytest.mark.parametrize("typed", ["not-an-address@", "ivan@@example.com", "someone@localhost extra"])
def test_staff_new_bad_address_is_a_field_error(cast, typed):
    response = _new(cast.staff, author_query=typed)
    assert response.status_code == 400
    errors = response.context["form"].errors["author_query"]
    assert any("valid e-mail address" in e for e in errors)
    assert 'id="id_author_query_errors"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_staff_new_author_id_the_picker_would_not_offer_is_refused(cast):
    response = _new(cast.staff, author=str(cast.staff2.pk))
    assert response.status_code == 400
    assert response.context["form"].errors["author_query"]
    assert not Ticket.objects.exists()


def test_staff_new_unknown_login_is_a_field_error(cast):
    response = _new(cast.staff, author_query="Somebody")
    assert response.status_code == 400 and response.context["form"].errors["author_query"]


def test_staff_new_by_client_is_forbidden(cast):
    assert _new(cast.client, author_query="x@example.com").status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("query", ["", "a", "%", "_", "\u0000", "я" * 10_000, "' OR 1=1 --", "🙂\u202e"])
def test_author_search_with_odd_text_answers_without_a_server_error(cast, query):
    response = logged_in(cast.staff).get(reverse("tickets:staff_new_authors"), {"q": query})
    assert response.status_code == 200
