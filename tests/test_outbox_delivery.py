"""Delivery of the outbox against a real SMTP server (aiosmtpd): headers, retries, leases, the command."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import runpy
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from otklik.core import clock
from otklik.notifications import catalog
from otklik.notifications.delivery import outbox_claim, outbox_deliver
from otklik.notifications.models import OutboxMessage, OutboxState
from otklik.notifications.services import outbox_retry
from otklik.notifications.tasks import DELIVERY_REQUESTED, outbox_deliver_task
from otklik.schedule import outbox_sweep_task
from otklik.tickets import services

from .helpers import free_port
from .smtp_sink import REFUSAL, SmtpSink

CYRILLIC = re.compile("[а-яА-ЯёЁ]")
SETTINGS_FILE = Path(django_settings.BASE_DIR) / "settings.py"


@pytest.fixture
def sink(settings):
    """A real SMTP server, with the SMTP backend pointed at it."""
    with SmtpSink() as server:
        server.configure(settings)
        yield server


@pytest.fixture
def queue(_jobs_in_memory):
    """The job queue, in memory (conftest): nothing lands in the data directory's queue file."""
    return _jobs_in_memory


def _rows(ticket) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(ticket_id=ticket.pk).order_by("id"))


def _row(ticket, event: str) -> OutboxMessage:
    return OutboxMessage.objects.get(ticket_id=ticket.pk, event=event)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# -- what arrives --------------------------------------------------------------------------------------------
def test_deliver_new_ticket_arrives_with_envelope_threading_headers_and_cyrillic(cast, sink, frozen):
    for user in (cast.client, cast.staff2, cast.admin):
        user.profile.language = "ru"
        user.profile.save()
    cast.staff2.first_name, cast.staff2.last_name = "Анна", "Смирнова"
    cast.staff2.save()
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(
            title="Не печатает принтер", message="Принтер в бухгалтерии мигает красным."
        ),
        staff=services.StaffFields(author=cast.client, responsible=cast.staff2),
    )
    rows = _rows(ticket)
    support = _row(ticket, catalog.NEW_FOR_SUPPORT)
    assert support.to == ["staff2@example.com"] and support.bcc == ["admin@example.com"]

    report = outbox_deliver([r.pk for r in rows])

    assert sorted(report.sent) == [r.pk for r in rows] and not report.retried
    by_id = {r.message_id: r for r in sink.received}
    assert set(by_id) == {r.message_id for r in rows} and len(sink.received) == len(rows)
    mail = by_id[support.message_id]
    # Blind copy: in the envelope, nowhere in the headers.
    assert sorted(mail.rcpt_tos) == ["admin@example.com", "staff2@example.com"]
    assert mail.mail_from == django_settings.DEFAULT_FROM_EMAIL
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"admin@example.com" not in head and b"\nBcc:" not in head
    message = mail.message
    assert message["To"] == "Анна Смирнова <staff2@example.com>"
    # A long encoded Subject is folded right after the colon; the parsed value keeps that space.
    subject = message["Subject"].strip()
    assert subject.startswith(f"[TID#{ticket.pk}] ") and subject.endswith("Не печатает принтер")
    assert message["Message-ID"] == support.message_id
    assert message["References"] == support.references == f"<otklik.ticket.{ticket.pk}@otklik.localhost>"
    assert message["In-Reply-To"] == support.references
    assert message["Auto-Submitted"] == "auto-generated" and message["X-Auto-Response-Suppress"] == "All"
    assert message["X-Otklik-Ticket"] == str(ticket.pk)
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert parts["text/plain"].replace("\r\n", "\n").strip() == support.body_text.strip()
    assert "Принтер в бухгалтерии мигает красным." in parts["text/plain"]
    assert "Не печатает принтер" in parts["text/html"] and CYRILLIC.search(parts["text/html"])
    author_mail = by_id[_row(ticket, catalog.NEW_FOR_AUTHOR).message_id]
    assert author_mail.rcpt_tos == ("client@example.com",)
    assert author_mail.message["To"] == "Ivan Petrov <client@example.com>"
    assert CYRILLIC.search(author_mail.message["Subject"])
    for row in _rows(ticket):
        assert (row.state, row.sent_at, row.attempts, row.last_error) == (
            OutboxState.SENT,
            clock.now(),
            1,
            "",
        )
        assert row.lease_until is None


def test_deliver_batch_goes_over_one_smtp_connection_and_a_new_one_after_an_error(cast, make_ticket, sink):
    rows = _rows(make_ticket()) + _rows(make_ticket()) + _rows(make_ticket())

    report = outbox_deliver(None, drain=100)

    assert len(report.sent) == len(rows) == sink.count() == 6
    assert sink.connections() == 1  # not an SMTP session (connect, EHLO, QUIT) per message
    sink.clear()
    more = _rows(make_ticket()) + _rows(make_ticket())
    sink.refuse_next(1)  # the first refusal closes the connection; the rest go over a fresh one

    report = outbox_deliver(None, drain=100)

    assert len(report.sent) == len(more) - 1 and len(report.retried) == 1
    assert sink.connections() == 1


