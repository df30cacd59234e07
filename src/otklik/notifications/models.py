"""The outbox of notification mail, the admins' mail templates, in-app notifications and preferences."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from otklik.notifications.catalog import EVENTS, INAPP_KINDS, TOPICS


class OutboxState(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class OutboxMessage(models.Model):
    """One mail to send, written in the same transaction as the change it tells about (ARCHITECTURE rule 4).

    A delivery claims the row (state "sending" with a lease), sends it, and marks it sent. A worker that
    dies mid-delivery leaves the lease to expire; the sweep then sends the row again, under the same
    Message-ID, so a receiving mail system can drop the duplicate.
    """

    event = models.CharField(_("event"), max_length=40, choices=EVENTS)
    # A plain number, not a foreign key: mail about a deleted ticket is still kept and delivered.
    ticket_id = models.BigIntegerField(_("ticket"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    from_email = models.CharField(pgettext_lazy("mail header", "from"), max_length=254)
    to = models.JSONField(pgettext_lazy("mail header", "to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    bcc = models.JSONField(_("bcc"), default=list, blank=True)
    # Display names of the visible recipients, for the To and Cc headers ({address: name}).
    names = models.JSONField(default=dict, blank=True)
    subject = models.CharField(_("subject"), max_length=998)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    references = models.TextField(_("References"), blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outbox")
        indexes = [
            # The sweep's question: what is waiting (or stuck) and due? Sent mail stays out of the index.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["pending", "sending"]),
                name="outbox_waiting",
            ),
            models.Index(fields=["claim"], condition=~models.Q(claim=""), name="outbox_claim"),
            models.Index(fields=["ticket_id"], name="outbox_ticket"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class MailTemplate(models.Model):
    """The admins' text for one event in one language; Otklik's built-in text applies where none is saved."""

    event = models.CharField(_("event"), max_length=40, choices=EVENTS)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    subject = models.CharField(
        _("subject"),
        max_length=255,
        help_text=_("“[TID#<number>]” is put in front when the subject does not start with it."),
    )
    body = models.TextField(
        _("text"), help_text=_("Plain text; the HTML part is made from it. Placeholders: {{ title }}.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("updated by")
    )

    class Meta:
        ordering = ["event", "language"]
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        constraints = [
            models.UniqueConstraint(fields=["event", "language"], name="mail_template_event_language")
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.language})"


class InAppNotification(models.Model):
    """One line under a staff member's bell, written in the transaction of the change it tells about.

    `data` keeps only language-neutral facts (the ticket's title, the actor's name at the time); the text
    is rendered in the reader's language when shown (`selectors.notification_text`).
    """

    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=INAPP_KINDS)
    # A plain number, like the outbox's: the line outlives a deleted ticket until it is pruned.
    ticket_id = models.BigIntegerField(_("ticket"), null=True, blank=True)
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=_("who"),
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("in-app notification")
        verbose_name_plural = _("in-app notifications")
        indexes = [
            # The bell's count (recipient, read_at IS NULL) is answered from the index alone; the panel
            # and the list read a person's newest lines by it too.
            models.Index(fields=["recipient", "read_at", "-id"], name="inapp_recipient_read"),
            # The daily prune finds old lines without reading the table.
            models.Index(fields=["created_at"], name="inapp_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.ticket_id} → {self.recipient_id}"


TOPIC_CHOICES = [(topic.key, topic.label) for topic in TOPICS]


class NotificationPreference(models.Model):
    """A person's two switches for one topic (catalog.TOPICS); no row means both on, today's behaviour."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    topic = models.CharField(_("topic"), max_length=30, choices=TOPIC_CHOICES)
    mail = models.BooleanField(_("mail"), default=True)
    in_app = models.BooleanField(_("in-app"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="notification_pref_user_topic")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.topic}"
