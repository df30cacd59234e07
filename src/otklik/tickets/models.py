"""Tickets, messages, attachments, module options and the change history."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from otklik.coupons.masks import CODE_MAX, MASK_DEFAULT, mask_validate
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.models import SourceReason
from otklik.tickets.files import random_storage_name

User = settings.AUTH_USER_MODEL


class SpamState(models.TextChoices):
    NONE = "", _("not spam")
    POSSIBLE = "possible", _("possible spam")
    DEFINITE = "definite", _("spam")


class Channel(models.TextChoices):
    WEB = "web", _("web")
    EMAIL = "email", _("e-mail")
    API = "api", _("API")
    PHONE = "phone", _("phone")
    SYSTEM = "system", _("system")


class TicketQuerySet(models.QuerySet):
    """Tickets whose related rows can be attached after the fetch instead of joined.

    A list that joins a dozen tables makes PostgreSQL spend more time planning than running the
    query; `with_relations()` fetches the tickets alone and then the users, dictionary entries and
    SLAs they point to in three more queries, whatever the number of rows.
    """

    _attach_relations = False

    def with_relations(self) -> "TicketQuerySet":
        clone = self._chain()
        clone._attach_relations = True
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._attach_relations = self._attach_relations
        return clone

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if (
            fresh
            and self._attach_relations
            and self._result_cache
            and isinstance(self._result_cache[0], Ticket)
        ):
            attach_relations(self._result_cache)

    def iterator_with_relations(self, chunk_size: int = 2000):
        """Iterate over every ticket in the queryset's order, attaching relations chunk by chunk."""
        batch: list[Ticket] = []
        for ticket in self.iterator(chunk_size=chunk_size):
            batch.append(ticket)
            if len(batch) >= chunk_size:
                attach_relations(batch)
                yield from batch
                batch = []
        if batch:
            attach_relations(batch)
            yield from batch


# Foreign keys attached by TicketQuerySet.with_relations(), grouped by the model they point to.
TICKET_USER_FKS = ("author", "responsible", "last_message_by", "modified_by", "created_by")
TICKET_ENTRY_FKS = ("category", "criticality", "status", "difficulty", "mark", "source")


def attach_relations(tickets: list["Ticket"]) -> None:
    """Load the users, dictionary entries and SLAs of `tickets` in three queries and cache them on each."""
    from django.contrib.auth import get_user_model

    from otklik.sla.models import SlaLevel

    def load(model, names):
        ids = {getattr(t, f"{name}_id") for t in tickets for name in names} - {None}
        return model.objects.in_bulk(ids) if ids else {}

    users = load(get_user_model(), TICKET_USER_FKS)
    entries = load(DictionaryEntry, TICKET_ENTRY_FKS)
    slas = load(SlaLevel, ("sla",))
    for group, objects in ((TICKET_USER_FKS, users), (TICKET_ENTRY_FKS, entries), (("sla",), slas)):
        for name in group:
            field = Ticket._meta.get_field(name)
            for ticket in tickets:
                field.set_cached_value(ticket, objects.get(getattr(ticket, f"{name}_id")))


