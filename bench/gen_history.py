"""Play out a bench ticket's life as the services would have written it, as rows for bench.gen_tickets.

A story is a list of actions in time (the client writes, support answers, a process move, a close, a
reopen, a mark, a vote), planned by `plan_story` from a seeded generator. `TicketLife` executes them in
order with the rules of the services, written here once more as plain state changes because running the
services for a million tickets would take days:

- derived fields and the SLA clock as `tickets.services.derived` (`_derive` / `_deadline_update`): the
  clock starts at creation, restarts at the first client message after support's answer and at a reopen,
  stops ("answered", with empty source and deadline) when support answers, "stopped" when closed while
  waiting; deadlines and reminders come from `otklik.sla.selectors.deadline_for` (the SLA's timetable
  with the production calendar);
- the periodic SLA job (`tickets.services.sla_tick`) between actions: reminders, overdue (flag, counter,
  log line, timeline step; no history event) and auto-close after the module's days of client silence
  (log line and a "closed" event, the process left where it was, as the job does);
- history as `tickets.services.history.history_record`: one log message per write listing its changes as
  data, and one `TicketEvent` per changed field linked to it, chained with `tickets.history.events_chain`;
- process moves as `workflow.services.workflow_transition` over the shipped three-tier definition: the
  move row, the ticket attributes its actions set (tier, type, criticality, responsible, plan), the stage
  and L1 outcome in the history, the reply and the close a move makes; a close or reopen outside the
  process is followed as `workflow.services._follow` does.

Actions later than `now` are not played, so recent tickets are open in whatever state their story had
reached; the SLA job then runs up to `now`.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from otklik.sla.models import SlaEventKind, SourceReason
from otklik.sla.selectors import deadline_for
from otklik.tickets.history import event_digest
from otklik.tickets.loglines import log_text_default, value_text

STEP = timedelta(milliseconds=200)  # between the writes one request makes (a move's log, reply, close)
HOUR = 3600
LATE_SHARE = 0.12  # answers after the SLA deadline
REOPEN_SHARE = 0.05


# -- what a story runs on ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SlaProfile:
    """An SLA level as the stories use it: the level (for deadline_for), its names and response time."""

    level: Any  # otklik.sla.models.SlaLevel with its timetable loaded
    calendar: Any  # its WorkingCalendar
    created_text: str  # the creation event's SLA part is built per ticket from these
    reason: str  # why tickets get it: "group" or "coupon"

    @property
    def id(self) -> int:
        return self.level.pk

    @property
    def response(self) -> int:
        return self.level.response_seconds


@dataclass
class World:
    """Everything a story needs that is the same for every ticket (read once by gen_tickets)."""

    now: datetime
    auto_close_days: int
    process: Any  # workflow.definition.Process
    version_id: int
    work_calendar: Any  # staff's working hours, for how long process work takes
    staff: list[int]
    staff_weights: list[float]
    l1: list[int]  # who answers first
    l2: list[int]  # incident managers, engineers, testers, the change board
    admin: int
    names: dict[int, str]  # user id -> display name (what the history stores for a responsible)
    emails: dict[int, str]
    entries: dict[str, dict[str, tuple[int, str, str]]]  # kind -> code -> (id, name_ru, name_en)
    highest_criticality: str
    created_values: Any  # (ticket id, SlaProfile, responsible id) -> (text, data) of the "created" event
    yes: Any = None  # log values of True/False (both languages)
    no: Any = None
    spam_none: Any = None
    spam_possible: Any = None
    # Log data and history values repeat (the same moves, closes, stages): JSON and texts made once each.
    _logs: dict[str, tuple[str, str]] = field(default_factory=dict)
    _values: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def log_entry(self, data: list) -> tuple[str, str]:
        """Return a log message's (data as JSON, body in the site's language) for its data."""
        key = repr(data)
        entry = self._logs.get(key)
        if entry is None:
            entry = self._logs[key] = (json.dumps(data, ensure_ascii=False), log_text_default(data))
        return entry

    def change_entry(self, old, new) -> tuple[str, str, str]:
        """Return a history event's (old text, new text, data as JSON) for its values."""
        key = repr((old, new))
        entry = self._values.get(key)
        if entry is None:
            data = json.dumps({"old": old, "new": new}, ensure_ascii=False)
            entry = self._values[key] = (value_text(old), value_text(new), data)
        return entry

    def entry_value(self, kind: str, entry_id: int | None):
        """Return a dictionary entry as log data stores it ({"ru", "en"}), or None."""
        if entry_id is None:
            return None
        for pk, ru, en in self.entries[kind].values():
            if pk == entry_id:
                return {"ru": ru or en, "en": en or ru}
        return None


