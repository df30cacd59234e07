"""Run automation rules on a ticket, inside the transaction of the change that triggered them.

`activity_run` is the listener of `ticket.activity`: it maps the activity to rule events (created,
client replied, updated), evaluates the active rules of those events in their order against the ticket's
facts, and applies the actions of each rule that holds through `ticket_actions_apply` as the rule's
"acts as" user — the same services and policy as anybody. Each firing runs in a savepoint: a refused
action undoes only that rule's changes and is recorded (RuleFiring "refused"); the next rule still runs.
Each firing writes one log line on the ticket naming the rule and what it did, in both languages.

Loop guard: a rule's actions announce new activity, which runs the rules again (re-entry). Per thread,
one outer change (the activity that started it, or one firing of a periodic job) keeps the rules that
fired on each ticket: the same rule does not fire twice on a ticket within one outer change. Its own
actions re-triggering it are simply done; another rule's changes making it act again is a loop, recorded
("loop") and logged on the ticket once. A hard
cap on the depth of re-entry and on firings per outer change stops any rule set that keeps triggering
itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otklik.accounts.models import SupportGroup, SupportGroupMember
from otklik.automation.conditions import FIELDS, conditions_hold
from otklik.automation.definition import Rule
from otklik.automation.models import AutomationRule, FiringOutcome, RuleEvent, RuleFiring
from otklik.core import clock
from otklik.core.bulk import after_pipeline
from otklik.core.config_cache import config_cached
from otklik.core.errors import DomainError, ValidationFailed
from otklik.tickets.activity import TicketActivity
from otklik.tickets.loglines import LANGUAGES, field_label, log_text_default, value_text
from otklik.tickets.models import Channel, Message, MessageKind, Ticket
from otklik.tickets.selectors import config_relations_attach
from otklik.tickets.services.actions import ticket_actions_apply
from otklik.tickets.services.history import message_insert
from otklik.tickets.services.inputs import MessageDraft
from otklik.tickets.services.messages import message_post
from otklik.tickets.services.tags import ticket_tag_names

log = logging.getLogger(__name__)

# How deep rules may trigger rules, and how many firings one outer change may cause.
MAX_DEPTH = 5
MAX_FIRINGS = 20
CACHE_KEY = "automation-rules"


# -- the active rules, from the configuration cache ------------------------------------------------
def _rules_load() -> dict[str, tuple[Rule, ...]]:
    from otklik.automation.definition import rule_from_row

    by_event: dict[str, list[Rule]] = {}
    for row in AutomationRule.objects.filter(active=True).order_by("order", "id"):
        try:
            rule = rule_from_row(row)
        except ValidationFailed as exc:  # saved around the service (the site admin): skipped, said once
            log.warning("automation rule %s (%r) is not valid and is skipped: %s", row.pk, row.name, exc)
            continue
        by_event.setdefault(rule.event, []).append(rule)
    return {event: tuple(rules) for event, rules in by_event.items()}


def rules_active(event: str) -> tuple[Rule, ...]:
    """Return the active rules of an event in their order (cached: rules change rarely)."""
    return config_cached(CACHE_KEY, _rules_load).get(event, ())


# -- the ticket's facts, loaded when a condition asks ------------------------------------------------
class TicketFacts(Mapping[str, Any]):
    """The values conditions test, read from the ticket on first use (see conditions.FIELDS)."""

    def __init__(self, ticket: Ticket, *, message_text: str | None = None, tags: Sequence[str] | None = None):
        self.ticket = ticket
        self._values: dict[str, Any] = {}
        if message_text is not None:
            self._values["message"] = message_text
        if tags is not None:
            self._values["tag"] = frozenset(tags)

    @property
    def message_text(self) -> str | None:
        """Return the triggering message's text when the facts were given it (else None: read on use)."""
        return self._values.get("message")

    def __getitem__(self, key: str) -> Any:
        if key not in FIELDS:
            raise KeyError(key)
        if key not in self._values:
            self._values[key] = self._load(key)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)

    def _load(self, key: str) -> Any:
        ticket = self.ticket
        if key in ("category", "criticality", "status", "source", "sla", "responsible"):
            return getattr(ticket, f"{key}_id")
        if key == "client_group":
            if ticket.author_id is None:
                return frozenset()
            author_id = ticket.author_id
            # Memberships are configuration (cached, forgotten on change): a busy author costs no read.
            return config_cached(
                f"automation-client-groups:{author_id}",
                lambda: frozenset(
                    SupportGroupMember.objects.filter(
                        user_id=author_id, group__kind=SupportGroup.Kind.CLIENT
                    ).values_list("group_id", flat=True)
                ),
            )
        if key == "tag":
            return frozenset(ticket_tag_names(ticket))
        if key == "message":
            return last_client_message_text(ticket.pk)
        if key == "is_postponed":
            return ticket.is_postponed
        return getattr(ticket, key)  # title, tier