class Ticket(models.Model):
    """A support ticket (обращение)."""

    objects = TicketQuerySet.as_manager()

    title = models.CharField(_("title"), max_length=255)
    author = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets_authored",
        verbose_name=_("author"),
        db_index=False,  # ticket_author_modified starts with it
    )
    author_email = models.CharField(_("author's address"), max_length=254, blank=True)
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
        db_index=False,
    )
    created_via = models.CharField(
        _("created via"), max_length=10, choices=Channel.choices, default=Channel.WEB
    )
    source = models.ForeignKey(
        DictionaryEntry,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("source"),
        limit_choices_to={"kind": DictionaryKind.SOURCE},
    )
    category = models.ForeignKey(
        DictionaryEntry,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("category"),
        limit_choices_to={"kind": DictionaryKind.CATEGORY},
    )
    criticality = models.ForeignKey(
        DictionaryEntry,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("criticality"),
        limit_choices_to={"kind": DictionaryKind.CRITICALITY},
    )
    status = models.ForeignKey(
        DictionaryEntry,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("status"),
        limit_choices_to={"kind": DictionaryKind.STATUS},
    )
    difficulty = models.ForeignKey(
        DictionaryEntry,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("difficulty"),
        limit_choices_to={"kind": DictionaryKind.DIFFICULTY},
    )
    mark = models.ForeignKey(
        DictionaryEntry,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("mark"),
        limit_choices_to={"kind": DictionaryKind.MARK},
    )
    sla = models.ForeignKey(
        "sla.SlaLevel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("SLA"),
        db_index=False,
    )
    responsible = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets_responsible",
        verbose_name=_("responsible"),
        db_index=False,  # ticket_responsible_open starts with it
    )
    is_special = models.BooleanField(_("special ticket"), default=False)
    coupon_code = models.CharField(_("coupon"), max_length=64, blank=True)
    spam = models.CharField(
        _("spam"), max_length=10, choices=SpamState.choices, default=SpamState.NONE, blank=True
    )
    is_postponed = models.BooleanField(_("postponed"), default=False)
    admin_comment = models.TextField(_("administrator's comment"), blank=True)

    message_count = models.PositiveIntegerField(_("messages"), default=0)
    overdue_count = models.PositiveIntegerField(_("overdue messages"), default=0)
    is_overdue = models.BooleanField(_("overdue"), default=False)
    reminder_sent = models.BooleanField(_("reminder sent"), default=False)
    deadline_at = models.DateTimeField(_("response deadline"), null=True, blank=True)
    reminder_at = models.DateTimeField(_("reminder time"), null=True, blank=True)
    deadline_source_at = models.DateTimeField(_("deadline counted from"), null=True, blank=True)
    deadline_source_reason = models.CharField(
        _("what started the clock"), max_length=20, choices=SourceReason.choices, blank=True
    )
    # The instants the periodic job marked the ticket.
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("overdue since"), null=True, blank=True)
    # The batch (a DomainEvent's id) of the SLA tick step that marked the ticket last: the step's UPDATE
    # sets it under the row lock, so its INSERT ... SELECT statements pick out exactly its own rows.
    sla_batch = models.BigIntegerField(null=True, blank=True, editable=False)
    # "Postponed pauses SLA" (F-08 option): when the pause began and the working time paused so far.
    sla_paused_at = models.DateTimeField(_("SLA clock paused at"), null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(_("SLA working time paused, seconds"), default=0)
    awaits_support = models.BooleanField(_("awaits support"), default=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    last_message_by = models.ForeignKey(
        User,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("last message by"),
    )
    last_message_by_support = models.BooleanField(_("last message by support"), default=False)
    first_client_message_after_support_at = models.DateTimeField(
        _("first client message after support"), null=True, blank=True
    )
    time_spent_minutes = models.PositiveIntegerField(_("time spent, minutes"), default=0)
    auto_close_days = models.PositiveIntegerField(
        _("auto-close after, days"),
        null=True,
        blank=True,
        help_text=_("Empty: the module default; 0: never."),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("reopened"), null=True, blank=True)
    auto_closed = models.BooleanField(_("auto-closed"), default=False)

    created_at = models.DateTimeField(_("created"))  # indexed in Meta (ticket_created)
    modified_at = models.DateTimeField(_("modified"))
    modified_by = models.ForeignKey(
        User,
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("modified by"),
    )
    modified_via = models.CharField(
        _("modified via"), max_length=10, choices=Channel.choices, default=Channel.WEB
    )

    # Three-tier process (F-30): plain fields until the workflow engine arrives.
    ticket_type = models.CharField(_("type"), max_length=32, blank=True)
    tier = models.CharField(_("tier"), max_length=8, blank=True)
    # Copies of the support process's place (workflow.TicketProcess: state, L1 outcome), kept by the
    # workflow's services in the same transaction, so that the desk report groups a million tickets by
    # them without joining a million places (a join cost 550-650 ms there). "" outside any process.
    process_state = models.CharField(_("process state"), max_length=40, blank=True, editable=False)
    l1_outcome = models.CharField(_("L1 outcome"), max_length=40, blank=True, editable=False)
    planned_effort_minutes = models.PositiveIntegerField(_("planned effort, minutes"), null=True, blank=True)
    expected_date = models.DateField(_("expected resolution date"), null=True, blank=True)

    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    # The ticket this one was split from, for the cross-reference.
    split_from = models.ForeignKey(
        "self",
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="split_into",
        verbose_name=_("split from"),
    )
    # The ticket this one was merged into (P1): closed, its messages moved there, its old address redirects.
    merged_into = models.ForeignKey(
        "self",
        db_index=False,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    tags = models.ManyToManyField("Tag", through="TicketTag", related_name="tickets", blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # Few indexes on purpose: the SLA job updates 100,000 rows at once after an outage, and every
        # index costs an entry per updated row. Dictionary and "who touched it" keys have no index of their
        # own (db_index=False above); lists filter them on top of the indexed order.
        indexes = [
            # The staff list's default order (F-02); the trailing id keeps pages stable.
            models.Index(
                models.F("is_special").desc(),
                models.F("is_overdue").desc(),
                models.F("reminder_sent").desc(),
                "last_message_by_support",
                models.F("last_message_at").desc(),
                name="ticket_default_order",
            ),
            # A staff member's open tickets; with the columns of a viewer's scope, so that the load report
            # (reports.load) takes the tickets in a staff member's sight from this narrow index rather than
            # from the table or a wider index.
            models.Index(
                fields=["responsible", "closed_at"],
                include=["id", "author", "sla"],
                name="ticket_responsible_open",
            ),
            # A client's tickets, newest first; with the creation, so that the deflection report's rule "a
            # ticket within two hours after a suggested article" probes the author's entries alone.
            models.Index(
                fields=["author", "-modified_at"], include=["created_at"], name="ticket_author_modified"
            ),
            models.Index(fields=["-modified_at"], name="ticket_modified"),
            # By closing and by creation, with what the load report reads of the tickets closed, open or
            # created in a period (reports.load): PostgreSQL answers from the index alone, the viewer's
            # scope (author, responsible, SLA) included, and takes the tickets in a staff member's sight
            # from the narrower one rather than from the table. Wider entries, not more of them.
            models.Index(
                fields=["closed_at"],
                include=["id", "created_at", "message_count", "mark", "author", "responsible", "sla"],
                name="ticket_closed",
            ),
            # The funnel and deflection reports read the category, the closing and the type of the tickets
            # created in a period from it too (reports.funnel, reports.deflection).
            models.Index(
                fields=["created_at"],
                include=["id", "author", "responsible", "sla", "category", "closed_at", "ticket_type"],
                name="ticket_created",
            ),
            # The periodic SLA job's two questions (F-08): reminders due and deadlines passed.
            models.Index(
                fields=["reminder_at"],
                condition=models.Q(reminder_sent=False, is_overdue=False, reminder_at__isnull=False),
                name="ticket_reminder_due",
            ),
            models.Index(
                fields=["deadline_at"],
                condition=models.Q(is_overdue=False, deadline_at__isnull=False),
                name="ticket_deadline_due",
            ),
            # The auto-close job's question (F-02): open tickets support answered last.
            models.Index(
                fields=["last_message_at"],
                condition=models.Q(closed_at__isnull=True, last_message_by_support=True),
                name="ticket_auto_close",
            ),
            # /metrics' "tickets awaiting support" (issue 19): counted from this index alone. Without it the
            # count read every open ticket's row: 0.2-0.5 s with 50,000 open among 1,000,000 tickets.
            models.Index(
                fields=["id"],
                condition=models.Q(closed_at__isnull=True, awaits_support=True),
                name="ticket_awaiting_support",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def mail_marker(self) -> str:
        return f"[TID#{self.pk}]"


class MessageKind(models.TextChoices):
    PUBLIC = "public", _("message")
    HIDDEN = "hidden", _("hidden message")
    LOG = "log", _("log")
    NO_STATUS = "nostatus", _("message that does not change the status")


# Kinds the ticket's author (and clients generally) may see.
CLIENT_VISIBLE_KINDS = (MessageKind.PUBLIC, MessageKind.NO_STATUS)
# Kinds that are real conversation (not log lines): counted and searched.
CONVERSATION_KINDS = (MessageKind.PUBLIC, MessageKind.HIDDEN, MessageKind.NO_STATUS)


class Message(models.Model):
    # (ticket, number) is unique and indexed; a separate ticket index would only slow bulk log lines down.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False)
    number = models.PositiveIntegerField(pgettext_lazy("running number of a message", "number"))
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices, default=MessageKind.PUBLIC)
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author")
    )
    author_email = models.CharField(_("author's address"), max_length=254, blank=True)
    # The staff member who posted it, when posted on behalf of someone else.
    posted_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("posted by"),
        db_index=False,
    )
    via = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    source = models.ForeignKey(
        DictionaryEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("source"),
    )
    by_support = models.BooleanField(_("by support"), default=False)
    minutes = models.PositiveIntegerField(_("time spent, minutes"), default=0)
    body = models.TextField(_("text"))
    # A log message's lines as data (see tickets.loglines), rendered in each reader's language; `body`
    # keeps them in the site's language for search and older readers.
    data = models.JSONField(_("log data"), null=True, blank=True)
    # The history a mail reply quoted (F-15): kept, shown folded to staff, neither searched nor mailed.
    quoted = models.TextField(_("quoted history"), blank=True, default="", db_default="")  # raw INSERTs too
    created_at = models.DateTimeField(_("created"))
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    edited_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("edited by"),
        db_index=False,
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [models.UniqueConstraint(fields=["ticket", "number"], name="message_number_unique")]
        indexes = [
            # The load report counts the conversation's messages per day (reports.load); PostgreSQL
            # answers from the index alone (ticket included for the staff's scope), log lines stay out.
            models.Index(
                fields=["created_at"],
                include=["ticket"],
                condition=models.Q(kind__in=CLIENT_VISIBLE_KINDS),
                name="message_conversation_created",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}.{self.number}"

    @property
    def is_client_visible(self) -> bool:
        return self.kind in CLIENT_VISIBLE_KINDS

    @property
    def log_lines(self) -> list[str]:
        """Return the log data's lines in the active language (none for a message without data)."""
        from otklik.tickets.loglines import log_lines

        return log_lines(self.data)

    @property
    def log_sentences(self) -> list[str]:
        """Return the log as one sentence per change, naming who made it ("Elena set Status to ...")."""
        from otklik.tickets.loglines import log_sentences

        if not self.data:
            return [line for line in self.body.splitlines() if line.strip()]
        return log_sentences(
            self.data,
            self.author.get_full_name() or self.author.username if self.author else self.author_email,
        )

    @property
    def created_today(self) -> bool:
        from django.utils import timezone

        return timezone.localdate(self.created_at) == timezone.localdate()

    @property
    def shown_text(self) -> str:
        """Return the text a reader sees: the log data rendered in their language, else the body."""
        return "\n".join(self.log_lines) if self.data else self.body


class MessageRevision(models.Model):
    """A previous text of an edited message (F-03: editing keeps the history)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField()

    class Meta:
        ordering = ["edited_at", "id"]


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to=random_storage_name, max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


# Labels of the fields the change history names.
FIELD_LABELS = {
    "stage": _("process stage"),
    "l1_outcome": _("L1 outcome"),
    "title": _("title"),
    "category": _("category"),
    "criticality": _("criticality"),
    "status": _("status"),
    "difficulty": _("difficulty"),
    "mark": _("mark"),
    "sla": _("SLA"),
    "responsible": _("responsible"),
    "author": _("author"),
    "source": _("source"),
    "admin_comment": _("administrator's comment"),
    "auto_close_days": _("auto-close days"),
    "is_postponed": _("postponed"),
    "closed": _("closed"),
    "overdue": _("response deadline passed"),
    "spam": _("spam"),
    "split": _("split"),
    "created": _("created"),
    "message_edited": _("message edited"),
    "message_deleted": _("message deleted"),
    "ticket_type": _("type"),
    "tier": _("tier"),
    "planned_effort_minutes": _("planned effort, minutes"),
    "expected_date": _("expected resolution date"),
    "merged_into": _("merged into"),
    "merged_from": _("merged from"),
    "link": _("link"),
    "tags": _("tags"),
    "cc": _("CC"),
}


class TicketEvent(models.Model):
    """One change to a ticket's field: who, when, via which channel, old -> new (ARCHITECTURE rule 5)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The actor known only by e-mail (a sender without an account, through the mail channel).
    actor_email = models.CharField(
        _("actor's address"), max_length=254, blank=True, default="", db_default=""
    )
    at = models.DateTimeField(db_index=True)
    via = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    # The log message that lists this change in the discussion.
    message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    field = models.CharField(max_length=40)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    # Staff-only changes (difficulty, comment...) are hidden from the author.
    staff_only = models.BooleanField(default=False)
    # The tamper-evident chain (otklik.tickets.history): the previous event's hash in this ticket's
    # history, and this event's own. Empty until sealed (set-based writers insert first, seal after).
    prev_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The values as log data ({"old": V, "new": V}, see tickets.loglines), rendered in each reader's
    # language; old/new keep them as text in the site's language. None on rows older than the data.
    data = models.JSONField(null=True, blank=True)

    @property
    def old_shown(self) -> str:
        """Return the old value in the active language."""
        from otklik.tickets.loglines import event_values

        return event_values(self)[0]

    @property
    def new_shown(self) -> str:
        """Return the new value in the active language."""
        from otklik.tickets.loglines import event_values

        return event_values(self)[1]

    @property
    def field_label(self) -> str:
        if self.field.startswith("custom:"):
            return self.field.removeprefix("custom:")
        return str(FIELD_LABELS.get(self.field, self.field))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket history")
        indexes = [
            # Sealing finds the few unsealed events without reading the history.
            models.Index(fields=["ticket"], condition=models.Q(hash=""), name="ticketevent_unsealed"),
            # The load report counts closings and reopenings per day (reports.load) from the index alone.
            models.Index(
                fields=["at"],
                include=["ticket", "new"],
                condition=models.Q(field="closed"),
                name="ticketevent_closed_at",
            ),
        ]


class TicketDeletion(models.Model):
    """What is left of a deleted ticket: who deleted it, when, what it was, and its history's last hash."""

    ticket_id = models.PositiveBigIntegerField(_("ticket number"), db_index=True)
    title = models.CharField(_("title"), max_length=255)
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author")
    )
    author_email = models.CharField(_("author's address"), max_length=254, blank=True)
    # Names as they were at the deletion: a person's account may be deleted later too.
    author_name = models.CharField(_("author"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))
    deleted_at = models.DateTimeField(_("deleted"))
    deleted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("deleted by")
    )
    deleted_by_name = models.CharField(_("deleted by"), max_length=300, blank=True)
    message_count = models.PositiveIntegerField(_("messages"), default=0)
    attachment_count = models.PositiveIntegerField(_("files"), default=0)
    event_count = models.PositiveIntegerField(_("history events"), default=0)
    last_event_hash = models.CharField(_("last history hash"), max_length=64, blank=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]
        verbose_name = _("deleted ticket")
        verbose_name_plural = _("deleted tickets")
        indexes = [models.Index(fields=["-deleted_at", "-id"], name="ticketdeletion_newest")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.title}"


class TicketPresence(models.Model):
    """Who looked at a ticket recently and who is writing an answer now."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="presence")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()
    answering_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="presence_unique")]


class TicketFollower(models.Model):
    """A staff member who follows a ticket without being its responsible (the list's "Tickets I follow")."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="followed_tickets")
    created_at = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        # One row per person and ticket; the user's own list reads it by the second index.
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="follower_unique")]
        indexes = [models.Index(fields=["user", "ticket"], name="follower_user_ticket")]


class TicketSearchDocument(models.Model):
    """The text search sees: `public_text` for clients, `staff_text` adds hidden messages. Log lines never."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    public_text = models.TextField(blank=True)
    staff_text = models.TextField(blank=True)


class ModuleOptions(models.Model):
    """The support module's options; a single row."""

    class ResponsibleOrder(models.TextChoices):
        SEED = "seed", _("SLA, category, criticality, source, then module default")
        BITRIX = "bitrix", _("category, criticality, source, SLA, then module default")

    default_responsible = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default responsible"),
    )
    responsible_order = models.CharField(
        _("order of choosing the responsible"),
        max_length=10,
        choices=ResponsibleOrder.choices,
        default=ResponsibleOrder.SEED,
    )
    staff_see_unassigned = models.BooleanField(_("staff see unassigned tickets"), default=True)
    presence_minutes = models.PositiveIntegerField(
        _("show who viewed the ticket in the last N minutes"), default=5
    )
    auto_close_days = models.PositiveIntegerField(
        _("auto-close after N days of client silence (0: never)"), default=7
    )
    client_file_limit_mb = models.PositiveIntegerField(_("client file size limit, MB"), default=10)
    client_message_limit_mb = models.PositiveIntegerField(_("client limit per message, MB"), default=25)
    staff_file_limit_mb = models.PositiveIntegerField(_("hard cap for staff files, MB"), default=100)
    list_page_size = models.PositiveIntegerField(_("tickets per page"), default=50)
    notify_overdue = models.BooleanField(_("notify the responsible and admins when overdue"), default=True)
    bcc_admins = models.BooleanField(_("send support admins a blind copy of support mail"), default=True)
    postponed_pauses_sla = models.BooleanField(_("postponed tickets pause the SLA clock"), default=False)
    mail_max_size_mb = models.PositiveIntegerField(
        _("largest incoming e-mail processed, MB (larger ones are kept in quarantine)"), default=25
    )
    mail_max_seconds = models.PositiveIntegerField(
        _("longest processing of one incoming e-mail, seconds (slower ones are kept in quarantine)"),
        default=30,
    )
    wizard_enabled = models.BooleanField(
        _("clients go through the support wizard before the new-ticket form"), default=True
    )
    coupon_mask = models.CharField(
        _("mask of new coupon codes"),
        max_length=CODE_MAX,
        default=MASK_DEFAULT,
        validators=[mask_validate],
        help_text=_("Each # becomes a random letter or digit; at least six #. Example: SUP-COU-##########."),
    )

    class Meta:
        verbose_name = _("module options")
        verbose_name_plural = _("module options")

    def __str__(self) -> str:
        return str(_("Module options"))


