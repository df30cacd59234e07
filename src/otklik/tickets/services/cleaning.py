"""Clean and check the inputs of ticket writes; every refusal is a ValidationFailed keyed by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.core.errors import ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel
from otklik.tickets.fields import (
    BODY_MAX,
    DICTIONARY_FIELDS,
    MINUTES_MAX,
    PROMPTS,
    TITLE_MAX,
)
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import (
    SLA_LIMITED_KINDS,
    sla_allows,
)
from otklik.tickets.services.inputs import EntryRef, SlaRef, UserRef


def entry_clean(value: EntryRef, kind: str, field_name: str) -> DictionaryEntry | None:
    """Resolve an active entry of the dictionary `kind` from an entry or its id; nothing for an empty value."""
    if value in (None, "", 0):
        return None
    if isinstance(value, DictionaryEntry):
        entry = value
    else:
        try:
            entry = DictionaryEntry.objects.get(pk=int(value))
        except (DictionaryEntry.DoesNotExist, ValueError, TypeError):
            raise ValidationFailed(_("Choose a valid value."), field=field_name) from None
    if entry.kind != kind or not entry.active:
        raise ValidationFailed(_("Choose a valid value."), field=field_name)
    return entry


def support_user_clean(value: UserRef, field_name: str = "responsible") -> User | None:
    """Resolve a responsible: exactly one person with staff or admin rights, or nobody."""
    if value in (None, "", 0):
        return None
    user = (
        value
        if isinstance(value, User)
        else User.objects.filter(pk=int_clean(value, field_name), is_active=True).first()
    )
    # A user object passed in may be deactivated: check it the same way as a looked-up id.
    if user is None or not user.is_active or not TicketPolicy(user).is_support:
        raise ValidationFailed(
            _("Only a user with staff or admin rights can be responsible."), field=field_name
        )
    return user


def int_clean(value: Any, field_name: str) -> int:
    """Return `value` as a whole number, or refuse it on `field_name`."""
    # Any: it parses whatever a form, the API or a caller hands in, and refuses what is not a number.
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a whole number."), field=field_name) from None


def sla_clean(value: SlaRef) -> SlaLevel | None:
    """Resolve an active SLA level from a level or its id; nothing for an empty value."""
    if value in (None, "", 0):
        return None
    sla = (
        value
        if isinstance(value, SlaLevel)
        else SlaLevel.objects.filter(pk=int_clean(value, "sla"), active=True).first()
    )
    if sla is None:
        raise ValidationFailed(_("Choose a valid value."), field="sla")
    return sla


# F-06: an SLA limits the categories, criticalities and marks of its tickets; one message per field.
SLA_REFUSALS = {
    "category": gettext_lazy("The service level “%(sla)s” does not offer this category: choose another."),
    "criticality": gettext_lazy(
        "The service level “%(sla)s” does not offer this criticality: choose another."
    ),
    "mark": gettext_lazy("The service level “%(sla)s” does not offer this mark: choose another."),
}


SLA_LIMITED_FIELDS = tuple(name for name, kind in DICTIONARY_FIELDS.items() if kind in SLA_LIMITED_KINDS)


def entries_outside_sla(
    sla: SlaLevel | None, entries: dict[str, Any], *, ticket: Ticket | None = None
) -> dict[str, list[str]]:
    """Return field errors for the chosen entries the SLA does not allow (F-06).

    Only author-facing choices go through this: staff and admins may pick any entry (F-13). A value the
    ticket already has is let through unchanged, so an untouched form never fails on what staff set.
    """
    errors: dict[str, list[str]] = {}
    for name in SLA_LIMITED_FIELDS:
        entry = entries.get(name)
        if not isinstance(entry, DictionaryEntry):
            continue
        if ticket is not None and getattr(ticket, f"{name}_id") == entry.pk:
            continue
        if not sla_allows(sla, entry):
            errors[name] = [str(SLA_REFUSALS[name]) % {"sla": sla.name if sla else ""}]
    return errors


def title_clean(title: str) -> str:
    """Return the title with its whitespace collapsed; refuse an empty or too long one."""
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(_("Enter a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(
            _("The title must be at most %(n)s characters.") % {"n": TITLE_MAX}, field="title"
        )
    return title


def body_clean(body: str, field_name: str = "message") -> str:
    """Return the text with Unix line ends, stripped; refuse an empty or too long one."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationFailed(_("Enter the text of the message."), field=field_name)
    if len(body) > BODY_MAX:
        raise ValidationFailed(
            _("The message must be at most %(n)s characters.") % {"n": BODY_MAX}, field=field_name
        )
    return body


def minutes_clean(minutes: int | str | None) -> int:
    """Return the minutes spent as a whole number within the allowed range."""
    value = int_clean(minutes or 0, "minutes")
    if value < 0 or value > MINUTES_MAX:
        raise ValidationFailed(_("Enter a number of minutes from 0 to 100000."), field="minutes")
    return value


def compose_prompts(body: str, prompts: Mapping[str, str] | None) -> str:
    """Append the regulation's structured prompts (F-12) that were answered to the message."""
    parts = [body.strip()] if body and body.strip() else []
    for key, label in PROMPTS:
        answer = ((prompts or {}).get(key) or "").strip()
        if answer:
            parts.append(f"[b]{label}:[/b]\n{answer}")
    return "\n\n".join(parts)
