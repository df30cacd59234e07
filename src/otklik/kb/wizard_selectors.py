"""Reads of the support wizard: the sections a user (or an SLA, in the admin's preview) may walk through."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch

from otklik.dictionaries.models import DictionaryKind
from otklik.kb.models import Question
from otklik.kb.policies import ArticlePolicy
from otklik.kb.wizard import QuestionSpec, SectionSpec, Tree, parse_choices
from otklik.sla.models import SlaLevel
from otklik.sla.selectors import sla_for_new_ticket
from otklik.tickets.selectors import sla_chosen_entry_ids


def wizard_sla(user: User | AnonymousUser) -> SlaLevel | None:
    """Return the SLA a new ticket of `user` would get (the one whose categories the wizard offers)."""
    return sla_for_new_ticket(user if isinstance(user, User) and user.pk else None).sla


def wizard_tree(*, sla: SlaLevel | None, viewer: User | AnonymousUser | None = None) -> Tree:
    """Return the wizard's tree as `viewer` (None: any client) sees it under `sla`.

    Left out, with everything below them: sections the viewer may not read (staff-only ones and their
    subtrees, by the knowledge base's policy), sections not in the wizard, and sections mapped to a
    category the SLA does not allow (an SLA that chose no category allows all). A section mapped to an
    inactive category stays, but maps to no category.
    """
    allowed = sla_chosen_entry_ids(sla)[DictionaryKind.CATEGORY] if sla is not None else set()
    policy = ArticlePolicy(viewer if viewer is not None else AnonymousUser())
    rows = policy.visible_sections().filter(in_wizard=True).select_related("category")
    rows = rows.prefetch_related(Prefetch("questions", queryset=Question.objects.order_by("sort", "id")))
    specs: list[SectionSpec] = []
    for section in rows.order_by("sort", "id"):
        category = section.category
        if category is not None and allowed and category.pk not in allowed:
            continue
        specs.append(
            SectionSpec(
                id=section.pk,
                parent_id=section.parent_id,
                title_ru=section.title_ru,
                title_en=section.title_en,
                description_ru=section.description_ru,
                description_en=section.description_en,
                category_id=category.pk if category is not None and category.active else None,
                ask_title=section.ask_title,
                ask_coupon=section.ask_coupon,
                questions=tuple(
                    QuestionSpec(
                        id=q.pk,
                        kind=q.kind,
                        label_ru=q.label_ru,
                        label_en=q.label_en,
                        required=q.required,
                        choices=parse_choices(q.choices),
                    )
                    for q in section.questions.all()
                ),
            )
        )
    return Tree(specs)


def wizard_tree_for(user: User | AnonymousUser) -> Tree:
    """Return the tree `user` walks: their new ticket's SLA decides the categories; staff see staff-only."""
    return wizard_tree(sla=wizard_sla(user), viewer=user)


def wizard_sla_list() -> list[SlaLevel]:
    """Return the SLA levels the admin's preview may pose as."""
    return list(SlaLevel.objects.all())
