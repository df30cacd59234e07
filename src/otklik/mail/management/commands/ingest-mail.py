"""`otklik ingest-mail`: take one RFC 5322 message from standard input (an MTA's pipe, a script, a test).

    otklik ingest-mail [--mailbox CODE] [--json] < message.eml

The message is stored before anything else; whatever it holds, the command then answers with its outcome.
Exit status 0 means the message is safe in Otklik (a ticket, a message, a duplicate or in quarantine);
75 (EX_TEMPFAIL) means it could not even be stored, so the mail system should keep it and try again.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from otklik.mail.models import Mailbox
from otklik.mail.services import mail_ingest

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Take one e-mail message from standard input and make it a ticket or a message (F-15)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", help="The mailbox whose rule applies (default: the built-in rule).")
        parser.add_argument("--json", action="store_true", help='Print {"outcome", "ticket", "reason"}.')

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = None
        if options["mailbox"]:
            mailbox = Mailbox.objects.filter(code=options["mailbox"]).first()
            if mailbox is None:
                raise CommandError(f"unknown mailbox: {options['mailbox']}")
        raw = sys.stdin.buffer.read()
        if not raw:
            raise CommandError("standard input is empty: nothing to take in")
        try:
            result = mail_ingest(raw, mailbox=mailbox, source="pipe")
        except DatabaseError as exc:
            self.stderr.write(f"the message could not be stored: {exc}")
            sys.exit(EX_TEMPFAIL)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            ticket = f" #{result.ticket}" if result.ticket else ""
            reason = f" ({result.reason})" if result.reason else ""
            self.stdout.write(f"{result.outcome}{ticket}{reason}")
