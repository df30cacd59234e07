"""Writes of automation rules, their dry-run, and the rules that periodic jobs and the SLA tick run.

Rules of change events run in the change's transaction (`otklik.automation.engine`). Here:

- `rules_pending_run` (the periodic job): for each "pending for N working hours" rule, one query selects
  the open tickets that support answered last, whose answer is at least N hours old by the wall clock and
  on which the rule has not fired for this waiting period yet; their wait is then counted in working hours
  of each ticket's SLA timetable, and the rule fires once per waiting period (the period starts at
  support's last answer: `RuleFiring.period_start`, unique per rule and ticket);
- `rules_sla_run`: the SLA tick's reminder and overdue batches run the matching rules on their tickets,
  once per batch (the batch's instant is the period);
- `rule_dry_run`: the open tickets a rule (saved or not) would match now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from otklik.accounts.models import SupportGroup
from otklik.automation.conditions import ID, IDS, conditions_clean, conditions_hold
from otklik.automation.definition import HOURS_MAX, Rule, rule_actions_clean, rule_from_row
from otklik.automation.engine import TicketFacts, outer_change, rule_fire, rules_active
from otklik.automation.models import AutomationRule, RuleEvent, RuleFiring, RuleMatch
from otklik.automation.selectors import conditions_q
from otklik.core import clock, events
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.core.models import DomainEvent
from otklik.core.text_input import unstorable_text_message
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.calendars import NoWorkingTime
from otklik.sla.models import SlaLevel
from otklik.sla.selectors import working_calendar
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import writer_policy

log = logging.getLogger(__name__)

DRY_RUN_LIMIT = 200
# Candidates a dry-run or a job step reads when Python must decide (message texts, working hours).
SCAN_LIMIT = 5000
PENDING_BATCH = 500
NAME_MAX = 100
ORDER_MAX = 100_000


def rules_manage_allowed(user: User) -> bool:
    """Tell whether the user may see and change automation rules: support admins only."""
    policy = TicketPolicy(user)
    return policy.is_admin and not policy.is_demo


def _admin_policy(actor: User) -> TicketPolicy:
    policy = writer_policy(actor)
    if not policy.is_admin:
        raise PermissionDenied(_("Only support admins manage automation rules."))
    return policy


# -- saving ------------------------------------------------------------------------------------------
def _bool(value: Any) -> bool:
    return value in (True, "true", "on", "1", 1)


def _int(value: Any, name: str, errors: dict[str, list[str]], *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_("Enter a whole number."))
        return None
    if not low <= number <= high:
        errors.setdefault(name, []).append(
            _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}
        )
        return None
    return number


def rule_definition_clean(
    data: Mapping[str, Any], *, actor: User, current: AutomationRule | None = None
) -> dict:
    """Check a rule's fields; return the model's values or raise ValidationFailed with field messages."""
    errors: dict[str, list[str]] = {}
    name = data.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors.setdefault("name", []).append(_("This field is required."))
    elif len(name) > NAME_MAX:
        errors.setdefault("name", []).append(_("Enter at most %(limit)s characters.") % {"limit": NAME_MAX})
    elif AutomationRule.objects.filter(name__iexact=name).exclude(pk=current.pk if current else 0).exists():
        errors.setdefault("name", []).append(_("A rule with this name exists."))
    event = data.get("event")
    if event not in RuleEvent.values:
        errors.setdefault("event", []).append(
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(RuleEvent.values)}
        )
    hours = _int(data.get("hours"), "hours", errors, low=1, high=HOURS_MAX)
    if event == RuleEvent.PENDING_HOURS and hours is None and "hours" not in errors:
        errors.setdefault("hours", []).append(_("Say after how many working hours the rule fires."))
    if event != RuleEvent.PENDING_HOURS:
        hours = None
    order = _int(data.get("order"), "order", errors, low=0, high=ORDER_MAX)
    match = data.get("match") or RuleMatch.ALL
    if match not in RuleMatch.values:
        errors.setdefault("match", []).append(_("Choose one of: %(choices)s.") % {"choices": "all, any"})
    conditions: list[dict] = []
    try:
        cleaned = conditions_clean(data.get("conditions"))
        conditions = [c.as_json() for c in cleaned]
        errors.update({k: v for k, v in _references_check(cleaned).items() if v})
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
    actions: dict = {}
    try:
        parsed = rule_actions_clean(data.get("actions"))
        if parsed.empty:
            errors.setdefault("actions", []).append(_("Say what the rule does."))
        actions = parsed.as_json()
        unknown_staff = sorted(set(parsed.notify.users) - _support_ids(parsed.notify.users))
        if unknown_staff:
            errors.setdefault("notify", []).append(
                _("Not support staff: %(ids)s.") % {"ids": ", ".join(map(str, unknown_staff))}
            )
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
    run_as = _run_as_clean(data.get("run_as"), actor, errors)
    for key in ("conditions", "actions"):
        problem = _unstorable(data.get(key))
        if problem:
            errors.setdefault(key, []).append(problem)
    if errors:
        raise ValidationFailed(errors=errors)
    return {
        "name": name,
        "active": _bool(data.get("active", True)),
        "order": order if order is not None else 100,
        "event": event,
        "hours": hours,
        "conditions": conditions,
        "match": match,
        "actions": actions,
        "stop_processing": _bool(data.get("stop_processing")),
        "run_as": run_as,
    }


def _unstorable(value: Any, depth: int = 0) -> str | None:
    """Return why a JSON value holds text the database cannot store (a NUL character), else None."""
    if isinstance(value, str):
        return unstorable_text_message(value)
    if depth > 5:
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = _unstorable(key, depth + 1) if isinstance(key, str) else None
        problem = problem or _unstorable(item, depth + 1)
        if problem:
            return problem
    return None


def _support_ids(ids: Iterable[int]) -> set[int]:
    return {
        user.pk
        for user in User.objects.filter(pk__in=list(ids), is_active=True)
        if TicketPolicy(user).is_support
    }


def _run_as_clean(raw: Any, actor: User, errors: dict[str, list[str]]) -> User | None:
    if raw in (None, ""):
        return actor
    user_id = _int(raw, "run_as", errors, low=1, high=2**63 - 1)
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not TicketPolicy(user).is_admin:
        errors.setdefault("run_as", []).append(_("Choose an active support admin."))
        return None
    return user


def _references_check(conditions: Iterable[Any]) -> dict[str, list[str]]:
    """Refuse conditions that name rows which do not exist (a typo would make a rule never hold)."""
    missing: list[str] = []
    for row, condition in enumerate(conditions, start=1):
        from otklik.automation.conditions import FIELDS

        kind = FIELDS[condition.field][0]
        if kind not in (ID, IDS) or condition.op == "is_empty":
            continue
        ids = condition.value if isinstance(condition.value, list) else [condition.value]
        found: QuerySet[Any]
        if condition.field in ("category", "criticality", "status", "source"):
            found = DictionaryEntry.objects.filter(pk__in=ids, kind=condition.field)
        elif condition.field == "sla":
            found = SlaLevel.objects.filter(pk__in=ids)
        elif condition.field == "responsible":
            found = User.objects.filter(pk__in=ids)
        else:
            found = SupportGroup.objects.filter(pk__in=ids, kind=SupportGroup.Kind.CLIENT)
        if found.count() != len(set(ids)):
            missing.append(_("Condition %(n)d: no such %(field)s.") % {"n": row, "field": condition.field})
    return {"conditions": missing}


@transaction.atomic
def rule_create(*, actor: User, data: Mapping[str, Any]) -> AutomationRule:
    """Create a rule (support admins only); raise ValidationFailed with field messages."""
    _admin_policy(actor)
    values = rule_definition_clean(data, actor=actor)
    now = clock.now()
    return AutomationRule.objects.create(**values, created_at=now, updated_at=now)


def rule_definition_values(rule: AutomationRule) -> dict[str, Any]:
    """Return the rule's definition as `rule_create` takes it (the API shows it, an update starts from it)."""
    return {
        "name": rule.name,
        "active": rule.active,
        "order": rule.order,
        "event": rule.event,
        "hours": rule.hours,
        "conditions": rule.conditions,
        "match": rule.match,
        "actions": rule.actions,
        "stop_processing": rule.stop_processing,
        "run_as": rule.run_as_id,
    }


