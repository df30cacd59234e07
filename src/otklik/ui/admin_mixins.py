"""Let support administrators (not only Django superusers) use the configuration pages."""

from otklik.ui.admin_access import admin_access


class SupportAdminPermissions:
    """Grant the configuration pages to support admins; demo access may look but not change."""

    def has_module_permission(self, request):
        return admin_access().may_look(request.user)

    def has_view_permission(self, request, obj=None):
        return admin_access().may_look(request.user)

    def has_add_permission(self, request, *args):
        return admin_access().may_change(request.user)

    def has_change_permission(self, request, obj=None):
        return admin_access().may_change(request.user)

    def has_delete_permission(self, request, obj=None):
        return admin_access().may_change(request.user)

    def get_actions(self, request):
        # Every list action writes something: demo gets none (and no action bar).
        if admin_access().looks_only(request.user):
            return {}
        return super().get_actions(request)
