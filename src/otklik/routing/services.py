"""Choose a new ticket's responsible from the settings in the database (F-10).

Reads the responsibles the SLA and the dictionary entries name (the module options' default responsible
and order are handed in by the caller, tickets, which owns them), turns them into plain candidates and leaves the decision to otklik.routing.decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from otklik.accounts.selectors import display_name, support_user_list
from otklik.core.config_cache import config_cached
from otklik.dictionaries.models import DictionaryEntry
from otklik.routing.decisions import (
    CATEGORY,
    CRITICALITY,
    DEFAULT,
    MANUAL,
    SLA,
    SOURCE,
    Candidate,
    Decision,
    decision_describe,
    responsible_choose,
)
from otklik.sla.models import BilingualText, SlaLevel


@dataclass(frozen=True)
class ResponsibleChoice:
    """The responsible for a new ticket (None: nobody) and the decision that explains it."""

    user: User | None
    decision: Decision

    def describe(self) -> str:
        """Return the decision for the history in the active language (see decision_describe)."""
        return decision_describe(self.decision)


def responsible_choose_for_new_ticket(
    *,
    order: str,
    default_responsible_id: int | None,
    sla: SlaLevel | None,
    category: DictionaryEntry | None = None,
    criticality: DictionaryEntry | None = None,
    source: DictionaryEntry | None = None,
    manual: User | None = None,
) -> ResponsibleChoice:
    """Choose the responsible of a new ticket by `order`, skipping people without rights.

    `order` and `default_responsible_id` are the module options' (otklik.tickets reads them). `manual` is
    staff's explicit choice, already checked by the caller: it wins without a look at the settings.
    Otherwise this costs one query for the named users and one per distinct named user for their access levels.
    """
    if manual is not None:
        candidate = Candidate(MANUAL, manual.pk, display_name(manual))
        return ResponsibleChoice(manual, responsible_choose(order="", candidates=[candidate]))
    named: list[tuple[str, int | None, str]] = [
        # The labels format in the reader's language: the history shows the decision in both.
        (SLA, sla.responsible_id if sla else None, BilingualText(sla.name_ru, sla.name_en) if sla else ""),
        *(
            (
                kind,
                entry.responsible_id if entry else None,
                BilingualText(entry.name_ru, entry.name_en) if entry else "",
            )
            for kind, entry in ((CATEGORY, category), (CRITICALITY, criticality), (SOURCE, source))
        ),
        (DEFAULT, default_responsible_id, ""),
    ]
    ids = {user_id for _kind, user_id, _label in named if user_id}
    users = config_cached(f"routing-users:{sorted(ids)}", lambda: _candidates_with_rights(ids)) if ids else {}
    candidates = []
    for kind, user_id, label in named:
        user, is_support = users.get(user_id, (None, False)) if user_id else (None, False)
        if user is None:
            continue
        candidates.append(
            Candidate(
                kind,
                user.pk,
                display_name(user),
                label=label,
                active=user.is_active,
                support=is_support,
            )
        )
    decision = responsible_choose(order=order, candidates=candidates)
    chosen = users[decision.user_id][0] if decision.user_id else None
    return ResponsibleChoice(chosen, decision)


def _candidates_with_rights(ids: set[int]) -> dict[int, tuple[User, bool]]:
    """Return the named users with whether each has staff or admin rights (one query for the rights)."""
    users = User.objects.in_bulk(ids)
    support_ids = set(support_user_list().filter(pk__in=ids).values_list("pk", flat=True))
    return {pk: (user, pk in support_ids) for pk, user in users.items()}
