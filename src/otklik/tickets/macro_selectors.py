"""Reads of macros (P5): the ones a user may use or manage, and what each does in words."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from otklik.accounts.selectors import display_name
from otklik.core.errors import NotFound
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel
from otklik.tickets.fields import DICTIONARY_FIELDS
from otklik.tickets.loglines import NOTHING, field_label
from otklik.tickets.models import Macro
from otklik.tickets.policies import TicketPolicy

MAX_ID = 2**63 - 1
# How much of a reply the summary quotes.
REPLY_QUOTE = 80


def _visible_q(user: User) -> Q:
    return Q(owner__isnull=True) | Q(owner_id=user.pk)


def macro_list_for(user: User) -> QuerySet[Macro]:
    """Return the macros the user may apply: their own and the shared ones, active, in menu order."""
    if not TicketPolicy(user).sees_support_view:
        return Macro.objects.none()
    return Macro.objects.filter(_visible_q(user), active=True).order_by("sort", "name", "id")


def macro_manage_list(user: User) -> QuerySet[Macro]:
    """Return every macro the user sees on the management page, switched-off ones included."""
    if not TicketPolicy(user).sees_support_view:
        return Macro.objects.none()
    return Macro.objects.filter(_visible_q(user)).order_by("-active", "sort", "name", "id")


def macro_get_for(user: User, macro_id: object) -> Macro:
    """Return a macro the user sees (their own or a shared one), else raise NotFound."""
    try:
        pk = int(str(macro_id))
        if not 0 < pk <= MAX_ID:  # past 64 bits a query fails instead of finding nothing
            raise NotFound()
        return macro_manage_list(user).get(pk=pk)
    except (Macro.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def macro_summaries(macros: Iterable[Macro]) -> dict[int, list[str]]:
    """Say what each macro does, one line a part, in the active language (three queries at most).

    Values are named as they are now: an entry or a person since removed shows its id.
    """
    macros = list(macros)
    wanted: dict[str, set[int]] = {"entry": set(), "sla": set(), "user": set()}
    for macro in macros:
        for name, value in _changes(macro).items():
            if isinstance(value, int) and not isinstance(value, bool):
                wanted[_kind(name)].add(value)
    names: dict[tuple[str, int], str] = {}
    if wanted["entry"]:
        names.update(
            (("entry", e.pk), e.name) for e in DictionaryEntry.objects.filter(pk__in=wanted["entry"])
        )
    if wanted["sla"]:
        names.update((("sla", s.pk), s.name) for s in SlaLevel.objects.filter(pk__in=wanted["sla"]))
    if wanted["user"]:
        names.update((("user", u.pk), display_name(u)) for u in User.objects.filter(pk__in=wanted["user"]))
    return {macro.pk: _summary(macro, names) for macro in macros}


def _changes(macro: Macro) -> dict:
    actions = macro.actions if isinstance(macro.actions, dict) else {}
    changes = actions.get("changes")
    return changes if isinstance(changes, dict) else {}


def _kind(name: str) -> str:
    if name in DICTIONARY_FIELDS:
        return "entry"
    return "sla" if name == "sla" else "user"


def _summary(macro: Macro, names: dict[tuple[str, int], str]) -> list[str]:
    actions = macro.actions if isinstance(macro.actions, dict) else {}
    lines = []
    for name, value in _changes(macro).items():
        if name == "is_postponed":
            shown = _("yes") if value else _("no")
        elif value in (None, ""):
            shown = NOTHING
        else:
            shown = names.get((_kind(name), value), f"#{value}")
        lines.append(f"{field_label(name).capitalize()}: {shown}")
    if actions.get("add_tags"):
        lines.append(_("Add tags: %(names)s") % {"names": ", ".join(actions["add_tags"])})
    if actions.get("remove_tags"):
        lines.append(_("Remove tags: %(names)s") % {"names": ", ".join(actions["remove_tags"])})
    if macro.reply.strip():
        quote = " ".join(macro.reply.split())
        if len(quote) > REPLY_QUOTE:
            quote = quote[: REPLY_QUOTE - 1] + "…"
        label = _("Hidden note") if macro.reply_hidden else _("Public reply")
        lines.append(f"{label}: {quote}")
    if actions.get("close"):
        lines.append(_("Close the ticket"))
    if actions.get("reopen"):
        lines.append(_("Reopen the ticket"))
    return lines
