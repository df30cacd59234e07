"""`otklik smtpd` as a real process: SMTP and LMTP over a socket, the mailbox's rule, stopping on a signal.

The child process works on the test's own (committed) database: PostgreSQL is reached by URL; pytest-django's
in-memory SQLite cannot be shared, so it is copied into the child's data directory when the listener starts,
and the test reads the copy back through a second connection alias. Either way `server.db` names it.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections

from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.mail.models import InboundMail, Mailbox, Outcome
from otklik.tickets.models import Message, MessageKind, Ticket
from tests.helpers import free_port
from tests.test_mail_ingest import mail as lf_mail

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("server"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals, a child process"),
]

SUPPORT = "support@otklik.localhost"
SENDER = "petr@customer.example"
COPY_ALIAS = "smtpd_copy"


def mail(**fields) -> bytes:
    """A test message with CRLF line ends, as an MTA sends it (smtplib sends bytes unchanged)."""
    return lf_mail(**fields).replace(b"\n", b"\r\n")


def _share_database(data_dir: Path) -> tuple[dict[str, str], str]:
    """Return the child's environment for the test database and the alias the test reads it back by."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="") + (
            ":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else ""
        )
        host = f"{auth}@{db['HOST'] or ''}" if auth else db["HOST"] or ""
        port = f":{db['PORT']}" if db["PORT"] else ""
        return {"OTKLIK_DATABASE_URL": f"postgres://{host}{port}/{db['NAME']}"}, "default"
    assert connection.vendor == "sqlite", f"cannot share a {connection.vendor} database with a child"
    if not connection.is_in_memory_db():
        return {"OTKLIK_DATABASE_URL": f"sqlite:///{Path(db['NAME']).resolve()}"}, "default"
    copy = data_dir / "otklik.sqlite3"  # where the embedded settings look (WAL, busy timeout and all)
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    # A connection made here, not configured in settings: Django lets a test use such a one.
    connections[COPY_ALIAS] = type(connections[connection.alias])({**db, "NAME": str(copy)}, alias=COPY_ALIAS)
    return {}, COPY_ALIAS