def test_deliver_without_smtp_url_writes_readable_mail_files(cast, make_ticket, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    ticket = make_ticket(title="Не работает почта")
    rows = _rows(ticket)

    report = outbox_deliver([r.pk for r in rows])

    assert len(report.sent) == len(rows) == 2
    files = list((tmp_path / "mail").iterdir())
    assert len(files) == 1  # one connection, one file
    chunks = [c for c in files[0].read_bytes().split(b"\n" + b"-" * 79 + b"\n") if c.strip()]
    messages = [email.message_from_bytes(c, policy=email.policy.default) for c in chunks]
    assert {m["Message-ID"] for m in messages} == {r.message_id for r in rows}
    assert all("Не работает почта" in m["Subject"] for m in messages)
    assert all(r.state == OutboxState.SENT for r in _rows(ticket))


# -- failures and retries ------------------------------------------------------------------------------------
def test_deliver_temporary_refusal_waits_the_backoff_then_sends_one_copy(cast, make_ticket, sink, frozen):
    row = _row(make_ticket(), catalog.NEW_FOR_AUTHOR)
    sink.refuse_next(1)
    started = clock.now()

    report = outbox_deliver([row.pk])

    row.refresh_from_db()
    assert report.retried == [row.pk] and sink.refused == 1 and sink.count() == 0
    assert (row.state, row.attempts, row.sent_at) == (OutboxState.PENDING, 1, None)
    assert "451" in row.last_error and "try again later" in row.last_error
    assert row.next_attempt_at == started + timedelta(seconds=30)

    frozen.advance(seconds=29)
    assert row.pk not in outbox_deliver([row.pk], drain=100).sent  # drains the ticket's other mail only
    assert row.message_id not in sink.message_ids()

    frozen.advance(seconds=1)
    assert outbox_deliver([row.pk]).sent == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (OutboxState.SENT, 2, "")
    assert sink.message_ids()[row.message_id] == 1


@pytest.mark.parametrize("retry", ["service", "command"])
def test_deliver_past_max_attempts_fails_and_retry_delivers(cast, make_ticket, sink, frozen, settings, retry):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    row = _row(make_ticket(), catalog.NEW_FOR_AUTHOR)
    sink.refuse_next(100)

    assert outbox_deliver([row.pk]).retried == [row.pk]
    frozen.advance(seconds=30)
    assert outbox_deliver([row.pk]).failed == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts) == (OutboxState.FAILED, 2) and REFUSAL[4:] in row.last_error
    frozen.advance(hours=2)
    assert outbox_deliver(None, drain=100).sent == []  # failed mail waits for a person

    sink.refuse_next(0)
    if retry == "service":
        assert outbox_retry(ids=[row.pk]) == 1
    else:
        assert "1 message(s) queued again" in _run("outbox", "--retry", str(row.pk))
    row.refresh_from_db()
    assert row.state == OutboxState.PENDING
    assert outbox_deliver([row.pk]).sent == [row.pk]
    row.refresh_from_db()
    assert row.state == OutboxState.SENT and sink.message_ids() == {row.message_id: 1}


def test_outbox_command_retry_of_sent_message_is_an_error(cast, make_ticket, sink):
    row = _row(make_ticket(), catalog.NEW_FOR_AUTHOR)
    outbox_deliver([row.pk])
    with pytest.raises(CommandError, match="None of these messages"):
        _run("outbox", "--retry", str(row.pk))


def test_deliver_connection_refused_leaves_mail_pending_with_the_error(cast, make_ticket, settings, frozen):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    ticket = make_ticket()
    rows = _rows(ticket)

    report = outbox_deliver([r.pk for r in rows])

    assert sorted(report.retried) == [r.pk for r in rows] and not report.sent
    for row in _rows(ticket):
        assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
        assert "ConnectionRefused" in row.last_error or "refused" in row.last_error.lower()
        assert row.next_attempt_at == clock.now() + timedelta(seconds=30)


# -- the lease -----------------------------------------------------------------------------------------------
def test_deliver_claimed_mail_waits_for_the_lease_then_sends_once(cast, make_ticket, sink, frozen, settings):
    settings.OUTBOX_LEASE_SECONDS = 120
    row = _row(make_ticket(), catalog.NEW_FOR_AUTHOR)
    # A worker claims the row and dies before sending it.
    assert [r.pk for r in outbox_claim([row.pk])] == [row.pk]
    row.refresh_from_db()
    assert row.state == OutboxState.SENDING and row.lease_until == clock.now() + timedelta(seconds=120)

    frozen.advance(seconds=119)
    assert row.pk not in outbox_deliver([row.pk], drain=100).sent  # drains the ticket's other mail only
    assert row.message_id not in sink.message_ids()

    frozen.advance(seconds=2)
    assert row.pk in outbox_deliver(None, drain=100).sent
    row.refresh_from_db()
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)
    assert sink.message_ids()[row.message_id] == 1


