"""Keep every answer under /api/ a small JSON document, and refuse oversized bodies before reading them."""

from __future__ import annotations

import json
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"


def _is_multipart(request: HttpRequest) -> bool:
    return request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data")


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0  # Django reads no body at all then


def _message(status: int, response: HttpResponse) -> str:
    if status == 404:
        return _("Not found.")
    if status == 405:
        return _("This method is not allowed here. Allowed: %(methods)s.") % {
            "methods": response.get("Allow", "")
        }
    if status == 400:
        return _("Bad request.")
    if status == 403:
        return _("You are not allowed to do this.")
    if status >= 500:
        return _("Internal server error. The error has been logged.")
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


def too_large(limit: int) -> JsonResponse:
    """Return the API's 413 answer for a body over `limit` bytes."""
    message = _("The request body is larger than %(limit)s bytes.") % {"limit": limit}
    return JsonResponse({"detail": message, "errors": {"__all__": [message]}}, status=413)


class ApiJsonErrorsMiddleware:
    """Answer 413 for an API body over settings.API_MAX_BODY_BYTES; turn non-JSON API errors into JSON.

    Django's own pages (404 for an unknown path, 405 from a view, 400 for a body it refuses, 500) are HTML
    made for browsers; an API client gets `{"detail": ...}` with the same status instead. File uploads
    (multipart) have their own limits, checked per file and per message by the upload check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        limit = settings.API_MAX_BODY_BYTES
        if not _is_multipart(request) and _content_length(request) > limit:
            return too_large(limit)
        response = self.get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        body = {"detail": _message(status, response)}
        replacement = HttpResponse(
            json.dumps(body), status=status, content_type="application/json; charset=utf-8"
        )
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                replacement[header] = response[header]
        return replacement
