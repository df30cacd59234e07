"""Writes of the support process (F-30): start, move, vote, reopen, and saving definitions and roles.

Every move goes through `workflow_transition`, in one transaction: the ticket's attributes change through
`tickets.services.ticket_update` (one history line that also records the stage and why), replies and
notes through `message_post`, closing and spam through their services; the ticket's place and the move
are written here, and `ProcessMoved` is announced so notifications tell the role that must act next.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.translation import gettext as _

from otklik.accounts.selectors import display_name
from otklik.core import clock, events
from otklik.core.bulk import insert_rows, pipelined, update_row
from otklik.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from otklik.core.text_input import unstorable_text_message
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.calendars import NoWorkingTime
from otklik.sla.selectors import working_calendar
from otklik.tickets.activity import Change, TicketActivity
from otklik.tickets.loglines import in_both_languages
from otklik.tickets.models import Channel, SpamState, Ticket
from otklik.tickets.services import (
    MessageDraft,
    message_post,
    ticket_close,
    ticket_consequence_record,
    ticket_set_spam,
    ticket_update,
)
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.cleaning import support_user_clean
from otklik.workflow.definition import (
    ASSIGNED,
    DefinitionError,
    Process,
    State,
    Transition,
    process_parse,
    process_problems,
)
from otklik.workflow.fields import (
    ACTIONS,
    ASSIGN_STRATEGIES,
    FIELD_TYPES,
    KNOWN_FIELDS,
    TICKET_ATTRIBUTES,
    TICKET_TYPES,
    TIERS,
)
from otklik.workflow.models import Move, ProcessVersion, Role, TicketProcess, Vote, VoteChoice
from otklik.workflow.policies import ADMIN, WorkflowPolicy
from otklik.workflow.selectors import (
    place_of,
    place_row,
    process_of,
    review_of,
    role_members,
    version_for_new_tickets,
    version_get,
    vote_tally,
)

MAX_TEXT = 10_000
# The ticket a move is being taken on in this thread (its own close must not be followed as an outside one).
_moving: ContextVar[int | None] = ContextVar("workflow_moving", default=None)
MAX_EFFORT_HOURS = Decimal(10_000)


@dataclass(frozen=True)
class ProcessMoved:
    """One move, announced inside its transaction (notifications tell the roles it names)."""

    ticket: Ticket
    actor: User | None
    process: Process
    move: Move
    # The role that must act now ("" in a final state), and roles told at once besides ("@admins" too).
    role: str
    alerted: tuple[str, ...] = ()


# -- starting and reopening ---------------------------------------------------------------------------


def ticket_preparing(ticket: Ticket) -> None:
    """Give a new ticket the start state and its tier before it is inserted (no extra write)."""
    version = version_for_new_tickets()
    if version is None:
        return
    process = process_of(version)
    ticket.process_state = process.start
    start = process.state(process.start)
    if start is not None and not ticket.tier:
        ticket.tier = start.tier


def workflow_start(ticket: Ticket) -> TicketProcess | None:
    """Put a new ticket at the start of the process new tickets start in (one INSERT, in the pipeline)."""
    version = version_for_new_tickets()
    if version is None:
        return None
    process = process_of(version)
    start = process.states[process.start]
    place = TicketProcess(
        ticket=ticket, version=version, state=start.code, role=start.role, entered_at=ticket.created_at
    )
    insert_rows([place], returning=False)
    return place


def ticket_activity_seen(activity: TicketActivity) -> None:
    """Start the process for a new ticket; follow a close or a reopen made outside the process."""
    if activity.created:
        workflow_start(activity.ticket)
        return
    if not any(c.field == "closed" for c in activity.changes):
        return
    reopened = activity.ticket.closed_at is None
    _follow(
        activity.ticket, activity.actor, activity.via, reopened=reopened, actor_email=activity.actor_email
    )


def _follow(ticket: Ticket, actor: User | None, via: str, *, reopened: bool, actor_email: str = "") -> None:
    """Follow a close or a reopen made outside the process, recording the move and the stage.

    A reopened ticket goes to the process's reopen state (the role there is told); a ticket closed by
    its author or by staff leaves the process for its first final state, so it waits in nobody's queue.
    A close the process makes itself (a move's action) is left to the move.
    """
    if _moving.get() == ticket.pk:
        return
    place = TicketProcess.objects.filter(ticket=ticket).first()
    if place is None:
        return
    process = process_of(version_get(place.version_id))
    current = process.state(place.state)
    final = next((s for s in process.states.values() if s.final), None)
    target = process.states[process.reopen] if reopened else final
    if target is None or (not reopened and current is not None and current.final):
        return
    if place.state == target.code:
        return
    source = process.state(place.state)
    now = clock.now()
    move = Move(
        ticket=ticket, version_id=place.version_id, at=now, actor=actor,
        transition="reopen" if reopened else "closed", source=place.state, target=target.code,
    )  # fmt: skip
    insert_rows([move])
    _place_enter(place, target, role=target.role, at=now)
    ticket_consequence_record(
        ticket=ticket,
        actor=actor,
        via=via,
        recorded=[_stage_change(source, target)],
        notes=[{"code": "process_reopen" if reopened else "process_closed"}],
        tier=(target.tier or None) if reopened else None,
        actor_email=actor_email,
        copies=_place_copies(target, place),
    )
    if reopened:
        events.emit(events.PROCESS_MOVED, ProcessMoved(ticket, actor, process, move, role=place.role))


# -- moving --------------------------------------------------------------------------------------------


@transaction.atomic
def workflow_transition(
    *,
    actor: User,
    ticket: Ticket,
    transition: str,
    values: Mapping[str, Any] | None = None,
    via: str = Channel.WEB,
) -> TicketProcess:
    """Take `transition` from the ticket's current state with the form's `values`.

    Raise NotFound when the ticket is not visible, PermissionDenied (403) when the user may not take the
    move, Conflict (409) when it is not available from the current state (or waits for the board's
    votes), ValidationFailed (422) with field messages when the form is incomplete or wrong.
    """
    policy = WorkflowPolicy(actor, writer_policy(actor))
    if not policy.tickets.can_view(ticket):
        raise NotFound()
    if not policy.tickets.is_support:
        raise PermissionDenied()
    ticket = ticket_lock(ticket)
    # The ticket's lock serialises every write to the ticket, its place included: no second lock, and
    # the (immutable) version comes from the configuration cache.
    place = place_row(ticket.pk)
    if place is None:
        raise Conflict(_("This ticket is not in a support process."))
    process = process_of(version_get(place.version_id))
    step = process.transition(place.state, transition)
    if step is None:
        raise Conflict(
            _("The move %(move)s is not available in the state %(state)s.")
            % {"move": transition, "state": _state_name(process, place.state)}
        )
    acted_as = policy.acts_as(place, step)
    if acted_as is None:
        raise PermissionDenied(_("Only the role that must act here may take this move."))
    source = process.states[place.state]
    target = process.states[step.target]
    cleaned = fields_clean(step, values or {})
    _needs_check(step, ticket, cleaned)
    override = _decision_check(step, source, ticket, acted_as) if step.decision else False

    now = clock.now()
    role_next = _role_next(step, target, place)
    changes, outcome_notes, assignment = _ticket_changes(process, step, ticket, target, cleaned, role_next)
    move_values = _shown_values(cleaned)
    if assignment:
        move_values["assignment"] = assignment
    if override:
        move_values["override"] = True
    comment = cleaned.get("comment", "")
    move = Move(
        ticket=ticket,
        version_id=place.version_id,
        at=now,
        actor=actor,
        transition=step.code,
        source=source.code,
        target=target.code,
        acted_as=acted_as,
        comment=comment,
        values=move_values,
    )
    notes: list[dict] = [{"code": "process_move", "transition": step.name.as_dict()}]
    if acted_as == ADMIN:
        notes.append({"code": "process_admin"})
    notes.extend(outcome_notes)
    if comment:
        notes.append({"text": comment})
    recorded = [_stage_change(source, target)]
    if step.outcome and step.outcome != place.l1_outcome:
        recorded.append(Change("l1_outcome", place.l1_outcome or None, step.outcome, staff_only=True))
        place.l1_outcome = step.outcome
    # The move's row needs no answer: it travels with the ticket's UPDATE in one round trip (the
    # ticket's update opens no savepoint when it is handed the lock, so the pipeline stays simple).
    with pipelined():
        insert_rows([move], returning=False)
        ticket = ticket_update(
            actor=actor,
            ticket=ticket,
            changes=changes,
            via=via,
            recorded=recorded,
            notes=notes,
            held=policy.tickets,  # checked, and the ticket locked, above
            # The ticket's copies of its place travel with its UPDATE (the stage change makes it write).
            copies=_place_copies(target, place),
        )
    # The replies, spam mark and close below are the move's own: `_follow` must not answer them.
    token = _moving.set(ticket.pk)
    try:
        _messages_post(step, actor, ticket, cleaned, via)
        for action in step.actions:
            if action.type == "spam" and ticket.spam == SpamState.NONE:
                ticket = ticket_set_spam(actor=actor, ticket=ticket, state=SpamState.POSSIBLE, via=via)
        if any(action.type == "close" for action in step.actions):
            ticket = ticket_close(actor=actor, ticket=ticket, via=via)
    finally:
        _moving.reset(token)
    if role_next != place.assigned_role and step.role_next and step.role_next != ASSIGNED:
        place.assigned_role = role_next
    _place_enter(place, target, role=role_next, at=now)
    alerted = tuple(
        role
        for action in step.actions
        for role in (
            [action.params["role"]]
            if action.type == "notify"
            else action.params.get("roles", [])
            if action.type == "alert"
            else []
        )
    )
    events.emit(
        events.PROCESS_MOVED, ProcessMoved(ticket, actor, process, move, role=role_next, alerted=alerted)
    )
    return place


def _state_name(process: Process, code: str) -> str:
    state = process.state(code)
    return state.name.get(_language()) if state else code


def _language() -> str:
    from django.utils.translation import get_language

    return get_language() or "ru"


def _stage_change(source: State | None, target: State) -> Change:
    return Change("stage", source.name.as_dict() if source else None, target.name.as_dict(), staff_only=True)


def _place_enter(place: TicketProcess, target: State, *, role: str, at: dt.datetime) -> None:
    place.state = target.code
    place.role = "" if target.final else role
    place.entered_at = at
    update_row(place, ["state", "role", "assigned_role", "entered_at", "l1_outcome"])


def _place_copies(target: State, place: TicketProcess) -> dict[str, str]:
    """Return the ticket's copies of its place once in `target` (Ticket.process_state, l1_outcome), which
    the ticket's own write carries: the desk groups by them without joining the places."""
    return {"process_state": target.code, "l1_outcome": place.l1_outcome}


def _role_next(step: Transition, target: State, place: TicketProcess) -> str:
    """Return who must act in the target state: the state's role, else the move's, else the last assigned."""
    if target.final:
        return ""
    if target.role:
        return target.role
    if step.role_next == ASSIGNED or not step.role_next:
        return place.assigned_role
    return step.role_next


def _needs_check(step: Transition, ticket: Ticket, cleaned: dict[str, Any]) -> None:
    """Refuse a move whose earlier step is missing (assigning a change before it was planned)."""
    missing = [
        name
        for name in step.needs
        if cleaned.get(name) in (None, "")
        and getattr(ticket, TICKET_ATTRIBUTES.get(name, name), None) in (None, "")
    ]
    if missing:
        raise Conflict(
            _("Fill in first: %(fields)s.") % {"fields": ", ".join(missing)},
            errors={name: [_("Set this with an earlier move first.")] for name in missing},
        )


def _decision_check(step: Transition, state: State, ticket: Ticket, acted_as: str) -> bool:
    """Allow a board decision once the quorum voted and the majority agrees; an admin may override.

    Return True when the decision is an admin's override of the votes.
    """
    tally = vote_tally(review_of(ticket.pk, state.code))
    total = tally["approve"] + tally["reject"]
    majority = (
        "approve"
        if tally["approve"] > tally["reject"]
        else "reject"
        if tally["reject"] > tally["approve"]
        else ""
    )
    if total >= state.quorum and majority == step.decision:
        return False
    if acted_as == ADMIN:
        return True
    if total < state.quorum:
        raise Conflict(
            _("The decision waits for %(quorum)s votes; %(total)s are in.")
            % {"quorum": state.quorum, "total": total}
        )
    raise Conflict(
        _("The votes do not favour this decision (approve %(a)s, reject %(r)s).")
        % {"a": tally["approve"], "r": tally["reject"]}
    )


# -- the form ------------------------------------------------------------------------------------------


def fields_clean(step: Transition, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the move's form: required fields present, each value of its type; raise with field messages."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    allowed = set(step.field_names())
    for name in values:
        if name not in allowed:
            errors.setdefault(name, []).append(_("This move does not take this field."))
    for spec in step.fields:
        raw = values.get(spec.name)
        if raw in (None, "", []):
            if spec.required:
                errors.setdefault(spec.name, []).append(_("This field is required."))
            continue
        try:
            cleaned[spec.name] = field_clean(spec.name, raw)
        except ValidationFailed as exc:
            errors.setdefault(spec.name, []).extend(exc.errors.get(spec.name) or [exc.message])
    for action in step.actions:
        if (
            action.type == "reply"
            and action.params.get("required")
            and not (cleaned.get("reply") or cleaned.get("answer"))
        ):
            for name in ("answer", "reply"):
                if name in allowed:
                    errors.setdefault(name, []).append(_("Give a frequent answer or write a reply."))
    if errors:
        raise ValidationFailed(errors=errors)
    return cleaned


def field_clean(name: str, raw: Any) -> Any:
    """Return one field's value in its type (an entry, a user, minutes, a date, text)."""
    kind = FIELD_TYPES[name]
    if kind == "text":
        return _text_clean(raw, name)
    if kind.startswith("dictionary:"):
        return _entry_clean(kind.split(":", 1)[1], raw, name)
    if kind == "choice":
        choices = TICKET_TYPES if name == "ticket_type" else TIERS
        if raw not in choices:
            raise ValidationFailed(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)}, field=name
            )
        return raw
    if kind == "hours":
        try:
            hours = Decimal(str(raw).replace(",", "."))
        except InvalidOperation:
            raise ValidationFailed(_("Enter a number of working hours."), field=name) from None
        if not hours.is_finite() or not Decimal(0) < hours <= MAX_EFFORT_HOURS:
            raise ValidationFailed(_("Enter working hours between 0 and 10000."), field=name)
        return int((hours * 60).to_integral_value())
    if kind == "date":
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field=name) from None
    if kind == "user":
        return support_user_clean(raw, name)
    raise ValidationFailed(_("Unknown field."), field=name)  # pragma: no cover - FIELD_TYPES is closed


