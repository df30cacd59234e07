"""Compute open tickets' deadlines again after an SLA configuration change (F-08), set-based.

An SLA level's response or reminder time, its timetable or an exception changed: every open ticket of
that SLA whose clock runs gets the deadline the new configuration gives from the same source instant.
Work goes in batches of tickets by id; per batch a constant number of statements whatever its size:
one SELECT (locking the rows on PostgreSQL), the deadlines computed in Python with the cached working
calendar (a bisection each, cheap), one UPDATE of the changed rows, one INSERT ... SELECT of their
"recomputed" timeline steps, one UPDATE of the job's progress. Overdue tickets keep their deadline
until support answers (F-08); paused ones have none to move.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Cast

from otklik.core import clock
from otklik.sla.models import DeadlineRecompute, SlaEventKind, SlaLevel
from otklik.sla.selectors import deadline_for
from otklik.tickets.models import Ticket
from otklik.tickets.services.timeline import timeline_steps_insert

log = logging.getLogger(__name__)

# Tickets per batch: one UPDATE carries two CASE branches per ticket, well within SQLite's 999 variables
# at any batch size Django splits nothing; 200 keeps each transaction (and its row locks) short.
RECOMPUTE_BATCH = 200


def _concerned(sla_ids: list[int]):
    """Open tickets of these SLA levels whose clock runs and may move (not overdue, not paused)."""
    return Ticket.objects.filter(
        sla_id__in=sla_ids,
        closed_at__isnull=True,
        awaits_support=True,
        is_overdue=False,
        sla_paused_at__isnull=True,
        deadline_source_at__isnull=False,
    )


def deadlines_recompute(*, job_id: int, batch_size: int = RECOMPUTE_BATCH) -> int:
    """Run the recomputation `job_id` to its end; return how many tickets got a new deadline.

    Idempotent: a finished job does nothing, and running an unfinished one again (after a crash) goes
    through its tickets once more, changing only those whose deadline still differs.
    """
    job = DeadlineRecompute.objects.filter(pk=job_id).first()
    if job is None or job.finished_at is not None:
        return 0
    levels = {sla.pk: sla for sla in SlaLevel.objects.filter(pk__in=job.sla_ids).select_related("timetable")}
    concerned = _concerned(list(levels))
    total = concerned.count()
    DeadlineRecompute.objects.filter(pk=job.pk).update(total=total, done=0, changed=0, updated_at=clock.now())
    after = 0
    changed = 0
    while True:
        with transaction.atomic():
            rows = list(
                concerned.filter(pk__gt=after)
                .order_by("pk")
                .select_for_update()
                .values_list(
                    "pk", "sla_id", "deadline_source_at", "sla_paused_seconds", "deadline_at", "reminder_at",
                    "reminder_sent",
                )[:batch_size]
            )  # fmt: skip
            if not rows:
                break
            after = rows[-1][0]
            changed += _batch_write(rows, levels, job)
        if len(rows) < batch_size:
            break
    DeadlineRecompute.objects.filter(pk=job.pk).update(
        done=total, changed=changed, updated_at=clock.now(), finished_at=clock.now()
    )
    log.info("deadlines recomputed (%s): %d of %d tickets changed", job.reason, changed, total)
    return changed


def _batch_write(rows: list[tuple], levels: dict[int, SlaLevel], job: DeadlineRecompute) -> int:
    """Write the batch's new deadlines and timeline steps; return how many tickets changed."""
    now = clock.now()
    new: dict[int, tuple[datetime | None, datetime | None, bool]] = {}
    for pk, sla_id, source, paused, deadline_was, reminder_was, sent in rows:
        deadline, reminder = deadline_for(levels[sla_id], source, extra_seconds=paused)
        if deadline == deadline_was and reminder == reminder_was:
            continue
        # A reminder moved into the future is due again; one still past stays as it was.
        new[pk] = (deadline, reminder, bool(sent and reminder is not None and reminder <= now))
    if new:
        ids = list(new)
        Ticket.objects.filter(pk__in=ids).update(
            deadline_at=_case(new, 0, DateTimeField()),
            reminder_at=_case(new, 1, DateTimeField()),
            reminder_sent=Case(
                When(pk__in=[pk for pk, v in new.items() if v[2]], then=Value(True)), default=Value(False)
            ),
        )

        timeline_steps_insert(
            Ticket.objects.filter(pk__in=ids), kind=SlaEventKind.RECOMPUTED, now=now, reason=job.reason
        )
    DeadlineRecompute.objects.filter(pk=job.pk).update(
        done=F("done") + len(rows), changed=F("changed") + len(new), updated_at=now
    )
    return len(new)


def _case(new: dict, index: int, field):
    case = Case(
        *[When(pk=pk, then=Value(values[index], output_field=field)) for pk, values in new.items()],
        default=Value(None, output_field=field),
        output_field=field,
    )
    # As bulk_update does: PostgreSQL types a CASE of parameters as text unless told otherwise.
    return Cast(case, output_field=field) if connection.features.requires_casted_case_in_updates else case


def deadlines_recompute_stale(*, idle_seconds: int = 300) -> list[int]:
    """Return unfinished jobs nobody advanced for `idle_seconds` (their worker died): to run again."""
    limit = clock.now() - timedelta(seconds=idle_seconds)
    stale = DeadlineRecompute.objects.filter(finished_at__isnull=True, created_at__lt=limit).filter(
        Q(updated_at__isnull=True) | Q(updated_at__lt=limit)
    )
    return list(stale.order_by("pk").values_list("pk", flat=True))