def last_client_message_text(ticket_id: int) -> str:
    """Return the body of the client side's newest public message on the ticket ("" when none)."""
    body = (
        Message.objects.filter(ticket_id=ticket_id, kind=MessageKind.PUBLIC, by_support=False)
        .order_by("-number")
        .values_list("body", flat=True)
        .first()
    )
    return body or ""


# -- the per-thread state of one outer change -------------------------------------------------------
@dataclass
class _Run:
    depth: int = 0
    firings: int = 0
    fired: set[tuple[int, int]] = field(default_factory=set)
    loop_logged: set[int] = field(default_factory=set)
    collectors: list[list[TicketActivity]] = field(default_factory=list)
    firing: list[int] = field(
        default_factory=list
    )  # the rules whose actions are being applied, innermost last
    stopped: bool = False  # a loop was found: no more rules in this outer change
    users: dict[int, User | None] = field(default_factory=dict)


_local = threading.local()


def _current() -> _Run | None:
    return getattr(_local, "run", None)


@contextmanager
def outer_change() -> Iterator[_Run]:
    """Enter one level of rule processing; the outermost level starts (and finally drops) the state."""
    run = _current()
    started = run is None
    if run is None:
        run = _Run()
        _local.run = run
    run.depth += 1
    try:
        yield run
    finally:
        run.depth -= 1
        if started:
            _local.run = None


# -- the listener ------------------------------------------------------------------------------------
def activity_events(activity: TicketActivity) -> list[str]:
    """Return the rule events an activity causes: created; else client replied and/or updated."""
    if activity.created:
        return [RuleEvent.CREATED]
    message = activity.message
    found = []
    client_message = (
        message is not None and not message.by_support and message.kind in (MessageKind.PUBLIC, "nostatus")
    )
    if client_message:
        found.append(RuleEvent.CLIENT_REPLIED)
    if activity.changes or (message is not None and not client_message):
        found.append(RuleEvent.UPDATED)
    return found


def activity_run(activity: TicketActivity) -> None:
    """Run the rules an activity triggers (the `ticket.activity` listener), in the caller's transaction."""
    run = _current()
    if run is not None and run.collectors:
        run.collectors[-1].append(activity)  # what the firing in progress did, for its log line
    events = activity_events(activity)
    if not any(rules_active(event) for event in events):
        return
    # A new ticket announces itself inside PostgreSQL's pipeline; the rules' services read what they
    # write (an UPDATE's row count), so they run once it ends, still in the creation's transaction.
    after_pipeline(lambda: _activity_rules(activity, events))


def _activity_rules(activity: TicketActivity, events: list[str]) -> None:
    ticket = activity.ticket
    message = activity.message
    text = message.body if message is not None and message.kind != MessageKind.LOG else ""
    with outer_change():
        latest = ticket
        for event in events:
            facts = TicketFacts(latest, message_text=text, tags=() if activity.created else None)
            latest, stopped = rules_run(rules_active(event), latest, event, facts=facts)
            if stopped:
                break
        if latest is not ticket:
            instance_refresh(ticket, latest)


def rules_run(
    rules: Sequence[Rule],
    ticket: Ticket,
    event: str,
    *,
    facts: TicketFacts,
    period_start: datetime | None = None,
) -> tuple[Ticket, bool]:
    """Evaluate `rules` in order and fire those that hold; return the ticket as it is now and whether a
    rule that fired asked to stop the rest."""
    for rule in rules:
        if not conditions_hold(rule.conditions, rule.match, facts):
            continue
        outcome = rule_fire(rule, ticket, event, facts=facts, period_start=period_start)
        if outcome is None:
            continue
        if outcome.ticket is not ticket:
            ticket = outcome.ticket
            # The next rules see the ticket as this one left it (the triggering message stays the same).
            facts = TicketFacts(ticket, message_text=facts.message_text)
        if outcome.outcome == FiringOutcome.OK and rule.stop_processing:
            return ticket, True
    return ticket, False


@dataclass(frozen=True)
class Fired:
    outcome: str
    ticket: Ticket