def _text_clean(raw: Any, name: str) -> str:
    """Return a text field stripped, refusing what no database stores and what is too long."""
    text = str(raw if raw is not None else "").strip()
    if message := unstorable_text_message(text):  # a form or mail, not only the API, may carry one
        raise ValidationFailed(message, field=name)
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("At most %(n)s characters.") % {"n": MAX_TEXT}, field=name)
    return text


def _entry_clean(kind: str, raw: Any, name: str) -> DictionaryEntry:
    if isinstance(raw, DictionaryEntry):
        entry: DictionaryEntry | None = raw if raw.kind == kind and raw.active else None
    else:
        query = DictionaryEntry.objects.filter(kind=kind, active=True)
        text = str(raw)
        entry = query.filter(pk=int(text)).first() if text.isdigit() else query.filter(code=text).first()
    if entry is None:
        raise ValidationFailed(_("Choose a valid value."), field=name)
    return entry


def _shown_values(cleaned: dict[str, Any]) -> dict[str, Any]:
    """Return the form's values as the move keeps them (JSON: names in both languages, ids, texts)."""
    shown: dict[str, Any] = {}
    for name, value in cleaned.items():
        if name == "comment":
            continue
        if isinstance(value, DictionaryEntry):
            shown[name] = {"id": value.pk, "ru": value.name_ru, "en": value.name_en}
        elif isinstance(value, User):
            shown[name] = {"id": value.pk, "name": display_name(value)}
        elif isinstance(value, dt.date):
            shown[name] = value.isoformat()
        else:
            shown[name] = value
    return shown


