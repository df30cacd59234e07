"""Macros (P5): a named set of ticket changes plus an optional reply, applied in one click.

A personal macro belongs to one staff member and only they see it; a shared one (no owner) is offered to
all staff and only support admins write it. Applying a macro runs its actions through
`ticket_actions_apply`, so every part goes through its own service and the actor's policy: a macro never
lets anyone do what they may not, and a refused part leaves the ticket untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.core import clock
from otklik.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from otklik.tickets.fields import DICTIONARY_FIELDS
from otklik.tickets.loglines import log_text_default
from otklik.tickets.models import Channel, Macro, MessageKind, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.actions import TicketActions, ticket_actions_apply, ticket_actions_from_json
from otklik.tickets.services.cleaning import entry_clean, sla_clean, support_user_clean
from otklik.tickets.services.history import message_insert
from otklik.tickets.services.tags import tag_names_clean

NAME_MAX_LENGTH = 100
SORT_MIN, SORT_MAX = -1_000_000, 1_000_000
# Ids are 64-bit in the database: a larger number is refused before it reaches a query.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class MacroInput:
    """What a macro's form or the API sends: `actions` is the JSON form of TicketActions."""

    name: str
    shared: bool = False
    actions: Any = field(default_factory=dict)
    reply: str = ""
    reply_hidden: bool = False
    active: bool = True
    sort: int = 100


@dataclass
class MacroBulkResult:
    """The outcome of a macro applied to a selection: the tickets it changed, the refused ones with why."""

    applied: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


# -- who may do what ------------------------------------------------------------------------------
def macro_visible(policy: TicketPolicy, macro: Macro) -> bool:
    """Tell whether the user sees the macro at all: their own, or a shared one (staff, admins, demo)."""
    if not policy.sees_support_view:
        return False
    return macro.owner_id is None or macro.owner_id == policy.user.pk


def macro_usable(policy: TicketPolicy, macro: Macro) -> bool:
    """Tell whether the user may apply the macro: visible to them and active."""
    return macro.active and macro_visible(policy, macro)


def macro_editable(policy: TicketPolicy, macro: Macro) -> bool:
    """Tell whether the user may change or delete the macro: their own, or a shared one for admins."""
    if policy.is_demo or not policy.is_support or not macro_visible(policy, macro):
        return False
    return macro.owner_id is not None or policy.is_admin


# -- writes ---------------------------------------------------------------------------------------
def macro_refusal(exc: DomainError) -> str:
    """Return why a macro (or its save) was refused, in words for the user: the general message, else
    its field messages (a value the configuration no longer offers)."""
    if exc.errors and exc.message == str(exc.default_message):
        return exc.text()
    return exc.message


