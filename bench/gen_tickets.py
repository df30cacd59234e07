"""Generate N tickets with their history into the database of OTKLIK_DATABASE_URL (PostgreSQL) for the benchmarks.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench python -m bench.gen_tickets --count 100000

This is bench data, not domain writes: running the services for a million tickets would take days, so
each ticket's life is played in Python by `bench.gen_history` with the services' rules and streamed to
PostgreSQL with COPY. What a ticket gets, as the services would have written it:

- its conversation (1-15 public messages, now and then a hidden note) and derived fields as
  `ticket_recompute` computes them; the search document;
- the SLA timeline (started, reminder, overdue, answered, restarted on a client reply or a reopen, stopped)
  with deadlines from `deadline_for` on the demo's SLA levels (2 to 24 working hours on the Moscow
  Mon-Fri timetable with the Russian production calendar; 1 hour around the clock for coupon tickets),
  about 12% of answers late; overdue log lines and counters as the minute job writes them;
- the three-tier process (workflow): the ticket's place, every move with its log line and history events
  (stage, L1 outcome, tier, type, responsible), change board votes; most tickets solved at L1, about a
  fifth escalated to incidents, accidents and change requests;
- closes (by a move, by the client, by the auto-close job after the silent days) and reopens (5%), each
  with its log line and chained "closed" history event; marks on some closed tickets;
- knowledge-base deflections (questions ended without a ticket) on the demo knowledge base's sections.

The demo's timetables, SLA levels, knowledge base and wizard are created when missing (their own
idempotent functions), clients are put into the SLA levels' user groups. Deterministic by --seed (and
--now). Nothing is generated when the database already holds N tickets or more; otherwise the missing
ones are added. Afterwards `otklik reports refresh` runs when it exists, and a sample of tickets is
checked against `ticket_recompute` and `history_verify`.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bench.common import BENCH_ADMIN, BENCH_PASSWORD, BENCH_STAFF, django_setup, figure, note

STAFF_COUNT = 10
TICKETS_PER_CLIENT = 20
BATCH = 5000
DAYS = 365
# Who the clients are (SLA by their user group, F-06): code of the SLA level -> share of the clients.
CLIENT_SLAS = {
    "clients-standard": 0.70,
    "clients-operative": 0.10,
    "clients-vip": 0.06,
    "partners-standard": 0.09,
    "partners-operative": 0.05,
}
SPECIAL_SLA = "special"
# Deflections per ticket filed: the wizard and articles answer about one question in three.
DEFLECTIONS_PER_TICKET = 0.5
# Tables the generator fills, with the columns each row tuple gives (the rest take their defaults).
COLUMNS = {
    "message": ("id", "ticket_id", "number", "kind", "author_id", "author_email", "posted_by_id", "via",
                "source_id", "by_support", "minutes", "body", "data", "created_at"),
    "event": ("ticket_id", "actor_id", "actor_email", "at", "via", "message_id", "field", "old", "new",
              "staff_only", "prev_hash", "hash", "data"),
    "sla": ("ticket_id", "at", "kind", "reason", "source_at", "deadline_at", "reminder_at", "sla_name",
            "sla_name_en"),
    "move": ("id", "ticket_id", "version_id", "at", "actor_id", "transition", "source", "target", "acted_as",
             "comment", "values"),
    "place": ("ticket_id", "version_id", "state", "role", "assigned_role", "entered_at", "l1_outcome"),
    "vote": ("ticket_id", "review_id", "voter_id", "vote", "comment", "at"),
    "doc": ("ticket_id", "public_text", "staff_text"),
    "deflection": ("kind", "at", "user_id", "section_id", "article_id"),
}  # fmt: skip
HISTORY_TABLES = ("event", "sla", "move", "vote")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--count", type=int, default=100_000, help="How many tickets the database should hold."
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--now", help="The instant the history ends at (ISO 8601; default: now).")
    parser.add_argument("--batch", type=int, default=BATCH, help="Tickets per COPY transaction.")
    parser.add_argument("--no-migrate", action="store_true", help="Do not apply migrations first.")
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="Write tickets, their conversation and search documents only: no log lines, history events, "
        "SLA timeline, process rows or deflections (faster; history-based reports are then empty).",
    )
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="Keep the secondary indexes of the filled tables while loading (by default they are dropped "
        "and rebuilt afterwards when more tickets are added than the table holds).",
    )
    parser.add_argument(
        "--check", type=int, default=300, help="Tickets checked against ticket_recompute afterwards."
    )
    parser.add_argument("--no-refresh", action="store_true", help="Do not run `otklik reports refresh`.")
    args = parser.parse_args(argv)

    # A terminated run still rebuilds the indexes it dropped (the finally clauses below run on SystemExit).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    django_setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    if connection.vendor != "postgresql":
        raise SystemExit("gen_tickets writes with PostgreSQL's COPY: set OTKLIK_DATABASE_URL.")
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)

    from otklik.tickets.models import Ticket

    now = datetime.fromisoformat(args.now).astimezone(UTC) if args.now else datetime.now(UTC)
    existing = Ticket.objects.count()
    users = ensure_users(random.Random(args.seed), clients=max(args.count // TICKETS_PER_CLIENT, 50))
    if existing >= args.count:
        note(f"{existing} tickets already present; nothing generated.")
        figure("gen_tickets_total", existing, "tickets")
        return 0
    missing = args.count - existing
    with translation.override(settings.LANGUAGE_CODE):
        setup_started = time.monotonic()
        world, setup = build_world(random.Random(args.seed), users, now)
        figure("gen_setup_seconds", time.monotonic() - setup_started, "s")
        indexes = Indexes(connection, drop=not args.keep_indexes and missing > existing)
        started = time.monotonic()
        indexes.drop()
        try:
            made = generate(
                random.Random(args.seed + existing),
                world,
                setup,
                missing,
                batch=args.batch,
                history=args.history,
            )
            figure("gen_load_seconds", time.monotonic() - started, "s")
        finally:
            phase = time.monotonic()
            indexes.create()  # also after a failure: the schema must stay whole
            figure("gen_index_seconds", time.monotonic() - phase, "s")
        phase = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        figure("gen_vacuum_analyze_seconds", time.monotonic() - phase, "s")
    elapsed = time.monotonic() - started
    figure("gen_tickets_total", existing + made, "tickets")
    figure("gen_tickets_seconds", elapsed, "s")
    figure("gen_tickets_rate", made / elapsed if elapsed else 0.0, "tickets/s")
    if not args.no_refresh:
        reports_refresh()
    if args.check:
        check_sample(random.Random(args.seed), args.check)
    sizes()
    return 0


# -- users ---------------------------------------------------------------------------------------------
class Users:
    def __init__(self, clients: list[int], staff: list[int], admin: int, emails: dict[int, str]):
        self.clients = clients
        self.staff = staff
        self.admin = admin
        self.emails = emails


def ensure_users(rng: random.Random, *, clients: int) -> Users:
    """Create (once) the bench's admin, ten staff in two teams and `clients` client accounts."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.db import transaction

    from otklik.accounts.models import AccessLevel, Profile, SupportGroup, SupportGroupMember
    from otklik.accounts.services import access_groups_ensure

    groups = access_groups_ensure()
    password = make_password(BENCH_PASSWORD)  # one hash for every bench user: hashing 5,000 would take hours
    wanted = [(BENCH_ADMIN, AccessLevel.ADMIN, "Анна", "Администратор")]
    wanted += [
        (f"bench-staff-{i:02d}", AccessLevel.STAFF, "Сотрудник", f"№{i}") for i in range(1, STAFF_COUNT + 1)
    ]
    wanted += [
        (f"bench-client-{i:05d}", AccessLevel.CLIENT, "Client", f"No. {i}") for i in range(1, clients + 1)
    ]
    have = set(User.objects.filter(username__startswith="bench-").values_list("username", flat=True))
    missing = [w for w in wanted if w[0] not in have]
    with transaction.atomic():
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            made = User.objects.bulk_create(
                User(
                    username=name,
                    email=f"{name}@bench.example",
                    password=password,
                    first_name=first,
                    last_name=last,
                )
                for name, _level, first, last in chunk
            )
            Profile.objects.bulk_create(
                Profile(user=user, language="ru" if rng.random() < 0.6 else "en") for user in made
            )
            User.groups.through.objects.bulk_create(
                User.groups.through(user_id=user.pk, group_id=groups[level].pk)
                for user, (_name, level, _f, _l) in zip(made, chunk, strict=True)
            )
        # Two staff teams whose members see each other's tickets (F-01).
        ids = dict(User.objects.filter(username__startswith="bench-staff-").values_list("username", "id"))
        for team_no, members in enumerate((range(1, 6), range(6, STAFF_COUNT + 1)), start=1):
            team, _created = SupportGroup.objects.get_or_create(
                name=f"Bench team {team_no}", defaults={"kind": SupportGroup.Kind.STAFF}
            )
            for i in members:
                SupportGroupMember.objects.get_or_create(group=team, user_id=ids[f"bench-staff-{i:02d}"])
    staff = list(
        User.objects.filter(username__startswith="bench-staff-")
        .order_by("username")
        .values_list("id", flat=True)
    )
    client_ids = list(
        User.objects.filter(username__startswith="bench-client-")
        .order_by("username")
        .values_list("id", flat=True)
    )
    admin = User.objects.get(username=BENCH_ADMIN).pk
    emails = dict(User.objects.filter(username__startswith="bench-").values_list("id", "email"))
    assert BENCH_STAFF in ids
    return Users(client_ids, staff, admin, emails)


