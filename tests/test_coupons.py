"""Coupons for special tickets (F-21): the mask, generation, redemption on every channel, the usage log."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from otklik.core import clock
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.coupons.masks import ALPHABET, MASK_DEFAULT, code_from_mask, mask_problem
from otklik.coupons.models import Coupon, CouponUse
from otklik.coupons.services import (
    CouponRefused,
    CouponSpec,
    coupon_deactivate,
    coupon_generate,
)
from otklik.mail.models import Outcome
from otklik.mail.services import coupon_from_text, mail_ingest
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from otklik.sla.models import SlaLevel, TimeUnit
from otklik.tickets import services
from otklik.tickets.models import Message, ModuleOptions, Ticket, TicketEvent
from tests.conftest import logged_in
from tests.helpers import Api

REFUSED = "Coupon unknown or expired."


@pytest.fixture(autouse=True)
def _english():
    """Read the messages in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


DEFAULT_CODE = re.compile(r"^SUP-COU-[" + ALPHABET + r"]{10}$")


@pytest.fixture
def special(db) -> SlaLevel:
    return SlaLevel.objects.create(
        name_ru="Спецобращения",
        name_en="Special tickets",
        code="special",
        priority=70,
        response_time=1,
        response_unit=TimeUnit.HOURS,
    )


@pytest.fixture
def coupon(special) -> Coupon:
    """A coupon of five uses on the special level, valid thirty days."""
    return coupon_generate(spec=CouponSpec(sla=special, uses=5, days=30), actor=None)[0]


def _state() -> dict[str, int]:
    """What a refused creation must leave untouched."""
    return {
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "events": TicketEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def _file(client_user, code: str, **kw) -> Ticket:
    return services.ticket_create(
        actor=client_user,
        draft=services.TicketDraft(title="Shop is down", message="Everything fails.", coupon=code, **kw),
    )


# -- the mask ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mask", "problem"),
    [
        (MASK_DEFAULT, None),
        ("######", None),
        ("VIP-#####", "at least 6 #"),
        ("", "must not be empty"),
        ("SUP COU-######", "must not be empty or contain spaces"),
        ("КУПОН-######", "Latin letters"),
        ("X" * 60 + "######", "longer than 64"),
    ],
)
def test_mask_problem_names_what_is_wrong(mask, problem):
    found = mask_problem(mask)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_code_from_mask_fills_every_hash_and_keeps_the_rest_upper_cased():
    assert DEFAULT_CODE.match(code_from_mask(MASK_DEFAULT))
    code = code_from_mask("vip-####-####")
    assert re.fullmatch(r"VIP-[" + ALPHABET + r"]{4}-[" + ALPHABET + r"]{4}", code)


@pytest.mark.django_db
def test_module_options_refuse_a_mask_with_fewer_than_six_random_characters():
    options = ModuleOptions(coupon_mask="SUP-#####")
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        options.full_clean()
    assert "coupon_mask" in caught.value.message_dict
    assert "at least 6 #" in caught.value.message_dict["coupon_mask"][0]
    ModuleOptions(coupon_mask="SUP-######").full_clean()


# -- generation -------------------------------------------------------------------------------------
def test_coupon_generate_makes_count_unique_codes_from_the_mask(special, frozen):
    coupons = coupon_generate(
        spec=CouponSpec(sla="special", uses=15, days=365, count=200, mask="T-########"), actor=None
    )
    codes = [c.code for c in coupons]
    assert len(codes) == len(set(codes)) == 200 == Coupon.objects.count()
    assert all(re.fullmatch(r"T-[" + ALPHABET + r"]{8}", code) for code in codes)
    first = Coupon.objects.get(code=codes[0])
    assert (first.sla, first.uses_left, first.used_count, first.is_active) == (special, 15, 0, True)
    assert first.active_to == clock.now() + timedelta(days=365)
    assert first.active_from is None


