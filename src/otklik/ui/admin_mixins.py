"""Let support administrators (not only Django superusers) use the configuration pages."""

from django.utils.text import capfirst
from django.utils.translation import gettext

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


class LabelledListEditable:
    """Name every field a list edits in place after its column and its row ("Sort: Billing").

    Django's changelist draws `list_editable` inputs with no label; a screen reader would hear "edit
    text" forty times. The name goes into aria-label, so the table looks the same.
    """

    def get_changelist_form(self, request, **kwargs):
        base = super().get_changelist_form(request, **kwargs)

        class Labelled(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                for field in self.fields.values():
                    if field.widget.is_hidden:
                        continue
                    field.widget.attrs["aria-label"] = gettext("%(field)s: %(row)s") % {
                        "field": capfirst(str(field.label)),
                        "row": self.instance,
                    }

        return Labelled