class _StallingBackend(locmem.EmailBackend):
    """Locmem mail whose first message takes longer than the lease; meanwhile another worker delivers."""

    stalled = False
    clock_mover = None

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        if not _StallingBackend.stalled:
            _StallingBackend.stalled = True
            _StallingBackend.clock_mover.advance(seconds=django_settings.OUTBOX_LEASE_SECONDS + 1)
            outbox_deliver(None, drain=100)  # the sweep hands the expired claims to another worker
        return sent


def test_deliver_batch_outliving_its_lease_leaves_the_rest_to_the_new_claimant(
    cast, make_ticket, settings, frozen, monkeypatch
):
    settings.EMAIL_BACKEND = f"{__name__}._StallingBackend"
    monkeypatch.setattr(_StallingBackend, "stalled", False)
    monkeypatch.setattr(_StallingBackend, "clock_mover", frozen)
    rows = _rows(make_ticket()) + _rows(make_ticket())

    outbox_deliver(None, drain=100)

    copies = Counter(m.extra_headers["Message-ID"] for m in mail.outbox)
    assert set(copies) == {r.message_id for r in rows}
    # Only the message in flight when the lease ran out goes twice; the stalled worker sends no more.
    assert sorted(copies.values()) == [1, 1, 1, 2]
    assert copies[rows[0].message_id] == 2
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}


# -- after commit only ---------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_ticket_create_rolled_back_writes_no_mail_and_queues_no_delivery(cast, make_ticket, queue):
    with pytest.raises(RuntimeError, match="boom"), transaction.atomic():
        make_ticket(title="Never happened")
        assert OutboxMessage.objects.count() == 2  # written inside the transaction...
        raise RuntimeError("boom")
    assert OutboxMessage.objects.count() == 0  # ...and gone with it
    assert queue.pending_count() == 0

    make_ticket(title="Committed")  # the control: a commit queues one delivery of everything due

    assert [t.args for t in queue.pending()] == [()]


