"""The three-tier funnel (F-25, F-30): where the tickets created in a period went in the support process.

Of the tickets that entered the process: how many were closed at the first line without escalation (by L1
outcome), how many still wait there, how many were escalated to L2 and to L3, how many became accidents,
incidents and change requests, how the change board decided, and how long tickets spent in each tier.

The database does the counting, in one statement (besides reading the process versions and the job's
mark) whatever the data: the tickets created in the period, joined to what their moves say, per ticket:
its history (a small bit mask: reached L1 / L2 / L3 by a move, approved, rejected), its first and last
moves' times and the time it spent in each tier (each move's interval runs to the next move, by the LEAD
window function, the last one to now in the tier it left the ticket in), grouped by (L1 outcome, tier of
the start state, day / week / month of creation, history). The groups are at most outcomes × buckets × a
few masks; they are summed here into the report. What the moves say is kept per ticket in
`reports.FunnelFact` by the periodic job (`reports.facts`), so a month at a million tickets does not read
and sort millions of moves; the tickets moved after the job's mark are read from their moves, so the
report is exact whatever the job's delay.

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

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Lead
from django.utils.translation import get_language

from otklik.core import clock
from otklik.core.db_routing import read_connection
from otklik.reports.models import FactsProgress, FunnelFact
from otklik.reports.period import Buckets, PeriodFilters, bucket_starts, ticket_scope
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
# The bits of a ticket's history (one per tier reached by a move, then the board's decisions).
TIER_BITS = {tier: 1 << index for index, tier in enumerate(TIERS)}
APPROVED = 1 << len(TIERS)
REJECTED = APPROVED << 1
# The time spent in each tier between moves, as the history statement and `FunnelFact` name it.
OWN_COLUMNS = tuple(f"own_{tier.lower()}" for tier in TIERS)


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

    def move_decision(self) -> Case:
        """Return the board's decision a move took ("approve", "reject", or "")."""
        whens = [When(condition, then=Value(decision)) for condition, decision in self.decisions]
        return Case(*whens, default=Value(""), output_field=CharField())

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


def period_tickets(
    policy: TicketPolicy, filters: PeriodFilters, tz: dt.tzinfo | None = None
) -> QuerySet[Ticket]:
    """Return the visible tickets of the SLA and group created in the period (the moves' scope: a ticket
    outside any process has no moves, so the join to its place is spared)."""
    start, end = filters.bounds(tz)
    return ticket_scope(policy, filters).filter(created_at__gte=start, created_at__lt=end)


def _duration(later, earlier) -> ExpressionWrapper:
    return ExpressionWrapper(later - earlier, output_field=DurationField())


def histories_sql(moves: QuerySet[Move], rules: ProcessRules) -> tuple[str, tuple]:
    """Return the statement giving, per ticket, what its moves (of `moves`) say, in one pass over them.

    Inside, the ORM's statement over the moves: each move's tier and decision, and the ticket's next move
    (LEAD). Around it, per ticket: the history bits (each tier's and decision's bit set when any move has
    it: the sum of the bits' maxima is their union), the first and the last move's instants, the tier the
    last move left the ticket in, and the time spent in each tier from a move to the next one. Columns:
    ticket_id, mask, first_at, last_at, last_tier, own_l1, own_l2, own_l3 (`OWN_COLUMNS`, as `FunnelFact`'s).
    """
    q = connection.ops.quote_name
    in_order = [F("at").asc(), F("id").asc()]
    rows = (
        moves.order_by()  # the window orders; a sort by the model's ordering would undo the grouping's order
        .annotate(
            w_tier=rules.move_tier(),
            w_decision=rules.move_decision(),
            w_next=Window(Lead("at"), partition_by=[F("ticket_id")], order_by=in_order),
        )
        .annotate(w_own=_duration(F("w_next"), F("at")))
        .values("ticket_id", "at", "w_tier", "w_decision", "w_next", "w_own")
    )
    moves_sql, moves_params = rows.query.sql_with_params()
    tier, decision = f"w.{q('w_tier')}", f"w.{q('w_decision')}"
    # Each bit is the largest of its moves' (0 or the bit): a union without SUM(DISTINCT …), which made
    # PostgreSQL sort every ticket's few moves twice more.
    bits = " + ".join(
        f"MAX(CASE WHEN {column} = %s THEN {bit} ELSE 0 END)"
        for column, bit in (
            *((tier, bit) for bit in TIER_BITS.values()),
            (decision, APPROVED),
            (decision, REJECTED),
        )
    )
    sql = (
        f"SELECT w.{q('ticket_id')} AS {q('ticket_id')}, {bits} AS {q('mask')}, "
        f"MIN(w.{q('at')}) AS {q('first_at')}, MAX(w.{q('at')}) AS {q('last_at')}, "
        f"MAX(CASE WHEN w.{q('w_next')} IS NULL THEN {tier} END) AS {q('last_tier')}, "
        + ", ".join(
            f"SUM(CASE WHEN {tier} = %s THEN w.{q('w_own')} END) AS {q(column)}" for column in OWN_COLUMNS
        )
        + f" FROM ({moves_sql}) w GROUP BY w.{q('ticket_id')}"
    )
    return sql, (*TIER_BITS, "approve", "reject", *TIERS, *moves_params)


