"""A small knowledge base for the tests: public and staff-only sections and articles, ru/en texts."""

from __future__ import annotations

from dataclasses import dataclass

from otklik.kb import services
from otklik.kb.models import Article, Section


@dataclass
class Kb:
    payments: Section  # public
    cards: Section  # public, under payments
    secret: Section  # staff-only, top level
    under_secret: Section  # public, but under the staff-only section
    paid: Article  # public in payments: "оплата" in the title
    delivery: Article  # public in cards: "доставка" in the body only
    staff_note: Article  # staff-only article in a public section
    hidden_by_section: Article  # public article in the staff-only section
    deep_hidden: Article  # public article under the staff-only section's public child
    english_only: Article  # no Russian text: Russian readers get the fallback note


def section(slug: str, *, parent: Section | None = None, staff: bool = False, **kw) -> Section:
    return services.section_create(
        actor=None,
        data=services.SectionInput(
            slug=slug,
            title_ru=kw.pop("title_ru", f"Раздел {slug}"),
            title_en=kw.pop("title_en", f"Section {slug}"),
            visibility="staff" if staff else "public",
            parent_id=parent.pk if parent else None,
            **kw,
        ),
    )


def article(slug: str, sec: Section, *, staff: bool = False, **kw) -> Article:
    return services.article_create(
        actor=None,
        data=services.ArticleInput(
            section_id=sec.pk, slug=slug, visibility="staff" if staff else "public", **kw
        ),
    )


def kb_build() -> Kb:
    payments = section("payments", title_ru="Оплата", title_en="Payments")
    cards = section("card-payments", parent=payments)
    secret = section("internal", staff=True)
    under_secret = section("internal-child", parent=secret)
    return Kb(
        payments=payments,
        cards=cards,
        secret=secret,
        under_secret=under_secret,
        paid=article(
            "paid",
            payments,
            title_ru="Оплата заказа картой",
            title_en="Paying for an order by card",
            body_ru="Как провести платёж.",
            body_en="How to make the payments work.",
        ),
        delivery=article(
            "delivery",
            cards,
            title_ru="Курьер",
            title_en="Courier",
            body_ru="Доставка курьером занимает два дня, потом оплатил и забрал.",
            body_en="Deliveries by courier take two days.",
        ),
        staff_note=article(
            "staff-note", payments, staff=True, title_ru="Оплата: внутреннее", title_en="Payment: internal"
        ),
        hidden_by_section=article("hidden", secret, title_ru="Оплата тайная", title_en="Secret payment"),
        deep_hidden=article("deep", under_secret, title_ru="Оплата глубоко", title_en="Deep payment"),
        english_only=article(
            "english-only", cards, title_en="Refunds explained", body_en="Refunds take **five** days."
        ),
    )
