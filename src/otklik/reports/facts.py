"""Keep the reports' summary tables current (`facts_refresh`, the periodic job) or compute them again from
scratch (`facts_rebuild`, the `otklik reports rebuild` command); both measure rows with `_measure_*`.

The job reads forward from where it stopped: "answered" steps of the SLA timeline by id, closings by
`closed_at`, process moves by id (each moved ticket's funnel row is computed again from all its moves). A
row written in a transaction that commits late can have a smaller id (or an earlier instant) than rows
already read, so the job re-reads the last `LAG` of history every time; the writes
are idempotent (the answer's step is the fact's key, a closing overwrites the ticket's row), so re-reading
costs a little and misses nothing that committed within `LAG`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from otklik.core import clock
from otklik.reports.funnel import OWN_COLUMNS, ProcessRules, histories_sql, process_rules
from otklik.reports.models import FactsProgress, FunnelFact, ResponseFact, SolveFact
from otklik.sla.models import SlaEvent, SlaEventKind, SlaLevel
from otklik.sla.selectors import working_calendar
from otklik.tickets.models import Ticket, TicketEvent
from otklik.workflow.models import Move

BATCH = 5000
LAG = dt.timedelta(minutes=10)


@dataclass
class RefreshReport:
    """What one run wrote: support answers measured, closings measured, tickets' funnel rows written."""

    responses: int = 0
    solved: int = 0
    funnels: int = 0


def _answers() -> QuerySet:
    """Return the "answered" steps annotated with the clock they stopped: the latest earlier step of the
    same ticket that carried a running clock (its source and deadline), and whether an earlier answer
    exists (the ticket's first answer has none)."""
    running = SlaEvent.objects.filter(
        ticket_id=OuterRef("ticket_id"), pk__lt=OuterRef("pk"), source_at__isnull=False
    ).order_by("-pk")
    earlier_answer = SlaEvent.objects.filter(
        ticket_id=OuterRef("ticket_id"), pk__lt=OuterRef("pk"), kind=SlaEventKind.ANSWERED
    )
    return (
        SlaEvent.objects.filter(kind=SlaEventKind.ANSWERED)
        .annotate(
            clock_source=Subquery(running.values("source_at")[:1]),
            clock_deadline=Subquery(running.values("deadline_at")[:1]),
            answered_before=Exists(earlier_answer),
            sla_id=F("ticket__sla_id"),
        )
        .filter(clock_source__isnull=False)
        .values("pk", "ticket_id", "at", "clock_source", "clock_deadline", "answered_before", "sla_id")
    )


def _slas(ids: set[int]) -> dict[int, SlaLevel]:
    return {s.pk: s for s in SlaLevel.objects.filter(pk__in=ids).select_related("timetable")}


def _calendar(slas: dict[int, SlaLevel], sla_id: int | None):
    return working_calendar(slas.get(sla_id) if sla_id is not None else None)


def _measure_responses(rows: list[dict]) -> list[ResponseFact]:
    """Return the facts of answered steps (rows of `_answers()`), in working time of each ticket's SLA."""
    slas = _slas({r["sla_id"] for r in rows if r["sla_id"] is not None})
    facts = []
    for r in rows:
        calendar = _calendar(slas, r["sla_id"])
        source, answered, deadline = r["clock_source"], r["at"], r["clock_deadline"]
        late = 0
        if deadline is not None and answered > deadline:
            late = max(calendar.between(deadline, answered), 0)
        facts.append(
            ResponseFact(
                event_id=r["pk"],
                ticket_id=r["ticket_id"],
                sla_id=r["sla_id"],
                first=not r["answered_before"],
                source_at=source,
                answered_at=answered,
                deadline_at=deadline,
                working_seconds=max(calendar.between(source, answered), 0),
                calendar_seconds=max(int((answered - source).total_seconds()), 0),
                within=None if deadline is None else answered <= deadline,
                late_working_seconds=late,
            )
        )
    return facts


def _measure_solved(rows: list[dict]) -> list[SolveFact]:
    """Return the facts of closed tickets (pk, sla_id, created_at, closed_at): creation to closing."""
    slas = _slas({r["sla_id"] for r in rows if r["sla_id"] is not None})
    return [
        SolveFact(
            ticket_id=r["pk"],
            sla_id=r["sla_id"],
            closed_at=r["closed_at"],
            working_seconds=max(_calendar(slas, r["sla_id"]).between(r["created_at"], r["closed_at"]), 0),
            calendar_seconds=max(int((r["closed_at"] - r["created_at"]).total_seconds()), 0),
        )
        for r in rows
    ]