# -- configuration the stories run on -----------------------------------------------------------------
@dataclass
class Setup:
    """Per-ticket choices' inputs that are not part of a story: clients' SLAs, texts, deflection targets."""

    users: Users
    client_sla: dict[int, object]  # client id -> SlaProfile
    special: object  # SlaProfile of coupon tickets
    entries: dict[str, dict[str, tuple[int, str, str]]]
    scenarios: list[tuple]
    sections: list[int]
    articles: list[int]


def build_world(rng: random.Random, users: Users, now: datetime):
    """Create the demo's timetables, SLA levels and knowledge base when missing; read what stories need."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from bench.gen_history import SlaProfile, World
    from otklik.accounts.selectors import display_name
    from otklik.dictionaries.models import DictionaryEntry
    from otklik.kb.demo import kb_demo_articles
    from otklik.kb.models import Article, Section
    from otklik.kb.wizard_demo import wizard_demo
    from otklik.routing.services import responsible_choose_for_new_ticket
    from otklik.sla.models import SlaLevel
    from otklik.sla.selectors import SlaChoice, working_calendar
    from otklik.tickets.demo_data import _sla_levels, _timetables
    from otklik.tickets.demo_data.content import GENERIC, SCENARIOS, SLA_GROUPS, SLA_TABLE, WORKDAYS_TIMETABLE
    from otklik.tickets.loglines import NO, YES, in_both_languages, log_value
    from otklik.tickets.models import SpamState
    from otklik.tickets.selectors import options_get
    from otklik.tickets.services.create import _created_values
    from otklik.workflow.selectors import process_of, version_for_new_tickets

    with transaction.atomic():
        timetables, _made = _timetables()
        _sla_levels(timetables)
        kb_demo_articles()
        wizard_demo()
    levels = {s.code: s for s in SlaLevel.objects.select_related("timetable")}
    # Clients get their SLA the way F-06 chooses it: by the user group of their contract.
    group_of_level = {row.code: row.group for row in SLA_TABLE if row.group}
    group_ids = dict(Group.objects.filter(name__in=SLA_GROUPS).values_list("name", "id"))
    member = User.groups.through.objects
    have = set(
        member.filter(group_id__in=group_ids.values(), user_id__in=users.clients).values_list(
            "user_id", flat=True
        )
    )
    if not have:
        codes, weights = list(CLIENT_SLAS), list(CLIENT_SLAS.values())
        chosen = {client: rng.choices(codes, weights)[0] for client in users.clients}
        member.bulk_create(
            [
                member.model(user_id=client, group_id=group_ids[group_of_level[code]])
                for client, code in chosen.items()
                if code in group_of_level
            ],
            batch_size=5000,
        )
    level_of_group = {group_ids[g]: levels[code] for code, g in group_of_level.items()}
    client_level = {
        user_id: level_of_group[group_id]
        for user_id, group_id in member.filter(
            group_id__in=group_ids.values(), user_id__in=users.clients
        ).values_list("user_id", "group_id")
    }

    def profile(level, reason):
        return SlaProfile(level=level, calendar=working_calendar(level), created_text="", reason=reason)

    by_code = {code: profile(level, "group") for code, level in levels.items()}
    standard = by_code["clients-standard"]
    client_sla = {c: by_code[client_level[c].code] if c in client_level else standard for c in users.clients}

    entries: dict[str, dict[str, tuple[int, str, str]]] = {}
    for kind, code, pk, ru, en in DictionaryEntry.objects.values_list(
        "kind", "code", "id", "name_ru", "name_en"
    ).order_by("kind", "sort", "id"):
        entries.setdefault(kind, {})[code] = (pk, ru, en)
    highest = list(entries["criticality"])[-1]

    staff_objects = {u.pk: u for u in User.objects.filter(pk__in=[*users.staff, users.admin])}
    names = {pk: display_name(u) for pk, u in staff_objects.items()}
    routing = {
        pk: responsible_choose_for_new_ticket(
            order="", default_responsible_id=None, sla=None, manual=staff_objects[pk]
        )
        for pk in staff_objects
    }
    routing[None] = responsible_choose_for_new_ticket(order="", default_responsible_id=None, sla=None)
    marker = "\u2063TICKET\u2063"  # an invisible separator: in no name, kept as is by json.dumps
    created_cache: dict[tuple, tuple[str, dict]] = {}

    def created_values(ticket_id: int, sla, responsible):
        """The "created" event of ticket_create: its text and data (both languages), per ticket number."""
        key = (sla.id, sla.reason, responsible)
        template = created_cache.get(key)
        if template is None:
            values = _created_values(
                SimpleNamespace(pk=marker), SlaChoice(sla.level, sla.reason), routing[responsible]
            )
            template = created_cache[key] = (values["new"], json.dumps(values["data"], ensure_ascii=False))
        number = str(ticket_id)
        return template[0].replace(marker, number), json.loads(template[1].replace(marker, number))

    workdays = levels["clients-standard"].timetable
    assert workdays is not None and workdays.code == WORKDAYS_TIMETABLE
    version = version_for_new_tickets()
    if version is None:
        raise SystemExit("No support process starts new tickets: the workflow migrations are missing.")
    world = World(
        now=now,
        auto_close_days=options_get().auto_close_days,
        process=process_of(version),
        version_id=version.pk,
        work_calendar=working_calendar(timetable=workdays),
        staff=users.staff,
        staff_weights=[1 / (i + 1) ** 0.6 for i in range(len(users.staff))],
        l1=users.staff[:5],
        l2=users.staff[5:],
        admin=users.admin,
        names=names,
        emails=users.emails,
        entries=entries,
        highest_criticality=highest,
        created_values=created_values,
        yes=in_both_languages(YES),
        no=in_both_languages(NO),
        spam_none=log_value(SpamState(SpamState.NONE).label),
        spam_possible=log_value(SpamState(SpamState.POSSIBLE).label),
    )
    values = {
        "name": "Иван",
        "site": "shop.example",
        "order": "12345",
        "invoice": "INV-2025-101",
        "amount": "4 500",
        "city": "Казань",
        "time": "11:20",
        "date": "05.11",
        "version": "24.100.0",
        "track": "RA123456789RU",
        "staff": "Дмитрий",
    }
    scenarios = [
        (
            sc.lang,
            [t.format(**values) for t in sc.titles],
            {
                name: getattr(sc, name).format(**values)
                for name in ("body", "question", "clarification", "answer", "note")
            },
            sc.category,
            sc.criticality,
            GENERIC[sc.lang],
        )
        for sc in SCENARIOS
    ]
    # Deflections land on the wizard's sections that file tickets in a category, and on their articles.
    sections = list(
        Section.objects.filter(in_wizard=True, category__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    articles = list(
        Article.objects.filter(section__in=Section.objects.filter(in_wizard=True))
        .order_by("id")
        .values_list("id", flat=True)
    )
    setup = Setup(
        users=users,
        client_sla=client_sla,
        special=profile(levels[SPECIAL_SLA], "coupon"),
        entries=entries,
        scenarios=scenarios,
        sections=sections,
        articles=articles,
    )
    return world, setup


# -- generating ----------------------------------------------------------------------------------------
def generate(rng: random.Random, world, setup: Setup, count: int, *, batch: int, history: bool) -> int:
    """Play `count` tickets' lives batch by batch; two writer threads COPY them while the next is played."""
    from django.db import connection

    writers = Writers(connection.get_connection_params())
    made = 0
    played = 0.0
    try:
        while made < count:
            size = min(batch, count - made)
            phase = time.monotonic()
            with connection.cursor() as cursor:
                ticket_base = _reserve(cursor, "tickets_ticket", size)
                message_base = _next(cursor, "tickets_message")
                move_base = _next(cursor, "workflow_move")
            rows = play_batch(rng, world, setup, ticket_base, size, message_base, move_base)
            with connection.cursor() as cursor:
                _set(cursor, "tickets_message", rows.messages.next - 1)
                _set(cursor, "workflow_move", rows.moves.next - 1)
            deflections = deflection_rows(rng, world, setup, size) if history else []
            played += time.monotonic() - phase
            writers.put(batch_tables(rows, deflections, history), rows.doc)
            made += size
            note(
                f"{made}/{count} tickets: played in {time.monotonic() - phase:.1f} s "
                f"({len(rows.message)} messages, {len(rows.event)} events, {len(rows.sla)} SLA steps, "
                f"{len(rows.move)} moves); writers {writers.status()}"
            )
    finally:
        writers.close()
    figure("gen_play_seconds", played, "s")
    for writer in (writers.main, writers.docs):
        for key, seconds in writer.per_table.items():
            figure(f"gen_copy_{key}_seconds", seconds, "s")
        figure(f"gen_{writer.name.replace('-', '_')}_seconds", writer.busy, "s")
    return made


