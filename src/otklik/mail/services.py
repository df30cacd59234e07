"""Take in mail (F-15): keep the raw message first, then make it a ticket or a message, or quarantine it.

`mail_ingest` is the one entry point of every transport (IMAP, POP3, the SMTP/LMTP listener, the stdin
pipe). Its first write commits the bytes as they arrived; processing runs in a second transaction, and any
failure there leaves the mail quarantined with a reason, to be looked at and processed again by an admin.
Tickets and messages are written through the tickets services by the mail channel's system principal
(`gateway_user`, with only the rights mail needs) on behalf of the sender, so the history names the
sender as the actor and says which channel carried it.
"""

from __future__ import annotations

import copy
import io
import logging
import re
import time
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.accounts.principals import MAIL_PRINCIPAL_USERNAME
from otklik.core import clock
from otklik.core.bulk import insert_rows, update_row
from otklik.core.config_cache import config_cached
from otklik.core.errors import DomainError, PermissionDenied, ValidationFailed
from otklik.coupons.services import CouponRefused, coupon_refusal_record
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.mail.models import AppendSecurity, InboundMail, Mailbox, Outcome
from otklik.mail.parsing import MailParseError, ParsedMail, mail_parse
from otklik.mail.threading import (
    is_own_message_id,
    subject_patterns,
    ticket_id_from_references,
    ticket_id_from_subject,
)
from otklik.tickets import services as ticket_services
from otklik.tickets.fields import BODY_MAX
from otklik.tickets.link_selectors import merge_chain_end
from otklik.tickets.models import Channel, Ticket, TicketCc
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import options_cached

log = logging.getLogger(__name__)

GATEWAY_USERNAME = MAIL_PRINCIPAL_USERNAME
TITLE_FROM_BODY = 50  # F-15: no subject -> the first 50 characters of the text
_OWN_HEADER = re.compile(rb"(?im)^x-otklik-event:")
# F-21: a coupon's code in a header of a new mail, or on a line of its own at the start of the text.
_COUPON_HEADER = re.compile(rb"(?im)^(?:x-otklik-coupon|coupon)[ \t]*:[ \t]*([!-~]{1,64})[ \t]*\r?$")
_COUPON_LINE = re.compile(r"(?i)^\s*(?:coupon|купон)\s*:\s*(\S{1,64})\s*$")

# Why a mail was not made a ticket or a message: code -> what an admin reads.
REASONS = {
    "no_sender": gettext_lazy("The message has no usable sender address (From and Reply-To)."),
    "unparseable": gettext_lazy("The message could not be read as e-mail."),
    "too_large": gettext_lazy("The message is larger than the limit in the module options."),
    "too_slow": gettext_lazy("Processing took longer than the limit in the module options."),
    "bounce": gettext_lazy("A delivery failure report (bounce): nobody wrote it, nothing to answer."),
    "own_mail": gettext_lazy("Our own notification came back: taking it in would start a mail loop."),
    "refused": gettext_lazy("The ticket service refused the message."),
    "error": gettext_lazy("Processing failed with an unexpected error."),
    "message_id": gettext_lazy("A message with this Message-ID was already taken in."),
}


# What processing writes on an incoming mail's row (everything but the bytes and how they arrived).
PROCESSED_FIELDS = [
    "message_id",
    "sender",
    "subject",
    "automatic",
    "outcome",
    "reason",
    "reason_text",
    "ticket_id",
    "ticket_message_id",
    "attempts",
    "processed_at",
    "processed_by",
]


@dataclass(frozen=True)
class IngestResult:
    """What became of one incoming mail."""

    inbound: int
    outcome: str
    ticket: int | None = None
    reason: str | None = None
    detail: str = ""

    def as_json(self) -> dict:
        """The `otklik ingest-mail --json` answer: outcome, ticket, reason (a code, or null)."""
        return {"outcome": self.outcome, "ticket": self.ticket, "reason": self.reason}


UNPROCESSED = (Outcome.RECEIVED, Outcome.QUARANTINED)  # what processing may (still) change


class _ProcessedMeanwhile(Exception):
    """Another worker recorded an outcome for the mail while this run processed it."""


