"""Every periodic job of Otklik, in one place (ARCHITECTURE.md rule 10).

The job bodies live in their apps; this module only says when each runs, under which lock, and why.
It sits above every layer (like `otklik.urls`) and is loaded by the consumer through `otklik.web.tasks`,
the top app's tasks module, which `run_huey` (and so `otklik worker` and `otklik start`) imports at start.

Every consumer's scheduler queues every periodic job (issue 19: several workers): each queued copy
carries the minute it was queued for, and runs only after claiming that slot (`otklik.core.periodic`),
so a job runs once per scheduled minute whichever consumer queued it, and never in two consumers at
once (the job's lease, named by `lock`). A consumer killed mid-job holds its job for at most the lease.
A job called directly (a test, a shell: no slot) runs without a claim.

Each job is declared with `every(cron, lock=..., why=...)`; `SCHEDULE` lists them for the tests and
for anyone reading: a new periodic job goes here, with its reason, and nowhere else.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from huey import crontab
from huey.api import TaskWrapper
from huey.contrib.djhuey import HUEY, db_periodic_task
from huey.exceptions import RetryTask

from otklik.automation.tasks import rules_pending_job
from otklik.core import clock
from otklik.core.periodic import Claim, periodic_slot_claim, periodic_slot_finish
from otklik.mail.transports import mailboxes_poll_all
from otklik.notifications.services import notifications_prune
from otklik.notifications.tasks import outbox_sweep
from otklik.reports.facts import facts_refresh
from otklik.tickets.services.recompute import deadlines_recompute, deadlines_recompute_stale
from otklik.tickets.services.sla_tick import sla_tick

log = logging.getLogger(__name__)


# The keyword argument carrying a queued copy's scheduled minute (ISO 8601, UTC).
SLOT_KWARG = "slot"
# How long a run may hold its job before another consumer may take the job over (a killed consumer).
DEFAULT_LEASE = timedelta(minutes=5)
# A copy finding another slot of its job still running tries again this often, while its own minute is
# this recent; later, the next slot does the work (the jobs are sweeps: a later run covers an earlier one).
BUSY_RETRY_SECONDS = 2
BUSY_RETRY_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class Job:
    """One periodic job: when it runs (crontab fields), its lease's name, and why it exists."""

    task: TaskWrapper
    cron: str
    lock: str
    why: str


SCHEDULE: list[Job] = []


def every(
    cron: str, *, lock: str, why: str, lease: timedelta = DEFAULT_LEASE
) -> Callable[[Callable[[], Any]], TaskWrapper]:
    """Register the function as a periodic Huey job run once per slot; `cron` is "minute hour day month weekday"."""
    minute, hour, day, month, day_of_week = cron.split()

    def decorator(fn: Callable[[], Any]) -> TaskWrapper:
        task = db_periodic_task(crontab(minute, hour, day, month, day_of_week))(
            _once_per_slot(lock, lease, fn)
        )
        task.task_class.validate_datetime = _stamping_slot(task.task_class.validate_datetime)
        SCHEDULE.append(Job(task=task, cron=cron, lock=lock, why=why))
        return task

    return decorator


def slot_of(timestamp: datetime) -> str:
    """Return the minute Huey's scheduler checked the crontab at, as the slot a queued copy carries.

    Huey passes a naive datetime, in UTC when the Huey instance is (the default), else local time.
    """
    aware = timestamp.replace(tzinfo=UTC) if HUEY.utc else timestamp.astimezone(UTC)
    return aware.replace(second=0, microsecond=0).isoformat()


def _stamping_slot(validate: Callable[[Any, datetime], bool]) -> Callable[[Any, datetime], bool]:
    """Wrap a periodic task class's crontab check so the copy it lets the scheduler queue carries its slot.

    The scheduler (`read_periodic`) makes a fresh task object per check and queues exactly those the
    check accepts: the one place that knows both the task and the minute it is queued for.
    """

    def validate_datetime(task: Any, timestamp: datetime) -> bool:
        if not validate(task, timestamp):
            return False
        task.kwargs = {**task.kwargs, SLOT_KWARG: slot_of(timestamp)}
        return True

    return validate_datetime