def play_batch(rng, world, setup: Setup, ticket_base: int, size: int, message_base: int, move_base: int):
    """Choose `size` tickets' attributes and play their stories; return their rows."""
    from bench.gen_history import Ids, Rows, Scenario, Ticket, TicketLife, plan_story

    rows = Rows(messages=Ids(message_base), moves=Ids(move_base))
    entries = setup.entries
    users = setup.users
    status = {code: pk for code, (pk, _ru, _en) in entries["status"].items()}
    difficulties = [pk for pk, _ru, _en in entries["difficulty"].values()]
    criticalities = [pk for pk, _ru, _en in entries["criticality"].values()]
    sources = {code: pk for code, (pk, _ru, _en) in entries["source"].items()}
    for n in range(size):
        lang, titles, texts, category, criticality, generic = rng.choice(setup.scenarios)
        author = rng.choice(users.clients)
        special = rng.random() < 0.005
        r = rng.random()
        via = "web" if r < 0.6 else "email" if r < 0.85 else "api" if r < 0.95 else "phone"
        unassigned = rng.random() < 0.1
        responsible = (
            None
            if unassigned
            else users.admin
            if rng.random() < 0.03
            else rng.choices(users.staff, weights=world.staff_weights)[0]
        )
        ticket = Ticket(
            id=ticket_base + n,
            author=author,
            created_at=created_at(rng, world.now),
            via=via,
            sla=setup.special if special else setup.client_sla[author],
            responsible=responsible,
            category=entries["category"].get(category, (None,))[0],
            criticality=entries["criticality"][criticality][0]
            if criticality in entries["criticality"] and rng.random() < 0.8
            else rng.choice(criticalities),
            source=sources.get("email") if via == "email" else sources.get("phone") if via == "phone" else None,
            is_special=special,
            scenario=Scenario(
                lang=lang, title=rng.choice(titles), category=category, criticality=criticality, generic=generic,
                **texts,
            ),
        )  # fmt: skip
        life = TicketLife(world, rows, ticket, rng)
        life.play(plan_story(world, rng, ticket))
        life.finish(status=status, difficulty=rng.choice(difficulties) if rng.random() < 0.4 else None)
    return rows


