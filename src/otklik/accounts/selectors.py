"""Reads about users: who is support, who are whose colleagues."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from otklik.accounts.models import AccessLevel, SupportGroup, SupportGroupMember
from otklik.core.config_cache import config_cached


def support_user_list() -> QuerySet[User]:
    """Return active users who may be chosen as responsible (staff or admin level, or superuser)."""
    from django.db.models import Q

    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True) | Q(groups__support_access__level__in=[AccessLevel.STAFF, AccessLevel.ADMIN])
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def admin_user_list() -> QuerySet[User]:
    """Return active support administrators."""
    from django.db.models import Q

    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__support_access__level=AccessLevel.ADMIN))
        .distinct()
    )


def colleague_ids(user: User | AnonymousUser, kind: str) -> set[int]:
    """Return ids of members of the user's support groups of `kind` where the user may view the group's tickets."""
    if not user.is_authenticated:
        return set()

    def load() -> frozenset[int]:
        groups = SupportGroupMember.objects.filter(user=user, can_view=True, group__kind=kind).values(
            "group_id"
        )
        return frozenset(
            SupportGroupMember.objects.filter(group_id__in=groups).values_list("user_id", flat=True)
        )

    return set(config_cached(f"colleagues:{user.pk}:{kind}", load))


def support_group_list(kind: str | None = None) -> QuerySet[SupportGroup]:
    qs = SupportGroup.objects.all()
    return qs.filter(kind=kind) if kind else qs


def display_name(user: User | None) -> str:
    """Return 'First Last' or the login."""
    if user is None:
        return ""
    full = f"{user.first_name} {user.last_name}".strip()
    return full or user.username
