"""Merge a ticket into another (issue 18, P1): its conversation, files, copies, followers and tags move.

The merged ticket stays as a closed shell: its history (the events) remains its own, its `merged_into`
points at the target, and its old address, its `[TID#N]` subject marker and the Message-IDs of its mail
lead to the target (the pages and mail intake follow `merged_into`). The target's log says exactly what
moved, with the messages' numbers before and after (numbers are unique per ticket, so the moved messages
are numbered after the target's own; they keep their times).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _

from otklik.core import clock
from otklik.core.bulk import update_row
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.tickets.link_selectors import merge_chain_end
from otklik.tickets.models import (
    Attachment,
    Channel,
    Message,
    Ticket,
    TicketCc,
    TicketFollower,
    TicketTag,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.attributes import ticket_close
from otklik.tickets.services.derived import search_document_refresh, ticket_recompute
from otklik.tickets.services.history import (
    TOUCHED_FIELDS,
    ChangeSet,
    activity_announce,
    history_record,
    ticket_touch,
)


def same_author(first: Ticket, second: Ticket) -> bool:
    """Tell whether two tickets have one author: the same account, or the same address without one."""
    if first.author_id is not None or second.author_id is not None:
        return first.author_id == second.author_id
    return bool(first.author_email) and first.author_email.lower() == second.author_email.lower()


def merge_target_check(policy: TicketPolicy, ticket: Ticket, target: Ticket | None, wanted: object) -> None:
    """Raise the error that refuses merging `ticket` into `target` for this user, if any.

    `target` is the visible ticket found for the number `wanted` (None: no such ticket, or not visible:
    both read the same, so the answer tells nothing about tickets the user may not see). Shared by the
    service and the confirmation page, which asks before the destructive step.
    """
    policy.require(policy.is_support and policy.works_ticket(ticket))
    if ticket.merged_into_id is not None:
        raise ValidationFailed(
            _("This ticket is already merged into ticket #%(id)s.") % {"id": ticket.merged_into_id},
            field="into",
        )
    if target is None:
        raise ValidationFailed(
            _("There is no ticket #%(id)s that you can see.") % {"id": wanted}, field="into"
        )
    if target.pk == ticket.pk:
        raise ValidationFailed(_("A ticket cannot be merged into itself."), field="into")
    if target.merged_into_id is not None:
        end = merge_chain_end(target)
        raise ValidationFailed(
            _("Ticket #%(id)s is itself merged into ticket #%(end)s: merge into that one.")
            % {"id": target.pk, "end": end.pk},
            field="into",
        )
    if not policy.works_ticket(target):
        raise PermissionDenied(_("You do not work ticket #%(id)s.") % {"id": target.pk}, field="into")
    if not same_author(ticket, target) and not policy.is_admin:
        raise PermissionDenied(
            _("The tickets have different authors: only a support admin may merge them."), field="into"
        )


def merge_target_find(policy: TicketPolicy, into: Ticket | int | str | None) -> Ticket | None:
    """Return the visible ticket `into` names (a ticket or its number), or None."""
    if isinstance(into, Ticket):
        return into if policy.can_view(into) else None
    try:
        number = int(str(into).strip().lstrip("#"))
    except (TypeError, ValueError):
        return None
    if number < 1 or number > 2**63 - 1:
        return None
    return policy.visible(Ticket.objects.select_related("author")).filter(pk=number).first()


def _numbers(first: int, last: int) -> str:
    return f"#{first}" if first == last else f"#{first}–#{last}"


@transaction.atomic
def ticket_merge(*, actor: User, ticket: Ticket, into: Ticket | int, via: str = Channel.WEB) -> Ticket:
    """Merge `ticket` into `into` and return the target; close the merged ticket as "merged into #M".

    Staff who work both tickets merge tickets of one author; support admins merge any two. Everything
    the conversation holds moves (public and hidden messages, log lines, files), and so do the copies
    (CC), the followers and the tags, each once. The history events stay with the merged ticket.
    """
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    target = merge_target_find(policy, into)
    merge_target_check(policy, ticket, target, into.pk if isinstance(into, Ticket) else into)
    assert target is not None  # merge_target_check refused None
    # Both rows locked in id order, as every writer of several tickets does (no deadlock between two merges).
    first, second = sorted((ticket, target), key=lambda t: t.pk)
    locked = {first.pk: ticket_lock(first), second.pk: ticket_lock(second)}
    source, target = locked[ticket.pk], locked[target.pk]
    # Judged again on the locked rows: a concurrent merge may have moved either meanwhile.
    merge_target_check(policy, source, target, target.pk)

    # The conversation: numbered after the target's own messages, in their order, times kept.
    numbers = list(Message.objects.filter(ticket=source).order_by("number").values_list("number", flat=True))
    offset = Message.objects.filter(ticket=target).aggregate(n=Max("number"))["n"] or 0
    if numbers:
        Message.objects.filter(ticket=source).update(ticket=target, number=F("number") + offset)
    files = Attachment.objects.filter(ticket=source).update(ticket=target)
    emails = _copies_move(source, target)
    _followers_move(source, target)
    _tags_move(source, target)

    if source.closed_at is None:
        source = ticket_close(actor=actor, ticket=source, via=via, notify_author=False)
    else:
        ticket_recompute(source)
    now = clock.now()  # after the closing, so that the history reads in order
    source.merged_into = target
    ticket_touch(source, actor, via, now)
    update_row(source, ["merged_into", *TOUCHED_FIELDS])
    into_changes = ChangeSet()
    into_changes.add("merged_into", None, f"#{target.pk}")
    history_record(source, actor, via, into_changes, at=now, notes=[{"code": "merged_into", "id": target.pk}])
    search_document_refresh(source)

    notes: list[dict] = [
        {
            "code": "merged_from",
            "id": source.pk,
            "old": _numbers(numbers[0], numbers[-1]) if numbers else "—",
            "new": _numbers(numbers[0] + offset, numbers[-1] + offset) if numbers else "—",
            "files": files,
        }
    ]
    if emails:
        notes.append({"code": "merged_cc", "id": source.pk, "emails": ", ".join(emails)})
    from_changes = ChangeSet()
    from_changes.add("merged_from", None, f"#{source.pk}")
    ticket_touch(target, actor, via, now)
    history_record(target, actor, via, from_changes, at=now, notes=notes)
    # The moved messages change the target's conversation: its last message, its clock, its counters.
    ticket_recompute(target)
    search_document_refresh(target)
    activity_announce(target, actor, via, changes=from_changes, notify_author=False)
    return target


def _copies_move(source: Ticket, target: Ticket) -> list[str]:
    """Move the source's CC addresses the target lacks (letter case aside); return the moved addresses."""
    taken = {
        email.lower() for email in TicketCc.objects.filter(ticket=target).values_list("email", flat=True)
    }
    moving, dropping, emails = [], [], []
    for pk, email in TicketCc.objects.filter(ticket=source).order_by("pk").values_list("pk", "email"):
        if email.lower() in taken:
            dropping.append(pk)
        else:
            taken.add(email.lower())
            moving.append(pk)
            emails.append(email)
    if dropping:
        TicketCc.objects.filter(pk__in=dropping).delete()
    if moving:
        TicketCc.objects.filter(pk__in=moving).update(ticket=target)
    return emails


def _followers_move(source: Ticket, target: Ticket) -> None:
    """Make the source's followers follow the target (once each); the source keeps none."""
    already = TicketFollower.objects.filter(ticket=target).values("user_id")
    TicketFollower.objects.filter(ticket=source).exclude(user_id__in=already).update(ticket=target)
    TicketFollower.objects.filter(ticket=source).delete()


def _tags_move(source: Ticket, target: Ticket) -> None:
    """Give the target the source's tags (once each); the source keeps none."""
    already = TicketTag.objects.filter(ticket=target).values("tag_id")
    TicketTag.objects.filter(ticket=source).exclude(tag_id__in=already).update(ticket=target)
    TicketTag.objects.filter(ticket=source).delete()