# Moscow hours clients write at (weights from 0:00 to 23:00), and how much less they write at weekends.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 11, 12, 12, 11, 12, 12, 11, 10, 8, 6, 5, 4, 3, 2, 1]
WEEKEND_FACTOR = 0.35
MOSCOW = timedelta(hours=3)


def created_at(rng: random.Random, now: datetime) -> datetime:
    """A creation instant over the last year, more recent ones more often, mostly in working hours."""
    while True:
        day = (now + MOSCOW).date() - timedelta(days=int(rng.random() ** 1.3 * DAYS))
        if day.weekday() < 5 or rng.random() < WEEKEND_FACTOR:
            break
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    local = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 3600))
    at = local - MOSCOW
    return at if at < now else now - timedelta(seconds=rng.uniform(0, 3600))


def deflection_rows(rng: random.Random, world, setup: Setup, tickets: int) -> list[tuple]:
    """Questions the knowledge base answered (or lost) over the same year, in proportion to tickets."""
    if not setup.sections:
        return []
    out = []
    n = int(tickets * DEFLECTIONS_PER_TICKET)
    for _ in range(n):
        r = rng.random()
        user = None if rng.random() < 0.3 else rng.choice(setup.users.clients)
        at = created_at(rng, world.now)
        if r < 0.5 or not setup.articles:
            kind = "wizard_answered" if r < 0.4 else "wizard_abandoned"
            out.append((kind, at, user, rng.choice(setup.sections), None))
        else:
            kind = "article_answered" if r < 0.85 else "suggestion_left"
            out.append((kind, at, user, None, rng.choice(setup.articles)))
    return out


