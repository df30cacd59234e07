"""Inbound mail: mailboxes with their rules and cursors, and every message received, raw, with its outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.dictionaries.models import DictionaryEntry, DictionaryKind

DEFAULT_SUBJECT_PATTERN = r"\[TID#(\d+)\]"


class AppendSecurity(models.TextChoices):
    """Who may add a message to an existing ticket by mail (F-15)."""

    ADDRESS = "address", _("only the author's address")
    DOMAIN = "domain", _("any address of the author's domain")
    ANYONE = "anyone", _("anyone")


class Mailbox(models.Model):
    """A place mail comes from: a polled IMAP or POP3 account, the SMTP/LMTP listener, or the stdin pipe.

    The rule fields say how its mail becomes tickets; the cursor fields remember what was fetched.
    """

    class Protocol(models.TextChoices):
        IMAP = "imap", "IMAP"
        POP3 = "pop3", "POP3"
        SMTP = "smtp", _("SMTP/LMTP listener")
        PIPE = "pipe", _("pipe (otklik ingest-mail)")

    class Security(models.TextChoices):
        TLS = "tls", _("TLS (IMAPS 993, POP3S 995)")
        STARTTLS = "starttls", "STARTTLS"
        PLAIN = "plain", _("none (plain text, trusted networks only)")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    protocol = models.CharField(_("protocol"), max_length=10, choices=Protocol.choices)
    active = models.BooleanField(_("active"), default=True)
    host = models.CharField(_("server"), max_length=255, blank=True)
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    security = models.CharField(_("security"), max_length=10, choices=Security.choices, default=Security.TLS)
    username = models.CharField(_("user name"), max_length=255, blank=True)
    # Stored as given (the poller must present it); never rendered back into a page or an answer.
    password = models.CharField(_("password"), max_length=255, blank=True)
    folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX", blank=True)
    delete_after_fetch = models.BooleanField(
        _("delete messages from the server after fetching"), default=False
    )

    # The mail rule (F-15).
    user_lookup = models.BooleanField(_("find the registered user by the sender's address"), default=True)
    append_security = models.CharField(
        _("who may add to an existing ticket"),
        max_length=10,
        choices=AppendSecurity.choices,
        default=AppendSecurity.ADDRESS,
    )
    add_hidden = models.BooleanField(_("add replies as hidden messages"), default=False)
    cc_from_mail = models.BooleanField(
        _("add the Cc addresses of incoming mail to the ticket's CC"),
        default=False,
        help_text=_("Except the support addresses and the ticket's author."),
    )
    subject_patterns = models.TextField(
        _("subject patterns"),
        default=DEFAULT_SUBJECT_PATTERN,
        help_text=_("One regular expression per line; its first group is the ticket number."),
    )
    category = models.ForeignKey(
        DictionaryEntry,
        verbose_name=_("default category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"kind": DictionaryKind.CATEGORY},
    )
    criticality = models.ForeignKey(
        DictionaryEntry,
        verbose_name=_("default criticality"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"kind": DictionaryKind.CRITICALITY},
    )

    # The IMAP cursor: the folder's UIDVALIDITY and the highest UID taken (POP3 keeps PopSeen rows).
    uid_validity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PopSeen(models.Model):
    """A POP3 message (by UIDL) already stored from a mailbox that keeps its mail on the server."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="pop_seen")
    uidl = models.CharField(max_length=70)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "uidl"], name="pop_seen_once")]


class Outcome(models.TextChoices):
    RECEIVED = "received", _("received, not processed yet")
    CREATED = "created", _("new ticket")
    APPENDED = "appended", _("added to a ticket")
    DUPLICATE = "duplicate", _("duplicate")
    QUARANTINED = "quarantined", _("quarantined")


class InboundMail(models.Model):
    """One message as it arrived, kept byte for byte before anything else is done with it (never lose a mail).

    Processing fills in the outcome; a quarantined message keeps a machine-readable reason and a person's
    explanation, and can be processed again.
    """

    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(_("source"), max_length=255, blank=True)  # e.g. "imap uid 42", "smtp 10.0.0.5"
    raw = models.BinaryField(_("original message"))
    size = models.PositiveIntegerField(_("size, bytes"))
    received_at = models.DateTimeField(_("received"), db_index=True)
    # Filled by processing (from the parsed headers) for the admins' list and for deduplication.
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True, db_index=True)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    automatic = models.CharField(_("automatic mail"), max_length=30, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.RECEIVED, db_index=True
    )
    reason = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_text = models.TextField(_("reason"), blank=True)
    # Plain numbers, not foreign keys: the original stays when its ticket is deleted.
    ticket_id = models.BigIntegerField(_("ticket"), null=True, blank=True, db_index=True)
    ticket_message_id = models.BigIntegerField(_("ticket message"), null=True, blank=True, unique=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    processed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("incoming message")
        verbose_name_plural = _("incoming mail")
        constraints = [
            # Deduplication that holds under concurrency: one taken message per Message-ID.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=models.Q(outcome__in=["created", "appended"]) & ~models.Q(message_id=""),
                name="inbound_message_id_taken_once",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject or self.sender}"
