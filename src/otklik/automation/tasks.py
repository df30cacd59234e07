"""The automation rules' periodic job (declared in otklik.schedule)."""

from __future__ import annotations

import logging

from otklik.automation.services import rules_pending_run

log = logging.getLogger(__name__)


def rules_pending_job() -> int:
    """Fire the "pending for N working hours" rules that are due; log how many fired."""
    fired = rules_pending_run()
    if fired:
        log.info("Automation: %d time-based rule firings", fired)
    return fired