class SavedFilter(models.Model):
    """A named set of staff list filters (the query string), per user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_ticket_filters")
    name = models.CharField(_("name"), max_length=100)
    query = models.TextField(_("filter"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")

    def __str__(self) -> str:
        return self.name


class CustomField(models.Model):
    """An extra ticket field defined by admins (F-02); values live in Ticket.custom under the code."""

    class Kind(models.TextChoices):
        TEXT = "text", _("text")
        NUMBER = "number", pgettext_lazy("type of a field", "number")
        DATE = "date", _("date")
        BOOLEAN = "boolean", _("yes / no")

    code = models.CharField(
        _("symbolic code"),
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z][A-Za-z0-9_]*$", _("Start with a Latin letter; then letters, digits, underscore.")
            )
        ],
    )
    name_ru = models.CharField(_("name (Russian)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    staff_only = models.BooleanField(_("visible to staff only"), default=True)
    sort = models.IntegerField(_("sort"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ru").startswith("en") and self.name_en else self.name_ru


class LinkKind(models.TextChoices):
    """How `TicketLink.ticket` relates to `TicketLink.other`; "child" is a parent link read backwards."""

    PARENT = "parent", pgettext_lazy("ticket link", "child of")
    RELATED = "related", pgettext_lazy("ticket link", "related to")
    DUPLICATE_OF = "duplicate_of", pgettext_lazy("ticket link", "duplicate of")


class TicketLink(models.Model):
    """A link between two tickets (P2): `ticket` is a child of, related to or a duplicate of `other`."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    other = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(_("kind"), max_length=16, choices=LinkKind.choices)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("ticket link")
        verbose_name_plural = _("ticket links")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "other", "kind"], name="ticketlink_unique"),
            models.CheckConstraint(condition=~models.Q(ticket=models.F("other")), name="ticketlink_not_self"),
        ]
        # Both directions are read: a ticket's own links by the unique index, the ones pointing at it here.
        indexes = [models.Index(fields=["other", "kind"], name="ticketlink_other_kind")]


