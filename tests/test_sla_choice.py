"""The choice of a new ticket's SLA (F-06) and the demo's timetables and SLA table (F-06, F-07).

Order: staff's explicit choice, else a coupon's SLA, else the highest priority among the levels of the
author's groups (anonymous and e-mail authors: "everyone"), else the default. Criticality never selects
the SLA. First the pure decision as a table, then through sla_for_new_ticket and ticket_create, then the
demo data: the regulation's timetables with the production calendar and the levels with their groups.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.utils import translation

from otklik.core.errors import PermissionDenied
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import EVERYONE_GROUP, ExceptionKind, SlaLevel, Timetable
from otklik.sla.selectors import SlaChoice, choose_sla, sla_for_new_ticket, working_calendar
from otklik.tickets.models import Ticket, TicketEvent

MSK = ZoneInfo("Europe/Moscow")


def level(pk: int, name: str, priority: int = 0) -> SlaLevel:
    """An unsaved level: the pure decision needs only the id, the name and the priority."""
    return SlaLevel(pk=pk, name=name, priority=priority)


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


# -- the pure decision ------------------------------------------------------------------------
STANDARD = level(1, "Standard", 40)
VIP = level(2, "VIP", 60)
PARTNER = level(3, "Partner", 45)
TWIN = level(4, "Twin of VIP", 60)
SPECIAL = level(5, "Special", 70)
DEFAULT = level(6, "Non-commercial", 10)
CLIENTS, VIPS, PARTNERS, EVERYONE = 10, 20, 30, 99
LEVELS = [
    (STANDARD, {CLIENTS}),
    (VIP, {VIPS}),
    (PARTNER, {PARTNERS}),
    (SPECIAL, set()),
    (DEFAULT, set()),
]

CHOICE_TABLE = [
    # (case, explicit, coupon, author's groups, levels, default, expected level, reason)
    ("explicit wins over all", STANDARD, SPECIAL, {VIPS}, LEVELS, DEFAULT, STANDARD, "explicit"),
    ("coupon wins over groups", None, SPECIAL, {CLIENTS, VIPS}, LEVELS, DEFAULT, SPECIAL, "coupon"),
    ("one group", None, None, {CLIENTS}, LEVELS, DEFAULT, STANDARD, "group"),
    ("highest priority of groups", None, None, {CLIENTS, VIPS, PARTNERS}, LEVELS, DEFAULT, VIP, "group"),
    ("partner outranks client", None, None, {CLIENTS, PARTNERS}, LEVELS, DEFAULT, PARTNER, "group"),
    ("tie: the older level", None, None, {VIPS}, [(TWIN, {VIPS}), *LEVELS], DEFAULT, VIP, "group"),
    ("everyone's level", None, None, {EVERYONE}, [(STANDARD, {EVERYONE})], DEFAULT, STANDARD, "group"),
    ("no group fits: default", None, None, {12345}, LEVELS, DEFAULT, DEFAULT, "default"),
    ("no groups at all: default", None, None, set(), LEVELS, DEFAULT, DEFAULT, "default"),
    ("nothing: none", None, None, {CLIENTS}, [], None, None, "none"),
]


@pytest.mark.parametrize(
    ("explicit", "coupon", "groups", "levels", "default", "expected", "reason"),
    [row[1:] for row in CHOICE_TABLE],
    ids=[row[0] for row in CHOICE_TABLE],
)
def test_choose_sla_table(explicit, coupon, groups, levels, default, expected, reason):
    choice = choose_sla(
        explicit=explicit, coupon_sla=coupon, author_group_ids=groups, levels=levels, default=default
    )
    assert choice == SlaChoice(expected, reason)


# -- from the database: active levels, the "everyone" group ---------------------------------
@pytest.fixture(autouse=True)
def _english():
    """Log lines are written in the active language; pin it, so no earlier test's language leaks in."""
    with translation.override("en"):
        yield


@pytest.fixture
def levels(cast):
    """Standard for the client access group, VIP for a "VIP" group, a default, and an inactive top level."""
    from otklik.accounts.services import access_groups_ensure

    clients = access_groups_ensure()["client"]
    vips = Group.objects.create(name="Clients: VIP")
    standard = SlaLevel.objects.create(name="Standard", priority=40, response_time=6)
    standard.groups.add(clients)
    vip = SlaLevel.objects.create(name="VIP", priority=60, response_time=2, description="Two hours.")
    vip.groups.add(vips)
    retired = SlaLevel.objects.create(name="Retired", priority=99, response_time=1, active=False)
    retired.groups.add(clients, vips)
    default = SlaLevel.objects.create(name="Non-commercial", priority=10, response_time=24, is_default=True)
    cast.other_client.groups.add(vips)
    return {"standard": standard, "vip": vip, "retired": retired, "default": default, "vips": vips}


