"""What an SLA lets its tickets use (F-06): categories, criticalities and marks, on every author-facing path.

The new-ticket form offers only the entries the author's SLA allows (none chosen: all), the service
refuses the others with a field error and creates nothing (web form and API alike), staff filing a ticket
may pick any entry (F-13), the client's ticket page offers only the allowed marks and criticalities, and
shows the SLA's name and description.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from otklik.accounts.services import token_create
from otklik.core.errors import ValidationFailed
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.models import SlaLevel
from otklik.tickets import selectors, services
from otklik.tickets.models import Ticket
from otklik.tickets.services.cleaning import entries_outside_sla
from tests.conftest import logged_in, ticket_inputs


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def codes(entries) -> list[str]:
    return [e.code for e in entries]


def choice_values(form, name: str) -> list[str]:
    return [value for value, _label in form.fields[name].choices if value]


@pytest.fixture
def payments(cast):
    """A "Payments desk" level for a group holding the client: payment only, high/middle, good/bad marks."""
    group = Group.objects.create(name="Clients: payments")
    sla = SlaLevel.objects.create(
        name="Payments desk",
        description="We answer payment questions within 2 working hours.",
        priority=50,
        response_time=2,
    )
    sla.groups.add(group)
    sla.categories.add(entry("category", "payment"))
    sla.criticalities.add(entry("criticality", "middle"), entry("criticality", "high"))
    sla.marks.add(entry("mark", "good"), entry("mark", "bad"))
    cast.client.groups.add(group)
    return sla


# -- selectors ---------------------------------------------------------------------------------
def test_allowed_entries_without_sla_lists_all_active(cast):
    DictionaryEntry.objects.filter(kind="category", code="delivery").update(active=False)
    assert codes(selectors.allowed_entries(None, DictionaryKind.CATEGORY)) == ["errors", "payment"]


def test_allowed_entries_sla_without_choice_allows_all(cast):
    open_level = SlaLevel.objects.create(name="Open")
    assert codes(selectors.allowed_entries(open_level, DictionaryKind.CATEGORY)) == [
        "errors",
        "payment",
        "delivery",
    ]
    assert selectors.sla_allows(open_level, entry("category", "delivery"))


def test_allowed_entries_sla_with_choice_lists_only_active_chosen(payments):
    assert codes(selectors.allowed_entries(payments, DictionaryKind.CATEGORY)) == ["payment"]
    assert codes(selectors.allowed_entries(payments, DictionaryKind.CRITICALITY)) == ["middle", "high"]
    assert codes(selectors.allowed_entries(payments, DictionaryKind.MARK)) == ["good", "bad"]
    # Dictionaries an SLA does not limit stay whole.
    assert len(selectors.allowed_entries(payments, DictionaryKind.STATUS)) == 4
    DictionaryEntry.objects.filter(kind="criticality", code="high").update(active=False)
    assert codes(selectors.allowed_entries(payments, DictionaryKind.CRITICALITY)) == ["middle"]


def test_sla_allows_answers_per_entry(payments):
    assert selectors.sla_allows(payments, entry("category", "payment"))
    assert not selectors.sla_allows(payments, entry("category", "errors"))
    assert not selectors.sla_allows(payments, entry("mark", "incomplete"))
    assert selectors.sla_allows(payments, entry("status", "solved"))
    assert selectors.sla_allows(None, entry("category", "errors"))


def test_dictionaries_for_forms_with_sla_limits_three_kinds(payments, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        dictionaries = selectors.dictionaries_for_forms(sla=payments)
    assert codes(dictionaries["category"]) == ["payment"]
    assert codes(dictionaries["criticality"]) == ["middle", "high"]
    assert codes(dictionaries["mark"]) == ["good", "bad"]
    assert codes(dictionaries["source"]) == ["email", "phone", "forum"]


# -- the new-ticket form -------------------------------------------------------------------------
def test_client_new_form_offers_only_allowed_entries(cast, payments):
    response = logged_in(cast.client).get(reverse("tickets:client_new"))
    assert response.status_code == 200
    form = response.context["form"]
    assert choice_values(form, "category") == [str(entry("category", "payment").pk)]
    assert choice_values(form, "criticality") == [
        str(entry("criticality", "middle").pk),
        str(entry("criticality", "high").pk),
    ]
    # The default criticality is allowed, so it is preselected; the default category is not.
    assert form.initial.get("criticality") == str(entry("criticality", "middle").pk)
    assert "category" not in form.initial
    html = response.content.decode()
    assert "Payments desk" in html and ">Errors<" not in html


def test_client_new_form_without_limits_offers_everything(cast):
    form = logged_in(cast.other_client).get(reverse("tickets:client_new")).context["form"]
    assert len(choice_values(form, "category")) == 3 and len(choice_values(form, "criticality")) == 3


def test_client_new_post_disallowed_category_answers_400_and_creates_nothing(cast, payments):
    response = logged_in(cast.client).post(
        reverse("tickets:client_new"),
        {"title": "Wrong desk", "message": "An error page.", "category": entry("category", "errors").pk},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["category"]
    assert Ticket.objects.count() == 0


def test_client_new_post_allowed_entries_creates_ticket(cast, payments):
    response = logged_in(cast.client).post(
        reverse("tickets:client_new"),
        {
            "title": "Card declined",
            "message": "The bank says no.",
            "category": entry("category", "payment").pk,
            "criticality": entry("criticality", "high").pk,
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.sla == payments and ticket.category.code == "payment"


# -- the service ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "kind", "code"),
    [("category", "category", "errors"), ("criticality", "criticality", "low")],
)
def test_ticket_create_by_client_disallowed_entry_is_refused_on_field(cast, payments, field, kind, code):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_create(
            actor=cast.client, **ticket_inputs(title="t", message="m", **{field: entry(kind, code)})
        )
    assert list(info.value.errors) == [field]
    assert "Payments desk" in info.value.errors[field][0]
    assert Ticket.objects.count() == 0


def test_ticket_create_by_client_disallowed_default_category_is_left_empty(cast, payments):
    ticket = services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="t", message="m"))
    # "Errors" is the dictionary's default but this SLA does not allow it; "Medium" is allowed.
    assert ticket.category is None and ticket.criticality.code == "middle"


def test_ticket_create_by_staff_for_limited_client_may_pick_any_entry(cast, payments):
    # F-13: staff filing a ticket choose any category; only the author's own choices are limited.
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(
            title="Phone call",
            message="Site is down.",
            category=entry("category", "errors"),
            criticality=entry("criticality", "low"),
        ),
        staff=services.StaffFields(author=cast.client),
    )
    assert ticket.sla == payments and ticket.category.code == "errors"


def test_api_ticket_create_disallowed_category_answers_422(cast, payments):
    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = api.post(
        "/api/v1/tickets",
        data=json.dumps({"title": "t", "message": "m", "category": "delivery"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_create(user=cast.client)}",
    )
    assert response.status_code == 422, response.content
    assert response.json()["errors"]["category"]
    assert Ticket.objects.count() == 0


def test_entries_outside_sla_keeps_current_value_and_refuses_new_one(cast, payments, make_ticket):
    ticket = make_ticket(actor=cast.staff, author=cast.client, criticality=entry("criticality", "low"))
    low, bad, incomplete = entry("criticality", "low"), entry("mark", "bad"), entry("mark", "incomplete")
    assert entries_outside_sla(payments, {"criticality": low}, ticket=ticket) == {}
    assert entries_outside_sla(payments, {"mark": bad}, ticket=ticket) == {}
    assert list(entries_outside_sla(payments, {"mark": incomplete}, ticket=ticket)) == ["mark"]
    assert entries_outside_sla(None, {"mark": incomplete}) == {}


def answered(cast, ticket: Ticket) -> Ticket:
    """Support answers in public: only then may the author rate (issue 17)."""
    services.message_post(actor=cast.admin, ticket=ticket, draft=services.MessageDraft(body="Done."))
    return Ticket.objects.get(pk=ticket.pk)


def test_ticket_update_author_disallowed_mark_is_refused(cast, payments, make_ticket):
    ticket = answered(cast, make_ticket(actor=cast.client, category=entry("category", "payment")))
    with pytest.raises(ValidationFailed) as info:
        services.ticket_update(
            actor=cast.client, ticket=ticket, changes={"mark": entry("mark", "incomplete")}
        )
    assert list(info.value.errors) == ["mark"]


# -- the client's ticket page --------------------------------------------------------------------
def test_client_ticket_page_shows_sla_name_and_description(cast, payments, make_ticket):
    ticket = make_ticket(actor=cast.client, category=entry("category", "payment"))
    html = logged_in(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert "Payments desk" in html
    assert "We answer payment questions within 2 working hours." in html


def test_client_ticket_page_offers_only_allowed_marks_and_criticalities(cast, payments, make_ticket):
    ticket = answered(cast, make_ticket(actor=cast.client, category=entry("category", "payment")))
    response = logged_in(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk]))
    assert codes(response.context["marks"]) == ["good", "bad"]
    assert codes(response.context["criticalities"]) == ["middle", "high"]
    html = response.content.decode()
    assert "The answer is satisfactory" in html and "Not complete enough" not in html


def test_client_ticket_page_keeps_current_value_staff_set_outside_sla(cast, payments, make_ticket):
    ticket = make_ticket(actor=cast.staff, author=cast.client, criticality=entry("criticality", "low"))
    response = logged_in(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk]))
    assert codes(response.context["criticalities"]) == ["low", "middle", "high"]
