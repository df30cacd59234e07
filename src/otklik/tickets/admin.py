"""Configuration pages: module options (Django admin, opened to support admins).

Also the record of deleted tickets: read-only for everyone, admins and demo access look at it.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from otklik.tickets.models import CustomField, ModuleOptions, TicketDeletion
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site


@admin.register(ModuleOptions, site=admin_site)
class ModuleOptionsAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("__str__", "default_responsible", "auto_close_days", "presence_minutes")
    fieldsets = (
        (
            _("Responsible"),
            {
                "fields": ("responsible_order", "default_responsible", "staff_see_unassigned"),
                "description": _("Who gets a new ticket when nobody is chosen by hand."),
            },
        ),
        (_("Tickets"), {"fields": ("auto_close_days", "presence_minutes", "list_page_size")}),
        (pgettext_lazy("module options", "New tickets"), {"fields": ("wizard_enabled", "coupon_mask")}),
        (_("SLA"), {"fields": ("postponed_pauses_sla",)}),
        (_("Mail"), {"fields": ("notify_overdue", "bcc_admins", "mail_max_size_mb", "mail_max_seconds")}),
        (
            _("File limits"),
            {"fields": ("client_file_limit_mb", "client_message_limit_mb", "staff_file_limit_mb")},
        ),
    )

    def get_fieldsets(self, request, obj=None):
        # An option added to the model later still shows up, in "Other", until it gets its place above.
        listed = {name for _title, options in self.fieldsets for name in options["fields"]}
        rest = [name for name in self.get_fields(request, obj) if name not in listed]
        return self.fieldsets + (((_("Other"), {"fields": rest}),) if rest else ())

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request) and not ModuleOptions.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """Go straight to the single options row (created with defaults when missing)."""
        from django.shortcuts import redirect

        from otklik.tickets.services.options import module_options_ensure

        return redirect("admin:tickets_moduleoptions_change", module_options_ensure().pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show the single options row; readers answer defaults without it, so create it here if missing."""
        from otklik.tickets.services.options import module_options_ensure

        module_options_ensure()
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(CustomField, site=admin_site)
class CustomFieldAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("code", "name_ru", "name_en", "kind", "staff_only", "sort", "active")
    list_filter = ("kind", "active", "staff_only")


@admin.register(TicketDeletion, site=admin_site)
class TicketDeletionAdmin(SupportAdminPermissions, admin.ModelAdmin):
    """Deleted tickets, newest first: written by the delete service only, never changed or removed here."""

    list_display = (
        "ticket_number",
        "title",
        "author_shown",
        "created_at",
        "deleted_at",
        "deleted_by_shown",
        "message_count",
        "attachment_count",
    )
    list_display_links = ("ticket_number", "title")
    search_fields = ("=ticket_id", "title", "author_email", "author_name", "deleted_by_name")
    date_hierarchy = "deleted_at"
    ordering = ("-deleted_at", "-id")
    list_per_page = 50
    fields = (
        "ticket_id",
        "title",
        "author_shown",
        "author_email",
        "created_at",
        "deleted_at",
        "deleted_by_shown",
        "message_count",
        "attachment_count",
        "event_count",
        "last_event_hash",
    )
    readonly_fields = fields

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the trace of a deletion is not deleted in turn

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_number(self, obj: TicketDeletion) -> str:
        return f"#{obj.ticket_id}"

    @admin.display(description=_("author"), ordering="author_name")
    def author_shown(self, obj: TicketDeletion) -> str:
        return obj.author_name or obj.author_email or "—"

    @admin.display(description=_("deleted by"), ordering="deleted_by_name")
    def deleted_by_shown(self, obj: TicketDeletion) -> str:
        return obj.deleted_by_name or "—"
