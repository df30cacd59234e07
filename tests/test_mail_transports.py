"""Mail transports against real servers: IMAP and POP3 polling (Dovecot), the SMTP/LMTP listener (smtplib)."""

from __future__ import annotations

import smtplib

import pytest

from otklik.mail import transports
from otklik.mail.models import InboundMail, Mailbox, Outcome, PopSeen
from otklik.mail.transports import mail_process_pending, mailbox_poll
from otklik.tickets.models import Ticket
from tests.dovecot import DroppingProxy
from tests.test_mail_ingest import mail

pytestmark = pytest.mark.django_db


def box(
    server, account, protocol: str, *, port: int | None = None, security: str = Mailbox.Security.PLAIN, **rule
) -> Mailbox:
    return Mailbox.objects.create(
        code=f"{protocol}-{account.user}"[:50],
        name=account.user,
        protocol=protocol,
        host=server.host,
        port=port or (server.imap_port if protocol == "imap" else server.pop3_port),
        security=security,
        username=account.user,
        password=account.password,
        **rule,
    )


def subjects() -> list[str]:
    return sorted(Ticket.objects.values_list("title", flat=True))


# -- IMAP ------------------------------------------------------------------------------------------------------
def test_imap_poll_takes_new_mail_once_and_keeps_the_cursor(cast, dovecot_server, mailbox_user):
    for n in range(3):
        dovecot_server.append(mailbox_user.user, mail(subject=f"IMAP {n}"))
    mailbox = box(dovecot_server, mailbox_user, "imap")

    report = mailbox_poll(mailbox)

    assert report.error == "" and report.fetched == 3 and report.outcomes == {"created": 3}
    assert subjects() == ["IMAP 0", "IMAP 1", "IMAP 2"]
    mailbox.refresh_from_db()
    assert mailbox.last_uid == max(dovecot_server.uids(mailbox_user.user)) and mailbox.uid_validity
    assert dovecot_server.count(mailbox_user.user) == 3  # kept on the server (delete is off)

    # A restart: a fresh Mailbox object, same row. Nothing is taken twice, new mail is.
    assert mailbox_poll(Mailbox.objects.get(pk=mailbox.pk)).fetched == 0
    dovecot_server.append(mailbox_user.user, mail(subject="IMAP 3"))
    assert mailbox_poll(Mailbox.objects.get(pk=mailbox.pk)).fetched == 1
    assert InboundMail.objects.count() == 4 and Ticket.objects.count() == 4


def test_imap_poll_delete_after_fetch_empties_the_folder(cast, dovecot_server, mailbox_user):
    for n in range(2):
        dovecot_server.append(mailbox_user.user, mail(subject=f"Delete {n}"))
    report = mailbox_poll(box(dovecot_server, mailbox_user, "imap", delete_after_fetch=True))
    assert report.fetched == 2 and dovecot_server.count(mailbox_user.user) == 0


@pytest.mark.parametrize(
    ("batch_bytes", "stored_before_the_cut"),
    [(1, 1), (transports.BATCH_BYTES, 0)],
    ids=["one message per fetch", "one batch"],
)
def test_imap_poll_connection_dropped_mid_fetch_loses_nothing_and_takes_nothing_twice(
    cast, dovecot_server, mailbox_user, monkeypatch, batch_bytes, stored_before_the_cut
):
    """A cut fetch stores nothing of its batch; what earlier batches stored stays, and nothing comes twice."""
    monkeypatch.setattr(transports, "BATCH_BYTES", batch_bytes)
    dovecot_server.append(mailbox_user.user, mail(subject="Small first"))
    dovecot_server.append(mailbox_user.user, mail(subject="Big", body="Строка письма.\n" * 20_000))
    dovecot_server.append(mailbox_user.user, mail(subject="Small last"))
    with DroppingProxy(dovecot_server.host, dovecot_server.imap_port, drop_after_bytes=60_000) as proxy:
        mailbox = box(dovecot_server, mailbox_user, "imap", port=proxy.port)

        cut = mailbox_poll(mailbox)

        assert cut.error and cut.fetched == stored_before_the_cut  # the big one was cut half-way
        assert Mailbox.objects.get(pk=mailbox.pk).last_error
        proxy.drop_after_bytes = None
        again = mailbox_poll(Mailbox.objects.get(pk=mailbox.pk))

    assert again.error == "" and again.fetched == 3 - stored_before_the_cut
    assert subjects() == ["Big", "Small first", "Small last"]
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == ""


def test_imap_poll_wrong_password_records_the_error(cast, dovecot_server, mailbox_user):
    mailbox = box(dovecot_server, mailbox_user, "imap")
    mailbox.password = "wrong"
    report = mailbox_poll(mailbox)
    assert report.fetched == 0 and "authentication" in report.error.lower() or "login" in report.error.lower()
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == report.error


def test_imap_poll_poison_message_does_not_block_the_rest(cast, dovecot_server, mailbox_user):
    dovecot_server.append(mailbox_user.user, mail(subject="Before"))
    dovecot_server.append(mailbox_user.user, mail(sender="", subject="No sender"))
    dovecot_server.append(mailbox_user.user, mail(subject="After"))
    report = mailbox_poll(box(dovecot_server, mailbox_user, "imap"))
    assert report.outcomes == {"created": 2, "quarantined": 1}
    assert subjects() == ["After", "Before"]


