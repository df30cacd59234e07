"""The list pages' cost does not grow with the data: capped counts, relations attached, Server-Timing."""

from django.urls import reverse

from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import ticket_list
from otklik.tickets.views import common


def test_staff_list_count_capped_shows_more_than(client, cast, make_ticket, monkeypatch):
    monkeypatch.setattr(common, "COUNT_CAP", 3)
    for i in range(5):
        make_ticket(title=f"Ticket {i}")
    client.force_login(cast.admin)
    response = client.get(reverse("tickets:staff_list"), {"size": 20})
    page = response.context["page"]
    assert page.paginator.capped and page.paginator.count == 3
    assert "Server-Timing" in response.headers


def test_ticket_list_attaches_relations_without_joins(cast, make_ticket, django_assert_num_queries):
    for i in range(4):
        ticket = make_ticket(title=f"T{i}")
        ticket.responsible = cast.staff
        ticket.save()
    policy = TicketPolicy(cast.admin)
    qs = ticket_list(policy)
    assert " JOIN " not in str(qs.query)
    # tickets, users, dictionary entries (no SLA on these tickets): three queries, then none per row.
    with django_assert_num_queries(3):
        rows = list(qs)
        names = [(t.author.username, t.responsible.username, t.status.name, t.category.name) for t in rows]
    assert names[0] == ("client", "staff", names[0][2], names[0][3])


def test_iterator_with_relations_keeps_order_and_relations(cast, make_ticket):
    ids = [make_ticket(title=f"T{i}").pk for i in range(5)]
    rows = list(Ticket.objects.filter(pk__in=ids).order_by("-pk").iterator_with_relations(chunk_size=2))
    assert [t.pk for t in rows] == sorted(ids, reverse=True)
    assert all(t.author.username == "client" for t in rows)


def test_staff_list_filters_created_by(client, cast, make_ticket):
    from otklik.tickets import services

    make_ticket(title="Filed by the client")
    filed = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(title="Filed by phone", message="Call"),
        staff=services.StaffFields(author=cast.client.pk),
    )
    client.force_login(cast.admin)
    by_staff = client.get(reverse("tickets:staff_list"), {"created_by": cast.staff.pk}).context["rows"]
    assert [t.pk for t, _i in by_staff] == [filed.pk]
