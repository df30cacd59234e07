"""SLA levels (F-06), timetables and calendar exceptions (F-07), and each ticket's SLA timeline (F-08)."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# Every user, signed in or not, belongs to this group for the SLA choice (Bitrix: "all users").
EVERYONE_GROUP = "Everyone"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s."), params={"zone": value})


def empty_week() -> list:
    return [[] for _day in range(7)]


# How the names were written when they were single strings: "Russian · English".
BILINGUAL_SEPARATOR = " · "


def bilingual_split(value: str, separators: tuple[str, ...] = (BILINGUAL_SEPARATOR,)) -> tuple[str, str]:
    """Split "ru · en" into its two languages (Russian first); a value without a separator is both."""
    value = (value or "").strip()
    for separator in separators:
        ru, found, en = value.partition(separator)
        if found:
            return ru.strip(), en.strip()
    return value, value


def in_active_language(ru: str, en: str) -> str:
    """Return the text in the active language, or the other language's when that one is empty."""
    if (get_language() or "ru").startswith("en"):
        return en or ru
    return ru or en


class BilingualText(str):
    """A text in Russian and English that formats (str(), %s) in the active language.

    It is a str holding the Russian text, so code that only stores or compares it keeps working.
    """

    ru: str
    en: str

    def __new__(cls, ru: str, en: str) -> BilingualText:
        text = super().__new__(cls, ru or en)
        text.ru, text.en = ru or en, en or ru
        return text

    def __str__(self) -> str:
        return in_active_language(self.ru, self.en)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class BilingualName(models.Model):
    """A name kept in Russian and English (at least one), shown in the viewer's language."""

    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """Return the name in the active language (the other language's when this one is empty)."""
        return in_active_language(self.name_ru, self.name_en)

    @name.setter
    def name(self, value: str) -> None:
        # Model(name="ru · en") and Model(name="VIP") keep working: the value is split or used for both.
        self.name_ru, self.name_en = bilingual_split(value)

    def name_errors(self) -> dict:
        """Return the field error when neither language has a name (call from clean())."""
        if not (self.name_ru or "").strip() and not (self.name_en or "").strip():
            return {"name_ru": _("Enter a name in at least one language.")}
        return {}

    def clean(self) -> None:
        errors = self.name_errors()
        if errors:
            raise ValidationError(errors)


