"""Ticket links (issue 18, P2): parent and child, related, duplicate of; both sides, filters, API, page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from otklik.core.errors import NotFound, PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.tickets import selectors, services
from otklik.tickets.link_selectors import ticket_links
from otklik.tickets.models import LinkKind, Message, MessageKind, ModuleOptions, Ticket, TicketLink
from otklik.tickets.policies import TicketPolicy
from tests.conftest import logged_in
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The services' messages are asserted in English (the site's default language is Russian)."""
    with translation.override("en"):
        yield


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def three(make_ticket):
    return make_ticket(title="Outage"), make_ticket(title="Mail down"), make_ticket(title="VPN down")


def kinds(ticket: Ticket, user) -> list[tuple[str, int]]:
    return [(row.kind, row.other.pk) for row in ticket_links(ticket, TicketPolicy(user))]


def last_log(ticket: Ticket) -> Message:
    return Message.objects.filter(ticket=ticket, kind=MessageKind.LOG).order_by("-number").first()


# -- both directions -----------------------------------------------------------------------------------------
def test_ticket_link_parent_reads_as_child_from_the_other_side(cast, three):
    outage, mail, _vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="parent")
    assert kinds(mail, cast.staff) == [("parent", outage.pk)]
    assert kinds(outage, cast.staff) == [("child", mail.pk)]
    assert TicketLink.objects.get().ticket_id == mail.pk  # mail is the child of outage


def test_ticket_link_child_is_stored_as_a_parent_link_reversed(cast, three):
    outage, mail, vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=outage, other=mail, kind="child")
    services.ticket_link_add(actor=cast.staff, ticket=outage, other=vpn.pk, kind="child")
    assert set(TicketLink.objects.values_list("ticket_id", "other_id", "kind")) == {
        (mail.pk, outage.pk, LinkKind.PARENT),
        (vpn.pk, outage.pk, LinkKind.PARENT),
    }
    assert kinds(outage, cast.staff) == [("child", mail.pk), ("child", vpn.pk)]


def test_ticket_link_related_and_duplicate_read_from_both_sides_with_labels(cast, three):
    outage, mail, vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=outage, other=vpn, kind="related")
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="duplicate_of")
    assert kinds(outage, cast.staff) == [("related", vpn.pk), ("duplicated_by", mail.pk)]
    assert kinds(vpn, cast.staff) == [("related", outage.pk)]
    rows = ticket_links(mail, TicketPolicy(cast.staff))
    assert [(r.kind, r.label) for r in rows] == [("duplicate_of", "Duplicate of")]


def test_ticket_link_logged_on_both_tickets(cast, three):
    outage, mail, _vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="parent")
    item = last_log(mail).data[0]
    assert item["field"] == "link" and item["old"] is None and item["new"]["en"] == f"child of #{outage.pk}"
    assert last_log(outage).data[0]["new"]["en"] == f"parent of #{mail.pk}"
    link = TicketLink.objects.get()
    services.ticket_link_remove(actor=cast.staff, ticket=outage, link=link.pk)
    assert not TicketLink.objects.exists()
    assert (
        last_log(mail).data[0]["old"]["en"] == f"child of #{outage.pk}"
        and last_log(mail).data[0]["new"] is None
    )
    assert last_log(outage).data[0]["old"]["en"] == f"parent of #{mail.pk}"


def test_ticket_link_duplicate_closes_the_duplicate_only(cast, three):
    outage, mail, _vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="duplicate_of")
    assert fresh(mail).closed_at is not None
    assert fresh(outage).closed_at is None
    assert last_log(outage).data[0]["new"]["en"] == f"duplicated by #{mail.pk}"


def test_ticket_link_removing_a_duplicate_leaves_it_closed(cast, three):
    outage, mail, _vpn = three
    link = services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="duplicate_of")
    services.ticket_link_remove(actor=cast.staff, ticket=mail, link=link)
    assert fresh(mail).closed_at is not None and not TicketLink.objects.exists()


# -- refusals ------------------------------------------------------------------------------------------------
def test_ticket_link_parent_cycle_refused(cast, three):
    outage, mail, vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="parent")
    services.ticket_link_add(actor=cast.staff, ticket=vpn, other=mail, kind="parent")
    for ticket, other, kind in ((outage, vpn, "parent"), (vpn, outage, "child"), (outage, mail, "parent")):
        with pytest.raises(ValidationFailed) as refused:
            services.ticket_link_add(actor=cast.staff, ticket=ticket, other=other, kind=kind)
        assert "own ancestor" in refused.value.errors["ticket"][0]
    assert TicketLink.objects.count() == 2


