"""API authentication: `Authorization: Bearer <token>` or the browser session (with CSRF for writes)."""

import zoneinfo

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone, translation

from otklik.accounts.services import token_authenticate


def _csrf_ok(request: HttpRequest) -> bool:
    check = CsrfViewMiddleware(lambda r: None)
    check.process_request(request)
    return check.process_view(request, None, (), {}) is None


def _activate_preferences(request: HttpRequest, user) -> None:
    """Apply the token owner's language and time zone, as UserPreferencesMiddleware does for sessions."""
    profile = getattr(user, "profile", None)
    if profile is None:
        return
    if profile.language in ("ru", "en"):
        translation.activate(profile.language)
        request.LANGUAGE_CODE = profile.language
    try:
        timezone.activate(zoneinfo.ZoneInfo(profile.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass


class BearerOrSession:
    """Authenticate by bearer token first, then by session; ninja answers 401 when this returns None."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    # ninja lists an auth in the OpenAPI schema only when it carries this (AuthBase builds it in __init__).
    openapi_security_schema = {"type": "http", "scheme": "bearer"}

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _sep, token = header.partition(" ")
            if scheme.lower() != "bearer":
                return None
            user = token_authenticate(token.strip())
            if user is None:
                return None
            request.user = user
            request.api_via_token = True
            # The middleware ran before the token was read: the profile beats Accept-Language here too.
            _activate_preferences(request, user)
            return user
        user = getattr(request, "user", AnonymousUser())
        if not user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _csrf_ok(request):
            return None
        return user


class BearerSessionOrAnonymous(BearerOrSession):
    """Like BearerOrSession, but a caller with neither a token nor a session is let in as anonymous.

    For public reading (the knowledge base): a bad token, or a session's write without its CSRF token,
    still answers 401; a caller with no credentials at all is `AnonymousUser`, and the endpoint's policy
    decides what it sees.
    """

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        user = getattr(request, "user", AnonymousUser())
        if header or user.is_authenticated:
            return super().__call__(request)
        request.user = AnonymousUser()
        return request.user