def batch_tables(rows, deflections: list[tuple], history: bool) -> list[tuple[str, list]]:
    """Return the batch's (table key, rows) in the order their foreign keys need."""
    messages = rows.message if history else [m for m in rows.message if m[3] != "log"]
    tables = [("ticket", rows.tickets), ("message", messages)]
    if history:
        tables += [("event", rows.event), ("sla", rows.sla), ("place", rows.place), ("move", rows.move)]
        tables += [("vote", rows.vote), ("deflection", deflections)]
    return tables


def _next(cursor, table: str) -> int:
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
    return cursor.fetchone()[0]


def _reserve(cursor, table: str, size: int) -> int:
    """Take `size` ids of the table's sequence at once; return the first (the generator writes alone)."""
    first = _next(cursor, table)
    _set(cursor, table, first + size - 1)
    return first


def _set(cursor, table: str, last: int) -> None:
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s, 1))", [table, last])


# -- writing -------------------------------------------------------------------------------------------
def _models():
    from otklik.kb.models import Deflection
    from otklik.sla.models import SlaEvent
    from otklik.tickets.models import Message, Ticket, TicketEvent, TicketSearchDocument
    from otklik.workflow.models import Move, TicketProcess, Vote

    return {
        "ticket": Ticket,
        "message": Message,
        "event": TicketEvent,
        "sla": SlaEvent,
        "move": Move,
        "place": TicketProcess,
        "vote": Vote,
        "doc": TicketSearchDocument,
        "deflection": Deflection,
    }


