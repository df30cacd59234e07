"""Automation rules in `otklik demo`: one narrow rule a visitor can watch fire.

Registered as a demo step (`tickets.demo_steps`) by the app's subscribers: tickets stays below
automation. A new ticket whose message says "urgent" (in any letter case: the condition compares
case-folded text) gets the tag "urgent" and the highest criticality, acting as the demo admin.

The rule is made only when the run asks for tickets: `otklik demo --tickets 0` (the rule engine's
benchmark baseline) stays without rules. It is made once, by its name; an admin's later edits stay.
"""

from __future__ import annotations

from otklik.automation.models import AutomationRule, RuleEvent
from otklik.automation.services import rule_create
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.tickets.demo_steps import DemoContext

RULE_NAME = "Urgent in the message: tag it, raise the criticality"
KEYWORD = "urgent"


def _highest_criticality() -> DictionaryEntry | None:
    """The seeded "high" criticality, else the active one sorted last (the scale ends at the highest)."""
    entries = DictionaryEntry.objects.filter(kind=DictionaryKind.CRITICALITY, active=True)
    return entries.filter(code="high").first() or entries.order_by("-sort", "-pk").first()


def automation_demo(context: DemoContext) -> None:
    """Create the demo's one active rule when the run makes tickets and the rule is missing."""
    if context.tickets <= 0 or AutomationRule.objects.filter(name=RULE_NAME).exists():
        return
    admin = context.users["admin"]
    actions: dict = {"add_tags": [KEYWORD]}
    high = _highest_criticality()
    if high is not None:
        actions["changes"] = {"criticality": high.pk}
    rule_create(
        actor=admin,
        data={
            "name": RULE_NAME,
            "event": RuleEvent.CREATED,
            "order": 10,
            "active": True,
            "conditions": [{"field": "message", "op": "contains", "value": KEYWORD}],
            "actions": actions,
            "run_as": admin.pk,
        },
    )
    context.report.lines.append(
        f"Automation: the rule “{RULE_NAME}” (a new ticket whose message says “{KEYWORD}”, in any case)."
    )
