"""A rule's definition as plain data: its actions' JSON checked, and the immutable form the engine runs.

The actions JSON is the shared action set of macros and rules (`ticket_actions_from_json`: changes,
add_tags, remove_tags, close, reopen) plus what only rules do:

- "reply": text posted as support's answer (placeholders as in macros), "reply_hidden": post it as a
  hidden note instead;
- "transition": the code of a support-process move to take (when the ticket's state offers it);
- "notify": {"users": [staff ids], "responsible": true, "text": "..."} — a hidden note that mentions
  them, so they hear of it by the bell like any mention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from otklik.automation.conditions import Condition, conditions_clean
from otklik.core.errors import ValidationFailed
from otklik.tickets.services.actions import TicketActions, ticket_actions_from_json

RULE_KEYS = frozenset({"reply", "reply_hidden", "transition", "notify"})
SHARED_KEYS = frozenset({"changes", "add_tags", "remove_tags", "close", "reopen"})
NOTIFY_USERS_MAX = 20
NOTIFY_TEXT_MAX = 1000
HOURS_MAX = 10_000


@dataclass(frozen=True)
class Notify:
    users: tuple[int, ...] = ()
    responsible: bool = False
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.users or self.responsible)


@dataclass(frozen=True)
class RuleActions:
    """What a rule does: the shared action set, a process move, and whom to tell."""

    ticket: TicketActions = field(default_factory=TicketActions)
    transition: str = ""
    notify: Notify = field(default_factory=Notify)

    @property
    def empty(self) -> bool:
        return self.ticket.empty and not self.transition and self.notify.empty

    def as_json(self) -> dict[str, Any]:
        data = self.ticket.as_json()
        if self.ticket.reply:
            data["reply"] = self.ticket.reply
            if self.ticket.reply_hidden:
                data["reply_hidden"] = True
        if self.transition:
            data["transition"] = self.transition
        if not self.notify.empty:
            notify: dict[str, Any] = {}
            if self.notify.users:
                notify["users"] = list(self.notify.users)
            if self.notify.responsible:
                notify["responsible"] = True
            if self.notify.text:
                notify["text"] = self.notify.text
            data["notify"] = notify
        return data


def rule_actions_clean(data: Any) -> RuleActions:
    """Check a rule's actions JSON; raise ValidationFailed with field messages."""
    if data in (None, ""):
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed(_("Actions must be given as an object."), field="actions")
    unknown = set(data) - SHARED_KEYS - RULE_KEYS
    if unknown:
        raise ValidationFailed(
            _("Unknown action: %(names)s.") % {"names": ", ".join(sorted(map(str, unknown)))[:200]},
            field="actions",
        )
    reply = data.get("reply") or ""
    if not isinstance(reply, str):
        raise ValidationFailed(_("Enter a text."), field="reply")
    ticket = ticket_actions_from_json(
        {key: value for key, value in data.items() if key in SHARED_KEYS},
        reply=reply,
        reply_hidden=bool(data.get("reply_hidden")),
    )
    transition = data.get("transition") or ""
    if not isinstance(transition, str) or len(transition) > 40:
        raise ValidationFailed(_("Enter the code of a process move."), field="transition")
    return RuleActions(ticket=ticket, transition=transition.strip(), notify=_notify_clean(data.get("notify")))


def _notify_clean(raw: Any) -> Notify:
    if raw in (None, "", {}):
        return Notify()
    if not isinstance(raw, dict) or set(raw) - {"users", "responsible", "text"}:
        raise ValidationFailed(_("Notify takes users, responsible and text."), field="notify")
    users = raw.get("users") or []
    if (
        not isinstance(users, list)
        or len(users) > NOTIFY_USERS_MAX
        or not all(isinstance(u, int) and not isinstance(u, bool) and u > 0 for u in users)
    ):
        raise ValidationFailed(
            _("List at most %(n)d staff members by id.") % {"n": NOTIFY_USERS_MAX}, field="notify"
        )
    text = raw.get("text") or ""
    if not isinstance(text, str) or len(text) > NOTIFY_TEXT_MAX:
        raise ValidationFailed(
            _("The note is at most %(n)d characters long.") % {"n": NOTIFY_TEXT_MAX}, field="notify"
        )
    return Notify(
        users=tuple(dict.fromkeys(users)), responsible=bool(raw.get("responsible")), text=text.strip()
    )


@dataclass(frozen=True)
class Rule:
    """An active rule as the engine runs it (from the configuration cache: never changed in place)."""

    id: int
    name: str
    event: str
    order: int
    hours: int | None
    conditions: tuple[Condition, ...]
    match: str
    actions: RuleActions
    stop_processing: bool
    run_as_id: int | None


def rule_from_row(row: Any) -> Rule:
    """Build the engine's form of a saved rule; raise ValidationFailed when its stored JSON is bad."""
    return Rule(
        id=row.pk,
        name=row.name,
        event=row.event,
        order=row.order,
        hours=row.hours,
        conditions=conditions_clean(row.conditions),
        match=row.match,
        actions=rule_actions_clean(row.actions),
        stop_processing=row.stop_processing,
        run_as_id=row.run_as_id,
    )


def rule_definition_from(data: Mapping[str, Any], *, pk: int = 0) -> Rule:
    """Build an unsaved rule from a definition's fields (the dry-run of a form not yet saved)."""
    return Rule(
        id=pk,
        name=str(data.get("name") or ""),
        event=str(data.get("event") or ""),
        order=int(data.get("order") or 0),
        hours=data.get("hours"),
        conditions=conditions_clean(data.get("conditions")),
        match=str(data.get("match") or "all"),
        actions=rule_actions_clean(data.get("actions")),
        stop_processing=bool(data.get("stop_processing")),
        run_as_id=data.get("run_as"),
    )
