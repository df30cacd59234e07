"""Take in mail: messages/s through `otklik ingest-mail`'s code path, and end to end from a Dovecot IMAP box.

    python -m bench.ingest_mail [--backend sqlite|postgresql|all] [--messages 1000] [--no-imap]

For each backend a fresh database is prepared like bench.create_http (migrated, the demo's users and SLA
levels, a default responsible), then, in a child process:

- `in-process`: `mail_ingest` on `--messages` messages made like a mail client makes them (UTF-8 Russian
  text, encoded subjects, a third of them replies carrying [TID#n] to earlier tickets, some with a small
  attachment): each is stored raw, parsed, threaded, written as a ticket or a message with its SLA,
  responsible and notifications. messages/s over the time spent inside `mail_ingest` (writing the
  synthetic mail is the sender's work), and the child's peak RSS.
- `imap`: a private Dovecot (tests.dovecot) holding the same number of messages, a third of them replies
  threaded by In-Reply-To only; `otklik mail-poll` fetches them in batches over IMAP and takes each in.
  messages/s from the command's start (Python and Django start-up included), peak RSS.

Prints `ingest_mail_<backend>_<way> <n> messages/s` and `ingest_mail_<backend>_<way>_rss <n> MB`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from bench.common import figure, note
from bench.create_http import Prepared, Setup

REDIS_URL = "redis://127.0.0.1:6379/14"


def synthetic_mail(
    n: int, *, reply_to_ticket: int | None = None, sender: int | None = None, in_reply_to: int | None = None
) -> bytes:
    """One message like a mail client writes it; every 10th carries a small PDF.

    A reply comes from the sender of the message that opened the ticket (`sender`), as the rule wants,
    and names the ticket in its subject (`reply_to_ticket`) or only answers that mail (`in_reply_to`,
    threaded by the headers).
    """
    who = n if sender is None else sender
    message = EmailMessage()
    message["From"] = f"Клиент {who} <client{who}@customer{who % 7}.example>"
    message["To"] = "support@otklik.localhost"
    subject = f"Не проходит оплата заказа {n}"
    if reply_to_ticket is not None:
        subject = f"Re: [TID#{reply_to_ticket}] {subject}"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = bench_message_id(n)
    if in_reply_to is not None:
        message.replace_header("Subject", f"Re: {subject}")
        message["In-Reply-To"] = message["References"] = bench_message_id(in_reply_to)
    body = (
        f"Здравствуйте!\n\nПри оплате заказа №{n} карта отклоняется с ошибкой 402. Пробовали две карты.\n\n"
        "С уважением,\nИван\n\n> Ранее: письмо поддержки с вопросом о браузере.\n> Уточните, пожалуйста.\n"
    )
    message.set_content(body)
    if n % 10 == 0:
        message.add_attachment(
            b"%PDF-1.4\n% bench\n" + b"0" * 2000, maintype="application", subtype="pdf", filename="счёт.pdf"
        )
    return message.as_bytes()


def bench_message_id(n: int) -> str:
    return f"<bench-{n}@customer.example>"  # each bench run has a database of its own


def imap_mails(count: int, first: int = 100_000) -> list[bytes]:
    """The IMAP box: like the in-process run, every third mail answers an earlier one (by its headers)."""
    mails = []
    for n in range(first, first + count):
        if n - first >= 2 and (n - first) % 3 == 2:
            mails.append(synthetic_mail(n, sender=n - 2, in_reply_to=n - 2))
        else:
            mails.append(synthetic_mail(n))
    return mails


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CHILD_COMMANDS:
        return CHILD_COMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--no-imap", action="store_true")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    for backend in backends:
        setup = Setup(backend, redis=backend == "postgresql")
        with Prepared(
            setup, REDIS_URL, database="otklik_bench_ingest", module="bench.ingest_mail"
        ) as prepared:
            label = "pg" if backend == "postgresql" else "sqlite"
            report = prepared.child("_in_process", str(args.messages))
            figure(f"ingest_mail_{label}_in_process", report["rate"], "messages/s")
            figure(f"ingest_mail_{label}_in_process_rss", report["rss_mb"], "MB")
            note(f"{label} in-process: {report['outcomes']} in {report['seconds']:.1f} s")
            if not args.no_imap:
                _imap(prepared, label, args.messages)
    return 0


def _imap(prepared: Prepared, label: str, count: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.dovecot import Dovecot

    with Dovecot() as server:
        account = server.new_user()
        server.append_many(account.user, imap_mails(count))
        prepared.child("_mailbox", server.host, str(server.imap_port), account.user, account.password)
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", CHILD_POLL], env=prepared.env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - began
        if result.returncode:
            raise SystemExit(f"mail-poll failed:\n{result.stdout}{result.stderr}")
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        fetched = answer["reports"][0]["fetched"]
        figure(f"ingest_mail_{label}_imap", fetched / seconds, "messages/s")
        figure(f"ingest_mail_{label}_imap_rss", answer["rss_mb"], "MB")
        note(f"{label} imap: {answer['reports'][0]} in {seconds:.1f} s (start-up included)")


# `otklik mail-poll --json` in a child that also reports its own peak RSS.
CHILD_POLL = """
import io, json, os, resource, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
import django
django.setup()
from django.core.management import call_command
out = io.StringIO()
call_command("mail-poll", "--mailbox", "bench-imap", "--json", stdout=out)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"reports": json.loads(out.getvalue()), "rss_mb": rss}))
"""


# -- child commands ------------------------------------------------------------------------------------------
def _child_in_process(argv: list[str]) -> int:
    from bench.common import django_setup

    django_setup()
    from collections import Counter

    from otklik.mail.services import mail_ingest

    count = int(argv[0])
    messages = []
    tickets: list[tuple[int, int]] = []  # (ticket, the message number that opened it)
    outcomes: Counter[str] = Counter()
    seconds = 0.0  # inside mail_ingest only: writing the synthetic mail is the sender's work, not ours
    for n in range(count):
        if tickets and n % 3 == 2:
            ticket, opener = tickets[n % len(tickets)]
            raw = synthetic_mail(n, reply_to_ticket=ticket, sender=opener)
        else:
            raw = synthetic_mail(n)
        messages.append(len(raw))
        began = time.perf_counter()
        result = mail_ingest(raw, source="bench")
        seconds += time.perf_counter() - began
        outcomes[result.outcome] += 1
        if result.outcome == "created":
            tickets.append((result.ticket, n))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"rate": count / seconds, "seconds": seconds, "rss_mb": rss, "outcomes": dict(outcomes)})
    )
    return 0


def _child_mailbox(argv: list[str]) -> int:
    from bench.common import django_setup

    django_setup()
    from otklik.mail.models import Mailbox

    host, port, user, password = argv
    Mailbox.objects.update_or_create(
        code="bench-imap",
        defaults={
            "name": "Bench IMAP",
            "protocol": Mailbox.Protocol.IMAP,
            "host": host,
            "port": int(port),
            "security": Mailbox.Security.PLAIN,
            "username": user,
            "password": password,
        },
    )
    print("{}")
    return 0


CHILD_COMMANDS = {"_in_process": _child_in_process, "_mailbox": _child_mailbox}


if __name__ == "__main__":
    sys.exit(main())
