"""The configuration pages (Django admin) opened to support administrators."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from otklik.accounts.roles import is_admin


class OtklikAdminSite(admin.AdminSite):
    site_header = _("Otklik configuration")
    site_title = _("Otklik configuration")
    index_title = _("Dictionaries, groups, SLA and options")

    def has_permission(self, request):
        return request.user.is_active and is_admin(request.user)


admin_site = OtklikAdminSite(name="admin")