@pytest.mark.parametrize(
    ("other", "kind", "field", "text"),
    [
        ("self", "related", "ticket", "cannot be linked to itself"),
        (999_999, "related", "ticket", "There is no ticket #999999"),
        ("abc", "related", "ticket", "Enter a ticket number."),
        ("mail", "sibling", "kind", "Choose one of"),
    ],
)
def test_ticket_link_bad_input_refused_on_its_field(cast, three, other, kind, field, text):
    outage, mail, _vpn = three
    other = {"self": outage, "mail": mail}.get(other, other)
    with pytest.raises(ValidationFailed) as refused:
        services.ticket_link_add(actor=cast.staff, ticket=outage, other=other, kind=kind)
    assert text in refused.value.errors[field][0]


def test_ticket_link_twice_refused_in_either_direction(cast, three):
    outage, mail, _vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=outage, other=mail, kind="related")
    for ticket, other in ((outage, mail), (mail, outage)):
        with pytest.raises(ValidationFailed):
            services.ticket_link_add(actor=cast.staff, ticket=ticket, other=other, kind="related")
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="duplicate_of")
    with pytest.raises(ValidationFailed) as mutual:
        services.ticket_link_add(actor=cast.staff, ticket=outage, other=mail, kind="duplicate_of")
    assert "already a duplicate" in mutual.value.errors["ticket"][0]


def test_ticket_link_by_client_and_demo_refused(cast, three):
    outage, mail, _vpn = three
    with pytest.raises(PermissionDenied):
        services.ticket_link_add(actor=cast.client, ticket=outage, other=mail, kind="related")
    with pytest.raises(ReadOnlyAccess):
        services.ticket_link_add(actor=cast.demo, ticket=outage, other=mail, kind="related")
    assert not TicketLink.objects.exists()


def test_ticket_links_hide_tickets_the_viewer_cannot_see(cast, three, make_ticket):
    outage, mail, _vpn = three
    hidden = make_ticket(actor=cast.other_client, title="Invisible")
    ModuleOptions.objects.filter(pk=services.module_options_ensure().pk).update(staff_see_unassigned=False)
    Ticket.objects.filter(pk__in=[outage.pk, mail.pk]).update(responsible=cast.staff)
    Ticket.objects.filter(pk=hidden.pk).update(responsible=cast.admin)
    services.ticket_link_add(actor=cast.admin, ticket=outage, other=hidden, kind="related")
    services.ticket_link_add(actor=cast.admin, ticket=outage, other=mail, kind="related")
    assert kinds(fresh(outage), cast.staff) == [("related", mail.pk)]
    assert len(kinds(fresh(outage), cast.admin)) == 2
    with pytest.raises(ValidationFailed):  # nor may they link to it
        services.ticket_link_add(actor=cast.staff, ticket=fresh(mail), other=hidden.pk, kind="related")
    link = TicketLink.objects.get(other=hidden)
    with pytest.raises(NotFound):  # nor remove a link to it
        services.ticket_link_remove(actor=cast.staff, ticket=fresh(outage), link=link.pk)


# -- the list's filter ---------------------------------------------------------------------------------------
def test_staff_list_filter_has_open_children(cast, three, make_ticket):
    outage, mail, vpn = three
    quiet = make_ticket(title="Parent of a closed child")
    done = make_ticket(title="Closed child")
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="parent")
    services.ticket_link_add(actor=cast.staff, ticket=done, other=quiet, kind="parent")
    services.ticket_close(actor=cast.staff, ticket=done)
    flt = selectors.TicketFilter(has_open_children=True)
    assert list(selectors.ticket_list(TicketPolicy(cast.staff), flt).values_list("pk", flat=True)) == [
        outage.pk
    ]

    page = logged_in(cast.staff).get(reverse("tickets:staff_list"), {"has_open_children": "1"})
    assert [t.pk for t in page.context["page"].object_list] == [outage.pk]
    response = Api(cast.staff).get("/api/v1/tickets", {"has_open_children": "true"})
    assert [row["id"] for row in response.json()["results"]] == [outage.pk]


def test_staff_list_filter_has_open_children_is_one_statement(cast, three):
    outage, mail, _vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="parent")
    qs = selectors.ticket_list(TicketPolicy(cast.staff), selectors.TicketFilter(has_open_children=True))
    with CaptureQueriesContext(connection) as ctx:
        ids = [t.pk for t in qs]  # the relations come in their own few queries, whatever the rows
    assert ids == [outage.pk]
    assert "EXISTS" in ctx.captured_queries[0]["sql"].upper()


