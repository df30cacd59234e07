"""The demo knowledge base: sections and articles in ru/en about the demo shop, and the wizard on them."""

from __future__ import annotations

from otklik.kb import services
from otklik.kb.demo_content import ARTICLES, SECTIONS
from otklik.kb.models import Article, Deflection, DeflectionKind, Section, Visibility


def kb_demo(context) -> None:
    """Create (or complete) the demo knowledge base and the support wizard's questions; idempotent."""
    made_sections, made_articles = kb_demo_articles()
    if made_sections or made_articles:
        context.report.lines.append(
            f"Knowledge base: {made_sections} sections and {made_articles} articles added "
            f"({Article.objects.count()} articles in all)."
        )
    from otklik.kb.wizard_demo import wizard_demo

    wizard_demo(context)  # the wizard's questions on the sections above (kb/wizard_demo.py)
    made = kb_demo_deflections(context)
    if made:
        context.report.lines.append(f"Knowledge base: {made} questions answered without a ticket (90 days).")


# How many questions a demo day ends without a ticket, and how (the deflection report's data).
DEMO_DEFLECTIONS_PER_DAY = 3
DEMO_DEFLECTION_KINDS = (
    (DeflectionKind.WIZARD_ANSWERED, 4),
    (DeflectionKind.ARTICLE_ANSWERED, 3),
    (DeflectionKind.SUGGESTION_LEFT, 2),
    (DeflectionKind.WIZARD_ABANDONED, 1),
)


def kb_demo_deflections(context) -> int:
    """Record, once, 90 days of questions the knowledge base answered (or the wizard lost) for the demo's
    clients, through the service with the clock set back; return how many."""
    import random
    from datetime import timedelta

    from otklik.core import clock

    if context.tickets <= 0 or Deflection.objects.exists():
        return 0
    rng = random.Random(context.seed)
    clients = [user for name, user in sorted(context.users.items()) if name.startswith(("client", "vip"))]
    sections = list(Section.objects.filter(visibility=Visibility.PUBLIC).exclude(parent=None))
    articles = list(Article.objects.filter(visibility=Visibility.PUBLIC))
    if not sections or not articles:
        return 0
    kinds = [kind for kind, weight in DEMO_DEFLECTION_KINDS for _n in range(weight)]
    now = clock.now()
    made = 0
    for day in range(90, 0, -1):
        for _n in range(rng.randint(0, 2 * DEMO_DEFLECTIONS_PER_DAY)):
            kind = rng.choice(kinds)
            on_article = kind in (DeflectionKind.ARTICLE_ANSWERED, DeflectionKind.SUGGESTION_LEFT)
            at = now - timedelta(days=day, minutes=rng.randint(0, 12 * 60))
            with clock.frozen(at):
                services.deflection_record(
                    kind=kind,
                    user=rng.choice([*clients, None]),
                    section=None if on_article else rng.choice(sections),
                    article=rng.choice(articles) if on_article else None,
                )
            made += 1
    return made


def kb_demo_articles() -> tuple[int, int]:
    """Create the demo sections and articles that are missing (edited ones stay as they are)."""
    by_path: dict[str, Section] = {}
    made_sections = made_articles = 0
    for demo in SECTIONS:
        parent_path, _sep, slug = demo.path.rpartition("/")
        parent = by_path.get(parent_path) if parent_path else None
        section = Section.objects.filter(parent=parent, slug=slug).first()
        if section is None:
            section = services.section_create(
                actor=None,
                data=services.SectionInput(
                    slug=slug,
                    title_ru=demo.title_ru,
                    title_en=demo.title_en,
                    description_ru=demo.description_ru,
                    description_en=demo.description_en,
                    visibility=Visibility.STAFF if demo.staff_only else Visibility.PUBLIC,
                    sort=(SECTIONS.index(demo) + 1) * 10,
                    parent_id=parent.pk if parent else None,
                    in_wizard=not demo.staff_only,
                ),
            )
            made_sections += 1
        by_path[demo.path] = section
    existing = set(Article.objects.values_list("slug", flat=True))
    for number, demo_article in enumerate(ARTICLES, start=1):
        if demo_article.slug in existing:
            continue
        services.article_create(
            actor=None,
            data=services.ArticleInput(
                section_id=by_path[demo_article.section].pk,
                slug=demo_article.slug,
                title_ru=demo_article.title_ru,
                title_en=demo_article.title_en,
                body_ru=demo_article.body_ru,
                body_en=demo_article.body_en,
                visibility=Visibility.STAFF if demo_article.staff_only else Visibility.PUBLIC,
                sort=number * 10,
                note="Demo content",
            ),
        )
        made_articles += 1
    return made_sections, made_articles
