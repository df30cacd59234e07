"""Reads about users: who is support, who are whose colleagues."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from otklik.accounts.models import AccessLevel, Profile, SupportGroup, SupportGroupMember
from otklik.accounts.principals import MAIL_PRINCIPAL_USERNAME
from otklik.accounts.roles import is_admin, is_support
from otklik.core.config_cache import config_cached
from otklik.core.lookups import in_subquery

# The author picker answers at most this many people, and only to at least this many typed characters:
# a search box must not become a way to page through every account.
AUTHOR_SEARCH_MIN = 2
AUTHOR_SEARCH_LIMIT = 10
AUTHOR_QUERY_MAX = 100  # longer text is no one's name or address: cut, not searched


def support_user_list() -> QuerySet[User]:
    """Return active users who may be chosen as responsible (staff or admin level, or superuser)."""
    # The support groups' members and the superusers by their ids (core.lookups): a join of every user to
    # their groups with DISTINCT read all 50,000 client accounts at 10⁶ tickets (50-250 ms per staff page).
    members = User.groups.through.objects.filter(
        group__support_access__level__in=[AccessLevel.STAFF, AccessLevel.ADMIN]
    ).values("user_id")
    superusers = User.objects.filter(is_superuser=True).values("pk")
    return (
        User.objects.filter(is_active=True)
        .filter(in_subquery("pk", members.union(superusers)))
        .order_by("last_name", "first_name", "username")
    )


def admin_user_list() -> QuerySet[User]:
    """Return active support administrators."""
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


def client_group_names(user_id: int | None) -> list[str]:
    """Return the names of the client groups (companies) a user belongs to: the ticket page's client card."""
    if user_id is None:
        return []
    return list(
        SupportGroup.objects.filter(kind=SupportGroup.Kind.CLIENT, memberships__user_id=user_id)
        .order_by("name")
        .values_list("name", flat=True)
    )


def display_name(user: User | None) -> str:
    """Return 'First Last' or the login."""
    if user is None:
        return ""
    full = f"{user.first_name} {user.last_name}".strip()
    return full or user.username


def signature_get(user: User | AnonymousUser | None) -> str:
    """Return the signature support `user` keeps for public replies, or "" (clients keep none)."""
    if user is None or not user.is_authenticated or not is_support(user):
        return ""
    return (Profile.objects.filter(user=user).values_list("signature", flat=True).first() or "").strip()


def author_candidates(viewer: User | AnonymousUser) -> QuerySet[User]:
    """Return the people `viewer` may file a ticket for, starting from what the viewer may list.

    Support may list active clients (the people tickets are filed for); admins any active account but the
    mail channel's principal. Everyone else lists nobody (deny by default).
    """
    if not viewer.is_authenticated or not is_support(viewer):
        return User.objects.none()
    people = User.objects.filter(is_active=True).exclude(username=MAIL_PRINCIPAL_USERNAME)
    if not is_admin(viewer):
        people = people.filter(groups__support_access__level=AccessLevel.CLIENT)
    return people.distinct()


def author_search(viewer: User | AnonymousUser, query: str) -> list[User]:
    """Return up to AUTHOR_SEARCH_LIMIT people `viewer` may file for whose name, login or e-mail contains
    `query` (any case); nothing for a query shorter than AUTHOR_SEARCH_MIN characters."""
    query = " ".join((query or "").split())[:AUTHOR_QUERY_MAX]
    if len(query) < AUTHOR_SEARCH_MIN:
        return []
    match = _contains("username", query) | _contains("email", query)
    # "Ivan Petrov" or "Petrov Ivan": every word in the first or last name.
    names = Q()
    for word in query.split(" "):
        names &= _contains("first_name", word) | _contains("last_name", word)
    people = author_candidates(viewer).filter(match | names)
    return list(people.order_by("last_name", "first_name", "username", "pk")[:AUTHOR_SEARCH_LIMIT])


def author_by_email(viewer: User | AnonymousUser, email: str) -> list[User]:
    """Return the people `viewer` may file for whose e-mail is `email` (any case); several may share one."""
    email = (email or "").strip()
    if not email:
        return []
    return list(author_candidates(viewer).filter(email__iexact=email).order_by("pk")[:2])


def _contains(field: str, text: str) -> Q:
    """Match `text` anywhere in `field`, any case.

    SQLite's LIKE folds the case of ASCII letters only: "иван" would miss "Иван". Asking for the lower-case
    and the capitalised spelling too covers how names are written; PostgreSQL folds them all anyway.
    """
    q = Q()
    for variant in {text, text.lower(), text.capitalize()}:
        q |= Q(**{f"{field}__icontains": variant})
    return q
