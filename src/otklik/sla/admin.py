"""Configuration pages for SLA levels, timetables and their exceptions (Django admin, for support admins)."""

from __future__ import annotations

import calendar as month_calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dates import MONTHS, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from otklik.core import clock
from otklik.sla import services
from otklik.sla.calendars import DAY, local_working_line
from otklik.sla.forms import ApplyCalendarForm, TimetableForm, intervals_format
from otklik.sla.models import CalendarException, SlaLevel, Timetable, TimeUnit
from otklik.sla.selectors import calendar_year_missing, deadlines_recompute_running, working_calendar
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site
from otklik.ui.widgets import SearchableSelectMultiple

# The month view answers for these years only: prev/next links must not walk off `date`'s range.
MONTH_YEARS = (1900, 2200)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def duration_text(seconds: int) -> str:
    """Write a span of working time as "9 h", "7 h 30 min" or "45 min"."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    return gettext("%(hours)d h") % {"hours": hours}


def _amount_text(amount: int, unit: str) -> str:
    if not amount:
        return "—"
    if unit == TimeUnit.HOURS:
        return gettext("%(hours)d h") % {"hours": amount}
    return gettext("%(minutes)d min") % {"minutes": amount}


def week_summary(week) -> str:
    """Describe a week compactly, grouping runs of days alike: "Mon–Fri 10:00-19:00; Sat–Sun closed"."""
    parts: list[str] = []
    day = 0
    while day < 7:
        intervals = week[day] if day < len(week) else []
        last = day
        while last + 1 < 7 and (week[last + 1] if last + 1 < len(week) else []) == intervals:
            last += 1
        days = str(WEEKDAYS_ABBR[day]) if last == day else f"{WEEKDAYS_ABBR[day]}–{WEEKDAYS_ABBR[last]}"
        if not intervals:
            text = gettext("closed")
        elif [list(i) for i in intervals] == [[0, DAY]]:
            text = gettext("around the clock")
        else:
            text = intervals_format(intervals)
        parts.append(f"{days} {text}")
        day = last + 1
    return "; ".join(parts)


def _warning_context() -> dict:
    """Return the banners' context: the next calendar year when the bundled data lacks it (F-07), and
    the deadline recomputations still running (F-08)."""
    return {"missing_calendar_year": calendar_year_missing(), "recompute_jobs": deadlines_recompute_running()}


class CalendarWarningMixin:
    """Show the "production calendar for next year is missing" banner on the list and change pages."""

    change_list_template = "sla/admin/change_list.html"
    change_form_template = "sla/admin/change_form.html"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), **_warning_context()})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(
            request, object_id, form_url, {**(extra_context or {}), **_warning_context()}
        )


# -- the month view ------------------------------------------------------------------------------
@dataclass
class MonthDay:
    """One cell of the month view."""

    day: date
    intervals: list[tuple[int, int]] = field(default_factory=list)  # seconds from this local midnight
    seconds: int = 0
    marks: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)
    exceptions: list[CalendarException] = field(default_factory=list)

    @property
    def interval_texts(self) -> list[str]:
        return [intervals_format([pair]) for pair in self.intervals]

    @property
    def hours_text(self) -> str:
        return duration_text(self.seconds)

    @property
    def css(self) -> str:
        classes = [css for css, _label in self.marks]
        if not self.intervals and not classes:
            classes.append("day-off")
        return " ".join(classes)


def month_days(timetable: Timetable, first: date) -> list[MonthDay]:
    """Return each day of the month starting at `first` with its working intervals, hours and marks.

    The rules come from the timetable's cached working calendar; the days are laid on one local time
    line from the day before the month, as the calendar lays them, so a late shift crossing midnight
    shows on both days and a cut after midnight trims it.
    """
    cal = working_calendar(timetable=timetable)
    week, exceptions = cal.week, cal.exceptions
    last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
    origin = first - timedelta(days=1)
    spans = local_working_line(week, exceptions, origin, last)

    rows = list(timetable.exceptions.filter(first_day__lte=last, last_day__gte=first).order_by("first_day"))
    result: list[MonthDay] = []
    for offset in range(1, (last - origin).days + 1):
        day = origin + timedelta(days=offset)
        lo, hi = offset * DAY, offset * DAY + DAY
        cell = MonthDay(day=day)
        cell.intervals = [(max(s, lo) - lo, min(e, hi) - lo) for s, e in spans if s < hi and e > lo]
        cell.seconds = sum(_elapsed(day, s, e, cal.tz) for s, e in cell.intervals)
        if day in exceptions.holidays:
            # A holiday beats every other exception of the day (F-07), so only it is marked.
            cell.marks.append(("holiday", gettext("holiday")))
        else:
            if day in exceptions.working:
                cell.marks.append(("special", gettext("special working hours")))
            elif day in exceptions.as_weekday:
                weekday = WEEKDAYS[exceptions.as_weekday[day]]
                cell.marks.append(
                    ("transferred", gettext("working day: %(weekday)s hours") % {"weekday": weekday})
                )
            if day in exceptions.cuts:
                cell.marks.append(("short", gettext("short day")))
        cell.exceptions = [row for row in rows if row.first_day <= day <= row.last_day]
        result.append(cell)
    return result


def _elapsed(day: date, start: int, end: int, tz: ZoneInfo) -> int:
    """Return the real seconds between two local times of a day (a DST change makes them differ)."""
    midnight = datetime.combine(day, time.min)

    def at(seconds: int) -> float:
        return (midnight + timedelta(seconds=seconds)).replace(tzinfo=tz).timestamp()

    return max(0, int(at(end) - at(start)))


def _parse_month(value: str | None) -> date | None:
    match = _MONTH.match(value or "")
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and MONTH_YEARS[0] <= year <= MONTH_YEARS[1]):
        return None
    return date(year, month, 1)


def _shift_month(first: date, months: int) -> date | None:
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    if not MONTH_YEARS[0] <= year <= MONTH_YEARS[1]:
        return None
    return date(year, month + 1, 1)


class BilingualNameMixin:
    """Show a name kept in both languages in the viewer's language, sorted by the Russian one."""

    @admin.display(description=_("name"), ordering="name_ru")
    def name_text(self, obj) -> str:
        return obj.name


