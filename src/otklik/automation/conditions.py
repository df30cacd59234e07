"""A rule's conditions as plain data, checked and evaluated without the database (ARCHITECTURE rule 6).

A condition is `{"field": ..., "op": ..., "value": ...}`. A rule's conditions are evaluated against the
ticket's facts: a mapping from field name to a plain value (see `FIELDS` for each field's kind), which
the engine fills lazily so that a condition nobody asks about costs nothing.

Kinds and their values:
- "id": a row's id or None (category, criticality, status, source, SLA, responsible);
- "ids": a set of ids (the author's client groups);
- "names": a set of names, compared without letter case (tags);
- "text": a string, compared without letter case (title, the triggering message, tier);
- "bool": True or False (postponed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.core.errors import ValidationFailed

ID, IDS, NAMES, TEXT, BOOL = "id", "ids", "names", "text", "bool"

# Field name -> (kind, label).
FIELDS: dict[str, tuple[str, Any]] = {
    "category": (ID, gettext_lazy("category")),
    "criticality": (ID, gettext_lazy("criticality")),
    "status": (ID, gettext_lazy("status")),
    "source": (ID, gettext_lazy("source")),
    "sla": (ID, gettext_lazy("SLA")),
    "responsible": (ID, gettext_lazy("responsible")),
    "client_group": (IDS, gettext_lazy("author's client group")),
    "tag": (NAMES, gettext_lazy("tag")),
    "title": (TEXT, gettext_lazy("title")),
    "message": (TEXT, gettext_lazy("message text")),
    "tier": (TEXT, gettext_lazy("tier")),
    "is_postponed": (BOOL, gettext_lazy("postponed")),
}

OPS: dict[str, Any] = {
    "is": gettext_lazy("is"),
    "is_not": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "is_empty": gettext_lazy("is empty"),
}

# The operators each kind of field takes.
KIND_OPS: dict[str, frozenset[str]] = {
    ID: frozenset({"is", "is_not", "in", "not_in", "is_empty"}),
    IDS: frozenset({"is", "is_not", "in", "not_in", "is_empty"}),
    NAMES: frozenset({"is", "is_not", "in", "not_in", "contains", "not_contains", "is_empty"}),
    TEXT: frozenset({"is", "is_not", "in", "not_in", "contains", "not_contains", "is_empty"}),
    BOOL: frozenset({"is", "is_not"}),
}

CONDITIONS_MAX = 30
TEXT_MAX = 500
LIST_MAX = 100


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


def _row_error(row: int, message: str) -> ValidationFailed:
    return ValidationFailed(
        errors={"conditions": [_("Condition %(n)d: %(problem)s") % {"n": row, "problem": message}]}
    )


def _clean_scalar(kind: str, raw: Any, row: int) -> Any:
    if kind in (ID, IDS):
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise _row_error(row, _("enter an id (a whole number)."))
        try:
            value = int(raw)
        except ValueError:
            raise _row_error(row, _("enter an id (a whole number).")) from None
        if value <= 0:
            raise _row_error(row, _("enter an id (a whole number)."))
        return value
    if kind == BOOL:
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "false"):
            return raw == "true"
        raise _row_error(row, _("enter true or false."))
    if not isinstance(raw, str) or not raw.strip():
        raise _row_error(row, _("enter a text."))
    if len(raw) > TEXT_MAX:
        raise _row_error(row, _("a text is at most %(n)d characters long.") % {"n": TEXT_MAX})
    return raw.strip()


def condition_clean(data: Any, row: int = 1) -> Condition:
    """Check one condition's JSON; raise ValidationFailed naming the row and the problem."""
    if not isinstance(data, dict):
        raise _row_error(row, _("a condition is an object with field, op and value."))
    unknown = set(data) - {"field", "op", "value"}
    if unknown:
        raise _row_error(row, _("unknown keys: %(names)s.") % {"names": ", ".join(sorted(map(str, unknown)))})
    field = data.get("field")
    if field not in FIELDS:
        raise _row_error(row, _("unknown field “%(field)s”.") % {"field": str(field)[:50]})
    kind = FIELDS[field][0]
    op = data.get("op")
    if op not in KIND_OPS[kind]:
        raise _row_error(
            row,
            _("the field “%(field)s” takes one of: %(ops)s.")
            % {"field": field, "ops": ", ".join(sorted(KIND_OPS[kind]))},
        )
    raw = data.get("value")
    if op == "is_empty":
        if raw in (None, ""):
            return Condition(field, op, True)
        if not isinstance(raw, bool):
            raise _row_error(row, _("enter true or false."))
        return Condition(field, op, raw)
    if op in ("in", "not_in"):
        if isinstance(raw, str):  # a form's comma-separated list
            raw = [part for part in (p.strip() for p in raw.split(",")) if part]
        if not isinstance(raw, list) or not raw:
            raise _row_error(row, _("enter a list of values."))
        if len(raw) > LIST_MAX:
            raise _row_error(row, _("a list has at most %(n)d values.") % {"n": LIST_MAX})
        return Condition(field, op, [_clean_scalar(kind, item, row) for item in raw])
    return Condition(field, op, _clean_scalar(kind, raw, row))