class Smtpd:
    """`otklik smtpd` in a child process, on a free port, until stopped."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        shared, self.db = _share_database(data_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTKLIK_")}
        env.update(DJANGO_SETTINGS_MODULE="otklik.settings", OTKLIK_DATA_DIR=str(data_dir), **shared)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "otklik", "smtpd", "--host", "127.0.0.1", "--port", str(self.port), *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.stdout = self.stderr = ""
        self._wait_until_listening(time.monotonic() + 30)

    def _wait_until_listening(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop(signal.SIGKILL)
                pytest.fail(f"otklik smtpd exited early with {self.proc.returncode}:\n{self.stderr}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop(signal.SIGKILL)
        pytest.fail(f"otklik smtpd did not listen on {self.port} in time:\n{self.stderr}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> float:
        """Send `sig`, collect the output; return how long the process took to exit."""
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate()
        self.stdout, self.stderr = out.decode(errors="replace"), err.decode(errors="replace")
        return time.monotonic() - started


@pytest.fixture
def smtpd(tmp_path) -> Iterator:
    """Start `otklik smtpd` (after the test wrote its data); killed and forgotten at teardown."""
    started: list[Smtpd] = []

    def start(*args: str) -> Smtpd:
        started.append(Smtpd(tmp_path, *args))
        return started[-1]

    yield start
    for server in started:
        server.stop(signal.SIGKILL)
    if hasattr(connections._connections, COPY_ALIAS):
        connections[COPY_ALIAS].close()
        del connections[COPY_ALIAS]


def _assert_stopped_cleanly(server: Smtpd, sig: int) -> None:
    took = server.stop(sig)
    assert server.proc.returncode == 0, (server.proc.returncode, server.stderr)
    assert took < 5, f"took {took:.1f} s to stop"
    assert server.stderr == "", server.stderr  # no traceback, no warning
    assert f"on 127.0.0.1:{server.port}" in server.stdout
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_smtpd_smtp_mail_becomes_ticket_reply_is_appended_sigterm_ends_open_session(smtpd):
    server = smtpd()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        client.rcpt(SUPPORT)
        code, reply = client.data(mail(subject="Принтер не печатает"))
        assert code == 250 and b"(created)" in reply, reply
        ticket = Ticket.objects.using(server.db).get()
        refused = client.sendmail(
            SENDER, [SUPPORT], mail(subject=f"Re: [TID#{ticket.pk}] Принтер не печатает")
        )
        assert refused == {}

        # The session stays open, as an MTA keeps one for the next message: stopping ends it.
        _assert_stopped_cleanly(server, signal.SIGTERM)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()

    assert (ticket.title, ticket.author_email, ticket.author_id) == ("Принтер не печатает", SENDER, None)
    rows = InboundMail.objects.using(server.db).order_by("pk").values_list("outcome", "ticket_id", "source")
    assert [row[:2] for row in rows] == [(Outcome.CREATED, ticket.pk), (Outcome.APPENDED, ticket.pk)]
    assert all(source.startswith("smtp from 127.0.0.1") for _o, _t, source in rows)
    messages = Message.objects.using(server.db).filter(ticket_id=ticket.pk).exclude(kind=MessageKind.LOG)
    assert list(messages.values_list("author_email", "kind")) == [(SENDER, MessageKind.PUBLIC)] * 2


def test_smtpd_mail_without_sender_is_accepted_and_kept_raw_with_the_reason(smtpd):
    server = smtpd()
    raw = mail(sender="", subject="Кто я?")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.ehlo()
        client.mail("")
        client.rcpt(SUPPORT)
        code, reply = client.data(raw)

    inbound = InboundMail.objects.using(server.db).get()
    # Stored first, so the listener takes it (the sender must not retry): an admin sees it in quarantine.
    assert (code, reply.decode()) == (250, f"2.0.0 Accepted as #{inbound.pk} (quarantined)")
    assert (inbound.outcome, inbound.reason, inbound.subject) == (Outcome.QUARANTINED, "no_sender", "Кто я?")
    assert inbound.reason_text and bytes(inbound.raw) == raw  # byte for byte
    assert not Ticket.objects.using(server.db).exists()
    _assert_stopped_cleanly(server, signal.SIGTERM)


def test_smtpd_lmtp_answers_each_recipient_and_takes_the_mail_in_once(smtpd):
    server = smtpd("--lmtp")
    with smtplib.LMTP("127.0.0.1", server.port, timeout=10) as client:
        assert client.ehlo()[0] == 250  # smtplib.LMTP greets with LHLO
        client.mail(SENDER)
        client.rcpt(SUPPORT)
        client.rcpt("help@otklik.localhost")
        first = client.data(mail(subject="По LMTP"))
        second = client.getreply()  # RFC 2033: one reply per accepted recipient after the data
        assert client.noop()[0] == 250  # and nothing more: the session is still in step

    inbound = InboundMail.objects.using(server.db).get()
    assert first == second == (250, f"2.0.0 Accepted as #{inbound.pk} (created)".encode())
    assert inbound.outcome == Outcome.CREATED
    assert list(Ticket.objects.using(server.db).values_list("title", flat=True)) == ["По LMTP"]
    _assert_stopped_cleanly(server, signal.SIGTERM)


def test_smtpd_mailbox_rule_applies_and_sigint_stops_it(smtpd):
    category = DictionaryEntry.objects.create(kind=DictionaryKind.CATEGORY, name_ru="Почта", name_en="Mail")
    mailbox = Mailbox.objects.create(
        code="lmtp-in", name="LMTP", protocol=Mailbox.Protocol.SMTP, category=category, add_hidden=True
    )
    server = smtpd("--mailbox", mailbox.code)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.sendmail(SENDER, [SUPPORT], mail(subject="Через ящик"))
        ticket = Ticket.objects.using(server.db).get()
        client.sendmail(SENDER, [SUPPORT], mail(subject=f"Re: [TID#{ticket.pk}] Через ящик"))

    assert ticket.category_id == category.pk
    rows = InboundMail.objects.using(server.db).order_by("pk").values_list("mailbox_id", "outcome")
    assert list(rows) == [(mailbox.pk, Outcome.CREATED), (mailbox.pk, Outcome.APPENDED)]
    messages = Message.objects.using(server.db).filter(ticket_id=ticket.pk).exclude(kind=MessageKind.LOG)
    assert list(messages.order_by("number").values_list("kind", flat=True)) == [
        MessageKind.PUBLIC,
        MessageKind.HIDDEN,  # the mailbox adds replies as hidden messages
    ]
    _assert_stopped_cleanly(server, signal.SIGINT)
