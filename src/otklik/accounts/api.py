"""API: who am I."""

from django.http import HttpRequest
from ninja import Router, Schema

from otklik.accounts.roles import levels_of
from otklik.core.api_errors import ErrorOut

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    username: str
    email: str
    roles: list[str]
    language: str
    time_zone: str


@router.get("/me", response={200: MeOut, 401: ErrorOut}, summary="The calling user")
def me(request: HttpRequest):
    user = request.user
    profile = getattr(user, "profile", None)
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "roles": sorted(levels_of(user)),
        "language": profile.language if profile else "ru",
        "time_zone": profile.time_zone if profile else "Europe/Moscow",
    }
