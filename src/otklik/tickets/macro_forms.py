"""The macro form (P5): what a macro sets, adds, says and does, each field "leave unchanged" by default.

It parses and presents; `macro_save` decides what is valid and who may share a macro.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otklik.tickets.models import Macro
from otklik.tickets.services.actions import REPLY_MAX_LENGTH
from otklik.tickets.services.macros import NAME_MAX_LENGTH, SORT_MAX, SORT_MIN, MacroInput
from otklik.ui.forms import KeyboardFriendlyMixin

# The selects of field changes, in the side panel's order: (field, the dictionary it reads or None).
CHANGE_FIELDS = (
    ("status", "status"),
    ("category", "category"),
    ("criticality", "criticality"),
    ("difficulty", "difficulty"),
    ("mark", "mark"),
    ("sla", None),
    ("responsible", None),
)
LEAVE = ""
CLEAR = "none"


def _tags(raw: str) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


def action_fields_initial(actions: Any, *, prefix: str = "") -> dict[str, Any]:
    """Return the form values of an action set's JSON (macros, rules): the change selects (named `prefix`
    + the field), the tags to add and remove, and open / closed."""
    actions = actions if isinstance(actions, dict) else {}
    changes = actions.get("changes") if isinstance(actions.get("changes"), dict) else {}
    initial: dict[str, Any] = {
        "add_tags": ", ".join(map(str, actions.get("add_tags") or ())),
        "remove_tags": ", ".join(map(str, actions.get("remove_tags") or ())),
        "state": "close" if actions.get("close") else "reopen" if actions.get("reopen") else LEAVE,
    }
    for name, _kind in CHANGE_FIELDS:
        if name in changes:
            initial[f"{prefix}{name}"] = CLEAR if changes[name] is None else str(changes[name])
    if "is_postponed" in changes:
        initial[f"{prefix}is_postponed"] = "yes" if changes["is_postponed"] else "no"
    return initial


def action_fields_json(data: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Return an action set's JSON from a form's cleaned values: only what the user chose to do."""
    changes: dict[str, Any] = {}
    for name, _kind in CHANGE_FIELDS:
        value = data.get(f"{prefix}{name}") or LEAVE
        if value == CLEAR:
            changes[name] = None
        elif value != LEAVE:
            changes[name] = int(value) if value.isdigit() else value
    if data.get(f"{prefix}is_postponed"):
        changes["is_postponed"] = data[f"{prefix}is_postponed"] == "yes"
    actions: dict[str, Any] = {}
    if changes:
        actions["changes"] = changes
    if add := _tags(data.get("add_tags", "")):
        actions["add_tags"] = add
    if remove := _tags(data.get("remove_tags", "")):
        actions["remove_tags"] = remove
    if data.get("state") in ("close", "reopen"):
        actions[data["state"]] = True
    return actions


class MacroForm(KeyboardFriendlyMixin, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        required=False,  # the service names an empty name's error (a blank of spaces too)
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"required": True, "autocomplete": "off"}),
    )
    shared = forms.BooleanField(
        label=_("Shared with all staff"),
        required=False,
        help_text=_("Support admins only; otherwise the macro is yours alone."),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    criticality = forms.ChoiceField(label=_("Criticality"), required=False)
    difficulty = forms.ChoiceField(label=_("Difficulty"), required=False)
    mark = forms.ChoiceField(
        label=_("Mark"), required=False, help_text=_("Only the ticket's author may rate: staff are refused.")
    )
    sla = forms.ChoiceField(label=_("SLA"), required=False)
    responsible = forms.ChoiceField(label=_("Responsible"), required=False)
    is_postponed = forms.ChoiceField(
        label=_("Postponed"),
        required=False,
        choices=[(LEAVE, _("— leave unchanged —")), ("yes", _("yes")), ("no", _("no"))],
    )
    add_tags = forms.CharField(
        label=_("Add tags"), required=False, max_length=2000, help_text=_("Comma-separated.")
    )
    remove_tags = forms.CharField(
        label=_("Remove tags"), required=False, max_length=2000, help_text=_("Comma-separated.")
    )
    reply = forms.CharField(
        label=_("Reply"),
        required=False,
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Optional. Placeholders: {ticket.id} {ticket.title} {author.name} {agent.name}."),
    )
    reply_hidden = forms.BooleanField(label=_("Post the reply as a hidden note"), required=False)
    state = forms.ChoiceField(
        label=_("Then"),
        required=False,
        widget=forms.RadioSelect(attrs={"class": "check"}),
        choices=[
            (LEAVE, _("leave open or closed")),
            ("close", _("close the ticket")),
            ("reopen", _("reopen the ticket")),
        ],
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    sort = forms.IntegerField(
        label=_("Sort"), required=False, min_value=SORT_MIN, max_value=SORT_MAX, initial=100
    )

    def __init__(self, *args, dictionaries, support_users, slas, macro: Macro | None = None, **kwargs):
        if macro is not None:
            kwargs.setdefault("initial", self.initial_for(macro))
        super().__init__(*args, **kwargs)
        leave = (LEAVE, _("— leave unchanged —"))
        for name, kind in CHANGE_FIELDS:
            if kind is not None:
                self.fields[name].choices = [leave] + [(str(e.pk), e.name) for e in dictionaries[kind]]
        self.fields["sla"].choices = [leave] + [(str(s.pk), s.name) for s in slas]
        self.fields["responsible"].choices = [leave, (CLEAR, _("— nobody —"))] + [
            (str(u.pk), u.get_full_name() or u.username) for u in support_users
        ]
        # A value the lists no longer offer (an entry switched off) stays selectable: saving the macro for
        # another reason must not drop it silently.
        for name, _kind in CHANGE_FIELDS:
            current = str(self.initial.get(name) or "")
            values = {value for value, _label in self.fields[name].choices}
            if current and current not in values:
                self.fields[name].choices = [*self.fields[name].choices, (current, f"#{current}")]

    @staticmethod
    def initial_for(macro: Macro) -> dict[str, Any]:
        return {
            **action_fields_initial(macro.actions),
            "name": macro.name,
            "shared": macro.owner_id is None,
            "reply": macro.reply,
            "reply_hidden": macro.reply_hidden,
            "active": macro.active,
            "sort": macro.sort,
        }

    def to_input(self) -> MacroInput:
        """Return what the service takes: only the fields the user chose to change."""
        d = self.cleaned_data
        return MacroInput(
            name=d.get("name") or "",
            shared=bool(d.get("shared")),
            actions=action_fields_json(d),
            reply=d.get("reply") or "",
            reply_hidden=bool(d.get("reply_hidden")),
            active=bool(d.get("active")),
            sort=100 if d.get("sort") is None else d["sort"],
        )
