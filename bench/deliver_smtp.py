"""Deliver the outbox to a local SMTP sink: messages/s in one process and through the job consumer.

    python -m bench.deliver_smtp [--backend postgresql|sqlite] [--messages 2000] [--worker-threads 2]
        [--no-redis]

Prepares a fresh database like bench.create_http (PostgreSQL: `otklik_bench_deliver`; the demo's users
and SLA levels, a default responsible), creates tickets through `ticket_create` in a child process until
`--tickets` have been written, then copies their outbox rows (new Message-IDs) up to `--messages`
pending rows, so every message is a real rendered notification (text and HTML).

An aiosmtpd sink in this process (a Controller on a free port) counts the messages it accepts; the
children send to it through OTKLIK_SMTP_URL=smtp://127.0.0.1:PORT. Two ways of delivering, each from
the same pending rows (reset between them):

- `otklik outbox --deliver`: one process drains the outbox over one SMTP connection;
- `otklik worker` (the Huey consumer, `--worker-threads` threads; Redis queue unless --no-redis): the
  start-up sweep queues the due rows in chunks of 100, each job drains more over its own connection.

Prints `deliver_smtp_<way> <n> messages/s` over the sending (first to last message at the sink), and
`deliver_smtp_<way>_wall` over the whole run from the command's start (Python and Django start-up included).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import figure, note
from bench.create_http import REDIS_URL, Prepared, Setup, clear_queue
from bench.staff_list import _free_port

TIMEOUT_SECONDS = 600


class Sink:
    """aiosmtpd handler: accept everything, count messages and recipients, note first and last times."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.messages = 0
            self.recipients = 0
            self.message_ids: set[str] = set()
            self.first: float | None = None
            self.last: float | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        now = time.perf_counter()
        message_id = ""
        for line in envelope.original_content.split(b"\r\n"):
            if not line:
                break
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode()
        with self.lock:
            self.messages += 1
            self.recipients += len(envelope.rcpt_tos)
            self.message_ids.add(message_id)
            self.first = self.first if self.first is not None else now
            self.last = now
        return "250 OK"

    def wait_for(self, count: int, proc: subprocess.Popen | None, deadline: float) -> bool:
        """Wait until `count` messages arrived (or the process ended and nothing more came)."""
        while time.monotonic() < deadline:
            if self.messages >= count:
                return True
            if proc is not None and proc.poll() is not None:
                time.sleep(0.5)  # the last replies may still be on their way
                return self.messages >= count
            time.sleep(0.005)
        return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CHILD_COMMANDS:
        return CHILD_COMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--messages", type=int, default=2000, help="Pending outbox rows to deliver.")
    parser.add_argument("--tickets", type=int, default=100, help="Tickets created for their mail.")
    parser.add_argument("--worker-threads", type=int, default=2, help="`otklik worker --workers N`.")
    parser.add_argument("--no-redis", action="store_true", help="The SQLite job queue for the worker.")
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args(argv)

    from aiosmtpd.controller import Controller

    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    setup = Setup(args.backend, not args.no_redis)
    try:
        with Prepared(
            setup, args.redis_url, database="otklik_bench_deliver", module="bench.deliver_smtp"
        ) as prepared:
            # Filling the outbox sends nothing: no worker runs yet.
            report = prepared.child("_fill", str(args.tickets), str(args.messages))
            note(
                f"{report['pending']} pending outbox rows from {report['tickets']} tickets "
                f"({report['created']} written by ticket_create), {report['bytes'] // report['pending']} "
                "bytes of text and HTML each"
            )
            total = report["pending"]
            env = {**prepared.env, "OTKLIK_SMTP_URL": f"smtp://127.0.0.1:{port}"}
            label = "sqlite" if args.backend == "sqlite" else "pg"

            sink.reset()
            began = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "otklik", "outbox", "--deliver"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            sink.wait_for(total, proc, time.monotonic() + TIMEOUT_SECONDS)
            output, _ = proc.communicate(timeout=TIMEOUT_SECONDS)
            ended = time.perf_counter()
            _report(f"deliver_smtp_{label}_outbox", sink, total, began, ended, output.strip())
            _check(prepared, sink, total)

            prepared.child("_reset")
            # The jobs ticket_create queued are dropped: the worker finds the rows by its start-up sweep.
            if "OTKLIK_REDIS_URL" in env:
                clear_queue(env["OTKLIK_REDIS_URL"])
            else:
                for path in Path(env["OTKLIK_DATA_DIR"]).glob("jobs.sqlite3*"):
                    path.unlink()
            sink.reset()
            began = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "otklik", "worker", "--workers", str(args.worker_threads)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                sink.wait_for(total, proc, time.monotonic() + TIMEOUT_SECONDS)
                ended = time.perf_counter()
            finally:
                proc.send_signal(signal.SIGINT)  # Huey's graceful stop
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            queue = "redis" if setup.redis else "sqlitequeue"
            name = f"deliver_smtp_{label}_worker"
            _report(name, sink, total, began, ended, f"{args.worker_threads} threads, {queue}")
            _check(prepared, sink, total)
    finally:
        controller.stop()
    return 0