# -- the actions ----------------------------------------------------------------------------------------


def _ticket_changes(
    process: Process,
    step: Transition,
    ticket: Ticket,
    target: State,
    cleaned: dict[str, Any],
    role_next: str,
) -> tuple[dict[str, Any], list[dict], dict[str, Any] | None]:
    """Return the ticket attributes the move sets, the log notes explaining them, and the assignment made."""
    changes: dict[str, Any] = {}
    notes: list[dict] = []
    assignment: dict[str, Any] | None = None
    if target.tier:
        changes["tier"] = target.tier
    for name, value in cleaned.items():
        attribute = TICKET_ATTRIBUTES.get(name)
        if attribute:
            changes[attribute] = value
    for action in step.actions:
        if action.type == "set":
            name = action.params["field"]
            value = action.params["value"]
            if name == "criticality" and value == "@highest":
                value = (
                    DictionaryEntry.objects.filter(kind=DictionaryKind.CRITICALITY, active=True)
                    .order_by("-sort", "-id")
                    .first()
                )
                if value is None:
                    continue
            elif FIELD_TYPES.get(name, "").startswith("dictionary:"):
                value = _entry_clean(FIELD_TYPES[name].split(":", 1)[1], value, name)
            changes[TICKET_ATTRIBUTES.get(name, name)] = value
        elif action.type == "assign":
            role = role_next if action.params["role"] == ASSIGNED else action.params["role"]
            chosen, reason = assignee_choose(role, action.params.get("strategy", "least_loaded"))
            if chosen is not None:
                changes["responsible"] = chosen
                assignment = {"user": chosen.pk, "name": display_name(chosen), "role": role, "reason": reason}
                notes.append({"code": "process_assigned", "reason": reason})
        elif action.type == "plan" and "expected_date" not in cleaned:
            minutes = cleaned.get("planned_effort") or ticket.planned_effort_minutes
            if minutes:
                changes["expected_date"] = expected_date_for(ticket, minutes)
    return changes, notes, assignment


