"""The configuration pages' look: the site's top bar over the admin, one date and time format in both
languages (settings.FORMAT_MODULE_PATH, otklik/ui/formats), and the SLA level page's searchable lists."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.urls import reverse
from django.utils import formats, translation

from otklik.sla.models import CalendarException, ExceptionKind
from otklik.tickets.models import TicketDeletion
from otklik.ui.widgets import SearchableSelectMultiple
from tests.conftest import logged_in

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_formats_one_date_and_time_format_in_both_languages(language):
    with translation.override(language):
        assert formats.date_format(date(2025, 3, 5)) == "05.03.2025"
        assert formats.date_format(datetime(2025, 3, 5, 9, 7), "DATETIME_FORMAT") == "05.03.2025 09:07"
        assert formats.date_format(datetime(2025, 3, 5, 9, 7), "SHORT_DATETIME_FORMAT") == "05.03.2025 09:07"
        assert formats.time_format(time(9, 7)) == "09:07"
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 1


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize(
    "typed", ["05.03.2025 14:30", "2025-03-05 14:30", "2025-03-05T14:30", "05.03.2025 14:30:00"]
)
def test_formats_forms_read_the_site_format_and_iso(language, typed):
    with translation.override(language):
        field = forms.DateTimeField()
        assert field.clean(typed).replace(tzinfo=None) == datetime(2025, 3, 5, 14, 30)
        assert forms.DateField().clean(typed.split()[0].split("T")[0]) == date(2025, 3, 5)
        # A form shows a value back the way it is read first: the admin's date widget writes it so too.
        assert forms.DateInput().format_value(date(2025, 3, 5)) == "05.03.2025"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_admin_changelists_write_dates_in_the_site_format(cast, language):
    CalendarException.objects.create(
        name="Company day", kind=ExceptionKind.HOLIDAY, first_day=date(2025, 3, 5), last_day=date(2025, 3, 6)
    )
    TicketDeletion.objects.create(
        ticket_id=4711,
        title="Old question",
        created_at=datetime(2025, 3, 1, 9, 5, tzinfo=MSK),
        deleted_at=datetime(2025, 3, 5, 14, 30, tzinfo=MSK),
    )
    admin = logged_in(cast.admin, language)
    page = admin.get(reverse("admin:sla_calendarexception_changelist")).content.decode()
    assert "05.03.2025" in page and "06.03.2025" in page
    page = admin.get(reverse("admin:tickets_ticketdeletion_changelist")).content.decode()
    assert "01.03.2025 09:05" in page and "05.03.2025 14:30" in page


def test_admin_pages_carry_the_site_top_bar_and_styles(cast):
    page = logged_in(cast.admin).get(reverse("admin:index")).content.decode()
    top = re.search(r'<header class="top">(.*?)</header>', page, re.S).group(1)
    for link in ("Tickets", "Reports", "Knowledge base", "Configuration"):
        assert f">{link}</a>" in top, link
    assert 'aria-current="page">Configuration' in top
    assert "/static/otklik/frame.css" in page and "/static/otklik/admin.css" in page
    assert "dark_mode.css" not in page and 'id="nav-sidebar"' not in page


def test_searchable_select_multiple_renders_a_plain_select_with_its_texts():
    widget = SearchableSelectMultiple(choices=[("1", "Billing"), ("2", "Delivery")])
    with translation.override("en"):
        html = widget.render("categories", ["2"], {"id": "id_categories"})
    assert re.search(r'<select name="categories"[^>]*multiple', html)
    assert "data-multiselect" in html and 'data-ms-search="Type to filter…"' in html
    assert '<option value="2" selected>Delivery</option>' in html
    assert "ms-nojs" in html  # the hint for a browser without JavaScript
    assert str(widget.media).count("otklik/multiselect") == 2
