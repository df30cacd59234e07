"""SLA levels (уровни техподдержки). Timetables, exceptions and deadlines come with the SLA engine."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _


class SlaLevel(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Higher wins when several SLAs fit.")
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="sla_levels", verbose_name=_("user groups that get this SLA")
    )
    response_minutes = models.PositiveIntegerField(_("response time, working minutes"), default=0)
    reminder_minutes = models.PositiveIntegerField(
        _("reminder before the deadline, working minutes"), default=0
    )
    deadline_from_creation = models.BooleanField(
        _("count the deadline from ticket creation"),
        default=False,
        help_text=_("Off: the deadline counts from the client's reply."),
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default responsible"),
    )
    is_default = models.BooleanField(_("default SLA"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-priority", "name"]
        verbose_name = _("SLA level")
        verbose_name_plural = _("SLA levels")

    def __str__(self) -> str:
        return self.name