class _Quarantine(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def mail_ingest(raw: bytes, *, mailbox: Mailbox | None = None, source: str = "") -> IngestResult:
    """Keep the message, then process it; never raise for anything the message contains."""
    inbound = mail_receive(raw, mailbox=mailbox, source=source)
    return mail_process(inbound=inbound, raw=raw)


@transaction.atomic
def mail_receive(raw: bytes, *, mailbox: Mailbox | None = None, source: str = "") -> InboundMail:
    """Store the message byte for byte (the first write, committed before any processing)."""
    commit_without_waiting()
    inbound = InboundMail(
        mailbox=mailbox, source=source[:255], raw=bytes(raw), size=len(raw), received_at=clock.now()
    )
    insert_rows([inbound])
    return inbound


def commit_without_waiting() -> None:
    """Let this transaction's COMMIT return before PostgreSQL has flushed it to disk.

    Safe for storing a received message: no transport acknowledges a message (SMTP's 250, the pipe's exit
    status, the mailbox cursor, which moves in this same transaction) until processing has committed too,
    and that second commit waits for the flush of both. A crash in between loses at most a copy the
    sender still holds. It saves one disk flush per message, the largest wait in taking mail in.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def mail_reprocess(*, actor: User, inbound: InboundMail) -> IngestResult:
    """Process a quarantined (or still unprocessed) message again, e.g. after a rule was fixed."""
    if not TicketPolicy(actor).is_admin:
        raise PermissionDenied(_("Only support administrators may process mail again."))
    if inbound.outcome not in UNPROCESSED:
        raise ValidationFailed(_("Only quarantined mail can be processed again."))
    return mail_process(inbound=inbound, actor=actor)


def mail_process(
    *,
    inbound: InboundMail,
    actor: User | None = None,
    raw: bytes | None = None,
    parsed: ParsedMail | None = None,
) -> IngestResult:
    """Make the stored message a ticket or a message; on any failure, quarantine it with the reason.

    `raw` is the message's bytes when the caller has them (it just stored them): they are not read back.
    `parsed` is `mail_parse(raw)` when the caller already has it.
    """
    started = time.monotonic()
    try:
        with transaction.atomic():
            if raw is not None:
                row = inbound  # just stored by the caller: _finish claims it, no need to read it back
            else:
                row = InboundMail.objects.select_for_update().get(pk=inbound.pk)
                if row.outcome not in UNPROCESSED:
                    return _result(row)  # processed meanwhile by another worker
            result = _process(row, started, bytes(row.raw) if raw is None else raw, parsed)
            _finish(row, result, actor)
            return result
    except _ProcessedMeanwhile:
        return _result(InboundMail.objects.defer("raw").get(pk=inbound.pk))
    except _Quarantine as stop:
        return _quarantine(inbound, stop.reason, stop.detail, actor)
    except IntegrityError as exc:
        parsed_id = _message_id_of(inbound)
        if parsed_id and _taken(parsed_id) is not None:
            # Another delivery of the same Message-ID was taken in at the same moment (the unique index).
            return _mark(inbound, Outcome.DUPLICATE, "message_id", "", actor)
        log.exception("incoming mail #%s could not be processed", inbound.pk)
        return _quarantine(inbound, "error", f"{type(exc).__name__}: {exc}", actor)
    except CouponRefused as exc:
        # The processing transaction took the refused attempt's log line with it: write it again.
        coupon_refusal_record(exc)
        return _quarantine(inbound, "refused", str(exc), actor)
    except DomainError as exc:
        return _quarantine(inbound, "refused", str(exc), actor)
    except Exception as exc:  # one poison message must never stop the mailbox: keep it, tell the admins
        log.exception("incoming mail #%s could not be processed", inbound.pk)
        return _quarantine(inbound, "error", f"{type(exc).__name__}: {exc}", actor)


def _process(row: InboundMail, started: float, raw: bytes, parsed: ParsedMail | None) -> IngestResult:
    options = options_cached()
    if len(raw) > options.mail_max_size_mb * 1024 * 1024:
        raise _Quarantine("too_large", f"{len(raw)} bytes")
    try:
        parsed = parsed if parsed is not None else mail_parse(raw)
    except MailParseError as exc:
        raise _Quarantine("unparseable", str(exc)) from exc
    _check_time(started, options)
    row.message_id = parsed.message_id[:998]
    row.sender = parsed.sender_address[:254]
    row.subject = parsed.subject[:998]
    row.automatic = parsed.automatic
    if _is_own(parsed, raw):
        raise _Quarantine("own_mail")
    if parsed.automatic == "bounce":
        raise _Quarantine("bounce")
    if not parsed.sender_address or "@" not in parsed.sender_address:
        raise _Quarantine("no_sender")
    earlier = _taken(parsed.message_id) if parsed.message_id else None
    if earlier is not None:
        return IngestResult(row.pk, Outcome.DUPLICATE, earlier or None, "message_id")
    mailbox = row.mailbox
    user = _registered(parsed.sender_address) if _rule(mailbox, "user_lookup", True) else None
    ticket = _ticket_for(parsed, mailbox)
    if ticket is not None and _may_append(ticket, parsed.sender_address, user, mailbox):
        message = _append(ticket, parsed, user, mailbox, row)
        outcome = Outcome.APPENDED
    else:
        ticket, message = _create(parsed, user, mailbox, row, coupon_header=_coupon_header(raw))
        outcome = Outcome.CREATED
    if parsed.cc_addresses and not parsed.automatic and _rule(mailbox, "cc_from_mail", False):
        _cc_from_mail(ticket, parsed, user)
    _check_time(started, options)
    row.ticket_message_id = message.pk
    return IngestResult(row.pk, outcome, ticket.pk)


def _check_time(started: float, options) -> None:
    if time.monotonic() - started > options.mail_max_seconds:
        raise _Quarantine("too_slow", f"{time.monotonic() - started:.1f} s")


def _is_own(parsed: ParsedMail, raw: bytes) -> bool:
    """Our own notification: our Message-ID form, or our event header (a forwarder may change the id)."""
    header_block = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return is_own_message_id(parsed.message_id) or bool(_OWN_HEADER.search(header_block))


def _taken(message_id: str) -> int | None:
    """Return the ticket of an earlier mail with this Message-ID (0 when it had none), or None."""
    rows = InboundMail.objects.filter(
        message_id=message_id, outcome__in=[Outcome.CREATED, Outcome.APPENDED]
    ).values_list("ticket_id", flat=True)[:1]  # the partial unique index answers; no ORDER BY needed
    return next((ticket or 0 for ticket in rows), None)


def _rule(mailbox: Mailbox | None, name: str, default):
    """A rule field of the mailbox; without one (the pipe's default rule) the SPEC's defaults apply."""
    return getattr(mailbox, name) if mailbox is not None else default


def _registered(address: str) -> User | None:
    """The active account that confirmed this address (F-12); an unconfirmed address is nobody's.

    Registering with someone else's address must not make their mail the stranger's tickets.
    """

    def load() -> User | None:
        # Most senders of new mail have no account: ask for ids first, load the one user only if found.
        # The confirmed address is unique (and indexed); the user must still have it as their e-mail.
        ids = list(
            User.objects.filter(
                profile__confirmed_email=address.strip().lower(), email__iexact=address, is_active=True
            ).values_list("pk", flat=True)[:2]
        )
        return User.objects.select_related("profile").get(pk=ids[0]) if len(ids) == 1 else None

    user = config_cached(f"user-by-address:{address.lower()}", load)  # a user's save forgets it
    return copy.copy(user) if user is not None else None


def _ticket_for(parsed: ParsedMail, mailbox: Mailbox | None) -> Ticket | None:
    patterns = subject_patterns(_rule(mailbox, "subject_patterns", ""))
    ticket_id = ticket_id_from_subject(parsed.subject, patterns)
    if ticket_id is None:
        ticket_id = ticket_id_from_references([*parsed.references, *parsed.in_reply_to])
    if ticket_id is None:
        return None
    ticket = next(iter(Ticket.objects.filter(pk=ticket_id).select_related("author")), None)
    # A merged ticket's marker and Message-IDs lead to the ticket it was merged into (issue 18).
    return merge_chain_end(ticket) if ticket is not None else None


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _may_append(ticket: Ticket, sender: str, user: User | None, mailbox: Mailbox | None) -> bool:
    """F-15's append security; support members who work the ticket may always answer by mail."""
    security = _rule(mailbox, "append_security", AppendSecurity.ADDRESS)
    author_address = (
        (ticket.author.email if ticket.author is not None else "") or ticket.author_email or ""
    ).lower()
    sender = sender.lower()
    if security == AppendSecurity.ANYONE:
        return True
    if author_address and sender == author_address:
        return True
    if security == AppendSecurity.DOMAIN and author_address and _domain(sender) == _domain(author_address):
        return True
    if TicketCc.objects.filter(ticket_id=ticket.pk, email=sender).exists():
        return True  # an address copied on the ticket answers like its author (P3)
    return user is not None and TicketPolicy(user).works_ticket(ticket)


def support_addresses() -> frozenset[str]:
    """Return support's own addresses (lower case): the sender of its mail and the polled mailboxes'."""
    found = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1], parseaddr(settings.SERVER_EMAIL)[1]}
    found.update(Mailbox.objects.filter(username__contains="@").values_list("username", flat=True))
    return frozenset(address.strip().lower() for address in found if address and address.strip())


