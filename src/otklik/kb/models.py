"""The knowledge base: a tree of sections with articles in Russian and English, their revisions, the support
wizard's questions on the sections, and the records of questions answered without a ticket (F-20).

A section is also a step of the support wizard: the wizard walks down the tree one level per step, shows
the section's description (often the answer itself) and its questions, and maps the deepest section it
reached to a ticket category.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from otklik.dictionaries.models import DictionaryEntry

LANGUAGES = ("ru", "en")


def active_language() -> str:
    """Return "en" or "ru": the language the reader reads in (Russian unless English is active)."""
    return "en" if (get_language() or "ru").startswith("en") else "ru"


class Visibility(models.TextChoices):
    PUBLIC = "public", _("public")
    STAFF = "staff", _("staff only")


class Section(models.Model):
    """A node of the knowledge base tree; also a step of the support wizard."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent section"),
    )
    slug = models.SlugField(_("slug"), max_length=80, allow_unicode=False)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_ru = models.TextField(_("description (Russian)"), blank=True, max_length=20000)
    description_en = models.TextField(_("description (English)"), blank=True, max_length=20000)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    sort = models.IntegerField(_("sort"), default=100)
    in_wizard = models.BooleanField(_("show in the support wizard"), default=True)
    category = models.ForeignKey(
        DictionaryEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"kind": "category"},
        verbose_name=_("ticket category"),
        help_text=_("The wizard files the ticket in this category when this is the deepest mapped section."),
    )
    ask_title = models.BooleanField(_("wizard asks for the ticket's title"), default=False)
    ask_coupon = models.BooleanField(_("wizard asks for a coupon"), default=False)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "slug"],
                name="kb_section_slug_once",
                violation_error_message=_("Another section under the same parent has this slug."),
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(parent__isnull=True),
                name="kb_root_section_slug_once",
                violation_error_message=_("Another top-level section has this slug."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """Return the title in the reader's language, or the other one when it is missing."""
        return _pick(self.title_ru, self.title_en)[0]

    @property
    def description(self) -> str:
        """Return the description in the reader's language, or the other one when it is missing."""
        return _pick(self.description_ru, self.description_en)[0]


class Article(models.Model):
    """An article of the knowledge base, in Russian and English; the current text (revisions keep the past)."""

    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="articles", verbose_name=_("section")
    )
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_ru = models.TextField(_("text (Russian)"), blank=True, max_length=100000)
    body_en = models.TextField(_("text (English)"), blank=True, max_length=100000)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    sort = models.IntegerField(_("sort"), default=100)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [models.Index(fields=["section", "sort", "id"], name="kb_article_in_section")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """Return the title in the reader's language, or the other one when it is missing."""
        return _pick(self.title_ru, self.title_en)[0]

    @property
    def body(self) -> str:
        """Return the text in the reader's language, or the other one when it is missing."""
        return _pick(self.body_ru, self.body_en)[0]

    @property
    def body_is_fallback(self) -> bool:
        """Tell whether the text shown is the other language's because the reader's is missing."""
        return _pick(self.body_ru, self.body_en)[1]


class ArticleRevision(models.Model):
    """One saved state of an article: who changed it, when, and its texts then (restorable)."""

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("article")
    )
    number = models.PositiveIntegerField(_("revision"))
    at = models.DateTimeField(_("saved"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    section_id_then = models.BigIntegerField(_("section"))
    title_ru = models.CharField(max_length=200, blank=True)
    title_en = models.CharField(max_length=200, blank=True)
    body_ru = models.TextField(blank=True)
    body_en = models.TextField(blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("article revision")
        verbose_name_plural = _("article revisions")
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_revision_number_once")]


class QuestionKind(models.TextChoices):
    TEXT = "text", _("text")
    TEXTAREA = "textarea", _("text area")
    CHECKBOX = "checkbox", _("checkbox")
    SELECT = "select", _("list")
    RADIO = "radio", _("radio buttons")
    MULTITEXT = "multitext", _("several lines of text")


class Question(models.Model):
    """A question the support wizard asks on a section's step; its answer goes into the ticket's message."""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="questions", verbose_name=_("section")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices, default=QuestionKind.TEXT)
    label_ru = models.CharField(_("question (Russian)"), max_length=300, blank=True)
    label_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    # One choice per line, "Russian | English" (a line without "|" is the same in both languages).
    choices = models.TextField(_("choices (for lists and radio buttons)"), blank=True, max_length=5000)
    required = models.BooleanField(_("required"), default=False)
    sort = models.IntegerField(_("sort"), default=100)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = _("wizard question")
        verbose_name_plural = _("wizard questions")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """Return the question in the reader's language, or the other one when it is missing."""
        return _pick(self.label_ru, self.label_en)[0]


class DeflectionKind(models.TextChoices):
    WIZARD_ANSWERED = "wizard_answered", _("the wizard answered the question")
    ARTICLE_ANSWERED = "article_answered", _("an article answered the question")
    SUGGESTION_LEFT = "suggestion_left", _("left after opening a suggested article")
    WIZARD_ABANDONED = "wizard_abandoned", _("the wizard was left without a ticket")


class Deflection(models.Model):
    """A question that ended without a ticket: where (section or article), who (or anonymous), when, how.

    `kind` tells answered (deflected) from abandoned; the reports count them against tickets filed.
    """

    kind = models.CharField(_("outcome"), max_length=20, choices=DeflectionKind.choices)
    at = models.DateTimeField(_("when"))  # indexed in Meta (deflection_at)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("section")
    )
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("article")
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("question ended without a ticket")
        verbose_name_plural = _("questions ended without a ticket")
        indexes = [
            # By instant, with what the deflection report groups and tests (reports.deflection): a
            # period's answers are read from the index alone rather than from rows all over the table.
            models.Index(fields=["at"], include=["kind", "user", "section", "article"], name="deflection_at"),
        ]


def _pick(ru: str, en: str) -> tuple[str, bool]:
    """Return the text in the reader's language and whether it is the other language's (a fallback)."""
    if active_language() == "en":
        return (en, False) if en else (ru, bool(ru))
    return (ru, False) if ru else (en, bool(en))
