"""Background work of the tickets layer: deadlines computed again after SLA configuration changes."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from otklik.tickets.services.recompute import deadlines_recompute


@db_task()
def deadlines_recompute_task(job_id: int) -> int:
    """Recompute the deadlines of one job's open tickets (idempotent; queued after the change commits)."""
    return deadlines_recompute(job_id=job_id)
