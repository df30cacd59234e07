"""`otklik reports refresh|rebuild`: keep the reports' summary tables current or compute them again.

otklik reports refresh   # what the periodic job does every minute: measure new answers and closings
otklik reports rebuild   # drop the tables' rows and measure the whole history again (after an import)
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from otklik.reports.facts import facts_rebuild, facts_refresh


class Command(BaseCommand):
    help = "The reports' summary tables: refresh (measure what is new) or rebuild (measure everything again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refresh", "rebuild"])

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        report = facts_rebuild() if options["action"] == "rebuild" else facts_refresh()
        self.stdout.write(
            f"{report.responses} answers, {report.solved} closings and {report.funnels} tickets' process "
            f"moves measured in {time.monotonic() - started:.1f} s"
        )
