"""The support process's data (F-30): roles, versioned definitions, each ticket's place, moves and votes."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.core.fields import OrderedJSONField
from otklik.sla.models import in_active_language


class Role(models.Model):
    """A role of the process (L1 operator, incident manager...): held by users and/or groups' members."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Russian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    instructions = models.TextField(_("instructions (Russian)"), blank=True)
    instructions_en = models.TextField(_("instructions (English)"), blank=True)
    users = models.ManyToManyField(User, blank=True, related_name="workflow_roles", verbose_name=_("users"))
    groups = models.ManyToManyField(
        Group, blank=True, related_name="workflow_roles", verbose_name=_("groups")
    )
    sort = models.PositiveIntegerField(_("sort"), default=100)

    class Meta:
        ordering = ["sort", "code"]
        verbose_name = _("process role")
        verbose_name_plural = _("process roles")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return in_active_language(self.name, self.name_en)

    @property
    def instructions_text(self) -> str:
        return in_active_language(self.instructions, self.instructions_en)


class ProcessVersion(models.Model):
    """One version of a process definition, kept as the JSON `workflow.definition` reads.

    Editing a definition saves a new version; tickets stay on the version they started on. The active
    version of the process that starts new tickets is the one new tickets get.
    """

    code = models.SlugField(_("code"), max_length=40)
    version = models.PositiveIntegerField(_("version"))
    definition = OrderedJSONField(_("definition"))
    active = models.BooleanField(_("active"), default=False)
    starts_new_tickets = models.BooleanField(_("new tickets start here"), default=False)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="process_version_once"),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(active=True), name="process_one_active"
            ),
            models.UniqueConstraint(
                fields=["starts_new_tickets"],
                condition=models.Q(starts_new_tickets=True),
                name="process_one_for_new_tickets",
            ),
        ]
        verbose_name = _("process version")
        verbose_name_plural = _("process versions")

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    @property
    def name(self) -> str:
        names = self.definition.get("name") if isinstance(self.definition, dict) else None
        if isinstance(names, dict):
            return in_active_language(names.get("ru", ""), names.get("en", ""))
        return self.code


class TicketProcess(models.Model):
    """Where a ticket is in its process: the version it runs on, the state, and who must act."""

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="process"
    )
    version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=40)
    # The role that must act now: the state's own, or for a state that names none (work), the one the
    # move into it assigned. `assigned_role` remembers that last assignment (a failed test goes back to it).
    role = models.CharField(_("role that must act"), max_length=40, blank=True)
    assigned_role = models.CharField(max_length=40, blank=True)
    entered_at = models.DateTimeField(_("in this state since"))
    # The L1 class chosen (administration, profanity, off_topic, faq, map_content, technical).
    l1_outcome = models.CharField(_("L1 outcome"), max_length=40, blank=True)

    class Meta:
        indexes = [models.Index(fields=["role", "state"], name="ticket_process_queue")]
        verbose_name = _("ticket's process")
        verbose_name_plural = _("tickets' processes")

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.state}"


class Move(models.Model):
    """One move of a ticket through its process: who took which transition, from where to where, why."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="process_moves")
    version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("by")
    )
    transition = models.CharField(_("transition"), max_length=40)  # "" for the start, "reopen" on reopen
    source = models.CharField(_("from"), max_length=40, blank=True)
    target = models.CharField(_("to"), max_length=40)
    # The role the actor acted as; "admin" when a support admin took a step that was not theirs.
    acted_as = models.CharField(_("acted as"), max_length=40, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # The form's values as entered (ids and texts), and what the actions decided (the assignee and why).
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="process_move_ticket_at")]
        verbose_name = _("process move")
        verbose_name_plural = _("process moves")

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.source} -> {self.target}"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", _("approve")
    REJECT = "reject", _("reject")


class Vote(models.Model):
    """A change board member's vote on a change request; one per member per review, changeable until the
    decision, kept afterwards."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="process_votes")
    # The move that opened this review (the ticket may come to the board again later).
    review = models.ForeignKey(Move, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    vote = models.CharField(_("vote"), max_length=10, choices=VoteChoice.choices)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["review", "voter"], name="vote_once_per_review")]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.voter_id}: {self.vote}"