def expected_date_for(ticket: Ticket, minutes: int, *, start: dt.datetime | None = None) -> dt.date:
    """Return the date the planned effort ends when worked from now on the SLA's timetable (F-30).

    Without an SLA (or a timetable with no working time) the effort counts in calendar hours.
    """
    start = start or clock.now()
    sla = ticket.sla if ticket.sla_id else None
    if sla is not None and sla.timetable is not None:
        try:
            end = working_calendar(sla).add(start, minutes * 60)
            return dj_timezone.localtime(end, _zone(sla.timetable.time_zone)).date()
        except NoWorkingTime:
            pass
    return dj_timezone.localtime(start + dt.timedelta(minutes=minutes)).date()


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def assignee_choose(role: str, strategy: str) -> tuple[User | None, dict[str, str]]:
    """Choose a member of the role: the next in turn, or the one with the fewest open tickets.

    Return the member and the reason in both languages (the move and the history keep it).
    """
    members = list(role_members(role))
    if not members:
        return None, in_both_languages("nobody holds the role")
    if strategy == "round_robin":
        last = (
            Move.objects.filter(values__assignment__role=role)
            .order_by("-at", "-id")
            .values_list("values", flat=True)
            .first()
        )
        last_id = (last or {}).get("assignment", {}).get("user")
        ids = [m.pk for m in members]
        index = (ids.index(last_id) + 1) % len(ids) if last_id in ids else 0
        chosen = members[index]
        return chosen, _reason("next in turn among %(n)s members", n=len(members))
    load = dict(
        Ticket.objects.filter(closed_at__isnull=True, responsible__in=members)
        .values_list("responsible")
        .annotate(n=Count("id"))
        .values_list("responsible", "n")
    )
    chosen = min(members, key=lambda m: (load.get(m.pk, 0), m.pk))
    return chosen, _reason("the least loaded: %(n)s open tickets", n=load.get(chosen.pk, 0))


