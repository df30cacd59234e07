"""The configuration pages (Django admin) opened to support administrators, and read-only to demo access."""

from functools import wraps

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.ui.admin_access import admin_access

# What demo access may still POST on these pages: leaving.
DEMO_POST_ALLOWED = frozenset({"logout"})


class OtklikAdminSite(admin.AdminSite):
    site_header = _("Otklik configuration")
    site_title = _("Otklik configuration")
    index_title = _("Dictionaries, groups, SLA and options")
    # The site's top bar (admin/base_site.html) and the index lead everywhere; without the side list the
    # forms keep the width they need (the SLA level fits one screen) and narrow phones do not scroll sideways.
    enable_nav_sidebar = False

    def has_permission(self, request):
        # Demo sees every configuration page (SPEC F-01); what it may do there is read-only.
        return request.user.is_active and admin_access().may_look(request.user)

    def admin_view(self, view, cacheable=False):
        """Refuse every write of demo access on every page of the site, before the page's own code runs."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request, *args, **kwargs):
            reads_only = getattr(view, "demo_may_post", None)  # a POST that only shows (a preview)
            if (
                request.method not in ("GET", "HEAD", "OPTIONS")
                and admin_access().looks_only(request.user)
                and getattr(view, "__name__", "") not in DEMO_POST_ALLOWED
                and not (reads_only is not None and reads_only(request))
            ):
                messages.warning(request, gettext("Demo access is read-only: nothing was saved."))
                return redirect(request.get_full_path())
            return inner(request, *args, **kwargs)

        return guarded


admin_site = OtklikAdminSite(name="admin")