# -- timetables ---------------------------------------------------------------------------------
class TimetableExceptionInline(BilingualNameMixin, SupportAdminPermissions, admin.TabularInline):
    """List the timetable's exceptions; they are edited on their own pages (re-applying a year replaces
    calendar rows, which would fight edits made in the same save)."""

    model = CalendarException
    fields = ("name_text", "kind", "first_day", "last_day", "start_time", "end_time", "weekday", "origin")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    classes = ["collapse"]
    verbose_name_plural = _("exceptions of this timetable")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Timetable, site=admin_site)
class TimetableAdmin(BilingualNameMixin, CalendarWarningMixin, SupportAdminPermissions, admin.ModelAdmin):
    form = TimetableForm
    list_display = (
        "name_text",
        "code",
        "time_zone",
        "week_text",
        "years_text",
        "exception_count",
        "month_link",
    )
    search_fields = ("name_ru", "name_en", "code")
    readonly_fields = ("years_text",)
    inlines = [TimetableExceptionInline]
    actions = ["apply_production_calendar"]
    fieldsets = (
        (None, {"fields": (("name_ru", "name_en"), "code", "time_zone")}),
        (
            _("Working hours per weekday"),
            {
                "fields": TimetableForm.day_fields(),
                "description": _(
                    "Overlapping intervals merge. An end at or before its start is on the next day "
                    "(22:00-02:00 crosses midnight); 24:00 is the end of the day."
                ),
            },
        ),
        (
            _("Production calendar"),
            {
                "fields": ("years_text",),
                "description": _(
                    "To add a year's holidays, transferred working days and short days, use the action "
                    "“Apply the production calendar” on the list of timetables."
                ),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(exception_total=Count("exceptions"))

    @admin.display(description=_("working hours"))
    def week_text(self, obj: Timetable) -> str:
        return week_summary(obj.week)

    @admin.display(description=_("production calendar years"))
    def years_text(self, obj: Timetable) -> str:
        return ", ".join(str(year) for year in obj.calendar_years) or "—"

    @admin.display(description=_("exceptions"), ordering="exception_total")
    def exception_count(self, obj: Timetable) -> str:
        url = (
            reverse("admin:sla_calendarexception_changelist")
            + "?"
            + urlencode({"timetable__id__exact": obj.pk})
        )
        return format_html('<a href="{}">{}</a>', url, getattr(obj, "exception_total", 0))

    @admin.display(description=_("month view"))
    def month_link(self, obj: Timetable) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:sla_timetable_month", args=[obj.pk]), gettext("Month")
        )

    def get_inlines(self, request, obj):
        # A new timetable has no exceptions to list.
        return self.inlines if obj is not None else []

    def save_formset(self, request, form, formset, change):
        # The exceptions inline only lists rows; save_model may just have replaced the calendar ones,
        # so saving its stale forms could bring deleted rows back.
        if formset.model is CalendarException:
            formset.save(commit=False)  # writes nothing; fills in what the change message reads
        else:
            super().save_formset(request, form, formset, change)

    def save_model(self, request, obj, form, change):
        # The form has already validated the week; the service saves it and re-applies calendar years,
        # whose short days depend on the week's hours.
        services.timetable_save_week(obj, obj.week)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        tools = [
            (reverse("admin:sla_timetable_month", args=[object_id]), gettext("Month view")),
            (
                reverse("admin:sla_calendarexception_changelist")
                + "?"
                + urlencode({"timetable__id__exact": object_id}),
                gettext("Exceptions"),
            ),
            (
                reverse("admin:sla_calendarexception_add") + "?" + urlencode({"timetable": object_id}),
                gettext("Add an exception"),
            ),
        ]
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "extra_tools": tools}
        )

    def get_urls(self):
        # Before the default URLs: their catch-all "<object_id>/" would swallow "<object_id>/month/".
        custom = [
            path(
                "<path:object_id>/month/",
                self.admin_site.admin_view(self.month_view),
                name="sla_timetable_month",
            )
        ]
        return custom + super().get_urls()

    def month_view(self, request, object_id):
        """Show a month of the timetable: each day's working intervals, hours and exceptions."""
        timetable = self.get_object(request, object_id)
        if timetable is None:
            raise Http404(gettext("There is no such timetable."))
        if not self.has_view_permission(request, timetable):
            raise PermissionDenied
        tz = ZoneInfo(timetable.time_zone)
        today = clock.now().astimezone(tz).date()
        requested = request.GET.get("month")
        first = _parse_month(requested) if requested else None
        if requested and first is None:
            messages.warning(
                request,
                gettext("“%(value)s” is not a month between %(low)s and %(high)s; showing the current month.")
                % {"value": requested, "low": MONTH_YEARS[0], "high": MONTH_YEARS[1]},
            )
        first = first or today.replace(day=1)
        days = month_days(timetable, first)
        by_day = {cell.day: cell for cell in days}
        weeks = [
            [by_day.get(day) for day in week]
            for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        ]
        previous, following = _shift_month(first, -1), _shift_month(first, 1)
        context = {
            **self.admin_site.each_context(request),
            **_warning_context(),
            "opts": self.model._meta,
            "original": timetable,
            "title": gettext("%(timetable)s: %(month)s")
            % {"timetable": timetable, "month": _month_name(first)},
            "month": first,
            "month_value": f"{first:%Y-%m}",
            "weekday_names": [WEEKDAYS[d] for d in range(7)],
            "weeks": weeks,
            "days": days,
            "total_text": duration_text(sum(cell.seconds for cell in days)),
            "working_days": sum(1 for cell in days if cell.seconds),
            "previous_value": f"{previous:%Y-%m}" if previous else None,
            "previous_name": _month_name(previous) if previous else "",
            "next_value": f"{following:%Y-%m}" if following else None,
            "next_name": _month_name(following) if following else "",
            "current_value": f"{today:%Y-%m}",
            "today": today,
            "week_text": week_summary(timetable.week),
        }
        return TemplateResponse(request, "sla/admin/timetable_month.html", context)

    @admin.action(description=_("Apply the production calendar"), permissions=["change"])
    def apply_production_calendar(self, request, queryset):
        """Ask for a year, then turn that year of the bundled production calendar into exceptions."""
        form = ApplyCalendarForm(request.POST if "apply" in request.POST else None, today=clock.now().date())
        if form.is_valid():
            year = form.cleaned_data["year"]
            timetables = list(queryset)
            with transaction.atomic():  # all chosen timetables or none
                total = sum(services.timetable_apply_calendar(timetable, year) for timetable in timetables)
            applied_to = (
                str(timetables[0])
                if len(timetables) == 1
                else ngettext("%(count)d timetable", "%(count)d timetables", len(timetables))
                % {"count": len(timetables)}
            )
            made = ngettext("%(count)d exception", "%(count)d exceptions", total) % {"count": total}
            self.message_user(
                request,
                gettext("Applied the %(year)s production calendar to %(timetables)s: %(exceptions)s.")
                % {"year": year, "timetables": applied_to, "exceptions": made},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            **_warning_context(),
            "opts": self.model._meta,
            "title": gettext("Apply the production calendar"),
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "sla/admin/apply_calendar.html", context)


