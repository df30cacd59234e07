from django.urls import include, path

from otklik.web.views import home

urlpatterns = [
    path("", home, name="home"),
    path("", include("otklik.accounts.urls")),
    path("", include("otklik.tickets.urls")),
    path("", include("otklik.mail.urls")),
    path("", include("otklik.workflow.urls")),
    path("", include("otklik.kb.urls")),
    path("", include("otklik.coupons.urls")),
    path("", include("otklik.reports.urls")),
    path("", include("otklik.notifications.urls")),
]
