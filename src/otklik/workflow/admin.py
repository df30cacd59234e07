"""Configuration pages of the support process (F-30): its roles, and its definitions as versions.

A saved version never changes: its page shows the diagram and the JSON, and "Edit as a new version"
opens the upload form with that JSON. The upload form lists every problem `definition_problems` finds
before anything is saved, and saves through `process_version_save`. Activating a version and choosing
the process new tickets start in go through `process_version_activate` (the configuration cache is
told); roles are saved through `role_save`.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from otklik.core.errors import Conflict, ValidationFailed
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site
from otklik.workflow.definition import DefinitionError, definition_load
from otklik.workflow.diagram import process_svg, svg_inline
from otklik.workflow.models import ProcessVersion, Role
from otklik.workflow.selectors import process_of, version_list
from otklik.workflow.services import (
    definition_problems,
    process_version_activate,
    process_version_save,
    role_delete,
    role_save,
)

MAX_DEFINITION_BYTES = 1_000_000


def role_states(code: str) -> list[tuple[ProcessVersion, str, str]]:
    """Return (version, state code, state name) of every state of the active versions where `code` acts."""
    found = []
    language = get_language()
    for version in version_list().filter(active=True).order_by("code"):
        try:
            process = process_of(version)
        except DefinitionError:
            continue
        assigned = {t.target for t in process.transitions if t.role_next == code}
        for state in process.states.values():
            if state.role == code or (not state.role and state.code in assigned):
                found.append((version, state.code, state.name.get(language)))
    return found


def _known_roles(data) -> set[str]:
    """Return the role codes a definition may name: those configured and those it describes itself."""
    described = data.get("roles") if isinstance(data, dict) else None
    return set(Role.objects.values_list("code", flat=True)) | set(
        described if isinstance(described, dict) else ()
    )


# -- roles ------------------------------------------------------------------------------------------------


@admin.register(Role, site=admin_site)
class RoleAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("code", "label", "holders", "states_short", "sort")
    list_display_links = ("code", "label")
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("users", "groups")
    readonly_fields = ("states_block",)
    fieldsets = (
        (None, {"fields": ("code", ("name", "name_en"), "sort")}),
        (_("Who holds the role"), {"fields": ("users", "groups")}),
        (_("Instructions"), {"fields": ("instructions", "instructions_en")}),
        (_("Where the role acts"), {"fields": ("states_block",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("users", "groups")

    def get_readonly_fields(self, request, obj=None):
        # The code is what definitions name: renaming it would orphan them.
        return ("code", *self.readonly_fields) if obj is not None else self.readonly_fields

    @admin.display(description=_("held by"))
    def holders(self, obj: Role) -> str:
        names = [u.get_full_name() or u.username for u in obj.users.all()]
        names += [gettext("group %(name)s") % {"name": g.name} for g in obj.groups.all()]
        return ", ".join(names) or "—"

    @admin.display(description=_("acts in"))
    def states_short(self, obj: Role) -> str:
        return ", ".join(code for _version, code, _name in role_states(obj.code)) or "—"

    @admin.display(description=_("states of the active processes"))
    def states_block(self, obj: Role) -> str:
        rows = role_states(obj.code) if obj.pk else []
        if not rows:
            return gettext("No state of an active process names this role.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a>: {} <code>{}</code></li>',
                (
                    (reverse("admin:workflow_processversion_change", args=[v.pk]), str(v), name, code)
                    for v, code, name in rows
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        role_save(
            actor=request.user,
            role=obj,
            users=form.cleaned_data.get("users"),
            groups=form.cleaned_data.get("groups"),
        )

    def has_delete_permission(self, request, obj=None):
        # A role an active process names cannot go: the process would stop validating.
        if obj is not None and any(
            obj.code in process_of(v).roles() for v in version_list().filter(active=True)
        ):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        role_delete(actor=request.user, role=obj)

    def delete_queryset(self, request, queryset):
        for role in queryset:
            try:
                role_delete(actor=request.user, role=role)
            except Conflict as exc:
                self.message_user(request, exc.message, messages.ERROR)

    def save_related(self, request, form, formsets, change):
        # role_save has set the holders already; the form must not write them a second time.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# -- process versions -------------------------------------------------------------------------------------


class DefinitionForm(forms.Form):
    """A definition as JSON, typed or uploaded as a file, and what to do with it once saved."""

    definition = forms.CharField(
        label=_("Definition (JSON)"),
        required=False,
        max_length=MAX_DEFINITION_BYTES,
        widget=forms.Textarea(attrs={"rows": 24, "class": "definition-json", "spellcheck": "false"}),
    )
    file = forms.FileField(
        label=_("or a JSON file"),
        required=False,
        help_text=_("A file exported with “otklik workflow export” or from a version's page."),
    )
    activate = forms.BooleanField(
        label=_("Activate it: new tickets of this process get this version"), required=False, initial=True
    )
    starts_new_tickets = forms.BooleanField(label=_("New tickets start in this process"), required=False)

    def clean(self):
        cleaned = super().clean()
        if "definition" in self.errors:  # too long, or a character no database stores: said on the field
            return cleaned
        upload = cleaned.get("file")
        text = cleaned.get("definition") or ""
        if upload is not None:
            if upload.size > MAX_DEFINITION_BYTES:
                raise forms.ValidationError(gettext("The file is larger than 1 MB."))
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(gettext("The file is not UTF-8 text.")) from None
            self.data = self.data.copy()
            self.data["definition"] = text
        if not text.strip():
            raise forms.ValidationError(gettext("Paste a definition or choose a file."))
        try:
            cleaned["data"] = definition_load(text)
        except DefinitionError as exc:
            raise forms.ValidationError(exc.problems) from None
        return cleaned


@admin.register(ProcessVersion, site=admin_site)
class ProcessVersionAdmin(SupportAdminPermissions, admin.ModelAdmin):
    change_list_template = "workflow/admin/version_change_list.html"
    list_display = (
        "code",
        "version",
        "name_text",
        "is_active",
        "for_new_tickets",
        "created_at",
        "created_by",
    )
    list_display_links = ("code", "version")
    list_filter = ("code", "active")
    ordering = ("code", "-version")
    list_select_related = ("created_by",)

    # Versions are immutable: they are added by the upload form and never edited or deleted here.
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def may_change(self, request) -> bool:
        return super().has_change_permission(request)

    @admin.display(description=_("name"))
    def name_text(self, obj: ProcessVersion) -> str:
        return obj.name

    # Short headers: the list keeps every column in view on a laptop.
    @admin.display(description=pgettext_lazy("process version", "active"), boolean=True, ordering="active")
    def is_active(self, obj: ProcessVersion) -> bool:
        return obj.active

    @admin.display(description=_("new tickets"), boolean=True, ordering="starts_new_tickets")
    def for_new_tickets(self, obj: ProcessVersion) -> bool:
        return obj.starts_new_tickets

    def get_urls(self):
        # Before the default URLs, whose catch-all "<object_id>/" would swallow these.
        wrap = self.admin_site.admin_view
        custom = [
            path("upload/", wrap(self.upload_view), name="workflow_processversion_upload"),
            path("<int:pk>/edit/", wrap(self.upload_view), name="workflow_processversion_edit"),
            path("<int:pk>/activate/", wrap(self.activate_view), name="workflow_processversion_activate"),
            path("<int:pk>/diagram.svg", wrap(self.diagram_view), name="workflow_processversion_diagram"),
            path("<int:pk>/definition.json", wrap(self.json_view), name="workflow_processversion_json"),
        ]
        return custom + super().get_urls()

    def _context(self, request, **extra) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def _version(self, request, pk: int) -> ProcessVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = version_list().select_related("created_by").filter(pk=pk).first()
        if version is None:
            raise Http404(gettext("There is no such process version."))
        return version

    def changelist_view(self, request, extra_context=None):
        # Django's "Select %s to view" puts the name in the wrong case in Russian ("Выберите версия").
        extra = {
            "can_upload": self.has_view_permission(request),
            "title": gettext("Process versions"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show a version: what it is, its diagram, its JSON, and the buttons to activate or edit it."""
        try:
            version = self._version(request, int(object_id))
        except ValueError:
            raise Http404 from None
        process = process_of(version)
        svg = svg_inline(process_svg(process, language=get_language()))
        context = self._context(
            request,
            title=gettext("%(name)s — version %(n)s") % {"name": version.name, "n": version.version},
            version=version,
            process=process,
            diagram=mark_safe(svg),  # noqa: S308 - built by process_svg (every name escaped), re-checked by svg_inline
            definition=json.dumps(version.definition, ensure_ascii=False, indent=1),
            can_change=self.may_change(request),
            others=version_list().filter(code=version.code).exclude(pk=version.pk).order_by("-version")[:20],
        )
        return TemplateResponse(request, "workflow/admin/version_detail.html", context)

    def activate_view(self, request, pk: int):
        """Make the version active (and, when asked, the process new tickets start in); POST only."""
        version = self._version(request, pk)
        if request.method != "POST":  # the buttons live on the version's page
            return redirect("admin:workflow_processversion_change", version.pk)
        if not self.may_change(request):
            raise PermissionDenied
        starts = request.POST.get("starts_new_tickets") == "1"
        try:
            process_version_activate(actor=request.user, version=version, starts_new_tickets=starts)
        except ValidationFailed as exc:
            for problem in exc.errors.get("definition", [exc.message]):
                self.message_user(request, problem, messages.ERROR)
            return redirect("admin:workflow_processversion_change", version.pk)
        self.log_change(request, version, gettext("Activated"))
        text = (
            gettext("%(version)s is active; new tickets start in it.")
            if starts
            else gettext("%(version)s is active.")
        )
        self.message_user(request, text % {"version": version}, messages.SUCCESS)
        return redirect("admin:workflow_processversion_change", version.pk)

    def diagram_view(self, request, pk: int):
        version = self._version(request, pk)
        current = request.GET.get("current") or None
        svg = process_svg(process_of(version), current=current, language=get_language())
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response

    def json_view(self, request, pk: int):
        version = self._version(request, pk)
        response = HttpResponse(
            json.dumps(version.definition, ensure_ascii=False, indent=1),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{version.code}-v{version.version}.json"'
        return response

    def upload_view(self, request, pk: int | None = None):
        """Check a definition and list every problem; save it as the next version when there are none."""
        # Demo access may read the form and check a definition; saving needs the right to change.
        if pk is None and not self.has_view_permission(request):
            raise PermissionDenied
        base = self._version(request, pk) if pk is not None else None
        can_change = self.may_change(request)
        if request.method == "POST" and "_check" not in request.POST and not can_change:
            raise PermissionDenied
        problems: list[str] = []
        checked = False
        if request.method == "POST":
            form = DefinitionForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data["data"]
                problems = definition_problems(data, known_roles=_known_roles(data))
                if not problems and "_check" in request.POST:
                    checked = True
                elif not problems:
                    try:
                        version = process_version_save(
                            actor=request.user,
                            data=data,
                            activate=form.cleaned_data["activate"],
                            starts_new_tickets=form.cleaned_data["starts_new_tickets"] or None,
                        )
                    except ValidationFailed as exc:
                        problems = exc.errors.get("definition", [exc.message])
                    else:
                        self.log_addition(request, version, gettext("Uploaded"))
                        self.message_user(
                            request, gettext("Saved as %(version)s.") % {"version": version}, messages.SUCCESS
                        )
                        return redirect("admin:workflow_processversion_change", version.pk)
        else:
            initial = {}
            if base is not None:
                initial = {
                    "definition": json.dumps(base.definition, ensure_ascii=False, indent=1),
                    "starts_new_tickets": base.starts_new_tickets,
                }
            form = DefinitionForm(initial=initial)
        context = self._context(
            request,
            title=gettext("Edit %(version)s as a new version") % {"version": base}
            if base
            else gettext("Upload a process definition"),
            form=form,
            base=base,
            problems=problems,
            checked=checked,
            can_change=can_change,
            media=self.media + form.media,
        )
        return TemplateResponse(request, "workflow/admin/version_upload.html", context)

    # "Check" posts the definition and saves nothing: demo access may use it (ui/admin_site.py).
    upload_view.demo_may_post = lambda request: "_check" in request.POST  # type: ignore[attr-defined]
