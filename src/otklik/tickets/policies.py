"""TicketPolicy: who may see and do what to tickets and messages (F-01, F-13).

One object answers for the web pages, the API, templates and anything later (mail, workflow).
Deny by default: every method returns False unless a rule grants it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from otklik.accounts.models import AccessLevel, SupportGroup, SupportGroupMember
from otklik.accounts.principals import is_mail_principal
from otklik.accounts.roles import levels_of
from otklik.accounts.selectors import colleague_ids
from otklik.core.errors import NotFound, PermissionDenied, ReadOnlyAccess
from otklik.core.lookups import in_subquery
from otklik.tickets.fields import (
    AUTHOR_LATER_FIELDS,
    CLIENT_CREATE_FIELDS,
    MAIL_CREATE_FIELDS,
    MAIL_MESSAGE_OPTIONS,
    STAFF_FIELDS,
    STAFF_LATER_FIELDS,
    STAFF_MESSAGE_OPTIONS,
)
from otklik.tickets.models import CLIENT_VISIBLE_KINDS, Message, MessageKind, SpamState, Ticket, TicketCc

# Re-exported: callers have long read F-13's field lists from here.
__all__ = [
    "AUTHOR_LATER_FIELDS",
    "CLIENT_CREATE_FIELDS",
    "MAIL_CREATE_FIELDS",
    "MAIL_MESSAGE_OPTIONS",
    "STAFF_FIELDS",
    "STAFF_LATER_FIELDS",
    "STAFF_MESSAGE_OPTIONS",
    "TicketPolicy",
    "VisibilityGrant",
    "support_answered",
    "visibility_grant_register",
]


@dataclass(frozen=True)
class VisibilityGrant:
    """More tickets a staff member may see, granted by an app above tickets (the support process lets
    a role's holders see the tickets waiting for that role): the tickets as a Q, and the same test for
    one ticket."""

    q: Q
    allows: Callable[[Ticket], bool]


# Providers registered by upper apps in their ready(); tickets never imports them (ARCHITECTURE §2).
_grant_providers: list[Callable[[User], VisibilityGrant | None]] = []


def support_answered(ticket: Ticket) -> bool:
    """Tell whether support has posted at least one public answer on the ticket (no query).

    The derived columns say it exactly: `ticket_recompute` sets `last_message_by_support` when support's
    public message is the last one, and `first_client_message_after_support_at` when a client wrote after
    support's last public message; with no such message both stay unset. Hidden and "do not change the
    status" messages are not answers (F-03), and neither column counts them.
    """
    return ticket.last_message_by_support or ticket.first_client_message_after_support_at is not None


def visibility_grant_register(provider: Callable[[User], VisibilityGrant | None]) -> None:
    """Let `provider(user)` widen what a staff member sees (called once per policy, that is per request)."""
    if provider not in _grant_providers:
        _grant_providers.append(provider)


class TicketPolicy:
    """Answer "may this user do X" about tickets for one user (cache-friendly: build one per request)."""

    def __init__(self, user: User | AnonymousUser):
        self.user = user
        # The mail principal holds no access level, whatever groups someone may have put it in.
        self.is_mail_principal = is_mail_principal(user)
        self.levels = frozenset() if self.is_mail_principal else levels_of(user)

    # -- who the user is ---------------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        return AccessLevel.ADMIN in self.levels

    @property
    def is_staff(self) -> bool:
        return AccessLevel.STAFF in self.levels

    @property
    def is_demo(self) -> bool:
        return AccessLevel.DEMO in self.levels and not (self.is_admin or self.is_staff)

    @property
    def is_client(self) -> bool:
        return AccessLevel.CLIENT in self.levels

    @property
    def is_support(self) -> bool:
        """Staff or admin: works tickets."""
        return self.is_admin or self.is_staff

    @property
    def sees_support_view(self) -> bool:
        """Staff, admin or demo: sees the staff workspace and staff-only fields."""
        return self.is_support or AccessLevel.DEMO in self.levels

    @property
    def sees_hidden(self) -> bool:
        """Hidden and log messages: staff and admins; never clients, never demo."""
        return self.is_support

    @property
    def sees_quoted(self) -> bool:
        """A mail's quoted history (F-15): staff and admins only; never clients, never demo.

        A support member's mail may quote internal notes, so the history counts as hidden content.
        """
        return self.is_support

    @cached_property
    def _staff_colleagues(self) -> set[int]:
        return colleague_ids(self.user, SupportGroup.Kind.STAFF) if self.is_staff else set()

    @cached_property
    def _client_colleagues(self) -> set[int]:
        return colleague_ids(self.user, SupportGroup.Kind.CLIENT)

    @cached_property
    def options(self):
        """The module options, read once per policy (that is, per request)."""
        from otklik.tickets.selectors import options_get

        return options_get()

    @cached_property
    def _staff_sees_unassigned(self) -> bool:
        return self.options.staff_see_unassigned

    # -- visibility ----------------------------------------------------------------------------
    def visible_q(self) -> Q | None:
        """Return the Q that selects the tickets this user may see; None means all of them."""
        if not self.user.is_authenticated or self.is_mail_principal:
            return Q(pk__in=[])
        if self.is_admin or AccessLevel.DEMO in self.levels:
            return None
        uid = self.user.pk
        q = Q(author_id=uid)
        if self.is_staff:
            q |= Q(responsible_id=uid)
            if self._staff_colleagues:
                q |= Q(responsible_id__in=self._staff_colleagues)
            if self._staff_sees_unassigned:
                q |= Q(responsible__isnull=True)
        if self._client_colleagues:
            q |= Q(author_id__in=self._client_colleagues)
        if not self.is_support:
            q |= self._cc_q()
        for grant in self._grants:
            q |= grant.q
        return q

    def _cc_q(self) -> Q:
        """Select the tickets the user is copied on (P3) whose author shares a client group with them.

        Subqueries, not id lists: the list stays one statement, and a membership ended is at once a
        ticket no longer seen. Support staff see tickets by their own rules, never through a copy (a
        copy must not open hidden messages to anyone).
        """
        uid = int(self.user.pk or 0)  # asked for signed-in users only
        mates = SupportGroupMember.objects.filter(
            group__kind=SupportGroup.Kind.CLIENT, group__memberships__user_id=uid
        ).values("user_id")
        copied = TicketCc.objects.filter(user_id=uid).values("ticket_id")
        # The copies as an index condition (core.lookups): OR-ed with "author = me" as IN (subquery), it
        # made a client's list read every ticket's entry of the newest-first index.
        return in_subquery("pk", copied) & Q(author_id__in=mates)

    @cached_property
    def _cc_ticket_ids(self) -> frozenset[int]:
        """Return the tickets the user is copied on (read once per policy, only when asked)."""
        uid = int(self.user.pk or 0)
        return frozenset(TicketCc.objects.filter(user_id=uid).values_list("ticket_id", flat=True))

    @cached_property
    def _client_group_mates(self) -> frozenset[int]:
        """Return the members of the user's client groups, the user included (one query, when asked)."""
        uid = int(self.user.pk or 0)
        return frozenset(
            SupportGroupMember.objects.filter(
                group__kind=SupportGroup.Kind.CLIENT, group__memberships__user_id=uid
            ).values_list("user_id", flat=True)
        )

    def is_cc_viewer(self, ticket: Ticket) -> bool:
        """Tell whether the user sees the ticket only as a copied colleague of its author (P3): copied
        with this account, in one of the author's client groups, and not support staff."""
        if not self.user.is_authenticated or self.is_mail_principal or self.is_support or self.is_demo:
            return False
        if ticket.author_id is None or ticket.pk not in self._cc_ticket_ids:
            return False
        return ticket.author_id in self._client_group_mates

    @cached_property
    def _grants(self) -> list[VisibilityGrant]:
        """Return what the upper apps' providers grant this staff member (nothing to clients)."""
        if not self.is_staff or not isinstance(self.user, User):
            return []
        return [grant for provider in _grant_providers if (grant := provider(self.user)) is not None]

    def visible(self, queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
        """Return the tickets this user may see (every list and lookup starts here)."""
        qs = Ticket.objects.all() if queryset is None else queryset
        q = self.visible_q()
        return qs if q is None else qs.filter(q)

    def can_view(self, ticket: Ticket) -> bool:
        if not self.user.is_authenticated:
            return False
        if self.is_mail_principal:
            # Mail reaches a ticket only by the number a reply carries, and the mailbox rule decides
            # whether the sender may add to it; the principal never lists tickets (`visible_q`).
            return True
        if self.is_admin or AccessLevel.DEMO in self.levels:
            return True
        uid = self.user.pk
        if ticket.author_id == uid or ticket.author_id in self._client_colleagues:
            return True
        if self.is_staff:
            if ticket.responsible_id == uid or ticket.responsible_id in self._staff_colleagues:
                return True
            if ticket.responsible_id is None and self._staff_sees_unassigned:
                return True
            return any(grant.allows(ticket) for grant in self._grants)
        return self.is_cc_viewer(ticket)

    def get_or_404(self, ticket_id: int, queryset: QuerySet[Ticket] | None = None) -> Ticket:
        """Return the ticket if visible, else raise NotFound (never reveal that it exists)."""
        try:
            return self.visible(queryset).get(pk=ticket_id)
        except (Ticket.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def visible_message_kinds(self) -> tuple[str, ...]:
        if self.sees_hidden:
            return tuple(MessageKind.values)
        return CLIENT_VISIBLE_KINDS

    def messages(self, ticket: Ticket) -> QuerySet[Message]:
        """Return the ticket's messages this user may see."""
        return ticket.messages.filter(kind__in=self.visible_message_kinds())

    def can_view_message(self, message: Message) -> bool:
        return message.kind in self.visible_message_kinds()

    # -- roles on one ticket -------------------------------------------------------------------
    def is_author(self, ticket: Ticket) -> bool:
        return self.user.is_authenticated and ticket.author_id == self.user.pk

    def works_ticket(self, ticket: Ticket) -> bool:
        """Staff who can see the ticket, or an admin: the "staff / responsible / admin" column of F-13."""
        return self.is_admin or (self.is_staff and self.can_view(ticket))

    # -- writes --------------------------------------------------------------------------------
    def check_can_write(self) -> None:
        """Refuse every write for anonymous users and demo access."""
        if not self.user.is_authenticated:
            raise PermissionDenied()
        if self.is_demo:
            raise ReadOnlyAccess()

    def can_create(self) -> bool:
        if self.is_mail_principal:
            return True  # on behalf of a sender only: `create_fields` has no way to file for itself
        return (
            self.user.is_authenticated
            and not self.is_demo
            and bool(self.levels & {AccessLevel.CLIENT, AccessLevel.STAFF, AccessLevel.ADMIN})
        )

    def create_fields(self) -> frozenset[str]:
        """Fields this user may fill in on a new ticket (F-13, the first two columns)."""
        if not self.can_create():
            return frozenset()
        if self.is_mail_principal:
            return MAIL_CREATE_FIELDS
        if self.is_support:
            return CLIENT_CREATE_FIELDS | STAFF_FIELDS | STAFF_MESSAGE_OPTIONS
        return CLIENT_CREATE_FIELDS

    def editable_fields(self, ticket: Ticket) -> frozenset[str]:
        """Fields this user may change on an existing ticket (F-13, the last two columns)."""
        if not self.user.is_authenticated or self.is_demo or not self.can_view(ticket):
            return frozenset()
        fields: set[str] = set()
        if self.is_author(ticket):
            fields |= self._author_later_fields(ticket)
        if self.works_ticket(ticket):
            fields |= STAFF_LATER_FIELDS
        return frozenset(fields)

    @staticmethod
    def _author_later_fields(ticket: Ticket) -> set[str]:
        """Narrow F-13's "author later" column by the ticket's state.

        A mark rates support's answers, so there is nothing to rate before the first one; the
        criticality tells support how urgent the work is, which means nothing once the ticket is closed
        (the author reopens it first).
        """
        fields = set(AUTHOR_LATER_FIELDS)
        if not support_answered(ticket):
            fields.discard("mark")
        if ticket.closed_at is not None:
            fields.discard("criticality")
        return fields

    def can_rate(self, ticket: Ticket) -> bool:
        return "mark" in self.editable_fields(ticket)

    def edit_refusal(self, ticket: Ticket, field: str) -> str:
        """Say why this user may not change `field` now: the author's refusals by state name the reason."""
        if self.is_author(ticket) and field in AUTHOR_LATER_FIELDS and not self.is_demo:
            if field == "mark" and not support_answered(ticket):
                return gettext("You can rate the answer once support has answered.")
            if field == "criticality" and ticket.closed_at is not None:
                return gettext("The ticket is closed: reopen it to change the criticality.")
        return gettext("You may not change this field.")

    def can_edit_field(self, ticket: Ticket, field: str) -> bool:
        return field in self.editable_fields(ticket)

    def can_post_message(self, ticket: Ticket) -> bool:
        """Author and staff add messages; a closed ticket takes new messages from staff only (F-02).

        A merged ticket takes none: its conversation goes on in the ticket it was merged into (P1).
        """
        if not self.user.is_authenticated or self.is_demo or not self.can_view(ticket):
            return False
        if ticket.merged_into_id is not None:
            return False
        if self.is_mail_principal:
            return ticket.closed_at is None  # a closed ticket is reopened first (`can_reopen`)
        if self.works_ticket(ticket):
            return True
        if ticket.closed_at is not None:
            return False
        # The author, a client colleague allowed to view the group's tickets, or a copied colleague (P3).
        return (
            self.is_author(ticket) or ticket.author_id in self._client_colleagues or self.is_cc_viewer(ticket)
        )

    def message_options(self, ticket: Ticket | None) -> frozenset[str]:
        """Staff-only message options this user may use (hidden, do-not-change-status, minutes, on behalf)."""
        if self.is_mail_principal:
            return MAIL_MESSAGE_OPTIONS
        if self.is_demo or not self.is_support:
            return frozenset()
        if ticket is not None and not self.works_ticket(ticket):
            return frozenset()
        return STAFF_MESSAGE_OPTIONS

    def can_close(self, ticket: Ticket) -> bool:
        return ticket.closed_at is None and self._author_or_worker(ticket)

    def can_reopen(self, ticket: Ticket) -> bool:
        if ticket.merged_into_id is not None:
            return False  # it lives on in the ticket it was merged into
        if self.is_mail_principal:
            return ticket.closed_at is not None  # a sender's mail to a closed ticket reopens it (F-15)
        return ticket.closed_at is not None and self._author_or_worker(ticket)

    def _author_or_worker(self, ticket: Ticket) -> bool:
        if not self.user.is_authenticated or self.is_demo or not self.can_view(ticket):
            return False
        return self.is_author(ticket) or self.works_ticket(ticket)

    def spam_states(self, ticket: Ticket) -> frozenset[str]:
        """Spam states this user may set: staff possible/none, admin also definite (F-13)."""
        if self.is_demo or not self.works_ticket(ticket):
            return frozenset()
        if self.is_admin:
            return frozenset(SpamState.values)
        if ticket.spam == SpamState.DEFINITE:
            return frozenset()  # staff cannot undo an admin's verdict
        return frozenset({SpamState.NONE, SpamState.POSSIBLE})

    def can_delete(self, ticket: Ticket) -> bool:
        return self.is_admin and not self.is_demo

    def can_edit_message(self, message: Message) -> bool:
        return self.is_admin and message.kind != MessageKind.LOG

    def can_delete_message(self, message: Message) -> bool:
        return self.is_admin

    def can_split(self, ticket: Ticket) -> bool:
        return not self.is_demo and self.works_ticket(ticket)

    def can_split_message(self, message: Message, *, ticket: Ticket | None = None) -> bool:
        """Only a client's own words can become a ticket of their own: not log lines, not support's
        answers, not the notes Otklik writes (F-02). `ticket` is the message's, when already loaded."""
        if message.kind == MessageKind.LOG or message.by_support:
            return False
        return self.can_split(ticket if ticket is not None else message.ticket)

    def can_view_admin_comment(self) -> bool:
        return self.sees_support_view

    def can_see_presence(self, ticket: Ticket) -> bool:
        return self.can_view(ticket)

    def require(self, allowed: bool) -> None:
        """Raise the right error when `allowed` is False: read-only for demo, else forbidden."""
        if allowed:
            return
        if self.is_demo:
            raise ReadOnlyAccess()
        raise PermissionDenied()