def test_sla_for_new_ticket_inactive_level_is_ignored(cast, levels):
    assert sla_for_new_ticket(cast.client) == SlaChoice(levels["standard"], "group")
    assert sla_for_new_ticket(cast.other_client) == SlaChoice(levels["vip"], "group")


def test_sla_for_new_ticket_user_without_fitting_group_gets_default(cast, levels):
    assert sla_for_new_ticket(cast.staff) == SlaChoice(levels["default"], "default")


@pytest.mark.parametrize("author", [None, AnonymousUser()], ids=["e-mail author", "anonymous"])
def test_sla_for_new_ticket_anonymous_author_gets_everyone_level(cast, levels, author):
    assert sla_for_new_ticket(author).sla == levels["default"]
    public = SlaLevel.objects.create(name="Public", priority=20, response_time=12)
    public.groups.add(Group.objects.get(name=EVERYONE_GROUP))
    assert sla_for_new_ticket(author) == SlaChoice(public, "group")
    # Everyone is in "everyone", so a registered client's own higher level still wins.
    assert sla_for_new_ticket(cast.client).sla == levels["standard"]


def test_sla_for_new_ticket_without_levels_is_none(cast):
    assert sla_for_new_ticket(cast.client) == SlaChoice(None, "none")


# -- through ticket_create ---------------------------------------------------------------------
def test_ticket_create_by_client_gets_group_level_and_logs_reason(cast, levels, make_ticket):
    ticket = make_ticket(actor=cast.other_client)
    assert ticket.sla == levels["vip"]
    created = TicketEvent.objects.get(ticket=ticket, field="created")
    assert created.new_shown.startswith(f"#{ticket.pk}")
    assert "VIP" in created.new_shown and "by the author's group" in created.new_shown


def test_ticket_create_staff_explicit_sla_overrides_author_groups(cast, levels, make_ticket):
    ticket = make_ticket(actor=cast.staff, author=cast.other_client, sla=levels["standard"])
    assert ticket.sla == levels["standard"]
    assert "chosen by support" in TicketEvent.objects.get(ticket=ticket, field="created").new_shown


def test_ticket_create_staff_for_client_without_explicit_sla_uses_author_groups(cast, levels, make_ticket):
    ticket = make_ticket(actor=cast.staff, author=cast.other_client)
    assert ticket.sla == levels["vip"]


def test_ticket_create_client_choosing_sla_is_refused_and_creates_nothing(cast, levels, make_ticket):
    with pytest.raises(PermissionDenied) as info:
        make_ticket(actor=cast.client, sla=levels["vip"])
    assert "sla" in info.value.errors
    assert Ticket.objects.count() == 0


def test_ticket_create_coupon_sla_wins_over_author_groups(cast, levels, make_ticket):
    special = SlaLevel.objects.create(name="Special", priority=70, response_time=1)
    ticket = make_ticket(actor=cast.other_client, coupon_sla=special)
    assert ticket.sla == special
    assert "by the coupon" in TicketEvent.objects.get(ticket=ticket, field="created").new_shown


@pytest.mark.parametrize("criticality", ["low", "middle", "high"])
def test_ticket_create_criticality_does_not_change_sla(cast, levels, make_ticket, criticality):
    # A level that names only "high" among its criticalities must not attract high-criticality tickets.
    urgent = SlaLevel.objects.create(name="Urgent", priority=90, response_time=1)
    urgent.criticalities.add(entry("criticality", "high"))
    ticket = make_ticket(actor=cast.client, criticality=entry("criticality", criticality))
    assert ticket.sla == levels["standard"]


def test_ticket_create_without_any_level_logs_plain_number(cast, make_ticket):
    ticket = make_ticket()
    assert ticket.sla is None
    assert TicketEvent.objects.get(ticket=ticket, field="created").new_shown == f"#{ticket.pk}"


def test_ticket_create_default_level_reason_is_logged(cast, levels, make_ticket):
    ticket = make_ticket(actor=cast.staff)
    assert ticket.sla == levels["default"]
    assert "the default level" in TicketEvent.objects.get(ticket=ticket, field="created").new_shown


# -- demo data: the regulation's timetables and SLA table ---------------------------------------
@pytest.fixture
def demo(db):
    from otklik.tickets.demo_data import demo_load

    return demo_load(tickets=0)


def local(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=MSK)