def _month_name(first: date) -> str:
    return f"{MONTHS[first.month]} {first.year}"


# -- exceptions ---------------------------------------------------------------------------------
@admin.register(CalendarException, site=admin_site)
class CalendarExceptionAdmin(
    BilingualNameMixin, CalendarWarningMixin, SupportAdminPermissions, admin.ModelAdmin
):
    list_display = (
        "name_text",
        "kind",
        "first_day",
        "last_day",
        "start_time",
        "end_time",
        "weekday",
        "timetable",
        "origin_text",
    )
    list_filter = ("kind", "timetable", "origin")
    list_select_related = ("timetable",)
    search_fields = ("name_ru", "name_en")
    date_hierarchy = "first_day"
    readonly_fields = ("origin_text",)
    fieldsets = (
        (None, {"fields": (("name_ru", "name_en"), "kind", "timetable", "origin_text")}),
        (_("Days"), {"fields": (("first_day", "last_day"),)}),
        (
            _("Time of day"),
            {
                "fields": (("start_time", "end_time"),),
                "description": _(
                    "Only for the timed kinds: the range runs from the first day's start time to the last "
                    "day's end time, in the timetable's time zone. 00:00 as the end is midnight."
                ),
            },
        ),
        (
            _("Another weekday's hours"),
            {"fields": ("weekday",), "description": _("Only for “work as another weekday”.")},
        ),
    )

    @admin.display(description=_("origin"), ordering="origin")
    def origin_text(self, obj: CalendarException) -> str:
        if obj.origin.startswith("calendar:"):
            return gettext("production calendar %(year)s (re-applying the year replaces this row)") % {
                "year": obj.origin.removeprefix("calendar:")
            }
        return obj.origin or gettext("entered by hand")


