"""What every ticket write shares: the change set, message numbers, the history and the announcement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import translation

from otklik.core import clock
from otklik.core.bulk import insert_from_select, insert_rows
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets.activity import Change, TicketActivity, ticket_activity_announce
from otklik.tickets.fields import STAFF_ONLY_FIELDS
from otklik.tickets.history import events_chain, history_head, history_seal
from otklik.tickets.loglines import change_item, log_text_default, log_value, value_text
from otklik.tickets.models import (
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
)
from otklik.tickets.policies import TicketPolicy


@dataclass
class ChangeSet:
    """The field changes one write makes, collected for its history record and its announcement."""

    changes: list[Change] = field(default_factory=list)

    def add(self, name: str, old: Any, new: Any) -> None:
        self.changes.append(Change(name, log_value(old), log_value(new), name in STAFF_ONLY_FIELDS))


def message_number_next(ticket: Ticket) -> int:
    """Return the number the ticket's next message takes (one past the highest, log lines included)."""
    current = Message.objects.filter(ticket=ticket).aggregate(n=Max("number"))["n"] or 0
    return current + 1


def message_number_next_of_each() -> CombinedExpression:
    """Return `message_number_next` as an expression over a tickets queryset, for set-based writers.

    The same rule in SQL: one past the highest number of the outer row's ticket, 1 for a ticket with none.
    """
    highest = Message.objects.filter(ticket=OuterRef("pk")).values("ticket").annotate(n=Max("number"))
    zero = Value(0, output_field=IntegerField())
    return Coalesce(Subquery(highest.values("n")[:1]), zero) + Value(1, output_field=IntegerField())


def message_insert(
    ticket: Ticket,
    *,
    kind: str,
    body: str,
    author: User | None,
    author_email: str = "",
    posted_by: User | None = None,
    by_support: bool,
    via: str,
    minutes: int = 0,
    source: DictionaryEntry | None = None,
    at=None,
    number: int | None = None,
    quoted: str = "",
    data: list | None = None,
) -> Message:
    """Insert a message with the next number (or `number`), as one row."""
    message = Message(
        ticket=ticket,
        number=number or message_number_next(ticket),
        kind=kind,
        body=body,
        quoted=quoted,
        data=data,
        author=author,
        author_email=author_email,
        posted_by=posted_by,
        by_support=by_support,
        via=via,
        minutes=minutes,
        source=source,
        created_at=at or clock.now(),
    )
    insert_rows([message])
    return message


def history_record(
    ticket: Ticket,
    actor: User | None,
    via: str,
    changeset: ChangeSet,
    *,
    at=None,
    actor_email: str = "",
    notes: Sequence[dict] = (),
) -> Message | None:
    """Write the changes as events and one log message listing them (ARCHITECTURE rule 5).

    `actor_email` names an actor known only by address (a sender through the mail channel); `notes` are
    log items that are not field changes (why a process move was made), listed first. The events are
    chained to the ticket's history (`otklik.tickets.history`); the caller holds the ticket's lock.
    """
    if not changeset.changes:
        return None
    at = at or clock.now()
    data = [*notes, *(change_item(c.field, c.old, c.new) for c in changeset.changes)]
    log = message_insert(
        ticket,
        kind=MessageKind.LOG,
        body=log_text_default(data),
        data=data,
        author=actor,
        author_email=actor_email,
        by_support=True,
        via=via,
        at=at,
    )
    # The events keep their values as text in the site's language; readers get them from the log data.
    with translation.override(settings.LANGUAGE_CODE):
        events = [
            TicketEvent(
                ticket=ticket,
                actor=actor,
                actor_email=actor_email,
                at=at,
                via=via,
                field=c.field,
                old=value_text(c.old),
                new=value_text(c.new),
                staff_only=c.staff_only,
                message=log,
                data={"old": c.old, "new": c.new},
            )
            for c in changeset.changes
        ]
    events_chain(history_head(ticket.pk), events)
    insert_rows(events, returning=False)
    return log