class Timetable(BilingualName):
    """Working hours per weekday in one time zone (F-07).

    `week` holds seven lists (Monday first) of [start, end] pairs in seconds from local midnight, merged;
    an empty list is a closed day, [[0, 86400]] is around the clock, and an end past 86,400 crosses midnight.
    """

    code = models.CharField(
        _("symbolic code"),
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", _("Use only Latin letters, digits, - and _."))],
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    week = models.JSONField(_("weekly schedule"), default=empty_week)
    calendar_years = models.JSONField(_("production calendar years applied"), default=list, blank=True)
    # Bumped on every change of the schedule or its exceptions; working calendars are cached by it.
    revision = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["name_ru", "name_en"]
        verbose_name = _("timetable")
        verbose_name_plural = _("timetables")


class ExceptionKind(models.TextChoices):
    HOLIDAY = "holiday", _("holiday (whole days off)")
    HOLIDAY_TIME = "holiday_time", _("holiday by time (the range is cut out)")
    WORKING_TIME = "working_time", _("working by time (replaces the day's schedule)")
    AS_WEEKDAY = "as_weekday", _("work as another weekday")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class CalendarException(BilingualName):
    """A dated exception to a weekly schedule (F-07), in the timetable's local time.

    Whole-day kinds (holiday, work as weekday) cover the days first_day..last_day. Timed kinds cover the
    local range first_day start_time .. last_day end_time. An exception belongs to a timetable (every SLA
    on it) or is chosen on individual SLA levels.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=ExceptionKind.choices)
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("to"))
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    end_time = models.TimeField(_("end time"), null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(
        _("run the schedule of"), choices=Weekday.choices, null=True, blank=True
    )
    timetable = models.ForeignKey(
        Timetable,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exceptions",
        verbose_name=_("timetable"),
        help_text=_("Applies to every SLA level on this timetable. Leave empty to choose SLA levels."),
    )
    # "calendar:2025" for rows made by applying the production calendar; re-applying replaces them.
    origin = models.CharField(_("origin"), max_length=40, blank=True, editable=False)

    class Meta:
        ordering = ["first_day", "id"]
        verbose_name = _("timetable exception")
        verbose_name_plural = _("timetable exceptions")
        indexes = [models.Index(fields=["timetable", "origin"], name="exception_timetable_origin")]

    def __str__(self) -> str:
        return f"{self.name} ({self.first_day:%Y-%m-%d})"

    def clean(self) -> None:
        errors = self.name_errors()
        if self.first_day and self.last_day and self.last_day < self.first_day:
            errors["last_day"] = _("The end must not be before the start.")
        if self.kind in (ExceptionKind.HOLIDAY_TIME, ExceptionKind.WORKING_TIME):
            if self.start_time is None:
                errors["start_time"] = _("A timed exception needs a start time.")
            if self.end_time is None:
                errors["end_time"] = _("A timed exception needs an end time.")
            if (
                not errors
                and self.first_day == self.last_day
                and self.end_time <= self.start_time
                and self.end_time.isoformat() != "00:00:00"
            ):
                errors["end_time"] = _("The end must be after the start.")
        if self.kind == ExceptionKind.AS_WEEKDAY and self.weekday is None:
            errors["weekday"] = _("Choose the weekday whose schedule the days run.")
        if errors:
            raise ValidationError(errors)


class TimeUnit(models.TextChoices):
    MINUTES = "minutes", _("working minutes")
    HOURS = "hours", _("working hours")


UNIT_SECONDS = {TimeUnit.MINUTES: 60, TimeUnit.HOURS: 3600}


class SlaLevel(BilingualName):
    # How the CLI, the API and coupons name a level (F-21): names change, codes do not.
    code = models.CharField(
        _("symbolic code"),
        max_length=64,
        blank=True,
        help_text=_(
            "Latin letters, digits, - and _; unique. The command line and the API name the SLA by it."
        ),
        validators=[RegexValidator(r"^[A-Za-z0-9_-]*$", _("Use only Latin letters, digits, - and _."))],
    )
    description_ru = models.TextField(
        _("description (Russian)"), blank=True, help_text=_("Shown to the client on the ticket page.")
    )
    description_en = models.TextField(_("description (English)"), blank=True)
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Higher wins when several SLAs fit.")
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="sla_levels", verbose_name=_("user groups that get this SLA")
    )
    response_time = models.PositiveIntegerField(_("response time"), default=0, help_text=_("0: no deadline."))
    response_unit = models.CharField(
        _("unit"), max_length=10, choices=TimeUnit.choices, default=TimeUnit.HOURS
    )
    reminder_time = models.PositiveIntegerField(
        _("remind before the deadline"),
        default=0,
        help_text=_("0: no reminder. Must be less than the response time."),
    )
    reminder_unit = models.CharField(
        _("unit"), max_length=10, choices=TimeUnit.choices, default=TimeUnit.MINUTES
    )
    timetable = models.ForeignKey(
        Timetable,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sla_levels",
        verbose_name=_("timetable"),
        help_text=_("Empty: around the clock in the server's time zone."),
    )
    exceptions = models.ManyToManyField(
        CalendarException,
        blank=True,
        related_name="sla_levels",
        verbose_name=_("extra exceptions"),
        help_text=_("Apply on top of the timetable's own exceptions."),
    )
    categories = models.ManyToManyField(
        "dictionaries.DictionaryEntry",
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "category"},
        verbose_name=_("allowed categories"),
        help_text=_("None chosen: all."),
    )
    criticalities = models.ManyToManyField(
        "dictionaries.DictionaryEntry",
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "criticality"},
        verbose_name=_("allowed criticalities"),
        help_text=_("None chosen: all."),
    )
    marks = models.ManyToManyField(
        "dictionaries.DictionaryEntry",
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "mark"},
        verbose_name=_("allowed marks"),
        help_text=_("None chosen: all."),
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
    # Bumped when the SLA's choice of exceptions or one of them changes; working calendars are cached by it.
    exceptions_revision = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-priority", "name_ru", "name_en"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=~models.Q(code=""),
                name="sla_level_code_once",
                violation_error_message=_("Another SLA level has this symbolic code."),
            )
        ]
        verbose_name = _("SLA level")
        verbose_name_plural = _("SLA levels")

    @property
    def description(self) -> str:
        """Return the description in the active language (the other language's when this one is empty)."""
        return in_active_language(self.description_ru, self.description_en)

    @description.setter
    def description(self, value: str) -> None:
        self.description_ru, self.description_en = bilingual_split(value)

    @property
    def response_seconds(self) -> int:
        return self.response_time * UNIT_SECONDS[self.response_unit]

    @property
    def reminder_seconds(self) -> int:
        return self.reminder_time * UNIT_SECONDS[self.reminder_unit]

    def clean(self) -> None:
        errors = self.name_errors()
        if self.reminder_time and self.reminder_seconds >= self.response_seconds:
            errors["reminder_time"] = _("The reminder must come before the deadline.")
        if errors:
            raise ValidationError(errors)


class SlaEventKind(models.TextChoices):
    STARTED = "started", _("clock started")
    RESTARTED = "restarted", _("clock restarted")
    REMINDER = "reminder", _("reminder due")
    OVERDUE = "overdue", _("overdue")
    ANSWERED = "answered", _("support answered: clock stopped")
    STOPPED = "stopped", _("clock stopped")
    PAUSED = "paused", _("clock paused")
    RESUMED = "resumed", _("clock resumed")
    SLA_CHANGED = "sla_changed", _("SLA changed")
    RECOMPUTED = "recomputed", _("deadline recomputed")


class SourceReason(models.TextChoices):
    CREATED = "created", _("ticket created")
    REOPENED = "reopened", _("ticket reopened")
    CLIENT_REPLY = "client_reply", _("client replied after support")
    SLA_CHANGED = "sla_changed", _("SLA changed to a shorter response time")


class RecomputeReason(models.TextChoices):
    """Why open tickets' deadlines were computed again (the reason of a "recomputed" timeline step)."""

    SLA_TIMES = "sla_times", _("the SLA's response or reminder time changed")
    SLA_TIMETABLE = "sla_timetable", _("the SLA's timetable changed")
    SLA_EXCEPTIONS = "sla_exceptions", _("the SLA's exceptions changed")
    TIMETABLE = "timetable", _("the timetable's working hours changed")
    EXCEPTION = "exception", _("a calendar exception changed")


class SlaEvent(models.Model):
    """One step of a ticket's SLA timeline: what happened and the deadline it left (staff see it)."""

    # Indexed by (ticket, at) below; no separate ticket index.
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_events", db_index=False
    )
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=SlaEventKind.choices)
    reason = models.CharField(
        max_length=20, choices=SourceReason.choices + RecomputeReason.choices, blank=True
    )
    source_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    reminder_at = models.DateTimeField(null=True, blank=True)
    # The SLA's name when the step happened, in both languages (the level may be renamed later).
    sla_name = models.CharField(max_length=200, blank=True)
    sla_name_en = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["ticket", "at"], name="sla_event_ticket_at"),
            # The load report counts deadlines missed per day (reports.load): a small index of those steps.
            models.Index(
                fields=["at"],
                include=["ticket"],
                condition=models.Q(kind=SlaEventKind.OVERDUE),
                name="sla_event_overdue_at",
            ),
        ]
        verbose_name = _("SLA event")
        verbose_name_plural = _("SLA timeline")

    @property
    def sla_label(self) -> str:
        """Return the SLA's name in the viewer's language."""
        return in_active_language(self.sla_name, self.sla_name_en)


class DeadlineRecompute(models.Model):
    """One recomputation of open tickets' deadlines after an SLA configuration change, with its progress.

    Written in the transaction of the change; a background job does the work after commit and counts
    the tickets it went through, so admins see "Recomputing deadlines: 1200 of 5000 tickets".
    """

    reason = models.CharField(max_length=20, choices=RecomputeReason.choices)
    sla_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("deadline recomputation")
        verbose_name_plural = _("deadline recomputations")

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.done}/{self.total}"