# -- SLA levels ----------------------------------------------------------------------------------
@admin.register(SlaLevel, site=admin_site)
class SlaLevelAdmin(CalendarWarningMixin, BilingualNameMixin, SupportAdminPermissions, admin.ModelAdmin):
    list_display = (
        "name_text",
        "code",
        "priority",
        "response_text",
        "reminder_text",
        "timetable",
        "responsible",
        "is_default",
        "active",
    )
    list_filter = ("active", "is_default", "timetable")
    list_select_related = ("timetable", "responsible")
    search_fields = ("name_ru", "name_en", "code", "description_ru", "description_en")
    # The lists of groups, exceptions and allowed values: chips and a filter on one screen (ui.widgets), not
    # the admin's two-list pickers; the page lays the fieldsets in columns (otklik/admin.css).
    searchable_multiple = ("groups", "exceptions", "categories", "criticalities", "marks")
    fieldsets = (
        (
            _("General"),
            {
                "fields": (
                    ("name_ru", "name_en"),
                    "code",
                    ("description_ru", "description_en"),
                    "priority",
                    ("is_default", "active"),
                ),
                "description": _(
                    "Give the name in at least one language; the other is shown when one is empty."
                ),
            },
        ),
        (
            _("Times"),
            {
                "fields": (
                    ("response_time", "response_unit"),
                    ("reminder_time", "reminder_unit"),
                    "deadline_from_creation",
                ),
                "description": _("Counted in working time of the timetable below."),
            },
        ),
        (_("Calendar"), {"fields": ("timetable", "exceptions")}),
        # Last the short lists, so the page's columns (otklik/admin.css) come out even.
        (_("Who gets it"), {"fields": ("groups",)}),
        (_("Allowed values"), {"fields": ("categories", "criticalities", "marks")}),
        (_("Responsible"), {"fields": ("responsible",)}),
    )

    def get_urls(self):
        custom = [
            path(
                "recompute-progress/",
                self.admin_site.admin_view(self.recompute_progress_view),
                name="sla_recompute_progress",
            )
        ]
        return custom + super().get_urls()

    def recompute_progress_view(self, request):
        """htmx: the progress line of the deadline recomputations; 286 (stop polling) once none runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        jobs = deadlines_recompute_running()
        response = TemplateResponse(request, "sla/admin/_recompute_progress.html", {"recompute_jobs": jobs})
        response.status_code = 200 if jobs else 286
        return response

    @admin.display(description=_("response time"), ordering="response_time")
    def response_text(self, obj: SlaLevel) -> str:
        return _amount_text(obj.response_time, obj.response_unit)

    @admin.display(description=_("reminder"), ordering="reminder_time")
    def reminder_text(self, obj: SlaLevel) -> str:
        return _amount_text(obj.reminder_time, obj.reminder_unit)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in ("description_ru", "description_en"):
            # Compact, so the two languages fit side by side.
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 36})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "responsible":
            from otklik.accounts.selectors import support_user_list

            kwargs["queryset"] = support_user_list()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "exceptions":
            # A timetable's own exceptions already apply to its SLA levels; extra ones are those without
            # a timetable (plus any already chosen, so an old choice does not fail validation).
            kwargs["queryset"] = (
                CalendarException.objects.filter(Q(timetable__isnull=True) | Q(sla_levels__isnull=False))
                .distinct()
                .select_related("timetable")
            )
        if db_field.name in self.searchable_multiple:
            kwargs["widget"] = SearchableSelectMultiple(size=6)
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name in self.searchable_multiple:
            # The admin's "hold down Control" hint is for the bare select; the widget says it itself when
            # there is no script (ui/widgets/multiselect.html).
            field.help_text = db_field.help_text
        return field
