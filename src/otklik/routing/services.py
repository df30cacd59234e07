"""Choose a new ticket's responsible from the settings in the database (F-10).

Reads the responsibles the SLA and the dictionary entries name (the module options' default responsible
and order are handed in by the caller, tickets, which owns them), turns them into plain candidates and leaves the decision to otklik.routing.decisions.

A matching assignment pool (issue 18, P7) is consulted first: its members, their working hours and
absences are configuration (cached like the rest); their load is asked of the caller (tickets owns the
tickets), and the round-robin pointer is read and moved under a row lock, so two tickets created at once
do not go to the same person.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from otklik.accounts.models import SupportGroupMember
from otklik.accounts.selectors import display_name, support_user_list
from otklik.core import clock
from otklik.core.config_cache import config_cached
from otklik.dictionaries.models import DictionaryEntry
from otklik.routing.decisions import (
    CATEGORY,
    CRITICALITY,
    DEFAULT,
    MANUAL,
    POOL,
    SLA,
    SOURCE,
    Candidate,
    Decision,
    decision_describe,
    responsible_choose,
)
from otklik.routing.models import AgentAbsence, AgentWorkTime, AssignmentPool
from otklik.routing.pools import LEAST_LOADED, Member, PoolPick, pool_pick
from otklik.sla.calendars import NoWorkingTime
from otklik.sla.models import BilingualText, SlaLevel, Timetable
from otklik.sla.selectors import working_calendar

# How many open tickets each of these people is responsible for (absent: none); one query, by the caller.
OpenLoad = Callable[[Collection[int]], Mapping[int, int]]


@dataclass(frozen=True)
class ResponsibleChoice:
    """The responsible for a new ticket (None: nobody) and the decision that explains it."""

    user: User | None
    decision: Decision

    def describe(self) -> str:
        """Return the decision for the history in the active language (see decision_describe)."""
        return decision_describe(self.decision)


def responsible_choose_for_new_ticket(
    *,
    order: str,
    default_responsible_id: int | None,
    sla: SlaLevel | None,
    category: DictionaryEntry | None = None,
    criticality: DictionaryEntry | None = None,
    source: DictionaryEntry | None = None,
    manual: User | None = None,
    open_load: OpenLoad | None = None,
) -> ResponsibleChoice:
    """Choose the responsible of a new ticket by `order`, skipping people without rights.

    `order` and `default_responsible_id` are the module options' (otklik.tickets reads them). `manual` is
    staff's explicit choice, already checked by the caller: it wins without a look at the settings.
    Otherwise this costs one query for the named users and one per distinct named user for their access levels.
    A matching assignment pool comes first: it adds the pointer's lock and move (round-robin) or the lock
    and one `open_load` call (least loaded; without `open_load` every load counts as 0). Call it only to
    create a ticket: a pool's pick moves its pointer.
    """
    if manual is not None:
        candidate = Candidate(MANUAL, manual.pk, display_name(manual))
        return ResponsibleChoice(manual, responsible_choose(order="", candidates=[candidate]))
    named: list[tuple[str, int | None, str]] = [
        # The labels format in the reader's language: the history shows the decision in both.
        (SLA, sla.responsible_id if sla else None, BilingualText(sla.name_ru, sla.name_en) if sla else ""),
        *(
            (
                kind,
                entry.responsible_id if entry else None,
                BilingualText(entry.name_ru, entry.name_en) if entry else "",
            )
            for kind, entry in ((CATEGORY, category), (CRITICALITY, criticality), (SOURCE, source))
        ),
        (DEFAULT, default_responsible_id, ""),
    ]
    ids = {user_id for _kind, user_id, _label in named if user_id}
    users = config_cached(f"routing-users:{sorted(ids)}", lambda: _candidates_with_rights(ids)) if ids else {}
    candidates = []
    for kind, user_id, label in named:
        user, is_support = users.get(user_id, (None, False)) if user_id else (None, False)
        if user is None:
            continue
        candidates.append(
            Candidate(
                kind,
                user.pk,
                display_name(user),
                label=label,
                active=user.is_active,
                support=is_support,
            )
        )
    pool = _pool_for(sla=sla, category=category)
    pick = _pool_pick(pool, open_load=open_load) if pool is not None else None
    decision = responsible_choose(order=order, candidates=candidates, pool=pick)
    if decision.user_id is None:
        chosen = None
    elif decision.source == POOL and pool is not None:
        chosen = next(m.user for m in pool.members if m.user.pk == decision.user_id)
    else:
        chosen = users[decision.user_id][0]
    return ResponsibleChoice(chosen, decision)


def _candidates_with_rights(ids: set[int]) -> dict[int, tuple[User, bool]]:
    """Return the named users with whether each has staff or admin rights (one query for the rights)."""
    users = User.objects.in_bulk(ids)
    support_ids = set(support_user_list().filter(pk__in=ids).values_list("pk", flat=True))
    return {pk: (user, pk in support_ids) for pk, user in users.items()}


# -- assignment pools (issue 18, P7) ---------------------------------------------------------------
@dataclass(frozen=True)
class _PoolMember:
    user: User
    name: str
    active: bool
    support: bool
    timetable: Timetable | None  # None: works any time


@dataclass(frozen=True)
class _Pool:
    pk: int
    name: str  # a BilingualText: the history shows it in both languages
    mode: str
    category_id: int | None
    sla_id: int | None
    members: tuple[_PoolMember, ...]

    def matches(self, *, sla_id: int | None, category_id: int | None) -> bool:
        return (self.category_id is None or self.category_id == category_id) and (
            self.sla_id is None or self.sla_id == sla_id
        )


def _pools_load() -> tuple[_Pool, ...]:
    """Read the active pools with their members, rights and timetables (four queries; one without pools)."""
    pools = list(AssignmentPool.objects.filter(active=True).order_by("sort", "id"))
    if not pools:
        return ()
    # With the profile: the chosen one is told of the ticket in their language, from this very object.
    memberships = list(
        SupportGroupMember.objects.filter(group_id__in={p.support_group_id for p in pools})
        .select_related("user__profile")
        .order_by("user_id")
    )
    ids = {m.user_id for m in memberships}
    support_ids = set(support_user_list().filter(pk__in=ids).values_list("pk", flat=True))
    timetables = {
        work.user_id: work.timetable
        for work in AgentWorkTime.objects.filter(user_id__in=ids).select_related("timetable")
    }
    members: dict[int, list[_PoolMember]] = {}
    for membership in memberships:
        user = membership.user
        members.setdefault(membership.group_id, []).append(
            _PoolMember(
                user, display_name(user), user.is_active, user.pk in support_ids, timetables.get(user.pk)
            )
        )
    return tuple(
        _Pool(
            pool.pk,
            BilingualText(pool.name_ru, pool.name_en),
            pool.mode,
            pool.category_id,
            pool.sla_id,
            tuple(members.get(pool.support_group_id, ())),
        )
        for pool in pools
    )


def _absences_load(pool: _Pool, since: datetime) -> tuple[tuple[int, datetime, datetime], ...]:
    """Read the pool's members' absences that have not ended by `since` (one query)."""
    rows = AgentAbsence.objects.filter(
        user_id__in=[m.user.pk for m in pool.members], ends_at__gt=since
    ).values_list("user_id", "starts_at", "ends_at")
    return tuple(rows)


def _working_now(timetable: Timetable | None, now: datetime) -> bool:
    """Tell whether `now` is within the timetable's working time (no timetable: always)."""
    if timetable is None:
        return True
    whole = now.replace(microsecond=0)  # the calendar answers in whole seconds
    try:
        return working_calendar(timetable=timetable).next_working(whole) == whole
    except NoWorkingTime:  # a timetable closed every day: never working
        return False