def _tickets_sql(
    tickets: QuerySet[Ticket], rules: ProcessRules, buckets: Buckets, now: dt.datetime
) -> tuple[str, tuple]:
    """Return the statement giving each ticket's row: its outcome, start tier, bucket and 0/1 flags."""

    def flag(condition: Q) -> Case:
        return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())

    columns = {
        "f_outcome": F("process__l1_outcome"),
        "f_start_tier": rules.start_tier("process__version_id"),
        "f_bucket": buckets.of("created_at"),
        "f_created": F("created_at"),
        "f_closed": flag(Q(closed_at__isnull=False)),
        "f_awaiting": flag(rules.voting),
        **{f"f_type_{kind}": flag(Q(ticket_type=kind)) for kind in TICKET_TYPES},
        # Used only for the tickets that never moved: they are still in the start state.
        "f_unmoved": _duration(Value(now, output_field=DateTimeField()), F("created_at")),
    }
    rows = tickets.order_by().annotate(f_ticket=F("pk"), **columns).values("f_ticket", *columns)
    return rows.query.sql_with_params()


def _moved_since_summary() -> QuerySet[Move]:
    """Return the moves the summary table does not hold yet (newer than the job's mark)."""
    mark = FactsProgress.objects.filter(pk=1).values_list("last_move_id", flat=True).first() or 0
    return Move.objects.filter(pk__gt=mark)


def _groups(
    tickets: QuerySet[Ticket],
    rules: ProcessRules,
    filters: PeriodFilters,
    tz: dt.tzinfo | None,
    now: dt.datetime,
    buckets: Buckets,
) -> list[dict[str, Any]]:
    """Count the tickets and sum their times per (outcome, start tier, bucket, history), in one statement.

    A ticket's history comes from its `FunnelFact` row, or, when it moved after the job's mark, from its
    moves read now (`histories_sql`, "l" below: the last minutes' tickets, a few); the fact row is joined
    only when the moves are not. The time since the last move counts up to `now` in the tier that move
    left the ticket in. The derived tables and joins are plain SQL that SQLite and PostgreSQL read alike
    around the ORM's statements (a correlated subquery per ticket cost several times as much).
    """
    q = connection.ops.quote_name
    in_process = tickets.filter(process__isnull=False)  # what the funnel counts: the tickets in a process
    ticket_sql, ticket_params = _tickets_sql(in_process, rules, buckets, now)
    moved_lately = _moved_since_summary().filter(ticket_id__in=tickets.values("pk")).values("ticket_id")
    live_sql, live_params = histories_sql(Move.objects.filter(ticket_id__in=moved_lately), rules)
    fact = FunnelFact._meta.db_table

    def either(column: str) -> str:
        return f"COALESCE(l.{q(column)}, f.{q(column)})"

    mask, first_at, last_at, last_tier = (either(c) for c in ("mask", "first_at", "last_at", "last_tier"))
    moved = f"(l.{q('ticket_id')} IS NOT NULL OR f.{q('ticket_id')} IS NOT NULL)"
    keys = [f"t.{q(name)}" for name in ("f_outcome", "f_start_tier", "f_bucket")] + [f"COALESCE({mask}, 0)"]
    # The time in the start state: creation to the first move; the last move's tier: its move to now.
    in_start_state, _none = connection.ops.subtract_temporals(
        "DateTimeField", (first_at, ()), (f"t.{q('f_created')}", ())
    )
    since_last, since_params = connection.ops.subtract_temporals(
        "DateTimeField", ("%s", (connection.ops.adapt_datetimefield_value(now),)), (last_at, ())
    )
    flags = ["f_closed", "f_awaiting", *(f"f_type_{kind}" for kind in TICKET_TYPES)]
    columns = [
        *keys,
        "COUNT(*)",
        *(f"SUM(t.{q(name)})" for name in flags),
        f"SUM({in_start_state})",
        f"SUM(CASE WHEN NOT {moved} THEN t.{q('f_unmoved')} END)",
        *(f"SUM({either(column)})" for column in OWN_COLUMNS),
        *(f"SUM(CASE WHEN {last_tier} = %s THEN {since_last} END)" for _tier in TIERS),
    ]
    column_params = [p for tier in TIERS for p in (tier, *since_params)]
    # The summary rows of the period's tickets only (a row carries its ticket's creation), by the index.
    period = [connection.ops.adapt_datetimefield_value(instant) for instant in filters.bounds(tz)]
    sql = " ".join(
        [
            f"SELECT {', '.join(columns)}",
            f"FROM ({ticket_sql}) t",
            f"LEFT JOIN ({live_sql}) l ON l.{q('ticket_id')} = t.{q('f_ticket')}",
            f"LEFT JOIN (SELECT * FROM {q(fact)} WHERE {q('created_at')} >= %s AND {q('created_at')} < %s) f",
            f"ON f.{q('ticket_id')} = t.{q('f_ticket')} AND l.{q('ticket_id')} IS NULL",
            f"GROUP BY {', '.join(keys)}",
        ]
    )
    names = (
        *("outcome", "start_tier", "bucket", "history", "total", "closed", "awaiting"),
        *(*TICKET_TYPES, "initial", "unmoved"),
        *(f"own_{tier}" for tier in TIERS),
        *(f"open_{tier}" for tier in TIERS),
    )
    with read_connection().cursor() as cursor:
        cursor.execute(sql, (*column_params, *ticket_params, *live_params, *period))
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _hours(value: dt.timedelta | int | None) -> float:
    """Return hours of a duration (SQLite hands a raw sum of durations back as microseconds)."""
    if isinstance(value, int):
        value = dt.timedelta(microseconds=value)
    return (value or dt.timedelta()).total_seconds() / 3600


