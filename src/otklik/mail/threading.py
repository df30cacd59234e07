"""Find the ticket an incoming mail belongs to: the subject's marker first, then the message ids it answers.

Pure helpers (patterns, our own Message-IDs) plus one selector that looks the ids up in the two places a
ticket's ids live: the outbox (our notifications) and the stored incoming mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from otklik.mail.models import DEFAULT_SUBJECT_PATTERN, InboundMail, Outcome
from otklik.notifications.models import OutboxMessage
from otklik.notifications.rendering import mail_domain

# Our Message-IDs name the ticket: <otklik.<32 hex>.t<id>@domain> per mail, <otklik.ticket.<id>@domain> per thread.
_OWN_ID = re.compile(
    r"^otklik\.(?:ticket\.(?P<thread>\d+)|(?P<uuid>[0-9a-f]{32})\.t(?P<ticket>\d+))@(?P<domain>.+)$"
)


def subject_patterns(source: str) -> tuple[re.Pattern[str], ...]:
    """Compile a mailbox's patterns (one per line); a line that is not a valid expression is left out."""
    return _compiled(source or DEFAULT_SUBJECT_PATTERN)


@lru_cache(maxsize=64)
def _compiled(source: str) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for line in source.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            pattern = re.compile(line, re.IGNORECASE)
        except re.error:
            continue  # the admin form refuses these; an old row must not stop the mail
        if pattern.groups >= 1:
            patterns.append(pattern)
    return tuple(patterns)


def pattern_problem(source: str) -> str | None:
    """Return why a mailbox's subject patterns cannot be used, or None (for the admin form)."""
    for number, line in enumerate(source.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            pattern = re.compile(line)
        except re.error as exc:
            return f"{number}: {exc}"
        if pattern.groups < 1:
            return f"{number}: no group"
    return None


def ticket_id_from_subject(subject: str, patterns: Sequence[re.Pattern[str]]) -> int | None:
    """Return the ticket number the first matching pattern's first group gives, anywhere in the subject."""
    for pattern in patterns:
        match = pattern.search(subject or "")
        if match and match.group(1) and match.group(1).isdigit():
            return int(match.group(1))
    return None


def own_ticket_id(message_id: str, domain: str | None = None) -> int | None:
    """Return the ticket one of our own Message-IDs names, or None for anybody else's (or another site's)."""
    match = _OWN_ID.match(message_id or "")
    if match is None or match.group("domain").lower() != (domain or mail_domain()).lower():
        return None
    return int(match.group("thread") or match.group("ticket"))


def is_own_message_id(message_id: str, domain: str | None = None) -> bool:
    """True for the Message-ID of a mail we sent (not the thread id, which no mail carries as its own)."""
    match = _OWN_ID.match(message_id or "")
    return bool(
        match and match.group("uuid") and match.group("domain").lower() == (domain or mail_domain()).lower()
    )


def ticket_id_from_references(ids: Iterable[str]) -> int | None:
    """Return the ticket the newest known id belongs to: ours by its form, else the outbox, else stored mail."""
    ordered = [i for i in dict.fromkeys(ids) if i]
    if not ordered:
        return None
    for message_id in reversed(ordered):  # References lists the oldest first, the parent last
        ticket_id = own_ticket_id(message_id)
        if ticket_id is not None:
            return ticket_id
    known: dict[str, int | None] = {}  # never None: filtered on ticket_id__isnull=False
    for message_id, ticket_id in OutboxMessage.objects.filter(
        message_id__in=[f"<{i}>" for i in ordered], ticket_id__isnull=False
    ).values_list("message_id", "ticket_id"):
        known[message_id.strip("<>")] = ticket_id
    for message_id, ticket_id in InboundMail.objects.filter(
        message_id__in=ordered, outcome__in=[Outcome.CREATED, Outcome.APPENDED], ticket_id__isnull=False
    ).values_list("message_id", "ticket_id"):
        known.setdefault(message_id, ticket_id)
    for message_id in reversed(ordered):
        if message_id in known:
            return known[message_id]
    return None