def rule_fire(
    rule: Rule,
    ticket: Ticket,
    event: str,
    *,
    facts: TicketFacts,
    period_start: datetime | None = None,
) -> Fired | None:
    """Apply a rule whose conditions hold to the ticket; return what happened (None: nothing to do)."""
    with outer_change() as run:
        key = (rule.id, ticket.pk)
        if not actions_would_change(rule, facts):
            return None  # the rule holds but the ticket is already as it would make it: not a firing
        if key in run.fired:
            if run.firing and run.firing[-1] == rule.id:
                return None  # its own note or change announced: the rule has done its part
            _loop_stop(run, rule, ticket, event, _("it would change the ticket again in the same change"))
            return Fired(FiringOutcome.LOOP, ticket)
        if run.stopped:
            return None
        if len(run.firing) >= MAX_DEPTH or run.firings >= MAX_FIRINGS:
            _loop_stop(run, rule, ticket, event, _("too many rules triggered each other"))
            return Fired(FiringOutcome.LOOP, ticket)
        run.fired.add(key)
        run.firings += 1
        actor = _run_as(run, rule)
        if actor is None:
            _firing_record(
                rule, ticket, event, FiringOutcome.REFUSED, _("The rule acts as nobody."), period_start
            )
            return Fired(FiringOutcome.REFUSED, ticket)
        collected: list[TicketActivity] = []
        run.collectors.append(collected)
        run.firing.append(rule.id)
        try:
            firings_before = run.firings
            with transaction.atomic():  # a savepoint: a refusal undoes this rule's changes only
                _actions_apply(rule, actor, ticket)
                # The services' own copy is current unless rules fired inside this one.
                last = collected[-1].ticket if collected else None
                fresh = last if last is not None and run.firings == firings_before else ticket_reread(ticket)
                _firing_line(fresh, rule, collected)
                _firing_record(rule, fresh, event, FiringOutcome.OK, "", period_start)
            return Fired(FiringOutcome.OK, fresh)
        except DomainError as exc:
            reason = _refusal_text(exc)
            _firing_record(rule, ticket, event, FiringOutcome.REFUSED, reason, period_start)
            _log_write(ticket, [{"code": "rule_refused", "rule": rule.name, "reason": reason[:300]}])
            return Fired(FiringOutcome.REFUSED, ticket)
        except Exception as exc:  # a bug must not fail the client's change; it is recorded and logged
            log.exception("automation rule %s failed on ticket %s", rule.id, ticket.pk)
            _firing_record(rule, ticket, event, FiringOutcome.ERROR, repr(exc)[:500], period_start)
            return Fired(FiringOutcome.ERROR, ticket)
        finally:
            run.collectors.pop()
            run.firing.pop()


def _run_as(run: _Run, rule: Rule) -> User | None:
    if rule.run_as_id is None:
        return None
    if rule.run_as_id not in run.users:
        run.users[rule.run_as_id] = User.objects.filter(pk=rule.run_as_id, is_active=True).first()
    return run.users[rule.run_as_id]


def _actions_apply(rule: Rule, actor: User, ticket: Ticket) -> None:
    """Apply the rule's actions as `actor`: the shared action set, the process move, the notification."""
    actions = rule.actions
    if not actions.ticket.empty:
        ticket_actions_apply(actor=actor, ticket=ticket, actions=actions.ticket, via=Channel.SYSTEM)
    if actions.transition:
        from otklik.workflow.services import workflow_transition

        workflow_transition(actor=actor, ticket=ticket, transition=actions.transition, via=Channel.SYSTEM)
    if not actions.notify.empty:
        _notify(rule, actor, ticket)


def _notify(rule: Rule, actor: User, ticket: Ticket) -> None:
    """Tell staff by a hidden note that mentions them (the bell's "mentioned" reaches whoever may see it)."""
    notify = rule.actions.notify
    ids = list(notify.users)
    fresh = ticket_reread(ticket)
    if notify.responsible and fresh.responsible_id:
        ids.append(fresh.responsible_id)
    names = list(
        User.objects.filter(pk__in=ids, is_active=True)
        .order_by("username")
        .values_list("username", flat=True)
    )
    if not names:
        return
    with translation.override(settings.LANGUAGE_CODE):
        text = notify.text or _("Rule “%(rule)s” asks you to look at this ticket.") % {"rule": rule.name}
    body = " ".join(f"@{name}" for name in names) + " " + text
    message_post(
        actor=actor,
        ticket=fresh,
        draft=MessageDraft(body=body, hidden=True, notify_author=False),
        via=Channel.SYSTEM,
    )


