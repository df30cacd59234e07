"""Time the knowledge base's suggestions and search at 10,000 articles, through a real server process.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_kbbench python -m bench.kb_suggest

Fills the database of OTKLIK_DATABASE_URL with `--count` articles (default 10,000; skipped when that many
are there) in a small section tree, a tenth of them staff-only, with Russian and English titles and texts
drawn from a support vocabulary in several word forms (titles) and mostly made-up words
with those terms sprinkled in (texts). Then starts `otklik start --no-jobs --no-migrate`
and, as an anonymous visitor (what the client's new-ticket form does), requests:

- `/kb/suggest/?title=...` — the htmx partial under the ticket title, `--requests` times (default 300)
  with varied prefixes and phrases, as typed;
- `/api/v1/kb/suggest?q=...` — the same through the API;
- `/kb/search/?q=...` and `/api/v1/kb/search?q=...` — the first page of results (counted up to 1,000).

Prints the median and the 95th percentile of the wall time on loopback and of the server's own time
(Server-Timing), as `name value unit` lines.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import urllib.parse

from bench.common import django_setup, figure, median, note, percentile
from bench.staff_list import Server, Session, _server_timing

RU_WORDS = (
    "оплата оплаты оплатил оплатить оплачен платёж платежа платежи карта карты картой банк банка возврат "
    "возврата возвраты счёт счета доставка доставки доставили доставлен курьер курьера посылка посылки "
    "трек номер статус статуса заказ заказа заказы пароль пароля вход входа ошибка ошибки ошибкой сервер "
    "сервера страница страницы кеш кеша обновление обновления модуль модуля лицензия лицензии продление "
    "письмо письма почта адрес адреса доступ доступа сотрудник сотрудника магазин магазина товар товара "
    "корзина корзины скидка скидки купон купона шлюз шлюза ключ ключа журнал журнала"
).split()
EN_WORDS = (
    "payment payments paid pay card cards bank refund refunds refunded invoice invoices delivery deliveries "
    "delivered courier parcel parcels tracking number status order orders password login logging error "
    "errors server page pages cache update updates module licence renewal email mail address access "
    "colleague shop product cart discount coupon gateway key log logs"
).split()


def _text(rng: random.Random, words: tuple[str, ...] | list[str], count: int) -> str:
    return " ".join(rng.choice(words) for _ in range(count))


def _filler(rng: random.Random, syllables: str) -> list[str]:
    """Return 3,000 made-up words: the bulk of a text that the support vocabulary's terms are sprinkled in."""
    parts = syllables.split()
    return ["".join(rng.choice(parts) for _ in range(rng.randint(2, 4))) for _ in range(3000)]


def _body(rng: random.Random, terms: list[str], filler: list[str]) -> str:
    """Return a text of 8-25 sentences of 12 words, about one word in six a support term."""
    sentences = []
    for _ in range(rng.randint(8, 25)):
        sentences.append(" ".join(rng.choice(terms if rng.random() < 0.17 else filler) for _ in range(12)))
    return ". ".join(sentences)


