"""The composer's one send: a reply, then the ticket's status, responsible and closing, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from otklik.tickets.models import Channel, Message, Ticket
from otklik.tickets.services.attributes import ticket_close, ticket_update
from otklik.tickets.services.inputs import MessageDraft
from otklik.tickets.services.messages import message_post

# What the send button may change besides posting: the side panel's most frequent fields.
FOLLOW_UP_FIELDS = frozenset({"status", "responsible"})


@dataclass(frozen=True)
class ReplyFollowUp:
    """What to change on the ticket with the reply: field values (by id, None clears) and closing.

    `notify_author` decides the closing mail when there is no reply (with a reply, the reply's own flag).
    """

    changes: dict[str, Any] = field(default_factory=dict)
    close: bool = False
    notify_author: bool = True


@transaction.atomic
def ticket_reply(
    *,
    actor: User,
    ticket: Ticket,
    draft: MessageDraft | None,
    follow_up: ReplyFollowUp,
    via: str = Channel.WEB,
) -> Message | None:
    """Post `draft` (None: nothing written), then apply the follow-up; a refused change rolls all back.

    The changes go through `ticket_update` and `ticket_close` like any other (the policy decides, the
    history records each). The author hears of the reply by its own mail: the status and responsible
    changes made with it are not mailed again; a close is, unless the reply was quiet, since the closing
    mail is the one that asks for a rating.
    """
    unknown = set(follow_up.changes) - FOLLOW_UP_FIELDS
    if unknown:
        raise ValueError(f"not a follow-up field: {sorted(unknown)}")
    message = None
    notify = follow_up.notify_author
    if draft is not None:
        message = message_post(actor=actor, ticket=ticket, draft=draft, via=via)
        notify = draft.notify_author
    if follow_up.changes:
        # With a reply the author hears of it by its mail; alone, the changes are mailed as any other.
        ticket_update(
            actor=actor, ticket=ticket, changes=dict(follow_up.changes), via=via, notify_author=draft is None
        )
    if follow_up.close and ticket.closed_at is None:
        ticket_close(actor=actor, ticket=ticket, via=via, notify_author=notify)
    return message
