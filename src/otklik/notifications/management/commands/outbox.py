"""`otklik outbox`: list outgoing mail (`--json` for machines), deliver now, or retry failed messages."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.notifications.models import OutboxState
from otklik.notifications.selectors import outbox_list


def outbox_json(row) -> dict[str, Any]:
    """Describe one outgoing message the way `otklik outbox --json` prints it."""
    return {
        "id": row.pk,
        "event": row.event,
        "ticket": row.ticket_id,
        "to": row.to,
        "cc": row.cc,
        "bcc": row.bcc,
        "subject": row.subject,
        "body": row.body_text,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error or None,
        "message_id": row.message_id,
        "language": row.language,
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


class Command(BaseCommand):
    help = "List the outbox of notification mail; deliver due messages now; retry failed ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print a JSON array, one object per message.")
        parser.add_argument("--state", choices=OutboxState.values, help="Only messages in this state.")
        parser.add_argument("--ticket", type=int, help="Only messages about this ticket.")
        parser.add_argument("--deliver", action="store_true", help="Send every due message now, here.")
        parser.add_argument(
            "--retry", type=int, nargs="+", metavar="ID", help="Put these failed messages back in line."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry"]:
            from otklik.notifications.services import outbox_retry

            count = outbox_retry(ids=options["retry"])
            if not count:
                raise CommandError("None of these messages is failed or waiting.")
            self.stdout.write(f"{count} message(s) queued again.")
            return
        if options["deliver"]:
            from otklik.notifications.delivery import outbox_deliver

            report = outbox_deliver(None, drain=10**9)
            self.stdout.write(
                f"sent {len(report.sent)}, to retry {len(report.retried)}, failed {len(report.failed)}"
            )
            return
        rows = outbox_list(state=options["state"], ticket_id=options["ticket"])
        if options["json"]:
            self.stdout.write(
                json.dumps([outbox_json(r) for r in rows.iterator()], ensure_ascii=False, indent=1)
            )
            return
        count = 0
        for row in rows.iterator():
            count += 1
            recipients = ", ".join(row.to + row.cc + row.bcc)
            self.stdout.write(f"#{row.pk} {row.state:<8} {row.event:<38} {recipients}  {row.subject}")
        if not count:
            self.stdout.write("The outbox is empty.")
