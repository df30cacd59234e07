"""The rule's configuration form without JSON (P6): conditions as rows of selects, actions as fields.

The form only parses and presents: it builds the same conditions and actions JSON the API takes and hands
it to `rule_definition_clean`, whose field messages show on the form. A saved rule's JSON fills the rows
and the fields back. Values that the lists no longer offer (an entry switched off) stay selectable as
"#id", so saving a rule for another reason never drops them silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.accounts.models import SupportGroup
from otklik.accounts.selectors import display_name, support_user_list
from otklik.automation.conditions import BOOL, CONDITIONS_MAX, FIELDS, ID, IDS, OPS
from otklik.automation.definition import NOTIFY_TEXT_MAX
from otklik.sla.models import SlaLevel
from otklik.tickets.macro_forms import (
    CHANGE_FIELDS,
    CLEAR,
    LEAVE,
    action_fields_initial,
    action_fields_json,
)
from otklik.tickets.selectors import dictionaries_for_forms
from otklik.tickets.services.actions import REPLY_MAX_LENGTH
from otklik.ui.widgets import SearchableSelectMultiple

EMPTY_ROWS = 3
ROWS_MAX = CONDITIONS_MAX + EMPTY_ROWS
DICTIONARY_FIELDS = ("category", "criticality", "status", "source")
LIST_OPS = ("in", "not_in")


def reference_choices() -> dict[str, list[tuple[str, str]]]:
    """Return the rows a rule may name, by field: dictionary entries (in the user's language), SLA levels,
    support users and client groups, as (id, label) pairs. One query each."""
    dictionaries = dictionaries_for_forms()
    choices = {kind: [(str(e.pk), e.name) for e in entries] for kind, entries in dictionaries.items()}
    choices["sla"] = [(str(s.pk), s.name) for s in SlaLevel.objects.filter(active=True)]
    choices["responsible"] = [(str(u.pk), display_name(u)) for u in support_user_list()]
    choices["client_group"] = [
        (str(g.pk), g.name) for g in SupportGroup.objects.filter(kind=SupportGroup.Kind.CLIENT)
    ]
    return choices


def _kind(field: str) -> str | None:
    return FIELDS[field][0] if field in FIELDS else None


def _bool_choices() -> list[tuple[str, str]]:
    return [("true", gettext("yes")), ("false", gettext("no"))]


# -- conditions: JSON <-> rows ------------------------------------------------------------------------
def condition_row(condition: Any, choices: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, str]:
    """Return a saved condition as the form's row: field, op, the chosen row ("field:id") and a text."""
    if not isinstance(condition, dict):
        return {"field": "", "op": "", "choice": "", "text": str(condition)}
    field, op, value = (
        str(condition.get("field") or ""),
        str(condition.get("op") or ""),
        condition.get("value"),
    )
    row = {"field": field, "op": op, "choice": "", "text": ""}
    kind = _kind(field)
    if op == "is_empty":
        row["text"] = "false" if value is False else ""
    elif kind in (ID, IDS):
        values = value if isinstance(value, list) else [value]
        if op in LIST_OPS:
            # Names read better than ids; a name with a comma would split, so it stays an id.
            labels = dict(choices.get(field, ()))
            row["text"] = ", ".join(
                labels[str(v)] if str(v) in labels and "," not in labels[str(v)] else str(v) for v in values
            )
        elif values and values[0] not in (None, ""):
            row["choice"] = f"{field}:{values[0]}"
    elif kind == BOOL:
        row["choice"] = f"{field}:{'true' if value is True else 'false' if value is False else value}"
    elif isinstance(value, list):
        row["text"] = ", ".join(map(str, value))
    elif value is not None:
        row["text"] = str(value)
    return row


def _row_blank(row: Mapping[str, str]) -> bool:
    return not (row.get("field") or row.get("choice") or (row.get("text") or "").strip())


def _resolve(field: str, text: str, choices: Mapping[str, Sequence[tuple[str, str]]]) -> list[str]:
    """Turn a comma-separated text of names or ids into ids (a name of the field's list, in any case)."""
    by_label = {label.casefold(): pk for pk, label in reversed(choices.get(field, ()))}
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return [by_label.get(part.casefold(), part) for part in parts]


def condition_json(
    row: Mapping[str, str], number: int, choices: Mapping[str, Sequence[tuple[str, str]]]
) -> dict[str, Any]:
    """Return a row as a condition's JSON; raise ValidationError only for what the service cannot tell
    (a value chosen from another field's list). The service checks the rest."""
    field, op = row.get("field") or "", row.get("op") or ""
    choice, text = row.get("choice") or "", (row.get("text") or "").strip()
    kind = _kind(field)
    chosen = ""
    if choice:
        chosen_field, _sep, chosen = choice.partition(":")
        if kind is not None and chosen_field != field and op != "is_empty":
            raise ValidationError(
                gettext("Condition %(n)d: choose a value from the list of “%(field)s”.")
                % {"n": number, "field": FIELDS[field][1]}
            )
    value: Any
    if op == "is_empty":
        value = False if text.casefold() == "false" else None
    elif kind in (ID, IDS):
        values = ([chosen] if chosen else []) + _resolve(field, text, choices)
        if op in LIST_OPS:
            value = values
        else:
            value = values[0] if len(values) == 1 else values or ""
    elif kind == BOOL:
        value = chosen or text
    else:
        value = text
    return {"field": field, "op": op, "value": value}


class ConditionRowsWidget(forms.Widget):
    """Rows of field, operator, a value from the field's list and a text; posts one set of inputs a row."""

    template_name = "automation/widgets/condition_rows.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices: dict[str, list[tuple[str, str]]] = {}

    def value_from_datadict(self, data, files, name):
        try:
            count = min(max(int(data.get(f"{name}-rows") or 0), 0), ROWS_MAX)
        except ValueError:
            count = 0
        return [
            {key: str(data.get(f"{name}-{i}-{key}") or "") for key in ("field", "op", "choice", "text")}
            for i in range(count)
        ]

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-rows" not in data

    def _value_groups(self, rows: Sequence[Mapping[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
        groups = []
        for field, (kind, label) in FIELDS.items():
            if kind in (ID, IDS):
                options = [(f"{field}:{pk}", name) for pk, name in self.choices.get(field, ())]
            elif kind == BOOL:
                options = [(f"{field}:{value}", name) for value, name in _bool_choices()]
            else:
                continue
            known = {value for value, _name in options}
            # A saved value the list no longer offers stays as it is.
            for row in rows:
                if row.get("choice", "").startswith(f"{field}:") and row["choice"] not in known:
                    options.append((row["choice"], "#" + row["choice"].partition(":")[2]))
                    known.add(row["choice"])
            groups.append((str(capfirst(label)), options))
        return groups

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = [row for row in (value or []) if not _row_blank(row)][:CONDITIONS_MAX]
        rows += [{"field": "", "op": "", "choice": "", "text": ""}] * EMPTY_ROWS
        context["widget"].update(
            {
                "rows": rows,
                "count": len(rows),
                "fields": [(field, str(capfirst(label))) for field, (_kind, label) in FIELDS.items()],
                "ops": [(op, str(label)) for op, label in OPS.items()],
                "groups": self._value_groups(rows),
            }
        )
        return context


class ConditionsField(forms.Field):
    """The rule's conditions: posted rows in, the conditions' JSON out (blank rows left out)."""

    widget = ConditionRowsWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.choices: dict[str, list[tuple[str, str]]] = {}

    def prepare_value(self, value):
        """Return rows for the widget, whether the value is saved JSON or the rows just posted."""
        if isinstance(value, str):
            return []
        return [
            row if isinstance(row, dict) and "choice" in row else condition_row(row, self.choices)
            for row in value or ()
        ]

    def to_python(self, value):
        rows = [row for row in self.prepare_value(value) if not _row_blank(row)]
        return [condition_json(row, number, self.choices) for number, row in enumerate(rows, start=1)]

    def has_changed(self, initial, data):
        return self.to_python(initial) != self.to_python(data)


# -- actions: JSON <-> fields -------------------------------------------------------------------------
ACTION_ERROR_FIELDS = {
    "add_tags": "add_tags",
    "remove_tags": "remove_tags",
    "reply": "reply",
    "transition": "transition",
    "notify": "notify_users",
}


class RuleActionsMixin(forms.Form):
    """The actions as fields, as on the macro form, each "leave unchanged" by default."""

    set_status = forms.ChoiceField(label=_("Status"), required=False)
    set_category = forms.ChoiceField(label=_("Category"), required=False)
    set_criticality = forms.ChoiceField(label=_("Criticality"), required=False)
    set_difficulty = forms.ChoiceField(label=_("Difficulty"), required=False)
    set_mark = forms.ChoiceField(label=_("Mark"), required=False)
    set_sla = forms.ChoiceField(label=_("SLA"), required=False)
    set_responsible = forms.ChoiceField(label=_("Responsible"), required=False)
    set_is_postponed = forms.ChoiceField(
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
    state = forms.ChoiceField(
        label=_("Open or closed"),
        required=False,
        choices=[
            (LEAVE, _("leave open or closed")),
            ("close", _("close the ticket")),
            ("reopen", _("reopen the ticket")),
        ],
    )
    transition = forms.CharField(
        label=_("Process move"),
        required=False,
        max_length=40,
        help_text=_("The code of a support-process move; taken only where the ticket's state offers it."),
    )
    reply = forms.CharField(
        label=_("Reply"),
        required=False,
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional. Placeholders: {ticket.id} {ticket.title} {author.name} {agent.name}."),
    )
    reply_hidden = forms.BooleanField(label=_("Post the reply as a hidden note"), required=False)
    notify_users = forms.MultipleChoiceField(
        label=_("Notify staff"), required=False, widget=SearchableSelectMultiple(size=5)
    )
    notify_responsible = forms.BooleanField(label=_("Notify the responsible"), required=False)
    notify_text = forms.CharField(
        label=_("Note to them"),
        required=False,
        max_length=NOTIFY_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A hidden note that mentions them: they hear of it by the bell."),
    )

    def actions_setup(self, choices: Mapping[str, Sequence[tuple[str, str]]], actions: Any) -> None:
        """Fill the selects' choices and, for a saved rule not yet posted, the fields from its JSON."""
        leave = (LEAVE, _("— leave unchanged —"))
        for name, kind in CHANGE_FIELDS:
            field = self.fields[f"set_{name}"]
            field.choices = [leave] + list(choices.get(kind or name, ()))
        responsible = self.fields["set_responsible"]
        responsible.choices = [leave, (CLEAR, _("— nobody —")), *list(responsible.choices)[1:]]
        self.fields["notify_users"].choices = list(choices.get("responsible", ()))
        initial = self.actions_initial(actions)
        for name, value in initial.items():
            self.initial.setdefault(name, value)
        for name, _kind in CHANGE_FIELDS:
            field, current = self.fields[f"set_{name}"], str(self.initial.get(f"set_{name}") or "")
            if current and current not in {value for value, _label in field.choices}:
                field.choices = [*field.choices, (current, f"#{current}")]
        known = {value for value, _label in self.fields["notify_users"].choices}
        for user_id in self.initial.get("notify_users") or ():
            if user_id not in known:
                self.fields["notify_users"].choices.append((user_id, f"#{user_id}"))

    @staticmethod
    def actions_initial(actions: Any) -> dict[str, Any]:
        actions = actions if isinstance(actions, dict) else {}
        notify = actions.get("notify") if isinstance(actions.get("notify"), dict) else {}
        initial: dict[str, Any] = {
            **action_fields_initial(actions, prefix="set_"),
            "transition": actions.get("transition") or "",
            "reply": actions.get("reply") or "",
            "reply_hidden": bool(actions.get("reply_hidden")),
            "notify_users": [str(u) for u in notify.get("users") or ()],
            "notify_responsible": bool(notify.get("responsible")),
            "notify_text": notify.get("text") or "",
        }
        return initial

    def actions_json(self) -> dict[str, Any]:
        """Return the actions' JSON from the fields: only what the user chose to do."""
        d = self.cleaned_data
        actions = action_fields_json(d, prefix="set_")
        if (d.get("transition") or "").strip():
            actions["transition"] = d["transition"].strip()
        if (d.get("reply") or "").strip():
            actions["reply"] = d["reply"]
            if d.get("reply_hidden"):
                actions["reply_hidden"] = True
        users = [int(u) for u in d.get("notify_users") or () if str(u).isdigit()]
        text = (d.get("notify_text") or "").strip()
        if users or d.get("notify_responsible") or text:
            notify: dict[str, Any] = {}
            if users:
                notify["users"] = users
            if d.get("notify_responsible"):
                notify["responsible"] = True
            if text:
                notify["text"] = text
            actions["notify"] = notify
            if not (users or d.get("notify_responsible")):
                self.add_error("notify_users", gettext("Choose whom to notify."))
        return actions
