"""The whole real-world corpus (../shared/corpus/mail) through ingest: every message ends somewhere, none escapes.

Each file becomes a ticket, a message on one, a duplicate or a quarantine with a reason; no exception
leaves mail_ingest; robots (bounces, auto-replies, bulk) get no mail from us; each takes under 2 s.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest
from django.db.models import Count

from otklik.mail.models import InboundMail, Outcome
from otklik.mail.parsing import mail_parse
from otklik.mail.services import mail_ingest
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from otklik.tickets.models import Ticket

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
SECONDS_PER_MESSAGE = 2.0
TRACED_BYTES = 200 * 1024 * 1024
AUTHOR_EVENTS = [
    catalog.NEW_FOR_AUTHOR,
    catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR,
    catalog.CHANGED_BY_AUTHOR_FOR_AUTHOR,
]


def corpus_paths() -> list[Path]:
    index = CORPUS / "INDEX.tsv"
    if not index.exists():
        if os.environ.get("CI"):
            pytest.fail(f"!!! CI must have the mail corpus at {CORPUS} !!!", pytrace=False)
        pytest.skip(f"!!! SKIPPED: the mail corpus is not at {CORPUS} !!!")
    rows = index.read_text(encoding="utf-8").splitlines()[1:]
    return [CORPUS / row.split("\t", 1)[0] for row in rows if row.strip()]


@pytest.mark.django_db
def test_corpus_every_message_ends_as_ticket_message_duplicate_or_quarantine(cast):
    paths = corpus_paths()
    assert len(paths) > 400
    slow: list[str] = []
    answered_robots: list[str] = []
    for path in paths:
        raw = path.read_bytes()
        began = time.perf_counter()
        result = mail_ingest(raw, source=str(path.relative_to(CORPUS)))  # an exception fails the test here
        elapsed = time.perf_counter() - began
        if elapsed > SECONDS_PER_MESSAGE:
            slow.append(f"{path.name}: {elapsed:.2f} s")
        assert result.outcome in (Outcome.CREATED, Outcome.APPENDED, Outcome.DUPLICATE, Outcome.QUARANTINED)
        if result.outcome == Outcome.QUARANTINED:
            assert result.reason, path
        else:
            assert result.ticket and Ticket.objects.filter(pk=result.ticket).exists(), path
        inbound = InboundMail.objects.get(pk=result.inbound)
        assert bytes(inbound.raw) == raw, path  # kept byte for byte, whatever became of it
        if inbound.automatic and result.ticket:
            mailed = OutboxMessage.objects.filter(ticket_id=result.ticket, event__in=AUTHOR_EVENTS)
            if any(inbound.sender in row.to for row in mailed):
                answered_robots.append(f"{path.name} ({inbound.automatic})")
    assert slow == []
    assert answered_robots == []
    outcomes = dict(InboundMail.objects.values_list("outcome").annotate(n=Count("id")))
    # The corpus is mostly robots and torture cases: all four ends occur, and most mail is taken in.
    assert outcomes.get(Outcome.CREATED, 0) > 100 and outcomes.get(Outcome.QUARANTINED, 0) > 50
    reasons = set(InboundMail.objects.filter(outcome=Outcome.QUARANTINED).values_list("reason", flat=True))
    assert "error" not in reasons, InboundMail.objects.filter(reason="error").values_list(
        "source", "reason_text"
    )[:5]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "rt/emails/text-html-in-russian",  # raw 8-bit windows-1251 in From and Subject, HTML only
        "rt/emails/russian-subject-no-content-type",  # a raw KOI8-R subject and no MIME headers at all
    ],
)
def test_corpus_russian_mail_keeps_its_cyrillic_subject_in_the_ticket(cast, name):
    path = CORPUS / name
    if not path.exists():
        corpus_paths()  # skips or fails loudly
    parsed = mail_parse(path.read_bytes())
    cyrillic = sum("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in parsed.subject)
    assert cyrillic >= 3, parsed.subject  # decoded as Russian, not mojibake or replacement characters
    assert "\ufffd" not in parsed.subject
    result = mail_ingest(path.read_bytes())
    if result.ticket:
        assert Ticket.objects.get(pk=result.ticket).title == parsed.subject.strip()[:255]


@pytest.mark.django_db
def test_corpus_largest_messages_stay_within_memory_and_time(cast):
    largest = sorted(corpus_paths(), key=lambda p: p.stat().st_size, reverse=True)[:4]
    for path in largest:
        raw = path.read_bytes()
        tracemalloc.start()
        began = time.perf_counter()
        try:
            mail_ingest(raw)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert time.perf_counter() - began < SECONDS_PER_MESSAGE * 5, path  # tracing slows Python down
        assert peak < TRACED_BYTES, f"{path.name}: {peak / 1e6:.0f} MB"
