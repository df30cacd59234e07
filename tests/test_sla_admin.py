"""The SLA configuration pages: timetables (week form, month view, production calendar action),
exceptions, SLA levels, who may open them, and the missing-calendar warning."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from otklik.core import clock
from otklik.sla.forms import intervals_format, intervals_parse
from otklik.sla.models import CalendarException, ExceptionKind, SlaLevel, Timetable, TimeUnit
from otklik.sla.selectors import calendars_forget
from otklik.sla.services import timetable_apply_calendar
from tests.conftest import logged_in

WORKDAYS_10_19 = [[[36000, 68400]]] * 5 + [[], []]
WARNING = "The production calendar for 2027 is not bundled yet; add its exceptions by hand or update Otklik."


@pytest.fixture(autouse=True)
def _fresh_calendars():
    # Rolled-back tests reuse primary keys and revisions, which key the per-process calendar cache.
    calendars_forget()
    yield
    calendars_forget()


@pytest.fixture
def admin(cast) -> Client:
    return logged_in(cast.admin)


@pytest.fixture
def moscow(db) -> Timetable:
    timetable = Timetable.objects.create(
        code="msk-workdays-10-19", name="Moscow workdays", week=WORKDAYS_10_19
    )
    timetable_apply_calendar(timetable, 2025)
    timetable.refresh_from_db()
    return timetable


def week_data(timetable: Timetable | None = None, **days: str) -> dict:
    """Return POST data for the timetable form; `days` maps day_N to "closed", "24/7" or intervals text."""
    data = {
        "name_ru": timetable.name_ru if timetable else "Ночная смена",
        "name_en": timetable.name_en if timetable else "Night desk",
        "code": timetable.code if timetable else "night-desk",
        "time_zone": timetable.time_zone if timetable else "Europe/Moscow",
        # The exceptions inline only lists rows; its management form still comes with the page.
        "exceptions-TOTAL_FORMS": "0",
        "exceptions-INITIAL_FORMS": "0",
        "exceptions-MIN_NUM_FORMS": "0",
        "exceptions-MAX_NUM_FORMS": "0",
    }
    for day in range(7):
        value = days.get(f"day_{day}", "closed")
        mode = {"closed": "closed", "24/7": "around_the_clock"}.get(value, "intervals")
        data[f"day_{day}_mode"] = mode
        data[f"day_{day}_intervals"] = value if mode == "intervals" else ""
    return data


def inline_inputs(page: str) -> dict:
    """Return the hidden inputs of the exceptions inline, as a browser would send them back."""
    return dict(re.findall(r'<input type="hidden" name="(exceptions-[^"]+)" value="([^"]*)"', page))


def html(response) -> str:
    return response.content.decode()


def day_cell(page: str, day: str) -> str:
    match = re.search(rf'<td id="day-{day}"[^>]*>(.*?)</td>', page, re.S)
    assert match, f"no cell for {day}"
    return re.sub(r"\s+", " ", match.group(0))


# -- who may open the pages ------------------------------------------------------------------------
def admin_urls(timetable: Timetable) -> list[str]:
    exception = timetable.exceptions.first()
    sla = SlaLevel.objects.create(name="Standard", response_time=6, timetable=timetable)
    return [
        reverse("admin:sla_timetable_changelist"),
        reverse("admin:sla_timetable_add"),
        reverse("admin:sla_timetable_change", args=[timetable.pk]),
        reverse("admin:sla_timetable_month", args=[timetable.pk]) + "?month=2025-11",
        reverse("admin:sla_calendarexception_changelist"),
        reverse("admin:sla_calendarexception_add"),
        reverse("admin:sla_calendarexception_change", args=[exception.pk]),
        reverse("admin:sla_slalevel_changelist"),
        reverse("admin:sla_slalevel_add"),
        reverse("admin:sla_slalevel_change", args=[sla.pk]),
    ]


def test_sla_pages_support_admin_gets_200(admin, moscow):
    for url in admin_urls(moscow):
        assert admin.get(url).status_code == 200, url


def test_sla_pages_demo_reads_without_save_buttons(cast, moscow):
    # Demo access sees every configuration page read-only (SPEC F-01); adding is refused.
    browser = logged_in(cast.demo)
    for url in admin_urls(moscow):
        response = browser.get(url)
        if url.endswith("/add/"):
            assert response.status_code == 403, url
        else:
            assert response.status_code == 200, url
            assert 'name="_save"' not in response.content.decode(), url


@pytest.mark.parametrize("who", ["staff", "client"])
def test_sla_pages_non_admin_redirected_to_login(cast, moscow, who):
    browser = logged_in(getattr(cast, who))
    for url in admin_urls(moscow):
        response = browser.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_apply_action_staff_post_changes_nothing(cast, db):
    timetable = Timetable.objects.create(code="plain", name="Plain", week=WORKDAYS_10_19)
    response = logged_in(cast.staff).post(
        reverse("admin:sla_timetable_changelist"),
        {
            "action": "apply_production_calendar",
            "_selected_action": [timetable.pk],
            "year": "2025",
            "apply": "1",
        },
    )
    assert response.status_code == 302
    assert not CalendarException.objects.exists()


# -- the week form ---------------------------------------------------------------------------------
def test_intervals_parse_and_format_round_trip():
    text = "10:00-13:00, 14:00-19:00, 22:00-02:00, 00:00-24:00"
    pairs = intervals_parse(text)
    assert pairs == [[36000, 46800], [50400, 68400], [79200, 93600], [0, 86400]]
    assert intervals_format(pairs) == text
    # A merged run longer than a day is written as two pieces that read back to the same time.
    assert intervals_format([[0, 93600]]) == "00:00-02:00, 02:00-02:00"
    assert intervals_parse("00:00-02:00, 02:00-02:00") == [[0, 7200], [7200, 93600]]


def test_timetable_add_week_saved_canonical_and_shown_back(admin):
    data = week_data(
        day_0="10:00-13:00, 14:00-19:00",
        day_1="24/7",
        day_4="22:00-02:00",
        day_5="10:00-14:00; 13:00 – 15:00",
    )
    response = admin.post(reverse("admin:sla_timetable_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    timetable = Timetable.objects.get(code="night-desk")
    assert timetable.week == [
        [[36000, 46800], [50400, 68400]],
        [[0, 86400]],
        [],
        [],
        [[79200, 93600]],
        [[36000, 54000]],  # overlapping intervals merged
        [],
    ]
    page = admin.get(reverse("admin:sla_timetable_change", args=[timetable.pk]))
    form = page.context["adminform"].form
    assert form.initial["day_0_mode"] == "intervals"
    assert form.initial["day_0_intervals"] == "10:00-13:00, 14:00-19:00"
    assert form.initial["day_1_mode"] == "around_the_clock"
    assert form.initial["day_2_mode"] == "closed"
    assert form.initial["day_4_intervals"] == "22:00-02:00"
    assert form.initial["day_5_intervals"] == "10:00-15:00"
    assert 'value="10:00-13:00, 14:00-19:00"' in html(page)


def test_timetable_change_unchanged_form_keeps_week(admin, moscow):
    url = reverse("admin:sla_timetable_change", args=[moscow.pk])
    page = admin.get(url)
    form = page.context["adminform"].form
    data = {
        **week_data(moscow),
        **{name: form.initial[name] for name in form.fields if name.startswith("day_")},
    }
    data |= inline_inputs(html(page))
    assert data["exceptions-INITIAL_FORMS"] == "12"
    assert admin.post(url, data).status_code == 302
    moscow.refresh_from_db()
    assert moscow.week == WORKDAYS_10_19
    assert moscow.calendar_years == [2025]
    assert CalendarException.objects.filter(timetable=moscow).count() == 12


def test_timetable_change_week_reapplies_short_days(admin, moscow):
    url = reverse("admin:sla_timetable_change", args=[moscow.pk])
    nine_to_six = {f"day_{day}": "09:00-18:00" for day in range(5)}
    # The page's inline lists rows that the save replaces; sending them back must not revive them.
    data = week_data(moscow, **nine_to_six) | inline_inputs(html(admin.get(url)))
    assert admin.post(url, data).status_code == 302
    # Saved through the service: the pre-holiday short day follows the new hours (17:00-18:00 cut).
    short = CalendarException.objects.get(timetable=moscow, first_day=date(2025, 3, 7))
    assert (short.start_time.hour, short.end_time.hour) == (17, 18)
    assert CalendarException.objects.filter(timetable=moscow).count() == 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10-19", "“10-19” is not an interval; write it as 10:00-19:00."),
        ("10:00-19:00, lunch", "“lunch” is not an interval; write it as 10:00-19:00."),
        ("25:00-26:00", "“25:00-26:00” has a time that does not exist"),
        ("10:70-11:00", "“10:70-11:00” has a time that does not exist"),
        ("24:00-02:00", "“24:00-02:00” has a time that does not exist"),
        ("", "Enter the working hours, or choose “closed” or “around the clock”."),
        (" , ", "Enter the working hours, or choose “closed” or “around the clock”."),
    ],
)
def test_timetable_add_bad_intervals_field_message_nothing_saved(admin, text, message):
    response = admin.post(reverse("admin:sla_timetable_add"), week_data(day_0="10:00-19:00", day_2=text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["day_2_intervals"]
    assert errors["day_2_intervals"][0].startswith(message)
    assert escape(errors["day_2_intervals"][0]) in html(response)
    assert not Timetable.objects.exists()


def test_timetable_add_unknown_time_zone_is_field_error(admin):
    data = {**week_data(day_0="10:00-19:00"), "time_zone": "Mars/Olympus"}
    response = admin.post(reverse("admin:sla_timetable_add"), data)
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    assert not Timetable.objects.exists()


def test_timetable_pages_show_years_exceptions_and_month_links(admin, moscow):
    month_url = reverse("admin:sla_timetable_month", args=[moscow.pk])
    listing = html(admin.get(reverse("admin:sla_timetable_changelist")))
    assert f'href="{month_url}"' in listing
    assert "Mon–Fri 10:00-19:00; Sat–Sun closed" in listing
    change = html(admin.get(reverse("admin:sla_timetable_change", args=[moscow.pk])))
    assert f'href="{month_url}"' in change
    assert "2025" in change and "Pre-holiday short day" in change  # years and the exceptions inline
    assert reverse("admin:sla_calendarexception_add") + f"?timetable={moscow.pk}" in change


# -- the month view --------------------------------------------------------------------------------
def test_month_view_november_2025_short_saturday_and_holidays(admin, moscow):
    response = admin.get(reverse("admin:sla_timetable_month", args=[moscow.pk]), {"month": "2025-11"})
    assert response.status_code == 200
    days = {cell.day: cell for cell in response.context["days"]}
    assert len(days) == 30
    saturday = days[date(2025, 11, 1)]
    assert saturday.intervals == [(36000, 64800)]
    assert saturday.seconds == 8 * 3600
    assert {"transferred", "short"} <= {css for css, _label in saturday.marks}
    holiday = days[date(2025, 11, 4)]
    assert holiday.intervals == [] and [css for css, _label in holiday.marks] == ["holiday"]

    page = html(response)
    cell = day_cell(page, "2025-11-01")
    assert "10:00-18:00" in cell and "8 h" in cell and "short day" in cell and "working day" in cell
    cell = day_cell(page, "2025-11-04")
    assert 'class="holiday"' in cell and "no working time" in cell and "Public holidays" in cell
    assert "10:00-19:00" in day_cell(page, "2025-11-05")
    # 18 weekdays of 9 h (Nov 3 and 4 are holidays) and the short Saturday: 170 h on 19 days.
    assert "19 working days, 170 h of working time" in page
    assert "?month=2025-10" in page and "?month=2025-12" in page


def test_month_view_shift_across_midnight_shows_on_both_days(admin, db):
    night = Timetable.objects.create(
        code="night", name="Night", week=[[], [], [], [], [[79200, 93600]], [], []]
    )
    response = admin.get(reverse("admin:sla_timetable_month", args=[night.pk]), {"month": "2025-11"})
    days = {cell.day: cell for cell in response.context["days"]}
    # Friday 31 October's shift runs into Saturday 1 November, the first day of the month.
    assert days[date(2025, 11, 1)].intervals == [(0, 7200)]
    assert days[date(2025, 11, 7)].intervals == [(79200, 86400)]
    assert days[date(2025, 11, 8)].intervals == [(0, 7200)]
    page = html(response)
    assert "22:00-24:00" in day_cell(page, "2025-11-07")
    assert "00:00-02:00" in day_cell(page, "2025-11-08")
    assert "2 h" in day_cell(page, "2025-11-08")


@pytest.mark.parametrize("value", ["2025-13", "november", "0000-01", "2025-1", "9999-12", "2025-11-01"])
def test_month_view_bad_month_falls_back_to_current_with_message(admin, moscow, value):
    with clock.frozen(datetime(2025, 11, 15, 9, 0, tzinfo=UTC)):
        response = admin.get(reverse("admin:sla_timetable_month", args=[moscow.pk]), {"month": value})
    assert response.status_code == 200
    assert response.context["month"] == date(2025, 11, 1)
    assert "is not a month between 1900 and 2200; showing the current month." in html(response)


def test_month_view_edge_year_has_no_link_past_it(admin, moscow):
    response = admin.get(reverse("admin:sla_timetable_month", args=[moscow.pk]), {"month": "2200-12"})
    assert response.status_code == 200
    assert "?month=2200-11" in html(response) and "?month=2201-01" not in html(response)


def test_month_view_unknown_timetable_404(admin, db):
    assert admin.get(reverse("admin:sla_timetable_month", args=[999999])).status_code == 404
    assert admin.get("/admin/sla/timetable/abc/month/").status_code == 404


# -- the production calendar action ------------------------------------------------------------------
def test_apply_action_asks_year_then_applies(admin, db):
    plain = Timetable.objects.create(code="plain", name="Plain", week=WORKDAYS_10_19)
    url = reverse("admin:sla_timetable_changelist")
    chosen = {"action": "apply_production_calendar", "_selected_action": [plain.pk]}
    asked = admin.post(url, {**chosen, "index": "0", "select_across": "0"})
    assert asked.status_code == 200
    page = html(asked)
    assert 'name="year"' in page and ">2024<" in page and ">2026<" in page
    assert not CalendarException.objects.exists()

    done = admin.post(url, {**chosen, "year": "2025", "apply": "Yes, apply"}, follow=True)
    assert done.redirect_chain[-1][0] == url
    assert "Applied the 2025 production calendar to Plain: 12 exceptions." in html(done)
    plain.refresh_from_db()
    assert plain.calendar_years == [2025]
    assert CalendarException.objects.filter(timetable=plain, origin="calendar:2025").count() == 12


def test_apply_action_unknown_year_asks_again(admin, db):
    plain = Timetable.objects.create(code="plain", name="Plain", week=WORKDAYS_10_19)
    response = admin.post(
        reverse("admin:sla_timetable_changelist"),
        {"action": "apply_production_calendar", "_selected_action": [plain.pk], "year": "2031", "apply": "1"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in html(response)
    assert not CalendarException.objects.exists()


# -- the missing-calendar warning --------------------------------------------------------------------
def warning_pages(timetable: Timetable) -> list[str]:
    return [
        reverse("admin:sla_timetable_changelist"),
        reverse("admin:sla_timetable_change", args=[timetable.pk]),
        reverse("admin:sla_calendarexception_changelist"),
        reverse("admin:sla_calendarexception_change", args=[timetable.exceptions.first().pk]),
    ]


def test_warning_shown_after_first_november_when_next_year_missing(admin, moscow):
    with clock.frozen(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)):
        for url in warning_pages(moscow):
            assert WARNING in html(admin.get(url)), url


def test_warning_hidden_before_november(admin, moscow):
    with clock.frozen(datetime(2026, 10, 15, 9, 0, tzinfo=UTC)):
        for url in warning_pages(moscow):
            assert "is not bundled yet" not in html(admin.get(url)), url


# -- exceptions ------------------------------------------------------------------------------------
def test_exception_list_filters_and_search(admin, moscow):
    url = reverse("admin:sla_calendarexception_changelist")
    page = html(admin.get(url))
    assert "By kind" in page and "By timetable" in page and "By origin" in page
    found = admin.get(url, {"q": "short"})
    assert {e.name for e in found.context["cl"].result_list} == {"Pre-holiday short day"}
    assert found.context["cl"].result_count == 4
    holidays = admin.get(url, {"kind__exact": ExceptionKind.HOLIDAY})
    assert holidays.context["cl"].result_count == 7


def test_exception_add_timed_without_times_shows_model_errors(admin, moscow):
    data = {
        "name_ru": "Планёрка",
        "name_en": "Staff meeting",
        "kind": ExceptionKind.HOLIDAY_TIME,
        "timetable": moscow.pk,
    }
    data |= {
        "first_day": "2025-11-12",
        "last_day": "2025-11-12",
        "start_time": "",
        "end_time": "",
        "weekday": "",
    }
    response = admin.post(reverse("admin:sla_calendarexception_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["start_time"] == ["A timed exception needs a start time."]
    assert errors["end_time"] == ["A timed exception needs an end time."]
    assert not CalendarException.objects.filter(name_en="Staff meeting").exists()


def test_exception_add_by_hand_shows_in_month_view(admin, moscow):
    data = {
        "name_ru": "Планёрка",
        "name_en": "Staff meeting",
        "kind": ExceptionKind.HOLIDAY_TIME,
        "timetable": moscow.pk,
    }
    data |= {"first_day": "2025-11-12", "last_day": "2025-11-12", "start_time": "12:00", "end_time": "14:00"}
    data["weekday"] = ""
    assert admin.post(reverse("admin:sla_calendarexception_add"), data).status_code == 302
    page = html(admin.get(reverse("admin:sla_timetable_month", args=[moscow.pk]), {"month": "2025-11"}))
    cell = day_cell(page, "2025-11-12")
    assert "10:00-12:00" in cell and "14:00-19:00" in cell and "7 h" in cell and "Staff meeting" in cell


# -- SLA levels ------------------------------------------------------------------------------------
def test_sla_list_shows_times_with_units(admin, moscow):
    SlaLevel.objects.create(name="Clients standard", response_time=6, response_unit=TimeUnit.HOURS)
    SlaLevel.objects.create(
        name="Special",
        response_time=90,
        response_unit=TimeUnit.MINUTES,
        reminder_time=15,
        reminder_unit=TimeUnit.MINUTES,
    )
    page = html(admin.get(reverse("admin:sla_slalevel_changelist")))
    assert re.search(r'class="field-response_text">6 h<', page)
    assert re.search(r'class="field-response_text">90 min<', page)
    assert re.search(r'class="field-reminder_text">15 min<', page)


def test_sla_add_reminder_after_deadline_shows_field_error(admin, moscow):
    data = {
        "name_ru": "VIP",
        "name_en": "",
        "description_ru": "",
        "description_en": "",
        "priority": "10",
        "response_time": "2",
        "response_unit": TimeUnit.HOURS,
        "reminder_time": "180",
        "reminder_unit": TimeUnit.MINUTES,
        "timetable": moscow.pk,
        "active": "on",
    }
    response = admin.post(reverse("admin:sla_slalevel_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["reminder_time"] == [
        "The reminder must come before the deadline."
    ]
    assert not SlaLevel.objects.exists()
    # The same with a reminder that fits is saved.
    assert admin.post(reverse("admin:sla_slalevel_add"), {**data, "reminder_time": "30"}).status_code == 302
    assert SlaLevel.objects.get().reminder_seconds == 1800


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("vip level", "Use only Latin letters, digits, - and _."),
        ("вип", "Use only Latin letters, digits, - and _."),
        ("taken", "Another SLA level has this symbolic code."),
    ],
)
def test_sla_add_bad_or_taken_code_is_a_field_error(admin, moscow, code, message):
    SlaLevel.objects.create(name_ru="Занят", code="taken")
    SlaLevel.objects.create(name_ru="Без кода")  # codes are optional: several levels may have none
    data = {
        "name_ru": "VIP", "name_en": "", "code": code, "description_ru": "", "description_en": "",
        "priority": "10", "response_time": "2", "response_unit": TimeUnit.HOURS, "reminder_time": "30",
        "reminder_unit": TimeUnit.MINUTES, "timetable": moscow.pk, "active": "on",
    }  # fmt: skip
    response = admin.post(reverse("admin:sla_slalevel_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in errors.get("code", []) + errors.get("__all__", []), errors
    assert SlaLevel.objects.count() == 2
    assert admin.post(reverse("admin:sla_slalevel_add"), {**data, "code": "clients-vip_2"}).status_code == 302
    assert (
        admin.post(reverse("admin:sla_slalevel_add"), {**data, "name_ru": "Ещё", "code": ""}).status_code
        == 302
    )
    assert SlaLevel.objects.filter(code="").count() == 2


def test_sla_form_groups_fields_in_fieldsets(admin, db):
    page = html(admin.get(reverse("admin:sla_slalevel_add")))
    for heading in ("General", "Who gets it", "Times", "Calendar", "Allowed values", "Responsible"):
        assert f">{heading}</h2>" in page, heading
    # The searchable multi-select (chips and a filter), not the admin's two-list picker.
    assert 'id="id_categories"' in page and "data-multiselect" in page and "SelectFilter" not in page
    assert "otklik/multiselect.js" in page


def test_sla_extra_exceptions_offer_only_those_without_timetable(admin, moscow):
    free = CalendarException.objects.create(
        name="Company day", kind=ExceptionKind.HOLIDAY, first_day=date(2025, 9, 1), last_day=date(2025, 9, 1)
    )
    form = admin.get(reverse("admin:sla_slalevel_add")).context["adminform"].form
    # The timetable's own rows already apply to every SLA on it; offering them again would mislead.
    assert list(form.fields["exceptions"].queryset) == [free]


def test_month_view_dst_day_counts_real_hours(admin, db):
    berlin = Timetable.objects.create(
        code="berlin-24-7", name="Berlin 24/7", time_zone="Europe/Berlin", week=[[[0, 86400]]] * 7
    )
    response = admin.get(reverse("admin:sla_timetable_month", args=[berlin.pk]), {"month": "2025-03"})
    days = {cell.day: cell for cell in response.context["days"]}
    # Clocks jump from 02:00 to 03:00 on 30 March: the day has 23 real hours.
    assert days[date(2025, 3, 30)].seconds == 23 * 3600
    assert days[date(2025, 3, 29)].seconds == 24 * 3600
    assert response.context["total_text"] == "743 h"
