"""Mail intake (F-15): new tickets, replies, threading, the sender check, robots, loops, quarantine, the CLI."""

from __future__ import annotations

import io
import json
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.core.management import call_command

from otklik.core import clock
from otklik.mail import services as mail_services
from otklik.mail.models import AppendSecurity, InboundMail, Mailbox, Outcome
from otklik.mail.services import gateway_user, mail_ingest, mail_reprocess
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from otklik.tickets import services
from otklik.tickets.fields import BODY_MAX
from otklik.tickets.models import Attachment, Channel, Message, MessageKind, Ticket

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
# A real winmail.dat from Outlook (the corpus keeps TNEF blobs as they are; see its README).
TNEF_FILE = CORPUS / "tnefparse" / "two-files.tnef"
TNEF = TNEF_FILE.read_bytes() if TNEF_FILE.exists() else b"\x78\x9f\x3e\x22\x00\x00 TNEF stand-in"


def mail(
    *,
    sender: str = "Пётр Сидоров <petr@customer.example>",
    subject: str = "Не работает вход",
    body: str = "Здравствуйте! Не могу войти в личный кабинет.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    """Build a message the way a mail client would (UTF-8, encoded words, a fresh Message-ID)."""
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = "support@otklik.localhost"
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def author_mail(ticket: Ticket) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            ticket_id=ticket.pk,
            event__in=[
                catalog.NEW_FOR_AUTHOR,
                catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR,
                catalog.CHANGED_BY_AUTHOR_FOR_AUTHOR,
            ],
        )
    )


# -- new tickets ---------------------------------------------------------------------------------------------
def test_ingest_unknown_sender_creates_anonymous_ticket_and_acknowledges_it(cast):
    result = mail_ingest(mail())

    assert result.outcome == Outcome.CREATED and result.reason is None
    ticket = Ticket.objects.get(pk=result.ticket)
    assert ticket.title == "Не работает вход"
    assert ticket.author is None and ticket.author_email == "petr@customer.example"
    assert ticket.created_via == Channel.EMAIL and ticket.created_by == gateway_user()
    assert ticket.source is not None and ticket.source.code == "email"
    first = ticket.messages.get(number=1)
    assert first.body == "Здравствуйте! Не могу войти в личный кабинет." and not first.by_support
    [ack] = author_mail(ticket)
    assert ack.to == ["petr@customer.example"] and ack.subject.startswith(f"[TID#{ticket.pk}]")
    inbound = InboundMail.objects.get(pk=result.inbound)
    assert (inbound.ticket_id, inbound.ticket_message_id, inbound.outcome) == (ticket.pk, first.pk, "created")


def test_ingest_keeps_the_raw_bytes_exactly(cast):
    raw = mail(subject="Bytes")
    result = mail_ingest(raw)
    assert bytes(InboundMail.objects.get(pk=result.inbound).raw) == raw


def test_ingest_registered_sender_is_the_author(cast):
    result = mail_ingest(mail(sender=f"Ivan <{cast.client.email.upper()}>"))
    ticket = Ticket.objects.get(pk=result.ticket)
    assert ticket.author == cast.client and ticket.author_email == cast.client.email


def test_ingest_user_lookup_off_keeps_the_address_only(cast):
    box = Mailbox.objects.create(code="support", name="Support", protocol="pipe", user_lookup=False)
    result = mail_ingest(mail(sender=cast.client.email), mailbox=box)
    ticket = Ticket.objects.get(pk=result.ticket)
    assert ticket.author is None and ticket.author_email == cast.client.email


def test_ingest_no_subject_takes_title_from_the_first_50_characters(cast):
    body = "Добрый день. " * 10
    ticket = Ticket.objects.get(pk=mail_ingest(mail(subject="", body=body)).ticket)
    assert ticket.title == " ".join(body.split())[:50]


def test_ingest_mailbox_rule_sets_category_and_criticality(cast):
    from otklik.dictionaries.models import DictionaryEntry

    category = DictionaryEntry.objects.get(kind="category", code="payment")
    criticality = DictionaryEntry.objects.get(kind="criticality", code="high")
    box = Mailbox.objects.create(
        code="billing", name="Billing", protocol="pipe", category=category, criticality=criticality
    )
    ticket = Ticket.objects.get(pk=mail_ingest(mail(), mailbox=box).ticket)
    assert (ticket.category, ticket.criticality) == (category, criticality)


def test_ingest_attachments_of_any_type_are_kept_as_files(cast):
    raw = mail(
        attachments=[
            (
                "отчёт.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                b"PK\x03\x04docx",
            ),
            ("winmail.dat", "application/ms-tnef", TNEF),
            ("log.txt", "text/plain", "строка журнала\n".encode()),
        ]
    )
    ticket = Ticket.objects.get(pk=mail_ingest(raw).ticket)
    files = {a.name: a for a in Attachment.objects.filter(message__ticket=ticket)}
    assert set(files) == {"отчёт.docx", "winmail.dat", "log.txt"}
    assert files["winmail.dat"].content_type == "application/octet-stream"  # only ever a download
    with files["winmail.dat"].file.open("rb") as stored:
        assert stored.read() == TNEF
    assert files["log.txt"].content_type.startswith("text/plain")


# -- replies and threading -----------------------------------------------------------------------------------
@pytest.fixture
def anonymous_ticket(cast) -> Ticket:
    return Ticket.objects.get(pk=mail_ingest(mail()).ticket)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: [TID#{id}] Не работает вход",
        "RE: RE: [TID#{id}] Не работает вход",
        "Fwd: [TID#{id}]",
        "Ответ: вопрос по обращению [TID#{id}] — ещё",
        "[tid#{id}] lower case marker",
    ],
)
def test_ingest_reply_with_the_marker_anywhere_is_appended(anonymous_ticket, subject):
    result = mail_ingest(mail(subject=subject.format(id=anonymous_ticket.pk), body="Спасибо, помогло."))
    assert result.outcome == Outcome.APPENDED and result.ticket == anonymous_ticket.pk
    last = anonymous_ticket.messages.order_by("-number").first()
    assert last.body == "Спасибо, помогло." and last.author is None and not last.by_support
    assert last.author_email == "petr@customer.example" and last.via == Channel.EMAIL


def test_ingest_reply_threaded_by_headers_only_is_appended(anonymous_ticket):
    ours = OutboxMessage.objects.filter(ticket_id=anonymous_ticket.pk).first().message_id
    raw = mail(subject="Re: без номера", headers={"In-Reply-To": ours, "References": ours})
    result = mail_ingest(raw)
    assert (result.outcome, result.ticket) == (Outcome.APPENDED, anonymous_ticket.pk)


def test_ingest_reply_to_a_stored_incoming_mail_is_appended(cast):
    first_id = make_msgid(domain="customer.example")
    ticket_id = mail_ingest(mail(message_id=first_id)).ticket
    raw = mail(subject="Дополнение", headers={"References": f"<unknown@else.example> {first_id}"})
    assert mail_ingest(raw).ticket == ticket_id


def test_ingest_reply_to_a_closed_ticket_reopens_it(anonymous_ticket, cast):
    services.ticket_close(actor=cast.admin, ticket=anonymous_ticket)
    result = mail_ingest(mail(subject=f"Re: [TID#{anonymous_ticket.pk}]", body="Снова не работает."))
    anonymous_ticket.refresh_from_db()
    assert result.outcome == Outcome.APPENDED and anonymous_ticket.closed_at is None
    assert anonymous_ticket.awaits_support


def test_ingest_forged_reply_from_another_address_opens_a_new_ticket(anonymous_ticket):
    before = anonymous_ticket.messages.count()
    raw = mail(
        sender="mallory@evil.example", subject=f"Re: [TID#{anonymous_ticket.pk}]", body="Закройте всё."
    )
    result = mail_ingest(raw)
    assert result.outcome == Outcome.CREATED and result.ticket != anonymous_ticket.pk
    assert anonymous_ticket.messages.count() == before
    assert Ticket.objects.get(pk=result.ticket).author_email == "mallory@evil.example"


def test_ingest_forged_reply_threaded_by_headers_opens_a_new_ticket(anonymous_ticket):
    ours = OutboxMessage.objects.filter(ticket_id=anonymous_ticket.pk).first().message_id
    result = mail_ingest(mail(sender="mallory@evil.example", headers={"In-Reply-To": ours}))
    assert result.outcome == Outcome.CREATED and result.ticket != anonymous_ticket.pk


def test_ingest_reply_to_header_is_the_sender(anonymous_ticket):
    raw = mail(
        sender="Robot <noreply@crm.example>",
        subject=f"Re: [TID#{anonymous_ticket.pk}]",
        headers={"Reply-To": "petr@customer.example"},
    )
    assert mail_ingest(raw).outcome == Outcome.APPENDED


@pytest.mark.parametrize(
    ("security", "sender", "appended"),
    [
        (AppendSecurity.ADDRESS, "anna@customer.example", False),
        (AppendSecurity.DOMAIN, "anna@customer.example", True),
        (AppendSecurity.DOMAIN, "anna@other.example", False),
        (AppendSecurity.ANYONE, "anna@other.example", True),
    ],
)
def test_ingest_append_security_decides_who_may_add(cast, security, sender, appended):
    box = Mailbox.objects.create(code="rules", name="Rules", protocol="pipe", append_security=security)
    ticket_id = mail_ingest(mail(), mailbox=box).ticket
    result = mail_ingest(mail(sender=sender, subject=f"Re: [TID#{ticket_id}]"), mailbox=box)
    assert (result.outcome == Outcome.APPENDED) is appended
    assert (result.ticket == ticket_id) is appended


def test_ingest_support_member_answering_by_mail_is_support_answer(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    result = mail_ingest(mail(sender=cast.staff.email, subject=f"Re: [TID#{ticket.pk}]", body="Исправили."))
    assert result.outcome == Outcome.APPENDED
    last = ticket.messages.order_by("-number").first()
    assert last.author == cast.staff and last.by_support


def test_ingest_registered_author_reply_is_theirs_and_gets_their_copy_only(cast, make_ticket):
    ticket = make_ticket()
    result = mail_ingest(mail(sender=cast.client.email, subject=f"Re: [TID#{ticket.pk}]", body="Ещё деталь."))
    assert result.outcome == Outcome.APPENDED
    last = ticket.messages.order_by("-number").first()
    assert last.author == cast.client and last.posted_by == gateway_user() and not last.by_support
    events = set(OutboxMessage.objects.filter(ticket_id=ticket.pk).values_list("event", flat=True))
    assert catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR not in events  # the client's own words are not "support's"


def test_ingest_rule_add_hidden_adds_hidden_message_and_no_author_mail(anonymous_ticket):
    box = Mailbox.objects.create(code="hide", name="Hide", protocol="pipe", add_hidden=True)
    sent_before = len(author_mail(anonymous_ticket))
    mail_ingest(mail(subject=f"Re: [TID#{anonymous_ticket.pk}]", body="Скрытое."), mailbox=box)
    last = anonymous_ticket.messages.order_by("-number").first()
    assert last.kind == MessageKind.HIDDEN and len(author_mail(anonymous_ticket)) == sent_before


# -- robots, loops, duplicates -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Auto-Response-Suppress": "All"},
        {"Return-Path": "<>"},
    ],
)
def test_ingest_automatic_mail_gets_no_answer(cast, headers):
    result = mail_ingest(mail(subject="Автоответ: в отпуске", headers=headers))
    assert result.outcome == Outcome.CREATED
    assert author_mail(Ticket.objects.get(pk=result.ticket)) == []


def test_ingest_bounce_is_quarantined_and_answers_nobody(cast):
    raw = mail(
        sender="MAILER-DAEMON@mx.customer.example",
        subject="Undelivered Mail Returned to Sender",
        headers={"Auto-Submitted": "auto-replied"},
    )
    before = OutboxMessage.objects.count()
    result = mail_ingest(raw)
    assert (result.outcome, result.reason) == (Outcome.QUARANTINED, "bounce")
    assert OutboxMessage.objects.count() == before and Ticket.objects.count() == 0


def test_ingest_our_own_notification_is_quarantined_not_answered(anonymous_ticket):
    from otklik.notifications.delivery import email_of

    row = OutboxMessage.objects.filter(ticket_id=anonymous_ticket.pk).first()
    own = email_of(row).message().as_bytes()
    before = (Message.objects.count(), OutboxMessage.objects.count())
    result = mail_ingest(own)
    assert (result.outcome, result.reason) == (Outcome.QUARANTINED, "own_mail")
    assert (Message.objects.count(), OutboxMessage.objects.count()) == before


def test_ingest_same_message_id_twice_is_a_duplicate(cast):
    raw = mail(message_id="<once@customer.example>")
    first = mail_ingest(raw)
    again = mail_ingest(raw)
    assert (again.outcome, again.ticket, again.reason) == (Outcome.DUPLICATE, first.ticket, "message_id")
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    assert InboundMail.objects.count() == 2  # the copy is kept too, marked


def test_ingest_without_sender_is_quarantined(cast):
    result = mail_ingest(mail(sender=""))
    assert (result.outcome, result.ticket, result.reason) == (Outcome.QUARANTINED, None, "no_sender")
    assert InboundMail.objects.get(pk=result.inbound).reason_text


def test_ingest_not_a_mail_is_quarantined_and_kept(cast):
    result = mail_ingest(b"\x00\x01 garbage")
    assert result.outcome == Outcome.QUARANTINED
    assert bytes(InboundMail.objects.get(pk=result.inbound).raw) == b"\x00\x01 garbage"


def test_ingest_larger_than_the_option_is_quarantined(cast):
    from otklik.tickets.models import ModuleOptions

    ModuleOptions.objects.update_or_create(pk=1, defaults={"mail_max_size_mb": 1})
    result = mail_ingest(mail(attachments=[("big.zip", "application/zip", b"PK" + b"x" * 1_200_000)]))
    assert (result.outcome, result.reason) == (Outcome.QUARANTINED, "too_large")


def test_ingest_failure_quarantines_then_reprocess_after_the_fix_creates(cast, monkeypatch):
    raw = mail(subject="Ядовитое письмо")

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mail_services.ticket_services, "ticket_create", broken)
    result = mail_ingest(raw)
    assert (result.outcome, result.reason) == (Outcome.QUARANTINED, "error")
    inbound = InboundMail.objects.get(pk=result.inbound)
    assert "disk on fire" in inbound.reason_text and inbound.subject == "Ядовитое письмо"
    assert Ticket.objects.count() == 0
    # The next mail of the same mailbox is not blocked by the poison one.
    monkeypatch.undo()
    assert mail_ingest(mail(subject="Следующее")).outcome == Outcome.CREATED

    again = mail_reprocess(actor=cast.admin, inbound=inbound)

    assert again.outcome == Outcome.CREATED
    assert Ticket.objects.get(pk=again.ticket).title == "Ядовитое письмо"
    assert InboundMail.objects.get(pk=inbound.pk).attempts == 2


def test_reprocess_refused_for_non_admins_and_for_processed_mail(cast):
    from otklik.core.errors import PermissionDenied, ValidationFailed

    inbound = InboundMail.objects.get(pk=mail_ingest(mail()).inbound)
    with pytest.raises(PermissionDenied):
        mail_reprocess(actor=cast.staff, inbound=inbound)
    with pytest.raises(ValidationFailed):
        mail_reprocess(actor=cast.admin, inbound=inbound)


# -- the pipe --------------------------------------------------------------------------------------------------
def _ingest_cli(raw: bytes, *args: str, monkeypatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest-mail", *args, stdout=out)
    return out.getvalue()


def test_ingest_mail_command_json_answers_outcome_ticket_reason(cast, monkeypatch):
    created = json.loads(_ingest_cli(mail(), "--json", monkeypatch=monkeypatch))
    assert set(created) == {"outcome", "ticket", "reason"}
    assert created["outcome"] == "created" and Ticket.objects.filter(pk=created["ticket"]).exists()
    assert created["reason"] is None
    quarantined = json.loads(_ingest_cli(mail(sender=""), "--json", monkeypatch=monkeypatch))
    assert quarantined == {"outcome": "quarantined", "ticket": None, "reason": "no_sender"}


def test_ingest_mail_command_mailbox_rule_applies_and_unknown_code_is_an_error(cast, monkeypatch):
    from django.core.management.base import CommandError

    Mailbox.objects.create(code="quiet", name="Quiet", protocol="pipe", user_lookup=False)
    answer = json.loads(
        _ingest_cli(mail(sender=cast.client.email), "--mailbox", "quiet", "--json", monkeypatch=monkeypatch)
    )
    assert Ticket.objects.get(pk=answer["ticket"]).author is None
    with pytest.raises(CommandError, match="unknown mailbox"):
        _ingest_cli(mail(), "--mailbox", "nope", monkeypatch=monkeypatch)


def test_ingest_text_longer_than_a_message_is_cut_and_kept_whole_as_a_file(cast):
    body = "Строка длинного письма.\n" * 10_000  # 240,000 characters, more than a message holds
    result = mail_ingest(mail(subject="Длинное", body=body))
    assert result.outcome == Outcome.CREATED
    first = Ticket.objects.get(pk=result.ticket).messages.get(number=1)
    assert len(first.body) <= BODY_MAX and "message.txt" in first.body
    [whole] = Attachment.objects.filter(message=first)
    with whole.file.open("rb") as stored:
        assert stored.read().decode() == body.strip()


def test_a_mail_processed_meanwhile_by_another_worker_is_not_taken_twice(cast):
    """Processing claims the row when it records the outcome: the loser's ticket is rolled back."""
    first = mail_ingest(mail(subject="Первое"))
    raw = mail(subject="Второе")
    inbound = mail_services.mail_receive(raw, source="test")
    # Another worker finished this mail while we were parsing it (e.g. `mail_process_pending`).
    InboundMail.objects.filter(pk=inbound.pk).update(outcome=Outcome.CREATED, ticket_id=first.ticket)
    tickets = Ticket.objects.count()

    result = mail_services.mail_process(inbound=inbound, raw=raw)

    assert (result.outcome, result.ticket) == (Outcome.CREATED, first.ticket)
    assert Ticket.objects.count() == tickets and not Ticket.objects.filter(title="Второе").exists()
    assert InboundMail.objects.get(pk=inbound.pk).attempts == 0


def test_the_sender_lookup_by_address_is_answered_by_an_index(cast):
    """Every mail looks its sender up case-insensitively; with many users a scan would cost each mail."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    lookup = User.objects.filter(email__iexact="Petr@Customer.EXAMPLE", is_active=True).values_list("pk")
    with transaction.atomic():
        if connection.vendor == "postgresql":  # a test-sized table is cheaper to scan: judge the index alone
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan TO off")
        plan = lookup.explain()
    assert "otklik_user_email_ci" in plan, plan


def test_gateway_account_made_meanwhile_by_another_thread_is_used_not_duplicated(cast, monkeypatch):
    """Two first mails at once both find no gateway account; the second to create it takes the first's."""
    made_first = gateway_user()
    monkeypatch.setattr(mail_services, "config_cached", lambda key, load: None)  # "nobody made it yet"

    again = gateway_user()

    assert again.pk == made_first.pk
    from django.contrib.auth.models import User

    assert User.objects.filter(username=mail_services.GATEWAY_USERNAME).count() == 1