def test_coupon_generate_uses_the_module_option_mask_by_default_in_the_admin_and_cli(special):
    from otklik.coupons.masks import mask_current
    from otklik.tickets.services.options import module_options_ensure

    options = module_options_ensure()
    ModuleOptions.objects.filter(pk=options.pk).update(coupon_mask="VIP-######")
    assert mask_current() == "VIP-######"


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (dict(sla="nope", uses=1), {"sla"}),
        (dict(sla="special", uses=0), {"uses"}),
        (dict(sla="special", uses=1, count=0), {"count"}),
        (dict(sla="special", uses=1, count=1001), {"count"}),
        (dict(sla="special", uses=1, days=0), {"days"}),
        (dict(sla="special", uses=1, mask="AB-###"), {"mask"}),
        (dict(sla=None, uses=-1, count=0, mask=""), {"sla", "uses", "count", "mask"}),
    ],
)
def test_coupon_generate_refuses_bad_input_with_field_messages(special, spec, fields):
    with pytest.raises(ValidationFailed) as caught:
        coupon_generate(spec=CouponSpec(**spec), actor=None)
    assert set(caught.value.errors) == fields
    assert not Coupon.objects.exists()


def test_coupon_generate_is_for_support_admins_only(cast, special):
    with pytest.raises(PermissionDenied):
        coupon_generate(spec=CouponSpec(sla=special, uses=1), actor=cast.staff)
    assert coupon_generate(spec=CouponSpec(sla=special, uses=1), actor=cast.admin)[0].created_by == cast.admin


# -- redemption: success ----------------------------------------------------------------------------
def test_ticket_with_a_coupon_is_special_with_its_sla_and_tells_the_admins(cast, coupon, special):
    ticket = _file(cast.client, f"  {coupon.code.lower()} ")  # typed loosely: spaces, lower case
    ticket.refresh_from_db()
    assert ticket.is_special and ticket.coupon_code == coupon.code and ticket.sla == special
    coupon.refresh_from_db()
    assert (coupon.uses_left, coupon.used_count) == (4, 1)
    use = CouponUse.objects.get()
    assert (use.success, use.reason, use.user, use.ticket_number, use.uses_left_after, use.via) == (
        True,
        CouponUse.Reason.USED,
        cast.client,
        ticket.pk,
        4,
        "web",
    )
    told = OutboxMessage.objects.filter(event=catalog.COUPON_USED, ticket_id=ticket.pk)
    assert [row.to for row in told] == [[cast.admin.email]]
    assert coupon.code in told.get().subject
    created = TicketEvent.objects.get(ticket=ticket, field="created")
    assert "by the coupon" in created.data["new"]["en"]


def test_the_special_ticket_is_first_in_the_staff_list(cast, coupon, make_ticket):
    make_ticket()
    special_ticket = _file(cast.client, coupon.code)
    make_ticket()
    page = logged_in(cast.staff).get(reverse("tickets:staff_list"))
    html = page.content.decode()
    ids = [int(n) for n in re.findall(r'<tr data-nav-row="(\d+)"', html)]
    assert ids[0] == special_ticket.pk and len(ids) == 3
    assert html.count('class="tag special"') == 1


def test_the_staff_list_shows_the_special_tickets_one_hour_deadline(cast, coupon):
    ticket = _file(cast.client, coupon.code)
    # No timetable: around the clock; deadlines are exact to the second.
    assert ticket.deadline_at == ticket.created_at.replace(microsecond=0) + timedelta(hours=1)
    html = logged_in(cast.staff).get(reverse("tickets:staff_list")).content.decode()
    shown = timezone.localtime(ticket.deadline_at, ZoneInfo(cast.staff.profile.time_zone))
    # A relative time ("in 59 minutes") with the exact one on hover.
    assert f'<time datetime="{shown.isoformat()}" title="{shown:%d.%m.%Y %H:%M}" data-rel>' in html


