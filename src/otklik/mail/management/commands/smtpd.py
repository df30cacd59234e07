"""`otklik smtpd`: receive mail over SMTP (or LMTP, for a local mail server to hand mail over) and take it in.

    otklik smtpd [--host 127.0.0.1] [--port 8025] [--lmtp] [--mailbox CODE]

A message is answered "250" only once it is stored; if it cannot be stored the client hears "451" and
keeps it to try again. Processing (ticket, message or quarantine) follows in the same session.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connection

from otklik.mail.models import Mailbox
from otklik.mail.services import mail_ingest
from otklik.tickets.selectors import options_get


class IngestHandler:
    """aiosmtpd handler: hand each message's bytes to mail_ingest in a worker thread (the ORM is sync)."""

    def __init__(self, mailbox_code: str | None) -> None:
        self.mailbox_code = mailbox_code

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        peer = session.peer[0] if session.peer else "?"
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, self._ingest, raw, f"smtp from {peer}")
        except DatabaseError:
            reply = "451 4.3.0 Cannot store the message now, try again later"
        else:
            reply = f"250 2.0.0 Accepted as #{result.inbound} ({result.outcome})"
        if isinstance(server, LMTP):  # RFC 2033: one reply per recipient, or the client waits for the rest
            return "\r\n".join([reply] * len(envelope.rcpt_tos))
        return reply

    def _ingest(self, raw: bytes, source: str):
        close_old_connections()
        try:
            mailbox = Mailbox.objects.filter(code=self.mailbox_code).first() if self.mailbox_code else None
            return mail_ingest(raw, mailbox=mailbox, source=source)
        finally:
            # The executor's threads come and go: a connection left open would outlive its thread.
            connection.close()


class _LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


class Command(BaseCommand):
    help = "Receive mail over SMTP or LMTP and make tickets of it (F-15)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP (a local mail server delivers).")
        parser.add_argument("--mailbox", help="The mailbox whose rule applies (default: the built-in rule).")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["mailbox"]
        if code and not Mailbox.objects.filter(code=code).exists():
            raise CommandError(f"unknown mailbox: {code}")
        limit = options_get().mail_max_size_mb * 1024 * 1024
        kind = Controller if not options["lmtp"] else _LmtpController
        controller = kind(
            IngestHandler(code),
            hostname=options["host"],
            port=options["port"],
            data_size_limit=limit,
            ready_timeout=30,
        )
        # Block the stop signals before any thread starts (threads inherit the mask): one that arrives
        # while starting up, or between two looks at a flag, waits for sigwait below instead of being lost.
        stop_signals = {signal.SIGTERM, signal.SIGINT}
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            controller.start()
            try:
                protocol = "LMTP" if options["lmtp"] else "SMTP"
                self.stdout.write(
                    f"otklik smtpd: {protocol} on {options['host']}:{options['port']}", ending="\n"
                )
                self.stdout.flush()
                signal.sigwait(stop_signals)  # the controller serves from its own thread
            finally:
                _stop(controller)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _stop(controller: Controller) -> None:
    """End the client sessions on the loop, then the loop (a task it leaves pending is reported on stderr)."""
    try:
        asyncio.run_coroutine_threadsafe(_end_sessions(), controller.loop).result(timeout=10)
    finally:
        controller.stop()


async def _end_sessions() -> None:
    """Cancel the client sessions and wait until they are over (a message being stored is still stored)."""
    sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in sessions:
        task.cancel()
    await asyncio.gather(*sessions, return_exceptions=True)
