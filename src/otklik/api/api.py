"""The one NinjaAPI object mounted at /api/v1/; each app contributes a router from its api.py."""

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from otklik.api.auth import BearerOrSession
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
    return api.create_response(request, {"detail": "Authentication required."}, status=401)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload", "form", "data")]
        errors.setdefault(".".join(loc) or "__all__", []).append(err.get("msg", "invalid"))
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


def _mount_routers() -> None:
    from otklik.accounts.api import router as accounts_router
    from otklik.tickets.api import router as tickets_router

    api.add_router("", accounts_router)
    api.add_router("", tickets_router)


_mount_routers()
