"""Periodic jobs run once per scheduled minute, by one consumer at a time (issue 19).

Huey's scheduler runs in every consumer and queues each periodic job when its crontab matches, so with
two consumers every job is queued twice a minute. Each copy carries the minute it was queued for (its
slot, stamped by `otklik.schedule`); before running, a copy claims the job's lease and inserts the
(job, slot) row of `PeriodicRun`. The unique row makes the run happen once per slot whichever consumer
queued it; the lease keeps two slots of one job from running at the same time. A lease, not a lock: a
consumer killed mid-job holds the job for at most the lease, then another takes over.
"""

from __future__ import annotations

import enum
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from otklik.core import clock
from otklik.core.models import PeriodicJob, PeriodicRun

# Runs are kept this long, for whoever checks that every minute ran (and for the slot's uniqueness).
RUNS_KEPT = timedelta(days=7)


class Claim(enum.Enum):
    """What a copy of a periodic job found when it tried to run its slot."""

    RUN = "run"  # this copy runs the slot
    DONE = "done"  # another copy already ran (or is running) this slot
    BUSY = "busy"  # another slot of the job is running now


@dataclass(frozen=True)
class SlotClaim:
    """A claimed slot: the job, the minute, and the token that alone may end the lease early."""

    job: str
    slot: datetime
    holder: str


def process_name() -> str:
    """Return this process as the runs record it: the host and the pid tell which consumer ran a slot."""
    return f"{socket.gethostname()}:{os.getpid()}"


def periodic_slot_claim(*, job: str, slot: datetime, lease: timedelta) -> tuple[Claim, SlotClaim | None]:
    """Try to take the job's lease and record its run for `slot`; say what happened.

    One transaction: the conditional UPDATE of the job's row serialises claimers (PostgreSQL re-checks
    the condition on the row a concurrent claimer committed; SQLite writes one at a time), and a slot
    that already has its row rolls the lease back.
    """
    now = clock.now()
    runner = process_name()
    holder = f"{runner}/{uuid.uuid4().hex[:8]}"
    PeriodicJob.objects.bulk_create([PeriodicJob(name=job)], ignore_conflicts=True)
    try:
        with transaction.atomic():
            free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            taken = PeriodicJob.objects.filter(free, name=job).update(lease_until=now + lease, holder=holder)
            if not taken:
                done = PeriodicRun.objects.filter(job=job, slot=slot).exists()
                return (Claim.DONE if done else Claim.BUSY), None
            PeriodicRun.objects.create(job=job, slot=slot, runner=runner, started_at=now)
    except IntegrityError:
        return Claim.DONE, None
    PeriodicRun.objects.filter(job=job, slot__lt=slot - RUNS_KEPT).delete()
    return Claim.RUN, SlotClaim(job=job, slot=slot, holder=holder)


def periodic_slot_finish(claim: SlotClaim) -> None:
    """Record the end of the run and free the job's lease, unless another run has taken it since."""
    now = clock.now()
    with transaction.atomic():
        PeriodicRun.objects.filter(job=claim.job, slot=claim.slot).update(finished_at=now)
        PeriodicJob.objects.filter(name=claim.job, holder=claim.holder).update(lease_until=None, holder="")