@transaction.atomic
def rule_update(*, actor: User, rule: AutomationRule, data: Mapping[str, Any]) -> AutomationRule:
    """Change a rule (support admins only); fields not given keep their values."""
    _admin_policy(actor)
    values = rule_definition_clean({**rule_definition_values(rule), **data}, actor=actor, current=rule)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.updated_at = clock.now()
    rule.save()
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: AutomationRule) -> None:
    """Delete a rule and its firings' record (support admins only)."""
    _admin_policy(actor)
    rule.delete()


# -- dry-run ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DryRunMatch:
    id: int
    title: str


def rule_dry_run(
    *, actor: User, rule: Rule | AutomationRule, limit: int = DRY_RUN_LIMIT
) -> list[DryRunMatch]:
    """Return the open tickets the rule's conditions match now (at most `limit`, newest change first).

    The conditions SQL can express select the candidates in one query; texts (title, tier, the message
    — taken as the client's last message) are then tested on at most SCAN_LIMIT candidates. A "pending for
    N working hours" rule also asks that the ticket be waiting that long now.
    """
    policy = TicketPolicy(actor)
    if not (policy.is_admin and not policy.is_demo):
        raise PermissionDenied(_("Only support admins manage automation rules."))
    if isinstance(rule, AutomationRule):
        rule = rule_from_row(rule)
    q, exact = conditions_q(rule.conditions, rule.match)
    tickets = policy.visible().filter(closed_at__isnull=True, merged_into__isnull=True).filter(q)
    now = clock.now()
    if rule.event == RuleEvent.PENDING_HOURS and rule.hours:
        tickets = _waiting_q(tickets, rule.hours, now)
    tickets = tickets.order_by("-modified_at", "-id")
    if exact and rule.event != RuleEvent.PENDING_HOURS:
        return [DryRunMatch(pk, title) for pk, title in tickets.values_list("pk", "title")[:limit]]
    found: list[DryRunMatch] = []
    for ticket in tickets.select_related("sla__timetable")[:SCAN_LIMIT]:
        if rule.event == RuleEvent.PENDING_HOURS and rule.hours and not _waited(ticket, rule.hours, now):
            continue
        if exact or conditions_hold(rule.conditions, rule.match, TicketFacts(ticket)):
            found.append(DryRunMatch(ticket.pk, ticket.title))
            if len(found) >= limit:
                break
    return found


