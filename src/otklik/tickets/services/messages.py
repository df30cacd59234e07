"""Post, edit and delete messages (F-03)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.accounts.selectors import signature_get
from otklik.core import clock
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.tickets import files as file_checks
from otklik.tickets.models import (
    Channel,
    Message,
    MessageKind,
    MessageRevision,
    Ticket,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.attachments import attachments_store, files_delete_after_commit, upload_limits
from otklik.tickets.services.cleaning import body_clean, int_clean, minutes_clean
from otklik.tickets.services.derived import (
    search_document_append,
    search_document_refresh,
    ticket_recompute,
)
from otklik.tickets.services.history import (
    TOUCHED_FIELDS,
    ChangeSet,
    activity_announce,
    history_actor,
    history_record,
    message_insert,
    ticket_touch,
)
from otklik.tickets.services.inputs import MailOrigin, MessageDraft


@transaction.atomic
def message_post(
    *,
    actor: User,
    ticket: Ticket,
    draft: MessageDraft,
    origin: MailOrigin | None = None,
    via: str = Channel.WEB,
) -> Message:
    """Add a message to the ticket. A closed ticket takes messages from staff without reopening (F-02).

    `origin` posts a mail's words (the mail channel or support only): its registered sender's, or those of a
    person known only by `origin.author_address`, never support's; the quoted history is kept beside the
    text (F-15).
    """
    hidden, not_change_status = draft.hidden, draft.not_change_status
    # A mail's registered sender is the one the mail principal posts for.
    on_behalf_of = draft.on_behalf_of if origin is None or origin.sender is None else origin.sender
    author_address = origin.author_address if origin is not None else ""
    quoted = origin.quoted if origin is not None else ""
    accept_any_file_type = origin.accept_any_file_type if origin is not None else False
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    if not policy.can_post_message(ticket):
        if ticket.merged_into_id is not None:
            raise PermissionDenied(
                _("This ticket was merged into #%(id)s: answer there.") % {"id": ticket.merged_into_id}
            )
        if ticket.closed_at is not None:
            raise PermissionDenied(_("The ticket is closed. Reopen it to add a message."))
        raise PermissionDenied()
    options = policy.message_options(ticket)
    requested = {
        "hidden": hidden,
        "not_change_status": not_change_status,
        "minutes": bool(draft.minutes),
        "on_behalf": on_behalf_of not in (None, "", 0)
        or bool(author_address)
        or accept_any_file_type
        or bool(quoted),
    }
    if policy.is_mail_principal and not author_address and on_behalf_of in (None, "", 0):
        raise PermissionDenied(_("The mail channel posts only for the sender of a mail."))
    refused = [name for name, used in requested.items() if used and name not in options]
    if refused:
        raise PermissionDenied(
            _("Only support staff may use: %(fields)s.") % {"fields": ", ".join(refused)},
            errors={name: [_("Only support staff may use this option.")] for name in refused},
        )
    if hidden and not_change_status:
        raise ValidationFailed(
            _("A message is either hidden or visible without changing the status, not both."), field="hidden"
        )
    errors: dict[str, list[str]] = {}
    body, minutes = "", 0
    try:
        body = body_clean(draft.body, "body")
        # The signature is part of the stored text, not added when shown: the web page, the API, the mail
        # to the client and the search see the same words, and an old reply keeps the signature it was
        # sent with after its author changes theirs.
        signature = _signature_for(draft, actor=actor, hidden=hidden, author_address=author_address)
        if signature:
            body = body_clean(f"{body}\n\n-- \n{signature}", "body")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        minutes = minutes_clean(draft.minutes)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    author: User | None = actor
    author_email = ""
    if author_address:
        author = None
        author_email = author_address
    elif on_behalf_of not in (None, "", 0):
        author = (
            on_behalf_of
            if isinstance(on_behalf_of, User)
            else User.objects.filter(pk=int_clean(on_behalf_of, "on_behalf_of")).first()
        )
        # Only someone who may see the ticket (its client, a colleague, support) can be its message's author.
        if author is None or not TicketPolicy(author).can_view(ticket):
            errors["on_behalf_of"] = [_("Choose a valid value.")]
    try:
        checked = file_checks.check_uploads(
            [(f.name, f.fileobj) for f in draft.files], upload_limits(policy), any_type=accept_any_file_type
        )
    except ValidationFailed as exc:
        errors.update(exc.errors)
        checked = []
    if errors:
        raise ValidationFailed(errors=errors)

    ticket = ticket_lock(ticket)
    now = clock.now()
    kind = (
        MessageKind.HIDDEN if hidden else (MessageKind.NO_STATUS if not_change_status else MessageKind.PUBLIC)
    )
    # The author decides: a message posted on behalf of a support member is support's answer, on behalf of a client not.
    by_support = author is not None and TicketPolicy(author).is_support
    message = message_insert(
        ticket,
        kind=kind,
        body=body,
        author=author,
        author_email=author_email or getattr(author, "email", ""),
        posted_by=actor if author != actor else None,  # who typed it for the author, or the mail gateway
        by_support=by_support,
        via=via,
        minutes=minutes,
        at=now,
        quoted=quoted,
    )
    attachments_store(message, checked)
    history = history_actor(policy, actor, author=author, address=author_address)
    ticket_touch(ticket, history.user, via, now)
    ticket_recompute(ticket, changed=TOUCHED_FIELDS)
    search_document_append(ticket, message)
    activity_announce(
        ticket,
        history.user,
        via,
        message=message,
        notify_author=draft.notify_author and not hidden,
        actor_email=history.email,
    )
    return message


def _signature_for(draft: MessageDraft, *, actor: User, hidden: bool, author_address: str) -> str:
    """Return the signature to add under the message, or "".

    Only a message the client sees, written by support in their own name: a hidden note needs none, and
    words posted for a client or for a mail's sender are not support's to sign.
    """
    if not draft.signed or hidden or author_address:
        return ""
    behalf = draft.on_behalf_of
    if behalf not in (None, "", 0):
        behalf_id = behalf.pk if isinstance(behalf, User) else str(behalf).strip()
        if str(behalf_id) != str(actor.pk):
            return ""
    return signature_get(actor)


@transaction.atomic
def message_edit(*, actor: User, message: Message, body: str, via: str = Channel.WEB) -> Message:
    """Change a message's text (admins only); the previous text is kept as a revision (F-03)."""
    policy = writer_policy(actor)
    if not policy.can_view(message.ticket):
        raise NotFound()
    policy.require(policy.can_edit_message(message))
    body = body_clean(body, "body")
    if body == message.body:
        return message
    now = clock.now()
    MessageRevision.objects.create(message=message, body=message.body, edited_by=actor, edited_at=now)
    message.body = body
    # Edited text is the admin's words: it replaces data a note was written from (split notes).
    message.data = None
    message.edited_at = now
    message.edited_by = actor
    message.save(update_fields=["body", "data", "edited_at", "edited_by"])
    ticket = ticket_lock(message.ticket)
    changes = ChangeSet()
    changes.add("message_edited", None, f"#{message.number}")
    history_record(ticket, actor, via, changes, at=now)
    search_document_refresh(ticket)
    activity_announce(ticket, actor, via, changes=changes)
    return message


@transaction.atomic
def message_delete(*, actor: User, message: Message, via: str = Channel.WEB) -> Ticket:
    """Delete a message and its files (admins only), then recompute the ticket's derived state."""
    policy = writer_policy(actor)
    if not policy.can_view(message.ticket):
        raise NotFound()
    policy.require(policy.can_delete_message(message))
    ticket = ticket_lock(message.ticket)
    names = list(message.attachments.values_list("file", flat=True))
    number = message.number
    changes = ChangeSet()
    changes.add("message_deleted", f"#{number}", None)
    # Log before deleting: the log line takes the next number, so a deleted number is never reused.
    history_record(ticket, actor, via, changes)
    message.delete()
    files_delete_after_commit(names)
    ticket = ticket_recompute(ticket)
    search_document_refresh(ticket)
    activity_announce(ticket, actor, via, changes=changes)
    return ticket
