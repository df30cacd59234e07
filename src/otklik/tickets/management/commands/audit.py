"""`otklik audit verify [--json]`: check that no ticket's change history was altered.

Every history event carries the hash of the event before it in its ticket (otklik.tickets.history).
`verify` first seals what a set-based writer left unsealed (and, once, the history written before the
chain existed), then recomputes every chain in id order. Intact: exit 0 and a one-line summary. Broken:
the first broken link (ticket, event id, what differs) and exit status 1.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.tickets.history import history_seal, history_verify


class Command(BaseCommand):
    help = "Audit the ticket history: verify the hash chains of every ticket's change history."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser(
            "verify",
            help="Recompute every ticket's history chain; report the first broken link and exit 1, "
            "or a summary and exit 0.",
        )
        verify.add_argument("--json", action="store_true", help="Answer in JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = history_seal()
        report = history_verify()
        if options["json"]:
            self.stdout.write(json.dumps({**report.as_json(), "sealed": sealed}, ensure_ascii=False))
        elif report.intact:
            self.stdout.write(
                f"History intact: {report.events} events in {report.tickets} tickets"
                + (f" ({sealed} newly sealed)." if sealed else ".")
            )
        if report.broken is not None:
            raise CommandError(f"History broken: {report.broken.describe()}", returncode=1)
