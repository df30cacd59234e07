"""Fair assignment inside a pool (issue 18, P7) as a pure decision over plain data.

A pool's members take new tickets either in turn (round-robin: the member after the one who took the
last ticket) or by load (least loaded: the fewest open tickets; equal loads go in turn). A member who is
deactivated, has no staff or admin rights, is absent or is outside their working hours is passed over;
the ones passed over before the chosen member are kept so the ticket's history can say why. Members are
met in a fixed rotation: by user id, starting after the pointer, so a pointer whose member left the pool
still says where the turn is. No database here: otklik.routing.services builds the members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

ROUND_ROBIN = "round_robin"
LEAST_LOADED = "least_loaded"

DEACTIVATED = "deactivated"
NO_RIGHTS = "no_rights"
ABSENT = "absent"
NOT_WORKING = "not_working"

# Why a member was passed over: "skipped Ivanova: absent".
WHY = {
    DEACTIVATED: gettext_lazy("deactivated"),
    NO_RIGHTS: gettext_lazy("no staff or admin rights"),
    ABSENT: gettext_lazy("absent"),
    NOT_WORKING: gettext_lazy("not working now"),
}


@dataclass(frozen=True)
class Member:
    """A pool member as the decision sees them: who, whether they may take a ticket now, their load."""

    user_id: int
    name: str
    active: bool = True
    support: bool = True  # has staff or admin rights
    working: bool = True  # within their working hours now
    absent: bool = False  # an absence covers now
    load: int = 0  # open tickets they are responsible for

    @property
    def unavailable(self) -> str | None:
        """Return why the member may not take a ticket now (the first reason that applies), or None."""
        if not self.active:
            return DEACTIVATED
        if not self.support:
            return NO_RIGHTS
        if self.absent:
            return ABSENT
        if not self.working:
            return NOT_WORKING
        return None


@dataclass(frozen=True)
class Skip:
    """A member passed over, and why (one of DEACTIVATED, NO_RIGHTS, ABSENT, NOT_WORKING)."""

    member: Member
    why: str


@dataclass(frozen=True)
class PoolPick:
    """The pool's answer: the chosen member (None: nobody may take the ticket now) and who was passed over.

    `pool` is the pool's name (a BilingualText formats in the reader's language); `members` how many the
    pool has, so the history tells an empty pool from one whose members are all away.
    """

    pool: str
    mode: str
    chosen: Member | None
    skipped: tuple[Skip, ...] = ()
    members: int = 0

    @property
    def user_id(self) -> int | None:
        return self.chosen.user_id if self.chosen else None


def rotation(members: Sequence[Member], last_id: int | None) -> list[Member]:
    """Return the members by user id, starting with the first one after `last_id` (all of them: no pointer)."""
    ordered = sorted(members, key=lambda m: m.user_id)
    if last_id is None:
        return ordered
    after = [m for m in ordered if m.user_id > last_id]
    return after + [m for m in ordered if m.user_id <= last_id]


def pool_pick(*, pool: str, mode: str, members: Sequence[Member], last_id: int | None) -> PoolPick:
    """Choose the member who takes the new ticket by `mode`, passing over those who may not take it now.

    Round-robin meets the members in rotation after `last_id` (who took the last ticket); least loaded
    meets them by open tickets, equal loads in that same rotation. An unknown mode counts as round-robin.
    The skipped are the members met before the chosen one (all of them when nobody may take it).
    """
    met = rotation(members, last_id)
    if mode == LEAST_LOADED:
        met.sort(key=lambda m: m.load)  # stable: equal loads keep their turn
    skipped: list[Skip] = []
    for member in met:
        why = member.unavailable
        if why is None:
            return PoolPick(pool, mode, member, tuple(skipped), len(met))
        skipped.append(Skip(member, why))
    return PoolPick(pool, mode, None, tuple(skipped), len(met))


def _skips_text(skipped: Sequence[Skip]) -> str:
    return ", ".join(
        _("%(name)s: %(why)s") % {"name": skip.member.name, "why": WHY[skip.why]} for skip in skipped
    )


def pool_pick_reason(pick: PoolPick) -> str:
    """Return why the chosen member got the ticket: "round-robin in pool “L1 Moscow”; skipped Ivanova: absent"."""
    if pick.mode == LEAST_LOADED and pick.chosen is not None:
        head = _("least loaded in pool “%(pool)s”, open tickets: %(load)d") % {
            "pool": pick.pool,
            "load": pick.chosen.load,
        }
    else:
        head = _("round-robin in pool “%(pool)s”") % {"pool": pick.pool}
    if not pick.skipped:
        return head
    return "; ".join([head, _("skipped %(members)s") % {"members": _skips_text(pick.skipped)}])


def pool_pick_skip_describe(pick: PoolPick) -> str:
    """Return why the pool gave nobody: "pool “L1 Moscow”: nobody available (Ivanova: absent), skipped"."""
    if not pick.members:
        return _("pool “%(pool)s” has no members, skipped") % {"pool": pick.pool}
    return _("pool “%(pool)s”: nobody available (%(members)s), skipped") % {
        "pool": pick.pool,
        "members": _skips_text(pick.skipped),
    }
