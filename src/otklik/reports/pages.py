"""What every report page shares: the staff-only check, the period filter bar, the reports' navigation, the
export switch (?format=csv|xlsx) and the context of `reports/_base.html`."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.accounts.models import SupportGroup
from otklik.accounts.selectors import support_group_list
from otklik.reports.export import FORMATS
from otklik.reports.forms import PeriodForm
from otklik.reports.period import PeriodFilters
from otklik.sla.models import SlaLevel
from otklik.tickets.policies import TicketPolicy

# The reports, in the navigation's order: (URL name, title). Each page's view is in its own module.
NAV = (
    ("reports:desk", gettext_lazy("Support desk")),
    ("reports:load", gettext_lazy("Load")),
    ("reports:sla", gettext_lazy("SLA compliance")),
    ("reports:response_times", gettext_lazy("Response times")),
    ("reports:funnel", gettext_lazy("Three-tier funnel")),
    ("reports:deflection", gettext_lazy("Knowledge base")),
)


def staff_policy(request: HttpRequest) -> TicketPolicy:
    """Return the viewer's ticket policy; refuse anyone who does not see the support view."""
    policy = TicketPolicy(request.user)
    if not policy.sees_support_view:
        raise PermissionDenied(_("The reports are for support staff."))
    return policy


@dataclass
class PeriodPage:
    """A report page's filters as parsed from its URL, the bound form, and the export asked for."""

    policy: TicketPolicy
    form: PeriodForm
    filters: PeriodFilters
    export: str | None
    query: str

    def context(self, url_name: str, **extra) -> dict:
        """Return the template context every report page uses, plus the page's own."""
        return {
            "form": self.form,
            "filters": self.filters,
            "query": self.query,
            "nav": nav(url_name),
            **extra,
        }


def period_page(request: HttpRequest) -> PeriodPage:
    """Parse a period report's URL: the staff check, the filter form (invalid values fall back to the
    defaults and show their message), and ?format=csv|xlsx."""
    policy = staff_policy(request)
    slas = list(SlaLevel.objects.all())
    groups = list(support_group_list(SupportGroup.Kind.STAFF))
    form = PeriodForm(request.GET, slas=slas, groups=groups)
    filters = form.filters()
    fmt = request.GET.get("format", "")
    query = request.GET.copy()
    query.pop("format", None)
    return PeriodPage(
        policy=policy,
        form=form,
        filters=filters,
        export=fmt if fmt in FORMATS else None,
        query=query.urlencode(),
    )


def nav(current: str) -> list[dict]:
    """Return the reports' navigation with the current page marked."""
    return [{"url": reverse(name), "label": label, "active": name == current} for name, label in NAV]
