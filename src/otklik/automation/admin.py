"""Configuration pages of automation rules (P6): the rules with their JSON, a dry-run, and the firings.

The form checks a rule with the same `rule_definition_clean` as the API and saves through `rule_create`
/ `rule_update`, so a rule saved here is one the engine can run. The change page shows which open
tickets the rule matches now (the dry-run) and its newest firings; the list's action dry-runs several.
"""

from __future__ import annotations

import json
import threading

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from otklik.automation.admin_forms import (
    ACTION_ERROR_FIELDS,
    ConditionsField,
    RuleActionsMixin,
    condition_row,
    reference_choices,
)
from otklik.automation.conditions import FIELDS, OPS
from otklik.automation.models import AutomationRule, RuleFiring
from otklik.automation.selectors import firing_list
from otklik.automation.services import (
    rule_create,
    rule_definition_clean,
    rule_dry_run,
    rule_update,
    rules_manage_allowed,
)
from otklik.core.errors import DomainError, ValidationFailed
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site

# The viewer of the change page in progress (readonly fields get only the object; the dry-run is theirs).
_viewer = threading.local()

FORM_FIELDS = (
    "name",
    "active",
    "order",
    "event",
    "hours",
    "match",
    "conditions",
    "actions",
    "stop_processing",
    "run_as",
)


class RuleForm(RuleActionsMixin, forms.ModelForm):
    """The rule without JSON: its conditions as rows, its actions as fields (otklik.automation.admin_forms)."""

    conditions = ConditionsField(label=_("Conditions"))

    class Meta:
        model = AutomationRule
        fields = tuple(name for name in FORM_FIELDS if name != "actions")

    actor = None  # set by the admin for the request

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = reference_choices()
        self.fields["conditions"].choices = choices
        self.fields["conditions"].widget.choices = choices
        self.actions_setup(choices, self.instance.actions if self.instance.pk else {})

    def clean(self):
        cleaned = super().clean()
        data = {name: cleaned.get(name) for name in FORM_FIELDS}
        data["actions"] = self.actions_json()
        data["run_as"] = data["run_as"].pk if data.get("run_as") else None
        try:
            self.values = rule_definition_clean(
                data, actor=self.actor, current=self.instance if self.instance.pk else None
            )
        except ValidationFailed as exc:
            for name, problems in exc.errors.items():
                target = name if name in self.fields else ACTION_ERROR_FIELDS.get(name)
                for problem in problems:
                    self.add_error(target, problem)
        return cleaned