class Ids:
    """Ids handed out in a range reserved from a table's sequence (rows that others point to)."""

    def __init__(self, first: int):
        self.next = first

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value


@dataclass
class Rows:
    """The rows of one batch, per table, as tuples in `gen_tickets.COLUMNS` order."""

    messages: Ids
    moves: Ids
    tickets: list[tuple] = field(default_factory=list)
    message: list[tuple] = field(default_factory=list)
    event: list[tuple] = field(default_factory=list)
    sla: list[tuple] = field(default_factory=list)
    move: list[tuple] = field(default_factory=list)
    place: list[tuple] = field(default_factory=list)
    vote: list[tuple] = field(default_factory=list)
    doc: list[tuple] = field(default_factory=list)


class _Event:
    """The fields of a history event that its hash covers (tickets.history.CHAINED_FIELDS)."""

    __slots__ = (
        "actor_email",
        "actor_id",
        "at",
        "data",
        "field",
        "new",
        "old",
        "staff_only",
        "ticket_id",
        "via",
    )

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


# -- the plan ----------------------------------------------------------------------------------------
@dataclass
class Scenario:
    lang: str
    title: str
    body: str
    question: str
    clarification: str
    answer: str
    note: str
    category: str
    criticality: str
    # Generic lines of the scenario's language (the demo's GENERIC): chase, wait, followup, reopen.
    generic: dict[str, Any]


@dataclass
class Ticket:
    """A ticket's fixed attributes, chosen before its story is played."""

    id: int
    author: int
    created_at: datetime
    via: str
    sla: SlaProfile
    responsible: int | None
    category: int | None
    criticality: int | None
    source: int | None
    is_special: bool
    scenario: Scenario


def plan_story(w: World, rng: random.Random, t: Ticket) -> list[tuple]:
    """Return the ticket's actions in time order: (at, kind, actor, payload)."""
    sc = t.scenario
    plan = _Planner(w, rng, t)
    l1 = t.responsible if t.responsible in w.l1 or t.responsible in w.l2 else rng.choice(w.l1)
    t1 = plan.answer_at(t.created_at)
    r = rng.random()
    outcome = (
        "faq" if r < 0.18 else
        "off_topic" if r < 0.22 else
        "profanity" if r < 0.23 else
        "to_administration" if r < 0.27 else
        "map_content" if r < 0.32 else
        "escalate" if r < 0.52 else
        "solve"
    )  # fmt: skip
    if rng.random() < 0.015:
        # Neglected: support answered once, the client wrote back and nobody came (open, overdue).
        plan.add(t1, "move", l1, "solve")
        plan.support(t1 + STEP, l1, sc.question)
        plan.client(plan.client_after(t1), sc.clarification)
        return plan.actions
    if outcome in ("faq", "off_topic"):
        plan.add(t1, "move", l1, {"transition": outcome, "reply": sc.answer})
        plan.after_close(t1, l1)
        return plan.actions
    if outcome == "profanity":
        plan.add(t1, "move", l1, "profanity")
        return plan.actions
    plan.add(t1, "move", l1, outcome)
    if outcome == "solve":
        rounds = _rounds(rng)
        if rounds == 0:
            plan.finish(t1 + STEP, l1)  # the first answer solves it
        else:
            plan.support(t1 + STEP, l1, sc.question)
            plan.finish(plan.exchanges(t1, l1, rounds=rounds), l1)
        return plan.actions
    # Work passed on: the first answer says it is being looked at; the first line answers at the end.
    if rng.random() < 0.5:
        plan.support(t1 + STEP, l1, sc.note, hidden=True)
    plan.support(t1 + 2 * STEP, l1, _pick(rng, sc.generic["wait"]))
    if outcome in ("to_administration", "map_content"):
        last = plan.work(t1, rng.choice(w.l2), "resolve", hours=(1, 16))
    else:
        last = plan.escalation(t1)
    plan.finish(plan.work_after(last, (0.1, 4)), l1)
    return plan.actions


def _rounds(rng: random.Random) -> int:
    r = rng.random()
    return 0 if r < 0.35 else 1 if r < 0.7 else 2 if r < 0.85 else 3 if r < 0.93 else rng.randint(4, 6)


