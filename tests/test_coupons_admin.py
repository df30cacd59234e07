"""Coupons' admin pages and `otklik coupon create` (F-21)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from otklik.core import clock
from otklik.coupons.masks import ALPHABET
from otklik.coupons.models import Coupon, CouponUse
from otklik.coupons.services import CouponRefused, CouponSpec, coupon_generate
from otklik.sla.models import SlaLevel, TimeUnit
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions
from otklik.tickets.services.options import module_options_ensure
from tests.conftest import logged_in
from tests.helpers import server_env

CODE = re.compile(r"SUP-COU-[" + ALPHABET + r"]{10}")


@pytest.fixture
def special(db) -> SlaLevel:
    return SlaLevel.objects.create(
        name_ru="Спецобращения",
        name_en="Special tickets",
        code="special",
        response_time=1,
        response_unit=TimeUnit.HOURS,
    )


@pytest.fixture
def superuser(db) -> User:
    from otklik.accounts.models import Profile

    user = User.objects.create_superuser("root", "root@example.com", "pass-Word-123")
    Profile.objects.get_or_create(user=user, defaults={"language": "en"})  # the pages below read English
    return user


# -- admin pages ------------------------------------------------------------------------------------
def test_admin_generates_coupons_and_shows_their_codes(superuser, special):
    browser = logged_in(superuser)
    url = reverse("admin:coupons_coupon_generate")
    form = browser.get(url)
    assert form.status_code == 200 and "SUP-COU-##########" in form.content.decode()
    page = browser.post(url, {"sla": special.pk, "uses": 15, "count": 3, "days": 365})
    assert page.status_code == 200
    codes = set(CODE.findall(page.content.decode()))
    assert len(codes) == 3 and codes == set(Coupon.objects.values_list("code", flat=True))
    assert {c.uses_left for c in Coupon.objects.all()} == {15}
    assert Coupon.objects.first().created_by == superuser


def test_admin_generation_uses_the_mask_option(superuser, special):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(coupon_mask="VIP-########")
    page = logged_in(superuser).post(
        reverse("admin:coupons_coupon_generate"), {"sla": special.pk, "uses": 1, "count": 1}
    )
    assert re.fullmatch(r"VIP-[" + ALPHABET + r"]{8}", Coupon.objects.get().code)
    assert page.status_code == 200


def test_admin_generation_with_dates_keeps_whole_days(superuser, special):
    tomorrow = (clock.now() + timedelta(days=1)).date()
    logged_in(superuser).post(
        reverse("admin:coupons_coupon_generate"),
        {"sla": special.pk, "uses": 2, "count": 1, "active_from": tomorrow, "active_to": tomorrow},
    )
    coupon = Coupon.objects.get()
    assert coupon.active_from < coupon.active_to
    assert coupon.active_to - coupon.active_from > timedelta(hours=23, minutes=59)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"uses": 0, "count": 1}, "uses"),
        ({"uses": 1, "count": 0}, "count"),
        ({"uses": 1, "count": 1, "days": 5, "active_to": "2099-01-01"}, "days"),
        ({"uses": "many", "count": 1}, "uses"),
        ({"uses": 1, "count": 1, "days": 3000, "active_from": "9999-12-30"}, "active_from"),
        ({"uses": 1, "count": 1, "active_to": "2001-01-01"}, "active_to"),
    ],
)
def test_admin_generation_refuses_bad_input_with_a_field_message(superuser, special, data, field):
    page = logged_in(superuser).post(reverse("admin:coupons_coupon_generate"), {"sla": special.pk, **data})
    assert page.status_code == 400
    assert page.context["form"].errors[field]
    assert not Coupon.objects.exists()


def test_admin_list_searches_by_code_and_filters(superuser, special):
    first, second = coupon_generate(spec=CouponSpec(sla=special, uses=1, count=2), actor=None)
    browser = logged_in(superuser)
    listing = browser.get(reverse("admin:coupons_coupon_changelist"), {"q": second.code.lower()})
    html = listing.content.decode()
    assert listing.status_code == 200 and second.code in html and first.code not in html
    assert reverse("admin:coupons_coupon_generate") in html
    filtered = browser.get(
        reverse("admin:coupons_coupon_changelist"), {"is_active__exact": "1", "sla__id__exact": special.pk}
    )
    assert first.code in filtered.content.decode()


def test_admin_coupon_page_shows_the_usage_log_and_deactivates(superuser, special, cast):
    coupon = coupon_generate(spec=CouponSpec(sla=special, uses=1), actor=None)[0]
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="Down", message="Help", coupon=coupon.code)
    )
    with pytest.raises(CouponRefused):
        services.ticket_create(
            actor=cast.colleague, draft=services.TicketDraft(title="Down", message="Help", coupon=coupon.code)
        )
    browser = logged_in(superuser)
    page = browser.get(reverse("admin:coupons_coupon_change", args=[coupon.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert reverse("tickets:staff_detail", args=[ticket.pk]) in html  # the ticket's link
    assert "Ivan Petrov" in html and "colleague" in html  # who tried
    assert "no uses left" in html and "used" in html
    assert CouponUse.objects.count() == 2
    assert 'id="deactivate-coupon"' in html
    done = browser.post(reverse("admin:coupons_coupon_deactivate", args=[coupon.pk]))
    assert done.status_code == 302
    assert not Coupon.objects.get(pk=coupon.pk).is_active
    html = browser.get(reverse("admin:coupons_coupon_change", args=[coupon.pk])).content.decode()
    assert 'id="deactivate-coupon"' not in html


def test_admin_list_action_deactivates_the_chosen_coupons(superuser, special):
    coupons = coupon_generate(spec=CouponSpec(sla=special, uses=1, count=3), actor=None)
    logged_in(superuser).post(
        reverse("admin:coupons_coupon_changelist"),
        {"action": "deactivate", "_selected_action": [coupons[0].pk, coupons[1].pk]},
    )
    assert sorted(Coupon.objects.values_list("is_active", flat=True)) == [False, False, True]


def test_demo_access_sees_coupons_but_cannot_generate(cast, special):
    browser = logged_in(cast.demo)
    assert browser.get(reverse("admin:coupons_coupon_changelist")).status_code == 200
    browser.post(reverse("admin:coupons_coupon_generate"), {"sla": special.pk, "uses": 1, "count": 1})
    assert not Coupon.objects.exists()


def test_module_options_page_offers_the_coupon_mask(superuser):
    options = module_options_ensure()
    url = reverse("admin:tickets_moduleoptions_change", args=[options.pk])
    page = logged_in(superuser).get(url)
    assert 'name="coupon_mask"' in page.content.decode()


# -- the command line -------------------------------------------------------------------------------
def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("coupon", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_coupon_create_prints_one_code_per_line(special):
    lines = _run("create", "--sla", "special", "--uses", "15", "--days", "365", "--count", "3").split()
    assert len(lines) == 3 and all(CODE.fullmatch(line) for line in lines)
    assert set(lines) == set(Coupon.objects.values_list("code", flat=True))


def test_coupon_create_json_gives_code_uses_left_active_to_and_sla(special, frozen):
    rows = json.loads(_run("create", "--sla", "special", "--uses", "15", "--days", "365", "--json"))
    assert [set(row) for row in rows] == [{"code", "uses_left", "active_to", "sla"}]
    row = rows[0]
    assert row["uses_left"] == 15 and row["sla"] == "special" and CODE.fullmatch(row["code"])
    assert datetime.fromisoformat(row["active_to"]) == clock.now() + timedelta(days=365)
    assert json.loads(_run("create", "--sla", "special", "--uses", "1", "--json"))[0]["active_to"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sla", "nope", "--uses", "1"], "no SLA level with the code 'nope'"),
        (["--sla", "special", "--uses", "0"], "--uses"),
        (["--sla", "special", "--uses", "1", "--count", "0"], "--count"),
        (["--sla", "special", "--uses", "1", "--days", "-3"], "--days"),
    ],
)
def test_coupon_create_refuses_bad_input_with_a_clear_error(special, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        _run("create", *args)
    assert not Coupon.objects.exists()


def test_coupon_create_bad_input_exits_non_zero_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "otklik", "coupon", "create", "--sla", "nope", "--uses", "x"],
        env=server_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "--uses" in done.stderr


# -- demo data --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_demo_gives_the_enterprise_client_one_coupon_and_prints_its_code():
    from otklik.accounts.models import SupportGroup

    first = io.StringIO()
    call_command("demo", "--tickets", "0", stdout=first)
    coupon = Coupon.objects.get()
    assert (coupon.sla.code, coupon.uses_left, coupon.used_count, coupon.is_active) == (
        "special",
        15,
        0,
        True,
    )
    assert timedelta(days=364) < coupon.active_to - clock.now() <= timedelta(days=365)
    assert "Enterprise coupon of client vip (15 of 15 special tickets left" in first.getvalue()
    assert coupon.code in first.getvalue()
    vip = User.objects.get(username="vip")
    assert "Enterprise" in SupportGroup.objects.get(memberships__user=vip, kind=SupportGroup.Kind.CLIENT).name
    assert re.search(r"^\s+vip\s+\S+\s+\(", first.getvalue(), re.MULTILINE)  # its password, once

    # The client files a special ticket with it; the next run prints the same code with what is left.
    ticket = services.ticket_create(
        actor=vip, draft=services.TicketDraft(title="Site down", message="Help", coupon=coupon.code)
    )
    assert ticket.is_special and ticket.sla.code == "special"
    second = io.StringIO()
    call_command("demo", "--tickets", "0", stdout=second)
    assert Coupon.objects.count() == 1
    assert "(14 of 15 special tickets left" in second.getvalue() and coupon.code in second.getvalue()