def _reason(message: str, **values: Any) -> dict[str, str]:
    return {language: text % values for language, text in in_both_languages(message).items()}


def _messages_post(step: Transition, actor: User, ticket: Ticket, cleaned: dict[str, Any], via: str) -> None:
    """Post the move's public reply (a frequent answer and/or the written reply) and its hidden note."""
    kinds = {action.type for action in step.actions}
    if "reply" in kinds:
        parts = []
        answer = cleaned.get("answer")
        if isinstance(answer, DictionaryEntry):
            # The template is the client's reply: in the author's language, not the operator's.
            with translation.override(_author_language(ticket)):
                parts.append(answer.description or answer.name)
        if cleaned.get("reply"):
            parts.append(cleaned["reply"])
        if parts:
            message_post(actor=actor, ticket=ticket, draft=MessageDraft(body="\n\n".join(parts)), via=via)
    if "note" in kinds and cleaned.get("note"):
        message_post(
            actor=actor, ticket=ticket, draft=MessageDraft(body=cleaned["note"], hidden=True), via=via
        )


def _author_language(ticket: Ticket) -> str:
    profile = getattr(ticket.author, "profile", None) if ticket.author_id else None
    return getattr(profile, "language", None) or settings.LANGUAGE_CODE


# -- votes -----------------------------------------------------------------------------------------------


