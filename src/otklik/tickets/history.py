"""The tamper-evident change history: every event carries the hash of the one before it in its ticket.

    hash = sha256(prev_hash + canonical JSON of the event's stored fields)

per ticket, in id order, from an empty `prev_hash` for a ticket's first event. Changing a stored event
breaks its own hash; deleting one breaks the next event's link; a deleted ticket's record keeps the
last hash, so its whole chain is accounted for.

Writers of one ticket's history (the ticket services) chain their events at insert time: they hold the
ticket's row lock, so the previous event is known. The SLA job writes events set-based (one INSERT ...
SELECT for any number of tickets); its events are inserted unsealed (empty hashes) and `history_seal`
chains them in id order, under the tickets' row locks, at the end of the job, before a service adds to
the same ticket, and before `otklik audit verify` checks the chains. Events older than the chain (written
before the migration that added it) are sealed the same way the first time.

`event_canonical` is the one definition of what is hashed: extend it when events gain stored columns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery

from otklik.tickets.models import Ticket, TicketEvent

SEAL_CHUNK = 500  # tickets sealed per round: bounded memory for a first seal of a long history

# The stored columns an event's hash covers (`message`, the link to its log line, is left out: an admin
# may delete log lines, which must not read as tampering; the event itself holds the change).
CHAINED_FIELDS = (
    "ticket_id", "actor_id", "actor_email", "at", "via", "field", "old", "new", "staff_only", "data",
)  # fmt: skip


def event_canonical(event: TicketEvent) -> bytes:
    """Return the event's stored fields as canonical JSON (sorted keys, no spaces, UTC microseconds)."""
    values = {}
    for name in CHAINED_FIELDS:
        value = getattr(event, name)
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values[name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_digest(prev_hash: str, event: TicketEvent) -> str:
    """Return the event's hash in its chain: sha256 over the previous hash and the canonical fields."""
    return hashlib.sha256(prev_hash.encode("ascii") + event_canonical(event)).hexdigest()


def events_chain(prev_hash: str, events: Iterable[TicketEvent]) -> str:
    """Link the events (one ticket's, in order) after `prev_hash`; return the last hash."""
    for event in events:
        event.prev_hash = prev_hash
        event.hash = prev_hash = event_digest(prev_hash, event)
    return prev_hash


def history_head(ticket_id: int) -> str:
    """Return the hash to chain a ticket's next event to, sealing what a set-based writer left unsealed.

    Call it holding the ticket's row lock (every ticket service does), so nobody adds events meanwhile.
    """
    last = TicketEvent.objects.filter(ticket_id=ticket_id).order_by("-id").values_list("hash", flat=True)
    head = next(iter(last[:1]), "")
    if head == "" and TicketEvent.objects.filter(ticket_id=ticket_id, hash="").exists():
        history_seal(ticket_ids=[ticket_id])
        head = next(iter(last[:1]), "")
    return head


@transaction.atomic
def history_seal(*, ticket_ids: Iterable[int] | None = None) -> int:
    """Chain the unsealed events (of these tickets, or all), in id order, under the tickets' row locks.

    Return how many events were sealed. Idempotent: sealed events are never rewritten.
    """
    unsealed = TicketEvent.objects.filter(hash="")
    if ticket_ids is not None:
        unsealed = unsealed.filter(ticket_id__in=list(ticket_ids))
    pending = sorted(set(unsealed.values_list("ticket_id", flat=True)))
    sealed = 0
    for start in range(0, len(pending), SEAL_CHUNK):
        chunk = pending[start : start + SEAL_CHUNK]
        # Lock in id order (as every other multi-ticket writer does) so two sealers cannot deadlock.
        heads = dict(
            Ticket.objects.select_for_update(of=("self",))
            .filter(pk__in=chunk)
            .order_by("pk")
            .annotate(
                head=Subquery(
                    TicketEvent.objects.filter(ticket=OuterRef("pk"))
                    .exclude(hash="")
                    .order_by("-id")
                    .values("hash")[:1]
                )
            )
            .values_list("pk", "head")
        )
        events = list(TicketEvent.objects.filter(ticket_id__in=chunk, hash="").order_by("ticket_id", "id"))
        for ticket_id, group in _by_ticket(events):
            events_chain(heads.get(ticket_id) or "", group)
        TicketEvent.objects.bulk_update(events, ["prev_hash", "hash"], batch_size=500)
        sealed += len(events)
    return sealed


def _by_ticket(events: list[TicketEvent]) -> Iterator[tuple[int, list[TicketEvent]]]:
    group: list[TicketEvent] = []
    for event in events:
        if group and group[0].ticket_id != event.ticket_id:
            yield group[0].ticket_id, group
            group = []
        group.append(event)
    if group:
        yield group[0].ticket_id, group


# -- verification ------------------------------------------------------------------------------------------
BROKEN_LINK = "prev_hash"  # the event does not follow the one before it: an event was deleted or altered
BROKEN_CONTENT = "hash"  # the event's stored fields are not what was hashed: it was changed
UNSEALED = "unsealed"  # the event was never chained (left by a writer that did not seal)


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: where, and what differs."""

    ticket_id: int
    event_id: int
    what: str
    expected: str
    found: str

    def describe(self) -> str:
        """Say in a line what is wrong (for the command's report)."""
        if self.what == BROKEN_LINK:
            return (
                f"ticket #{self.ticket_id}, event {self.event_id}: its link to the previous event does not "
                f"match (expected {self.expected or 'none: the first event'}, found {self.found or 'none'}) "
                "- an event before it was deleted, inserted or changed"
            )
        if self.what == BROKEN_CONTENT:
            return (
                f"ticket #{self.ticket_id}, event {self.event_id}: its stored fields do not match its hash "
                f"(expected {self.expected}, found {self.found}) - the event was changed after it was written"
            )
        return f"ticket #{self.ticket_id}, event {self.event_id}: the event is not sealed into the chain"

    def as_json(self) -> dict:
        return {
            "ticket": self.ticket_id,
            "event": self.event_id,
            "what": self.what,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True)
class VerifyReport:
    """What `history_verify` found: counts, and the first broken link (None when intact)."""

    tickets: int
    events: int
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def as_json(self) -> dict:
        return {
            "intact": self.intact,
            "tickets": self.tickets,
            "events": self.events,
            "broken": self.broken.as_json() if self.broken else None,
        }


def history_verify(*, ticket_ids: Iterable[int] | None = None) -> VerifyReport:
    """Recompute every ticket's chain in id order; stop at the first broken link."""
    rows = TicketEvent.objects.order_by("ticket_id", "id")
    if ticket_ids is not None:
        rows = rows.filter(ticket_id__in=list(ticket_ids))
    tickets = events = 0
    current: int | None = None
    prev = ""
    for event in rows.iterator(chunk_size=2000):
        if event.ticket_id != current:
            current, prev = event.ticket_id, ""
            tickets += 1
        events += 1
        if event.hash == "":
            return VerifyReport(tickets, events, Break(event.ticket_id, event.pk, UNSEALED, "", ""))
        if event.prev_hash != prev:
            return VerifyReport(
                tickets, events, Break(event.ticket_id, event.pk, BROKEN_LINK, prev, event.prev_hash)
            )
        digest = event_digest(event.prev_hash, event)
        if digest != event.hash:
            return VerifyReport(
                tickets, events, Break(event.ticket_id, event.pk, BROKEN_CONTENT, digest, event.hash)
            )
        prev = event.hash
    return VerifyReport(tickets, events, None)