def _report(name: str, sink: Sink, total: int, began: float, ended: float, remark: str) -> None:
    if not sink.messages or sink.first is None or sink.last is None:
        note(f"{name}: the sink received nothing ({remark})")
        return
    sending = sink.last - sink.first
    figure(name, (sink.messages - 1) / sending if sending else float(sink.messages), "messages/s")
    figure(f"{name}_wall", sink.messages / (ended - began), "messages/s")
    note(
        f"{name}: {sink.messages} of {total} messages ({sink.recipients} recipients) in "
        f"{sending:.2f} s of sending, {ended - began:.2f} s from the start; {remark}"
    )


def _check(prepared: Prepared, sink: Sink, total: int) -> None:
    report = prepared.child("_states")
    duplicates = sink.messages - len(sink.message_ids)
    note(f"  outbox states {report['states']}; {duplicates} duplicate Message-IDs at the sink")
    if report["states"].get("sent") != total or sink.messages != total:
        note(f"  NOT all {total} delivered exactly once")


# -- child commands, run with the set-up's environment ----------------------------------------
def _child_fill(argv: list[str]) -> int:
    """Create tickets through the service, then copy their outbox rows up to the wanted count."""
    from bench.common import django_setup

    django_setup()
    from django.contrib.auth.models import User
    from django.db.models import Sum
    from django.db.models.functions import Length

    from otklik.notifications.models import OutboxMessage, OutboxState
    from otklik.notifications.rendering import new_message_id
    from otklik.tickets.models import Channel
    from otklik.tickets.services import TicketDraft, ticket_create

    tickets, wanted = int(argv[0]), int(argv[1])
    client = User.objects.get(username="client")
    for number in range(tickets):
        ticket_create(
            actor=client,
            draft=TicketDraft(
                title=f"Bench mail {number}",
                message="The checkout page answers 502. We cleared the cache and tried another browser.",
            ),
            via=Channel.API,
        )
    created = OutboxMessage.objects.count()
    fields = [f.attname for f in OutboxMessage._meta.concrete_fields if not f.primary_key]
    templates = list(OutboxMessage.objects.order_by("id").values(*fields))
    copies = []
    for index in range(max(wanted - created, 0)):
        values = templates[index % len(templates)]
        copies.append(OutboxMessage(**{**values, "message_id": new_message_id(values["ticket_id"])}))
    OutboxMessage.objects.bulk_create(copies, batch_size=500)
    pending = OutboxMessage.objects.filter(state=OutboxState.PENDING)
    size = pending.aggregate(n=Sum(Length("body_text")) + Sum(Length("body_html")))["n"]
    print(json.dumps({"tickets": tickets, "created": created, "pending": pending.count(), "bytes": size}))
    return 0


def _child_reset(argv: list[str]) -> int:
    """Put every outbox row back in line, as if nothing had been sent."""
    from bench.common import django_setup

    django_setup()
    from otklik.core import clock
    from otklik.notifications.models import OutboxMessage, OutboxState

    count = OutboxMessage.objects.update(
        state=OutboxState.PENDING,
        attempts=0,
        sent_at=None,
        last_error="",
        lease_until=None,
        claim="",
        next_attempt_at=clock.now(),
    )
    print(json.dumps({"reset": count}))
    return 0


def _child_states(argv: list[str]) -> int:
    from bench.common import django_setup

    django_setup()
    from django.db.models import Count

    from otklik.notifications.models import OutboxMessage

    states = dict(
        OutboxMessage.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    print(json.dumps({"states": states}))
    return 0


CHILD_COMMANDS = {"_fill": _child_fill, "_reset": _child_reset, "_states": _child_states}


if __name__ == "__main__":
    sys.exit(main())