def _pool_for(*, sla: SlaLevel | None, category: DictionaryEntry | None) -> _Pool | None:
    """Return the first active pool whose scope matches a new ticket of this SLA and category, or None."""
    sla_id, category_id = (sla.pk if sla else None), (category.pk if category else None)
    pools = config_cached("routing-pools", _pools_load)
    return next((p for p in pools if p.matches(sla_id=sla_id, category_id=category_id)), None)


def _pool_pick(pool: _Pool, *, open_load: OpenLoad | None) -> PoolPick:
    """Return the pool's pick for a new ticket and move its pointer to the chosen member.

    The pointer row stays locked until the ticket's transaction ends: a concurrent creation in the same
    pool waits, then sees the moved pointer and the new ticket in the loads.
    """
    now = clock.now()
    absences = config_cached(f"routing-absences:{pool.pk}", lambda: _absences_load(pool, now))
    absent = {user_id for user_id, starts, ends in absences if starts <= now < ends}
    with transaction.atomic():
        last_id = (
            AssignmentPool.objects.select_for_update()
            .filter(pk=pool.pk)
            .values_list("last_assigned_id", flat=True)
            .first()
        )
        ids = [m.user.pk for m in pool.members]
        loads = open_load(ids) if pool.mode == LEAST_LOADED and open_load is not None and ids else {}
        members = [
            Member(
                m.user.pk,
                m.name,
                active=m.active,
                support=m.support,
                working=_working_now(m.timetable, now),
                absent=m.user.pk in absent,
                load=loads.get(m.user.pk, 0),
            )
            for m in pool.members
        ]
        pick = pool_pick(pool=pool.name, mode=pool.mode, members=members, last_id=last_id)
        if pick.chosen is not None:
            AssignmentPool.objects.filter(pk=pool.pk).update(last_assigned_id=pick.chosen.user_id)
    return pick
