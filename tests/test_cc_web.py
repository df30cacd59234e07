"""CC on the web and in the API (P3): the card on both ticket pages, its form, and /api/v1/tickets/{id}/cc."""

from __future__ import annotations

import pytest
from django.urls import reverse

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.tickets import services
from otklik.tickets.models import Ticket, TicketCc
from tests.conftest import logged_in, make_user
from tests.helpers import Api

pytestmark = pytest.mark.django_db
EXT = "anna@partner.example"


def cc_of(ticket: Ticket) -> list[str]:
    return sorted(TicketCc.objects.filter(ticket=ticket).values_list("email", flat=True))


def card_url(ticket: Ticket) -> str:
    return reverse("tickets:ticket_cc", args=[ticket.pk])


@pytest.fixture
def copied(cast):
    user = make_user("boris", AccessLevel.CLIENT)
    support_group_add_member(group=SupportGroup.objects.get(name="Romashka LLC"), user=user, can_view=False)
    return user


# -- the client's page ------------------------------------------------------------------------------------------
def test_client_page_author_sees_card_with_form(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[EXT])
    page = logged_in(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert 'id="cc-card"' in page and EXT in page and 'name="emails"' in page


def test_client_page_htmx_add_answers_the_card_with_the_addresses(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.client).post(
        card_url(ticket), {"action": "add", "emails": f"{EXT}; vera@partner.example"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card cc-card" id="cc-card"')
    assert EXT in html and "vera@partner.example" in html
    assert cc_of(ticket) == [EXT, "vera@partner.example"]


def test_client_page_invalid_address_shows_the_error_and_keeps_the_text(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.client).post(
        card_url(ticket), {"action": "add", "emails": f"{EXT}, not-an-address"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "is not a valid e-mail address" in html and 'aria-invalid="true"' in html
    assert "not-an-address" in html
    assert cc_of(ticket) == []


def test_client_page_plain_post_redirects_with_a_message(cast, make_ticket):
    ticket = make_ticket()
    client = logged_in(cast.client)
    response = client.post(card_url(ticket), {"action": "add", "emails": EXT}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("tickets:client_detail", args=[ticket.pk])
    assert f"Copied: {EXT}." in response.content.decode()
    client.post(card_url(ticket), {"action": "remove", "email": EXT})
    assert cc_of(ticket) == []


def test_client_page_other_client_gets_404_and_nothing_changes(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.other_client).post(card_url(ticket), {"action": "add", "emails": EXT})
    assert response.status_code == 404 and cc_of(ticket) == []


def test_client_page_copied_colleague_reads_and_may_only_leave(cast, make_ticket, copied):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[EXT, copied.email])
    client = logged_in(copied)
    page = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert "The login page says error 500." in page and 'name="emails"' not in page
    assert f'value="{copied.email}"' in page and f'value="{EXT}"' not in page  # one remove button: their own
    client.post(card_url(ticket), {"action": "remove", "email": EXT})
    assert cc_of(ticket) == [EXT, copied.email]
    client.post(card_url(ticket), {"action": "remove", "email": copied.email})
    assert cc_of(ticket) == [EXT]
    assert client.get(reverse("tickets:client_detail", args=[ticket.pk])).status_code == 404


def test_client_page_copied_colleague_replies_on_the_web(cast, make_ticket, copied):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[copied.email])
    response = logged_in(copied).post(reverse("tickets:client_detail", args=[ticket.pk]), {"body": "Me too."})
    assert response.status_code == 302
    assert ticket.messages.order_by("-number").first().author == copied


# -- the staff page ---------------------------------------------------------------------------------------------
def test_staff_page_side_panel_lists_copies_and_followers(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[EXT])
    services.ticket_follow(actor=cast.admin, ticket=ticket)
    page = logged_in(cast.admin).get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert 'id="cc-card"' in page and EXT in page and 'name="emails"' in page
    assert "Followers" in page and "admin" in page


def test_staff_page_htmx_add_by_staff_answers_the_card_with_followers(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.admin).post(
        card_url(ticket), {"action": "add", "emails": EXT}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and EXT in html and "Nobody follows the ticket." in html


def test_staff_page_demo_saves_nothing(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.demo).post(card_url(ticket), {"action": "add", "emails": EXT})
    assert response.status_code == 302 and cc_of(ticket) == []


def test_card_unknown_action_or_huge_input_is_refused_without_500(cast, make_ticket):
    ticket = make_ticket()
    client = logged_in(cast.client)
    assert client.post(card_url(ticket), {"action": "nope"}, HTTP_HX_REQUEST="true").status_code == 200
    response = client.post(
        card_url(ticket), {"action": "add", "emails": "a@b.example " * 500}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "fewer addresses" in response.content.decode()
    assert client.get(card_url(ticket)).status_code == 405
    assert cc_of(ticket) == []


# -- the API ----------------------------------------------------------------------------------------------------
def test_api_cc_list_add_remove(cast, make_ticket):
    ticket = make_ticket()
    api = Api(cast.client)
    url = f"/api/v1/tickets/{ticket.pk}/cc"
    assert api.get(url).json() == []
    response = api.send("POST", url, {"emails": [EXT, "Vera@Partner.example"]})
    assert response.status_code == 200
    assert [(row["email"], sorted(row)) for row in response.json()] == [
        (EXT, ["added_at", "email"]),
        ("vera@partner.example", ["added_at", "email"]),
    ]
    assert api.send("POST", url, {"remove": [EXT]}).json()[0]["email"] == "vera@partner.example"
    assert api.send("DELETE", f"{url}/vera@partner.example").status_code == 204
    assert api.send("DELETE", f"{url}/vera@partner.example").status_code == 404
    assert api.get(url).json() == []


def test_api_cc_answers_never_reveal_an_account(cast, make_ticket, copied):
    ticket = make_ticket()
    api = Api(cast.client)
    api.send("POST", f"/api/v1/tickets/{ticket.pk}/cc", {"emails": [copied.email, EXT]})
    body = api.get(f"/api/v1/tickets/{ticket.pk}/cc").content.decode()
    assert "boris" not in body.replace(copied.email, "") and "user" not in body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"emails": ["not-an-address"]}, "emails"),
        ({"emails": ["client@example.com"]}, "emails"),
        ({"emails": [f"p{n}@x.example" for n in range(21)]}, "emails"),
        ({"emails": [f"p{n}@x.example" for n in range(51)]}, "emails"),
        ({"emails": [1]}, "emails.0"),
        ({"emails": ["a" * 300]}, "emails.0"),
        ({}, "emails"),
        ({"remove": ["nobody@x.example"]}, "remove"),
        ({"emails": [EXT], "bogus": 1}, "bogus"),
    ],
    ids=["invalid", "author", "over-limit", "too-many", "not-text", "too-long", "empty", "unknown", "extra"],
)
def test_api_cc_bad_input_is_422_with_field_messages_and_nothing_saved(cast, make_ticket, body, field):
    ticket = make_ticket()
    response = Api(cast.client).send("POST", f"/api/v1/tickets/{ticket.pk}/cc", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert cc_of(ticket) == []


def test_api_cc_remove_and_add_together_is_all_or_nothing(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[EXT])
    response = Api(cast.client).send(
        "POST", f"/api/v1/tickets/{ticket.pk}/cc", {"remove": [EXT], "emails": ["bad address"]}
    )
    assert response.status_code == 422 and cc_of(ticket) == [EXT]


@pytest.mark.parametrize(("who", "status"), [("other_client", 404), ("colleague", 403), ("demo", 403)])
def test_api_cc_post_by_others_is_refused(cast, make_ticket, who, status):
    ticket = make_ticket()
    response = Api(getattr(cast, who)).send("POST", f"/api/v1/tickets/{ticket.pk}/cc", {"emails": [EXT]})
    assert response.status_code == status and cc_of(ticket) == []


def test_api_cc_in_openapi(cast):
    paths = Api(cast.admin).get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tickets/{ticket_id}/cc"])
    assert "delete" in paths["/api/v1/tickets/{ticket_id}/cc/{email}"]