def generate(count: int, seed: int) -> int:
    """Add articles until the database holds `count`; return how many were added."""
    from django.db import connection, transaction

    from otklik.core import clock
    from otklik.kb import services
    from otklik.kb.models import Article, Section

    existing = Article.objects.count()
    if existing >= count:
        note(f"{existing} articles already present; nothing generated.")
        return 0
    rng = random.Random(seed + existing)
    ru_filler = _filler(rng, "ка ло ми ре ту ва но ст пр ен ол ар ин ти ма на ро де ле ки")
    en_filler = _filler(rng, "ka lo mi re tu va no st pr en ol ar in ti ma na ro de le ki")
    with transaction.atomic():
        sections = []
        for top in range(8):
            parent, _ = Section.objects.get_or_create(
                parent=None,
                slug=f"bench-{top}",
                defaults={
                    "title_ru": f"Раздел {top}",
                    "title_en": f"Section {top}",
                    "sort": top,
                    "visibility": "staff" if top == 7 else "public",
                },
            )
            sections.append(parent)
            for child in range(4):
                section, _ = Section.objects.get_or_create(
                    parent=parent,
                    slug=f"bench-{top}-{child}",
                    defaults={
                        "title_ru": f"Подраздел {top}.{child}",
                        "title_en": f"Subsection {top}.{child}",
                    },
                )
                sections.append(section)
        now = clock.now()
        batch = []
        for i in range(existing, count):
            batch.append(
                Article(
                    section=rng.choice(sections),
                    slug=f"bench-article-{i}",
                    title_ru=_text(rng, RU_WORDS, rng.randint(3, 7)).capitalize(),
                    title_en=_text(rng, EN_WORDS, rng.randint(3, 7)).capitalize(),
                    body_ru=_body(rng, RU_WORDS, ru_filler),
                    body_en=_body(rng, EN_WORDS, en_filler),
                    visibility="staff" if rng.random() < 0.1 else "public",
                    sort=i,
                    created_at=now,
                    updated_at=now,
                )
            )
            if len(batch) == 1000:
                Article.objects.bulk_create(batch)
                batch = []
        Article.objects.bulk_create(batch)
    if connection.vendor == "sqlite":
        services.search_index_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return count - existing


def queries(rng: random.Random, n: int) -> list[str]:
    """Return `n` texts as a client types a title: prefixes of words, and phrases of one to three words."""
    found = []
    for _ in range(n):
        words = RU_WORDS if rng.random() < 0.6 else EN_WORDS
        phrase = [rng.choice(words) for _ in range(rng.randint(1, 3))]
        last = phrase[-1]
        phrase[-1] = last[: rng.randint(min(3, len(last)), len(last))]  # the word being typed
        found.append(" ".join(phrase))
    return found


def time_paths(session: Session, paths: list[str], warmup: int = 5) -> tuple[list[float], list[float], int]:
    for path in paths[:warmup]:
        session.get(path)
    wall: list[float] = []
    server: list[float] = []
    errors = 0
    for path in paths:
        status, _body, headers, elapsed = session.get(path)
        if status != 200:
            errors += 1
            continue
        wall.append(elapsed)
        if timing := _server_timing(headers.get("Server-Timing", "")):
            server.append(timing)
    return wall, server, errors


def report(name: str, wall: list[float], server: list[float], errors: int) -> None:
    figure(f"{name}_ms_median", median(wall), "ms")
    figure(f"{name}_ms_p95", percentile(wall, 95), "ms")
    if server:
        figure(f"{name}_server_ms_median", median(server), "ms")
        figure(f"{name}_server_ms_p95", percentile(server, 95), "ms")
    figure(f"{name}_requests", len(wall), "requests")
    if errors:
        note(f"{name}: {errors} requests did not answer 200")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000, help="Articles in the database.")
    parser.add_argument("--requests", type=int, default=300, help="Timed suggestion requests.")
    parser.add_argument("--search-requests", type=int, default=100, help="Timed search requests.")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    if not os.environ.get("OTKLIK_DATABASE_URL"):
        note("OTKLIK_DATABASE_URL is not set: timing the embedded SQLite database of OTKLIK_DATA_DIR.")
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    started = time.monotonic()
    made = generate(args.count, args.seed)
    if made:
        note(f"generated {made} articles in {time.monotonic() - started:.1f} s")
    connection.close()
    figure("kb_articles_total", args.count, "articles")

    rng = random.Random(args.seed)
    typed = queries(rng, args.requests)
    searched = queries(rng, args.search_requests)
    with Server(workers=args.workers) as server:
        session = Session(server.base)
        quote = urllib.parse.quote
        report("kb_suggest", *time_paths(session, [f"/kb/suggest/?title={quote(q)}" for q in typed]))
        report("kb_api_suggest", *time_paths(session, [f"/api/v1/kb/suggest?q={quote(q)}" for q in typed]))
        report("kb_search", *time_paths(session, [f"/kb/search/?q={quote(q)}" for q in searched]))
        report("kb_api_search", *time_paths(session, [f"/api/v1/kb/search?q={quote(q)}" for q in searched]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
