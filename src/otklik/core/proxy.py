"""The client's address behind trusted reverse proxies (OTKLIK_TRUSTED_PROXIES).

Otklik reads the client's address from REMOTE_ADDR (login throttling, registration limits). Behind nginx on
the same machine every request comes from 127.0.0.1, so a handful of failed logins would lock everybody
out. When the peer is one of the trusted proxies, the address is taken from X-Forwarded-For instead: the
rightmost entry that is not itself a trusted proxy (entries to its left were written by the client and
prove nothing). With no trusted proxies (the default) nothing changes and the header is never read.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# A forwarded chain longer than this is a forgery or a loop; only its right end is looked at.
MAX_HOPS = 20


@lru_cache(maxsize=16)
def networks_parse(setting: str, name: str = "OTKLIK_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """Parse a comma-separated list of addresses or networks; a bad entry is skipped (logged by `name`)."""
    networks = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            log.warning("%s: %r is not an address or a network; ignored", name, entry)
    return tuple(networks)


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """Parse OTKLIK_TRUSTED_PROXIES."""
    return networks_parse(setting, "OTKLIK_TRUSTED_PROXIES")


def address_parse(text: str) -> Address | None:
    """Return the address in `text` (brackets and an IPv6 zone allowed), IPv4-mapped as IPv4; None if none."""
    text = text.strip().strip("[]").split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return address


def address_in(address: Address, networks: tuple[Network, ...]) -> bool:
    """Say whether the address lies in one of the networks."""
    return any(address.version == net.version and address in net for net in networks)


def forwarded_client(remote_addr: str, forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """Return the client's address from X-Forwarded-For when the peer is a trusted proxy, else None."""
    peer = address_parse(remote_addr)
    if peer is None or not networks or not address_in(peer, networks):
        return None
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()][-MAX_HOPS:]
    for hop in reversed(hops):
        address = address_parse(hop)
        if address is None:
            return None  # a garbled entry: stop at the last address a trusted proxy vouched for
        if not address_in(address, networks):
            return str(address)
    return None


class TrustedProxyMiddleware:
    """Set REMOTE_ADDR to the forwarded client's address for requests from a trusted proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        networks = trusted_networks(settings.OTKLIK_TRUSTED_PROXIES)
        forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if networks and forwarded_for:
            client = forwarded_client(request.META.get("REMOTE_ADDR", ""), forwarded_for, networks)
            if client is not None:
                request.META["OTKLIK_PROXY_ADDR"] = request.META.get("REMOTE_ADDR", "")
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)
