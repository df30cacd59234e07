"""The dictionaries' configuration page (Django admin, opened to support admins)."""

from django.contrib import admin, messages
from django.db.models.deletion import ProtectedError
from django.utils.translation import gettext_lazy as _

from otklik.dictionaries.models import DictionaryEntry
from otklik.ui.admin_mixins import LabelledListEditable, SupportAdminPermissions
from otklik.ui.admin_site import admin_site


@admin.register(DictionaryEntry, site=admin_site)
class DictionaryEntryAdmin(LabelledListEditable, SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("name_ru", "name_en", "kind", "code", "sort", "is_default", "active", "responsible")
    list_filter = ("kind", "active", "is_default")
    list_editable = ("sort", "active")
    search_fields = ("name_ru", "name_en", "code")
    ordering = ("kind", "sort", "id")
    actions = ["deactivate"]

    @admin.action(description=_("Deactivate the chosen entries"))
    def deactivate(self, request, queryset):
        from otklik.dictionaries.services import dictionary_entries_deactivate

        dictionary_entries_deactivate(entries=queryset)

    def get_deleted_objects(self, objs, request):
        """Do not stop at "protected" tickets: entries in use get deactivated in delete_model."""
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, []

    def delete_model(self, request, obj):
        """Entries in use are deactivated, not deleted (F-05)."""
        try:
            super().delete_model(request, obj)
        except ProtectedError:
            obj.active = False
            obj.save(update_fields=["active"])
            messages.warning(
                request, _("“%(name)s” is in use, so it was deactivated instead of deleted.") % {"name": obj}
            )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "responsible":
            from otklik.accounts.selectors import support_user_list

            kwargs["queryset"] = support_user_list()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
