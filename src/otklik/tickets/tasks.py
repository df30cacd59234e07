"""Background work of the tickets layer: deadlines computed again after SLA configuration changes."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from otklik.tickets.services.recompute import deadlines_recompute, deadlines_recompute_stale

log = logging.getLogger(__name__)


@db_task()
def deadlines_recompute_task(job_id: int) -> int:
    """Recompute the deadlines of one job's open tickets (idempotent; queued after the change commits)."""
    return deadlines_recompute(job_id=job_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("otklik-deadlines-recompute-sweep")
def deadlines_recompute_sweep_task() -> None:
    """Every 5 minutes: finish recomputations whose worker died (nothing advanced them for 5 minutes)."""
    for job_id in deadlines_recompute_stale():
        log.info("deadline recomputation %s was left unfinished; running it again", job_id)
        deadlines_recompute(job_id=job_id)
