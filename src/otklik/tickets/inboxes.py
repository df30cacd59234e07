"""The staff list's views ("inboxes"): named subsets of the visible tickets with a live count each.

An inbox is a condition on top of `TicketPolicy.visible()`. The sidebar shows every inbox the user has,
with its count; the counts of all inboxes come from one SQL statement, each capped at `COUNT_CAP` rows so
that a big inbox costs a bounded index read, never a COUNT over the whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from otklik.core.db_routing import on_replica, read_connection
from otklik.tickets.models import Ticket
from otklik.tickets.panels import queue_available, queue_q
from otklik.tickets.policies import TicketPolicy

# Counts above this show as "999+": the statement reads at most this many index entries per inbox.
COUNT_CAP = 1000
OPEN = Q(closed_at__isnull=True)


@dataclass(frozen=True)
class Inbox:
    """A sidebar view: its key in the URL (`?view=`), its label and the tickets it selects for a user."""

    key: str
    label: object  # a lazy translation
    condition: Callable[[TicketPolicy], Q]
    available: Callable[[TicketPolicy], bool] = lambda policy: True


def _awaiting_me(policy: TicketPolicy) -> Q:
    # Mine to answer: open, the client wrote last (or nobody from support answered yet).
    return OPEN & Q(responsible_id=policy.user.pk, last_message_by_support=False)


INBOXES: tuple[Inbox, ...] = (
    Inbox("mine", _("My open tickets"), lambda p: OPEN & Q(responsible_id=p.user.pk)),
    Inbox("awaiting", _("Awaiting my answer"), _awaiting_me),
    Inbox("queue", _("My process queue"), lambda p: OPEN & queue_q(p.user), lambda p: queue_available()),
    Inbox("unassigned", _("Unassigned"), lambda p: OPEN & Q(responsible__isnull=True)),
    Inbox("overdue", _("Overdue"), lambda p: OPEN & Q(is_overdue=True)),
    Inbox("due_soon", _("Due soon"), lambda p: OPEN & Q(reminder_sent=True, is_overdue=False)),
    Inbox("special", _("Special tickets"), lambda p: OPEN & Q(is_special=True)),
    Inbox("following", _("Tickets I follow"), lambda p: OPEN & Q(followers__user_id=p.user.pk)),
    Inbox("open", _("All open"), lambda p: OPEN),
    Inbox("all", _("All tickets"), lambda p: Q()),
)
BY_KEY = {inbox.key: inbox for inbox in INBOXES}


def inbox_list(policy: TicketPolicy) -> list[Inbox]:
    """Return the inboxes this user has, in the sidebar's order."""
    return [inbox for inbox in INBOXES if inbox.available(policy)]


def inbox_get(key: str, policy: TicketPolicy) -> Inbox | None:
    """Return the inbox named `key` if the user has it."""
    inbox = BY_KEY.get(key)
    return inbox if inbox is not None and inbox.available(policy) else None


def capped_counts(querysets: dict[str, QuerySet[Ticket]], cap: int = COUNT_CAP) -> dict[str, int]:
    """Count each queryset's rows up to `cap`, all in one SQL statement.

    Each count reads at most `cap` rows (a LIMIT inside the count), so the cost is bounded by the cap,
    not by the table; a count equal to the cap means "at least that many".
    """
    if not querysets:
        return {}
    parts: list[str] = []
    params: list[object] = []
    for qs in querysets.values():
        try:
            sql, qs_params = qs.order_by().values("pk")[:cap].query.sql_with_params()
        except EmptyResultSet:  # a condition that selects nothing (Q(pk__in=[]))
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")
        params.extend(qs_params)
    # Raw SQL is not routed: inside on_replica() this reads from the replica.
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(querysets, (int(value) for value in row), strict=True))


def inbox_counts(policy: TicketPolicy, extra: dict[str, QuerySet[Ticket]] | None = None) -> dict[str, int]:
    """Count the user's inboxes (and `extra` named querysets, e.g. saved filters) in one statement."""
    visible = policy.visible()
    querysets = {inbox.key: visible.filter(inbox.condition(policy)) for inbox in inbox_list(policy)}
    querysets.update(extra or {})
    # From the read replica when one is set and fresh enough (a few seconds old at most).
    return on_replica(lambda: capped_counts(querysets))
