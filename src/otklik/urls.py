from django.urls import include, path

from otklik.api.api import api
from otklik.web.admin_site import admin_site

urlpatterns = [
    path("admin/", admin_site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("otklik.web.urls")),
]