# -- POP3 ------------------------------------------------------------------------------------------------------
def test_pop3_poll_takes_new_mail_once_by_uidl(cast, dovecot_server, mailbox_user):
    for n in range(3):
        dovecot_server.append(mailbox_user.user, mail(subject=f"POP {n}"))
    mailbox = box(dovecot_server, mailbox_user, "pop3")

    assert mailbox_poll(mailbox).fetched == 3
    assert mailbox_poll(Mailbox.objects.get(pk=mailbox.pk)).fetched == 0  # after a restart too
    assert PopSeen.objects.filter(mailbox=mailbox).count() == 3
    dovecot_server.append(mailbox_user.user, mail(subject="POP 3"))
    assert mailbox_poll(Mailbox.objects.get(pk=mailbox.pk)).fetched == 1
    assert subjects() == ["POP 0", "POP 1", "POP 2", "POP 3"]


def test_pop3_poll_delete_after_fetch_removes_from_server_and_forgets_the_ids(
    cast, dovecot_server, mailbox_user
):
    for n in range(2):
        dovecot_server.append(mailbox_user.user, mail(subject=f"POP delete {n}"))
    mailbox = box(dovecot_server, mailbox_user, "pop3", delete_after_fetch=True)
    assert mailbox_poll(mailbox).fetched == 2
    assert dovecot_server.count(mailbox_user.user) == 0
    mailbox_poll(mailbox)
    assert PopSeen.objects.filter(mailbox=mailbox).count() == 0


def test_pop3_poll_connection_dropped_mid_retr_resumes_without_duplicates(cast, dovecot_server, mailbox_user):
    dovecot_server.append(mailbox_user.user, mail(subject="First"))
    dovecot_server.append(mailbox_user.user, mail(subject="Big", body="Строка.\n" * 20_000))
    with DroppingProxy(dovecot_server.host, dovecot_server.pop3_port, drop_after_bytes=40_000) as proxy:
        mailbox = box(dovecot_server, mailbox_user, "pop3", port=proxy.port)
        assert mailbox_poll(mailbox).error
        proxy.drop_after_bytes = None
        mailbox_poll(Mailbox.objects.get(pk=mailbox.pk))
    assert subjects() == ["Big", "First"]


# -- stored but not processed ------------------------------------------------------------------------------------
def test_process_pending_finishes_mail_stored_by_a_process_that_died(cast):
    from datetime import timedelta

    from otklik.core import clock
    from otklik.mail.services import mail_receive

    inbound = mail_receive(mail(subject="Stored, then the process died"))
    with clock.frozen(clock.now() + timedelta(minutes=5)):
        assert mail_process_pending() == 1
    assert InboundMail.objects.get(pk=inbound.pk).outcome == Outcome.CREATED


# -- SMTP / LMTP listener ----------------------------------------------------------------------------------------
@pytest.fixture(params=["smtp", "lmtp"])
def listener(request):
    """The listener of `otklik smtpd` (its handler and controller) on a free port, SMTP or LMTP."""
    from aiosmtpd.controller import Controller

    from otklik.mail.management.commands.smtpd import IngestHandler, _LmtpController
    from tests.helpers import free_port

    kind = Controller if request.param == "smtp" else _LmtpController
    controller = kind(IngestHandler(None), hostname="127.0.0.1", port=free_port(), ready_timeout=30)
    controller.start()
    yield request.param, controller.port
    controller.stop()


def _client(protocol: str, port: int) -> smtplib.SMTP:
    return (
        smtplib.LMTP("127.0.0.1", port) if protocol == "lmtp" else smtplib.SMTP("127.0.0.1", port, timeout=30)
    )


@pytest.mark.django_db(transaction=True)
def test_listener_accepts_mail_once_stored_and_makes_tickets(cast, listener):
    protocol, port = listener
    with _client(protocol, port) as client:
        refused = client.sendmail(
            "petr@customer.example", ["support@otklik.localhost"], mail(subject="По SMTP")
        )
        code, reply = client.noop()
    assert refused == {} and code == 250
    assert subjects() == ["По SMTP"]
    inbound = InboundMail.objects.get()
    assert inbound.outcome == Outcome.CREATED and inbound.source.startswith("smtp from 127.0.0.1")


@pytest.mark.django_db(transaction=True)
def test_listener_several_messages_in_one_session_each_taken_in(cast, listener):
    protocol, port = listener
    with _client(protocol, port) as client:
        for n in range(3):
            client.sendmail(
                "petr@customer.example", ["support@otklik.localhost"], mail(subject=f"Сессия {n}")
            )
    assert subjects() == ["Сессия 0", "Сессия 1", "Сессия 2"]


def test_smtpd_command_unknown_mailbox_is_an_error(cast):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown mailbox"):
        call_command("smtpd", "--mailbox", "nope")


def test_imap_poll_fetches_in_batches_within_the_budget(cast, dovecot_server, mailbox_user, monkeypatch):
    """Many small mails come in few round trips and commits; the cursor ends after the last one."""
    monkeypatch.setattr(transports, "BATCH_MESSAGES", 4)
    fetches: list[int] = []
    real_fetch = transports._imap_fetch
    monkeypatch.setattr(
        transports, "_imap_fetch", lambda conn, uids: fetches.append(len(uids)) or real_fetch(conn, uids)
    )
    for n in range(10):
        dovecot_server.append(mailbox_user.user, mail(subject=f"Batch {n:02d}"))
    mailbox = box(dovecot_server, mailbox_user, "imap", delete_after_fetch=True)

    report = mailbox_poll(mailbox)

    assert report.error == "" and report.fetched == 10 and fetches == [4, 4, 2]
    assert subjects() == [f"Batch {n:02d}" for n in range(10)]
    assert list(InboundMail.objects.order_by("pk").values_list("subject", flat=True)) == subjects()
    assert dovecot_server.count(mailbox_user.user) == 0  # every fetched one deleted, none other
    assert mailbox_poll(Mailbox.objects.get(pk=mailbox.pk)).fetched == 0
