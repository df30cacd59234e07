"""`otklik mail-poll`: fetch new mail from the IMAP and POP3 mailboxes now (the periodic job does it every minute).

otklik mail-poll [--mailbox CODE] [--limit N] [--json]
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.mail.models import Mailbox
from otklik.mail.transports import mailbox_poll


class Command(BaseCommand):
    help = "Fetch new mail from the polled mailboxes (all active ones, or one) and take it in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", help="Only this mailbox (its code).")
        parser.add_argument("--limit", type=int, help="At most this many messages per mailbox.")
        parser.add_argument("--json", action="store_true", help="Print one object per mailbox.")

    def handle(self, *args: Any, **options: Any) -> None:
        boxes = Mailbox.objects.filter(protocol__in=[Mailbox.Protocol.IMAP, Mailbox.Protocol.POP3])
        if options["mailbox"]:
            boxes = boxes.filter(code=options["mailbox"])
            if not boxes.exists():
                raise CommandError(f"unknown or not polled mailbox: {options['mailbox']}")
        else:
            boxes = boxes.filter(active=True)
        reports = []
        for mailbox in boxes:
            report = mailbox_poll(mailbox, limit=options["limit"])
            reports.append(
                {
                    "mailbox": mailbox.code,
                    "fetched": report.fetched,
                    "outcomes": report.outcomes,
                    "error": report.error,
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(reports, ensure_ascii=False))
            return
        for row in reports:
            error = f"; error: {row['error']}" if row["error"] else ""
            self.stdout.write(f"{row['mailbox']}: {row['fetched']} fetched {row['outcomes']}{error}")
        if any(row["error"] for row in reports):
            raise CommandError("some mailboxes could not be polled")
