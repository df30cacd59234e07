"""Writes of the support wizard: its outcomes without a ticket, and the wizard's configuration on sections.

An unfinished wizard is no database row (its path and answers live in the session); only how it ended
without a ticket is recorded: answered on a step (deflected) or abandoned.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.accounts.principals import is_mail_principal
from otklik.accounts.roles import is_demo_only
from otklik.core import clock
from otklik.core.errors import PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.core.text_input import unstorable_text_message
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.kb.models import Deflection, DeflectionKind, Question, Section
from otklik.kb.wizard import KINDS, parse_choices

WIZARD_OUTCOMES = (DeflectionKind.WIZARD_ANSWERED, DeflectionKind.WIZARD_ABANDONED)


@transaction.atomic
def wizard_outcome_record(*, actor: User | AnonymousUser, kind: str, section: Section | None) -> Deflection:
    """Record how a wizard ended without a ticket: answered on the step of `section`, or abandoned there.

    Demo access saves nothing (ReadOnlyAccess); the mail principal never walks the wizard.
    """
    if kind not in WIZARD_OUTCOMES:
        raise ValidationFailed(_("Unknown wizard outcome."), field="kind")
    user = actor if isinstance(actor, User) and actor.pk else None
    if user is not None and is_demo_only(user):
        raise ReadOnlyAccess()
    if user is not None and is_mail_principal(user):
        raise PermissionDenied()
    return Deflection.objects.create(kind=kind, at=clock.now(), user=user, section=section)


def wizard_question_problems(
    *, kind: str, label_ru: str, label_en: str, choices: str
) -> dict[str, list[str]]:
    """Return what keeps a question from being asked, by field (empty when it can be saved)."""
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors.setdefault("kind", []).append(_("Choose a valid kind."))
    for name, value in (("label_ru", label_ru), ("label_en", label_en), ("choices", choices)):
        problem = unstorable_text_message(value or "")
        if problem:
            errors.setdefault(name, []).append(problem)
    if not (" ".join((label_ru or "").split()) or " ".join((label_en or "").split())):
        errors.setdefault("label_ru", []).append(_("Write the question in at least one language."))
    if kind in ("select", "radio") and not parse_choices(choices or ""):
        errors.setdefault("choices", []).append(_("A list or radio buttons need at least one choice."))
    return errors


@transaction.atomic
def wizard_question_save(
    *,
    section: Section,
    kind: str,
    label_ru: str,
    label_en: str = "",
    choices: str = "",
    required: bool = False,
    sort: int = 100,
    question: Question | None = None,
) -> Question:
    """Create a question on a section's wizard step, or change `question`; refuse what cannot be asked."""
    errors = wizard_question_problems(kind=kind, label_ru=label_ru, label_en=label_en, choices=choices)
    if errors:
        raise ValidationFailed(errors=errors)
    question = question or Question(section=section)
    question.section = section
    question.kind = kind
    question.label_ru = " ".join((label_ru or "").split())
    question.label_en = " ".join((label_en or "").split())
    question.choices = (choices or "").replace("\r\n", "\n").strip() if kind in ("select", "radio") else ""
    question.required = bool(required)
    question.sort = sort
    question.save()
    return question


@transaction.atomic
def wizard_section_configure(
    *,
    section: Section,
    category: DictionaryEntry | None,
    ask_title: bool,
    ask_coupon: bool,
    in_wizard: bool = True,
) -> Section:
    """Set what the wizard does on a section: its ticket category, whether it asks a title and a coupon."""
    if category is not None and category.kind != DictionaryKind.CATEGORY:
        raise ValidationFailed(_("Choose a ticket category."), field="category")
    section.category = category
    section.ask_title = bool(ask_title)
    section.ask_coupon = bool(ask_coupon)
    section.in_wizard = bool(in_wizard)
    section.save(update_fields=["category", "ask_title", "ask_coupon", "in_wizard"])
    return section


@transaction.atomic
def wizard_question_delete(*, question: Question) -> None:
    """Remove a question from its section's wizard step."""
    question.delete()