def _cc_from_mail(ticket: Ticket, parsed: ParsedMail, user: User | None) -> None:
    """Copy the mail's Cc addresses on its ticket (the mailbox rule's option, P3), on the sender's behalf.

    Support's own addresses, the sender and the ticket's author are left out; what the ticket cannot take
    (invalid, over the limit) is skipped, never a reason to refuse the mail.
    """
    skip = support_addresses() | {parsed.sender_address.lower(), ticket_services.cc_author_address(ticket)}
    wanted = [address for address in parsed.cc_addresses if address not in skip]
    if not wanted:
        return
    origin = _origin(parsed, user, ticket)
    ticket_services.ticket_cc_add(
        actor=gateway_user(),
        ticket=ticket,
        emails=wanted,
        via=Channel.EMAIL,
        on_behalf_of=origin.sender,
        author_address=origin.author_address,
        skip_invalid=True,
    )


def gateway_user() -> User:
    """Return the mail channel's system principal (created on first use).

    It is not a person and not a login: inactive, an unusable password, no group and so no access
    level. `TicketPolicy` grants it exactly what mail needs (file a ticket for a sender, add a sender's
    message to a ticket the mailbox rule allowed, reopening it) and nothing else; the history names the
    sender, the principal stays only as who typed it (`created_by`, `posted_by`).
    """
    user = config_cached("mail-gateway", lambda: User.objects.filter(username=GATEWAY_USERNAME).first())
    if user is not None:
        return copy.copy(user)  # a request-like copy: services annotate their actor
    user = User(username=GATEWAY_USERNAME, first_name="Otklik", last_name=_("mail gateway"), is_active=False)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # another thread or process made it first: use theirs
        return User.objects.get(username=GATEWAY_USERNAME)
    return user


