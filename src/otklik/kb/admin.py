"""Configuration pages of the knowledge base (F-20): sections and articles, an article's revisions.

The forms check their input with the services' own validation (field messages), and saving goes through
`section_create/update/delete` and `article_create/update/delete`: every save of an article is a
revision (who, when, note, texts). An article's page lists its revisions; "restore" asks for confirmation
and saves the old texts as a new revision.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.core.errors import DomainError, ValidationFailed
from otklik.kb import services
from otklik.kb.models import Article, ArticleRevision, Deflection, Section
from otklik.kb.selectors import section_index, section_path
from otklik.kb.wizard_admin import QuestionInline  # also registers the questions and the preview
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site


def _errors_to_form(form: forms.Form, exc: ValidationFailed) -> None:
    for name, messages_ in exc.errors.items():
        field = name if name in form.fields else None
        for message in messages_:
            form.add_error(field, message)


class SectionForm(forms.ModelForm):
    class Meta:
        model = Section
        fields = (
            "parent",
            "slug",
            "title_ru",
            "title_en",
            "description_ru",
            "description_en",
            "visibility",
            "sort",
            "in_wizard",
            "category",
            "ask_title",
            "ask_coupon",
        )

    def validate_unique(self):
        # The service checks uniqueness with its own messages (and the root-level rule).
        pass

    def section_input(self) -> services.SectionInput:
        data = self.cleaned_data
        return services.SectionInput(
            slug=data.get("slug") or "",
            title_ru=data.get("title_ru") or "",
            title_en=data.get("title_en") or "",
            description_ru=data.get("description_ru") or "",
            description_en=data.get("description_en") or "",
            visibility=data.get("visibility") or "",
            sort=data.get("sort") if isinstance(data.get("sort"), int) else 100,
            parent_id=data["parent"].pk if data.get("parent") else None,
            in_wizard=bool(data.get("in_wizard")),
            category_id=data["category"].pk if data.get("category") else None,
            ask_title=bool(data.get("ask_title")),
            ask_coupon=bool(data.get("ask_coupon")),
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                services.section_validate(self.section_input(), self.instance if self.instance.pk else None)
            except ValidationFailed as exc:
                _errors_to_form(self, exc)
        return cleaned


class _SectionChangeList(ChangeList):
    """The sections' list: every row's path from one read of the tree, not one read per row."""

    def get_results(self, request):
        super().get_results(request)
        by_id = section_index()
        for row in self.result_list:
            row.path_text = section_path(row, by_id)


@admin.register(Section, site=admin_site)
class SectionAdmin(SupportAdminPermissions, admin.ModelAdmin):
    form = SectionForm
    list_display = ("title", "path", "visibility", "in_wizard", "sort", "article_count")
    list_filter = ("visibility", "in_wizard", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("slug", "title_ru", "title_en")
    ordering = ("parent_id", "sort", "id")
    fieldsets = (
        (None, {"fields": ("parent", "slug", ("title_ru", "title_en"), "visibility", "sort")}),
        (_("Description (often the answer itself)"), {"fields": ("description_ru", "description_en")}),
        (_("Support wizard"), {"fields": ("in_wizard", "category", "ask_title", "ask_coupon")}),
    )
    inlines = (QuestionInline,)  # the wizard's questions of the section (kb/wizard_admin.py)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(articles_in=Count("articles"))

    def get_changelist(self, request, **kwargs):
        return _SectionChangeList

    @admin.display(description=_("path"))
    def path(self, obj: Section) -> str:
        known = getattr(obj, "path_text", None)  # set for the list's rows from one read of the tree
        return known if known is not None else section_path(obj)

    @admin.display(description=_("articles"), ordering="articles_in")
    def article_count(self, obj: Section) -> int:
        return obj.articles_in  # type: ignore[attr-defined]  # annotated in get_queryset

    def save_model(self, request, obj, form, change):
        data = form.section_input()
        if change:
            saved = services.section_update(actor=request.user, section=obj, data=data)
        else:
            saved = services.section_create(actor=request.user, data=data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        try:
            services.section_delete(actor=request.user, section=obj)
        except DomainError as exc:
            messages.error(request, exc.text())

    def delete_queryset(self, request, queryset):
        for section in queryset:
            self.delete_model(request, section)

    def response_delete(self, request, obj_display, obj_id):
        if Section.objects.filter(pk=obj_id).exists():
            # The service refused (the message is shown): back to the section, not "deleted".
            return redirect("admin:kb_section_change", obj_id)
        return super().response_delete(request, obj_display, obj_id)


class ArticleForm(forms.ModelForm):
    note = forms.CharField(
        label=_("What changed"),
        max_length=services.MAX_NOTE,
        required=False,
        help_text=_("Kept with the revision, shown in the article's history."),
    )

    class Meta:
        model = Article
        fields = ("section", "slug", "title_ru", "title_en", "body_ru", "body_en", "visibility", "sort")

    def validate_unique(self):
        pass

    def article_input(self) -> services.ArticleInput:
        data = self.cleaned_data
        return services.ArticleInput(
            section_id=data["section"].pk if data.get("section") else 0,
            slug=data.get("slug") or "",
            title_ru=data.get("title_ru") or "",
            title_en=data.get("title_en") or "",
            body_ru=data.get("body_ru") or "",
            body_en=data.get("body_en") or "",
            visibility=data.get("visibility") or "",
            sort=data.get("sort") if isinstance(data.get("sort"), int) else 100,
            note=data.get("note") or "",
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                services.article_validate(self.article_input(), self.instance if self.instance.pk else None)
            except ValidationFailed as exc:
                _errors_to_form(self, exc)
        return cleaned


@admin.register(Article, site=admin_site)
class ArticleAdmin(SupportAdminPermissions, admin.ModelAdmin):
    form = ArticleForm
    list_display = ("title", "section", "visibility", "sort", "updated_at", "updated_by")
    list_filter = ("visibility", ("section", admin.RelatedOnlyFieldListFilter))
    search_fields = ("slug", "title_ru", "title_en", "body_ru", "body_en")
    list_select_related = ("section", "updated_by")
    readonly_fields = ("page_link", "revisions_block")
    fieldsets = (
        (None, {"fields": ("section", "slug", ("title_ru", "title_en"), "visibility", "sort", "page_link")}),
        (_("Text (Markdown)"), {"fields": ("body_ru", "body_en")}),
        (_("This change"), {"fields": ("note",)}),
        (_("Revisions"), {"fields": ("revisions_block",)}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:3]
        return self.fieldsets

    @admin.display(description=_("page"))
    def page_link(self, obj: Article) -> str:
        if not obj.pk:
            return "—"
        url = reverse("kb:article", args=[obj.slug])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description=_("revisions"))
    def revisions_block(self, obj: Article) -> str:
        revisions = list(obj.revisions.select_related("author").order_by("-number")) if obj.pk else []
        if not revisions:
            return "—"
        rows = []
        for r in revisions:
            restore = ""
            if r.number != revisions[0].number:
                restore = format_html(
                    ' · <a href="{}">{}</a>',
                    reverse("admin:kb_article_restore", args=[obj.pk, r.number]),
                    gettext("restore this revision"),
                )
            rows.append(
                (
                    r.number,
                    r.at.strftime("%d.%m.%Y %H:%M"),
                    (r.author.get_full_name() or r.author.username) if r.author else "—",
                    r.note or "—",
                    restore,
                )
            )
        return format_html(
            '<table class="kb-revisions"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            gettext("when"),
            gettext("who"),
            gettext("what changed"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>", rows),
        )

    def save_model(self, request, obj, form, change):
        data = form.article_input()
        if change:
            saved = services.article_update(actor=request.user, article=obj, data=data)
        else:
            saved = services.article_create(actor=request.user, data=data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.article_delete(actor=request.user, article=obj)

    def delete_queryset(self, request, queryset):
        for article in queryset:
            services.article_delete(actor=request.user, article=article)

    def get_urls(self):
        custom = [
            path(
                "<int:article_id>/revisions/<int:number>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="kb_article_restore",
            )
        ]
        return custom + super().get_urls()

    def restore_view(self, request, article_id: int, number: int):
        """Ask before restoring a revision; on POST save its texts as the article's new revision."""
        revision = (
            ArticleRevision.objects.select_related("article", "author")
            .filter(article_id=article_id, number=number)
            .first()
        )
        if revision is None:
            raise Http404()
        if not self.has_change_permission(request, revision.article):
            raise PermissionDenied()
        if request.method == "POST":
            try:
                services.article_revision_restore(actor=request.user, revision=revision)
            except DomainError as exc:
                messages.error(request, exc.text())
            else:
                messages.success(
                    request, gettext("Revision %(number)s is the current text again.") % {"number": number}
                )
            return redirect("admin:kb_article_change", article_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Restore revision %(number)s?") % {"number": number},
            "revision": revision,
            "article": revision.article,
            "who": (revision.author.get_full_name() or revision.author.username) if revision.author else "—",
        }
        return TemplateResponse(request, "kb/admin/revision_restore.html", context)


@admin.register(Deflection, site=admin_site)
class DeflectionAdmin(SupportAdminPermissions, admin.ModelAdmin):
    """The questions that ended without a ticket, read-only: written by the wizard and the article pages."""

    list_display = ("at", "kind", "section", "article", "user")
    list_filter = ("kind",)
    date_hierarchy = "at"
    list_select_related = ("section", "article", "user")
    list_per_page = 50
    show_full_result_count = False  # no COUNT over a table that grows with every visitor

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
