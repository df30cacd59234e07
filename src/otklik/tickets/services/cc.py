"""Copies of a ticket (P3): the addresses the author adds as CC get the author's mails.

An address may belong to an account or not; nothing these functions answer or log says which (the
history and the errors name addresses only). The account is looked up among confirmed addresses
(F-12): a registered but unconfirmed address is nobody's, so it gives nobody the ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from otklik.core import clock
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.tickets.models import Channel, Ticket, TicketCc
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.history import (
    TOUCHED_FIELDS,
    ChangeSet,
    history_actor,
    history_record,
    ticket_touch,
)

CC_MAX = 20  # addresses per ticket: a copy list, not a mailing list
CC_EMAIL_MAX = 254  # RFC 5321's limit of a forward path, the model's column
CC_INPUT_MAX = 50  # addresses one call may name (more is no form's or mail's honest input)


def cc_email_clean(value: str) -> str:
    """Return the address as stored (trimmed, lower case), or raise ValidationFailed naming it.

    The whole address is lower-cased, as mail intake compares senders: two spellings of one mailbox
    must not be two copies.
    """
    email = (value or "").strip().lower()
    if not email:
        raise ValidationFailed(_("Enter an e-mail address."), field="emails")
    shown = email if len(email) <= 60 else email[:59] + "\u2026"
    if len(email) > CC_EMAIL_MAX:
        raise ValidationFailed(
            _("“%(email)s” is longer than an e-mail address can be.") % {"email": shown}, field="emails"
        )
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed(
            _("“%(email)s” is not a valid e-mail address.") % {"email": shown}, field="emails"
        ) from None
    return email


def cc_author_address(ticket: Ticket) -> str:
    """Return the address the ticket's author gets mail at (lower case), or ""."""
    author = ticket.author if ticket.author_id else None
    return ((author.email if author is not None else "") or ticket.author_email or "").strip().lower()


def cc_may_manage(policy: TicketPolicy, ticket: Ticket) -> bool:
    """Tell whether the policy's user may add and remove the ticket's copies: its author, staff who work
    it, and the mail principal (for a mail's Cc, when the mailbox rule says so)."""
    if policy.is_demo or not policy.can_view(ticket):
        return False
    return policy.is_mail_principal or policy.is_author(ticket) or policy.works_ticket(ticket)


def _confirmed_holders(emails: Iterable[str]) -> dict[str, User]:
    """Return {address: active account that confirmed it and still has it as its e-mail}, one query."""
    emails = list(emails)
    if not emails:
        return {}
    users = User.objects.filter(profile__confirmed_email__in=emails, is_active=True).select_related("profile")
    return {
        user.profile.confirmed_email: user
        for user in users
        if (user.email or "").strip().lower() == user.profile.confirmed_email
    }


def _listed(emails: Iterable[str]) -> str:
    return ", ".join(sorted(emails))


@transaction.atomic
def ticket_cc_add(
    *,
    actor: User,
    ticket: Ticket,
    emails: Sequence[str],
    via: str = Channel.WEB,
    on_behalf_of: User | None = None,
    author_address: str = "",
    skip_invalid: bool = False,
) -> list[TicketCc]:
    """Add addresses as copies of the ticket; return the rows added (addresses already there are kept).

    Who: the author, staff who work the ticket, the mail principal for a mail's sender (`on_behalf_of`
    or `author_address`, whom the history names). The author's own address is refused (they get the
    mail anyway), as are more than CC_MAX copies. `skip_invalid` (mail intake) leaves out what would be
    refused instead of refusing the call: a mail's Cc line must not stop the mail.
    """
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(cc_may_manage(policy, ticket))
    if (on_behalf_of is not None or bool(author_address)) and not policy.is_mail_principal:
        raise PermissionDenied()
    if len(emails) > CC_INPUT_MAX and not skip_invalid:
        raise ValidationFailed(
            ngettext(
                "Enter at most %(n)s address at a time.",
                "Enter at most %(n)s addresses at a time.",
                CC_INPUT_MAX,
            )
            % {"n": CC_INPUT_MAX},
            field="emails",
        )
    ticket = ticket_lock(ticket)
    author = cc_author_address(ticket)
    wanted: list[str] = []
    for raw in list(emails)[: CC_INPUT_MAX * 4]:
        try:
            email = cc_email_clean(raw)
        except ValidationFailed:
            if skip_invalid:
                continue
            raise
        if email == author:
            if skip_invalid:
                continue
            raise ValidationFailed(
                _("The author gets the ticket's mail anyway: “%(email)s” need not be copied.")
                % {"email": email},
                field="emails",
            )
        if email not in wanted:
            wanted.append(email)
    if not wanted and not skip_invalid:
        raise ValidationFailed(_("Enter an e-mail address."), field="emails")
    present = set(TicketCc.objects.filter(ticket=ticket).values_list("email", flat=True))
    new = [email for email in wanted if email not in present]
    room = CC_MAX - len(present)
    if len(new) > room:
        if not skip_invalid:
            raise ValidationFailed(
                ngettext(
                    "A ticket has at most %(max)s copy (CC).",
                    "A ticket has at most %(max)s copies (CC).",
                    CC_MAX,
                )
                % {"max": CC_MAX},
                field="emails",
            )
        new = new[: max(room, 0)]
    if not new:
        return []
    now = clock.now()
    holders = _confirmed_holders(new)
    rows = [
        TicketCc(ticket=ticket, email=email, user=holders.get(email), added_by=actor, created_at=now)
        for email in new
    ]
    TicketCc.objects.bulk_create(rows)
    _record(ticket, policy, actor, via, present, present | set(new), on_behalf_of, author_address)
    return rows


@transaction.atomic
def ticket_cc_remove(*, actor: User, ticket: Ticket, email: str, via: str = Channel.WEB) -> None:
    """Remove one address from the ticket's copies: the author, staff who work the ticket, or the copied
    account itself (one may leave a copy one was given). An address not copied is NotFound."""
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    email = (email or "").strip().lower()
    row = TicketCc.objects.filter(ticket=ticket, email=email).first() if email else None
    if row is None:
        if not cc_may_manage(policy, ticket):
            raise PermissionDenied()
        raise NotFound(_("This address is not copied on the ticket."), field="email")
    policy.require(cc_may_manage(policy, ticket) or (row.user_id is not None and row.user_id == actor.pk))
    ticket = ticket_lock(ticket)
    present = set(TicketCc.objects.filter(ticket=ticket).values_list("email", flat=True))
    TicketCc.objects.filter(pk=row.pk).delete()
    _record(ticket, policy, actor, via, present, present - {email}, None, "")


def _record(
    ticket: Ticket,
    policy: TicketPolicy,
    actor: User,
    via: str,
    old: set[str],
    new: set[str],
    on_behalf_of: User | None,
    author_address: str,
) -> None:
    """Write the change of the copy list to the history (no mail: the list is shown on the ticket)."""
    history = history_actor(policy, actor, author=on_behalf_of, address=author_address)
    now = clock.now()
    changeset = ChangeSet()
    changeset.add("cc", _listed(old), _listed(new))
    history_record(ticket, history.user, via, changeset, at=now, actor_email=history.email)
    ticket_touch(ticket, history.user, via, now)
    Ticket.objects.filter(pk=ticket.pk).update(**{name: getattr(ticket, name) for name in TOUCHED_FIELDS})
