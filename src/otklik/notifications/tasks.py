"""Background delivery of the outbox, run by the Huey consumer (`otklik worker`, or in `otklik start`)."""

from __future__ import annotations

import logging
import sys

from huey.contrib.djhuey import HUEY, db_task, lock_task

from otklik.core import clock
from otklik.notifications.delivery import next_retry_at, outbox_deliver, outbox_due_ids

log = logging.getLogger(__name__)
# After its own rows, a delivery takes up to this many other due rows over the same connection.
DRAIN = 1000
# A delivery of everything due that nobody started yet; new mail only asks for one when it is missing.
DELIVERY_REQUESTED = "otklik-outbox-delivery-requested"
SWEEP_CHUNK = 100


def delivery_request() -> None:
    """Queue a delivery of every due row, unless one is already queued and has not started yet.

    A burst of a thousand changes then costs one flag check each and a handful of jobs, not a thousand
    jobs that each find their rows already sent. A flag left behind by a failed enqueue is cleared by
    the sweep within a minute.
    """
    if HUEY.storage.put_if_empty(DELIVERY_REQUESTED, b"1"):
        outbox_deliver_task()


@db_task()
def outbox_deliver_task(ids: list[int] | None = None) -> int:
    """Send the given outbox rows, or with none every due row; schedule the next try of those that failed."""
    if ids is None:
        # From here on, newly committed mail asks for another delivery; what is due now is ours.
        HUEY.storage.pop_data(DELIVERY_REQUESTED)
        report = outbox_deliver(None, drain=sys.maxsize)
    else:
        report = outbox_deliver(ids, drain=DRAIN)
    if report.retried:
        due = next_retry_at()
        delay = max((due - clock.now()).total_seconds(), 1) if due else 60
        outbox_deliver_task.schedule(args=(report.retried,), delay=delay)
    return len(report.sent)


def outbox_sweep() -> int:
    """Queue delivery of every due outbox row, in chunks; return how many rows were due.

    The schedule (`otklik.schedule`) runs it every minute; `otklik worker` also runs it at start and once
    more when the lease of mail a dead worker left half-sent has ended.
    """
    HUEY.storage.pop_data(DELIVERY_REQUESTED)  # a flag whose job was never queued must not block requests
    ids = outbox_due_ids()
    for start in range(0, len(ids), SWEEP_CHUNK):
        outbox_deliver_task(ids[start : start + SWEEP_CHUNK])
    if ids:
        log.info("outbox sweep: %d messages due", len(ids))
    return len(ids)


@db_task()
@lock_task("otklik-outbox-sweep")
def outbox_sweep_once_task() -> int:
    """Run one outbox sweep in the consumer, under the periodic sweep's lock (queued by `otklik worker`)."""
    return outbox_sweep()
