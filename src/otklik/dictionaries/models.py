"""The seven dictionaries (справочники): categories, criticality, statuses, marks, answers, sources, difficulty."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

User = settings.AUTH_USER_MODEL


class DictionaryKind(models.TextChoices):
    CATEGORY = "category", _("categories")
    CRITICALITY = "criticality", _("criticality")
    STATUS = "status", _("statuses")
    MARK = "mark", _("answer marks")
    FREQUENT_ANSWER = "answer", _("frequent answers")
    SOURCE = "source", _("sources")
    DIFFICULTY = "difficulty", _("difficulty")


class DictionaryEntry(models.Model):
    """An entry of one of the seven dictionaries (справочники)."""

    kind = models.CharField(_("dictionary"), max_length=20, choices=DictionaryKind.choices, db_index=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255)
    description_ru = models.TextField(_("description (Russian)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    sort = models.IntegerField(_("sort"), default=100)
    code = models.CharField(
        _("symbolic code"),
        max_length=64,
        blank=True,
        help_text=_("Latin letters, digits and underscore; unique within the dictionary."),
        validators=[RegexValidator(r"^[A-Za-z0-9_]*$", _("Use only Latin letters, digits and underscore."))],
    )
    is_default = models.BooleanField(_("default"), default=False)
    responsible = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("responsible"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "sort", "id"]
        verbose_name = _("dictionary entry")
        verbose_name_plural = _("dictionaries")
        # The table keeps the name it had when the model lived in the tickets app (moved without copying).
        db_table = "tickets_dictionaryentry"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "code"], condition=~models.Q(code=""), name="dictionary_code_unique_per_kind"
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(is_default=True), name="dictionary_one_default_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Explain a clash with the database constraints as field errors instead of failing on save."""
        others = DictionaryEntry.objects.filter(kind=self.kind).exclude(pk=self.pk)
        errors = {}
        if self.code and others.filter(code=self.code).exists():
            errors["code"] = _("This code is already used in this dictionary.")
        if self.is_default and others.filter(is_default=True).exists():
            errors["is_default"] = _(
                "Another entry of this dictionary is already the default; clear it first."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def name(self) -> str:
        """Return the name in the active language (Russian when no English name was given)."""
        return self.name_en if (get_language() or "ru").startswith("en") and self.name_en else self.name_ru

    @property
    def description(self) -> str:
        if (get_language() or "ru").startswith("en") and self.description_en:
            return self.description_en
        return self.description_ru
