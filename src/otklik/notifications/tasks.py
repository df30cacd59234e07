"""Background delivery of the outbox, run by the Huey consumer (`otklik worker`, or in `otklik start`)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from otklik.core import clock
from otklik.notifications.delivery import next_retry_at, outbox_deliver, outbox_due_ids

log = logging.getLogger(__name__)
# After its own rows, a delivery takes up to this many other due rows over the same connection.
DRAIN = 1000
SWEEP_CHUNK = 100


@db_task()
def outbox_deliver_task(ids: list[int]) -> int:
    """Send the given outbox rows (and other due ones); schedule the next try of those that failed."""
    report = outbox_deliver(ids, drain=DRAIN)
    if report.retried:
        due = next_retry_at()
        delay = max((due - clock.now()).total_seconds(), 1) if due else 60
        outbox_deliver_task.schedule(args=(report.retried,), delay=delay)
    return len(report.sent)


# Every minute: re-send what is still waiting or was left half-sent by a worker that died (rule 4).
@db_periodic_task(crontab(minute="*"))
@lock_task("otklik-outbox-sweep")
def outbox_sweep_task() -> int:
    """Queue delivery of every due outbox row, in chunks; return how many rows were due."""
    ids = outbox_due_ids()
    for start in range(0, len(ids), SWEEP_CHUNK):
        outbox_deliver_task(ids[start : start + SWEEP_CHUNK])
    if ids:
        log.info("outbox sweep: %d messages due", len(ids))
    return len(ids)
