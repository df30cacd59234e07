"""The demo knowledge base: sections and articles in ru/en about the demo shop, and the wizard on them."""

from __future__ import annotations

from otklik.kb import services
from otklik.kb.demo_content import ARTICLES, SECTIONS
from otklik.kb.models import Article, Section, Visibility


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
