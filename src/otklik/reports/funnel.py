"""The three-tier funnel (F-25, F-30): where the tickets created in a period went in the support process.

Of the tickets that entered the process: how many were closed at the first line without escalation (by L1
outcome), how many still wait there, how many were escalated to L2 and to L3, how many became accidents,
incidents and change requests, how the change board decided, and how long tickets spent in each tier.

The database does the counting, in statements whose number does not depend on the data:
- one over the tickets, grouped by (L1 outcome, tier of the start state, the ticket's history) where the
  history is a small bit mask computed once per ticket from its moves (reached L1 / L2 / L3 by a move,
  approved, rejected, moved at all); the groups are at most outcomes × a few masks, summed here;
- one over the moves with LEAD / LAG window functions: each move's interval lasts until the next move (or
  until now for a ticket still in the process), plus the first interval from the ticket's creation;
- one over the tickets by day / week / month of creation, for the chart.

What the definitions say is turned into SQL conditions once per report (`process_rules`): the tier a move
puts the ticket in (as the engine sets it: the transition's "set tier" action, else the tier chosen in its
form, else the target state's tier; a final state counts in no tier), the board's decision a move takes,
the tier of the start state, and the states that wait for a vote. Versions that say the same share one
condition, so the statements stay short however often the process was edited.

Times are calendar hours: the tiers are staffed differently (the board meets, the contractor works its own
hours), so no one SLA timetable fits them all. Time in a state whose definition names no tier is not
counted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Lag, Lead
from django.utils.translation import get_language

from otklik.core import clock
from otklik.reports.period import PeriodFilters, as_day, bucket_starts, ticket_scope, trunc
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.definition import Process, Transition
from otklik.workflow.fields import TICKET_TYPES, TIERS
from otklik.workflow.models import Move, ProcessVersion
from otklik.workflow.selectors import process_of, version_for_new_tickets

# The tiers beyond the first line: reaching one of them is an escalation.
ESCALATION_TIERS = TIERS[1:]
# The funnel's stages, as the API and the exports name them.
STAGES = ("entered", "solved_l1", "open_l1", "escalated", "escalated_l2", "escalated_l3")
CHANGES = ("approved", "rejected", "awaiting")
# The bits of a ticket's history (one per tier reached by a move, then the board's decisions, then "moved").
TIER_BITS = {tier: 1 << index for index, tier in enumerate(TIERS)}
APPROVED = 1 << len(TIERS)
REJECTED = APPROVED << 1
MOVED = REJECTED << 1


# A tier rule's value for "the tier the move's form chose" (kept with the move's values).
CHOSEN = "@chosen"


@dataclass(frozen=True)
class ProcessRules:
    """The process definitions of every version, as conditions on moves and tickets' places.

    `tiers`: (condition on a move, the tier it puts the ticket in: "" none, CHOSEN the form's choice), the
    first match wins; `decisions`: (condition on a move, "approve" / "reject"); `starts`: (version ids, the
    start state's tier); `voting`: on tickets, "waits in a state that votes".
    """

    tiers: tuple[tuple[Q, str], ...]
    decisions: tuple[tuple[Q, str], ...]
    starts: tuple[tuple[tuple[int, ...], str], ...]
    voting: Q

    def move_tier(self) -> Case:
        """Return the tier a move put its ticket in ("" for none)."""
        whens = [
            When(condition, then=KT("values__tier") if tier == CHOSEN else Value(tier))
            for condition, tier in self.tiers
        ]
        return Case(*whens, default=Value(""), output_field=CharField())

    def move_tier_bit(self) -> Case:
        """Return the history bit of the tier a move put its ticket in (0 for none)."""
        whens = []
        for condition, tier in self.tiers:
            if tier == CHOSEN:
                chosen = [When(values__tier=t, then=Value(bit)) for t, bit in TIER_BITS.items()]
                whens.append(When(condition, then=Case(*chosen, default=Value(0))))
            else:
                whens.append(When(condition, then=Value(TIER_BITS.get(tier, 0))))
        return Case(*whens, default=Value(0))

    def move_decision_bit(self) -> Case:
        """Return the history bit of the board's decision a move took (0 for none)."""
        bits = {"approve": APPROVED, "reject": REJECTED}
        return Case(*(When(c, then=Value(bits[d])) for c, d in self.decisions), default=Value(0))

    def start_tier(self, version: str) -> Case:
        """Return the tier of the start state of the version in the column `version`."""
        whens = [When(**{f"{version}__in": ids}, then=Value(tier)) for ids, tier in self.starts]
        return Case(*whens, default=Value(""))


def _set_tier(step: Transition) -> str:
    """Return the tier a transition's "set tier" action gives (the last one wins, as in the engine)."""
    tiers = [
        a.params.get("value") for a in step.actions if a.type == "set" and a.params.get("field") == "tier"
    ]
    return str(tiers[-1]) if tiers else ""


def _signature(process: Process) -> tuple:
    """Return what the funnel reads from a definition, as a hashable value (equal for equal meanings)."""
    tiers: list[tuple[tuple, str]] = []
    finals = tuple(sorted(s.code for s in process.states.values() if s.final))
    if finals:
        tiers.append(((("target__in", finals),), ""))
    for step in process.transitions:
        # The engine sets the target state's tier, then the tier the form chose, then the actions'.
        tier = _set_tier(step) or (CHOSEN if "tier" in step.field_names() else "")
        if tier:
            where: tuple = (("source", step.source), ("transition", step.code))
            tiers.append((where + ((("values__has_key", "tier"),) if tier == CHOSEN else ()), tier))
    by_tier: dict[str, list[str]] = defaultdict(list)
    for state in process.states.values():
        if state.tier and not state.final:
            by_tier[state.tier].append(state.code)
    tiers.extend(((("target__in", tuple(sorted(codes))),), tier) for tier, codes in sorted(by_tier.items()))
    decisions = tuple(
        sorted(
            ((("source", t.source), ("transition", t.code)), t.decision)
            for t in process.transitions
            if t.decision
        )
    )
    start = process.states.get(process.start)
    voting = tuple(sorted(s.code for s in process.states.values() if s.votes))
    return tuple(tiers), decisions, (start.tier if start else ""), voting


def process_rules() -> ProcessRules:
    """Read every process version once (one query) and return what they say as conditions."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for version in ProcessVersion.objects.only("pk", "created_at", "definition").order_by("pk"):
        groups[_signature(process_of(version))].append(version.pk)
    tiers: list[tuple[Q, str]] = []
    decisions: list[tuple[Q, str]] = []
    starts: list[tuple[tuple[int, ...], str]] = []
    voting = Q(pk__in=[])
    for (tier_rules, decision_rules, start, votes), ids in groups.items():
        mine = Q(version_id__in=ids)
        tiers.extend((mine & Q(*where), tier) for where, tier in tier_rules)
        decisions.extend((mine & Q(*where), decision) for where, decision in decision_rules)
        if start:
            starts.append((tuple(ids), start))
        if votes:
            voting |= Q(process__version_id__in=ids, process__state__in=votes)
    return ProcessRules(tuple(tiers), tuple(decisions), tuple(starts), voting)


# -- what the report holds ------------------------------------------------------------------------------


@dataclass
class OutcomeRow:
    """The tickets of one L1 outcome (key None: not classified yet) and where they went."""

    key: str | None
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


@dataclass(frozen=True)
class TierTime:
    """Calendar hours spent in one tier: in total, by how many tickets, and per ticket on average."""

    tier: str
    tickets: int
    hours: float
    average_hours: float | None


@dataclass(frozen=True)
class FunnelBucket:
    """The tickets created in one day, week or month: closed at L1, still at L1, escalated."""

    start: dt.date
    solved_l1: int
    open_l1: int
    escalated: int


@dataclass
class Funnel:
    stages: dict[str, int]
    outcomes: list[OutcomeRow]
    types: dict[str, int]
    changes: dict[str, int]
    tiers: list[TierTime]
    buckets: list[FunnelBucket]


def outcome_names(language: str | None = None) -> dict[str, str]:
    """Return the L1 outcomes' names in the definition's order (the process new tickets start in).

    Several transitions may record one outcome ("Technical question: solved by the first line" and
    "...: escalate to the incident manager"); the outcome is then named by what their names share before
    the colon, so a row holding both does not claim either.
    """
    version = version_for_new_tickets()
    if version is None:
        return {}
    language = language or get_language() or "ru"
    names: dict[str, list[str]] = defaultdict(list)
    for step in process_of(version).transitions:
        if step.outcome:
            names[step.outcome].append(step.name.get(language))
    out: dict[str, str] = {}
    for outcome, texts in names.items():
        heads = {text.split(":", 1)[0].strip() for text in texts}
        out[outcome] = heads.pop() if len(texts) > 1 and len(heads) == 1 else texts[0]
    return out


# -- the statements -------------------------------------------------------------------------------------


def funnel_tickets(
    policy: TicketPolicy, filters: PeriodFilters, tz: dt.tzinfo | None = None
) -> QuerySet[Ticket]:
    """Return the tickets the funnel counts: visible, of the SLA and group, created in the period, in a
    process."""
    start, end = filters.bounds(tz)
    return ticket_scope(policy, filters).filter(
        created_at__gte=start, created_at__lt=end, process__isnull=False
    )


def _duration(later, earlier) -> ExpressionWrapper:
    return ExpressionWrapper(later - earlier, output_field=DurationField())


def _history(rules: ProcessRules) -> Coalesce:
    """Return each ticket's history bits, summed from its moves by one correlated subquery (each tier's and
    each decision's bit counted once: a sum of distinct bits is their union)."""
    moves = Move.objects.filter(ticket_id=OuterRef("pk")).order_by().values("ticket_id")
    mask = (
        Sum(rules.move_tier_bit(), distinct=True)
        + Sum(rules.move_decision_bit(), distinct=True)
        + Max(Value(MOVED))
    )
    subquery = Subquery(moves.annotate(mask=mask).values("mask"), output_field=IntegerField())
    return Coalesce(subquery, Value(0))


def _escalated(rules: ProcessRules) -> Exists:
    moves = Move.objects.filter(ticket_id=OuterRef("pk")).alias(move_tier=rules.move_tier())
    return Exists(moves.filter(move_tier__in=ESCALATION_TIERS))


def _hours(value: dt.timedelta | None) -> float:
    return (value or dt.timedelta()).total_seconds() / 3600


def funnel(
    policy: TicketPolicy,
    filters: PeriodFilters,
    *,
    tz: dt.tzinfo | None = None,
    none_name: str = "—",
    buckets: bool = True,
) -> Funnel:
    """Compute the funnel of the visible tickets created in the period (see the module's docstring)."""
    now = clock.now()
    rules = process_rules()
    tickets = funnel_tickets(policy, filters, tz)
    now_value = Value(now, output_field=DateTimeField())
    closed = Q(closed_at__isnull=False)
    types = {kind: Count("pk", filter=Q(ticket_type=kind)) for kind in TICKET_TYPES}
    groups = (
        tickets.annotate(history=_history(rules), start_tier=rules.start_tier("process__version_id"))
        .values("process__l1_outcome", "start_tier", "history")
        .annotate(
            total=Count("pk"),
            closed=Count("pk", filter=closed),
            awaiting=Count("pk", filter=rules.voting),
            # Used only for the tickets that never moved: they are still in the start state.
            unmoved=Sum(_duration(now_value, F("created_at"))),
            **types,
        )
        .order_by()
    )
    names = outcome_names()
    outcomes: dict[str | None, OutcomeRow] = {}
    stages = dict.fromkeys(STAGES, 0)
    type_counts = dict.fromkeys(TICKET_TYPES, 0)
    changes = dict.fromkeys(CHANGES, 0)
    in_tier = dict.fromkeys(TIERS, 0)
    hours = dict.fromkeys(TIERS, 0.0)
    for grouped in groups:
        group: dict[str, Any] = dict(grouped)
        history, total = group["history"], group["total"]
        escalated = any(history & TIER_BITS[tier] for tier in ESCALATION_TIERS)
        counts = {
            "entered": total,
            "solved_l1": 0 if escalated else group["closed"],
            "open_l1": 0 if escalated else total - group["closed"],
            "escalated": total if escalated else 0,
            "escalated_l2": total if history & TIER_BITS["L2"] else 0,
            "escalated_l3": total if history & TIER_BITS["L3"] else 0,
        }
        key = group["process__l1_outcome"] or None
        row = outcomes.setdefault(key, OutcomeRow(key, names.get(key, key) if key else none_name))
        for name, value in counts.items():
            row.counts[name] += value
            stages[name] += value
        for kind in TICKET_TYPES:
            type_counts[kind] += group[kind]
        changes["approved"] += total if history & APPROVED else 0
        changes["rejected"] += total if history & REJECTED else 0
        changes["awaiting"] += group["awaiting"]
        for tier in TIERS:
            if group["start_tier"] == tier or history & TIER_BITS[tier]:
                in_tier[tier] += total
        if not history & MOVED and group["start_tier"] in hours:
            hours[group["start_tier"]] += _hours(group["unmoved"])
    for tier, spent in _tier_durations(tickets, rules, now).items():
        hours[tier] += spent
    order = list(names)
    rows = sorted(
        outcomes.values(),
        key=lambda r: (r.key is None, order.index(r.key) if r.key in order else len(order), r.key or ""),
    )
    tiers = [
        TierTime(tier, in_tier[tier], hours[tier], hours[tier] / in_tier[tier] if in_tier[tier] else None)
        for tier in TIERS
    ]
    return Funnel(
        stages=stages,
        outcomes=rows,
        types=type_counts,
        changes=changes,
        tiers=tiers,
        buckets=funnel_buckets(tickets, rules, filters, tz) if buckets else [],
    )


def _tier_durations(tickets: QuerySet[Ticket], rules: ProcessRules, now: dt.datetime) -> dict[str, float]:
    """Return the calendar hours the tickets' moves spent in each tier, in one windowed statement.

    A move's interval runs to the ticket's next move (LEAD), or to now when it is the last and the ticket
    is still in the process (a move into a final state counts in no tier). A ticket's first move (no LAG)
    also ends the interval it spent in the start state since it was created.
    """
    by_ticket, in_order = [F("ticket_id")], [F("at").asc(), F("id").asc()]
    moves = Move.objects.filter(ticket_id__in=tickets.values("pk")).annotate(
        move_tier=rules.move_tier(),
        start_tier=rules.start_tier("version_id"),
        next_at=Window(Lead("at"), partition_by=by_ticket, order_by=in_order),
        previous=Window(Lag("id"), partition_by=by_ticket, order_by=in_order),
    )
    moves = moves.annotate(
        own=_duration(Coalesce(F("next_at"), Value(now, output_field=DateTimeField())), F("at")),
        initial=_duration(F("at"), F("ticket__created_at")),
    )
    sums = {f"own_{i}": Sum("own", filter=Q(move_tier=tier)) for i, tier in enumerate(TIERS)}
    sums.update(
        {
            f"initial_{i}": Sum("initial", filter=Q(previous__isnull=True, start_tier=tier))
            for i, tier in enumerate(TIERS)
        }
    )
    totals = moves.aggregate(**sums)
    return {tier: _hours(totals[f"own_{i}"]) + _hours(totals[f"initial_{i}"]) for i, tier in enumerate(TIERS)}


def funnel_buckets(
    tickets: QuerySet[Ticket], rules: ProcessRules, filters: PeriodFilters, tz: dt.tzinfo | None = None
) -> list[FunnelBucket]:
    """Return, per day / week / month of creation, the tickets closed at L1, still at L1 and escalated."""
    escalated = Q(_escalated(rules))
    found: dict[dt.date, dict[str, Any]] = {
        as_day(row["bucket"]): dict(row)
        for row in tickets.annotate(bucket=trunc("created_at", filters.grain, tz))
        .values("bucket")
        .annotate(
            escalated=Count("pk", filter=escalated),
            solved=Count("pk", filter=Q(closed_at__isnull=False) & ~escalated),
            waiting=Count("pk", filter=Q(closed_at__isnull=True) & ~escalated),
        )
        .order_by()
    }
    out = []
    for start in bucket_starts(filters):
        row = found.get(start, {})
        out.append(FunnelBucket(start, row.get("solved", 0), row.get("waiting", 0), row.get("escalated", 0)))
    return out