class AutomationRuleAdmin(SupportAdminPermissions, admin.ModelAdmin):
    form = RuleForm
    list_display = ("order", "name", "event", "hours", "active", "stop_processing", "last_firing")
    list_display_links = ("name",)
    list_filter = ("active", "event")
    search_fields = ("name",)
    ordering = ("order", "id")
    readonly_fields = ("matches_now", "recent_firings", "definition_json")
    actions = ["dry_run"]
    fieldsets = (
        (None, {"fields": ("name", ("active", "order"), ("event", "hours"), "run_as")}),
        (_("When"), {"fields": ("match", "conditions"), "classes": ("rule-when",)}),
        (
            _("Then"),
            {
                "fields": (
                    ("set_status", "set_category"),
                    ("set_criticality", "set_difficulty"),
                    ("set_mark", "set_sla"),
                    ("set_responsible", "set_is_postponed"),
                    ("add_tags", "remove_tags"),
                    ("state", "transition"),
                    "reply",
                    "reply_hidden",
                    "notify_users",
                    "notify_responsible",
                    "notify_text",
                    "stop_processing",
                ),
                "classes": ("rule-then",),
            },
        ),
        (_("The rule as JSON"), {"fields": ("definition_json",), "classes": ("collapse",)}),
        (_("Dry-run and firings"), {"fields": ("matches_now", "recent_firings")}),
    )
    # Who may only look (demo access) reads the rule in words: the form's fields have no stored values.
    view_fieldsets = (
        (None, {"fields": ("name", ("active", "order"), ("event", "hours"), "run_as")}),
        (_("When"), {"fields": ("match", "conditions_text")}),
        (_("Then"), {"fields": ("actions_text", "stop_processing")}),
        (_("The rule as JSON"), {"fields": ("definition_json",), "classes": ("collapse",)}),
        (_("Dry-run and firings"), {"fields": ("matches_now", "recent_firings")}),
    )

    def _allowed(self, request) -> bool:
        return rules_manage_allowed(request.user)

    # Rules act as a support admin: only support admins change them (demo access may look, as everywhere).
    def has_add_permission(self, request, *args):
        return self._allowed(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request) and super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return self.view_fieldsets
        return super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        data = {**form.values, "run_as": form.values["run_as"].pk if form.values.get("run_as") else None}
        if change:
            saved = rule_update(actor=request.user, rule=AutomationRule.objects.get(pk=obj.pk), data=data)
        else:
            saved = rule_create(actor=request.user, data=data)
        obj.pk = saved.pk
        obj.created_at, obj.updated_at = saved.created_at, saved.updated_at

    @admin.display(description=_("last firing"))
    def last_firing(self, obj: AutomationRule) -> str:
        firing = RuleFiring.objects.filter(rule=obj).order_by("-fired_at", "-id").first()
        if firing is None:
            return "—"
        return f"{firing.fired_at:%Y-%m-%d %H:%M} · {firing.get_outcome_display()}"

    @admin.display(description=_("conditions"))
    def conditions_text(self, obj: AutomationRule) -> str:
        if not obj.conditions:
            return gettext("None: the rule holds for every ticket of its event.")
        choices = reference_choices()
        lines = []
        for condition in obj.conditions:
            row = condition_row(condition, choices)
            field = row["field"]
            value = row["text"]
            if row["choice"]:
                raw = row["choice"].partition(":")[2]
                value = dict(choices.get(field, ())).get(raw) or {
                    "true": gettext("yes"),
                    "false": gettext("no"),
                }.get(raw, f"#{raw}")
            lines.append(
                (FIELDS[field][1] if field in FIELDS else field, OPS.get(row["op"], row["op"]), value)
            )
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{} {} {}</li>", lines))

    @admin.display(description=_("actions"))
    def actions_text(self, obj: AutomationRule) -> str:
        form = RuleActionsMixin()
        form.actions_setup(reference_choices(), obj.actions)
        lines = []
        for name, field in form.fields.items():
            value = form.initial.get(name)
            if value in (None, "", False, []) or (name == "state" and value == ""):
                continue
            if isinstance(field, forms.BooleanField):
                shown = gettext("yes")
            elif isinstance(field, forms.ChoiceField):
                labels = {str(k): str(v) for k, v in field.choices}
                values = value if isinstance(value, list) else [value]
                shown = ", ".join(labels.get(str(v), str(v)) for v in values)
            else:
                shown = str(value)
            lines.append((field.label, shown))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", lines)) if lines else "—"

    @admin.display(description=_("definition"))
    def definition_json(self, obj: AutomationRule) -> str:
        if not obj.pk:
            return "—"
        data = {"match": obj.match, "conditions": obj.conditions, "actions": obj.actions}
        return format_html('<pre class="rule-json">{}</pre>', json.dumps(data, ensure_ascii=False, indent=2))

    @admin.display(description=_("open tickets it matches now"))
    def matches_now(self, obj: AutomationRule) -> str:
        if not obj.pk:
            return gettext("Save the rule to see which tickets it matches.")
        request_user = getattr(_viewer, "user", None)
        if request_user is None:
            return "—"
        try:
            found = rule_dry_run(actor=request_user, rule=obj, limit=50)
        except DomainError as exc:
            return exc.text()
        if not found:
            return gettext("No open ticket matches now.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">#{}</a> {}</li>',
                ((reverse("tickets:staff_detail", args=[m.id]), m.id, m.title) for m in found),
            ),
        )

    @admin.display(description=_("newest firings"))
    def recent_firings(self, obj: AutomationRule) -> str:
        rows = firing_list(obj, limit=20) if obj.pk else []
        if not rows:
            return gettext("The rule has not fired yet.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · #{} · {} · {} {}</li>",
                (
                    (
                        f"{f.fired_at:%Y-%m-%d %H:%M}",
                        f.ticket_id,
                        f.get_event_display(),
                        f.get_outcome_display(),
                        f.detail,
                    )
                    for f in rows
                ),
            ),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        _viewer.user = request.user  # the dry-run is the viewer's, as the API's
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # the readonly fields are drawn now, while the viewer is known
            return response
        finally:
            _viewer.user = None

    @admin.action(description=_("Dry-run: show the open tickets the rules match now"))
    def dry_run(self, request, queryset):
        for rule in queryset:
            try:
                found = rule_dry_run(actor=request.user, rule=rule, limit=20)
            except DomainError as exc:
                self.message_user(request, f"{rule.name}: {exc.text()}", messages.ERROR)
                continue
            listed = ", ".join(f"#{m.id} {m.title}" for m in found) or "—"
            self.message_user(
                request,
                ngettext(
                    "“%(rule)s” matches %(count)d open ticket: %(list)s",
                    "“%(rule)s” matches %(count)d open tickets: %(list)s",
                    len(found),
                )
                % {"rule": rule.name, "count": len(found), "list": listed},
            )


class RuleFiringAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("fired_at", "rule", "ticket_id", "event", "outcome", "detail")
    list_filter = ("outcome", "event")
    list_select_related = ("rule",)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin_site.register(AutomationRule, AutomationRuleAdmin)
admin_site.register(RuleFiring, RuleFiringAdmin)
