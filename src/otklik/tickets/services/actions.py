"""A set of ticket changes applied as one (P5 macros, P6 automation rules): all through the policy, or none.

Each part goes through the service every other caller uses (`ticket_update`, `ticket_tags_change`,
`message_post`, `ticket_close`, `ticket_reopen`) with the actor's policy, so a macro or a rule never lets
anyone do what they may not: the first refusal rolls back everything applied before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.accounts.selectors import display_name
from otklik.core.errors import ValidationFailed
from otklik.tickets.models import Channel, Ticket
from otklik.tickets.services.attributes import ticket_close, ticket_reopen, ticket_update
from otklik.tickets.services.inputs import MessageDraft
from otklik.tickets.services.messages import message_post
from otklik.tickets.services.tags import ticket_tags_change

# The fields a set of actions may change (by id; None clears): the side panel's, nothing structural.
ACTION_FIELDS = frozenset(
    {"status", "category", "criticality", "difficulty", "mark", "sla", "responsible", "is_postponed"}
)
REPLY_MAX_LENGTH = 20_000
# A reply's placeholders, replaced by plain text (no template language: a macro's author cannot reach
# anything but these values).
PLACEHOLDERS = ("{ticket.id}", "{ticket.title}", "{author.name}", "{agent.name}")


@dataclass(frozen=True)
class TicketActions:
    """What to do to a ticket: field values, tags to add and remove, a reply or hidden note, close/reopen."""

    changes: Mapping[str, Any] = field(default_factory=dict)
    add_tags: Sequence[str] = ()
    remove_tags: Sequence[str] = ()
    reply: str = ""
    reply_hidden: bool = False
    close: bool = False
    reopen: bool = False

    @property
    def empty(self) -> bool:
        """Tell whether applying these actions would do nothing."""
        return not (
            self.changes
            or self.add_tags
            or self.remove_tags
            or self.reply.strip()
            or self.close
            or self.reopen
        )

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form kept in `Macro.actions` and in automation rules (reply text aside)."""
        data: dict[str, Any] = {}
        if self.changes:
            data["changes"] = dict(self.changes)
        if self.add_tags:
            data["add_tags"] = list(self.add_tags)
        if self.remove_tags:
            data["remove_tags"] = list(self.remove_tags)
        if self.close:
            data["close"] = True
        if self.reopen:
            data["reopen"] = True
        return data


def ticket_actions_from_json(data: Any, *, reply: str = "", reply_hidden: bool = False) -> TicketActions:
    """Validate the JSON form of a set of actions; raise ValidationFailed with field messages."""
    if data in (None, ""):
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed(_("Actions must be given as an object."), field="actions")
    unknown = set(data) - {"changes", "add_tags", "remove_tags", "close", "reopen"}
    if unknown:
        raise ValidationFailed(
            _("Unknown action: %(names)s.") % {"names": ", ".join(sorted(unknown))}, field="actions"
        )
    changes = data.get("changes", {})
    if not isinstance(changes, dict):
        raise ValidationFailed(_("Changes must be given as an object."), field="changes")
    refused = sorted(str(name) for name in changes if name not in ACTION_FIELDS)
    if refused:
        raise ValidationFailed(
            _("These fields cannot be set by a macro or a rule: %(names)s.") % {"names": ", ".join(refused)},
            field="changes",
        )
    tags: dict[str, list[str]] = {}
    for key in ("add_tags", "remove_tags"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationFailed(_("Tags must be given as a list of names."), field=key)
        tags[key] = value
    if len(reply) > REPLY_MAX_LENGTH:
        raise ValidationFailed(
            _("The reply is at most %(n)d characters long.") % {"n": REPLY_MAX_LENGTH}, field="reply"
        )
    close, reopen = bool(data.get("close")), bool(data.get("reopen"))
    if close and reopen:
        raise ValidationFailed(_("Choose closing or reopening, not both."), field="actions")
    return TicketActions(
        changes=changes,
        add_tags=tags["add_tags"],
        remove_tags=tags["remove_tags"],
        reply=reply,
        reply_hidden=reply_hidden,
        close=close,
        reopen=reopen,
    )


def reply_render(text: str, *, ticket: Ticket, actor: User) -> str:
    """Fill a reply's placeholders with the ticket's and the people's plain values."""
    values = {
        "{ticket.id}": str(ticket.pk),
        "{ticket.title}": ticket.title,
        "{author.name}": display_name(ticket.author) or ticket.author_email or "",
        "{agent.name}": display_name(actor),
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


@transaction.atomic
def ticket_actions_apply(
    *, actor: User, ticket: Ticket, actions: TicketActions, via: str = Channel.WEB, notify_author: bool = True
) -> None:
    """Apply `actions` to the ticket as `actor`, each part through its own service, all or nothing.

    Order: reopen, the reply (so the author's mail carries the words), the field changes, the tags, then
    closing. Any refusal (PermissionDenied, ValidationFailed) propagates and rolls the whole set back.
    """
    if actions.reopen and ticket.closed_at is not None:
        ticket_reopen(actor=actor, ticket=ticket, via=via, notify_author=notify_author)
    body = reply_render(actions.reply, ticket=ticket, actor=actor).strip()
    if body:
        draft = MessageDraft(body=body, hidden=actions.reply_hidden, notify_author=notify_author)
        message_post(actor=actor, ticket=ticket, draft=draft, via=via)
    if actions.changes:
        # With a reply the author hears of it by its mail; alone, the changes are mailed as any other.
        ticket_update(
            actor=actor,
            ticket=ticket,
            changes=dict(actions.changes),
            via=via,
            notify_author=notify_author and not body,
        )
    if actions.add_tags or actions.remove_tags:
        ticket_tags_change(
            actor=actor, ticket=ticket, add=actions.add_tags, remove=actions.remove_tags, via=via
        )
    if actions.close and ticket.closed_at is None:
        ticket_close(actor=actor, ticket=ticket, via=via, notify_author=notify_author)
