from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path

from otklik.api.api import api
from otklik.ui.admin_site import admin_site


def _public(urls):
    """Let every view of an included URL set past LoginRequiredMiddleware (it checks access itself).

    The API answers 401 as JSON instead of a login redirect; the language switch serves visitors too.
    """
    patterns, app_name, namespace = urls if isinstance(urls, tuple) else (urls, None, None)

    def walk(items):
        for item in items:
            if isinstance(item, URLResolver):
                walk(item.url_patterns)
            elif isinstance(item, URLPattern):
                callback = item.callback
                try:
                    login_not_required(callback)
                except AttributeError:  # a bound method: wrap it
                    item.callback = login_not_required(lambda *a, _c=callback, **k: _c(*a, **k))

    walk(patterns if isinstance(patterns, list | tuple) else patterns.urlpatterns)
    return urls


urlpatterns = [
    path("admin/", admin_site.urls),
    path("api/v1/", _public(api.urls)),
    path("i18n/", _public(include("django.conf.urls.i18n"))),
    path("", include("otklik.web.urls")),
]
