"""The calibration endpoint of `bench.bare_insert`: Otklik's stack (settings, middleware, ninja, granian)
serving one POST that inserts one row and answers 201 with its id. Not part of the product."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")

from django.conf import settings  # noqa: E402
from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import URLPattern, path  # noqa: E402
from ninja import NinjaAPI, Schema, Status  # noqa: E402

TABLE = "bench_bare_insert"
api = NinjaAPI(urls_namespace="bench-bare")


class RowIn(Schema):
    title: str
    message: str = ""


class RowOut(Schema):
    id: int


@api.post("/rows", response={201: RowOut})
def row_create(request, payload: RowIn):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (title, body) VALUES (%s, %s) RETURNING id",
            [payload.title, payload.message],
        )
        (row_id,) = cursor.fetchone()
    return Status(201, {"id": row_id})


urlpatterns = [path("bare/", api.urls)]
# Past LoginRequiredMiddleware, as otklik.urls lets the real API's views past it (the API checks access itself).
for _pattern in urlpatterns[0].url_patterns:
    if isinstance(_pattern, URLPattern):
        login_not_required(_pattern.callback)
application = get_wsgi_application()
settings.ROOT_URLCONF = __name__