def test_ticket_create_registers_one_callback_that_queues_the_delivery(
    cast, make_ticket, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_ticket()
    assert len(callbacks) == 1 and queue.pending_count() == 0

    callbacks[0]()

    [task] = queue.pending()
    assert task.name.endswith("outbox_deliver_task") and task.args == ()


def test_delivery_requests_of_a_burst_queue_one_job_until_it_starts(
    cast, make_ticket, queue, sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = make_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        second = make_ticket()
    [task] = queue.pending()  # the second change found a delivery queued and not started: it covers both

    assert outbox_deliver_task.call_local(*task.args) == 4
    assert sink.message_ids() == {r.message_id: 1 for r in _rows(first) + _rows(second)}
    queue.dequeue()

    with django_capture_on_commit_callbacks(execute=True):
        make_ticket()  # the job started (and finished): new mail asks for a new one
    assert [t.args for t in queue.pending()] == [()]


def test_outbox_sweep_clears_a_request_whose_job_was_lost(
    cast, make_ticket, queue, sink, django_capture_on_commit_callbacks
):
    queue.storage.put_if_empty(DELIVERY_REQUESTED, b"1")  # as if the enqueue after it had failed
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
    assert queue.pending_count() == 0  # the stale flag swallowed the request...

    outbox_sweep_task.call_local()  # ...the sweep (every minute) queues the due rows all the same

    [task] = queue.pending()
    assert outbox_deliver_task.call_local(*task.args) == 2
    assert sink.message_ids() == {r.message_id: 1 for r in _rows(ticket)}
    queue.dequeue()
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket()  # and requests work again
    assert [t.args for t in queue.pending()] == [()]


def test_deliver_task_of_a_committed_change_delivers_to_the_server(
    cast, make_ticket, queue, sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
    task = queue.dequeue()

    # What the consumer runs, minus djhuey's connection closing (the test's transaction must survive).
    sent = outbox_deliver_task.call_local(*task.args)

    rows = _rows(ticket)
    assert sent == 2 and queue.pending_count() == 0
    assert sink.message_ids() == {r.message_id: 1 for r in rows}
    assert {r.state for r in rows} == {OutboxState.SENT}


def test_deliver_task_refused_mail_schedules_its_retry(cast, make_ticket, queue, sink, frozen):
    row = _row(make_ticket(), catalog.NEW_FOR_AUTHOR)
    sink.refuse_next(1)

    assert outbox_deliver_task.call_local([row.pk]) == 1  # the ticket's other mail, drained along

    [scheduled] = queue.pending()  # the consumer moves it to its schedule when it reads the eta
    assert scheduled.args == ([row.pk],)
    # Huey keeps naive UTC times; the retry is due with the row, 30 s after the refusal.
    wait = scheduled.eta - timezone.now().replace(tzinfo=None)
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)


# -- otklik outbox -------------------------------------------------------------------------------------------
JSON_KEYS = {
    "id",
    "event",
    "ticket",
    "to",
    "cc",
    "bcc",
    "subject",
    "body",
    "state",
    "attempts",
    "last_error",
    # Printed beyond the list:
    "message_id",
    "language",
    "created_at",
    "sent_at",
}


def test_outbox_command_json_lists_filters_and_delivers(cast, make_ticket, sink):
    first, second = make_ticket(title="Первое"), make_ticket(title="Второе")
    author_row = _row(first, catalog.NEW_FOR_AUTHOR)
    outbox_deliver([author_row.pk])

    listed = json.loads(_run("outbox", "--json"))

    assert isinstance(listed, list) and len(listed) == 4
    assert all(set(item) == JSON_KEYS for item in listed)
    item = next(i for i in listed if i["id"] == author_row.pk)
    assert item["event"] == catalog.NEW_FOR_AUTHOR and item["ticket"] == first.pk
    assert (item["to"], item["cc"], item["bcc"]) == (["client@example.com"], [], [])
    assert item["subject"].startswith(f"[TID#{first.pk}]") and "Первое" in item["subject"]
    assert item["body"] == author_row.body_text
    assert (item["state"], item["attempts"], item["last_error"]) == ("sent", 1, None)
    assert [i["id"] for i in json.loads(_run("outbox", "--json", "--state", "sent"))] == [author_row.pk]
    by_ticket = json.loads(_run("outbox", "--json", "--ticket", str(second.pk)))
    assert sorted(i["id"] for i in by_ticket) == [r.pk for r in _rows(second)]
    assert all(i["state"] == "pending" for i in by_ticket)

    assert _run("outbox", "--deliver").strip() == "sent 3, to retry 0, failed 0"

    assert sink.count() == 4 and set(sink.message_ids().values()) == {1}
    assert json.loads(_run("outbox", "--json", "--state", "pending")) == []
    assert "The outbox is empty." in _run("outbox", "--state", "failed")


# -- OTKLIK_SMTP_URL -----------------------------------------------------------------------------------------
def _settings_with(monkeypatch, tmp_path, smtp_url: str | None) -> dict:
    """Execute settings.py afresh with this environment (Django's own settings stay untouched)."""
    monkeypatch.setenv("OTKLIK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OTKLIK_EMAIL_BACKEND", raising=False)
    if smtp_url is None:
        monkeypatch.delenv("OTKLIK_SMTP_URL", raising=False)
    else:
        monkeypatch.setenv("OTKLIK_SMTP_URL", smtp_url)
    return runpy.run_path(str(SETTINGS_FILE))


SMTP = "otklik.notifications.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, False, False, "", "", 30)),
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, False, False, "", "", 30)),
        ("smtp://mail.example.com?starttls=1", ("mail.example.com", 587, True, False, "", "", 30)),
        (
            "smtp://helpdesk%40example.com:p%40ss%3Aw%2Frd@mail.example.com:2587?starttls=yes&timeout=5",
            ("mail.example.com", 2587, True, False, "helpdesk@example.com", "p@ss:w/rd", 5),
        ),
        (
            "smtps://user:secret@mail.example.com",
            ("mail.example.com", 465, False, True, "user", "secret", 30),
        ),
        # Implicit TLS wins over STARTTLS: Django refuses both at once.
        ("smtps://mail.example.com:2465?starttls=1", ("mail.example.com", 2465, False, True, "", "", 30)),
    ],
)
def test_settings_smtp_url_sets_the_smtp_backend(monkeypatch, tmp_path, url, expected):
    values = _settings_with(monkeypatch, tmp_path, url)
    assert values["EMAIL_BACKEND"] == SMTP
    names = ("HOST", "PORT", "USE_TLS", "USE_SSL", "HOST_USER", "HOST_PASSWORD", "TIMEOUT")
    assert tuple(values[f"EMAIL_{name}"] for name in names) == expected


def test_settings_smtp_url_with_another_scheme_is_refused(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"smtp:// or smtps://, not http://"):
        _settings_with(monkeypatch, tmp_path, "http://mail.example.com")


def test_settings_without_smtp_url_write_mail_files_in_the_data_directory(monkeypatch, tmp_path):
    values = _settings_with(monkeypatch, tmp_path, None)
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert values["EMAIL_FILE_PATH"] == tmp_path.resolve() / "mail"