def conditions_clean(data: Any) -> tuple[Condition, ...]:
    """Check a rule's list of conditions; raise ValidationFailed (field "conditions") on the first problem."""
    if data in (None, ""):
        return ()
    if not isinstance(data, list):
        raise ValidationFailed(_("Conditions must be given as a list."), field="conditions")
    if len(data) > CONDITIONS_MAX:
        raise ValidationFailed(
            _("A rule has at most %(n)d conditions.") % {"n": CONDITIONS_MAX}, field="conditions"
        )
    return tuple(condition_clean(item, row) for row, item in enumerate(data, start=1))


def fields_used(conditions: Iterable[Condition]) -> frozenset[str]:
    return frozenset(c.field for c in conditions)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, frozenset | set | tuple | list) and not value)


def condition_holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """Tell whether one condition holds for the facts (missing facts count as empty)."""
    kind = FIELDS[condition.field][0]
    actual = facts.get(condition.field)
    op, wanted = condition.op, condition.value
    if op == "is_empty":
        return _empty(actual) is bool(wanted)
    if kind in (IDS, NAMES):
        have = {_fold(item) for item in actual or ()}
        if op in ("is", "contains"):
            return _fold(wanted) in have
        if op in ("is_not", "not_contains"):
            return _fold(wanted) not in have
        overlap = bool(have & {_fold(item) for item in wanted})
        return overlap if op == "in" else not overlap
    if kind == TEXT:
        text = (actual or "").casefold()
        if op == "contains":
            return wanted.casefold() in text
        if op == "not_contains":
            return wanted.casefold() not in text
        if op in ("in", "not_in"):
            found = text in {item.casefold() for item in wanted}
            return found if op == "in" else not found
        return (text == wanted.casefold()) is (op == "is")
    if kind == BOOL:
        return (bool(actual) == wanted) is (op == "is")
    # ID
    if op in ("in", "not_in"):
        return (actual in wanted) is (op == "in")
    return (actual == wanted) is (op == "is")


# Facts that cost a read when first asked for (the rest are the ticket's own columns). The answer of "all"
# or "any" does not depend on the order, so the cheap conditions go first and often decide alone.
FACT_COST = {"tag": 1, "message": 1, "client_group": 2}


def conditions_hold(conditions: Sequence[Condition], match: str, facts: Mapping[str, Any]) -> bool:
    """Tell whether the conditions hold: all of them (match "all") or any (match "any"); none always hold."""
    if not conditions:
        return True
    ordered = sorted(conditions, key=lambda c: FACT_COST.get(c.field, 0))
    if match == "any":
        return any(condition_holds(c, facts) for c in ordered)
    return all(condition_holds(c, facts) for c in ordered)
