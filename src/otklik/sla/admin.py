from django.contrib import admin

from otklik.sla.models import SlaLevel
from otklik.web.admin_mixins import SupportAdminPermissions
from otklik.web.admin_site import admin_site


@admin.register(SlaLevel, site=admin_site)
class SlaLevelAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("name", "priority", "response_time", "response_unit", "timetable", "is_default", "active")
    list_filter = ("active", "is_default")
    filter_horizontal = ("groups",)
    search_fields = ("name",)
