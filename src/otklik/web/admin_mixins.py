"""Let support administrators (not only Django superusers) use the configuration pages."""

from otklik.accounts.roles import is_admin, is_demo, is_demo_only


class SupportAdminPermissions:
    """Grant the configuration pages to support admins; demo access may look but not change."""

    def has_module_permission(self, request):
        return is_admin(request.user) or is_demo(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user) or is_demo(request.user)

    def has_add_permission(self, request, *args):
        return is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)

    def get_actions(self, request):
        # Every list action writes something: demo gets none (and no action bar).
        if is_demo_only(request.user):
            return {}
        return super().get_actions(request)
