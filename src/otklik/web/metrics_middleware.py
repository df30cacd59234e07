"""Count and time every request by route (the URL pattern, never the path with its ids) for /metrics."""

from __future__ import annotations

import time

from django.conf import settings
from prometheus_client import Counter, Histogram

# Methods outside this set are counted as "other": a client must not be able to create series at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests that matched no URL pattern (404s, redirects made before resolving, files served by whitenoise).
UNMATCHED = "<unmatched>"
STATIC = "<static>"

# Not registered in a registry of this process: in multiprocess mode (always, see settings.METRICS_DIR)
# the values live in files that the /metrics view sums over every process.
REQUESTS = Counter(
    "otklik_http_requests",
    "HTTP requests answered, by route (URL pattern), method and status class.",
    ["route", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "otklik_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by route and method.",
    ["route", "method"],
    registry=None,
)


def request_route(request) -> str:
    """Return the URL pattern the request matched ("tickets/<int:pk>/"), or a fixed word when none."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return match.route
    if request.path.startswith(settings.STATIC_URL):
        return STATIC
    return UNMATCHED


class RequestMetricsMiddleware:
    """Outermost middleware: every response, error pages and redirects included, is counted and timed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = request_route(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route, method, f"{response.status_code // 100}xx").inc()
        LATENCY.labels(route, method).observe(elapsed)
        return response
