"""Configuration pages for fair assignment (issue 18, P7): assignment pools, working hours, absences."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from otklik.accounts.selectors import display_name, support_user_list
from otklik.core import clock
from otklik.routing.models import AgentAbsence, AgentWorkTime, AssignmentPool
from otklik.ui.admin_mixins import LabelledListEditable, SupportAdminPermissions
from otklik.ui.admin_site import admin_site


class SupportPersonChoice:
    """Offer only support people (staff or admin rights) in the "support person" field."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = support_user_list()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(AssignmentPool, site=admin_site)
class AssignmentPoolAdmin(LabelledListEditable, SupportAdminPermissions, admin.ModelAdmin):
    list_display = (
        "__str__",
        "mode",
        "support_group",
        "category",
        "sla",
        "sort",
        "active",
        "last_assigned_name",
    )
    list_display_links = ("__str__",)
    list_editable = ("sort", "active")
    list_filter = ("active", "mode")
    list_select_related = ("support_group", "category", "sla", "last_assigned")
    search_fields = ("name_ru", "name_en", "support_group__name")
    ordering = ("sort", "id")
    fieldsets = (
        (None, {"fields": ("name_ru", "name_en", "mode", "support_group", "active", "sort")}),
        (
            _("Which new tickets"),
            {
                "fields": ("category", "sla"),
                "description": _(
                    "The first active pool (lowest sort) whose category and SLA match a new ticket chooses its "
                    "responsible, right after a manual choice by support. Members who are absent or outside "
                    "their working hours are passed over; when nobody may take the ticket, the usual order "
                    "of the responsible's choice goes on."
                ),
            },
        ),
        (_("Turn"), {"fields": ("last_assigned_name",)}),
    )
    readonly_fields = ("last_assigned_name",)

    @admin.display(description=_("last assigned"))
    def last_assigned_name(self, pool: AssignmentPool) -> str:
        return display_name(pool.last_assigned) or "—"


@admin.register(AgentWorkTime, site=admin_site)
class AgentWorkTimeAdmin(SupportPersonChoice, SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("person", "timetable")
    list_select_related = ("user", "timetable")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    fields = ("user", "timetable")

    @admin.display(description=_("support person"), ordering="user__last_name")
    def person(self, work: AgentWorkTime) -> str:
        return display_name(work.user)


@admin.register(AgentAbsence, site=admin_site)
class AgentAbsenceAdmin(SupportPersonChoice, SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("person", "starts_at", "ends_at", "reason", "now_away", "note")
    list_filter = ("reason",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "note")
    date_hierarchy = "starts_at"
    fields = ("user", "starts_at", "ends_at", "reason", "note")

    @admin.display(description=_("support person"), ordering="user__last_name")
    def person(self, absence: AgentAbsence) -> str:
        return display_name(absence.user)

    @admin.display(description=_("away now"), boolean=True)
    def now_away(self, absence: AgentAbsence) -> bool:
        return absence.starts_at <= clock.now() < absence.ends_at
