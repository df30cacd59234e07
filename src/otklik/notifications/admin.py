"""Configuration pages for notification mail (F-11): the outbox, and the mail templates per event and language.

The outbox is read-only: admins see each message's state and last error, put failed ones back in line
("Retry now") and delete rows only through the confirmed list action. The mail templates page lists
every (event, language) pair, saved or not; a pair without a saved row sends Otklik's built-in text.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from otklik.accounts.roles import is_admin
from otklik.accounts.selectors import display_name
from otklik.notifications import catalog
from otklik.notifications.defaults import default_template
from otklik.notifications.forms import MailTemplateForm
from otklik.notifications.models import MailTemplate, OutboxMessage, OutboxState
from otklik.notifications.services import mail_template_reset, mail_template_save, outbox_retry
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site

LANGUAGE_NAMES = dict(settings.LANGUAGES)
# The states an admin may put back in line: a message being sent or already sent is left alone.
RETRYABLE = (OutboxState.FAILED, OutboxState.PENDING)
STATE_COLOURS = {
    OutboxState.PENDING: "#8a6d00",
    OutboxState.SENDING: "#1f5fa8",
    OutboxState.SENT: "#2e7d32",
    OutboxState.FAILED: "#c62828",
}


def _short_time(value) -> str:
    """Write a moment compactly in the viewer's time zone ("23.11.2026 14:05"), for narrow list columns."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


