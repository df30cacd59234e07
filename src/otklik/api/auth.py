"""API authentication: `Authorization: Bearer <token>` or the browser session (with CSRF for writes)."""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from otklik.accounts.services import token_authenticate


def _csrf_ok(request: HttpRequest) -> bool:
    check = CsrfViewMiddleware(lambda r: None)
    check.process_request(request)
    return check.process_view(request, None, (), {}) is None


class BearerOrSession:
    """Authenticate by bearer token first, then by session; ninja answers 401 when this returns None."""

    openapi_type = "http"
    openapi_scheme = "bearer"

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
            return user
        user = getattr(request, "user", AnonymousUser())
        if not user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _csrf_ok(request):
            return None
        return user