def _name_clean(raw: object) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        raise ValidationFailed(_("Enter the macro's name."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            _("The name is at most %(n)d characters long.") % {"n": NAME_MAX_LENGTH}, field="name"
        )
    return name


def _id_clean(value: Any, name: str) -> int:
    """Return an id given as a whole number or its digits; refuse anything else, and ids past 64 bits."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    if number is None or not 0 < number <= MAX_ID:
        raise ValidationFailed(_("Choose a valid value."), field=name)
    return number


def _change_clean(name: str, value: Any) -> Any:
    """Check one field value against today's configuration; return what the macro keeps (ids, bools)."""
    if name != "is_postponed" and value not in (None, ""):
        value = _id_clean(value, name)
    if name in DICTIONARY_FIELDS:
        entry = entry_clean(value, DICTIONARY_FIELDS[name], name)
        return None if entry is None else entry.pk
    if name == "sla":
        sla = sla_clean(value)
        return None if sla is None else sla.pk
    if name == "responsible":
        user = support_user_clean(value)
        return None if user is None else user.pk
    if name == "is_postponed":
        if not isinstance(value, bool):
            raise ValidationFailed(_("Enter true or false."), field=name)
        return value
    raise ValidationFailed(_("Unknown field."), field=name)


def macro_actions_clean(data: MacroInput) -> TicketActions:
    """Validate a macro's actions and reply; raise ValidationFailed naming every wrong field."""
    actions = ticket_actions_from_json(
        data.actions, reply=str(data.reply or ""), reply_hidden=data.reply_hidden
    )
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name, value in actions.changes.items():
        try:
            changes[name] = _change_clean(name, value)
        except ValidationFailed as exc:
            for key, messages in exc.errors.items():
                errors.setdefault(key, []).extend(messages)
    tags: dict[str, list[str]] = {}
    for key, names in (("add_tags", actions.add_tags), ("remove_tags", actions.remove_tags)):
        try:
            tags[key] = tag_names_clean(names)
        except ValidationFailed as exc:
            errors.setdefault(key, []).append(exc.message)
    if errors:
        raise ValidationFailed(errors=errors)
    cleaned = TicketActions(
        changes=changes,
        add_tags=tags["add_tags"],
        remove_tags=tags["remove_tags"],
        reply=actions.reply.strip(),
        reply_hidden=actions.reply_hidden,
        close=actions.close,
        reopen=actions.reopen,
    )
    if cleaned.empty:
        raise ValidationFailed(_("A macro must change something or reply."), field="actions")
    return cleaned


@transaction.atomic
def macro_save(*, actor: User, macro: Macro | None = None, data: MacroInput) -> Macro:
    """Create a macro (no `macro`) or change one; personal for any staff member, shared for admins only."""
    policy = writer_policy(actor)
    policy.require(policy.is_support)
    if macro is not None:
        macro = Macro.objects.select_for_update().filter(pk=macro.pk).first()
        if macro is None or not macro_visible(policy, macro):
            raise NotFound()
        if not macro_editable(policy, macro):
            raise PermissionDenied(_("Only a support admin changes shared macros."))
    if data.shared and not policy.is_admin:
        refusal = _("Only a support admin creates shared macros.")
        raise PermissionDenied(refusal, errors={"shared": [refusal]})
    errors: dict[str, list[str]] = {}
    name = ""
    try:
        name = _name_clean(data.name)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    actions: TicketActions | None = None
    try:
        actions = macro_actions_clean(data)
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
    try:
        sort = int(data.sort)
    except (TypeError, ValueError):
        sort = 0
        errors.setdefault("sort", []).append(_("Enter a whole number."))
    if not SORT_MIN <= sort <= SORT_MAX:
        errors.setdefault("sort", []).append(
            _("Enter a number between %(low)s and %(high)s.") % {"low": SORT_MIN, "high": SORT_MAX}
        )
    owner = None if data.shared else (macro.owner if macro is not None and macro.owner_id else actor)
    if name and data.active:
        twins = Macro.objects.filter(owner=owner, active=True, name__iexact=name)
        if macro is not None:
            twins = twins.exclude(pk=macro.pk)
        if twins.exists():
            errors.setdefault("name", []).append(_("An active macro of this name already exists."))
    if errors or actions is None:
        raise ValidationFailed(errors=errors)
    now = clock.now()
    if macro is None:
        macro = Macro(created_at=now)
    macro.name = name
    macro.owner = owner
    macro.actions = actions.as_json()
    macro.reply = actions.reply
    macro.reply_hidden = actions.reply_hidden and bool(actions.reply)
    macro.active = bool(data.active)
    macro.sort = sort
    macro.updated_at = now
    macro.save()
    return macro


@transaction.atomic
def macro_delete(*, actor: User, macro: Macro) -> None:
    """Delete a macro: one's own, or a shared one for admins."""
    policy = writer_policy(actor)
    if not macro_visible(policy, macro):
        raise NotFound()
    policy.require(policy.is_support)
    if not macro_editable(policy, macro):
        raise PermissionDenied(_("Only a support admin changes shared macros."))
    Macro.objects.filter(pk=macro.pk).delete()


def macro_apply(*, actor: User, macro: Macro, ticket: Ticket, via: str = Channel.WEB) -> Ticket:
    """Apply a macro the actor may use to one ticket, all or nothing; return the ticket as it is now.

    The ticket's log says which macro was applied (in the reader's language), followed by the lines of
    the changes it made. Any refused part (the policy, a value no longer valid) raises and rolls back
    everything, the log line included.
    """
    with transaction.atomic():
        policy = writer_policy(actor)
        if not policy.can_view(ticket):
            raise NotFound()
        if not macro_visible(policy, macro):
            raise NotFound()
        policy.require(policy.is_support)
        if not macro.active:
            raise PermissionDenied(_("This macro is switched off."))
        actions = ticket_actions_from_json(macro.actions, reply=macro.reply, reply_hidden=macro.reply_hidden)
        locked = ticket_lock(ticket)
        data = [{"code": "macro", "name": macro.name}]
        message_insert(
            locked,
            kind=MessageKind.LOG,
            body=log_text_default(data),
            data=data,
            author=actor,
            by_support=True,
            via=via,
        )
        ticket_actions_apply(actor=actor, ticket=locked, actions=actions, via=via)
    return Ticket.objects.get(pk=ticket.pk)


def macros_apply(
    *, actor: User, macro: Macro, tickets: Iterable[int | Ticket], via: str = Channel.WEB
) -> MacroBulkResult:
    """Apply a macro to each chosen ticket in its own transaction; report which were changed and why not.

    One ticket's refusal leaves the others applied; a ticket the actor cannot see is refused as not found.
    """
    policy = writer_policy(actor)
    if not macro_visible(policy, macro):
        raise NotFound()
    policy.require(policy.is_support)
    if not macro.active:
        raise PermissionDenied(_("This macro is switched off."))
    ids: list[int] = []
    for item in tickets:
        tid = item.pk if isinstance(item, Ticket) else int(item)
        if tid not in ids:
            ids.append(tid)
    found = {t.pk: t for t in policy.visible().filter(pk__in=[i for i in ids if 0 < i <= MAX_ID])}
    result = MacroBulkResult()
    for tid in ids:
        ticket = found.get(tid)
        if ticket is None:
            result.refused[tid] = str(_("Not found."))
            continue
        try:
            macro_apply(actor=actor, macro=macro, ticket=ticket, via=via)
        except DomainError as exc:
            result.refused[tid] = macro_refusal(exc)
        else:
            result.applied.append(tid)
    return result