FULL_TEXT_NAME = "message.txt"


def _content(parsed: ParsedMail) -> tuple[str, list[ticket_services.Upload]]:
    """Return the message text and its files; a text longer than a message holds is cut, and kept whole as a file."""
    text = parsed.body.strip() or parsed.text.strip() or _("(no text)")
    files = [ticket_services.Upload(name=a.name, fileobj=io.BytesIO(a.data)) for a in parsed.attachments]
    if len(text) > BODY_MAX:
        note = "\n\n" + _("[The text is longer than a message holds: all of it is in the file %(name)s.]") % {
            "name": FULL_TEXT_NAME
        }
        files.append(ticket_services.Upload(name=FULL_TEXT_NAME, fileobj=io.BytesIO(text.encode("utf-8"))))
        text = text[: BODY_MAX - len(note)].rstrip() + note
    return text, files


def _quoted(parsed: ParsedMail) -> str:
    """Return the quoted history to keep beside the text (all of it stays in the original mail)."""
    return parsed.quoted[:BODY_MAX]


def _origin(
    parsed: ParsedMail, user: User | None, ticket: Ticket | None = None
) -> ticket_services.MailOrigin:
    """Who the words are from: the registered sender (who may see the ticket), else the address alone."""
    quoted = _quoted(parsed)
    if user is not None and (ticket is None or TicketPolicy(user).can_view(ticket)):
        return ticket_services.MailOrigin(sender=user, quoted=quoted)
    return ticket_services.MailOrigin(author_address=parsed.sender_address, quoted=quoted)


def _coupon_header(raw: bytes) -> str:
    """Return the code of an `X-Otklik-Coupon:` or `Coupon:` header, or ""."""
    header_block = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    found = _COUPON_HEADER.search(header_block)
    return found.group(1).decode("ascii") if found else ""


def coupon_from_text(text: str) -> tuple[str, str]:
    """Take a `Coupon: CODE` line (or `Купон:`) off the start of a mail's text; return (code, the rest).

    Only the first non-empty line counts: a code quoted further down is not the sender's request.
    """
    lines = text.splitlines()
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", text
    found = _COUPON_LINE.match(lines[first])
    if not found:
        return "", text
    return found.group(1), "\n".join(lines[:first] + lines[first + 1 :]).strip()