class TicketCc(models.Model):
    """An address copied on a ticket (P3): it gets the author's mails and may answer by mail.

    `user` is the account that had confirmed the address when it was added (None: an address only); such a
    user sees the ticket on the web while they belong to one of the author's client groups.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="cc")
    email = models.EmailField(_("e-mail"), max_length=254)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="cc_tickets"
    )
    added_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("added"))

    class Meta:
        verbose_name = _("copy (CC)")
        verbose_name_plural = _("copies (CC)")
        constraints = [models.UniqueConstraint(fields=["ticket", "email"], name="ticketcc_unique")]
        indexes = [models.Index(fields=["user", "ticket"], name="ticketcc_user_ticket")]

    def __str__(self) -> str:
        return self.email


class Tag(models.Model):
    """A free tag (P4); admins curate its colour. Names are unique regardless of letter case (`key`)."""

    name = models.CharField(_("name"), max_length=50)
    # The name case-folded in Python: SQLite's lower() knows only ASCII, and "Срочно" must equal "срочно".
    key = models.CharField(max_length=50, unique=True, editable=False)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #1f6feb."))],
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


def tag_key(name: str) -> str:
    """Return the key that makes tag names equal regardless of letter case (in any alphabet)."""
    return name.casefold()[:50]


class TicketTag(models.Model):
    """A tag on a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="ticket_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "tag"], name="tickettag_unique")]
        # The tag filter reads a tag's tickets.
        indexes = [models.Index(fields=["tag", "ticket"], name="tickettag_tag_ticket")]


class Macro(models.Model):
    """A named set of changes plus an optional reply (P5), applied in one click through the policy.

    `owner` set: a personal macro only its owner sees; None: shared with every staff member.
    `actions` is the JSON form of `otklik.tickets.services.actions.TicketActions`.
    """

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="macros")
    actions = models.JSONField(_("changes"), default=dict, blank=True)
    reply = models.TextField(_("reply"), blank=True)
    reply_hidden = models.BooleanField(_("reply as a hidden note"), default=False)
    active = models.BooleanField(_("active"), default=True)
    sort = models.IntegerField(_("sort"), default=100)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("changed"))

    class Meta:
        ordering = ["sort", "name", "id"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        indexes = [models.Index(fields=["owner", "active"], name="macro_owner_active")]

    def __str__(self) -> str:
        return self.name