def test_demo_timetables_have_the_regulation_week_and_calendar(demo):
    workdays = Timetable.objects.get(code="msk-workdays-10-19")
    assert workdays.time_zone == "Europe/Moscow"
    assert workdays.week == [[[36000, 68400]]] * 5 + [[], []]
    assert workdays.calendar_years == [2024, 2025, 2026]
    around = Timetable.objects.get(code="24x7")
    assert around.week == [[[0, 86400]]] * 7 and around.time_zone == "Europe/Moscow"
    assert not around.exceptions.exists()


def test_demo_workdays_new_year_holidays_2025_are_closed(demo):
    workdays = Timetable.objects.get(code="msk-workdays-10-19")
    holidays = {
        (e.first_day, e.last_day)
        for e in workdays.exceptions.filter(kind=ExceptionKind.HOLIDAY, first_day__year=2025)
    }
    # 4 and 5 January are a weekend anyway, so the calendar gives two runs around it.
    assert {(date(2025, 1, 1), date(2025, 1, 3)), (date(2025, 1, 6), date(2025, 1, 8))} <= holidays
    calendar = working_calendar(timetable=workdays)
    assert calendar.between(local(date(2025, 1, 1)), local(date(2025, 1, 9))) == 0
    assert calendar.next_working(local(date(2024, 12, 31), 20)) == local(date(2025, 1, 9), 10)


def test_demo_workdays_1_november_2025_works_as_monday_with_short_day(demo):
    workdays = Timetable.objects.get(code="msk-workdays-10-19")
    saturday = date(2025, 11, 1)
    as_monday = workdays.exceptions.get(kind=ExceptionKind.AS_WEEKDAY, first_day=saturday)
    assert as_monday.weekday == 0
    cut = workdays.exceptions.get(kind=ExceptionKind.HOLIDAY_TIME, first_day=saturday)
    assert (cut.start_time, cut.end_time) == (time(18), time(19))
    calendar = working_calendar(timetable=workdays)
    assert calendar.between(local(saturday), local(date(2025, 11, 2))) == 8 * 3600


def test_demo_sla_table_levels_groups_and_timetables(demo):
    by_hours = {sla.response_seconds // 3600: sla for sla in SlaLevel.objects.select_related("timetable")}
    assert sorted(by_hours) == [1, 2, 3, 4, 5, 6, 24]
    assert by_hours[24].is_default and not by_hours[24].groups.exists()
    assert by_hours[1].timetable.code == "24x7" and not by_hours[1].groups.exists()
    assert {by_hours[h].timetable.code for h in (2, 3, 4, 5, 6, 24)} == {"msk-workdays-10-19"}
    groups = {h: set(by_hours[h].groups.values_list("name", flat=True)) for h in (2, 3, 4, 5, 6)}
    assert groups == {
        2: {"Clients: VIP"},
        3: {"Partners: operative"},
        4: {"Clients: operative"},
        5: {"Partners: standard"},
        6: {"Support clients"},
    }
    # Faster levels rank higher, so a partner (also a support client) gets the partners' level.
    ranked = sorted((h for h in by_hours if h != 1), key=lambda h: -by_hours[h].priority)
    assert ranked == [2, 3, 4, 5, 6, 24]


def test_demo_clients_get_their_contract_level(demo):
    from django.contrib.auth.models import User

    def hours(username: str) -> int:
        return sla_for_new_ticket(User.objects.get(username=username)).sla.response_seconds // 3600

    assert hours("client") == 6
    assert hours("client2") == 2 and hours("eclark") == 2
    assert hours("anovikov") == 5
    assert sla_for_new_ticket(None).sla.response_seconds == 24 * 3600


def test_demo_run_again_keeps_timetables_and_fills_old_levels(demo):
    from otklik.tickets.demo_data import demo_load

    # A level as an older demo made it: no timetable, no groups, the old priority.
    partner = SlaLevel.objects.get(response_time=5)
    partner.groups.clear()
    SlaLevel.objects.filter(pk=partner.pk).update(timetable=None, priority=35)
    counts = (Timetable.objects.count(), SlaLevel.objects.count(), Group.objects.count())
    exceptions = Timetable.objects.get(code="msk-workdays-10-19").exceptions.count()

    again = demo_load(tickets=0)

    assert again.timetables_created == 0 and again.sla_created == 0
    assert counts == (Timetable.objects.count(), SlaLevel.objects.count(), Group.objects.count())
    assert Timetable.objects.get(code="msk-workdays-10-19").exceptions.count() == exceptions
    partner.refresh_from_db()
    assert partner.timetable.code == "msk-workdays-10-19" and partner.priority == 45
    assert list(partner.groups.values_list("name", flat=True)) == ["Partners: standard"]