# -- API -----------------------------------------------------------------------------------------------------
def test_api_links_add_list_and_delete(cast, three):
    outage, mail, vpn = three
    api = Api(cast.staff)
    created = api.send("post", f"/api/v1/tickets/{outage.pk}/links", {"kind": "child", "ticket": mail.pk})
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "child" and created.json()["ticket"]["id"] == mail.pk
    api.send("post", f"/api/v1/tickets/{outage.pk}/links", {"kind": "related", "ticket": vpn.pk})
    listed = api.get(f"/api/v1/tickets/{mail.pk}/links")
    assert listed.status_code == 200
    assert [(row["kind"], row["ticket"]["id"]) for row in listed.json()] == [("parent", outage.pk)]
    assert [row["kind"] for row in api.get(f"/api/v1/tickets/{outage.pk}/links").json()] == [
        "child",
        "related",
    ]
    link_id = created.json()["id"]
    assert api.send("delete", f"/api/v1/tickets/{mail.pk}/links/{link_id}").status_code == 204
    assert api.send("delete", f"/api/v1/tickets/{mail.pk}/links/{link_id}").status_code == 404
    assert api.get(f"/api/v1/tickets/{mail.pk}/links").json() == []


def test_api_links_duplicate_closes_the_ticket(cast, three):
    outage, mail, _vpn = three
    response = Api(cast.staff).send(
        "post", f"/api/v1/tickets/{mail.pk}/links", {"kind": "duplicate_of", "ticket": outage.pk}
    )
    assert response.status_code == 201 and response.json()["kind"] == "duplicate_of"
    assert Api(cast.staff).get(f"/api/v1/tickets/{mail.pk}").json()["is_open"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "sibling", "ticket": 1}, "kind"),
        ({"kind": "related"}, "ticket"),
        ({"kind": "related", "ticket": "x"}, "ticket"),
        ({"kind": "related", "ticket": 999_999}, "ticket"),
        ({"kind": "related", "ticket": "self"}, "ticket"),
        ({"kind": "related", "ticket": 1, "note": "x"}, "note"),
    ],
)
def test_api_links_bad_input_answers_422_with_field_messages(cast, three, body, field):
    outage, _mail, _vpn = three
    if body.get("ticket") == "self":
        body = {**body, "ticket": outage.pk}
    response = Api(cast.staff).send("post", f"/api/v1/tickets/{outage.pk}/links", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]


def test_api_links_client_refused(cast, three):
    outage, mail, _vpn = three
    api = Api(cast.client)
    assert api.get(f"/api/v1/tickets/{outage.pk}/links").status_code == 403
    response = api.send("post", f"/api/v1/tickets/{outage.pk}/links", {"kind": "related", "ticket": mail.pk})
    assert response.status_code == 403
    assert Api(cast.other_client).get(f"/api/v1/tickets/{outage.pk}/links").status_code in (403, 404)


def test_api_links_in_the_openapi_schema():
    from otklik.api.api import api

    paths = api.get_openapi_schema()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tickets/{ticket_id}/links"])
    assert "delete" in paths["/api/v1/tickets/{ticket_id}/links/{link_id}"]


# -- the ticket page -----------------------------------------------------------------------------------------
def test_staff_page_shows_links_of_both_directions(cast, three):
    outage, mail, vpn = three
    services.ticket_link_add(actor=cast.staff, ticket=mail, other=outage, kind="parent")
    services.ticket_link_add(actor=cast.staff, ticket=outage, other=vpn, kind="related")
    page = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[outage.pk])).content.decode()
    assert 'id="ticket-links"' in page
    assert f"#{mail.pk} Mail down" in page and f"#{vpn.pk} VPN down" in page
    assert reverse("tickets:staff_link_add", args=[outage.pk]) in page


def test_staff_link_add_by_htmx_answers_the_section(cast, three):
    outage, mail, _vpn = three
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_link_add", args=[outage.pk])
    response = client.post(url, {"kind": "related", "ticket": str(mail.pk)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<section") and f"#{mail.pk} Mail down" in body
    bad = client.post(url, {"kind": "related", "ticket": str(outage.pk)}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "cannot be linked to itself" in bad.content.decode()
    link = TicketLink.objects.get()
    removed = client.post(
        reverse("tickets:staff_link_remove", args=[outage.pk, link.pk]), HTTP_HX_REQUEST="true"
    )
    assert removed.status_code == 200 and not TicketLink.objects.exists()


def test_staff_link_add_without_htmx_redirects_back(cast, three):
    outage, mail, _vpn = three
    response = logged_in(cast.staff).post(
        reverse("tickets:staff_link_add", args=[outage.pk]), {"kind": "child", "ticket": f"#{mail.pk}"}
    )
    assert response.status_code == 302 and TicketLink.objects.filter(ticket=mail, other=outage).exists()


def test_staff_page_query_count_does_not_grow_with_links(cast, three, make_ticket):
    outage, mail, _vpn = three
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_detail", args=[outage.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for n in range(6):
        other = make_ticket(title=f"Linked {n}")
        services.ticket_link_add(
            actor=cast.staff, ticket=outage, other=other, kind="related" if n % 2 else "child"
        )
    client.get(url)
    with CaptureQueriesContext(connection) as after:
        response = client.get(url)
    assert len(response.context["links"]["rows"]) == 6
    assert len(after.captured_queries) == len(before.captured_queries)