# -- the outbox ------------------------------------------------------------------------------------
@admin.register(OutboxMessage, site=admin_site)
class OutboxMessageAdmin(SupportAdminPermissions, admin.ModelAdmin):
    change_list_template = "notifications/admin/outbox_change_list.html"
    change_form_template = "notifications/admin/outbox_change_form.html"
    list_display = (
        "id",
        "created_short",
        "event",
        "ticket_link",
        "recipients_short",
        "subject_short",
        "state_label",
        "attempts",
        "error_short",
        "sent_short",
    )
    list_display_links = ("id", "subject_short")
    list_filter = ("state", "event", "language")
    # The address lists are JSON: the search reads their text, which is enough to find an address.
    search_fields = ("subject", "message_id", "to", "cc", "bcc")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["retry_now"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "event",
                    "language",
                    "ticket_link",
                    "state_label",
                    "attempts",
                    "error_block",
                )
            },
        ),
        (_("Times"), {"fields": ("created_at", "next_attempt_at", "lease_until", "sent_at")}),
        (_("Addresses"), {"fields": ("from_email", "to_text", "cc_text", "bcc_text")}),
        (_("Content"), {"fields": ("subject", "text_block", "html_block")}),
        (_("Threading"), {"fields": ("message_id", "references", "claim")}),
    )
    readonly_fields = (
        "event",
        "language",
        "ticket_link",
        "state_label",
        "attempts",
        "error_block",
        "created_at",
        "next_attempt_at",
        "lease_until",
        "sent_at",
        "from_email",
        "to_text",
        "cc_text",
        "bcc_text",
        "subject",
        "text_block",
        "html_block",
        "message_id",
        "references",
        "claim",
    )

    # Messages are written by the notification services only; admins look, retry and clean up.
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request, obj=None):
        return is_admin(request.user)

    def get_fieldsets(self, request, obj=None):
        # Mail to support may carry a hidden message's text: demo access sees who got what, not the text.
        fieldsets = super().get_fieldsets(request, obj)
        if is_admin(request.user):
            return fieldsets
        hidden = {"text_block", "html_block"}
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]

    def get_queryset(self, request):
        # The list never shows the bodies: leave the biggest columns in the database.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("body_text", "body_html", "references")
        return queryset

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            # Django's own action: it asks for confirmation before deleting anything.
            func, name, _description = actions["delete_selected"]
            actions["delete_selected"] = (func, name, _("Delete the chosen messages"))
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        # One place to delete: the confirmed list action.
        raise PermissionDenied

    # -- columns ----------------------------------------------------------------------------------
    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_link(self, obj: OutboxMessage) -> str:
        if obj.ticket_id is None:
            return "—"
        url = reverse("tickets:staff_detail", kwargs={"ticket_id": obj.ticket_id})
        return format_html('<a href="{}">#{}</a>', url, obj.ticket_id)

    @admin.display(description=_("recipients"))
    def recipients_short(self, obj: OutboxMessage) -> str:
        shown = list(obj.to[:2])
        more = len(obj.to) - len(shown)
        text = ", ".join(shown) or "—"
        if more > 0:
            text += " " + gettext("+%(count)d more") % {"count": more}
        extra = []
        if obj.cc:
            extra.append(gettext("cc: %(count)d") % {"count": len(obj.cc)})
        if obj.bcc:
            extra.append(gettext("bcc: %(count)d") % {"count": len(obj.bcc)})
        if not extra:
            return text
        return format_html(
            '<span title="{}">{}</span> <small class="quiet">({})</small>',
            ", ".join(obj.recipients),
            text,
            "; ".join(extra),
        )

    @admin.display(description=_("created"), ordering="created_at")
    def created_short(self, obj: OutboxMessage) -> str:
        return _short_time(obj.created_at)

    @admin.display(description=_("sent"), ordering="sent_at")
    def sent_short(self, obj: OutboxMessage) -> str:
        return _short_time(obj.sent_at)

    @admin.display(description=_("subject"), ordering="subject")
    def subject_short(self, obj: OutboxMessage) -> str:
        return format_html('<span title="{}">{}</span>', obj.subject, Truncator(obj.subject).chars(80))

    @admin.display(description=_("state"), ordering="state")
    def state_label(self, obj: OutboxMessage) -> str:
        colour = STATE_COLOURS.get(obj.state, "#555")
        return format_html(
            '<span class="outbox-state outbox-state-{}" style="display:inline-block; padding:1px 8px; '
            'border-radius:9px; color:#fff; background:{}; font-weight:bold; white-space:nowrap">{}</span>',
            obj.state,
            colour,
            obj.get_state_display(),
        )

    @admin.display(description=_("last error"))
    def error_short(self, obj: OutboxMessage) -> str:
        if not obj.last_error:
            return ""
        return format_html('<span title="{}">{}</span>', obj.last_error, Truncator(obj.last_error).chars(60))

    # -- the detail page --------------------------------------------------------------------------
    @admin.display(description=_("last error"))
    def error_block(self, obj: OutboxMessage) -> str:
        if not obj.last_error:
            return "—"
        return format_html('<pre class="outbox-error">{}</pre>', obj.last_error)

    def _addresses(self, obj: OutboxMessage, addresses: list[str]) -> str:
        if not addresses:
            return "—"
        names = obj.names or {}
        return format_html_join(
            ", ",
            "{}",
            ((f"{names[a]} <{a}>" if names.get(a) else a,) for a in addresses),
        )

    @admin.display(description=pgettext_lazy("mail header", "to"))
    def to_text(self, obj: OutboxMessage) -> str:
        return self._addresses(obj, obj.to)

    @admin.display(description=_("cc"))
    def cc_text(self, obj: OutboxMessage) -> str:
        return self._addresses(obj, obj.cc)

    @admin.display(description=_("bcc"))
    def bcc_text(self, obj: OutboxMessage) -> str:
        return self._addresses(obj, obj.bcc)

    @admin.display(description=_("text"))
    def text_block(self, obj: OutboxMessage) -> str:
        return format_html('<pre class="outbox-text">{}</pre>', obj.body_text)

    @admin.display(description=_("HTML"))
    def html_block(self, obj: OutboxMessage) -> str:
        if not obj.body_html:
            return "—"
        # An empty sandbox: the mail's HTML runs no script and cannot reach this page or its cookies.
        return format_html(
            '<iframe class="mail-html" sandbox referrerpolicy="no-referrer" srcdoc="{}" title="{}"></iframe>',
            obj.body_html,
            gettext("HTML part"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if request.method == "POST" and "_retry" in request.POST:
            if obj is None:
                raise Http404(gettext("There is no such message."))
            if not self.has_retry_permission(request, obj):
                raise PermissionDenied
            self._report_retry(request, outbox_retry(ids=[obj.pk]), 1)
            return HttpResponseRedirect(request.path)
        context = {
            **(extra_context or {}),
            "show_delete": False,
            "can_retry": obj is not None
            and obj.state in RETRYABLE
            and self.has_retry_permission(request, obj),
        }
        return super().change_view(request, object_id, form_url, context)

    # -- actions ----------------------------------------------------------------------------------
    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        """Put the chosen failed or waiting messages back in line for delivery now."""
        ids = list(queryset.values_list("pk", flat=True))
        self._report_retry(request, outbox_retry(ids=ids), len(ids))

    def _report_retry(self, request, count: int, chosen: int) -> None:
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message is back in line for delivery.",
                    "%(count)d messages are back in line for delivery.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )
        skipped = chosen - count
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message was left alone: it is being sent or already sent.",
                    "%(count)d messages were left alone: they are being sent or already sent.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


# -- mail templates --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TemplateRow:
    """One (event, language) pair of the templates list."""

    event: str
    event_label: str
    language: str
    language_name: str
    subject: str
    saved: MailTemplate | None

    @property
    def customised(self) -> bool:
        return self.saved is not None

    @property
    def updated_by_name(self) -> str:
        return display_name(self.saved.updated_by) if self.saved is not None else ""


def template_rows() -> list[TemplateRow]:
    """Return every (event, language) pair with its current subject, the saved row or None (one query)."""
    saved = {
        (row.event, row.language): row
        for row in MailTemplate.objects.select_related("updated_by").only(
            "event",
            "language",
            "subject",
            "updated_at",
            "updated_by__username",
            "updated_by__first_name",
            "updated_by__last_name",
        )
    }
    rows = []
    for event, label in catalog.EVENTS:
        for language, language_name in settings.LANGUAGES:
            row = saved.get((event, language))
            subject = row.subject if row else default_template(event, language)[0]
            rows.append(TemplateRow(event, str(label), language, str(language_name), subject, row))
    return rows


@admin.register(MailTemplate, site=admin_site)
class MailTemplateAdmin(SupportAdminPermissions, admin.ModelAdmin):
    """Every event in every language, edited on one page with the placeholders and a preview."""

    # Pairs are fixed by the event catalogue: nothing to add; "Reset to built-in text" replaces deleting.
    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        # Before the default URLs, whose catch-all "<object_id>/" would swallow these.
        wrap = self.admin_site.admin_view
        custom = [
            path(
                "edit/<str:event>/<str:language>/",
                wrap(self.edit_view),
                name="notifications_mailtemplate_edit",
            ),
            path(
                "edit/<str:event>/<str:language>/reset/",
                wrap(self.reset_view),
                name="notifications_mailtemplate_reset",
            ),
        ]
        return custom + super().get_urls()

    def _context(self, request, **extra) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def _pair(self, event: str, language: str) -> tuple[str, str]:
        if event not in catalog.EVENT_LABELS or language not in LANGUAGE_NAMES:
            raise Http404(gettext("There is no such event or language."))
        return event, language

    def changelist_view(self, request, extra_context=None):
        """List every (event, language) pair, marked built-in or customised."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = self._context(
            request,
            title=gettext("Mail templates"),
            rows=template_rows(),
            can_change=self.has_change_permission(request),
            **(extra_context or {}),
        )
        return TemplateResponse(request, "notifications/admin/mail_template_list.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Links to a saved row (recent actions, history) lead to its pair's edit page.
        row = self.get_object(request, object_id)
        if row is None:
            return redirect("admin:notifications_mailtemplate_changelist")
        return redirect("admin:notifications_mailtemplate_edit", row.event, row.language)

    def edit_view(self, request, event, language):
        """Edit one pair's subject and text; "Preview" renders the unsaved input with made-up values."""
        event, language = self._pair(event, language)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        saved = (
            MailTemplate.objects.select_related("updated_by").filter(event=event, language=language).first()
        )
        built_in_subject, built_in_body = default_template(event, language)
        instance = saved or MailTemplate(event=event, language=language)
        preview = None
        if request.method == "POST":
            previewing = "_preview" in request.POST
            if not previewing and not self.has_change_permission(request, saved):
                raise PermissionDenied
            form = MailTemplateForm(request.POST, instance=instance, language=language)
            if form.is_valid():
                if previewing:
                    preview = form.preview()
                else:
                    self._save(request, form, added=saved is None)
                    self.message_user(
                        request,
                        gettext("The mail template “%(template)s” is saved.") % {"template": form.instance},
                        messages.SUCCESS,
                    )
                    if "_continue" in request.POST:
                        return redirect("admin:notifications_mailtemplate_edit", event, language)
                    return redirect("admin:notifications_mailtemplate_changelist")
        else:
            initial = {} if saved else {"subject": built_in_subject, "body": built_in_body}
            form = MailTemplateForm(instance=instance, initial=initial, language=language)
        label = catalog.EVENT_LABELS[event]
        context = self._context(
            request,
            title=gettext("%(event)s — %(language)s")
            % {"event": label, "language": LANGUAGE_NAMES[language]},
            event=event,
            event_label=label,
            language=language,
            language_name=LANGUAGE_NAMES[language],
            saved=saved,
            form=form,
            preview=preview,
            placeholders=catalog.PLACEHOLDERS,
            built_in_subject=built_in_subject,
            built_in_body=built_in_body,
            for_author=event in catalog.AUTHOR_EVENTS,
            can_change=self.has_change_permission(request, saved),
            media=self.media + form.media,
        )
        return TemplateResponse(request, "notifications/admin/mail_template_edit.html", context)

    # "Preview" posts the unsaved text and saves nothing: demo access may use it (ui/admin_site.py).
    edit_view.demo_may_post = lambda request: "_preview" in request.POST

    def _save(self, request, form: MailTemplateForm, *, added: bool) -> MailTemplate:
        with transaction.atomic():
            template = mail_template_save(
                actor=request.user,
                event=form.instance.event,
                language=form.instance.language,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
            change_message = self.construct_change_message(request, form, None, added)
            if added:
                self.log_addition(request, template, change_message)
            else:
                self.log_change(request, template, change_message)
        return template

    def reset_view(self, request, event, language):
        """Ask, then delete the pair's saved text so Otklik's built-in text applies again."""
        event, language = self._pair(event, language)
        saved = MailTemplate.objects.filter(event=event, language=language).first()
        if not self.has_change_permission(request, saved):
            raise PermissionDenied
        if saved is None:
            self.message_user(
                request, gettext("This template already uses the built-in text."), messages.INFO
            )
            return redirect("admin:notifications_mailtemplate_edit", event, language)
        if request.method == "POST":
            with transaction.atomic():
                self.log_deletions(request, [saved])
                mail_template_reset(event=event, language=language)
            self.message_user(
                request,
                gettext("“%(template)s” uses the built-in text again.") % {"template": saved},
                messages.SUCCESS,
            )
            return redirect("admin:notifications_mailtemplate_changelist")
        context = self._context(
            request,
            title=gettext("Reset to the built-in text?"),
            template=saved,
            event=event,
            language=language,
            built_in_subject=default_template(event, language)[0],
        )
        return TemplateResponse(request, "notifications/admin/mail_template_reset.html", context)
