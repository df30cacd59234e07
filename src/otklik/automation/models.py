"""Automation rules (P6): "when <event> and <conditions> then <actions>", and the record of each firing."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleEvent(models.TextChoices):
    CREATED = "created", _("a ticket is created")
    UPDATED = "updated", _("a ticket is updated")
    CLIENT_REPLIED = "client_replied", _("the client replies")
    SLA_REMINDER = "sla_reminder", _("the SLA reminder is due")
    SLA_OVERDUE = "sla_overdue", _("the response deadline passes")
    PENDING_HOURS = "pending_hours", _("the client has not replied for N working hours")


# Events a change to a ticket causes, in the change's transaction; the rest come from periodic jobs.
CHANGE_EVENTS = (RuleEvent.CREATED, RuleEvent.UPDATED, RuleEvent.CLIENT_REPLIED)


class RuleMatch(models.TextChoices):
    ALL = "all", _("all conditions")
    ANY = "any", _("any condition")


class AutomationRule(models.Model):
    """One rule; rules of an event run in ascending `order`, and one may stop those after it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=100)
    event = models.CharField(_("event"), max_length=20, choices=RuleEvent.choices)
    # pending_hours: the ticket is open, support wrote last and the client has not replied for this many
    # working hours of the ticket's SLA timetable.
    hours = models.PositiveIntegerField(_("working hours"), null=True, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    match = models.CharField(_("match"), max_length=3, choices=RuleMatch.choices, default=RuleMatch.ALL)
    # The shared action set's JSON (changes, tags, close, reopen) plus reply, reply_hidden, transition
    # and notify (see otklik.automation.definition).
    actions = models.JSONField(_("actions"), default=dict, blank=True)
    stop_processing = models.BooleanField(_("stop processing later rules"), default=False)
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acts as"),
        help_text=_("A support admin: the rule changes tickets through the same services and rights."),
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")

    def __str__(self) -> str:
        return self.name


class FiringOutcome(models.TextChoices):
    OK = "ok", _("applied")
    REFUSED = "refused", _("refused")
    ERROR = "error", _("failed")
    LOOP = "loop", _("loop stopped")


class RuleFiring(models.Model):
    """A rule fired on a ticket (or was stopped): when, on which event, with what outcome and why."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False)
    event = models.CharField(_("event"), max_length=20, choices=RuleEvent.choices)
    fired_at = models.DateTimeField(_("fired"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=FiringOutcome.choices)
    detail = models.TextField(_("detail"), blank=True)
    # Time-based and SLA firings: the waiting period (or SLA batch) they belong to. A rule fires once per
    # ticket and period: a job run twice, or retried, finds the row and does nothing.
    period_start = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        verbose_name = _("rule firing")
        verbose_name_plural = _("rule firings")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "ticket", "period_start"],
                condition=models.Q(period_start__isnull=False),
                name="rulefiring_once_per_period",
            )
        ]
        indexes = [
            # A ticket's firings (the ticket page, the loop guard's record), newest first.
            models.Index(fields=["ticket", "-fired_at"], name="rulefiring_ticket"),
            # A rule's log and its last firing (the rules list).
            models.Index(fields=["rule", "-fired_at"], name="rulefiring_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.ticket_id} {self.outcome}"
