"""The client's address behind trusted proxies (OTKLIK_TRUSTED_PROXIES, issue 19)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from otklik.accounts.throttle import client_ip
from otklik.core.proxy import TrustedProxyMiddleware, forwarded_client, trusted_networks

NGINX = trusted_networks("127.0.0.1, 10.0.0.0/8, ::1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # nginx on the same machine
        ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the left entry is the client's word
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # two trusted proxies in a row
        ("::ffff:127.0.0.1", "203.0.113.7", "203.0.113.7"),  # IPv4 peer on a dual-stack socket
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("127.0.0.1", "[2001:db8::5]", "2001:db8::5"),
        ("203.0.113.9", "127.0.0.1", None),  # not from a proxy: the header is the client's own claim
        ("127.0.0.1", "not-an-address", None),
        ("127.0.0.1", "203.0.113.7, garbage", None),  # garbled after the client: trust nothing
        ("127.0.0.1", "10.0.0.1, 127.0.0.1", None),  # only proxies: keep the peer
        ("127.0.0.1", "", None),
        ("", "203.0.113.7", None),
    ],
)
def test_forwarded_client_takes_the_rightmost_untrusted_hop(peer, forwarded, client):
    assert forwarded_client(peer, forwarded, NGINX) == client


def test_forwarded_client_with_no_trusted_proxy_never_reads_the_header():
    assert forwarded_client("127.0.0.1", "203.0.113.7", trusted_networks("")) is None


def test_trusted_networks_skips_a_bad_entry():
    assert [str(n) for n in trusted_networks("127.0.0.1, bogus, 10.0.0.0/8")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
    ]


def test_forwarded_client_looks_only_at_the_right_end_of_a_huge_chain():
    chain = ", ".join(["10.0.0.1"] * 10_000 + ["203.0.113.7"] + ["127.0.0.1"])
    assert forwarded_client("127.0.0.1", chain, NGINX) == "203.0.113.7"


def _seen_address(remote_addr: str, forwarded: str | None) -> str | None:
    """Pass a request through the middleware and return the address throttling would count."""
    seen: list[str | None] = []

    def view(request):
        seen.append(client_ip(request))
        return HttpResponse()

    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    TrustedProxyMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra))
    return seen[0]


def test_middleware_behind_trusted_nginx_sees_the_forwarded_client(settings):
    settings.OTKLIK_TRUSTED_PROXIES = "127.0.0.1"
    assert _seen_address("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    # A client talking to Otklik directly cannot choose its address by sending the header.
    assert _seen_address("198.51.100.4", "203.0.113.7") == "198.51.100.4"
    assert _seen_address("127.0.0.1", None) == "127.0.0.1"


def test_without_trusted_proxies_the_peer_address_is_kept(settings):
    settings.OTKLIK_TRUSTED_PROXIES = ""
    assert _seen_address("127.0.0.1", "203.0.113.7") == "127.0.0.1"


@pytest.mark.django_db
def test_failed_logins_through_the_proxy_lock_out_the_client_not_everyone(settings):
    settings.OTKLIK_TRUSTED_PROXIES = "127.0.0.1"
    attacker = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT):
        attacker.post(reverse("accounts:login"), {"username": f"nobody{n}", "password": "wrong"})
    locked = attacker.post(reverse("accounts:login"), {"username": "someone", "password": "wrong"})
    assert locked.status_code == 429
    # Another client behind the same nginx is not locked out by the attacker's failures.
    other = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert (
        other.post(reverse("accounts:login"), {"username": "someone", "password": "wrong"}).status_code == 200
    )