class Copy:
    """A COPY statement for one model: the columns the rows give, then the other fields' defaults.

    Rows are tuples in `given` order, or dicts (the ticket: its columns are the first row's keys).
    """

    def __init__(self, model, given: tuple[str, ...] | None):
        self.model, self.given = model, given

    def statement(self, rows: list) -> tuple[str, list[tuple]]:
        from django.db import models

        meta = self.model._meta
        given = self.given or tuple(rows[0])
        fields = [f for f in meta.concrete_fields if not isinstance(f, models.GeneratedField)]
        by_attname = {f.attname: f for f in fields}
        rest = [
            f
            for f in fields
            if f.attname not in given and not f.primary_key and f.db_default is models.NOT_PROVIDED
        ]
        defaults = tuple(_default(f) for f in rest)
        columns = [by_attname[name].column for name in given] + [f.column for f in rest]
        sql = f"COPY {meta.db_table} ({', '.join(columns)}) FROM STDIN"
        if self.given is None:
            return sql, [tuple(row[name] for name in given) + defaults for row in rows]
        return sql, [row + defaults for row in rows] if defaults else rows


def _default(field):
    value = field.get_default()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


class Writer(threading.Thread):
    """A thread with its own connection that writes batches with COPY, one transaction each."""

    def __init__(self, name: str, params: dict, copies: dict[str, Copy], then=None):
        super().__init__(name=name, daemon=True)
        self.params, self.copies, self.then = params, copies, then
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.busy = 0.0
        self.per_table: dict[str, float] = {}
        self.done = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        import psycopg

        try:
            # Autocommit, so each batch's `transaction()` is a real transaction (on a connection that is
            # not, the first statement opens one and every batch would be a savepoint inside it: nothing
            # committed until the end, and a killed run loses everything).
            with psycopg.connect(**self.params, autocommit=True) as conn:
                # Bench data: a crash loses at most the last batches, which a re-run adds again.
                conn.execute("SET synchronous_commit = off")
                while True:
                    item = self.queue.get()
                    if item is None:
                        return
                    tables, forward = item
                    started = time.monotonic()
                    with conn.transaction(), conn.cursor() as cursor:
                        for key, rows in tables:
                            if not rows:
                                continue
                            copying = time.monotonic()
                            sql, tuples = self.copies[key].statement(rows)
                            with cursor.copy(sql) as stream:
                                for row in tuples:
                                    stream.write_row(row)
                            self.per_table[key] = self.per_table.get(key, 0.0) + time.monotonic() - copying
                    self.busy += time.monotonic() - started
                    self.done += 1
                    if self.then is not None:
                        self.then.put((forward, None))
        except BaseException as exc:  # reported by the main thread
            self.error = exc
            if self.then is not None:
                self.then.put(None)

    def put(self, item) -> None:
        while True:
            if self.error is not None:
                raise RuntimeError(f"{self.name} failed") from self.error
            try:
                self.queue.put(item, timeout=1)
                return
            except queue.Full:
                continue


