"""The one NinjaAPI object mounted at /api/v1/; each app contributes a router from its api.py."""

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from otklik.api.auth import BearerOrSession, BearerSessionOrAnonymous
from otklik.core.errors import DomainError

api = NinjaAPI(
    title="Otklik API",
    version="1",
    description="REST API of the Otklik helpdesk.",
    auth=BearerOrSession(),
    urls_namespace="api-v1",
    docs_url="/docs",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError):
    body: dict = {"detail": exc.message}
    if exc.errors:
        body["errors"] = exc.errors
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(request, {"detail": _("Authentication required.")}, status=401)


def _unreadable_body(request: HttpRequest):
    message = _("The request body cannot be read: send valid JSON (or multipart/form-data for files).")
    return api.create_response(request, {"detail": message, "errors": {"__all__": [message]}}, status=400)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    # ninja raises HttpError(400) for a body it cannot parse (not JSON, bad multipart).
    if exc.status_code == 400:
        return _unreadable_body(request)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(MultiPartParserError)
def _bad_multipart(request: HttpRequest, exc: MultiPartParserError):
    """Answer a multipart body Django cannot parse (no boundary, cut off) like any unreadable body."""
    return _unreadable_body(request)


def _pydantic_message(err: dict) -> str:
    """Return a translated message for pydantic's common error types; its own English text otherwise."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    messages = {
        "missing": _("This field is required."),
        "extra_forbidden": _("Unknown field."),
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "int_from_float": _("Enter a whole number."),
        "bool_parsing": _("Enter true or false."),
        "bool_type": _("Enter true or false."),
        "string_type": _("Enter a text."),
        "datetime_parsing": _("Enter a date and time in ISO 8601 format."),
        "datetime_from_date_parsing": _("Enter a date and time in ISO 8601 format."),
        "datetime_type": _("Enter a date and time in ISO 8601 format."),
        "date_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_type": _("Enter a date as YYYY-MM-DD."),
        "model_attributes_type": _("Send a JSON object."),
        "dict_type": _("Send a JSON object."),
    }
    if kind in messages:
        return str(messages[kind])
    if kind in ("greater_than_equal", "greater_than"):
        return _("Enter a value of at least %(limit)s.") % {"limit": ctx.get("ge", ctx.get("gt"))}
    if kind in ("less_than_equal", "less_than"):
        return _("Enter a value of at most %(limit)s.") % {"limit": ctx.get("le", ctx.get("lt"))}
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _("This field cannot be empty.")
        return _("Enter at least %(limit)s characters.") % {"limit": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("Enter at most %(limit)s characters.") % {"limit": ctx.get("max_length")}
    if kind == "literal_error":
        return _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    return err.get("msg", _("Invalid value."))


# Where ninja says a value came from; the first element of every error location is one of them.
_SOURCES = ("body", "query", "path", "form", "file", "header", "cookie")
# The names the API's views give their schema parameters (`payload: TicketCreateIn`).
_PARAMETERS = ("payload", "filters")


def _field_path(loc) -> list[str]:
    """Return the client's field path of an error location: ("body", "payload", "title") -> ["title"].

    Only the source and the view's parameter name are dropped, so a field itself called "body" keeps its
    name.
    """
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
        # The view's parameter itself (a body that is no JSON object) is the request as a whole.
        if parts and parts[0] in _PARAMETERS:
            parts = parts[1:]
    return [str(p) for p in parts]


# An answer names at most this many fields; the rest are counted (thousands of unknown keys stay cheap).
MAX_ERROR_FIELDS = 20
MAX_FIELD_NAME = 100


def _shown_field(path: list[str]) -> str:
    """Return a field path fit to echo back: at most MAX_FIELD_NAME characters, valid Unicode."""
    name = ".".join(path) or "__all__"
    name = name.encode("utf-8", "replace").decode("utf-8")
    return name if len(name) <= MAX_FIELD_NAME else name[: MAX_FIELD_NAME - 1] + "\u2026"


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    left_out = 0
    for err in exc.errors:
        field = _shown_field(_field_path(err.get("loc", ())))
        if field not in errors and len(errors) >= MAX_ERROR_FIELDS:
            left_out += 1
            continue
        messages = errors.setdefault(field, [])
        if len(messages) < 5:
            messages.append(_pydantic_message(err))
    if left_out:
        errors.setdefault("__all__", []).append(
            ngettext("%(count)s more error is not listed.", "%(count)s more errors are not listed.", left_out)
            % {"count": left_out}
        )
    return api.create_response(request, {"detail": _("Invalid input."), "errors": errors}, status=422)


def _mount_routers() -> None:
    from otklik.accounts.api import router as accounts_router
    from otklik.automation.api import router as automation_router
    from otklik.kb.api import router as kb_router
    from otklik.reports.api import router as reports_router
    from otklik.tickets.api import router as tickets_router
    from otklik.tickets.api_cc import router as tickets_cc_router
    from otklik.tickets.api_links import router as ticket_links_router
    from otklik.tickets.api_macros import router as macros_router
    from otklik.tickets.api_tags import router as ticket_tags_router
    from otklik.workflow.api import router as workflow_router

    api.add_router("", accounts_router)
    api.add_router("", tickets_router)
    api.add_router("", tickets_cc_router)
    api.add_router("", ticket_links_router)
    api.add_router("", macros_router)
    api.add_router("", ticket_tags_router)
    api.add_router("", workflow_router)
    # The knowledge base reads public articles to anonymous callers too (its policy decides what they see).
    api.add_router("", kb_router, auth=BearerSessionOrAnonymous())
    api.add_router("", reports_router)
    api.add_router("", automation_router)


_mount_routers()
