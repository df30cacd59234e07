"""Reads of the support process: roles held, process versions, a ticket's place, moves and votes (F-30)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from otklik.core.config_cache import config_cached
from otklik.workflow.definition import Process, State, Transition, process_parse
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


def role_labels(language: str | None = None) -> dict[str, str]:
    """Return every role's name in `language` (the active one by default), from the configuration cache."""
    rows = config_cached(
        "workflow-role-names", lambda: list(Role.objects.values_list("code", "name", "name_en"))
    )
    english = (language or get_language() or "ru").startswith("en")
    return {code: (name_en or name) if english else (name or name_en) for code, name, name_en in rows}


def role_get(code: str) -> Role | None:
    return Role.objects.filter(code=code).first()


def role_list() -> QuerySet[Role]:
    return Role.objects.all()


# Parsed definitions by (id, created): a saved version never changes, and the instant guards against an
# id used again (SQLite may reuse the highest id after a delete; test databases roll back).
_parsed: dict[tuple[int, object], Process] = {}


def process_of(version: ProcessVersion) -> Process:
    """Return the parsed definition of a version, parsing each version once per process."""
    key = (version.pk, version.created_at)
    process = _parsed.get(key)
    if process is None:
        if len(_parsed) > 256:
            _parsed.clear()
        process = _parsed[key] = process_parse(version.definition)
    return process


def version_get(pk: int) -> ProcessVersion:
    """Return a process version by id from the configuration cache (versions never change)."""
    return config_cached(f"workflow-version:{pk}", lambda: ProcessVersion.objects.get(pk=pk))


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


@functools.cache
def _place_sql() -> str:
    meta = TicketProcess._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in meta.concrete_fields)
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(str(meta.pk.column))} = %s"


def place_row(ticket_id: int) -> TicketProcess | None:
    """Return the ticket's place alone (its version comes from the configuration cache), or None.

    A move reads it once the ticket is locked. The statement is written once: the queryset's
    compilation cost more than the query itself (1.2 against 0.5 ms), which decided whether a move
    costs more than a staff reply.
    """
    return next(iter(TicketProcess.objects.raw(_place_sql(), [ticket_id])), None)


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


# -- what a reader sees of a ticket's process (the process card, the API) ----------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """One field of a move's form: its name, label, whether it is required, its type and its choices."""

    name: str
    label: str
    required: bool
    type: str
    choices: list[tuple[str, str]]  # (value, label) for dictionaries and choices; [] otherwise


@dataclass(frozen=True)
class MoveOption:
    """A move the reader may take now, with its form."""

    code: str
    name: str
    target: str
    target_name: str
    fields: list[FieldInfo]
    decision: str = ""


def move_option(process: Process, step: Transition, language: str) -> MoveOption:
    """Describe `step` for a form in `language`: its name, where it leads, the fields it asks for."""
    target = process.state(step.target)
    return MoveOption(
        code=step.code,
        name=step.name.get(language),
        target=step.target,
        target_name=target.name.get(language) if target else step.target,
        fields=transition_fields(step),
        decision=step.decision,
    )


@dataclass(frozen=True)
class ProcessView:
    """A ticket's process as one reader may see it; staff get everything, clients the stage only."""

    place: TicketProcess
    process: Process
    state_name: str
    stage: str  # the plain-language stage for the client
    role: str
    role_name: str
    inside: bool  # False for clients: no role, moves, votes or history
    moves: list[MoveOption]
    history: list[Move]
    votes: list[Vote]
    tally: dict[str, int]
    quorum: int
    may_vote: bool
    my_vote: Vote | None
    role_names: dict[str, str]  # every role's name in the reader's language (staff only)


FIELD_LABELS = {
    "comment": gettext_lazy("comment"),
    "reply": gettext_lazy("reply to the initiator"),
    "note": gettext_lazy("hidden note"),
    "answer": gettext_lazy("frequent answer"),
    "criticality": gettext_lazy("criticality"),
    "category": gettext_lazy("category"),
    "difficulty": gettext_lazy("difficulty"),
    "status": gettext_lazy("status"),
    "ticket_type": gettext_lazy("type"),
    "tier": gettext_lazy("tier"),
    "planned_effort": gettext_lazy("planned effort, working hours"),
    "expected_date": gettext_lazy("expected resolution date"),
    "responsible": gettext_lazy("responsible"),
}
TICKET_TYPE_LABELS = {
    "accident": gettext_lazy("accident"),
    "incident": gettext_lazy("incident"),
    "change_request": gettext_lazy("change request"),
}