@transaction.atomic
def workflow_vote(*, actor: User, ticket: Ticket, vote: str, comment: str = "") -> Vote:
    """Record (or change) a board member's vote on the ticket's open review."""
    policy = WorkflowPolicy(actor)
    if not policy.tickets.can_view(ticket):
        raise NotFound()
    if vote not in VoteChoice.values:
        raise ValidationFailed(_("Vote approve or reject."), field="vote")
    comment = _text_clean(comment, "comment")
    ticket = ticket_lock(ticket)
    place = place_of(ticket.pk)
    if place is None:
        raise Conflict(_("This ticket is not in a support process."))
    state = process_of(place.version).state(place.state)
    if state is None or not state.votes:
        raise Conflict(_("Nothing is being voted on in this state."))
    if not policy.may_vote(state, place):
        raise PermissionDenied(_("Only members of the change board vote."))
    review = review_of(ticket.pk, state.code)
    if review is None:  # pragma: no cover - a ticket reaches a voting state only by a move
        raise Conflict(_("Nothing is being voted on in this state."))
    now = clock.now()
    existing = Vote.objects.filter(review=review, voter=actor).first()
    if existing is not None:
        existing.vote, existing.comment, existing.at = vote, comment, now
        existing.save(update_fields=["vote", "comment", "at"])
        return existing
    return Vote.objects.create(ticket=ticket, review=review, voter=actor, vote=vote, comment=comment, at=now)


# -- definitions and roles ---------------------------------------------------------------------------------


_UNSHOWABLE = re.compile("[\x00\ud800-\udfff]")


def definition_problems(data: Any, *, known_roles: set[str] | None = None) -> list[str]:
    """Return every problem of a definition (empty when it may be activated)."""
    try:
        process = process_parse(data)
    except DefinitionError as exc:
        # A code may hold what cannot be stored or shown (a lone surrogate): the messages must not.
        return [_UNSHOWABLE.sub("\ufffd", problem) for problem in exc.problems]
    return process_problems(
        process, known_fields=KNOWN_FIELDS, known_actions=ACTIONS, known_roles=known_roles
    ) + [
        _("transition %(where)s: unknown assignment strategy %(s)s.")
        % {"where": f"{t.source}.{t.code}", "s": a.params.get("strategy")}
        for t in process.transitions
        for a in t.actions
        if a.type == "assign" and a.params.get("strategy") not in ASSIGN_STRATEGIES
    ]


@transaction.atomic
def process_version_save(
    *, actor: User | None, data: Any, activate: bool = True, starts_new_tickets: bool | None = None
) -> ProcessVersion:
    """Save a definition as the next version of its process (roles it describes are created first).

    Raise ValidationFailed listing every problem; an invalid definition is never saved. Running tickets
    stay on their versions; with `activate` the new one is what new tickets of this process get.
    """
    described = data.get("roles") if isinstance(data, dict) else None
    described = described if isinstance(described, dict) else {}
    known = set(Role.objects.values_list("code", flat=True)) | {str(code) for code in described}
    problems = definition_problems(data, known_roles=known)
    if problems:
        raise ValidationFailed(_("The definition has problems."), errors={"definition": problems})
    roles_ensure(described)  # only once the whole definition is sound: a refused one creates nothing
    process = process_parse(data)
    latest = ProcessVersion.objects.select_for_update().filter(code=process.code).order_by("-version").first()
    # Compared as text: the same states in another order are another drawing and another export.
    if latest is not None and json.dumps(latest.definition) == json.dumps(data):
        return latest
    if starts_new_tickets is None:
        starts_new_tickets = (
            bool(latest and latest.starts_new_tickets)
            or not ProcessVersion.objects.filter(starts_new_tickets=True).exists()
        )
    if activate:
        ProcessVersion.objects.filter(code=process.code, active=True).update(
            active=False, starts_new_tickets=False
        )
    if starts_new_tickets and activate:
        ProcessVersion.objects.filter(starts_new_tickets=True).update(starts_new_tickets=False)
    version = ProcessVersion.objects.create(
        code=process.code,
        version=(latest.version + 1) if latest else 1,
        definition=data,
        active=activate,
        starts_new_tickets=bool(starts_new_tickets and activate),
        created_at=clock.now(),
        created_by=actor,
    )
    from otklik.core.config_cache import config_rows_changed

    config_rows_changed(ProcessVersion)
    return version