def test_the_client_sees_the_special_badge_on_their_ticket(cast, coupon):
    special_ticket = _file(cast.client, coupon.code)
    page = logged_in(cast.client).get(reverse("tickets:client_detail", args=[special_ticket.pk]))
    assert page.content.decode().count('class="tag special"') == 1


# -- redemption: refusals ---------------------------------------------------------------------------
def _expire(coupon: Coupon) -> None:
    Coupon.objects.filter(pk=coupon.pk).update(active_to=clock.now() - timedelta(seconds=1))


def _not_started(coupon: Coupon) -> None:
    Coupon.objects.filter(pk=coupon.pk).update(active_from=clock.now() + timedelta(days=1))


def _spent(coupon: Coupon) -> None:
    Coupon.objects.filter(pk=coupon.pk).update(uses_left=0, used_count=5)


def _deactivated(coupon: Coupon) -> None:
    coupon_deactivate(coupon=coupon, actor=None)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_expire, CouponUse.Reason.EXPIRED),
        (_not_started, CouponUse.Reason.NOT_STARTED),
        (_spent, CouponUse.Reason.SPENT),
        (_deactivated, CouponUse.Reason.INACTIVE),
    ],
)
def test_a_refused_coupon_refuses_the_ticket_changes_nothing_and_is_logged(cast, coupon, spoil, reason):
    spoil(coupon)
    before = _state()
    uses_left = Coupon.objects.get(pk=coupon.pk).uses_left
    with pytest.raises(CouponRefused) as caught:
        _file(cast.client, coupon.code)
    assert caught.value.errors == {"coupon": [REFUSED]}
    assert _state() == before
    assert Coupon.objects.get(pk=coupon.pk).uses_left == uses_left
    use = CouponUse.objects.get()
    assert (use.success, use.reason, use.user, use.ticket_number, use.uses_left_after) == (
        False,
        reason,
        cast.client,
        None,
        uses_left,
    )


def test_an_unknown_coupon_refuses_the_ticket_and_logs_nothing(cast, coupon):
    before = _state()
    with pytest.raises(CouponRefused) as caught:
        _file(cast.client, "SUP-COU-NOSUCHCODE")
    assert caught.value.errors == {"coupon": [REFUSED]}
    assert _state() == before
    assert not CouponUse.objects.exists()


def test_a_refused_coupon_is_reported_beside_the_other_field_errors(cast, coupon):
    _expire(coupon)
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title=" ", message="x", coupon=coupon.code)
        )
    assert set(caught.value.errors) == {"title", "coupon"}
    assert CouponUse.objects.get().reason == CouponUse.Reason.EXPIRED


def test_a_valid_coupon_on_an_otherwise_invalid_ticket_is_not_spent(cast, coupon):
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title=" ", message="x", coupon=coupon.code)
        )
    assert set(caught.value.errors) == {"title"}
    assert Coupon.objects.get(pk=coupon.pk).uses_left == 5
    assert not CouponUse.objects.exists()


def test_the_last_use_is_spent_once_then_the_coupon_is_refused(cast, special):
    single = coupon_generate(spec=CouponSpec(sla=special, uses=1), actor=None)[0]
    _file(cast.client, single.code)
    with pytest.raises(CouponRefused):
        _file(cast.client, single.code)
    assert [(u.success, u.reason, u.uses_left_after) for u in CouponUse.objects.order_by("id")] == [
        (True, "used", 0),
        (False, "spent", 0),
    ]
    single.refresh_from_db()
    assert (single.uses_left, single.used_count) == (0, 1)


# -- channels ---------------------------------------------------------------------------------------
def test_api_creation_takes_a_coupon(cast, coupon, special):
    answer = Api(cast.client).send(
        "POST", "/api/v1/tickets", {"title": "Down", "message": "Help", "coupon": coupon.code}
    )
    assert answer.status_code == 201, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["id"])
    assert ticket.is_special and ticket.sla == special
    assert answer.json()["sla"]["id"] == special.pk


