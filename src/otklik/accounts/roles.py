"""Compute a user's support module access levels (the union over their groups)."""

from django.contrib.auth.models import AnonymousUser, User

from otklik.accounts.models import AccessLevel, GroupAccess
from otklik.core.config_cache import config_cached

_CACHE_ATTR = "_otklik_levels"


def levels_of(user: User | AnonymousUser) -> frozenset[str]:
    """Return the access levels the user holds, cached on the user object for the request."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    levels = set(
        config_cached(
            f"levels:{user.pk}",
            lambda: list(GroupAccess.objects.filter(group__user=user).values_list("level", flat=True)),
        )
    )
    if user.is_superuser:
        # The site superuser is always a support admin.
        levels.add(AccessLevel.ADMIN)
    result = frozenset(levels)
    setattr(user, _CACHE_ATTR, result)
    return result


def forget_levels(user: User) -> None:
    """Drop the cached levels after the user's groups changed."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_admin(user) -> bool:
    return AccessLevel.ADMIN in levels_of(user)


def is_staff(user) -> bool:
    return AccessLevel.STAFF in levels_of(user)


def is_demo(user) -> bool:
    return AccessLevel.DEMO in levels_of(user)


def is_client(user) -> bool:
    return AccessLevel.CLIENT in levels_of(user)


def is_support(user) -> bool:
    """Staff or admin: may work tickets and be chosen as responsible."""
    return bool(levels_of(user) & {AccessLevel.STAFF, AccessLevel.ADMIN})


def sees_support_view(user) -> bool:
    """Staff, admin or demo: sees the staff workspace."""
    return bool(levels_of(user) & {AccessLevel.STAFF, AccessLevel.ADMIN, AccessLevel.DEMO})


def is_demo_only(user) -> bool:
    """Demo access without staff or admin rights: may look, saves nothing."""
    levels = levels_of(user)
    return AccessLevel.DEMO in levels and not (levels & {AccessLevel.STAFF, AccessLevel.ADMIN})