@transaction.atomic
def role_member_add(*, role: str, user: User) -> bool:
    """Let `user` hold the role `role` directly; return False when they already did."""
    found = Role.objects.filter(code=role).first()
    if found is None:
        raise NotFound(_("There is no such role."))
    if found.users.filter(pk=user.pk).exists():
        return False
    found.users.add(user)
    from otklik.core.config_cache import config_rows_changed

    config_rows_changed(Role)
    return True


def roles_ensure(described: Mapping[str, Any]) -> list[Role]:
    """Create the roles a definition describes that do not exist yet (names and instructions, ru/en)."""
    created = []
    existing = set(Role.objects.values_list("code", flat=True))
    for sort, (code, info) in enumerate(described.items()):
        if code in existing or not isinstance(info, dict):
            continue
        name = info.get("name") or {}
        instructions = info.get("instructions") or {}
        created.append(
            Role.objects.create(
                code=code,
                name=str(name.get("ru") or code)[:200],
                name_en=str(name.get("en") or "")[:200],
                instructions=str(instructions.get("ru") or ""),
                instructions_en=str(instructions.get("en") or ""),
                sort=(sort + 1) * 10,
            )
        )
    return created


@transaction.atomic
def process_version_activate(
    *, actor: User | None, version: ProcessVersion, starts_new_tickets: bool = False
) -> ProcessVersion:
    """Make `version` the active one of its process (new tickets of that process get it).

    With `starts_new_tickets` it is also the process every new ticket starts in. Raise ValidationFailed
    when the saved definition no longer validates (a role it names was deleted). Running tickets stay on
    their versions; the configuration cache is told.
    """
    version = ProcessVersion.objects.select_for_update().get(pk=version.pk)
    problems = definition_problems(
        version.definition, known_roles=set(Role.objects.values_list("code", flat=True))
    )
    if problems:
        raise ValidationFailed(_("The definition has problems."), errors={"definition": problems})
    was_starting = ProcessVersion.objects.filter(code=version.code, starts_new_tickets=True).exists()
    starts = starts_new_tickets or was_starting
    ProcessVersion.objects.filter(code=version.code, active=True).exclude(pk=version.pk).update(
        active=False, starts_new_tickets=False
    )
    if starts:
        ProcessVersion.objects.filter(starts_new_tickets=True).exclude(pk=version.pk).update(
            starts_new_tickets=False
        )
    version.active = True
    version.starts_new_tickets = starts
    version.save(update_fields=["active", "starts_new_tickets"])
    from otklik.core.config_cache import config_rows_changed

    config_rows_changed(ProcessVersion)
    return version


@transaction.atomic
def role_save(
    *,
    actor: User | None,
    role: Role,
    users: Iterable[User] | None = None,
    groups: Iterable[Group] | None = None,
) -> Role:
    """Save a role's names and instructions and, when given, who holds it (users and groups).

    Saving a role and changing its holders forget the cached role configuration in every process.
    """
    role.full_clean(exclude=["users", "groups"], validate_unique=True)
    role.save()
    if users is not None:
        role.users.set(users)
    if groups is not None:
        role.groups.set(groups)
    return role


@transaction.atomic
def role_delete(*, actor: User | None, role: Role) -> None:
    """Delete a role no active process names; raise Conflict naming the process that still needs it."""
    for version in ProcessVersion.objects.filter(active=True):
        if role.code in process_of(version).roles():
            raise Conflict(
                _("The role %(role)s is named by the active process %(process)s: change the process first.")
                % {"role": role.code, "process": str(version)}
            )
    role.delete()
