"""Fair assignment (issue 18, P7): a matching assignment pool chooses a new ticket's responsible.

Round-robin or least loaded among the members who may take a ticket now (not absent, within their working
hours, with staff rights), right after the manual choice in the F-10 order; the history says why. First
the pure decision as tables, then through ticket_create, the query cost, a race, and the admin pages.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core import clock, config_cache
from otklik.dictionaries.models import DictionaryEntry
from otklik.routing.decisions import (
    POOL,
    SLA,
    Candidate,
    Decision,
    decision_describe,
    responsible_choose,
)
from otklik.routing.models import AgentAbsence, AgentWorkTime, AssignmentMode, AssignmentPool
from otklik.routing.pools import (
    ABSENT,
    DEACTIVATED,
    LEAST_LOADED,
    NO_RIGHTS,
    NOT_WORKING,
    ROUND_ROBIN,
    Member,
    PoolPick,
    Skip,
    pool_pick,
    pool_pick_reason,
    pool_pick_skip_describe,
)
from otklik.sla.models import BilingualText, CalendarException, ExceptionKind, SlaLevel, Timetable
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions, Ticket, TicketEvent
from otklik.tickets.services import module_options_ensure, responsible_for_new_ticket
from otklik.tickets.services.create import open_tickets_per_responsible
from tests.conftest import logged_in, make_user, ticket_inputs

MSK = ZoneInfo("Europe/Moscow")
POOL_NAME = BilingualText("L1 Москва", "L1 Moscow")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


# -- the pure decision -------------------------------------------------------------------------
A = Member(1, "Ivanova")
B = Member(2, "Petrov")
C = Member(3, "Sidorov")


def away(member: Member, **state) -> Member:
    return Member(member.user_id, member.name, **{"load": member.load, **state})


def loaded(member: Member, load: int) -> Member:
    return Member(member.user_id, member.name, load=load)


@pytest.mark.parametrize(
    ("members", "last_id", "chosen", "skipped"),
    [
        ((A, B, C), None, A, ()),  # no pointer: the first by id
        ((C, A, B), None, A, ()),  # the given order does not matter
        ((A, B, C), 1, B, ()),
        ((A, B, C), 2, C, ()),
        ((A, B, C), 3, A, ()),  # wraps around
        ((A, C), 2, C, ()),  # the pointer's member left the pool: the next id after it
        ((A, B, C), 99, A, ()),
        ((A,), 1, A, ()),  # alone: their turn again
        ((away(A, absent=True), B, C), None, B, ((A, ABSENT),)),
        ((A, away(B, working=False), C), 1, C, ((B, NOT_WORKING),)),
        ((A, away(B, support=False), away(C, active=False)), 1, A, ((B, NO_RIGHTS), (C, DEACTIVATED))),
        ((away(A, absent=True), away(B, absent=True), C), 3, C, ((A, ABSENT), (B, ABSENT))),
    ],
)
def test_pool_pick_round_robin_table(members, last_id, chosen, skipped):
    pick = pool_pick(pool="L1", mode=ROUND_ROBIN, members=members, last_id=last_id)
    assert pick.chosen is not None and pick.chosen.user_id == chosen.user_id
    assert [(s.member.user_id, s.why) for s in pick.skipped] == [(m.user_id, why) for m, why in skipped]


@pytest.mark.parametrize(
    ("members", "last_id", "chosen", "skipped"),
    [
        ((loaded(A, 3), loaded(B, 1), loaded(C, 2)), None, B, ()),
        ((loaded(A, 1), loaded(B, 1), loaded(C, 1)), 1, B, ()),  # equal loads go in turn
        ((loaded(A, 0), loaded(B, 0), loaded(C, 5)), 2, A, ()),  # C's turn, but C has more
        ((away(loaded(A, 0), absent=True), loaded(B, 4), loaded(C, 2)), None, C, ((A, ABSENT),)),
        ((away(loaded(A, 0), working=False), loaded(B, 0), loaded(C, 0)), None, B, ((A, NOT_WORKING),)),
    ],
)
def test_pool_pick_least_loaded_table(members, last_id, chosen, skipped):
    pick = pool_pick(pool="L1", mode=LEAST_LOADED, members=members, last_id=last_id)
    assert pick.chosen is not None and pick.chosen.user_id == chosen.user_id
    assert [(s.member.user_id, s.why) for s in pick.skipped] == [(m.user_id, why) for m, why in skipped]


@pytest.mark.parametrize("mode", [ROUND_ROBIN, LEAST_LOADED])
def test_pool_pick_everyone_away_nobody_and_all_skipped(mode):
    members = (away(A, absent=True), away(B, working=False), away(C, support=False))
    pick = pool_pick(pool="L1", mode=mode, members=members, last_id=None)
    assert pick.chosen is None and pick.user_id is None and pick.members == 3
    assert [s.why for s in pick.skipped] == [ABSENT, NOT_WORKING, NO_RIGHTS]


def test_pool_pick_no_members_nobody():
    assert pool_pick(pool="L1", mode=ROUND_ROBIN, members=(), last_id=5) == PoolPick("L1", ROUND_ROBIN, None)


def test_pool_pick_unknown_mode_counts_as_round_robin():
    pick = pool_pick(pool="L1", mode="", members=(loaded(A, 9), loaded(B, 0)), last_id=None)
    assert pick.chosen == loaded(A, 9)


@pytest.mark.parametrize(
    ("state", "why"),
    [
        ({"active": False, "support": False, "absent": True, "working": False}, DEACTIVATED),
        ({"support": False, "absent": True, "working": False}, NO_RIGHTS),
        ({"absent": True, "working": False}, ABSENT),
        ({"working": False}, NOT_WORKING),
        ({}, None),
    ],
)
def test_member_unavailable_first_reason_that_applies(state, why):
    assert away(A, **state).unavailable == why


def test_pool_pick_reason_round_robin_with_skip_english_text():
    pick = PoolPick("L1 Moscow", ROUND_ROBIN, B, (Skip(A, ABSENT), Skip(C, NOT_WORKING)), 3)
    with translation.override("en"):
        assert pool_pick_reason(pick) == (
            "round-robin in pool “L1 Moscow”; skipped Ivanova: absent, Sidorov: not working now"
        )


def test_pool_pick_reason_least_loaded_names_the_load():
    pick = PoolPick("L1 Moscow", LEAST_LOADED, loaded(B, 4), (), 3)
    with translation.override("en"):
        assert pool_pick_reason(pick) == "least loaded in pool “L1 Moscow”, open tickets: 4"


def test_pool_pick_skip_describe_nobody_and_empty_pool():
    with translation.override("en"):
        pick = PoolPick("L1", ROUND_ROBIN, None, (Skip(A, ABSENT), Skip(B, NO_RIGHTS)), 2)
        assert pool_pick_skip_describe(pick) == (
            "pool “L1”: nobody available (Ivanova: absent, Petrov: no staff or admin rights), skipped"
        )
        assert (
            pool_pick_skip_describe(PoolPick("L1", ROUND_ROBIN, None)) == "pool “L1” has no members, skipped"
        )


def test_responsible_choose_pool_comes_before_every_setting_but_manual():
    pick = PoolPick("L1 Moscow", ROUND_ROBIN, B, (Skip(A, ABSENT),), 3)
    sla = Candidate(SLA, 7, "Slaman", label="VIP")
    decision = responsible_choose(order="seed", candidates=[sla], pool=pick)
    assert decision.source == POOL and decision.user_id == B.user_id and decision.pool == pick
    with translation.override("en"):
        assert (
            decision_describe(decision) == "Petrov (round-robin in pool “L1 Moscow”; skipped Ivanova: absent)"
        )
    manual = Candidate("manual", 9, "Boss")
    assert responsible_choose(order="bitrix", candidates=[sla, manual], pool=pick).user_id == 9


def test_responsible_choose_pool_with_nobody_order_goes_on_and_says_so():
    pick = PoolPick("L1 Moscow", ROUND_ROBIN, None, (Skip(A, ABSENT),), 1)
    decision = responsible_choose(
        order="seed", candidates=[Candidate(SLA, 7, "Slaman", label="VIP")], pool=pick
    )
    assert decision.source == SLA and decision.explained
    with translation.override("en"):
        assert decision_describe(decision) == (
            "Slaman (from SLA “VIP”); pool “L1 Moscow”: nobody available (Ivanova: absent), skipped"
        )
    nobody = responsible_choose(order="seed", candidates=[], pool=pick)
    assert nobody.chosen is None and nobody.explained
    assert not Decision(chosen=None).explained


# -- through ticket_create ---------------------------------------------------------------------
@pytest.fixture
def crew(db) -> dict[str, User]:
    """Three support people, in id order Ivanova, Petrov, Sidorov, in the staff group "L1"."""
    people = {
        name: make_user(name, AccessLevel.STAFF, last_name=name.capitalize(), language="en")
        for name in ("ivanova", "petrov", "sidorov")
    }
    group = SupportGroup.objects.create(name="L1", kind=SupportGroup.Kind.STAFF)
    for person in people.values():
        support_group_add_member(group=group, user=person)
    return people


@pytest.fixture
def pool(cast, crew) -> AssignmentPool:
    return AssignmentPool.objects.create(
        name_ru=POOL_NAME.ru,
        name_en=POOL_NAME.en,
        support_group=SupportGroup.objects.get(name="L1"),
        mode=AssignmentMode.ROUND_ROBIN,
    )


def absent(user: User, *, days: int = 1) -> AgentAbsence:
    now = clock.now()
    return AgentAbsence.objects.create(
        user=user, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=days), reason="sick_leave"
    )


def weekdays_10_to_19() -> Timetable:
    day = [[10 * 3600, 19 * 3600]]
    return Timetable.objects.create(
        code="office", name="Office", time_zone="Europe/Moscow", week=[day] * 5 + [[], []]
    )


def created_line(ticket: Ticket, language: str = "en") -> str:
    with translation.override(language):
        return TicketEvent.objects.get(ticket=ticket, field="created").new_shown


def responsibles(tickets) -> list[str]:
    return [t.responsible.username if t.responsible else None for t in tickets]


def test_ticket_create_round_robin_goes_a_b_c_a(pool, make_ticket):
    tickets = [make_ticket() for _ in range(4)]
    assert responsibles(tickets) == ["ivanova", "petrov", "sidorov", "ivanova"]
    pool.refresh_from_db()
    assert pool.last_assigned.username == "ivanova"


def test_ticket_create_round_robin_skips_absent_member_and_logs_why(pool, crew, make_ticket):
    absent(crew["ivanova"])
    with translation.override("en"):
        tickets = [make_ticket() for _ in range(3)]
    assert responsibles(tickets) == ["petrov", "sidorov", "petrov"]
    assert created_line(tickets[0]).endswith(
        "Responsible: Petrov (round-robin in pool “L1 Moscow”; skipped Ivanova: absent)"
    )
    # Ivanova's turn came again after Sidorov's and was passed over again; Petrov's turn was not.
    assert "skipped Ivanova: absent" in created_line(tickets[2])
    assert "skipped" not in created_line(tickets[1])


def test_ticket_create_absence_over_or_not_begun_counts_as_present(pool, crew, make_ticket):
    now = clock.now()
    AgentAbsence.objects.create(user=crew["ivanova"], starts_at=now - timedelta(days=3), ends_at=now)
    AgentAbsence.objects.create(
        user=crew["ivanova"], starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=3)
    )
    assert make_ticket().responsible == crew["ivanova"]


def test_ticket_create_history_reason_in_both_languages(pool, crew, make_ticket):
    absent(crew["ivanova"])
    ticket = make_ticket()
    assert "Responsible: Petrov (round-robin in pool “L1 Moscow”; skipped Ivanova: absent)" in created_line(
        ticket, "en"
    )
    # The pool's name is kept per language (the Russian wording itself comes with the catalogue).
    assert "L1 Москва" in created_line(ticket, "ru") and "Petrov" in created_line(ticket, "ru")


def test_ticket_create_least_loaded_picks_fewest_open_tickets(pool, cast, crew, make_ticket):
    AssignmentPool.objects.filter(pk=pool.pk).update(mode=AssignmentMode.LEAST_LOADED, active=False)
    for name, count in (("ivanova", 2), ("petrov", 1), ("sidorov", 0)):
        for _ in range(count):
            make_ticket(actor=cast.staff, author=cast.client, responsible=crew[name])
    # Two closed tickets of Sidorov's do not count against him.
    for _ in range(2):
        done = make_ticket(actor=cast.staff, author=cast.client, responsible=crew["sidorov"])
        services.ticket_close(actor=cast.admin, ticket=done)
    assert open_tickets_per_responsible([u.pk for u in crew.values()]) == {
        crew["ivanova"].pk: 2,
        crew["petrov"].pk: 1,
    }
    AssignmentPool.objects.filter(pk=pool.pk).update(active=True)
    with translation.override("en"):
        first, second, third = (make_ticket() for _ in range(3))
    assert first.responsible == crew["sidorov"]
    assert "Sidorov (least loaded in pool “L1 Moscow”, open tickets: 0)" in created_line(first)
    # Sidorov has one now, as Petrov: equal loads go in turn after Sidorov (Petrov before Sidorov himself).
    assert second.responsible == crew["petrov"]
    assert third.responsible == crew["sidorov"]  # one against two each


def test_ticket_create_member_outside_timetable_skipped(pool, crew, make_ticket):
    AgentWorkTime.objects.create(user=crew["ivanova"], timetable=weekdays_10_to_19())
    with clock.frozen(msk(2025, 10, 18, 12, 0)):  # a Saturday
        with translation.override("en"):
            saturday = make_ticket()
    assert saturday.responsible == crew["petrov"]
    assert "skipped Ivanova: not working now" in created_line(saturday)
    AssignmentPool.objects.filter(pk=pool.pk).update(last_assigned=None)
    with clock.frozen(msk(2025, 10, 20, 12, 0)):  # the Monday after, in office hours
        assert make_ticket().responsible == crew["ivanova"]
    AssignmentPool.objects.filter(pk=pool.pk).update(last_assigned=None)
    with clock.frozen(msk(2025, 10, 20, 19, 0)):  # the end of the day is outside it
        assert make_ticket().responsible == crew["petrov"]


def test_ticket_create_member_on_a_holiday_of_their_timetable_skipped(pool, crew, make_ticket):
    office = weekdays_10_to_19()
    CalendarException.objects.create(
        name="Unity Day", kind=ExceptionKind.HOLIDAY, first_day=msk(2025, 11, 4).date(),
        last_day=msk(2025, 11, 4).date(), timetable=office,
    )  # fmt: skip
    AgentWorkTime.objects.create(user=crew["ivanova"], timetable=office)
    with clock.frozen(msk(2025, 11, 4, 12, 0)):  # a Tuesday, but a holiday
        assert make_ticket().responsible == crew["petrov"]


def test_ticket_create_everyone_away_order_goes_on_and_logs_the_pool(pool, cast, crew, make_ticket):
    for person in crew.values():
        absent(person)
    vip = SlaLevel.objects.create(name="VIP", priority=60, response_time=1, responsible=cast.staff2)
    with translation.override("en"):
        ticket = make_ticket(actor=cast.staff, author=cast.client, sla=vip)
    assert ticket.responsible == cast.staff2
    assert created_line(ticket).endswith(
        "Responsible: staff2 (from SLA “VIP”); pool “L1 Moscow”: nobody available "
        "(Ivanova: absent, Petrov: absent, Sidorov: absent), skipped"
    )
    pool.refresh_from_db()
    assert pool.last_assigned is None


def test_ticket_create_everyone_away_nothing_else_unassigned_and_logged(pool, crew, make_ticket):
    for person in crew.values():
        absent(person)
    with translation.override("en"):
        ticket = make_ticket()
    assert ticket.responsible is None
    assert "Responsible: nobody, the ticket stays unassigned; pool “L1 Moscow”: nobody available" in (
        created_line(ticket)
    )


def test_ticket_create_member_without_rights_skipped(pool, crew, make_ticket):
    from otklik.accounts.roles import forget_levels

    crew["ivanova"].groups.clear()
    forget_levels(crew["ivanova"])
    with translation.override("en"):
        ticket = make_ticket()
    assert ticket.responsible == crew["petrov"]
    assert "skipped Ivanova: no staff or admin rights" in created_line(ticket)


def test_ticket_create_manual_choice_wins_and_keeps_the_turn(pool, cast, crew, make_ticket):
    ticket = make_ticket(actor=cast.staff, author=cast.client, responsible=cast.staff2)
    assert ticket.responsible == cast.staff2
    pool.refresh_from_db()
    assert pool.last_assigned is None
    assert make_ticket().responsible == crew["ivanova"]


def test_ticket_create_pool_scope_category_and_sla(pool, cast, crew, make_ticket):
    payment = DictionaryEntry.objects.get(kind="category", code="payment")
    vip = SlaLevel.objects.create(name="VIP", priority=60, response_time=1, responsible=cast.staff2)
    AssignmentPool.objects.filter(pk=pool.pk).update(category=payment, sla=vip)
    staff_files = {"actor": cast.staff, "author": cast.client}
    delivery = DictionaryEntry.objects.get(kind="category", code="delivery")
    assert make_ticket(**staff_files, sla=vip, category=payment).responsible == crew["ivanova"]
    assert make_ticket(**staff_files, sla=vip, category=delivery).responsible == cast.staff2
    make_ticket(**staff_files, category=payment)  # the default SLA
    pool.refresh_from_db()
    assert pool.last_assigned == crew["ivanova"]  # the pool was asked once


def test_ticket_create_first_matching_active_pool_applies(pool, cast, crew, make_ticket):
    second = SupportGroup.objects.create(name="L2", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=second, user=cast.staff2)
    AssignmentPool.objects.create(name="L2", support_group=second, sort=10)
    assert make_ticket().responsible == cast.staff2
    AssignmentPool.objects.filter(sort=10).update(active=False)
    assert make_ticket().responsible == crew["ivanova"]


def test_ticket_create_no_pool_history_unchanged(cast, make_ticket):
    ticket = make_ticket()
    assert ticket.responsible is None and created_line(ticket) == f"#{ticket.pk}"


# -- cost ------------------------------------------------------------------------------------------
def _creation_queries(make_ticket) -> int:
    with CaptureQueriesContext(connection) as captured:
        make_ticket()
    return len(captured.captured_queries)


@pytest.mark.parametrize("mode", [AssignmentMode.ROUND_ROBIN, AssignmentMode.LEAST_LOADED])
def test_ticket_create_with_pool_queries_do_not_grow_with_members(pool, crew, make_ticket, mode):
    AssignmentPool.objects.filter(pk=pool.pk).update(mode=mode)
    office = weekdays_10_to_19()
    AgentWorkTime.objects.create(user=crew["ivanova"], timetable=office)
    absent(crew["petrov"])
    make_ticket()  # the options row and the calendar are made once
    few = _creation_queries(make_ticket)
    group = SupportGroup.objects.get(name="L1")
    for n in range(6):
        person = make_user(f"extra{n}", AccessLevel.STAFF)
        support_group_add_member(group=group, user=person)
        AgentWorkTime.objects.create(user=person, timetable=office)
        absent(person)
    make_ticket()
    assert _creation_queries(make_ticket) == few


def test_responsible_for_new_ticket_with_pool_few_queries(pool, django_assert_max_num_queries):
    AssignmentPool.objects.filter(pk=pool.pk).update(mode=AssignmentMode.LEAST_LOADED)
    responsible_for_new_ticket(sla=None)  # the options row
    # Options, pools, members, rights, timetables, absences (all cached in production), the pointer's
    # lock and move, the loads, the savepoint's two statements.
    with django_assert_max_num_queries(11):
        choice = responsible_for_new_ticket(sla=None)
    assert choice.user is not None


def _warm_creation_statements(cast, make_ticket) -> list[str]:
    """Return what creating a ticket with a warm configuration cache runs besides its INSERTs."""
    from otklik.accounts.roles import forget_levels

    config_cache.config_forget()
    forget_levels(cast.client)  # kept on the object: the warm-up must put them in the cache again
    for _ in range(4):  # warm: the options row once, then each member's access levels
        make_ticket()
    client = User.objects.select_related("profile").get(pk=cast.client.pk)  # as the request brings it
    with CaptureQueriesContext(connection) as captured:
        services.ticket_create(actor=client, draft=services.TicketDraft(title="Printer", message="It jams."))
    statements = [q["sql"] for q in captured.captured_queries]
    return [s for s in statements if not s.startswith(("INSERT", "SAVEPOINT", "RELEASE"))]


@pytest.mark.parametrize(
    ("mode", "reads"), [(AssignmentMode.ROUND_ROBIN, 1), (AssignmentMode.LEAST_LOADED, 2)]
)
def test_ticket_create_with_pool_warm_cache_adds_only_pointer_and_loads(
    pool, cast, crew, make_ticket, settings, mode, reads
):
    settings.OTKLIK_CONFIG_CACHE_SECONDS = 5
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=crew["ivanova"])
    AssignmentPool.objects.filter(pk=pool.pk).update(mode=mode, active=False)
    try:
        # The same creation with a responsible of the pool's group from the module default, then the pool.
        baseline = _warm_creation_statements(cast, make_ticket)
        AssignmentPool.objects.filter(pk=pool.pk).update(active=True)
        pooled = _warm_creation_statements(cast, make_ticket)
    finally:
        config_cache.config_forget()
    assert Ticket.objects.latest("pk").responsible.username in ("ivanova", "petrov", "sidorov")
    mine = [s for s in pooled if "routing_assignmentpool" in s or 'COUNT("tickets_ticket"' in s]
    # The pointer's lock (and the loads), the pointer's move; the configuration all from the cache.
    assert [s.split()[0] for s in mine] == ["SELECT"] * reads + ["UPDATE"]
    assert len(pooled) - len(mine) <= len(baseline)


# -- a race: six tickets at once in a pool of three go two to each --------------------------------
# A plain flush, as the other races (tests/test_coupons_race.py): the test loads the dictionaries itself, and a
# serialized rollback after another test's plain flush would clash with the content types it recreated.
@pytest.mark.django_db(transaction=True)
def test_ticket_create_concurrent_round_robin_gives_each_member_two():
    from otklik.dictionaries.seed import load_dictionaries

    load_dictionaries(DictionaryEntry)
    client = make_user("racer", AccessLevel.CLIENT)
    people = [make_user(name, AccessLevel.STAFF) for name in ("r1", "r2", "r3")]
    group = SupportGroup.objects.create(name="Race", kind=SupportGroup.Kind.STAFF)
    for person in people:
        support_group_add_member(group=group, user=person)
    AssignmentPool.objects.create(name="Race", support_group=group)
    racers = 6
    start = threading.Barrier(racers)
    errors: list[BaseException] = []

    def create(index: int) -> None:
        try:
            start.wait(timeout=30)
            services.ticket_create(actor=client, **ticket_inputs(title=f"Race {index}", message="Help"))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    counts = {p.pk: Ticket.objects.filter(responsible=p).count() for p in people}
    assert sorted(counts.values()) == [2, 2, 2], counts


# -- the configuration pages -------------------------------------------------------------------
@pytest.mark.parametrize("model", ["assignmentpool", "agentworktime", "agentabsence"])
@pytest.mark.parametrize("page", ["changelist", "add"])
def test_admin_pages_open_for_admin(cast, pool, crew, model, page):
    AgentWorkTime.objects.create(user=crew["ivanova"], timetable=weekdays_10_to_19())
    absent(crew["petrov"])
    for language in ("en", "ru"):
        response = logged_in(cast.admin, language).get(reverse(f"admin:routing_{model}_{page}"))
        assert response.status_code == 200


def test_admin_pool_list_shows_last_assigned(cast, pool, crew, make_ticket):
    make_ticket()
    html = logged_in(cast.admin).get(reverse("admin:routing_assignmentpool_changelist")).content.decode()
    assert "L1 Moscow" in html and "Ivanova" in html


def test_admin_absence_ending_before_start_refused(cast, crew):
    response = logged_in(cast.admin).post(
        reverse("admin:routing_agentabsence_add"),
        {
            "user": crew["ivanova"].pk,
            "starts_at_0": "2025-10-20",
            "starts_at_1": "10:00",
            "ends_at_0": "2025-10-19",
            "ends_at_1": "10:00",
            "reason": "vacation",
        },
    )
    assert response.status_code == 200
    assert "The absence must end after it starts." in response.content.decode()
    assert not AgentAbsence.objects.exists()


def test_admin_pool_offers_staff_groups_and_support_people_only(cast, crew):
    html = logged_in(cast.admin).get(reverse("admin:routing_assignmentpool_add")).content.decode()
    assert ">L1<" in html and "Romashka LLC" not in html
    html = logged_in(cast.admin).get(reverse("admin:routing_agentabsence_add")).content.decode()
    assert ">ivanova<" in html and f'value="{cast.client.pk}"' not in html


def test_admin_staff_may_not_open_the_pages(cast):
    response = logged_in(cast.staff).get(reverse("admin:routing_assignmentpool_changelist"))
    assert response.status_code in (302, 403)