def funnel(
    policy: TicketPolicy,
    filters: PeriodFilters,
    *,
    tz: dt.tzinfo | None = None,
    none_name: str = "—",
) -> Funnel:
    """Compute the funnel of the visible tickets created in the period (see the module's docstring)."""
    now = clock.now()
    rules = process_rules()
    tickets = period_tickets(policy, filters, tz)
    names = outcome_names()
    outcomes: dict[str | None, OutcomeRow] = {}
    stages = dict.fromkeys(STAGES, 0)
    type_counts = dict.fromkeys(TICKET_TYPES, 0)
    changes = dict.fromkeys(CHANGES, 0)
    in_tier = dict.fromkeys(TIERS, 0)
    hours = dict.fromkeys(TIERS, 0.0)
    buckets: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
    in_buckets = Buckets(filters, tz)
    for group in _groups(tickets, rules, filters, tz, now, in_buckets):
        history, total, closed = int(group["history"]), int(group["total"]), int(group["closed"])
        escalated = any(history & TIER_BITS[tier] for tier in ESCALATION_TIERS)
        counts = {
            "entered": total,
            "solved_l1": 0 if escalated else closed,
            "open_l1": 0 if escalated else total - closed,
            "escalated": total if escalated else 0,
            "escalated_l2": total if history & TIER_BITS["L2"] else 0,
            "escalated_l3": total if history & TIER_BITS["L3"] else 0,
        }
        key = group["outcome"] or None
        row = outcomes.setdefault(key, OutcomeRow(key, names.get(key, key) if key else none_name))
        for name, value in counts.items():
            row.counts[name] += value
            stages[name] += value
        bucket = buckets[in_buckets.day(group["bucket"])]
        for index, name in enumerate(("solved_l1", "open_l1", "escalated")):
            bucket[index] += counts[name]
        for kind in TICKET_TYPES:
            type_counts[kind] += int(group[kind])
        changes["approved"] += total if history & APPROVED else 0
        changes["rejected"] += total if history & REJECTED else 0
        changes["awaiting"] += int(group["awaiting"])
        for tier in TIERS:
            if group["start_tier"] == tier or history & TIER_BITS[tier]:
                in_tier[tier] += total
        if group["start_tier"] in hours:  # creation to the first move, or to now for the unmoved
            hours[group["start_tier"]] += _hours(group["initial"]) + _hours(group["unmoved"])
        for tier in TIERS:
            hours[tier] += _hours(group[f"own_{tier}"]) + _hours(group[f"open_{tier}"])
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
        buckets=[FunnelBucket(day, *buckets.get(day, (0, 0, 0))) for day in bucket_starts(filters)],
    )
