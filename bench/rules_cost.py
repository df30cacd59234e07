"""Time ticket creation with no automation rules, with 50 active rules none of which match, with 50
active rules of which two match and act, and with no rules but the same two changes made by hand, in one
run.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench_rules python -m bench.rules_cost

Issue 18 asks that the rule engine add under 20% to ticket creation with 50 active rules. Creation goes
through `ticket_create` by a client (in-process, on the database of OTKLIK_DATABASE_URL, migrated and
loaded with `otklik demo --tickets 0` when empty), each call in its own transaction as a request would be,
the set-ups interleaved. The rules test the category, the criticality, the title, the message text,
the tags and the author's client group; the two that match add a tag and raise the criticality (their
firings write what any change writes: the history, the log line, the firing's record).

Prints `rules_create_<setup>_ms_median` / `_p95`, `rules_create_overhead_<setup>_pct` against the
creation without rules, and `rules_create_mixed50_over_by_hand_pct`: what the engine adds to the two
changes beyond their own cost (the same changes by `ticket_actions_apply`, no rules active).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench.common import django_setup, figure, median, note, percentile, timed_in_transaction

RULE_PREFIX = "bench-rule-"


def _prepare(no_migrate: bool) -> None:
    if not no_migrate:
        subprocess.run([sys.executable, "-m", "otklik", "migrate", "--no-input", "-v", "0"], check=True)
    django_setup()
    from django.contrib.auth.models import User

    if not User.objects.filter(username="client").exists():
        subprocess.run(
            [sys.executable, "-m", "otklik", "demo", "--tickets", "0"], check=True, capture_output=True
        )


def _rules(admin) -> tuple[list[int], list[int]]:
    """Make 48 rules that never match and 2 that do (inactive); return their ids."""
    from otklik.automation.models import AutomationRule
    from otklik.automation.services import rule_create
    from otklik.dictionaries.models import DictionaryEntry, DictionaryKind

    AutomationRule.objects.filter(name__startswith=RULE_PREFIX).delete()
    categories = list(
        DictionaryEntry.objects.filter(kind=DictionaryKind.CATEGORY).values_list("pk", flat=True)
    )
    high = DictionaryEntry.objects.filter(kind=DictionaryKind.CRITICALITY).order_by("-sort").first()
    idle_conditions = [
        [{"field": "message", "op": "contains", "value": "never-said-{n}"}],
        [{"field": "title", "op": "contains", "value": "no-such-title-{n}"}],
        [
            {"field": "category", "op": "is", "value": categories[0]},
            {"field": "tag", "op": "contains", "value": "x"},
        ]
        if categories
        else [{"field": "tier", "op": "is", "value": "L9"}],
        [{"field": "is_postponed", "op": "is", "value": True}],
        [{"field": "tag", "op": "contains", "value": "never-{n}"}],
        [
            {"field": "client_group", "op": "is_empty", "value": False},
            {"field": "tier", "op": "is", "value": "L9"},
        ],
    ]
    idle, acting = [], []
    for n in range(48):
        template = idle_conditions[n % len(idle_conditions)]
        conditions = [
            {**c, "value": c["value"].format(n=n) if isinstance(c["value"], str) else c["value"]}
            for c in template
        ]
        rule = rule_create(
            actor=admin,
            data={
                "name": f"{RULE_PREFIX}{n}",
                "event": "created",
                "order": n,
                "active": False,
                "conditions": conditions,
                "actions": {"add_tags": [f"never-{n}"]},
            },
        )
        idle.append(rule.pk)
    for n, actions in enumerate(
        [{"add_tags": ["export"]}, {"changes": {"criticality": high.pk}} if high else {"add_tags": ["hot"]}]
    ):
        rule = rule_create(
            actor=admin,
            data={
                "name": f"{RULE_PREFIX}acting-{n}",
                "event": "created",
                "order": 100 + n,
                "active": False,
                "conditions": [{"field": "message", "op": "contains", "value": "export"}],
                "actions": actions,
            },
        )
        acting.append(rule.pk)
    return idle, acting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    _prepare(args.no_migrate)

    from django.contrib.auth.models import User

    from otklik.automation.models import AutomationRule
    from otklik.core.config_cache import config_rows_changed
    from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
    from otklik.tickets import services
    from otklik.tickets.models import Channel
    from otklik.tickets.policies import TicketPolicy
    from otklik.tickets.services.actions import TicketActions, ticket_actions_apply

    client = User.objects.get(username="client")
    admin = next(u for u in User.objects.filter(is_active=True).order_by("pk") if TicketPolicy(u).is_admin)
    # The baseline has no rules: rules of the database's own (a full `otklik demo` makes one) are switched
    # off for the run and back on at its end.
    others = list(
        AutomationRule.objects.filter(active=True)
        .exclude(name__startswith=RULE_PREFIX)
        .values_list("pk", flat=True)
    )
    AutomationRule.objects.filter(pk__in=others).update(active=False)
    config_rows_changed(AutomationRule)
    if others:
        note(f"{len(others)} active rules not made by the bench are off during the run")
    idle, acting = _rules(admin)
    note(
        f"client {client.username}, rules act as {admin.username}; {len(idle)} idle and {len(acting)} acting rules"
    )

    def new_ticket(n: int):
        return services.ticket_create(
            actor=client, draft=services.TicketDraft(title=f"Bench {n}", message="The export hangs at 99%.")
        )

    # idle50: 50 rules none of which match (two more idle rules, copies under another name).
    extra_ids = []
    for row in AutomationRule.objects.filter(pk__in=idle[:2]):
        row.pk = None
        row.name = f"{row.name}-b"
        row.save()
        extra_ids.append(row.pk)
    setups = {"none": [], "idle50": idle + extra_ids, "mixed50": idle + acting, "by_hand": []}
    high = DictionaryEntry.objects.filter(kind=DictionaryKind.CRITICALITY).order_by("-sort").first()
    by_hand = [
        TicketActions(add_tags=("export",)),
        TicketActions(changes={"criticality": high.pk}) if high else TicketActions(add_tags=("hot",)),
    ]

    def new_ticket_changed_by_hand(n: int):
        # The two acting rules' changes made without rules: what the changes themselves cost.
        ticket = new_ticket(n)
        for actions in by_hand:
            ticket_actions_apply(actor=admin, ticket=ticket, actions=actions, via=Channel.SYSTEM)

    def use(ids: list[int]) -> None:
        AutomationRule.objects.filter(name__startswith=RULE_PREFIX).update(active=False)
        AutomationRule.objects.filter(pk__in=ids).update(active=True)
        config_rows_changed(AutomationRule)

    timings: dict[str, list[float]] = {name: [] for name in setups}
    total = args.warmup + args.rounds
    try:
        for n in range(total):
            names = list(setups)
            if n % 2:
                names.reverse()
            for name in names:
                use(setups[name])
                new_ticket(0)  # untimed: reads the configuration (the rules) again
                create = new_ticket_changed_by_hand if name == "by_hand" else new_ticket
                elapsed = timed_in_transaction(lambda n=n, create=create: create(n))
                if n >= args.warmup:
                    timings[name].append(elapsed)
    finally:
        AutomationRule.objects.filter(name__startswith=RULE_PREFIX).delete()
        AutomationRule.objects.filter(pk__in=others).update(active=True)
        config_rows_changed(AutomationRule)

    for name, values in timings.items():
        figure(f"rules_create_{name}_ms_median", median(values), "ms")
        figure(f"rules_create_{name}_ms_p95", percentile(values, 95), "ms")
    base = median(timings["none"])
    for name in ("idle50", "mixed50", "by_hand"):
        figure(f"rules_create_overhead_{name}_pct", (median(timings[name]) / base - 1) * 100, "%")
    # What the engine adds to the same two changes made by hand (its savepoints, log lines, firing rows).
    figure(
        "rules_create_mixed50_over_by_hand_pct",
        (median(timings["mixed50"]) / median(timings["by_hand"]) - 1) * 100,
        "%",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
