"""/metrics: Prometheus text format, for a token or for the allowed addresses (loopback by default).

The request figures come from prometheus-client's multiprocess files (every granian worker's, summed);
the stores' figures are read at scrape time by otklik.web.metrics_collector. A refused client gets a bare
403: nothing says whether a token was expected or which addresses are allowed.

The client's address is REMOTE_ADDR, as everywhere in Otklik (login throttling): for a request from one of
OTKLIK_TRUSTED_PROXIES, otklik.core.proxy has already put the forwarded client's address there; any other
X-Forwarded-For is not read. Behind a proxy that is not trusted (nginx on the same machine connects from
loopback) REMOTE_ADDR is the proxy's, so a request carrying a forwarding header (X-Forwarded-For,
Forwarded, X-Real-IP) that no trusted proxy resolved is admitted by the token only, never by its address.
A client adding such a header only loses access, never gains it.
"""

from __future__ import annotations

import hmac
import logging
import os

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from otklik.core.proxy import Network, address_in, address_parse, networks_parse
from otklik.web.metrics_collector import DatabaseCollector
from otklik.web.metrics_middleware import LATENCY, REQUESTS

log = logging.getLogger(__name__)

# settings.OTKLIK_METRICS_ALLOW's default: loopback only.
LOOPBACK = "127.0.0.0/8,::1"
# A request carrying one of these came through a proxy (nginx sets the first with proxy_add_x_forwarded_for).
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
# Set by otklik.core.proxy.TrustedProxyMiddleware when it replaced REMOTE_ADDR with the forwarded client's.
RESOLVED_BY_TRUSTED_PROXY = "OTKLIK_PROXY_ADDR"


def allowed_networks(setting: str) -> tuple[Network, ...]:
    """Parse the comma-separated allow list; an entry that is no address or network is left out (logged)."""
    return networks_parse(setting, "OTKLIK_METRICS_ALLOW")


def _address_allowed(remote_addr: str) -> bool:
    address = address_parse(remote_addr)
    allowed = allowed_networks(getattr(settings, "OTKLIK_METRICS_ALLOW", LOOPBACK))
    return address is not None and address_in(address, allowed)


def metrics_access_allowed(request: HttpRequest) -> bool:
    """Say whether the request may read the metrics: the right token, or an allowed client address.

    A wrong token is refused even from an allowed address: whoever sends one meant to use it.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, given = header.partition(" ")
        token = getattr(settings, "OTKLIK_METRICS_TOKEN", "")
        return (
            bool(token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())
        )
    resolved = RESOLVED_BY_TRUSTED_PROXY in request.META
    if not resolved and any(name in request.META for name in PROXY_HEADERS):
        return False  # REMOTE_ADDR is an untrusted proxy's, not the client's
    return _address_allowed(request.META.get("REMOTE_ADDR", ""))


def metrics_registry() -> CollectorRegistry:
    """Return a registry holding every process's request figures and the stores' figures."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:  # a process configured without the directory: its own figures only
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseCollector())
    return registry


@login_not_required
@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Answer the figures in the Prometheus text format, or a bare 403."""
    if not metrics_access_allowed(request):
        return HttpResponseForbidden()
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