# -- time-based rules --------------------------------------------------------------------------------
def _waiting_q(tickets: QuerySet[Ticket], hours: int, now: datetime) -> QuerySet[Ticket]:
    """Narrow to tickets waiting for the client: open, support wrote last, at least `hours` ago by the
    wall clock (working time never runs faster, so this misses none)."""
    return tickets.filter(
        closed_at__isnull=True,
        last_message_by_support=True,
        last_message_at__lte=now - timedelta(hours=hours),
    )


def _waited(ticket: Ticket, hours: int, now: datetime) -> bool:
    """Tell whether `hours` working hours of the ticket's SLA timetable passed since support's last answer."""
    if ticket.last_message_at is None:
        return False
    try:
        worked = working_calendar(ticket.sla if ticket.sla_id else None).between(ticket.last_message_at, now)
    except NoWorkingTime:
        return False
    return worked >= hours * 3600


def rules_pending_run(now: datetime | None = None) -> int:
    """Fire every "pending for N working hours" rule on the tickets waiting that long; return the firings.

    Each rule asks one query for its candidates (the conditions SQL can express included, the tickets it
    already fired on in their current waiting period left out); each firing commits on its own.
    """
    now = now or clock.now()
    fired = 0
    for rule in rules_active(RuleEvent.PENDING_HOURS):
        if not rule.hours:
            continue
        q, exact = conditions_q(rule.conditions, rule.match)
        done = RuleFiring.objects.filter(
            rule_id=rule.id, ticket=OuterRef("pk"), period_start=OuterRef("last_message_at")
        )
        candidates = (
            _waiting_q(Ticket.objects.filter(merged_into__isnull=True), rule.hours, now)
            .filter(q)
            .exclude(Exists(done))
            .select_related("sla__timetable")
            .order_by("last_message_at", "id")[:PENDING_BATCH]
        )
        for ticket in candidates:
            if not _waited(ticket, rule.hours, now):
                continue
            if not exact and not conditions_hold(rule.conditions, rule.match, TicketFacts(ticket)):
                continue
            fired += _fire_once(rule, ticket, RuleEvent.PENDING_HOURS, ticket.last_message_at)
    return fired


def _fire_once(rule: Rule, ticket: Ticket, event: str, period_start: datetime | None) -> int:
    """Fire a rule on one ticket in a transaction of its own, once per period; return 1 when it fired."""
    try:
        with transaction.atomic(), outer_change():
            outcome = rule_fire(rule, ticket, event, facts=TicketFacts(ticket), period_start=period_start)
    except IntegrityError:  # another worker fired it for this period meanwhile
        return 0
    return 1 if outcome is not None else 0


def rules_sla_run(event: DomainEvent) -> int:
    """Run the SLA reminder or overdue rules on the tickets of the SLA tick's batch; return the firings.

    Called in the dispatch's transaction: each firing keeps to its savepoint, so the batch's other
    handlers (the mail) are never undone by a rule.
    """
    name = {events.TICKET_REMINDER: RuleEvent.SLA_REMINDER, events.TICKET_OVERDUE: RuleEvent.SLA_OVERDUE}.get(
        event.name
    )
    if name is None:
        return 0
    rules = rules_active(name)
    if not rules:
        return 0
    ids = events.batch_ticket_ids(event)
    fired = 0
    for rule in rules:
        q, exact = conditions_q(rule.conditions, rule.match)
        done = RuleFiring.objects.filter(
            rule_id=rule.id, ticket=OuterRef("pk"), period_start=event.occurred_at
        )
        for start in range(0, len(ids), PENDING_BATCH):
            tickets = (
                Ticket.objects.filter(pk__in=ids[start : start + PENDING_BATCH], closed_at__isnull=True)
                .filter(q)
                .exclude(Exists(done))
                .order_by("id")
            )
            for ticket in tickets:
                if not exact and not conditions_hold(rule.conditions, rule.match, TicketFacts(ticket)):
                    continue
                with outer_change():
                    outcome = rule_fire(
                        rule, ticket, name, facts=TicketFacts(ticket), period_start=event.occurred_at
                    )
                fired += outcome is not None
    return fired


def rule_for_actor(*, actor: User, rule_id: int) -> AutomationRule:
    """Return a rule for an admin; NotFound for a missing one, PermissionDenied for anyone else."""
    if not rules_manage_allowed(actor):
        raise PermissionDenied(_("Only support admins manage automation rules."))
    rule = AutomationRule.objects.select_related("run_as").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    return rule
