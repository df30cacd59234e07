"""Deliver outbox rows: claim with a lease, send over one connection, record the outcome.

At-least-once: a row is marked sent only after the server accepted it. A process killed between the
server's "250 OK" and our mark sends that row again after its lease expires, with the same Message-ID;
at most one row per delivering thread can be caught that way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.headerregistry import Address

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q

from otklik.core import clock
from otklik.notifications.models import OutboxMessage, OutboxState

log = logging.getLogger(__name__)
# Headers that tell auto-responders and other helpdesks not to answer (RFC 3834, Microsoft's).
AUTOMATIC_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _due() -> Q:
    now = clock.now()
    return Q(state=OutboxState.PENDING, next_attempt_at__lte=now) | Q(
        state=OutboxState.SENDING, lease_until__lt=now
    )


def outbox_claim(ids: Sequence[int] | None = None, *, limit: int = 100) -> list[OutboxMessage]:
    """Take due rows (the given ones, or the oldest due) for this delivery; return them.

    One UPDATE marks them with a fresh claim token, so two workers never take the same row while its
    lease runs.
    """
    now = clock.now()
    token = uuid.uuid4().hex
    candidates = OutboxMessage.objects.filter(_due())
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    else:
        candidates = candidates.order_by("next_attempt_at", "id")
    chosen = list(candidates.values_list("pk", flat=True)[:limit])
    if not chosen:
        return []
    OutboxMessage.objects.filter(_due(), pk__in=chosen).update(
        state=OutboxState.SENDING,
        claim=token,
        lease_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    return list(OutboxMessage.objects.filter(claim=token, state=OutboxState.SENDING).order_by("id"))


def email_of(row: OutboxMessage) -> EmailMultiAlternatives:
    """Build the MIME message of an outbox row: text, HTML alternative, threading headers."""
    headers = {
        "Message-ID": row.message_id,
        **AUTOMATIC_HEADERS,
        "X-Otklik-Event": row.event,
    }
    if row.references:
        headers["References"] = row.references
        headers["In-Reply-To"] = row.references.split()[-1]
    if row.ticket_id is not None:
        headers["X-Otklik-Ticket"] = str(row.ticket_id)
    email = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=row.from_email,
        to=[_named(a, row.names) for a in row.to],
        cc=[_named(a, row.names) for a in row.cc],
        bcc=row.bcc,
        headers=headers,
    )
    if row.body_html:
        email.attach_alternative(row.body_html, "text/html")
    return email


def _named(address: str, names: dict[str, str]) -> str:
    name = (names or {}).get(address)
    if not name:
        return address
    # Address quotes the name when it holds specials; Django encodes non-ASCII names when sending.
    return str(Address(display_name=name, addr_spec=address))


def outbox_deliver(ids: Sequence[int] | None = None, *, limit: int = 100, drain: int = 0) -> DeliveryReport:
    """Claim and send due rows over one connection; failures wait with backoff, then fail for good.

    `ids` are tried first; with `drain`, up to that many other due rows follow over the same connection,
    so a burst of small deliveries does not open a connection per message.
    """
    report = DeliveryReport()
    rows = outbox_claim(ids, limit=limit) if ids is not None else []
    if not rows and drain:
        rows = outbox_claim(None, limit=min(limit, drain))
    if not rows:
        return report
    connection = get_connection(fail_silently=False)
    try:
        while rows:
            for row in rows:
                _send_one(connection, row, report)
            budget = drain - len(report.sent) - len(report.retried) - len(report.failed)
            rows = outbox_claim(None, limit=min(limit, budget)) if budget > 0 else []
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection must not hide the report
            log.debug("closing the mail connection failed", exc_info=True)
    return report


def _send_one(connection, row: OutboxMessage, report: DeliveryReport) -> None:
    from otklik.notifications.services import backoff

    if not _lease_renewed(row):
        # This batch outlived its lease and another delivery took the row over: sending it here too
        # would make a second copy of every remaining row, not just of the one in flight.
        log.warning("outbox #%s: taken over by another delivery, not sent here", row.pk)
        return
    try:
        # Open (again, after an error closed it) here: send_messages on a closed backend opens a connection
        # for that one call and closes it after, an SMTP session per message.
        connection.open()
        if not connection.send_messages([email_of(row)]):
            raise RuntimeError("the mail backend accepted no message")
    except Exception as exc:  # any failure of one message: record it, go on with the next
        _record_failure(row, exc, backoff(row.attempts), report)
        _reset_connection(connection)
        return
    marked = OutboxMessage.objects.filter(pk=row.pk, claim=row.claim).update(
        state=OutboxState.SENT, sent_at=clock.now(), last_error="", lease_until=None
    )
    if marked:  # else another delivery took the row over meanwhile and answers for it
        report.sent.append(row.pk)


def _lease_renewed(row: OutboxMessage) -> bool:
    """Make sure this delivery still holds the row for one more message; False when the claim was lost.

    The lease is extended only once half of it has run, so a fast batch pays no extra statement.
    """
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    now = clock.now()
    if row.lease_until is not None and row.lease_until - now > lease / 2:
        return True
    renewed = OutboxMessage.objects.filter(pk=row.pk, claim=row.claim, state=OutboxState.SENDING).update(
        lease_until=now + lease
    )
    row.lease_until = now + lease
    return renewed == 1


def _record_failure(row: OutboxMessage, exc: Exception, wait: timedelta, report: DeliveryReport) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        state, next_at = OutboxState.FAILED, row.next_attempt_at
        report.failed.append(row.pk)
    else:
        state, next_at = OutboxState.PENDING, clock.now() + wait
        report.retried.append(row.pk)
    OutboxMessage.objects.filter(pk=row.pk, claim=row.claim).update(
        state=state, last_error=error, next_attempt_at=next_at, lease_until=None
    )
    # The error's text names recipients (an SMTP refusal lists addresses): the row keeps it, the log its type.
    log.warning("outbox #%s: attempt %s failed: %s", row.pk, row.attempts, type(exc).__name__)


def _reset_connection(connection) -> None:
    """Close a connection after an error; the next send opens a fresh one (SMTP state is unknown now)."""
    try:
        connection.close()
    except Exception:
        log.debug("closing the mail connection after an error failed", exc_info=True)


def outbox_due_ids(*, limit: int = 10_000) -> list[int]:
    """Return ids of rows that are due (waiting, or stuck past their lease), oldest first."""
    return list(
        OutboxMessage.objects.filter(_due())
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def next_retry_at():
    """Return when the earliest waiting row falls due, or None."""
    return (
        OutboxMessage.objects.filter(state=OutboxState.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