def field_choices(name: str) -> list[tuple[str, str]]:
    """Return the (value, label) choices of a field, in the active language ([] for free input)."""
    from otklik.accounts.selectors import display_name, support_user_list
    from otklik.dictionaries.selectors import dictionary_list
    from otklik.workflow.fields import FIELD_TYPES, TICKET_TYPES, TIERS

    kind = FIELD_TYPES[name]
    if kind.startswith("dictionary:"):
        return [
            (str(e.pk), str(e.name)) for e in dictionary_list(kind.split(":", 1)[1]).order_by("sort", "id")
        ]
    if name == "ticket_type":
        return [(code, str(TICKET_TYPE_LABELS[code])) for code in TICKET_TYPES]
    if name == "tier":
        return [(code, code) for code in TIERS]
    if kind == "user":
        return [(str(u.pk), display_name(u)) for u in support_user_list()]
    return []


def transition_fields(step: Transition) -> list[FieldInfo]:
    """Describe a move's form in the active language."""
    from otklik.workflow.fields import FIELD_TYPES

    return [
        FieldInfo(
            name=spec.name,
            label=str(FIELD_LABELS.get(spec.name, spec.name)),
            required=spec.required,
            type=FIELD_TYPES[spec.name],
            choices=field_choices(spec.name),
        )
        for spec in step.fields
    ]


def stage_text(state: State | None, ticket) -> str:
    """Return the client's plain-language stage, with the expected date where the text asks for it."""
    if state is None:
        return ""
    text = state.stage.get(get_language())
    expected = ""
    if getattr(ticket, "expected_date", None):
        expected = _(", expected by %(date)s") % {"date": date_format(ticket.expected_date, "j E Y")}
    return text.replace("{expected}", expected)


def process_view(policy, ticket) -> ProcessView | None:
    """Return the ticket's process as `policy`'s user may see it (a WorkflowPolicy), or None.

    The caller has checked that the ticket is visible. Clients get the stage only (`inside` False).
    """
    place = place_of(ticket.pk)
    if place is None:
        return None
    process = process_of(place.version)
    state = process.state(place.state)
    language = get_language()
    inside = policy.sees_inside
    names = role_labels(language) if inside else {}
    role_name = names.get(place.role, place.role) if place.role else ""
    history: list[Move] = []
    votes: list[Vote] = []
    tally = {"approve": 0, "reject": 0}
    moves: list[MoveOption] = []
    may_vote = False
    my_vote = None
    if inside:
        history = list(moves_of(ticket.pk))
        if state is not None and state.votes:
            review = review_of(ticket.pk, state.code)
            votes = list(votes_of(review))
            tally = vote_tally(review)
            may_vote = policy.may_vote(state, place)
            my_vote = next((v for v in votes if v.voter_id == policy.user.pk), None)
        moves = [move_option(process, step, language) for step in policy.moves(process, place, ticket)]
    return ProcessView(
        place=place,
        process=process,
        state_name=state.name.get(language) if state else place.state,
        stage=stage_text(state, ticket),
        role=place.role if inside else "",
        role_name=role_name,
        role_names=names,
        inside=inside,
        moves=moves,
        history=history,
        votes=votes,
        tally=tally,
        quorum=state.quorum if state else 0,
        may_vote=may_vote,
        my_vote=my_vote,
    )


def process_labels(by: str) -> dict[str, str]:
    """Return the names of the process's states or L1 outcomes in the active language (the process new
    tickets start in, read from the configuration cache); a code it does not name shows as itself."""
    version = version_for_new_tickets()
    if version is None:
        return {}
    process = process_of(version)
    language = get_language() or "ru"
    if by == "process_state":
        return {code: state.name.get(language) for code, state in process.states.items()}
    labels: dict[str, str] = {}
    for step in process.transitions:
        if step.outcome and step.outcome not in labels:
            labels[step.outcome] = step.name.get(language)
    return labels
