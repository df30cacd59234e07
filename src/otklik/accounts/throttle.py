"""Count attempts in the cache and say when a key tried too often (password reset, confirmation mail)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def too_often(scope: str, key: str, *, limit: int, seconds: int) -> bool:
    """Count one attempt for (scope, key) and return True once more than `limit` fell in the window.

    The window starts with the first attempt and lasts `seconds`; keys are hashed (addresses stay out of
    the cache's key space).
    """
    digest = hashlib.sha256(f"{scope}:{key}".lower().encode()).hexdigest()[:32]
    name = f"otklik-throttle:{scope}:{digest}"
    if cache.add(name, 1, timeout=seconds):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=seconds)
            count = 1
    return count > limit


def client_ip(request) -> str | None:
    """The address the request came from (REMOTE_ADDR; a trusted proxy sets it, see the README), or None.

    None (not a made-up word) when there is none, e.g. a login made in the process: axes keeps the
    address in a column of IP addresses.
    """
    return request.META.get("REMOTE_ADDR") or None


def axes_username(request, credentials) -> str:
    """The login that failed, as one account: logins are compared without case (registration does)."""
    credentials = credentials or {}
    name = credentials.get("username") or (request.POST.get("username") if request is not None else "") or ""
    return str(name).strip().lower()
