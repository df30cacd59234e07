"""Configuration pages: module options (Django admin, opened to support admins).

Also the record of deleted tickets: read-only for everyone, admins and demo access look at it.
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from otklik.core import clock
from otklik.core.errors import ValidationFailed
from otklik.tickets.models import CustomField, ModuleOptions, Tag, TicketDeletion, tag_key
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


class TagForm(forms.ModelForm):
    """A tag's name (cleaned as the service cleans typed names) and its colour picked with the browser's own
    colour input; "no colour" leaves the chip plain (an <input type=color> always holds some colour)."""

    no_colour = forms.BooleanField(label=_("no colour"), required=False)

    class Meta:
        model = Tag
        fields = ("name", "colour")
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colour"].required = False
        self.fields["no_colour"].initial = not (self.instance and self.instance.colour)

    def clean_name(self) -> str:
        from otklik.tickets.services.tags import tag_name_clean

        try:
            name = tag_name_clean(self.cleaned_data.get("name"))
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.text()) from None
        taken = Tag.objects.filter(key=tag_key(name)).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("A tag with this name exists already."))
        return name

    def clean(self):
        data = super().clean()
        if data.get("name"):
            self.instance.key = tag_key(data["name"])
        if data.get("no_colour"):
            data["colour"] = ""
            self.instance.colour = ""
        return data


@admin.register(Tag, site=admin_site)
class TagAdmin(SupportAdminPermissions, admin.ModelAdmin):
    """Tags are created by staff as they tag tickets; admins rename them and give them colours here."""

    form = TagForm
    list_display = ("name", "colour_shown", "created_at")
    search_fields = ("name",)
    ordering = ("name",)
    list_per_page = 100

    @admin.display(description=_("colour"), ordering="colour")
    def colour_shown(self, obj: Tag) -> str:
        if not obj.colour:
            return "—"
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;border-radius:50%;background:{};'
            'vertical-align:middle" aria-hidden="true"></span> {}',
            obj.colour,
            obj.colour,
        )

    def save_model(self, request, obj: Tag, form, change) -> None:
        if obj.created_at is None:
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)
