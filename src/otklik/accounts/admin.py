"""Configuration pages: users, module access levels of user groups, support groups."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from otklik.accounts.models import ApiToken, GroupAccess, Profile, SupportGroup, SupportGroupMember
from otklik.web.admin_mixins import SupportAdminPermissions
from otklik.web.admin_site import admin_site


class GroupAccessInline(admin.StackedInline):
    model = GroupAccess
    can_delete = True
    max_num = 1


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False


@admin.register(User, site=admin_site)
class OtklikUserAdmin(SupportAdminPermissions, UserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "is_active")


@admin.register(Group, site=admin_site)
class OtklikGroupAdmin(SupportAdminPermissions, GroupAdmin):
    inlines = [GroupAccessInline]
    list_display = ("name", "access_level")

    @admin.display(description="access level")
    def access_level(self, obj):
        access = getattr(obj, "support_access", None)
        return access.get_level_display() if access else "—"


class SupportGroupMemberInline(admin.TabularInline):
    model = SupportGroupMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(SupportGroup, site=admin_site)
class SupportGroupAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("name", "kind", "sort")
    list_filter = ("kind",)
    search_fields = ("name",)
    inlines = [SupportGroupMemberInline]


@admin.register(ApiToken, site=admin_site)
class ApiTokenAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
