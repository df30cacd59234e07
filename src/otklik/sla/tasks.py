"""Periodic SLA work, run by the Huey consumer (in-process under `otklik start`, or `otklik run_huey`)."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from otklik.sla.jobs import sla_tick

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("otklik-sla-tick")
def sla_tick_task() -> None:
    """Every minute: reminders, overdue tickets and auto-close (F-08, F-02)."""
    report = sla_tick()
    if report.reminders or report.overdue or report.auto_closed:
        log.info(
            "SLA tick: %d reminders, %d overdue, %d auto-closed",
            report.reminders,
            report.overdue,
            report.auto_closed,
        )
