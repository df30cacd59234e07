"""Fair assignment (issue 18, P7): pools of support people who take new tickets in turn or by load, and
when each of them works (a timetable, absences).

A pool is an option of the responsible's choice (F-10): the first active pool whose scope (category, SLA;
empty = any) matches a new ticket gives its responsible, right after staff's manual choice. The decision
itself is plain data in otklik.routing.pools; otklik.routing.services reads these rows for it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.accounts.models import SupportGroup
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.models import BilingualName, SlaLevel, Timetable


class AssignmentMode(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("round-robin")
    LEAST_LOADED = "least_loaded", _("least loaded")


class AssignmentPool(BilingualName):
    """Support people (a support group's members) who take the new tickets of a scope in turn or by load."""

    mode = models.CharField(
        _("mode"), max_length=20, choices=AssignmentMode.choices, default=AssignmentMode.ROUND_ROBIN
    )
    support_group = models.ForeignKey(
        SupportGroup,
        on_delete=models.PROTECT,
        related_name="assignment_pools",
        limit_choices_to={"kind": SupportGroup.Kind.STAFF},
        verbose_name=_("support group"),
        help_text=_("Its members take the tickets."),
    )
    category = models.ForeignKey(
        DictionaryEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": DictionaryKind.CATEGORY},
        verbose_name=_("category"),
        help_text=_("Empty: tickets of any category."),
    )
    sla = models.ForeignKey(
        SlaLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA"),
        help_text=_("Empty: tickets of any SLA."),
    )
    active = models.BooleanField(_("active"), default=True)
    sort = models.PositiveIntegerField(
        _("sort"), default=100, help_text=_("The first active pool (lowest sort) that matches applies.")
    )
    # The round-robin pointer: whose turn it was last. Written under a row lock by ticket creation only.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last assigned"),
    )

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = _("assignment pool")
        verbose_name_plural = _("assignment pools")

    def clean(self) -> None:
        errors = self.name_errors()
        if self.category_id is not None and self.category.kind != DictionaryKind.CATEGORY:
            errors["category"] = _("Choose an entry of the categories dictionary.")
        if errors:
            raise ValidationError(errors)


class AgentWorkTime(models.Model):
    """When a support person works; without a row they work any time."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="work_time",
        verbose_name=_("support person"),
    )
    timetable = models.ForeignKey(
        Timetable, on_delete=models.PROTECT, related_name="+", verbose_name=_("timetable")
    )

    class Meta:
        verbose_name = _("working hours of a support person")
        verbose_name_plural = _("working hours of support people")

    def __str__(self) -> str:
        return f"{self.user} — {self.timetable}"


class AbsenceReason(models.TextChoices):
    VACATION = "vacation", _("vacation")
    SICK_LEAVE = "sick_leave", _("sick leave")
    OTHER = "other", _("other")


class AgentAbsence(models.Model):
    """A span when a support person is away (vacation, sick leave) and takes no tickets from a pool."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="absences",
        verbose_name=_("support person"),
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))
    reason = models.CharField(
        _("reason"), max_length=20, choices=AbsenceReason.choices, default=AbsenceReason.VACATION
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at", "id"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        # "Who is away now or later": the pool's members' absences that have not ended yet.
        indexes = [models.Index(fields=["user", "ends_at"], name="absence_user_ends")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="absence_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_reason_display()}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The absence must end after it starts.")})
