"""Reads of the support process: roles held, process versions, a ticket's place, moves and votes (F-30)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from otklik.core.config_cache import config_cached
from otklik.workflow.definition import Process, process_parse
from otklik.workflow.models import Move, ProcessVersion, Role, TicketProcess, Vote


def _role_holders() -> dict[str, tuple[frozenset[int], frozenset[int]]]:
    """Return every role's (user ids, group ids)."""
    holders: dict[str, tuple[set[int], set[int]]] = {}
    for role in Role.objects.prefetch_related("users", "groups"):
        holders[role.code] = ({u.pk for u in role.users.all()}, {g.pk for g in role.groups.all()})
    return {code: (frozenset(u), frozenset(g)) for code, (u, g) in holders.items()}


def role_holders() -> dict[str, tuple[frozenset[int], frozenset[int]]]:
    """Return every role's (user ids, group ids), cached as configuration (a save of a role forgets it)."""
    return config_cached("workflow-role-holders", _role_holders)


def role_codes_of(user: User) -> frozenset[str]:
    """Return the codes of the roles `user` holds, directly or through one of their groups (one query,
    cached as configuration: a role's or a membership's change forgets it)."""

    def load() -> frozenset[str]:
        held = Role.objects.filter(Q(users=user) | Q(groups__user=user)).values_list("code", flat=True)
        return frozenset(held.distinct())

    return config_cached(f"workflow-roles:{user.pk}", load)


def role_members(code: str) -> QuerySet[User]:
    """Return the active users who hold the role (directly or through a group), by id."""
    users, groups = role_holders().get(code, (frozenset(), frozenset()))
    return (
        User.objects.filter(Q(pk__in=users) | Q(groups__in=groups), is_active=True).distinct().order_by("pk")
    )


def role_get(code: str) -> Role | None:
    return Role.objects.filter(code=code).first()


def role_list() -> QuerySet[Role]:
    return Role.objects.all()


_parsed: dict[int, Process] = {}


def process_of(version: ProcessVersion) -> Process:
    """Return the parsed definition of a version; a saved version never changes, so it is parsed once."""
    process = _parsed.get(version.pk)
    if process is None:
        if len(_parsed) > 256:
            _parsed.clear()
        process = _parsed[version.pk] = process_parse(version.definition)
    return process


def version_for_new_tickets() -> ProcessVersion | None:
    """Return the active version of the process new tickets start in, or None (no process)."""
    return config_cached(
        "workflow-new-ticket-version",
        lambda: ProcessVersion.objects.filter(active=True, starts_new_tickets=True).first(),
    )


def version_list() -> QuerySet[ProcessVersion]:
    return ProcessVersion.objects.all()


def version_active(code: str) -> ProcessVersion | None:
    return ProcessVersion.objects.filter(code=code, active=True).first()


def place_of(ticket_id: int) -> TicketProcess | None:
    """Return the ticket's place in its process (with its version), or None."""
    return TicketProcess.objects.select_related("version").filter(ticket_id=ticket_id).first()


def moves_of(ticket_id: int) -> QuerySet[Move]:
    return Move.objects.filter(ticket_id=ticket_id).select_related("actor").order_by("at", "id")


def review_of(ticket_id: int, state: str) -> Move | None:
    """Return the move that opened the current review (the last move into the voting state)."""
    return Move.objects.filter(ticket_id=ticket_id, target=state).order_by("-at", "-id").first()


def votes_of(review: Move | None) -> QuerySet[Vote]:
    if review is None:
        return Vote.objects.none()
    return Vote.objects.filter(review=review).select_related("voter").order_by("at", "id")


def vote_tally(review: Move | None) -> dict[str, int]:
    """Return {"approve": n, "reject": m} for the review."""
    counts = {"approve": 0, "reject": 0}
    for row in votes_of(review).order_by().values("vote").annotate(n=Count("id")):
        counts[row["vote"]] = row["n"]
    return counts


def queue_ticket_ids(roles: frozenset[str]) -> QuerySet:
    """Return the ids of tickets waiting for one of `roles` (the "my queue" filter)."""
    return TicketProcess.objects.filter(role__in=roles).values("ticket_id")