def actions_would_change(rule: Rule, facts: TicketFacts) -> bool:
    """Tell whether the rule's actions would change the ticket now (a reply, note or move always does)."""
    actions = rule.actions
    ticket = facts.ticket
    if actions.ticket.reply.strip() or actions.transition or not actions.notify.empty:
        return True
    if actions.ticket.close and ticket.closed_at is None:
        return True
    if actions.ticket.reopen and ticket.closed_at is not None:
        return True
    for name, value in actions.ticket.changes.items():
        current = ticket.is_postponed if name == "is_postponed" else getattr(ticket, f"{name}_id", None)
        if name == "is_postponed":
            if bool(value) != current:
                return True
        elif (None if value in (None, "") else str(value)) != (None if current is None else str(current)):
            return True
    if actions.ticket.add_tags or actions.ticket.remove_tags:
        have = {name.casefold() for name in facts["tag"]}
        if any(name.casefold() not in have for name in actions.ticket.add_tags):
            return True
        if any(name.casefold() in have for name in actions.ticket.remove_tags):
            return True
    return False


def ticket_reread(ticket: Ticket) -> Ticket:
    """Read the ticket again (a rule's services changed a copy of their own)."""
    rows = Ticket.objects.select_related("author__profile", "responsible__profile")
    return config_relations_attach(rows.get(pk=ticket.pk))


def instance_refresh(target: Ticket, source: Ticket) -> None:
    """Copy the row's values (and the people and entries they point to) into the caller's instance, so the
    service that triggered the rules neither shows nor saves values the rules changed."""
    for model_field in Ticket._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))
        if model_field.is_relation:
            if model_field.is_cached(source):
                model_field.set_cached_value(target, model_field.get_cached_value(source))
            elif model_field.is_cached(target):
                model_field.delete_cached_value(target)


# -- the record ------------------------------------------------------------------------------------
# The summary of a firing, one part per change, in each language (the log line keeps both).
DID_SET = gettext_noop("set %(field)s to %(new)s")
DID_CLEARED = gettext_noop("cleared %(field)s")
DID_REPLIED = gettext_noop("replied to the client")
DID_NOTE = gettext_noop("added a hidden note")
DID_CLOSED = gettext_noop("closed the ticket")
DID_REOPENED = gettext_noop("reopened the ticket")
DID_NOTHING = gettext_noop("fired")


def _did(collected: Sequence[TicketActivity]) -> dict[str, str]:
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            parts: list[str] = []
            for activity in collected:
                message = activity.message
                if message is not None and message.kind != MessageKind.LOG:
                    parts.append(_(DID_NOTE) if message.kind == MessageKind.HIDDEN else _(DID_REPLIED))
                for change in activity.changes:
                    if change.field == "closed":
                        closed = isinstance(change.new, dict) and change.new.get("en") == "yes"
                        parts.append(_(DID_CLOSED) if closed else _(DID_REOPENED))
                    elif change.new in (None, ""):
                        parts.append(_(DID_CLEARED) % {"field": field_label(change.field)})
                    else:
                        parts.append(
                            _(DID_SET) % {"field": field_label(change.field), "new": value_text(change.new)}
                        )
            texts[language] = ", ".join(dict.fromkeys(parts)) or _(DID_NOTHING)
    return texts


def _firing_line(ticket: Ticket, rule: Rule, collected: Sequence[TicketActivity]) -> None:
    _log_write(ticket, [{"code": "rule", "rule": rule.name, "did": _did(collected)}])


def _log_write(ticket: Ticket, data: list[dict]) -> None:
    """Write a log line on the ticket (the system's; no field changed, so no history event)."""
    message_insert(
        ticket,
        kind=MessageKind.LOG,
        body=log_text_default(data),
        data=data,
        author=None,
        by_support=True,
        via=Channel.SYSTEM,
    )


def _firing_record(
    rule: Rule, ticket: Ticket, event: str, outcome: str, detail: str, period_start: datetime | None
) -> None:
    RuleFiring.objects.create(
        rule_id=rule.id,
        ticket_id=ticket.pk,
        event=event,
        fired_at=clock.now(),
        outcome=outcome,
        detail=detail,
        period_start=period_start,
    )


def _loop_stop(run: _Run, rule: Rule, ticket: Ticket, event: str, why: str) -> None:
    """Record a stopped loop and stop the rules for the rest of the outer change; log it on the ticket once."""
    run.stopped = True
    _firing_record(rule, ticket, event, FiringOutcome.LOOP, why, None)
    if ticket.pk in run.loop_logged:
        return
    run.loop_logged.add(ticket.pk)
    _log_write(ticket, [{"code": "rule_loop", "rule": rule.name}])


def _refusal_text(exc: DomainError) -> str:
    parts = [str(exc.message)] if exc.message else []
    for name, messages in (exc.errors or {}).items():
        parts.extend(f"{name}: {message}" for message in messages)
    return "; ".join(dict.fromkeys(parts)) or exc.__class__.__name__