class Writers:
    """The main writer (tickets and their history) and the search documents' writer after it.

    PostgreSQL computes the documents' tsvector columns (four to_tsvector calls a ticket) and their GIN
    entries; on their own connection that work runs on the other core while the next batch is played.
    """

    def __init__(self, params: dict):
        models = _models()
        copies = {key: Copy(model, COLUMNS.get(key)) for key, model in models.items()}
        params = {k: v for k, v in params.items() if k not in ("cursor_factory", "context")}
        params.pop("server_side_binding", None)
        self.docs = Writer("search-writer", params, copies)
        self.main = Writer("main-writer", params, copies, then=self.docs.queue)
        self.docs.start()
        self.main.start()

    def put(self, tables, docs) -> None:
        if self.docs.error is not None:
            raise RuntimeError("search-writer failed") from self.docs.error
        self.main.put((tables, [("doc", docs)]))

    def status(self) -> str:
        return f"{self.main.done} / {self.docs.done} batches written"

    def close(self) -> None:
        self.main.put(None)
        self.main.join()
        if self.main.error is None:
            self.docs.queue.put(None)
        self.docs.join()
        for writer in (self.main, self.docs):
            if writer.error is not None:
                raise RuntimeError(f"{writer.name} failed") from writer.error


class Indexes:
    """Drop the secondary indexes of the tables being filled, and build them again once they are full.

    Building an index over sorted rows once is much cheaper than keeping it current through millions of
    single inserts; primary keys and unique constraints stay (COPY relies on them being enforced).
    """

    TABLES = (
        "tickets_ticket", "tickets_message", "tickets_ticketevent", "sla_slaevent", "workflow_move",
        "workflow_ticketprocess", "workflow_vote", "tickets_ticketsearchdocument", "kb_deflection",
    )  # fmt: skip

    def __init__(self, connection, *, drop: bool):
        self.connection = connection
        self.enabled = drop
        self.saved: list[tuple[str, str]] = []

    def drop(self) -> None:
        if not self.enabled:
            return
        with self.connection.cursor() as cursor:
            cursor.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   JOIN pg_class c ON c.relname = i.indexname
                   JOIN pg_index x ON x.indexrelid = c.oid
                   WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                     AND NOT x.indisunique AND NOT x.indisprimary""",
                [list(self.TABLES)],
            )
            self.saved = cursor.fetchall()
            for name, _definition in self.saved:
                cursor.execute(f'DROP INDEX "{name}"')
        note(f"dropped {len(self.saved)} secondary indexes; they are built again after loading")

    def create(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for name, definition in self.saved:
                started = time.monotonic()
                cursor.execute(definition)
                note(f"index {name}: {time.monotonic() - started:.1f} s")
        self.saved = []


# -- afterwards ----------------------------------------------------------------------------------------
def reports_refresh() -> None:
    """Fill the reports' summary tables with `otklik reports refresh` when the command exists; time it."""
    from django.core.management import call_command, get_commands

    if "reports" not in get_commands():
        note("`otklik reports refresh` does not exist yet: the reports' summary tables were not filled.")
        return
    started = time.monotonic()
    try:
        call_command("reports", "refresh")
    except SystemExit as exc:  # argparse refusing "refresh": the command has no such action yet
        note(f"`otklik reports refresh` is not available ({exc}); summary tables not filled.")
        return
    figure("gen_reports_refresh_seconds", time.monotonic() - started, "s")
    # The summary tables were empty at the ANALYZE above: without statistics the planner expects a few
    # hundred rows where there are a million (autovacuum would get there later; a bench cannot wait).
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figure("gen_analyze_after_refresh_seconds", time.monotonic() - started, "s")