def history_record_each(
    tickets: QuerySet, data: list, *, at: datetime, via: str, change: tuple[str, str, str] | None = None
) -> None:
    """Write `history_record`'s rows for every ticket of `tickets` at once: a log message with the log
    `data`, and the history event of a field `change` (field, old text, new text) when there is one.

    For set-based writers (the SLA tick): the data is one constant for every row, so each INSERT ...
    SELECT stays one statement whatever the number of tickets. The caller holds the rows' locks (its
    UPDATE took them), so each ticket's newest log line is the one just written.
    """
    rows = tickets.values_list(
        "pk", message_number_next_of_each(), _text(MessageKind.LOG), _text(log_text_default(data)),
        _const(data, JSONField()), _const(True, BooleanField()), _text(via), _const(0, IntegerField()),
        _const(at, DateTimeField()), _text(""),
    )  # fmt: skip
    insert_from_select(
        Message,
        [
            "ticket", "number", "kind", "body", "data", "by_support", "via", "minutes", "created_at",
            "author_email",
        ],
        rows,
    )  # fmt: skip
    if change is None:
        return
    name, old, new = change
    log_id = Subquery(
        Message.objects.filter(ticket=OuterRef("pk"), kind=MessageKind.LOG)
        .order_by("-number")
        .values("pk")[:1]
    )
    # The event's values as data too, from the log item of the same field (both languages).
    values = next((item for item in data if item.get("field") == name), None)
    event_data = {"old": values["old"], "new": values["new"]} if values else None
    rows = tickets.values_list(
        "pk", _const(at, DateTimeField()), _text(via), log_id, _text(name), _text(old), _text(new),
        _const(False, BooleanField()), _const(event_data, JSONField()),
    )  # fmt: skip
    insert_from_select(
        TicketEvent, ["ticket", "at", "via", "message", "field", "old", "new", "staff_only", "data"], rows
    )
    # The INSERT stays set-based; chaining needs each ticket's previous hash, so the new events are
    # sealed right after, under the rows' locks (otklik.tickets.history).
    history_seal(ticket_ids=tickets.values_list("pk", flat=True))


def _const(value: object, field: Field) -> Value:
    return Value(value, output_field=field)


def _text(value: str) -> Value:
    return _const(value, CharField())


@dataclass(frozen=True)
class HistoryActor:
    """Who the history names for a write: a user, or a sender known only by address."""

    user: User | None
    email: str = ""


def history_actor(
    policy: TicketPolicy, actor: User, *, author: User | None = None, address: str = ""
) -> HistoryActor:
    """Name the actor of a write: the caller, or for the mail principal the sender it writes for."""
    if policy.is_mail_principal:
        if isinstance(author, User):
            return HistoryActor(author)
        return HistoryActor(None, address)
    return HistoryActor(actor)


def activity_announce(
    ticket: Ticket,
    actor: User | None,
    via: str,
    *,
    created: bool = False,
    message: Message | None = None,
    changes: ChangeSet | None = None,
    notify_author: bool = True,
    actor_email: str = "",
) -> None:
    """Tell the listeners (notifications) what this call did, inside its transaction (ARCHITECTURE rule 4)."""
    ticket_activity_announce(
        TicketActivity(
            ticket=ticket,
            actor=actor,
            actor_email=actor_email,
            via=via,
            created=created,
            message=message,
            changes=tuple(changes.changes) if changes else (),
            notify_author=notify_author,
        )
    )


TOUCHED_FIELDS = ("modified_at", "modified_by", "modified_via")  # what ticket_touch changes


def ticket_touch(ticket: Ticket, actor: User | None, via: str, at=None) -> None:
    """Mark the ticket as modified by `actor` through `via` (the caller saves TOUCHED_FIELDS)."""
    ticket.modified_at = at or clock.now()
    ticket.modified_by = actor
    ticket.modified_via = via