def _once_per_slot(job: str, lease: timedelta, fn: Callable[[], Any]) -> Callable[..., Any]:
    """Return `fn` run only by the copy that claims its slot; called without a slot, `fn` just runs."""

    @functools.wraps(fn)
    def run(slot: str | None = None) -> Any:
        if slot is None:
            return fn()
        at = datetime.fromisoformat(slot)
        claim, held = periodic_slot_claim(job=job, slot=at, lease=lease)
        if claim is Claim.BUSY:
            if clock.now() - at < BUSY_RETRY_WINDOW:
                raise RetryTask(delay=BUSY_RETRY_SECONDS)
            log.warning("periodic job %s skipped slot %s: an earlier run still holds the job", job, slot)
            return None
        if claim is Claim.DONE or held is None:
            log.debug("periodic job %s slot %s was run by another copy", job, slot)
            return None
        started = time.monotonic()
        try:
            return fn()
        finally:
            periodic_slot_finish(held)
            log.info("periodic job %s ran for slot %s in %.3f s", job, slot, time.monotonic() - started)

    return run


@every(
    "* * * * *",
    lock="otklik-sla-tick",
    why="Every minute: reminders due, overdue tickets and auto-close of silent tickets (F-08, F-02).",
)
def sla_tick_task() -> None:
    """Run the SLA tick; log what it did when it did anything."""
    report = sla_tick()
    if report.reminders or report.overdue or report.auto_closed:
        log.info(
            "SLA tick: %d reminders, %d overdue, %d auto-closed",
            report.reminders,
            report.overdue,
            report.auto_closed,
        )


@every(
    "* * * * *",
    lock="otklik-outbox-sweep",
    why="Every minute: re-send what is still waiting or was left half-sent by a worker that died (rule 4).",
)
def outbox_sweep_task() -> int:
    """Queue delivery of every due outbox row; return how many rows were due."""
    return outbox_sweep()


@every(
    "* * * * *",
    lock="otklik-mail-poll",
    why="Every minute: fetch new mail from every active IMAP and POP3 mailbox (F-15), one mailbox after "
    "another under one lock, so two consumers never fetch the same mailbox at once.",
)
def mail_poll_all_task() -> int:
    """Poll every active polled mailbox, then process stored mail whose processing never ran."""
    return mailboxes_poll_all()


@every(
    "*/5 * * * *",
    lock="otklik-deadlines-recompute-sweep",
    why="Every 5 minutes: finish deadline recomputations (after an SLA or calendar change) whose worker "
    "died; a job nothing advanced for 5 minutes is run again, which is safe as the job is idempotent.",
)
def deadlines_recompute_sweep_task() -> None:
    """Run again every deadline recomputation left unfinished."""
    for job_id in deadlines_recompute_stale():
        log.info("deadline recomputation %s was left unfinished; running it again", job_id)
        deadlines_recompute(job_id=job_id)


@every(
    "* * * * *",
    lock="otklik-report-facts",
    why="Every minute: measure new support answers and closings in working hours of their SLA, so the SLA "
    "compliance and response-time reports only group integers (issue 16).",
)
def report_facts_task() -> None:
    """Refresh the reports' summary tables; log what was measured."""
    report = facts_refresh()
    if report.responses or report.solved or report.funnels:
        log.info(
            "Report facts: %d answers, %d closings, %d tickets' moves measured",
            report.responses,
            report.solved,
            report.funnels,
        )


@every(
    "17 3 * * *",
    lock="otklik-notifications-prune",
    why="Daily at 03:17: delete in-app notifications read more than 30 days ago and any older than a year, "
    "so the bell's table stays small (issue 17).",
)
def notifications_prune_task() -> int:
    """Prune old in-app notifications; log how many went."""
    deleted = notifications_prune()
    if deleted:
        log.info("Notifications prune: %d in-app notifications deleted", deleted)
    return deleted


@every(
    "*/5 * * * *",
    lock="otklik-rules-pending",
    why='Every 5 minutes: automation rules "pending for N working hours" fire on the tickets that have '
    "waited that long for the client since support's last answer, once per waiting period (P6).",
)
def rules_pending_task() -> int:
    """Run the time-based automation rules that are due."""
    return rules_pending_job()
