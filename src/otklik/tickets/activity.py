"""What a ticket service announces after a change, for the listeners in the same transaction.

The services emit one `TicketActivity` per call (`otklik.core.events.emit`); the notifications app
listens and writes its outbox rows in the same transaction, so mail exists exactly for committed changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from otklik.core import events
from otklik.tickets.models import Message, Ticket

# Changes a ticket's author sees and is told about by mail (F-11 "changed by support (for author)").
AUTHOR_VISIBLE_FIELDS = frozenset(
    {"closed", "is_postponed", "responsible", "category", "criticality", "status", "mark", "sla", "title"}
)


@dataclass(frozen=True)
class Change:
    """One field's change: the values as log data stores them (`tickets.loglines.log_value`: None, a
    plain string or both languages' names), rendered in each reader's language, and whether only staff
    see it."""

    field: str
    old: Any
    new: Any
    staff_only: bool = False


@dataclass(frozen=True)
class TicketActivity:
    """One service call's effect on a ticket: created, a new message, changed fields, or several."""

    ticket: Ticket
    actor: User | None
    via: str
    # The actor when known only by address (a sender through the mail channel); `actor` is then None.
    actor_email: str = ""
    created: bool = False
    message: Message | None = None
    changes: tuple[Change, ...] = ()
    # False when staff ticked "do not notify author" (or hid the message): no mail to the author side.
    notify_author: bool = True

    @property
    def author_visible(self) -> bool:
        """Tell whether the author would see anything of this activity on their ticket page."""
        if self.message is not None and self.message.kind in ("public", "nostatus"):
            return True
        return any(c.field in AUTHOR_VISIBLE_FIELDS and not c.staff_only for c in self.changes)


@dataclass(frozen=True)
class CouponUsed:
    """A new ticket spent a use of a coupon (F-21): the admins hear of it."""

    ticket: Ticket
    code: str
    # Who filed with it: the ticket's author (None for a sender known only by address).
    user: User | None


def coupon_used_announce(used: CouponUsed) -> None:
    """Hand the coupon's use to its listeners now, inside the creating transaction."""
    events.emit(events.COUPON_USED, used)


def ticket_activity_announce(activity: TicketActivity) -> None:
    """Hand the activity to its listeners now, inside the caller's transaction."""
    events.emit(events.TICKET_ACTIVITY, activity)
