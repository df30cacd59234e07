"""`otklik worker`: run the background job consumer (Huey) for production.

With OTKLIK_REDIS_URL the queue is Redis (RedisHuey), else a SQLite file in the data directory
(SqliteHuey). Run as many workers as you like, on as many machines: each one's scheduler queues the
periodic jobs (unless `--no-periodic`), and each job runs once per scheduled minute whichever worker
queued it, never in two workers at once (`otklik.schedule`, `otklik.core.periodic`).
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background job consumer: mail delivery, the SLA job, the outbox sweep."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2, help="Worker threads (default 2).")
        parser.add_argument("--no-periodic", action="store_true", help="Do not run the periodic jobs here.")
        parser.add_argument(
            "--nice",
            type=int,
            default=0,
            help="Lower this process's CPU priority by N (0-19): beside a web server on the same machine, "
            "requests go first and mail catches up when they let it (otklik start uses 10).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from otklik.notifications.tasks import outbox_sweep_once_task

        if options["nice"]:
            os.nice(min(max(options["nice"], 0), 19))

        # Mail a dead worker left half-sent is due again when its lease ends: look then, not a minute later.
        outbox_sweep_once_task()
        outbox_sweep_once_task.schedule(delay=settings.OUTBOX_LEASE_SECONDS + 1)
        argv = ["--workers", str(max(options["workers"], 1)), "--worker-type", "thread"]
        # An idle SQLite queue is polled at least every second, so mail leaves promptly.
        argv += ["--max-delay", "1.0"]
        if options["no_periodic"]:
            argv.append("--no-periodic")
        call_command("run_huey", *argv)