def _pick(rng: random.Random, options) -> str:
    return options if isinstance(options, str) else rng.choice(options)


class _Planner:
    """Builds a story's actions; times come from the SLA's calendar (answers) and staff's (work)."""

    def __init__(self, w: World, rng: random.Random, t: Ticket):
        self.w, self.rng, self.t = w, rng, t
        self.actions: list[tuple] = []
        self.conversation = 1  # the client's opening message
        self.client_texts = [t.scenario.clarification, *t.scenario.generic["followup"]]

    def add(self, at: datetime, kind: str, actor, payload=None) -> None:
        self.actions.append((at, kind, actor, payload))

    def support(self, at: datetime, actor: int, text: str, *, hidden: bool = False) -> None:
        self.add(at, "support", actor, {"text": text, "hidden": hidden})
        if not hidden:
            self.conversation += 1

    def client(self, at: datetime, text: str) -> None:
        self.add(at, "client", self.t.author, {"text": text})
        self.conversation += 1

    def room(self, n: int) -> bool:
        """Whether `n` more conversation messages fit the 15 a bench ticket has at most."""
        return self.conversation + n <= 15

    def answer_at(self, source: datetime) -> datetime:
        """When support answers a clock started at `source`: within the SLA, or now and then late."""
        sla = self.t.sla
        if sla.response <= 0:
            return source + timedelta(minutes=self.rng.uniform(10, 600))
        if self.rng.random() < LATE_SHARE:
            working = sla.response * (1.03 + self.rng.expovariate(1 / 0.7))
        else:
            working = sla.response * min(0.97, self.rng.random() ** 1.7)
        working = max(working, 90)
        return sla.calendar.add(source, int(working)) + timedelta(seconds=self.rng.uniform(0, 50))

    def client_after(self, at: datetime) -> datetime:
        """When the client writes back: minutes to days later (median about three hours)."""
        seconds = math.exp(self.rng.gauss(math.log(3 * HOUR), 1.3))
        return at + timedelta(seconds=min(max(seconds, 300), 6 * 86400))

    def work_after(self, at: datetime, hours: tuple[float, float]) -> datetime:
        """When staff finish a piece of process work taking `hours` working hours (staff's calendar)."""
        working = self.rng.uniform(*hours) * HOUR
        return self.w.work_calendar.add(at, int(working)) + timedelta(seconds=self.rng.uniform(0, 50))

    def exchanges(self, at: datetime, actor: int, *, rounds: int) -> datetime:
        """The client answers support's question and support asks again, `rounds` times; return when
        support answers the client's last message (the final answer, which `finish` writes)."""
        answered = at
        for i in range(rounds):
            if i and not self.room(3):  # the client's message, maybe a second one, the final answer
                break
            asked = self.client_after(answered)
            self.client(asked, self.client_texts[min(i, len(self.client_texts) - 1)])
            answered = self.answer_at(asked)
            if self.rng.random() < 0.1 and self.room(3):
                # A second message while waiting: the clock keeps its first start.
                self.client(asked + (answered - asked) / 2, _pick(self.rng, self.t.scenario.generic["chase"]))
            if i + 1 == rounds or not self.room(4):
                break
            self.support(answered, actor, self.t.scenario.question)
        return answered

    def work(self, at: datetime, actor: int, transition: str, *, hours=(1.0, 8.0), payload=None) -> datetime:
        """A move after some working hours; meanwhile the client may ask for news and get an answer."""
        done = self.work_after(at, hours)
        if done - at > timedelta(days=1) and self.rng.random() < 0.4 and self.room(3):
            asked = at + (done - at) * self.rng.uniform(0.2, 0.6)
            answered = self.answer_at(asked)
            if answered < done:
                self.client(asked, _pick(self.rng, self.t.scenario.generic["chase"]))
                self.support(
                    answered, self.rng.choice(self.w.l1), _pick(self.rng, self.t.scenario.generic["wait"])
                )
        self.add(done, "move", actor, {"transition": transition, **(payload or {})})
        return done

    def escalation(self, at: datetime) -> datetime:
        """The second and third lines: triage, then an incident, an accident or a change request."""
        rng, l2 = self.rng, self.w.l2
        manager, tester, engineers = l2[0], l2[1], l2[2:]
        r = rng.random()
        kind = "incident" if r < 0.55 else "accident" if r < 0.65 else "change_request" if r < 0.9 else "back"
        if kind == "back":
            at = self.work(at, manager, "back_to_l1", hours=(0.5, 6))
            return self.work(at, rng.choice(self.w.l1), "solve", hours=(0.5, 8))
        at = self.work(at, manager, kind, hours=(0.3, 6))
        if kind == "change_request":
            board = rng.sample(l2[1:], 2)
            decision = "approve" if rng.random() < 0.7 else "reject"
            review_at = at
            for voter in board:
                review_at = self.work_after(review_at, (1, 12))
                self.add(review_at, "vote", voter, {"vote": decision})
            at = self.work(review_at, board[0], decision, hours=(0.1, 2))
            if decision == "reject":
                return at
            minutes = rng.choice((120, 240, 480, 960, 2400))
            at = self.work(at, manager, "plan", hours=(1, 8), payload={"minutes": minutes})
            assign = "assign_developer" if rng.random() < 0.6 else "assign_integrator"
            at = self.work(at, manager, assign, hours=(0.5, 16))
            hours = (minutes / 60 * 0.6, minutes / 60 * 1.8)
        else:
            assign = "assign_it" if rng.random() < 0.6 else "assign_developer"
            at = self.work(at, manager, assign, hours=(0.1, 2) if kind == "accident" else (0.5, 6))
            hours = (0.5, 6) if kind == "accident" else (2, 30)
        at = self.work(at, rng.choice(engineers), "done", hours=hours)
        while rng.random() < 0.15:
            at = self.work(at, tester, "failed", hours=(1, 8))
            at = self.work(at, rng.choice(engineers), "done", hours=(hours[0] / 2, hours[1] / 2))
        return self.work(at, tester, "verified", hours=(1, 8))

    def finish(self, done: datetime, l1: int) -> None:
        """The final answer at `done`: the first line closes with it (the process's last move); or it is
        a plain answer and the client closes the ticket, or stays silent until the job closes it."""
        r = self.rng.random()
        if r < 0.75 or not self.room(1):
            self.add(done, "move", l1, {"transition": "close", "reply": self.t.scenario.answer})
            self.after_close(done, l1)
        elif r < 0.87:
            self.support(done, l1, self.t.scenario.answer)
            closed = self.client_after(done)
            self.add(closed, "close", self.t.author)
            self.after_close(closed, l1)
        else:
            self.support(done, l1, self.t.scenario.answer)  # the job closes it after the silent days

    def after_close(self, closed: datetime, l1: int) -> None:
        """A mark on some closed tickets; now and then the client reopens and support closes again."""
        rng = self.rng
        if rng.random() < REOPEN_SHARE and self.room(2):
            reopened = self.client_after(closed) + timedelta(hours=rng.uniform(1, 48))
            self.add(reopened, "reopen", self.t.author)
            self.client(reopened + STEP, _pick(rng, self.t.scenario.generic["reopen"]))
            answered = self.answer_at(reopened + STEP)
            self.add(answered, "move", l1, "solve")
            self.add(answered + STEP, "move", l1, {"transition": "close", "reply": self.t.scenario.answer})
            self.conversation += 1
            closed = answered
        if rng.random() < 0.3:
            marks = self.w.entries["mark"]
            code = rng.choices(list(marks), weights=[7, 2, 1][: len(marks)])[0]
            self.add(self.client_after(closed), "mark", self.t.author, {"mark": marks[code][0]})


