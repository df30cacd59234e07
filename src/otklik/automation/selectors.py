"""Reads of automation rules: the list with each rule's last firing, a rule's firings, and conditions as SQL."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower

from otklik.accounts.models import SupportGroup, SupportGroupMember
from otklik.automation.conditions import BOOL, FIELDS, ID, IDS, NAMES, Condition
from otklik.automation.models import AutomationRule, RuleFiring
from otklik.tickets.models import TicketTag

FIRINGS_SHOWN = 100


def rule_list() -> QuerySet[AutomationRule]:
    """Return every rule in its order, with the time and outcome of its last firing."""
    last = RuleFiring.objects.filter(rule=OuterRef("pk")).order_by("-fired_at", "-id")
    return (
        AutomationRule.objects.select_related("run_as")
        .annotate(
            last_fired_at=Subquery(last.values("fired_at")[:1]),
            last_outcome=Subquery(last.values("outcome")[:1]),
        )
        .order_by("order", "id")
    )


def rule_get(rule_id: int) -> AutomationRule | None:
    return AutomationRule.objects.select_related("run_as").filter(pk=rule_id).first()


def firing_list(rule: AutomationRule | None = None, *, limit: int = FIRINGS_SHOWN) -> list[RuleFiring]:
    """Return the newest firings (of one rule, or of all), with their tickets' titles."""
    rows = RuleFiring.objects.select_related("rule", "ticket").only(
        "rule__name", "ticket__title", "event", "fired_at", "outcome", "detail", "rule_id", "ticket_id"
    )
    if rule is not None:
        rows = rows.filter(rule=rule)
    return list(rows.order_by("-fired_at", "-id")[:limit])


def _tag_q(names: Sequence[str]) -> Q:
    lowered = [name.lower() for name in names]
    links = TicketTag.objects.annotate(lower=Lower("tag__name")).filter(
        ticket=OuterRef("pk"), lower__in=lowered
    )
    return Q(Exists(links))


def _group_q(ids: Sequence[int] | None) -> Q:
    members = SupportGroupMember.objects.filter(
        user=OuterRef("author_id"), group__kind=SupportGroup.Kind.CLIENT
    )
    if ids is not None:
        members = members.filter(group_id__in=ids)
    return Q(Exists(members))


def condition_q(condition: Condition) -> Q | None:
    """Return the condition as a filter on tickets, or None when it is tested in Python (texts).

    Texts are compared without letter case in every alphabet, which SQLite's LIKE does not do: the
    engine's own test (conditions.condition_holds) decides them on the candidates the rest selected.
    """
    kind = FIELDS[condition.field][0]
    op, value = condition.op, condition.value
    if kind == ID:
        column = f"{condition.field}_id"
        if op == "is_empty":
            return Q(**{f"{column}__isnull": bool(value)})
        if op in ("in", "not_in"):
            q = Q(**{f"{column}__in": value})
            return q if op == "in" else ~q
        q = Q(**{column: value})
        return q if op == "is" else ~q
    if kind == BOOL:
        q = Q(**{condition.field: value})
        return q if op == "is" else ~q
    if kind == IDS:
        if op == "is_empty":
            q = _group_q(None)
            return ~q if value else q
        q = _group_q(value if isinstance(value, list) else [value])
        return q if op in ("is", "in") else ~q
    if kind == NAMES:
        if op == "is_empty":
            q = Q(Exists(TicketTag.objects.filter(ticket=OuterRef("pk"))))
            return ~q if value else q
        q = _tag_q(value if isinstance(value, list) else [value])
        return q if op in ("is", "contains", "in") else ~q
    return None


def conditions_q(conditions: Sequence[Condition], match: str) -> tuple[Q, bool]:
    """Return a filter selecting the candidates of the conditions, and whether it decides them alone.

    With "all", the conditions SQL can express narrow the candidates; with "any", only when every
    condition is expressed (otherwise every ticket is a candidate and Python decides).
    """
    parts = [condition_q(c) for c in conditions]
    expressed = [q for q in parts if q is not None]
    exact = len(expressed) == len(parts)
    if not conditions:
        return Q(), True
    if match == "any":
        if not exact:
            return Q(), False
        combined = Q()
        for q in expressed:
            combined |= q
        return combined, True
    combined = Q()
    for q in expressed:
        combined &= q
    return combined, exact
