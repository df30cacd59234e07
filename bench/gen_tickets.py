"""Generate N tickets fast into the database of OTKLIK_DATABASE_URL (PostgreSQL) for the benchmarks.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench python -m bench.gen_tickets --count 100000

This is bench data, not domain writes: rows are bulk-inserted (tickets, their messages and search
documents) instead of going through the services, which would take hours for 100,000 tickets. The derived
fields are computed here the way `ticket_recompute` computes them, so every row is consistent: message
count, last message (who, when, by support), awaiting support, first client message after support, time
spent. The realistic mix: thousands of clients, ten staff in two teams and an admin, about a fifth of the
tickets unassigned, open and closed, a year of history, titles and texts in Russian and English.
Idempotent-ish: nothing is generated when the database already holds N tickets or more.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta

from bench.common import BENCH_ADMIN, BENCH_PASSWORD, BENCH_STAFF, django_setup, figure, note

STAFF_COUNT = 10
TICKETS_PER_CLIENT = 20
BATCH = 5000
DAYS = 365


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--count", type=int, default=100_000, help="How many tickets the database should hold."
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-migrate", action="store_true", help="Do not apply migrations first.")
    args = parser.parse_args(argv)

    django_setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        note("gen_tickets is meant for PostgreSQL (set OTKLIK_DATABASE_URL); generating anyway.")
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)

    from otklik.tickets.models import Ticket

    existing = Ticket.objects.count()
    users = ensure_users(random.Random(args.seed), clients=max(args.count // TICKETS_PER_CLIENT, 50))
    if existing >= args.count:
        note(f"{existing} tickets already present; nothing generated.")
        figure("gen_tickets_total", existing, "tickets")
        return 0
    started = time.monotonic()
    made = generate(random.Random(args.seed + existing), users, args.count - existing)
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figure("gen_tickets_total", existing + made, "tickets")
    figure("gen_tickets_rate", made / elapsed if elapsed else 0.0, "tickets/s")
    return 0


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
    client_ids = list(User.objects.filter(username__startswith="bench-client-").values_list("id", flat=True))
    admin = User.objects.get(username=BENCH_ADMIN).pk
    emails = dict(User.objects.filter(username__startswith="bench-").values_list("id", "email"))
    assert BENCH_STAFF in ids
    return Users(client_ids, staff, admin, emails)


def generate(rng: random.Random, users: Users, count: int) -> int:
    """Insert `count` tickets with 1–4 conversation messages each and their search documents."""
    from django.db import transaction

    from otklik.dictionaries.models import DictionaryEntry
    from otklik.sla.models import SlaLevel
    from otklik.tickets.demo_data.content import SCENARIOS
    from otklik.tickets.models import Message, MessageKind, Ticket, TicketSearchDocument

    entries: dict[str, dict[str, int]] = {}
    for kind, code, pk in DictionaryEntry.objects.values_list("kind", "code", "id"):
        entries.setdefault(kind, {})[code] = pk
    sla_ids = list(SlaLevel.objects.values_list("id", flat=True)) or [None]
    now = datetime.now().astimezone()
    # Staff workload is uneven, as in life: the first staff members get more tickets.
    staff_weights = [1 / (i + 1) ** 0.6 for i in range(len(users.staff))]
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
    texts = [
        (
            sc.lang,
            [t.format(**values) for t in sc.titles],
            sc.body.format(**values),
            sc.answer.format(**values),
            sc.clarification.format(**values),
            sc.category,
        )
        for sc in SCENARIOS
    ]
    made = 0
    while made < count:
        size = min(BATCH, count - made)
        tickets: list[Ticket] = []
        plans: list[
            list[tuple[bool, int, datetime, int]]
        ] = []  # per ticket: (by_support, author, at, minutes)
        bodies: list[tuple[str, str, str]] = []
        for _ in range(size):
            lang, titles, body, answer, clarification, category = rng.choice(texts)
            author = rng.choice(users.clients)
            created = now - timedelta(days=rng.random() ** 1.3 * DAYS, seconds=rng.randrange(86_400))
            age_days = (now - created).days
            closed = rng.random() < (0.85 if age_days > 14 else 0.3)
            unassigned = (not closed and rng.random() < 0.45) or rng.random() < 0.05
            responsible = (
                None
                if unassigned
                else (
                    users.admin if rng.random() < 0.03 else rng.choices(users.staff, weights=staff_weights)[0]
                )
            )
            plan = [(False, author, created, 0)]
            at = created
            replier = responsible or rng.choice(users.staff)
            if closed or rng.random() < 0.7:
                at = min(at + timedelta(minutes=rng.uniform(10, 60 * 30)), now)
                plan.append((True, replier, at, rng.choice((5, 10, 15, 30))))
                if rng.random() < 0.35:
                    at = min(at + timedelta(minutes=rng.uniform(20, 60 * 48)), now)
                    plan.append((False, author, at, 0))
                    if closed or rng.random() < 0.5:
                        at = min(at + timedelta(minutes=rng.uniform(10, 60 * 24)), now)
                        plan.append((True, replier, at, rng.choice((10, 20, 45))))
            closed_at = min(at + timedelta(hours=rng.uniform(1, 72)), now) if closed else None
            tickets.append(
                _ticket(
                    rng,
                    plan,
                    title=rng.choice(titles),
                    category=entries["category"].get(category),
                    entries=entries,
                    sla=rng.choice(sla_ids),
                    responsible=responsible,
                    closed_at=closed_at,
                    now=now,
                    email=users.emails[author],
                )
            )
            plans.append(plan)
            bodies.append((lang, body, answer if rng.random() < 0.8 else clarification))
        phase = time.monotonic()
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets, batch_size=1000)
            timings = [time.monotonic() - phase]
            messages = []
            docs = []
            for ticket, plan, (_lang, body, answer) in zip(tickets, plans, bodies, strict=True):
                texts_of_ticket = []
                for number, (by_support, author, at, minutes) in enumerate(plan, start=1):
                    text = (
                        body
                        if number == 1
                        else (answer if by_support else "Спасибо, проверю. / Thanks, will check.")
                    )
                    texts_of_ticket.append(text)
                    messages.append(
                        Message(
                            ticket_id=ticket.pk,
                            number=number,
                            kind=MessageKind.PUBLIC,
                            author_id=author,
                            author_email=users.emails[author],
                            by_support=by_support,
                            minutes=minutes,
                            body=text,
                            created_at=at,
                        )
                    )
                text = "\n".join([ticket.title, *texts_of_ticket])
                docs.append(TicketSearchDocument(ticket_id=ticket.pk, public_text=text, staff_text=text))
            Message.objects.bulk_create(messages, batch_size=2000)
            timings.append(time.monotonic() - phase)
            TicketSearchDocument.objects.bulk_create(docs, batch_size=1000)
            timings.append(time.monotonic() - phase)
        made += size
        note(
            f"{made}/{count} tickets (tickets {timings[0]:.1f} s, +messages {timings[1]:.1f} s, "
            f"+search {timings[2]:.1f} s, commit {time.monotonic() - phase:.1f} s)"
        )
    return made


def _ticket(
    rng: random.Random, plan, *, title: str, category, entries, sla, responsible, closed_at, now, email
):
    """Build a Ticket whose derived fields agree with its planned messages (as ticket_recompute does)."""
    from otklik.tickets.models import Channel, SpamState, Ticket

    created = plan[0][2]
    last = plan[-1]
    support_indexes = [i for i, step in enumerate(plan) if step[0]]
    after = plan[support_indexes[-1] + 1 :] if support_indexes else []
    is_open = closed_at is None
    awaits = is_open and (not support_indexes or bool(after))
    source_at = (after[0][2] if after else created) if awaits else None
    overdue = awaits and (now - (source_at or now)).days >= 2 and rng.random() < 0.5
    status = "solved" if not is_open else ("in_progress" if support_indexes else "accepted")
    author_id = plan[0][1]
    modified_at = closed_at or last[2]
    return Ticket(
        title=title,
        author_id=author_id,
        author_email=email,
        created_by_id=author_id,
        created_via=rng.choice((Channel.WEB, Channel.WEB, Channel.WEB, Channel.EMAIL, Channel.API)),
        category_id=category,
        criticality_id=rng.choice(list(entries["criticality"].values())),
        status_id=entries["status"].get(status),
        sla_id=sla,
        responsible_id=responsible,
        difficulty_id=rng.choice(list(entries["difficulty"].values()))
        if support_indexes and rng.random() < 0.4
        else None,
        mark_id=rng.choice(list(entries["mark"].values())) if not is_open and rng.random() < 0.3 else None,
        is_special=rng.random() < 0.005,
        spam=SpamState.POSSIBLE if rng.random() < 0.01 else SpamState.NONE,
        is_postponed=is_open and rng.random() < 0.03,
        message_count=len(plan),
        overdue_count=int(overdue) + (rng.random() < 0.05),
        is_overdue=overdue,
        reminder_sent=overdue or (awaits and rng.random() < 0.05),
        deadline_source_at=source_at,
        awaits_support=awaits,
        last_message_at=last[2],
        last_message_by_id=last[1],
        last_message_by_support=last[0],
        first_client_message_after_support_at=after[0][2] if after else None,
        time_spent_minutes=sum(step[3] for step in plan),
        closed_at=closed_at,
        created_at=created,
        modified_at=modified_at,
        modified_by_id=last[1],
    )


if __name__ == "__main__":
    sys.exit(main())