# -- the play ----------------------------------------------------------------------------------------
class TicketLife:
    """Play a ticket's actions with the services' rules; collect its rows into `rows`."""

    def __init__(self, w: World, rows: Rows, t: Ticket, rng: random.Random):
        self.w, self.rows, self.t, self.rng = w, rows, t, rng
        self.number = 0
        self.head = ""  # the history chain's last hash
        self.public: list[tuple[datetime, int, bool]] = []  # (at, author, by support)
        self.public_text: list[str] = [t.scenario.title]
        self.staff_text: list[str] = [t.scenario.title]
        self.minutes = 0
        self.closed_at: datetime | None = None
        self.reopened_at: datetime | None = None
        self.auto_closed = False
        self.awaits = True
        self.source_at: datetime | None = None
        self.reason = ""
        self.deadline: datetime | None = None
        self.reminder: datetime | None = None
        self.is_overdue = False
        self.reminder_sent = False
        self.overdue_count = 0
        self.overdue_at: datetime | None = None
        self.reminder_sent_at: datetime | None = None
        self.modified = (t.created_at, t.author, t.via)
        self.responsible = t.responsible
        self.criticality = t.criticality
        self.tier = ""
        self.ticket_type = ""
        self.spam = ""
        self.mark: int | None = None
        self.planned: int | None = None
        self.expected: date | None = None
        start = w.process.states[w.process.start]
        self.tier = start.tier
        self.state = start.code
        self.role = start.role
        self.assigned_role = ""
        self.entered_at = t.created_at
        self.l1_outcome = ""
        self.ended = False  # closed by the job: the rest of the story did not happen
        self.review_move: int | None = None  # the move that brought the ticket to the change board

    # -- playing -------------------------------------------------------------------------------------
    def play(self, actions: list[tuple]) -> None:
        self.create()
        for at, kind, actor, payload in sorted(actions, key=lambda a: a[0]):
            if at > self.w.now:
                break
            self.tick_until(at)
            if self.ended:
                break
            getattr(self, f"do_{kind}")(at, actor, payload)
        self.tick_until(self.w.now)

    def do_client(self, at, actor, payload) -> None:
        if self.closed_at is not None:
            return  # the story's close came first (a move's close does not wait for the client)
        self.message(at, actor, payload["text"], by_support=False)

    def do_support(self, at, actor, payload) -> None:
        self.message(at, actor, payload["text"], by_support=True, hidden=payload.get("hidden", False))

    def do_move(self, at, actor, payload) -> None:
        if isinstance(payload, str):
            payload = {"transition": payload}
        if self.closed_at is not None:
            return
        self.move(at, actor, payload)

    def do_close(self, at, actor, payload) -> None:
        if self.closed_at is None:
            self.close(at, actor)
            self.follow(at + STEP, actor, reopened=False)

    def do_reopen(self, at, actor, payload) -> None:
        if self.closed_at is None:
            return
        data = [{"field": "closed", "old": self.w.yes, "new": self.w.no}]
        self.closed_at = None
        self.reopened_at = at
        self.is_overdue = False
        self.touch(at, actor)
        self.history(at, actor, self.t.via, data, [("closed", self.w.yes, self.w.no, False)])
        self.recompute(at)
        self.follow(at + STEP, actor, reopened=True)

    def do_mark(self, at, actor, payload) -> None:
        value = self.w.entry_value("mark", payload["mark"])
        self.mark = payload["mark"]
        self.touch(at, actor)
        self.history(at, actor, self.t.via, [{"field": "mark", "old": None, "new": value}],
                     [("mark", None, value, False)])  # fmt: skip

    def do_vote(self, at, actor, payload) -> None:
        if self.state != "board" or self.closed_at is not None:
            return
        self.rows.vote.append((self.t.id, self.review_move, actor, payload["vote"], "", at))

    # -- the services' rules -------------------------------------------------------------------------
    def create(self) -> None:
        t = self.t
        self.message(t.created_at, t.author, t.scenario.body, by_support=False, first=True)
        text, data = self.w.created_values(t.id, t.sla, t.responsible)
        self.event(t.created_at, t.author, t.via, "created", "", text, False, None, data, _json(data))

    def message(self, at, author, text, *, by_support, hidden=False, first=False) -> None:
        self.number += 1
        kind = "hidden" if hidden else "public"
        minutes = self.rng.choice((5, 10, 15, 30)) if by_support and not first else 0
        self.minutes += minutes
        self.rows.message.append((
            self.rows.messages.take(), self.t.id, self.number, kind, author, self.w.emails[author], None,
            self.t.via if not by_support else "web", self.t.source if first else None, by_support, minutes,
            text, None, at,
        ))  # fmt: skip
        self.staff_text.append(text)
        self.touch(at, author, self.t.via if not by_support else "web")
        if hidden:
            return
        self.public_text.append(text)
        self.public.append((at, author, by_support))
        self.recompute(at)

    def recompute(self, at) -> None:
        """`ticket_recompute`: who is waiting, and the clock (tickets.services.derived._derive)."""
        last_support = max((i for i, m in enumerate(self.public) if m[2]), default=None)
        restarts = [(self.t.created_at, SourceReason.CREATED)]
        if last_support is None:
            waiting = True
        else:
            support_at = self.public[last_support][0]
            after = self.public[last_support + 1 :]
            waiting = bool(after) or (self.reopened_at is not None and self.reopened_at > support_at)
            if after:
                restarts.append((after[0][0], SourceReason.CLIENT_REPLY))
        if self.reopened_at is not None:
            restarts.append((self.reopened_at, SourceReason.REOPENED))
        self.awaits = self.closed_at is None and waiting
        source, reason = max(restarts, key=lambda r: r[0])
        self.deadline_update(at, source, reason)

    def deadline_update(self, at, source, reason) -> None:
        """tickets.services.derived._deadline_update (no pauses: bench tickets are not postponed)."""
        was_running = self.source_at is not None
        if not self.awaits:
            self.is_overdue = self.reminder_sent = False
            self.source_at = self.deadline = self.reminder = None
            self.reason = ""
            if was_running:
                self.step(at, SlaEventKind.ANSWERED if self.closed_at is None else SlaEventKind.STOPPED)
            return
        if self.is_overdue:
            return
        first_start = not self.reason
        moved = source != self.source_at or first_start
        if moved:
            self.reminder_sent = False
        self.source_at, self.reason = source, reason
        self.deadline, self.reminder = deadline_for(self.t.sla.level, source)
        if moved:
            started = first_start and reason == SourceReason.CREATED
            self.step(at, SlaEventKind.STARTED if started else SlaEventKind.RESTARTED, reason)

    def step(self, at, kind, reason="") -> None:
        level = self.t.sla.level
        self.rows.sla.append((
            self.t.id, at, kind, reason, self.source_at, self.deadline, self.reminder, level.name_ru, level.name_en,
        ))  # fmt: skip

    def tick_until(self, until: datetime) -> None:
        """What the minute job did before `until`: reminders, overdue, auto-close."""
        while True:
            due = None
            if self.awaits and not self.is_overdue and self.deadline is not None:
                if (
                    not self.reminder_sent
                    and self.reminder is not None
                    and _tick(self.reminder) < self.deadline
                ):
                    due = ("reminder", _tick(self.reminder))
                else:
                    due = ("overdue", _tick(self.deadline))
            elif self.closed_at is None and self.public and self.public[-1][2] and not self.awaits:
                if self.w.auto_close_days:
                    quiet = self.public[-1][0] + timedelta(days=self.w.auto_close_days)
                    due = ("auto_close", _tick(quiet))
            if due is None or due[1] > until:
                return
            kind, at = due
            if kind == "reminder":
                self.reminder_sent, self.reminder_sent_at = True, at
                self.step(at, SlaEventKind.REMINDER)
            elif kind == "overdue":
                self.is_overdue, self.overdue_at = True, at
                self.overdue_count += 1
                self.log(at, None, "system", [{"code": "overdue"}])
                self.step(at, SlaEventKind.OVERDUE)
            else:
                self.closed_at, self.auto_closed = at, True
                self.modified = (at, None, "system")
                data = [{"code": "auto_closed"}, {"field": "closed", "old": self.w.no, "new": self.w.yes}]
                self.history(at, None, "system", data, [("closed", self.w.no, self.w.yes, False)])
                self.ended = True
                return

    def close(self, at, actor) -> None:
        """`ticket_close`: the log line and event, then the clock stops (tickets.services.attributes)."""
        via = self.t.via if actor == self.t.author else "web"
        self.closed_at = at
        self.auto_closed = False
        self.touch(at, actor, via)
        data = [{"field": "closed", "old": self.w.no, "new": self.w.yes}]
        self.history(at, actor, via, data, [("closed", self.w.no, self.w.yes, False)])
        self.recompute(at)

    def follow(self, at, actor, *, reopened: bool) -> None:
        """workflow.services._follow: a close or reopen made outside the process moves the ticket too."""
        process = self.w.process
        final = next(s for s in process.states.values() if s.final)
        target = process.states[process.reopen] if reopened else final
        current = process.states[self.state]
        if (not reopened and current.final) or self.state == target.code:
            return
        self.rows.move.append((
            self.rows.moves.take(), self.t.id, self.w.version_id, at, actor, "reopen" if reopened else "closed",
            self.state, target.code, "", "", "{}",
        ))  # fmt: skip
        changes = []
        if reopened and target.tier and target.tier != self.tier:
            changes.append(("tier", self.tier or None, target.tier, False))
            self.tier = target.tier
        changes.append(("stage", current.name.as_dict(), target.name.as_dict(), True))
        self.enter(target, target.role, at)
        self.touch(at, actor)
        note = {"code": "process_reopen" if reopened else "process_closed"}
        self.history(at, actor, "web", [note, *(_item(c) for c in changes)], changes)

    def move(self, at, actor, payload) -> None:
        """workflow.services.workflow_transition over the shipped definition."""
        w, process = self.w, self.w.process
        step = process.transition(self.state, payload["transition"])
        if step is None:
            return  # the story planned a move the ticket's state does not offer (after a reopen)
        source, target = process.states[self.state], process.states[step.target]
        if target.final:
            role_next = ""
        elif target.role:
            role_next = target.role
        elif step.role_next in ("@assigned", ""):
            role_next = self.assigned_role
        else:
            role_next = step.role_next
        wanted: dict[str, Any] = {}
        if target.tier:
            wanted["tier"] = target.tier
        if "minutes" in payload:
            wanted["planned_effort_minutes"] = payload["minutes"]
        notes: list[dict] = [{"code": "process_move", "transition": step.name.as_dict()}]
        values: dict[str, Any] = {}
        for action in step.actions:
            if action.type == "set":
                name, value = action.params["field"], action.params["value"]
                if name == "criticality":
                    value = w.entries["criticality"][w.highest_criticality][0]
                wanted[name] = value
            elif action.type == "assign":
                chosen = self.rng.choice(w.l2[2:])
                wanted["responsible"] = chosen
                reason = {"ru": "наименее загруженный", "en": "the least loaded"}
                values["assignment"] = {
                    "user": chosen,
                    "name": w.names[chosen],
                    "role": role_next,
                    "reason": reason,
                }
                notes.append({"code": "process_assigned", "reason": reason})
            elif action.type == "plan":
                minutes = wanted.get("planned_effort_minutes") or self.planned or 60
                wanted["expected_date"] = w.work_calendar.add(at, minutes * 60).date()
        changes = []
        for name, value in wanted.items():
            old = self._attribute(name)
            if old == value:
                continue
            changes.append((name, self._logged(name, old), self._logged(name, value), False))
            self._set_attribute(name, value)
        changes.append(("stage", source.name.as_dict(), target.name.as_dict(), True))
        if step.outcome and step.outcome != self.l1_outcome:
            changes.append(("l1_outcome", self.l1_outcome or None, step.outcome, True))
            self.l1_outcome = step.outcome
        acted_as = step.roles[0] if step.roles else ""
        move_id = self.rows.moves.take()
        self.rows.move.append((
            move_id, self.t.id, w.version_id, at, actor, step.code, source.code, target.code, acted_as, "",
            json.dumps(values, ensure_ascii=False),
        ))  # fmt: skip
        if target.votes:
            self.review_move = move_id
        self.touch(at, actor)
        self.history(at, actor, "web", [*notes, *(_item(c) for c in changes)], changes)
        moment = at
        kinds = {a.type for a in step.actions}
        if "reply" in kinds:
            moment += STEP
            self.message(moment, actor, payload.get("reply") or self.t.scenario.answer, by_support=True)
        if "spam" in kinds and self.spam == "":
            moment += STEP
            self.spam = "possible"
            self.touch(moment, actor)
            change = ("spam", w.spam_none, w.spam_possible, True)
            self.history(moment, actor, "web", [_item(change)], [change])
        if "close" in kinds:
            self.close(moment + STEP, actor)
        if role_next != self.assigned_role and step.role_next and step.role_next != "@assigned":
            self.assigned_role = role_next
        self.enter(target, role_next, at)

    def enter(self, target, role: str, at) -> None:
        self.state = target.code
        self.role = "" if target.final else role
        self.entered_at = at

    def _attribute(self, name: str):
        return {
            "tier": self.tier, "ticket_type": self.ticket_type, "criticality": self.criticality,
            "responsible": self.responsible, "planned_effort_minutes": self.planned, "expected_date": self.expected,
        }[name]  # fmt: skip

    def _set_attribute(self, name: str, value) -> None:
        attribute = {"planned_effort_minutes": "planned", "expected_date": "expected"}.get(name, name)
        setattr(self, attribute, value)

    def _logged(self, name: str, value):
        """tickets.loglines.log_value for the attributes a move sets."""
        if value is None or value == "":
            return None
        if name == "criticality":
            return self.w.entry_value("criticality", value)
        if name == "responsible":
            return self.w.names[value]
        return str(value)

    def touch(self, at, actor, via="web") -> None:
        self.modified = (at, actor, via)

    def log(self, at, actor, via, data) -> int:
        """A log message (kind "log") listing `data`; return its id."""
        self.number += 1
        message_id = self.rows.messages.take()
        data_json, body = self.w.log_entry(data)
        self.rows.message.append(
            (
                message_id,
                self.t.id,
                self.number,
                "log",
                actor,
                "",
                None,
                via,
                None,
                True,
                0,
                body,
                data_json,
                at,
            )
        )
        return message_id

    def history(self, at, actor, via, data, changes) -> None:
        """`history_record`: the log message and one chained event per change."""
        log_id = self.log(at, actor, via, data)
        for name, old, new, staff_only in changes:
            old_text, new_text, data_json = self.w.change_entry(old, new)
            data = {"old": old, "new": new}
            self.event(at, actor, via, name, old_text, new_text, staff_only, log_id, data, data_json)

    def event(self, at, actor, via, name, old, new, staff_only, message_id, data, data_json) -> None:
        values = _Event(
            ticket_id=self.t.id, actor_id=actor, actor_email="", at=at, via=via, field=name, old=old, new=new,
            staff_only=staff_only, data=data,
        )  # fmt: skip
        prev, self.head = self.head, event_digest(self.head, values)
        self.rows.event.append(
            (
                self.t.id,
                actor,
                "",
                at,
                via,
                message_id,
                name,
                old,
                new,
                staff_only,
                prev,
                self.head,
                data_json,
            )
        )

    # -- the rows --------------------------------------------------------------------------------------
    def finish(self, *, status: dict[str, int], difficulty: int | None) -> None:
        """Write the ticket row (derived fields as ticket_recompute leaves them), its place and document."""
        t = self.t
        last = self.public[-1] if self.public else None
        support = [i for i, m in enumerate(self.public) if m[2]]
        after = self.public[support[-1] + 1 :] if support else []
        closed = self.closed_at is not None
        state = "solved" if closed else ("in_progress" if support else "accepted")
        modified_at, modified_by, modified_via = self.modified
        self.rows.tickets.append({
            "id": t.id,
            "title": t.scenario.title,
            "author_id": t.author,
            "author_email": self.w.emails[t.author],
            "created_by_id": t.author,
            "created_via": t.via,
            "source_id": t.source,
            "category_id": t.category,
            "criticality_id": self.criticality,
            "status_id": status.get(state),
            "difficulty_id": difficulty if support else None,
            "mark_id": self.mark,
            "sla_id": t.sla.id,
            "responsible_id": self.responsible,
            "is_special": t.is_special,
            "spam": self.spam,
            "message_count": len(self.public),
            "overdue_count": self.overdue_count,
            "is_overdue": self.is_overdue,
            "reminder_sent": self.reminder_sent,
            "deadline_at": self.deadline,
            "reminder_at": self.reminder,
            "deadline_source_at": self.source_at,
            "deadline_source_reason": self.reason,
            "reminder_sent_at": self.reminder_sent_at,
            "overdue_at": self.overdue_at,
            "awaits_support": self.awaits,
            "last_message_at": last[0] if last else t.created_at,
            "last_message_by_id": last[1] if last else None,
            "last_message_by_support": bool(last and last[2]),
            "first_client_message_after_support_at": after[0][0] if after else None,
            "time_spent_minutes": self.minutes,
            "closed_at": self.closed_at,
            "reopened_at": self.reopened_at,
            "auto_closed": self.auto_closed,
            "created_at": t.created_at,
            "modified_at": modified_at,
            "modified_by_id": modified_by,
            "modified_via": modified_via,
            "ticket_type": self.ticket_type,
            "tier": self.tier,
            "process_state": self.state,
            "l1_outcome": self.l1_outcome,
            "planned_effort_minutes": self.planned,
            "expected_date": self.expected,
        })  # fmt: skip
        self.rows.place.append(
            (
                t.id,
                self.w.version_id,
                self.state,
                self.role,
                self.assigned_role,
                self.entered_at,
                self.l1_outcome,
            )
        )
        self.rows.doc.append((t.id, "\n".join(self.public_text), "\n".join(self.staff_text)))


def _item(change: tuple) -> dict:
    name, old, new, _staff_only = change
    return {"field": name, "old": old, "new": new}


def _tick(at: datetime) -> datetime:
    """The minute job's run that sees an instant: the next whole minute, a second into the run."""
    base = at.replace(second=0, microsecond=0)
    return base + timedelta(minutes=1, seconds=1)
