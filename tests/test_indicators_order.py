"""Indicators (лампочки, F-02) and the default staff list order, via the selectors.

`indicator_for` (one ticket, in Python) and `indicator_q` (the list filter, in SQL) must agree for
every ticket state and every viewer: each rule is tested by a scenario built through the services,
and a property test compares the two on random ticket states.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.core import clock
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import Indicator, TicketFilter, indicator_for, indicator_q, ticket_list
from tests.helpers import fresh

T0 = dt.datetime(2025, 3, 3, 7, 0, tzinfo=dt.UTC)
ALL_INDICATORS = (Indicator.GREY, Indicator.GREEN, Indicator.GREEN_S, Indicator.RED, Indicator.YELLOW)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def light(ticket: Ticket, user) -> str:
    return indicator_for(fresh(ticket), TicketPolicy(user))


def assert_list_agrees(user, ticket: Ticket) -> None:
    """The list filter for the ticket's indicator finds it, and no other indicator's filter does.

    A ticket the user may not see is found by no indicator at all (the list starts from visibility).
    """
    policy = TicketPolicy(user)
    current = fresh(ticket)
    expected = indicator_for(current, policy) if policy.can_view(current) else None
    for indicator in ALL_INDICATORS:
        found = ticket_list(policy, TicketFilter(indicator=indicator)).filter(pk=ticket.pk).exists()
        assert found is (indicator == expected), f"{user}: {indicator} filter vs indicator_for={expected}"


# -- staff view: closed -> grey; my last -> green; I am author -> red; support last -> green_s;
#    I am responsible -> red; else yellow ---------------------------------------------------------
def test_indicator_closed_ticket_grey_for_everyone(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    services.ticket_close(actor=cast.client, ticket=fresh(ticket))
    for user in (cast.client, cast.staff, cast.staff2, cast.demo, cast.admin):
        assert light(ticket, user) == Indicator.GREY
        assert_list_agrees(user, ticket)


def test_indicator_staff_my_last_message_green(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    assert light(ticket, cast.staff) == Indicator.GREEN
    assert_list_agrees(cast.staff, ticket)


def test_indicator_staff_my_last_message_beats_i_am_author(cast):
    ticket = services.ticket_create(
        actor=cast.staff, draft=services.TicketDraft(title="Internal", message="Server disk is full")
    )
    assert light(ticket, cast.staff) == Indicator.GREEN
    assert_list_agrees(cast.staff, ticket)


def test_indicator_staff_i_am_author_red_beats_support_answered(cast):
    ticket = services.ticket_create(
        actor=cast.staff, draft=services.TicketDraft(title="Internal", message="Server disk is full")
    )
    services.message_post(
        actor=cast.admin, ticket=ticket, draft=services.MessageDraft(body="Cleaned /var/log")
    )
    assert fresh(ticket).last_message_by_support is True
    assert light(ticket, cast.staff) == Indicator.RED
    assert light(ticket, cast.admin) == Indicator.GREEN
    assert_list_agrees(cast.staff, ticket)
    assert_list_agrees(cast.admin, ticket)


def test_indicator_staff_support_answered_last_green_s_even_for_responsible(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    services.message_post(actor=cast.admin, ticket=fresh(ticket), draft=services.MessageDraft(body="Answer"))
    for user in (cast.staff, cast.staff2, cast.demo):
        assert light(ticket, user) == Indicator.GREEN_S
        assert_list_agrees(user, ticket)


def test_indicator_staff_responsible_with_client_last_red_others_yellow(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    assert light(ticket, cast.staff) == Indicator.RED
    for user in (cast.staff2, cast.admin, cast.demo):
        assert light(ticket, user) == Indicator.YELLOW
    for user in (cast.staff, cast.staff2, cast.admin, cast.demo):
        assert_list_agrees(user, ticket)


def test_indicator_staff_hidden_note_does_not_turn_green(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    services.message_post(
        actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="checking", hidden=True)
    )
    services.message_post(
        actor=cast.staff,
        ticket=fresh(ticket),
        draft=services.MessageDraft(body="fyi", not_change_status=True),
    )
    assert light(ticket, cast.staff) == Indicator.RED
    assert light(ticket, cast.client) == Indicator.GREEN
    assert_list_agrees(cast.staff, ticket)


# -- client view: closed -> grey; support answered last -> red (your move); else green --------------
def test_indicator_client_own_message_last_green(cast, make_ticket):
    ticket = make_ticket()
    assert light(ticket, cast.client) == Indicator.GREEN
    assert light(ticket, cast.colleague) == Indicator.GREEN
    assert_list_agrees(cast.client, ticket)


def test_indicator_client_support_answered_last_red(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Please try again")
    )
    assert light(ticket, cast.client) == Indicator.RED
    assert light(ticket, cast.colleague) == Indicator.RED
    assert_list_agrees(cast.client, ticket)
    services.message_post(
        actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Done, still broken")
    )
    assert light(ticket, cast.client) == Indicator.GREEN
    assert_list_agrees(cast.client, ticket)


def test_indicator_client_staff_only_indicators_select_nothing(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    policy = TicketPolicy(cast.client)
    for indicator in (Indicator.GREEN_S, Indicator.YELLOW):
        assert not ticket_list(policy, TicketFilter(indicator=indicator)).exists()


# -- property: indicator_for and indicator_q agree on random states -----------------------------------
ticket_state = st.fixed_dictionaries(
    {
        "closed": st.booleans(),
        "author": st.sampled_from(["client", "staff", "admin", None]),
        "responsible": st.sampled_from([None, "staff", "staff2", "admin"]),
        "last_by": st.sampled_from([None, "client", "staff", "staff2", "admin"]),
        "support_last": st.booleans(),
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(states=st.lists(ticket_state, min_size=1, max_size=12))
def test_indicator_for_and_indicator_q_agree_on_random_states(cast, states):
    people = {
        "client": cast.client,
        "staff": cast.staff,
        "staff2": cast.staff2,
        "admin": cast.admin,
        None: None,
    }
    with transaction.atomic():
        tickets = [
            Ticket.objects.create(
                title=f"t{i}",
                author=people[s["author"]],
                responsible=people[s["responsible"]],
                last_message_by=people[s["last_by"]],
                last_message_by_support=s["support_last"],
                closed_at=T0 if s["closed"] else None,
                created_at=T0,
                modified_at=T0,
                last_message_at=T0,
            )
            for i, s in enumerate(states)
        ]
        ids = [t.pk for t in tickets]
        for viewer in (cast.client, cast.staff, cast.staff2, cast.admin, cast.demo):
            policy = TicketPolicy(viewer)
            expected = {t.pk: indicator_for(t, policy) for t in tickets}
            matched: dict[int, list[str]] = {pk: [] for pk in ids}
            for indicator in ALL_INDICATORS:
                for pk in (
                    Ticket.objects.filter(pk__in=ids)
                    .filter(indicator_q(indicator, policy))
                    .values_list("pk", flat=True)
                ):
                    matched[pk].append(indicator)
            assert matched == {pk: [ind] for pk, ind in expected.items()}, viewer.username
        transaction.set_rollback(True)


# -- default staff order: special, overdue, reminder sent, answered by staff sink, last message time ---
def test_ticket_list_default_staff_order(cast, make_ticket):
    made: dict[str, Ticket] = {}
    for name, minute in (("special", 0), ("plain_old", 1), ("overdue", 2), ("reminded", 3), ("plain_new", 5)):
        with clock.frozen(T0 + dt.timedelta(minutes=minute)):
            made[name] = make_ticket(title=name)
    for name, minute in (("answered", 10), ("special_answered", 20)):
        with clock.frozen(T0 + dt.timedelta(minutes=minute)):
            made[name] = make_ticket(title=name)
            services.message_post(
                actor=cast.staff, ticket=made[name], draft=services.MessageDraft(body="Answer")
            )
    Ticket.objects.filter(pk__in=[made["special"].pk, made["special_answered"].pk]).update(is_special=True)
    Ticket.objects.filter(pk=made["overdue"].pk).update(is_overdue=True)
    Ticket.objects.filter(pk=made["reminded"].pk).update(reminder_sent=True)
    expected = ["special", "special_answered", "overdue", "reminded", "plain_new", "plain_old", "answered"]
    for user in (cast.staff, cast.admin, cast.demo):
        got = [t.title for t in ticket_list(TicketPolicy(user))]
        assert got == expected, user.username


def test_ticket_list_default_staff_order_overdue_beats_reminder_and_newer(cast, make_ticket):
    with clock.frozen(T0) as c:
        reminded = make_ticket(title="reminded")
        c.advance(minutes=1)
        overdue = make_ticket(title="overdue")
        c.advance(minutes=1)
        both = make_ticket(title="both")
    Ticket.objects.filter(pk=reminded.pk).update(
        reminder_sent=True, last_message_at=T0 + dt.timedelta(hours=5)
    )
    Ticket.objects.filter(pk=overdue.pk).update(is_overdue=True)
    Ticket.objects.filter(pk=both.pk).update(is_overdue=True, reminder_sent=True)
    got = [t.title for t in ticket_list(TicketPolicy(cast.admin))]
    assert got == ["both", "overdue", "reminded"]


def test_ticket_list_default_client_order_most_recently_modified_first(cast, make_ticket):
    with clock.frozen(T0) as c:
        a = make_ticket(title="a")
        c.advance(minutes=1)
        make_ticket(title="b")
        c.advance(minutes=1)
        services.message_post(actor=cast.staff, ticket=a, draft=services.MessageDraft(body="Answer"))
    assert [t.title for t in ticket_list(TicketPolicy(cast.client))] == ["a", "b"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("id", ["a", "b", "c"]),
        ("-id", ["c", "b", "a"]),
        ("title", ["a", "b", "c"]),
        ("-messages", ["b", "c", "a"]),
    ],
)
def test_ticket_list_explicit_sort_overrides_default(cast, make_ticket, sort, expected):
    make_ticket(title="a")
    b = make_ticket(title="b")
    make_ticket(title="c")
    services.message_post(actor=cast.client, ticket=b, draft=services.MessageDraft(body="more"))
    assert [t.title for t in ticket_list(TicketPolicy(cast.admin), sort=sort)] == expected
