"""Configuration pages for coupons (F-21): the list, generating coupons, one coupon with its usage log.

Coupons are made only by `coupon_generate` (the generation page) and changed only by `coupon_deactivate`
(the list's action and the button on a coupon's page): the standard add and change forms are read-only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from otklik.core.errors import DomainError
from otklik.coupons.forms import CouponGenerateForm
from otklik.coupons.masks import mask_current
from otklik.coupons.models import Coupon, CouponUse
from otklik.coupons.services import coupon_deactivate, coupon_generate
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site
from otklik.ui.forms import apply_errors


def ticket_link(number: int | None) -> str:
    """Link a ticket's number to its staff page ("—" when the attempt made no ticket)."""
    if number is None:
        return "—"
    try:
        url = reverse("tickets:staff_detail", args=[number])
    except NoReverseMatch:  # the tickets pages are not mounted (a bare configuration site)
        return f"#{number}"
    return format_html('<a href="{}">#{}</a>', url, number)


class CouponUseInline(SupportAdminPermissions, admin.TabularInline):
    """The usage log on the coupon's page: who, when, which ticket, the result, the uses left after."""

    model = CouponUse
    extra = 0
    can_delete = False
    ordering = ("-at", "-id")
    fields = ("at", "who", "ticket", "success", "reason", "uses_left_after", "via")
    readonly_fields = fields
    verbose_name_plural = _("usage log")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("who"))
    def who(self, use: CouponUse) -> str:
        if use.user is not None:
            return use.user.get_full_name() or use.user.get_username()
        return use.email or "—"

    @admin.display(description=_("ticket"))
    def ticket(self, use: CouponUse) -> str:
        return ticket_link(use.ticket_number)


@admin.register(Coupon, site=admin_site)
class CouponAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = (
        "code",
        "sla",
        "uses_left",
        "used_count",
        "is_active",
        "active_from",
        "active_to",
        "created_at",
        "note",
    )
    list_filter = ("is_active", "sla")
    list_select_related = ("sla",)
    search_fields = ("code", "note")
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = (
        "code",
        "sla",
        "uses_left",
        "used_count",
        "is_active",
        "active_from",
        "active_to",
        "note",
        "created_at",
        "created_by",
    )
    readonly_fields = fields
    inlines = (CouponUseInline,)
    actions = ("deactivate",)
    change_list_template = "coupons/admin/change_list.html"
    change_form_template = "coupons/admin/change_form.html"

    def get_search_results(self, request, queryset, search_term):
        # Codes are stored upper-case; a pasted code may come with spaces or in lower case.
        code = Coupon.objects.filter(code=search_term.strip().upper())
        found, duplicates = super().get_search_results(request, queryset, search_term)
        return found | queryset.filter(pk__in=code.values("pk")), duplicates

    def has_add_permission(self, request, *args):
        return False  # the generation page makes coupons

    def has_change_permission(self, request, obj=None):
        return False  # read-only; the deactivate action and button change them

    def has_delete_permission(self, request, obj=None):
        return False  # a coupon's log is the record of what was sold and used: deactivate instead

    def may_change(self, request) -> bool:
        return super().has_change_permission(request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.may_change(request):
            actions.pop("deactivate", None)
        return actions

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path("generate/", view(self.generate_view), name="coupons_coupon_generate"),
            path(
                "<path:object_id>/deactivate/", view(self.deactivate_view), name="coupons_coupon_deactivate"
            ),
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        context = {**(extra_context or {}), "may_generate": self.may_change(request)}
        return super().changelist_view(request, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {**(extra_context or {}), "may_deactivate": self.may_change(request)}
        return super().change_view(request, object_id, form_url, context)

    @admin.action(description=_("Deactivate the chosen coupons"))
    def deactivate(self, request, queryset):
        if not self.may_change(request):
            raise PermissionDenied
        done = 0
        for coupon in queryset.filter(is_active=True):
            coupon_deactivate(coupon=coupon, actor=request.user)
            done += 1
        self.message_user(
            request,
            ngettext("%(count)d coupon deactivated.", "%(count)d coupons deactivated.", done)
            % {"count": done},
            messages.SUCCESS,
        )

    def deactivate_view(self, request, object_id):
        """Switch one coupon off (POST from its page's button)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        coupon = self.get_object(request, object_id)
        if coupon is None:
            raise Http404(gettext("There is no such coupon."))
        if not self.may_change(request):
            raise PermissionDenied
        coupon_deactivate(coupon=coupon, actor=request.user)
        self.message_user(
            request, gettext("Coupon %(code)s is deactivated.") % {"code": coupon.code}, messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:coupons_coupon_change", args=[coupon.pk]))

    def generate_view(self, request):
        """Generate coupons from the mask option and show their codes."""
        if not self.may_change(request):
            raise PermissionDenied
        form = CouponGenerateForm(request.POST or None)
        made: list[Coupon] = []
        mask = mask_current()
        if request.method == "POST" and form.is_valid():
            try:
                made = coupon_generate(spec=form.spec(mask), actor=request.user)
            except DomainError as exc:
                apply_errors(form, exc)
            else:
                self.message_user(
                    request,
                    ngettext("%(count)d coupon created.", "%(count)d coupons created.", len(made))
                    % {"count": len(made)},
                    messages.SUCCESS,
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Generate coupons"),
            "form": form,
            "mask": mask,
            "made": made,
            "codes_text": "\n".join(c.code for c in made),
        }
        return TemplateResponse(
            request, "coupons/admin/generate.html", context, status=400 if form.errors else 200
        )