def _create(
    parsed: ParsedMail, user: User | None, mailbox: Mailbox | None, row: InboundMail, coupon_header: str = ""
):
    text, files = _content(parsed)
    coupon, rest = coupon_from_text(text)
    if coupon:
        text = rest or _("(no text)")
    coupon = coupon or coupon_header
    title = parsed.subject.strip() or " ".join(text.split())[:TITLE_FROM_BODY] or _("(no subject)")
    ticket = ticket_services.ticket_create(
        actor=gateway_user(),
        draft=ticket_services.TicketDraft(
            title=title[:255],
            message=text,
            files=files,
            category=_rule(mailbox, "category", None),
            criticality=_rule(mailbox, "criticality", None),
            # Never answer a robot: auto-replies and bulk mail get no "ticket accepted" mail (F-15).
            notify_author=not parsed.automatic,
            coupon=coupon,
        ),
        staff=ticket_services.StaffFields(source=_email_source()),
        origin=_origin(parsed, user),
        via=Channel.EMAIL,
    )
    return ticket, ticket.opening_message  # type: ignore[attr-defined]  # set by ticket_create


def _append(ticket: Ticket, parsed: ParsedMail, user: User | None, mailbox: Mailbox | None, row: InboundMail):
    gateway = gateway_user()
    quiet = bool(parsed.automatic)
    origin = _origin(parsed, user, ticket)
    if ticket.closed_at is not None:
        ticket = ticket_services.ticket_reopen(
            actor=gateway,
            ticket=ticket,
            via=Channel.EMAIL,
            notify_author=False,
            on_behalf_of=origin.sender,
            author_address=origin.author_address,
        )
    text, files = _content(parsed)
    return ticket_services.message_post(
        actor=gateway,
        ticket=ticket,
        draft=ticket_services.MessageDraft(
            body=text, files=files, hidden=bool(_rule(mailbox, "add_hidden", False)), notify_author=not quiet
        ),
        origin=origin,
        via=Channel.EMAIL,
    )


def _email_source() -> DictionaryEntry | None:
    return config_cached(
        "mail-source",
        lambda: DictionaryEntry.objects.filter(kind=DictionaryKind.SOURCE, code="email").first(),
    )


def _finish(row: InboundMail, result: IngestResult, actor: User | None) -> None:
    """Record the outcome, claiming the row: if another worker processed it meanwhile, undo this run.

    The UPDATE's condition is the claim: a concurrent run waits for the first one's row lock and then
    finds the outcome already set, so exactly one run's ticket or message survives.
    """
    row.outcome = result.outcome
    row.ticket_id = result.ticket or None
    row.reason = result.reason or ""
    row.reason_text = str(REASONS.get(result.reason, "")) if result.reason else ""
    row.attempts += 1
    row.processed_at = clock.now()
    row.processed_by = actor
    # Never rewrite the raw bytes: only the processing's columns.
    if not update_row(row, PROCESSED_FIELDS, only_if=("outcome", UNPROCESSED)):
        raise _ProcessedMeanwhile


def _quarantine(inbound: InboundMail, reason: str, detail: str, actor: User | None) -> IngestResult:
    return _mark(inbound, Outcome.QUARANTINED, reason, detail, actor)


@transaction.atomic
def _mark(inbound: InboundMail, outcome: str, reason: str, detail: str, actor: User | None) -> IngestResult:
    """Record an outcome reached outside the processing transaction (it rolled back)."""
    row = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    _fill_headers(row)
    explanation = str(REASONS.get(reason, reason))
    row.outcome = outcome
    row.reason = reason
    row.reason_text = f"{explanation} {detail}".strip()
    row.ticket_id = None
    row.ticket_message_id = None
    row.attempts += 1
    row.processed_at = clock.now()
    row.processed_by = actor
    row.save(update_fields=PROCESSED_FIELDS)
    return IngestResult(row.pk, outcome, None, reason, detail)


def _fill_headers(row: InboundMail) -> None:
    """Give a quarantined row the sender and subject for the admins' list, when the bytes allow it."""
    if row.sender or row.subject:
        return
    try:
        parsed = mail_parse(bytes(row.raw))
    except Exception:  # unreadable: the list shows the size and the time
        return
    row.message_id = parsed.message_id[:998]
    row.sender = parsed.sender_address[:254]
    row.subject = parsed.subject[:998]
    row.automatic = parsed.automatic


def _message_id_of(inbound: InboundMail) -> str:
    try:
        return mail_parse(bytes(inbound.raw)).message_id
    except Exception:  # unreadable bytes have no id to compare
        return ""


def _result(row: InboundMail) -> IngestResult:
    return IngestResult(row.pk, row.outcome, row.ticket_id, row.reason or None, row.reason_text)