def test_api_refuses_a_bad_coupon_with_422_on_the_coupon_field(cast, coupon):
    cast.client.profile.language = "en"  # the API answers in the caller's language
    cast.client.profile.save()
    _spent(coupon)
    before = _state()
    answer = Api(cast.client).send(
        "POST", "/api/v1/tickets", {"title": "Down", "message": "Help", "coupon": coupon.code}
    )
    assert answer.status_code == 422
    assert answer["Content-Type"].startswith("application/json")
    assert answer.json()["errors"] == {"coupon": [REFUSED]}
    assert _state() == before
    assert CouponUse.objects.get().reason == CouponUse.Reason.SPENT


@pytest.mark.parametrize("value", [42, "x" * 65, "bad\x00code", ["SUP"]])
def test_api_answers_a_malformed_coupon_with_422_never_500(cast, value):
    answer = Api(cast.client).send(
        "POST", "/api/v1/tickets", {"title": "Down", "message": "Help", "coupon": value}
    )
    assert answer.status_code == 422
    assert "coupon" in answer.json()["errors"]
    assert not Ticket.objects.exists()


def test_web_form_shows_the_coupon_field_and_its_error(cast, coupon):
    browser = logged_in(cast.client)
    url = reverse("tickets:client_new")
    assert 'name="coupon"' in browser.get(url).content.decode()
    _expire(coupon)
    page = browser.post(url, {"title": "Down", "message": "Help", "coupon": coupon.code})
    assert page.status_code == 400
    assert page.context["form"].errors["coupon"] == [REFUSED]
    assert not Ticket.objects.exists()


def test_web_form_files_a_special_ticket_with_a_coupon(cast, coupon):
    page = logged_in(cast.client).post(
        reverse("tickets:client_new"), {"title": "Down", "message": "Help", "coupon": coupon.code}
    )
    assert page.status_code == 302
    assert Ticket.objects.get().is_special


def _mail(body: str, *, headers: str = "", sender: str = "client@example.com") -> bytes:
    return (
        f"From: Ivan <{sender}>\r\nTo: support@otklik.example\r\nSubject: Shop is down\r\n"
        f"Message-ID: <{abs(hash(body + headers))}@example.com>\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def test_coupon_line_is_taken_off_the_start_of_a_mail_text():
    assert coupon_from_text("\nCoupon: SUP-COU-AAA\nHello\n") == ("SUP-COU-AAA", "Hello")
    assert coupon_from_text("Купон:  x-1 \nПривет") == ("x-1", "Привет")
    assert coupon_from_text("Hello\nCoupon: SUP-COU-AAA") == ("", "Hello\nCoupon: SUP-COU-AAA")


def test_mail_with_a_coupon_line_files_a_special_ticket(cast, coupon, special):
    result = mail_ingest(_mail(f"Coupon: {coupon.code}\r\nThe shop is down since 9:00."))
    assert result.outcome == Outcome.CREATED
    ticket = Ticket.objects.get(pk=result.ticket)
    assert ticket.is_special and ticket.sla == special and ticket.author == cast.client
    assert Message.objects.get(ticket=ticket).body == "The shop is down since 9:00."
    assert CouponUse.objects.get().via == "email"


def test_mail_with_a_coupon_header_files_a_special_ticket(cast, coupon):
    result = mail_ingest(_mail("The shop is down.", headers=f"X-Otklik-Coupon: {coupon.code}\r\n"))
    assert Ticket.objects.get(pk=result.ticket).coupon_code == coupon.code


def test_mail_with_a_refused_coupon_is_quarantined_and_the_attempt_logged(cast, coupon):
    _expire(coupon)
    before = _state()
    result = mail_ingest(_mail(f"Coupon: {coupon.code}\r\nThe shop is down."))
    assert result.outcome == Outcome.QUARANTINED and result.reason == "refused"
    assert _state() == before
    use = CouponUse.objects.get()
    assert (use.success, use.reason, use.user, use.via) == (False, "expired", cast.client, "email")
