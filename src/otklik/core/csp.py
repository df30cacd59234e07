"""Content-Security-Policy on every response, with a fresh nonce per request for the few inline scripts.

Pages load scripts only from this site (static files) or inline with the request's nonce; nothing is
framed, posted or fetched elsewhere. Styles allow 'unsafe-inline': templates still carry style=""
attributes and admin pages <style> blocks, and a style cannot run code.
Templates read the nonce as `{{ csp_nonce }}` (the context processor below; django-htmx reads it too).
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy(nonce: str) -> str:
    """Return the policy for a response whose inline scripts carry `nonce`."""
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Give each request a nonce (`request.csp_nonce`) and each response the policy naming it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]  # HttpRequest declares no such attribute
        response = self.get_response(request)
        # A view may set a policy of its own (none does today); error pages get this one too.
        if HEADER not in response:
            response[HEADER] = policy(nonce)
        return response


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """Expose the request's nonce to templates as `csp_nonce`."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