def check_sample(rng: random.Random, n: int) -> None:
    """Recompute a sample of tickets with the services (rolled back) and verify their history chains."""
    from django.db import transaction

    from otklik.tickets.history import history_verify
    from otklik.tickets.models import Ticket
    from otklik.tickets.services.derived import DERIVED_FIELDS, ticket_recompute

    with transaction.atomic():
        ids = list(Ticket.objects.order_by("?").values_list("id", flat=True)[:n])
        fields = [Ticket._meta.get_field(name).attname for name in DERIVED_FIELDS]
        differences = []
        for ticket in Ticket.objects.filter(pk__in=ids).select_related("sla__timetable"):
            before = {name: getattr(ticket, name) for name in fields}
            ticket_recompute(ticket)
            after = {name: getattr(ticket, name) for name in fields}
            changed = {k: (before[k], after[k]) for k in fields if before[k] != after[k]}
            if changed:
                differences.append((ticket.pk, changed))
        transaction.set_rollback(True)
    for pk, changed in differences[:5]:
        note(f"ticket #{pk} differs from ticket_recompute: {changed}")
    figure("gen_check_recompute_differences", len(differences), f"of {len(ids)} tickets")
    report = history_verify(ticket_ids=ids)
    if report.broken is not None:
        note(f"history chain broken: {report.broken.describe()}")
    figure("gen_check_history_intact", int(report.intact), f"({report.events} events checked)")


def sizes() -> None:
    """Print the database's size and each filled table's rows and size (with indexes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        figure("gen_database_bytes", cursor.fetchone()[0], "bytes")
        for table in Indexes.TABLES:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")  # noqa: S608
            count, size = cursor.fetchone()
            figure(f"gen_rows_{table}", count, "rows")
            figure(f"gen_bytes_{table}", size, "bytes")


if __name__ == "__main__":
    sys.exit(main())