def _save_responses(facts: list[ResponseFact]) -> None:
    ResponseFact.objects.bulk_create(facts, ignore_conflicts=True)


def _save_solved(facts: list[SolveFact]) -> None:
    SolveFact.objects.bulk_create(
        facts,
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["sla", "closed_at", "working_seconds", "calendar_seconds"],
    )


_SOLVED_COLUMNS = ("pk", "sla_id", "created_at", "closed_at")
_FUNNEL_COLUMNS = (
    "created_at",
    "mask",
    "first_at",
    "last_at",
    "last_tier",
    *OWN_COLUMNS,
)


def _save_funnels(moves: QuerySet[Move], rules: ProcessRules) -> int:
    """Write (or overwrite) the funnel rows of the tickets of `moves` (every move of each) in one statement
    inside the database (INSERT … SELECT … ON CONFLICT, read alike by SQLite and PostgreSQL)."""
    q = connection.ops.quote_name
    sql, params = histories_sql(moves, rules)
    sources = _FUNNEL_COLUMNS[1:]  # all but the creation, which comes from the ticket
    targets = ", ".join(q(c) for c in ("ticket_id", *_FUNNEL_COLUMNS))
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in _FUNNEL_COLUMNS)
    tickets = q(Ticket._meta.db_table)
    # "WHERE 1 = 1": SQLite would read ON CONFLICT as the join condition of the SELECT's FROM otherwise.
    statement = (
        f"INSERT INTO {q(FunnelFact._meta.db_table)} ({targets}) "
        f"SELECT h.{q('ticket_id')}, t.{q('created_at')}, {', '.join(f'h.{q(c)}' for c in sources)} "
        f"FROM ({sql}) h JOIN {tickets} t ON t.{q('id')} = h.{q('ticket_id')} WHERE 1 = 1 "
        f"ON CONFLICT ({q('ticket_id')}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(cursor.rowcount, 0)


def _refresh_funnels(progress: FactsProgress, settled: dt.datetime, batch: int) -> int:
    """Write the funnel rows of the tickets moved after the mark, `batch` tickets per statement."""
    top = Move.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if top <= progress.last_move_id:
        return 0
    new = Move.objects.filter(pk__gt=progress.last_move_id, pk__lte=top)
    moved = sorted(set(new.values_list("ticket_id", flat=True)))
    rules = process_rules()
    written = 0
    for first in range(0, len(moved), batch):
        with transaction.atomic():
            written += _save_funnels(Move.objects.filter(ticket_id__in=moved[first : first + batch]), rules)
    _advance_moves(progress, top, settled)
    return written


def facts_refresh(*, batch: int = BATCH) -> RefreshReport:
    """Measure the answers and closings written since the last run (the periodic job, every minute)."""
    report = RefreshReport()
    now = clock.now()
    progress, _created = FactsProgress.objects.get_or_create(pk=1)
    settled = now - LAG
    # Answers: forward by id; the last LAG of steps is read again (see the module's docstring).
    last_id = progress.last_event_id
    while True:
        rows = list(_answers().filter(pk__gt=last_id).order_by("pk")[:batch])
        if not rows:
            break
        facts = _measure_responses(rows)
        with transaction.atomic():
            _save_responses(facts)
        report.responses += len(facts)
        last_id = rows[-1]["pk"]
        if len(rows) < batch:
            break
    _advance_answers(progress, last_id, settled)
    # Closings: forward by closed_at, leaving out tickets whose row already has this closing.
    since = (
        progress.last_closed_at - LAG if progress.last_closed_at else dt.datetime.min.replace(tzinfo=dt.UTC)
    )
    same = SolveFact.objects.filter(ticket_id=OuterRef("pk"), closed_at=OuterRef("closed_at"))
    pending = (
        Ticket.objects.filter(closed_at__gte=since)
        .exclude(Exists(same))
        .order_by("closed_at", "pk")
        .values(*_SOLVED_COLUMNS)
    )
    while True:
        rows = list(pending[:batch])
        if not rows:
            break
        with transaction.atomic():
            _save_solved(_measure_solved(rows))
        report.solved += len(rows)
        if len(rows) < batch:
            break
    # Reopenings: a ticket that is open again loses its row (a rebuild measures closed tickets only), so
    # the reports read the closings without joining the tickets to check.
    changed = TicketEvent.objects.filter(field="closed", at__gte=since).values("ticket_id")
    SolveFact.objects.filter(ticket_id__in=changed, ticket__closed_at__isnull=True).delete()
    _advance_closings(progress, settled)
    report.funnels = _refresh_funnels(progress, settled, batch)
    progress.updated_at = now
    progress.save()
    return report


def _settled_mark(rows: QuerySet, mark: int, read_up_to: int, settled: dt.datetime) -> int:
    """Return the id mark after reading `rows` (ids, instants `at`) from `mark` up to `read_up_to`: the last
    id before which every row read is older than `settled`, so the newer ones are read again next time."""
    unsettled = (
        rows.filter(pk__gt=mark, pk__lte=read_up_to, at__gte=settled)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return read_up_to if unsettled is None else max(unsettled - 1, mark)


def _advance_answers(progress: FactsProgress, read_up_to: int, settled: dt.datetime) -> None:
    """Move the answers' mark past the steps read, up to the first one not yet settled."""
    answers = SlaEvent.objects.filter(kind=SlaEventKind.ANSWERED)
    progress.last_event_id = _settled_mark(answers, progress.last_event_id, read_up_to, settled)


def _advance_moves(progress: FactsProgress, read_up_to: int, settled: dt.datetime) -> None:
    """Move the moves' mark past the moves read, up to the first one not yet settled."""
    progress.last_move_id = _settled_mark(Move.objects.all(), progress.last_move_id, read_up_to, settled)


def _advance_closings(progress: FactsProgress, settled: dt.datetime) -> None:
    """Move the closings' mark to the newest closing older than `settled`."""
    newest = (
        Ticket.objects.filter(closed_at__lt=settled)
        .order_by("-closed_at")
        .values_list("closed_at", flat=True)
        .first()
    )
    if newest is not None and (progress.last_closed_at is None or newest > progress.last_closed_at):
        progress.last_closed_at = newest


def facts_rebuild(*, batch: int = BATCH) -> RefreshReport:
    """Compute every fact again from the SLA timeline and the tickets, replacing what the tables hold."""
    report = RefreshReport()
    with transaction.atomic():
        ResponseFact.objects.all().delete()
        SolveFact.objects.all().delete()
        FunnelFact.objects.all().delete()
        FactsProgress.objects.all().delete()
    last_id = 0
    while True:
        rows = list(_answers().filter(pk__gt=last_id).order_by("pk")[:batch])
        if not rows:
            break
        _save_responses(_measure_responses(rows))
        report.responses += len(rows)
        last_id = rows[-1]["pk"]
    last_pk = 0
    closed = Ticket.objects.filter(closed_at__isnull=False).order_by("pk").values(*_SOLVED_COLUMNS)
    while True:
        rows = list(closed.filter(pk__gt=last_pk)[:batch])
        if not rows:
            break
        _save_solved(_measure_solved(rows))
        report.solved += len(rows)
        last_pk = rows[-1]["pk"]
    # Funnel rows by ranges of tickets (each statement reads its tickets' moves by the ticket index).
    top_move = Move.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    moved = Move.objects.filter(pk__lte=top_move)
    rules = process_rules()
    low = moved.order_by("ticket_id").values_list("ticket_id", flat=True).first()
    high = moved.order_by("-ticket_id").values_list("ticket_id", flat=True).first()
    span = batch * 4  # most tickets have moves: a range of ids holds about as many tickets
    while low is not None and high is not None and low <= high:
        report.funnels += _save_funnels(moved.filter(ticket_id__gte=low, ticket_id__lt=low + span), rules)
        low += span
    # The marks go past what was just measured; the next run re-reads only the last LAG.
    progress = FactsProgress(pk=1, updated_at=clock.now())
    _advance_answers(progress, last_id, clock.now() - LAG)
    _advance_closings(progress, clock.now() - LAG)
    _advance_moves(progress, top_move, clock.now() - LAG)
    progress.save()
    return report
