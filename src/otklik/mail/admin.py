"""Admin pages for incoming mail (F-15): mailboxes with their rules, and every message received.

Passwords are write-only: the form never puts a stored one back into the page, and leaving the field
empty keeps it. The incoming mail list shows the outcome of each message; a quarantined one shows why,
its original can be read and downloaded byte for byte, and admins process it again after a fix.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from otklik.accounts.roles import is_admin
from otklik.core.errors import DomainError
from otklik.mail.models import InboundMail, Mailbox, Outcome
from otklik.mail.services import mail_reprocess
from otklik.mail.threading import pattern_problem
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site

ORIGINAL_SHOWN = 200_000  # characters of the original shown on the page; the download has all of it


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password."),
    )

    class Meta:
        model = Mailbox
        fields = (
            "code",
            "name",
            "protocol",
            "active",
            "host",
            "port",
            "security",
            "username",
            "password",
            "folder",
            "delete_after_fetch",
            "user_lookup",
            "append_security",
            "add_hidden",
            "cc_from_mail",
            "subject_patterns",
            "category",
            "criticality",
        )

    def clean_password(self) -> str:
        given = self.cleaned_data.get("password") or ""
        return given or (self.instance.password if self.instance.pk else "")

    def clean_subject_patterns(self) -> str:
        source = self.cleaned_data["subject_patterns"]
        problem = pattern_problem(source)
        if problem:
            raise forms.ValidationError(
                gettext(
                    "Line %(problem)s: each line must be a regular expression with a group for the number."
                )
                % {"problem": problem}
            )
        return source

    def clean(self):
        cleaned = super().clean()
        polled = cleaned.get("protocol") in (Mailbox.Protocol.IMAP, Mailbox.Protocol.POP3)
        if polled and not cleaned.get("host"):
            self.add_error("host", gettext("A polled mailbox needs its server."))
        if polled and not cleaned.get("username"):
            self.add_error("username", gettext("A polled mailbox needs the user name to sign in with."))
        return cleaned


@admin.register(Mailbox, site=admin_site)
class MailboxAdmin(SupportAdminPermissions, admin.ModelAdmin):
    form = MailboxForm
    list_display = ("code", "name", "protocol", "host", "active", "last_polled_at", "error_short")
    list_filter = ("protocol", "active")
    search_fields = ("code", "name", "host", "username")
    readonly_fields = ("last_polled_at", "last_error", "uid_validity", "last_uid")
    fieldsets = (
        (None, {"fields": ("code", "name", "protocol", "active")}),
        (
            _("Server"),
            {"fields": ("host", "port", "security", "username", "password", "folder", "delete_after_fetch")},
        ),
        (
            _("Rule"),
            {
                "fields": (
                    "user_lookup",
                    "append_security",
                    "add_hidden",
                    "cc_from_mail",
                    "subject_patterns",
                    "category",
                    "criticality",
                )
            },
        ),
        (_("State"), {"fields": ("last_polled_at", "last_error", "uid_validity", "last_uid")}),
    )

    @admin.display(description=_("last error"))
    def error_short(self, obj: Mailbox) -> str:
        return (obj.last_error or "")[:80]


@admin.register(InboundMail, site=admin_site)
class InboundMailAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("id", "received_at", "outcome", "reason", "sender", "subject", "ticket_link", "mailbox")
    list_filter = ("outcome", "reason", "automatic", "mailbox")
    search_fields = ("sender", "subject", "message_id")
    date_hierarchy = "received_at"
    actions = ["process_again"]
    fields = (
        "received_at",
        "mailbox",
        "source",
        "size",
        "outcome",
        "reason",
        "reason_text",
        "ticket_link",
        "sender",
        "subject",
        "message_id",
        "automatic",
        "attempts",
        "processed_at",
        "processed_by",
        "original",
    )
    readonly_fields = fields

    # Mail is written by the transports only; admins look, download, process again and clean up.
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_reprocess_permission(self, request, obj=None):
        return is_admin(request.user)

    def get_fields(self, request, obj=None):
        # The original carries the quoted history, which may quote internal notes: not for demo access.
        fields = super().get_fields(request, obj)
        return fields if is_admin(request.user) else [f for f in fields if f != "original"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("mailbox")
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("raw", "reason_text")  # the list never needs the bytes
        return queryset

    def get_urls(self):
        own = [
            path(
                "<int:object_id>/original/",
                self.admin_site.admin_view(self.original_view),
                name="mail_inboundmail_original",
            )
        ]
        return own + super().get_urls()

    def original_view(self, request, object_id: int):
        """Download the message exactly as it arrived (.eml)."""
        row = self.get_object(request, str(object_id))
        if row is None or not self.has_view_permission(request, row) or not is_admin(request.user):
            return HttpResponse(status=404)
        response = HttpResponse(bytes(row.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="mail-{row.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_link(self, obj: InboundMail) -> str:
        if not obj.ticket_id:
            return "—"
        url = reverse("tickets:staff_detail", kwargs={"ticket_id": obj.ticket_id})
        return format_html('<a href="{}">#{}</a>', url, obj.ticket_id)

    @admin.display(description=_("original message"))
    def original(self, obj: InboundMail) -> str:
        text = bytes(obj.raw).decode("utf-8", errors="replace")
        shown = text[:ORIGINAL_SHOWN]
        url = reverse("admin:mail_inboundmail_original", kwargs={"object_id": obj.pk})
        more = gettext("… (shortened; download the whole message)") if len(text) > len(shown) else ""
        return format_html(
            '<p><a href="{}">{}</a></p><pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">'
            "{}{}</pre>",
            url,
            gettext("Download the original (.eml)"),
            shown,
            more,
        )

    @admin.action(description=_("Process the chosen messages again"), permissions=["reprocess"])
    def process_again(self, request, queryset):
        done = failed = 0
        for row in queryset.filter(outcome__in=[Outcome.QUARANTINED, Outcome.RECEIVED]):
            try:
                result = mail_reprocess(actor=request.user, inbound=row)
            except DomainError as exc:
                self.message_user(request, f"#{row.pk}: {exc}", messages.ERROR)
                continue
            if result.outcome == Outcome.QUARANTINED:
                failed += 1
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d message was taken in.", "%(n)d messages were taken in.", done) % {"n": done},
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(n)d message is still in quarantine.", "%(n)d messages are still in quarantine.", failed
                )
                % {"n": failed},
                messages.WARNING,
            )
        if not done and not failed:
            self.message_user(
                request, gettext("Only quarantined messages can be processed again."), messages.INFO
            )
