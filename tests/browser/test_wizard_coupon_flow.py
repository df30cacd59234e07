"""The client's way in, in a real browser (issue 15): the support wizard, a coupon, suggestions while typing.

1. A client whose SLA allows the payment and delivery categories walks the wizard three levels deep
   (Payments → Card payments → Refunds), answers a radio button, a list, a checkbox and text fields (one
   optional field left empty), types a coupon at the last step and presses Done; the new-ticket form comes
   prefilled (path, every answer, "not set" for the empty one, the category, the title and the coupon) and
   the client files it.
2. A staff member's list shows the ticket first, with the special badge and a deadline one hour after its
   creation (the coupon's `special` SLA: around the clock, 1 hour); the coupon has one use less and a log line.
3. Another client skips the wizard, types a title slowly, opens a suggested article in a new tab and
   clicks "This answered my question": an article_answered record replaces the suggestion_left one.

Screenshots: every step in test-artifacts/browser/kb-*.png; (with OTKLIK_DOCS_SCREENSHOTS=1) docs/screenshots/wizard-step.png,
wizard-prefilled.png, staff-special-first.png and suggestions.png for the README.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.coupons.models import Coupon, CouponUse
from otklik.coupons.services import CouponSpec, coupon_generate
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.dictionaries.seed import load_dictionaries
from otklik.kb.demo import kb_demo_articles
from otklik.kb.models import Article, Deflection, DeflectionKind, Visibility
from otklik.kb.wizard_demo import wizard_demo
from otklik.sla.models import SlaLevel, TimeUnit
from otklik.tickets.models import Ticket
from tests.browser.helpers import publish_screenshot

pytestmark = [pytest.mark.browser]
PASSWORD = "pass-Word-123"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TITLE = "Refund for order 70211 has not arrived"


def _world() -> dict:
    """Build what the flow needs through the services (an earlier transactional test's flush removed it)."""
    load_dictionaries(DictionaryEntry)
    kb_demo_articles()
    wizard_demo()
    categories = {
        e.code: e for e in DictionaryEntry.objects.filter(kind=DictionaryKind.CATEGORY).exclude(code="")
    }
    # The clients' level allows payments and delivery only: the wizard hides the "Errors" branch.
    clients = Group.objects.create(name="Clients: standard (browser)")
    standard = SlaLevel.objects.create(
        name_ru="Клиенты: стандартный",
        name_en="Clients: standard",
        code="clients-standard-browser",
        priority=20,
        response_time=8,
        response_unit=TimeUnit.HOURS,
    )
    standard.groups.add(clients)
    standard.categories.add(categories["payment"], categories["delivery"])
    # The coupon's level: no timetable is around the clock, 1 hour to answer.
    special = SlaLevel.objects.filter(code="special").first() or SlaLevel.objects.create(
        name_ru="Спецобращения",
        name_en="Special tickets",
        code="special",
        priority=70,
        response_time=1,
        response_unit=TimeUnit.HOURS,
    )
    coupon = coupon_generate(spec=CouponSpec(sla="special", uses=15, days=365), actor=None)[0]
    people = {}
    for username, first, levels in (
        ("vera", "Vera", (AccessLevel.CLIENT,)),
        ("timur", "Timur", (AccessLevel.CLIENT,)),
        ("olga", "Olga", (AccessLevel.STAFF,)),
    ):
        people[username] = user_create(
            username=username,
            email=f"{username}@example.com",
            password=PASSWORD,
            first_name=first,
            last_name="Browser",
            levels=levels,
            language="en",
        )
    people["vera"].groups.add(clients)
    people["timur"].groups.add(clients)
    return {"coupon": coupon, "special": special, "standard": standard, "categories": categories, **people}


def _log_in(context, base: str, username: str):
    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    return page


def _fits(page) -> None:
    """The page scrolls only vertically at its viewport's width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width == page.viewport_size["width"], (page.url, width)


def _pick(page, number: int, title: str) -> None:
    """Choose a section on wizard step `number` and wait for its questions."""
    with page.expect_navigation():
        page.locator("button.wz-option", has_text=title).click()
    expect(page.locator(f'#wizard[data-step="{number}"]')).to_be_visible()
    expect(page.locator("#wz-chosen")).to_have_text(title)
    expect(page.locator("button.wz-option", has_text=title)).to_have_attribute("aria-pressed", "true")


def _press(page, button: str) -> None:
    with page.expect_navigation():
        page.locator(button).click()


@pytest.mark.django_db(transaction=True)
def test_wizard_coupon_suggestions_client_files_special_ticket_staff_sees_it_first_other_client_deflected(
    live_server, new_context, artifacts
):
    world = _world()
    coupon: Coupon = world["coupon"]
    base = live_server.url

    # 1. Vera opens "Ask a question": the module option sends her through the wizard.
    vera = _log_in(new_context(), base, "vera")
    with vera.expect_navigation():
        vera.locator("header").get_by_role("link", name="Ask a question").click()
    assert re.search(r"/wizard/step/1/$", vera.url), vera.url
    options = vera.locator("button.wz-option")
    expect(options.first).to_be_visible()
    offered = options.all_inner_texts()
    assert "Payments" in offered and "Delivery" in offered
    assert "Errors" not in offered  # mapped to a category her SLA does not allow
    vera.screenshot(path=str(artifacts / "kb-01-wizard-step1.png"), full_page=True)
    _fits(vera)

    # Step 1: Payments, a required radio button.
    _pick(vera, 1, "Payments")
    vera.get_by_label("Card on the website").check()
    _press(vera, "#wz-next")

    # Step 2: Card payments, its description (the answer itself, often), a list and a checkbox.
    expect(vera.locator('#wizard[data-step="2"]')).to_be_visible()
    _pick(vera, 2, "Card payments")
    expect(vera.locator(".wz-desc")).to_contain_text("3-D Secure")
    vera.get_by_label("Card network").select_option(label="Mastercard")
    vera.get_by_label("The money was charged twice").check()
    vera.screenshot(path=str(artifacts / "kb-02-wizard-step2.png"), full_page=True)
    _press(vera, "#wz-next")

    # Step 3 (the last, a leaf): Refunds; text, an optional list left empty, a text area, the title, the coupon.
    expect(vera.locator('#wizard[data-step="3"]')).to_be_visible()
    _pick(vera, 3, "Refunds")
    expect(vera.locator("#wz-step")).to_contain_text("last step")
    expect(vera.locator("#wz-done")).to_be_visible()
    assert vera.locator("#wz-next").count() == 0
    expect(vera.locator(".wz-trail li")).to_have_text(["Payments", "Card payments", "Refunds"])
    vera.get_by_label("Order number").fill("70211")
    vera.get_by_label("What happened").fill("I cancelled the order a week ago; the money is still not back.")
    vera.get_by_label("Title of your question").fill(TITLE)
    vera.get_by_label("Coupon for a special ticket").fill(coupon.code)
    assert vera.get_by_label("Items to refund").input_value() == ""
    vera.screenshot(path=str(artifacts / "kb-03-wizard-step3.png"), full_page=True)
    _fits(vera)
    publish_screenshot(artifacts / "kb-03-wizard-step3.png", "wizard-step")
    vera.set_viewport_size(PHONE)
    _fits(vera)
    vera.screenshot(path=str(artifacts / "kb-03-wizard-step3-390.png"), full_page=True)
    vera.set_viewport_size(DESKTOP)
    _press(vera, "#wz-done")

    # The new-ticket form, prefilled from the wizard.
    assert re.search(r"/tickets/new/\?wizard=1$", vera.url), vera.url
    message = vera.locator("#id_message").input_value()
    assert message.startswith("Path: Payments → Card payments → Refunds"), message
    for line in (
        "- How did you pay? Card on the website",
        "- Card network: Mastercard",
        "- The money was charged twice: yes",
        "- Order number: 70211",
        "- Items to refund: not set",
        "- What happened: I cancelled the order a week ago; the money is still not back.",
    ):
        assert line in message.splitlines(), (line, message)
    assert vera.locator("#id_title").input_value() == TITLE
    assert vera.locator("#id_coupon").input_value() == coupon.code
    payment = world["categories"]["payment"]
    assert vera.locator("#id_category").input_value() == str(payment.pk)
    # Drag the message box's resize handle down, as a reader would, so the screenshot shows all of it.
    box = vera.locator("#id_message").bounding_box()
    vera.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)
    vera.mouse.down()
    vera.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] + 160, steps=5)
    vera.mouse.up()
    vera.screenshot(path=str(artifacts / "kb-04-prefilled.png"), full_page=True)
    _fits(vera)
    publish_screenshot(artifacts / "kb-04-prefilled.png", "wizard-prefilled")
    with vera.expect_navigation():
        vera.locator("main form button[type=submit]").click()
    assert re.search(r"/tickets/\d+/$", vera.url), vera.url
    ticket = Ticket.objects.get(pk=int(re.search(r"/tickets/(\d+)/$", vera.url).group(1)))
    vera.screenshot(path=str(artifacts / "kb-05-filed.png"), full_page=True)

    # The database: a special ticket on the coupon's SLA, one use spent and logged.
    assert (ticket.title, ticket.author, ticket.category_id) == (TITLE, world["vera"], payment.pk)
    assert ticket.is_special and ticket.coupon_code == coupon.code and ticket.sla == world["special"]
    assert ticket.deadline_at == ticket.created_at.replace(microsecond=0) + timedelta(hours=1)
    coupon.refresh_from_db()
    assert (coupon.uses_left, coupon.used_count) == (14, 1)
    use = CouponUse.objects.get(coupon=coupon)
    assert (use.user, use.ticket_number, use.success, use.reason) == (world["vera"], ticket.pk, True, "used")
    assert use.uses_left_after == 14
    assert not Deflection.objects.filter(user=world["vera"]).exists()  # the run ended in a ticket

    # Two ordinary tickets filed later sort below the special one.
    timur = _log_in(new_context(), base, "timur")
    for title in ("Delivery is late", "Cannot find the invoice"):
        timur.goto(f"{base}/tickets/new/")
        timur.fill("#id_title", title)
        timur.fill("#id_message", "Please help.")
        with timur.expect_navigation():
            timur.locator("main form button[type=submit]").click()

    # 2. Olga's list: the special ticket first, with its badge and the 1-hour deadline.
    olga = _log_in(new_context(), base, "olga")
    assert re.search(r"/staff/tickets/$", olga.url), olga.url
    rows = olga.locator("table.list tbody tr")
    expect(rows).to_have_count(3)
    first = rows.first
    expect(first.get_by_role("link", name=TITLE)).to_be_visible()
    expect(first.locator(".tag.special")).to_have_text("special")
    assert olga.locator(".tag.special").count() == 1
    deadline = timezone.localtime(ticket.deadline_at, ZoneInfo("Europe/Moscow"))
    # The deadline cell: a relative time ("in 59 minutes"), the exact one on hover.
    shown = first.locator(f'time[datetime="{deadline.isoformat()}"]')
    expect(shown).to_have_attribute("title", deadline.strftime("%d.%m.%Y %H:%M"))
    created = timezone.localtime(ticket.created_at, ZoneInfo("Europe/Moscow"))
    assert deadline - created.replace(microsecond=0) == timedelta(hours=1)
    expect(first).to_contain_text("Special tickets")
    olga.screenshot(path=str(artifacts / "kb-06-staff-special-first.png"), full_page=False)
    _fits(olga)
    publish_screenshot(artifacts / "kb-06-staff-special-first.png", "staff-special-first")

    # 3. Timur skips the wizard and types a title: the suggestions come up under it as he types.
    with timur.expect_navigation():
        timur.locator("header").get_by_role("link", name="Ask a question").click()
    assert "/wizard/" in timur.url
    with timur.expect_navigation():
        timur.locator("#wz-skip").click()
    assert re.search(r"/tickets/new/\?skip_wizard=1$", timur.url), timur.url
    title = timur.locator("#id_title")
    # The box asks after a pause in typing (debounced): wait for that answer, then for the swapped list.
    with timur.expect_response(lambda r: "/kb/suggest/" in r.url and "title=Refund" in r.url) as answer:
        title.press_sequentially("Refund", delay=80)
    assert answer.value.ok
    links = timur.locator("#kb-suggestions li a")
    expect(links.filter(has_text="Partial refunds")).to_be_visible()
    expect(timur.locator("#kb-suggestions")).to_contain_text(
        "These articles may already answer your question"
    )
    suggested = links.all_inner_texts()
    assert 3 <= len(suggested) <= 5, suggested
    assert {"How to refund a customer", "Partial refunds"} <= set(suggested), suggested
    staff_only = set(Article.objects.filter(visibility=Visibility.STAFF).values_list("title_en", flat=True))
    assert staff_only and not staff_only & set(suggested)  # "Approving a licence refund" is staff-only
    timur.screenshot(path=str(artifacts / "kb-07-suggestions.png"), full_page=False)
    _fits(timur)
    publish_screenshot(artifacts / "kb-07-suggestions.png", "suggestions")

    # He opens the article (a new tab) and says it answered his question.
    article = Article.objects.get(slug="refund-how")
    with timur.context.expect_page() as opened:
        links.filter(has_text="How to refund a customer").click()
    tab = opened.value
    tab.wait_for_load_state()
    tab.set_viewport_size(DESKTOP)
    assert tab.url.endswith("/kb/articles/refund-how/?from=suggest"), tab.url
    expect(tab.locator("h1")).to_have_text("How to refund a customer")
    left = Deflection.objects.get(user=world["timur"], article=article)
    assert left.kind == DeflectionKind.SUGGESTION_LEFT  # opening a suggestion counts until he says more
    tab.get_by_role("button", name="This answered my question").click()
    expect(tab.locator("#kb-answered [role=status]")).to_have_text(
        "Thank you! We are glad the article helped."
    )
    tab.screenshot(path=str(artifacts / "kb-08-answered.png"), full_page=True)
    _fits(tab)
    records = list(Deflection.objects.filter(user=world["timur"]).values_list("kind", "article_id"))
    assert records == [(DeflectionKind.ARTICLE_ANSWERED, article.pk)], records
    assert Ticket.objects.filter(author=world["timur"]).count() == 2  # nothing filed from the suggestion
