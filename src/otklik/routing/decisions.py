"""The choice of a new ticket's responsible (F-10) as a pure decision over plain data.

Staff's manual choice wins. Otherwise the candidates are met in the configured order ("seed": SLA,
category, criticality, source, module default; "bitrix": category, criticality, source, SLA, module
default) and the first one who is active and has staff or admin rights is chosen. The ones met before
are skipped, and the skips are kept so the ticket's history can say why. No database here: the callers
build the candidates (see otklik.routing.services).

An assignment pool that matches the ticket (issue 18, P7; otklik.routing.pools) comes right after the
manual choice in both orders: it is the most specific setting, and when nobody in it may take the ticket
now, the order goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.routing.pools import PoolPick, pool_pick_reason, pool_pick_skip_describe

MANUAL = "manual"
POOL = "pool"
SLA = "sla"
CATEGORY = "category"
CRITICALITY = "criticality"
SOURCE = "source"
DEFAULT = "default"

ORDER_SEED = "seed"
ORDER_BITRIX = "bitrix"
# Criticality and source come right after category in both orders (SPEC F-10); manual is always first,
# a matching assignment pool (only when one is configured) second.
ORDERS: dict[str, tuple[str, ...]] = {
    ORDER_SEED: (MANUAL, POOL, SLA, CATEGORY, CRITICALITY, SOURCE, DEFAULT),
    ORDER_BITRIX: (MANUAL, POOL, CATEGORY, CRITICALITY, SOURCE, SLA, DEFAULT),
}

# Where the chosen responsible came from, for the history: "Petrov (from SLA “VIP”)".
CHOSEN_FROM = {
    MANUAL: gettext_lazy("chosen by support"),
    POOL: gettext_lazy("from pool “%(label)s”"),
    SLA: gettext_lazy("from SLA “%(label)s”"),
    CATEGORY: gettext_lazy("from category “%(label)s”"),
    CRITICALITY: gettext_lazy("from criticality “%(label)s”"),
    SOURCE: gettext_lazy("from source “%(label)s”"),
    DEFAULT: gettext_lazy("module default"),
}
# Which setting a skipped candidate came from: "SLA “VIP”: Petrov has no staff or admin rights, skipped".
SKIPPED_FROM = {
    MANUAL: gettext_lazy("chosen by support"),
    POOL: gettext_lazy("pool “%(label)s”"),
    SLA: gettext_lazy("SLA “%(label)s”"),
    CATEGORY: gettext_lazy("category “%(label)s”"),
    CRITICALITY: gettext_lazy("criticality “%(label)s”"),
    SOURCE: gettext_lazy("source “%(label)s”"),
    DEFAULT: gettext_lazy("module default"),
}


@dataclass(frozen=True)
class Candidate:
    """A responsible some setting names: where it comes from and whether they may take tickets."""

    source: str
    user_id: int
    user_name: str
    label: str = ""
    active: bool = True
    support: bool = True  # has staff or admin rights

    @property
    def eligible(self) -> bool:
        return self.active and self.support


@dataclass(frozen=True)
class Decision:
    """The chosen candidate (None: nobody) and the candidates skipped before it, in the order met.

    `pool` is the matching assignment pool's answer when one was consulted, whether it chose or not.
    """

    chosen: Candidate | None
    skipped: tuple[Candidate, ...] = ()
    pool: PoolPick | None = None

    @property
    def explained(self) -> bool:
        """Tell whether there is something to log: someone chosen, or someone or some pool passed over."""
        return self.chosen is not None or bool(self.skipped) or self.pool is not None

    @property
    def user_id(self) -> int | None:
        return self.chosen.user_id if self.chosen else None

    @property
    def source(self) -> str | None:
        return self.chosen.source if self.chosen else None

    @property
    def label(self) -> str:
        return self.chosen.label if self.chosen else ""


def responsible_choose(
    *, order: str, candidates: Sequence[Candidate], pool: PoolPick | None = None
) -> Decision:
    """Return the first eligible candidate in the order's sequence of sources, with the ones skipped.

    An unknown order falls back to the seed's (the default). Candidates of a source the order does not
    name are ignored; two candidates of one source keep the order they were given in. `pool` is the
    matching pool's pick: its chosen member is the POOL candidate (a pool that chose nobody is not one;
    its pick is kept on the decision for the history).
    """
    if pool is not None and pool.chosen is not None:
        member = pool.chosen
        candidates = [*candidates, Candidate(POOL, member.user_id, member.name, label=pool.pool)]
    sequence = ORDERS.get(order, ORDERS[ORDER_SEED])
    rank = {source: i for i, source in enumerate(sequence)}
    met = sorted((c for c in candidates if c.source in rank), key=lambda c: rank[c.source])
    skipped: list[Candidate] = []
    for candidate in met:
        if candidate.eligible:
            return Decision(chosen=candidate, skipped=tuple(skipped), pool=pool)
        skipped.append(candidate)
    return Decision(chosen=None, skipped=tuple(skipped), pool=pool)


def decision_reason(decision: Decision) -> str:
    """Return why the responsible is who they are, in the active language: "from SLA “VIP”"."""
    if decision.chosen is None:
        return _("nobody, the ticket stays unassigned")
    if decision.chosen.source == POOL and decision.pool is not None:
        return pool_pick_reason(decision.pool)
    return str(CHOSEN_FROM[decision.chosen.source]) % {"label": decision.chosen.label}


def candidate_skip_describe(candidate: Candidate) -> str:
    """Return why a candidate was passed over: "SLA “VIP”: Petrov has no staff or admin rights, skipped"."""
    where = str(SKIPPED_FROM[candidate.source]) % {"label": candidate.label}
    if not candidate.active:
        return _("%(where)s: %(user)s is deactivated, skipped") % {
            "where": where,
            "user": candidate.user_name,
        }
    return _("%(where)s: %(user)s has no staff or admin rights, skipped") % {
        "where": where,
        "user": candidate.user_name,
    }


def decision_describe(decision: Decision) -> str:
    """Return the whole decision in one line: "Petrov (from category “Billing”); <skips>".

    A pool that chose nobody is the first skip (it comes right after the manual choice).
    """
    if decision.chosen is None:
        head = decision_reason(decision)
    else:
        head = f"{decision.chosen.user_name} ({decision_reason(decision)})"
    pool_skip = []
    if decision.pool is not None and decision.pool.chosen is None:
        pool_skip.append(pool_pick_skip_describe(decision.pool))
    return "; ".join([head, *pool_skip, *(candidate_skip_describe(c) for c in decision.skipped)])
