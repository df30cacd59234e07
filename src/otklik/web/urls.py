from django.urls import include, path

from otklik.web.health import healthz, readyz
from otklik.web.metrics import metrics
from otklik.web.views import home

urlpatterns = [
    path("", home, name="home"),
    # Operations (docs/production/health-and-metrics.md): public probes, and the protected figures.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("", include("otklik.accounts.urls")),
    path("", include("otklik.tickets.urls")),
    path("", include("otklik.mail.urls")),
    path("", include("otklik.workflow.urls")),
    path("", include("otklik.kb.urls")),
    path("", include("otklik.coupons.urls")),
    path("", include("otklik.reports.urls")),
    path("", include("otklik.notifications.urls")),
]
