"""Demo data: users of every role, the regulation's timetables and SLA table, frequent answers and tickets.

`demo_load()` is idempotent: users, groups, timetables, SLA levels and answers are created only when
missing (levels from an older run get a missing timetable or groups filled in), and the tickets only when
no demo ticket exists yet. Tickets are written through the ticket services with
the clock frozen at each step, so their history, counters and search text are exactly what real use
would produce. The content is deterministic (a seeded random generator); only the passwords are random.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import translation

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import (
    access_groups_ensure,
    support_group_add_member,
    support_group_ensure,
    user_create,
)
from otklik.core import clock, events
from otklik.core.config_cache import config_rows_changed
from otklik.coupons.models import Coupon
from otklik.coupons.services import CouponSpec, coupon_generate
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.models import SlaLevel, Timetable, TimeUnit
from otklik.sla.services import timetable_apply_calendar, timetable_save_week
from otklik.tickets import services
from otklik.tickets.demo_data.agents_day import agents_day_demo
from otklik.tickets.demo_data.attachments import attachment
from otklik.tickets.demo_data.content import (
    CITIES,
    CLIENT_COMPANIES,
    ENTERPRISE_COUPON_DAYS,
    ENTERPRISE_COUPON_NOTE,
    ENTERPRISE_COUPON_SLA,
    ENTERPRISE_COUPON_USES,
    FREQUENT_ANSWERS,
    GENERIC,
    LOGIN_USERNAMES,
    PEOPLE,
    SCENARIOS,
    SLA_GROUPS,
    SLA_TABLE,
    SPAM,
    STAFF_LATIN_NAMES,
    STAFF_LOGINS,
    STAFF_TEAM,
    TIMETABLES,
    Person,
    Scenario,
    reminder_minutes,
)
from otklik.tickets.demo_steps import DemoContext, demo_steps
from otklik.tickets.models import Channel, SpamState, Ticket
from otklik.tickets.selectors import options_cached

DEFAULT_TICKETS = 200
DEFAULT_SEED = 20240917
DAYS_BACK = 60
MOSCOW = ZoneInfo("Europe/Moscow")

__all__ = ["DEFAULT_SEED", "DEFAULT_TICKETS", "LOGIN_USERNAMES", "PEOPLE", "DemoReport", "demo_load"]


# -- the loader ------------------------------------------------------------------------------
@dataclass
class DemoReport:
    """What demo_load() did: new logins with their one-time passwords, existing logins, ticket count."""

    created: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, password)
    existing: list[str] = field(default_factory=list)
    tickets_created: int = 0
    tickets_skipped: bool = False
    lines: list[str] = field(default_factory=list)  # what the registered demo steps did, one line each
    timetables_created: int = 0
    sla_created: int = 0
    answers_created: int = 0


def demo_load(
    *, tickets: int = DEFAULT_TICKETS, seed: int = DEFAULT_SEED, progress: Callable[[str], None] | None = None
) -> DemoReport:
    """Create the demo users, groups, timetables, SLA levels, frequent answers, tickets, macros, tags and
    links that are missing."""
    report = DemoReport()
    # The demo's history is made up: its people (with made-up addresses) are not mailed about it.
    with transaction.atomic(), events.muted(events.TICKET_ACTIVITY):
        users = _users(report)
        _groups(users)
        timetables, report.timetables_created = _timetables()
        report.sla_created = _sla_levels(timetables)
        report.answers_created = _frequent_answers()
        report.lines.append(_enterprise_coupon())
        if _demo_tickets_exist(users):
            report.tickets_skipped = True
        elif tickets > 0:
            report.tickets_created = _Generator(users, random.Random(seed), progress).run(tickets)
        agents_day = agents_day_demo(users, tickets=tickets, seed=seed).line()
        if agents_day:
            report.lines.append(agents_day)
        context = DemoContext(
            users=users,
            report=report,
            tickets=tickets,
            seed=seed,
            user_ensure=lambda **person: demo_user_ensure(report, users, **person),
        )
        for step in demo_steps():
            step(context)
    return report


def demo_user_ensure(
    report: DemoReport,
    users: dict[str, User],
    *,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    level: str,
    language: str = "ru",
    label: str = "",
) -> User:
    """Return the demo login `username`, created with a printed one-time password when missing.

    `label` is what the password line says the user is (the access level by default).
    """
    user = User.objects.filter(username=username).first()
    if user is not None:
        report.existing.append(username)
    else:
        password = _password()
        user = user_create(
            username=username,
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            levels=(level,),
            language=language,
            email_confirmed=True,
        )
        report.created.append((username, label or level, password))
    users[username] = user
    return user


def _users(report: DemoReport) -> dict[str, User]:
    users: dict[str, User] = {}
    for person in PEOPLE:
        user = User.objects.filter(username=person.username).first()
        if user is not None:
            if person.login:
                report.existing.append(person.username)
            users[person.username] = user
            continue
        password = _password() if person.login else None
        user = user_create(
            username=person.username,
            email=person.email,
            password=password,
            first_name=person.first_name,
            last_name=person.last_name,
            levels=(person.level,),
            language=person.language,
            email_confirmed=True,  # staff-made accounts: their mail is theirs (F-12)
        )
        if person.level == AccessLevel.ADMIN:
            # The demo administrator also opens the configuration pages with every model permission.
            User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
            config_rows_changed(User)  # superusers are support admins: cached levels must not miss it
            user.refresh_from_db()
        if password:
            report.created.append((person.username, person.level, password))
        users[person.username] = user
    return users


def _password() -> str:
    """A random password that is easy to type: three groups of four letters and digits."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def _groups(users: dict[str, User]) -> None:
    for name, description in CLIENT_COMPANIES.items():
        group = support_group_ensure(name=name, kind=SupportGroup.Kind.CLIENT, description=description)
        for person in PEOPLE:
            if person.company == name:
                if not group.memberships.filter(user=users[person.username]).exists():
                    support_group_add_member(group=group, user=users[person.username], can_view=True)
    team = support_group_ensure(
        name=STAFF_TEAM, kind=SupportGroup.Kind.STAFF, description="Первая линия поддержки."
    )
    for username in ("staff", "staff2"):
        if not team.memberships.filter(user=users[username]).exists():
            support_group_add_member(group=team, user=users[username], can_view=True, mail_new=True)
    # The user groups of the SLA table's contracts (VIP, partners), with the demo clients who have one.
    sla_groups = {name: Group.objects.get_or_create(name=name)[0] for name in SLA_GROUPS}
    for person in PEOPLE:
        if person.sla_group:
            users[person.username].groups.add(sla_groups[person.sla_group])


def _timetables() -> tuple[dict[str, Timetable], int]:
    """Create the regulation's timetables that are missing, the production calendar applied (F-07)."""
    result: dict[str, Timetable] = {}
    made = 0
    for row in TIMETABLES:
        timetable = Timetable.objects.filter(code=row.code).first()
        if timetable is None:
            timetable = Timetable.objects.create(
                code=row.code, name_ru=row.name_ru, name_en=row.name_en, time_zone="Europe/Moscow"
            )
            timetable_save_week(timetable, row.week)
            made += 1
        # Years applied once stay as they are (the admin may have re-applied or edited them since).
        for year in row.calendar_years:
            if year not in timetable.calendar_years:
                timetable_apply_calendar(timetable, year)
        result[row.code] = timetable
    return result, made


def _sla_levels(timetables: dict[str, Timetable]) -> int:
    made = 0
    clients_group = access_groups_ensure()[AccessLevel.CLIENT]
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in SLA_GROUPS}
    has_default = SlaLevel.objects.filter(is_default=True).exists()
    for row in SLA_TABLE:
        sla, created = SlaLevel.objects.get_or_create(
            name_ru=row.name_ru,
            defaults={
                "code": row.code,
                "name_en": row.name_en,
                "description_ru": row.description_ru,
                "description_en": row.description_en,
                "priority": row.priority,
                "response_time": row.hours,
                "response_unit": TimeUnit.HOURS,
                "reminder_time": reminder_minutes(row.hours),
                "reminder_unit": TimeUnit.MINUTES,
                "timetable": timetables[row.timetable],
                "is_default": row.is_default and not has_default,
            },
        )
        made += created
        # Levels made by an older demo lack what it did not know yet: fill in only what is missing.
        if sla.timetable_id is None:
            sla.timetable = timetables[row.timetable]
            sla.save(update_fields=["timetable"])
        if not sla.code and not SlaLevel.objects.filter(code=row.code).exists():
            sla.code = row.code
            sla.save(update_fields=["code"])
        group = clients_group if row.for_clients else groups.get(row.group)
        if group is not None and (created or not sla.groups.exists()):
            sla.groups.add(group)
            if not created and sla.priority != row.priority:
                # Without groups the level never took part in the choice, so its old priority meant nothing.
                sla.priority = row.priority
                sla.save(update_fields=["priority"])
    return made


def _frequent_answers() -> int:
    made = 0
    for sort, (code, name_ru, name_en, text_ru, text_en) in enumerate(FREQUENT_ANSWERS, start=1):
        _entry, created = DictionaryEntry.objects.get_or_create(
            kind=DictionaryKind.FREQUENT_ANSWER,
            code=code,
            defaults={
                "name_ru": name_ru,
                "name_en": name_en,
                "description_ru": text_ru,
                "description_en": text_en,
                "sort": sort * 100,
            },
        )
        made += created
    return made


def _enterprise_coupon() -> str:
    """Give the Enterprise client its coupon once (F-21); return the line that prints its code."""
    coupon = Coupon.objects.filter(note=ENTERPRISE_COUPON_NOTE).order_by("pk").first()
    if coupon is None:
        sla = SlaLevel.objects.filter(code=ENTERPRISE_COUPON_SLA).first()
        if sla is None:  # an older demo's level kept another code: no coupon rather than a wrong one
            return (
                f"No SLA level with the code {ENTERPRISE_COUPON_SLA!r}: the Enterprise coupon was not made."
            )
        spec = CouponSpec(
            sla=sla,
            uses=ENTERPRISE_COUPON_USES,
            days=ENTERPRISE_COUPON_DAYS,
            mask=options_cached().coupon_mask,
            note=ENTERPRISE_COUPON_NOTE,
        )
        coupon = coupon_generate(spec=spec, actor=None)[0]
    until = f", valid to {coupon.active_to:%Y-%m-%d}" if coupon.active_to else ""
    return (
        f"Enterprise coupon of client vip ({coupon.uses_left} of {coupon.used_count + coupon.uses_left} "
        f"special tickets left{until}): {coupon.code}"
    )


def _demo_tickets_exist(users: dict[str, User]) -> bool:
    authors = [users[p.username].pk for p in PEOPLE if p.level == AccessLevel.CLIENT]
    return Ticket.objects.filter(author_id__in=authors).exists()


class _Generator:
    """Play out `n` conversations through the services, each step at its own frozen instant."""

    def __init__(self, users: dict[str, User], rng: random.Random, progress: Callable[[str], None] | None):
        self.users = users
        self.rng = rng
        self.progress = progress or (lambda _line: None)
        self.now = clock.now().replace(microsecond=0)
        self.entries = {
            (e.kind, e.code): e for e in DictionaryEntry.objects.filter(active=True).exclude(code="")
        }
        self.clients = [p for p in PEOPLE if p.level == AccessLevel.CLIENT and p.weight]
        self.by_username = {p.username: p for p in PEOPLE}

    def signature_name(self, user: User, lang: str) -> str:
        """The staff member's first name as they sign in this language (Latin letters in English)."""
        return user.first_name if lang == "ru" else STAFF_LATIN_NAMES.get(user.username, user.first_name)

    def entry(self, kind: str, code: str) -> DictionaryEntry | None:
        return self.entries.get((kind, code))

    # -- time ------------------------------------------------------------------------------
    def opening_time(self, max_age_days: float) -> datetime:
        """A moment in the past, mostly on Moscow working days and hours, like real support traffic."""
        rng = self.rng
        for _attempt in range(20):
            day = self.now.astimezone(MOSCOW) - timedelta(days=rng.uniform(0, max_age_days))
            weekend = day.weekday() >= 5
            if weekend and rng.random() < 0.75:
                continue
            hour = rng.choice((9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 16, 16, 17, 18, 19, 21, 23))
            at = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
            if at < self.now - timedelta(minutes=15):
                return at.astimezone(self.now.tzinfo)
        return self.now - timedelta(hours=rng.uniform(1, 24 * max_age_days))

    def later(
        self, at: datetime, low_minutes: float, high_minutes: float, *, support: bool = False
    ) -> datetime | None:
        """A moment some minutes after `at`, or None when it would be in the future (the story stops).

        Support acts in the regulation's working hours (Mon–Fri 10:00–19:00 Moscow time): a step that
        falls outside them moves to the next working morning.
        """
        step = at + timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))
        if support:
            local = step.astimezone(MOSCOW)
            if local.weekday() >= 5 or not 10 <= local.hour < 19:
                day = local if local.hour < 10 and local.weekday() < 5 else local + timedelta(days=1)
                while day.weekday() >= 5:
                    day += timedelta(days=1)
                local = day.replace(hour=10, minute=0, second=0) + timedelta(minutes=self.rng.uniform(1, 90))
                step = local.astimezone(at.tzinfo)
        step = step.replace(microsecond=0)
        return step if step < self.now - timedelta(minutes=1) else None

    # -- the stories -----------------------------------------------------------------------
    def run(self, n: int) -> int:
        outcomes = (
            ["new"] * 12
            + ["answered_unassigned"] * 5
            + ["waiting_client"] * 17
            + ["client_replied"] * 14
            + ["solved"] * 30
            + ["closed_by_client"] * 8
            + ["unsolvable"] * 3
            + ["postponed"] * 4
            + ["reopened"] * 4
        )
        weights = [p.weight for p in self.clients]
        for i in range(n):
            # A few advertising tickets, evenly spread (5 in 200).
            outcome = "spam" if i % 40 == 17 else self.rng.choice(outcomes)
            if outcome == "spam":
                self.spam(i)
            else:
                author = self.rng.choices(self.clients, weights=weights)[0]
                scenario = self.rng.choice([s for s in SCENARIOS if s.lang == author.language])
                self.story(i, outcome, author, scenario)
            if (i + 1) % 50 == 0:
                self.progress(f"{i + 1} tickets")
        return n

    def values(self, author: Person, lang: str, i: int, at: datetime) -> dict[str, str]:
        rng = self.rng
        local = at.astimezone(MOSCOW) - timedelta(minutes=rng.randrange(20, 200))
        return {
            "name": author.first_name,
            "site": author.site,
            "order": str(rng.randrange(10_000, 99_999)),
            "invoice": f"{'СЧ' if lang == 'ru' else 'INV'}-{at.year}-{rng.randrange(100, 999)}",
            "amount": f"{rng.randrange(8, 450) * 100:,}".replace(",", " " if lang == "ru" else ","),
            "city": rng.choice(CITIES[lang]),
            "time": local.strftime("%H:%M"),
            "date": (local - timedelta(days=rng.randrange(3, 8))).strftime(
                "%d.%m" if lang == "ru" else "%d %B"
            ),
            "version": rng.choice(("24.100.0", "24.200.1", "25.0.3")),
            "track": f"RA{rng.randrange(100_000_000, 999_999_999)}RU"
            if lang == "ru"
            else f"JD{rng.randrange(10**15, 10**16)}GB",
        }

    def pick_staff(self, scenario: Scenario) -> User:
        rng = self.rng
        if scenario.lang == "en":
            login = rng.choices(STAFF_LOGINS, weights=(3, 6, 1))[0]
        elif scenario.category == "payment":
            login = rng.choices(STAFF_LOGINS, weights=(3, 6, 1))[0]
        else:
            login = rng.choices(STAFF_LOGINS, weights=(6, 3, 1))[0]
        return self.users[login]

    def story(self, i: int, outcome: str, author_p: Person, sc: Scenario) -> None:
        rng = self.rng
        lang = sc.lang
        text = GENERIC[lang]
        # Tickets still waiting for support are mostly recent ones: a real desk does not leave them for weeks.
        max_age = (
            {"new": 4, "client_replied": 12}.get(outcome, DAYS_BACK) if rng.random() < 0.85 else DAYS_BACK
        )
        t = self.opening_time(max_age)
        author = self.users[author_p.username]
        v = self.values(author_p, lang, i, t)
        staff = self.pick_staff(sc)
        v["staff"] = self.signature_name(staff, lang)
        sign = text["signature"].format(**v)
        criticality = sc.criticality if rng.random() < 0.7 else rng.choice(("low", "middle", "high"))

        with translation.override(lang):
            ticket = self.open_ticket(t, author, author_p, sc, v, criticality, i, staff)
            if outcome == "new":
                return

            # Support picks the ticket up: takes it (or not), sets status and difficulty.
            t = self.later(t, 10, 300, support=True)
            if t is None:
                return
            assign = outcome != "answered_unassigned"
            if assign:
                changes = {"status": self.entry("status", "in_progress")}
                if ticket.responsible_id is None:
                    changes["responsible"] = staff
                if rng.random() < 0.6:
                    changes["difficulty"] = self.entry(
                        "difficulty", rng.choice(("easy", "medium", "medium", "hard"))
                    )
                ticket = self.update(t, staff, ticket, changes)
            if rng.random() < 0.35:
                self.post(t, staff, ticket, sc.note.format(**v), hidden=True, minutes=rng.choice((0, 5, 10)))
                if assign and rng.random() < 0.2:
                    other = self.users["staff2" if staff.username != "staff2" else "staff"]
                    self.post(
                        t,
                        staff,
                        ticket,
                        text["escalate"].format(other=self.signature_name(other, lang)),
                        hidden=True,
                    )
                    ticket = self.update(t, staff, ticket, {"responsible": other})
                    staff = other
                    v["staff"] = self.signature_name(staff, lang)
                    sign = text["signature"].format(**v)
            if outcome == "postponed":
                self.post(t, staff, ticket, rng.choice(text["wait"]) + sign, not_change_status=True)
                t = self.later(t, 30, 600, support=True)
                if t is None:
                    return
                self.post(t, staff, ticket, text["postponed"], hidden=True)
                self.update(t, staff, ticket, {"is_postponed": True})
                return

            quick = rng.random() < 0.3
            if not quick:
                self.post(t, staff, ticket, sc.question.format(**v) + sign, minutes=rng.choice((5, 10, 15)))
                if outcome == "waiting_client":
                    return
                t = self.later(t, 20, 60 * 20)
                if t is None:
                    return
                if rng.random() < 0.15:
                    self.post(t, author, ticket, rng.choice(text["chase"]))
                    t = self.later(t, 30, 300)
                    if t is None:
                        return
                files = (
                    [attachment(sc.attachment, lang, t, v, i)] if sc.attachment and rng.random() < 0.5 else []
                )
                self.post(t, author, ticket, sc.clarification.format(**v), files=files)
                if outcome == "client_replied":
                    if rng.random() < 0.3:
                        ticket = self.update(
                            t, author, ticket, {"criticality": self.entry("criticality", "high")}
                        )
                    return
                t = self.later(t, 15, 480, support=True)
                if t is None:
                    return
            if outcome == "client_replied":
                # Quick answer first, then the client came back with more.
                self.post(t, staff, ticket, sc.answer.format(**v) + sign, minutes=rng.choice((10, 20, 30)))
                t = self.later(t, 60, 60 * 24)
                if t is None:
                    return
                self.post(t, author, ticket, rng.choice(text["followup"]))
                return
            if outcome == "unsolvable":
                self.post(t, staff, ticket, text["unsolvable"] + sign, minutes=rng.choice((15, 30)))
                ticket = self.update(t, staff, ticket, {"status": self.entry("status", "unsolvable")})
                t = self.later(t, 60, 60 * 48, support=True)
                if t is not None:
                    self.close(t, staff, ticket)
                    if rng.random() < 0.6:
                        self.update(t, author, ticket, {"mark": self.entry("mark", "bad")})
                return
            if rng.random() < 0.2:
                self.post(t, staff, ticket, rng.choice(text["wait"]) + sign, not_change_status=True)
                t = self.later(t, 30, 240, support=True)
                if t is None:
                    return
            self.post(
                t, staff, ticket, sc.answer.format(**v) + sign, minutes=rng.choice((10, 15, 20, 30, 45, 60))
            )
            if outcome == "waiting_client":
                return
            t = self.later(t, 30, 60 * 30)
            if t is None:
                return
            if outcome == "answered_unassigned":
                self.post(t, author, ticket, sc.thanks.format(**v))
                return
            if outcome == "closed_by_client":
                self.post(t, author, ticket, sc.thanks.format(**v))
                ticket = self.close(t, author, ticket)
            else:
                if rng.random() < 0.6:
                    self.post(t, author, ticket, sc.thanks.format(**v))
                    t = self.later(t, 5, 240, support=True)
                    if t is None:
                        return
                ticket = self.update(t, staff, ticket, {"status": self.entry("status", "solved")})
                ticket = self.close(t, staff, ticket)
            if rng.random() < 0.65:
                t = self.later(t, 5, 600) or t
                mark = rng.choices(("good", "incomplete", "bad"), weights=(7, 2, 1))[0]
                ticket = self.update(t, author, ticket, {"mark": self.entry("mark", mark)})
            if outcome == "reopened":
                t = self.later(t, 60 * 24, 60 * 24 * 5)
                if t is None:
                    return
                ticket = self.reopen(t, author, ticket)
                self.post(t, author, ticket, rng.choice(text["reopen"]))
                t = self.later(t, 20, 240, support=True)
                if t is None:
                    return
                self.post(t, staff, ticket, sc.answer.format(**v) + sign, minutes=rng.choice((15, 30)))

    def open_ticket(
        self,
        t: datetime,
        author: User,
        author_p: Person,
        sc: Scenario,
        v: dict[str, str],
        criticality: str,
        i: int,
        staff: User,
    ) -> Ticket:
        rng = self.rng
        title = rng.choice(sc.titles).format(**v)
        body = sc.body.format(**v)
        prompts = None
        if sc.prompts and rng.random() < 0.5:
            prompts = dict(zip(("looked", "did", "expected", "saw"), sc.prompts, strict=True))
        files = [attachment(sc.attachment, sc.lang, t, v, i)] if sc.attachment and rng.random() < 0.3 else []
        draft = services.TicketDraft(
            title=title,
            message=body,
            category=self.entry("category", sc.category),
            criticality=self.entry("criticality", criticality),
            prompts=prompts,
            files=files,
        )
        with clock.frozen(t):
            if rng.random() < 0.08:
                # Taken by phone: staff files the ticket for the client (F-02 "created by").
                return services.ticket_create(
                    actor=staff,
                    draft=draft,
                    staff=services.StaffFields(
                        author=author, source=self.entry("source", "phone"), responsible=staff
                    ),
                    via=Channel.PHONE,
                )
            via = Channel.EMAIL if rng.random() < 0.15 else Channel.WEB
            return services.ticket_create(actor=author, draft=draft, via=via)

    def spam(self, i: int) -> None:
        rng = self.rng
        lang = rng.choice(("ru", "en"))
        title, body = SPAM[lang]
        t = self.opening_time(DAYS_BACK)
        with translation.override(lang):
            with clock.frozen(t):
                ticket = services.ticket_create(
                    actor=self.users["seo-promo"],
                    draft=services.TicketDraft(title=title, message=body),
                    via=Channel.EMAIL,
                )
            t = self.later(t, 10, 240, support=True)
            if t is None:
                return
            staff = self.users[rng.choice(("staff", "staff2"))]
            self.post(t, staff, ticket, GENERIC[lang]["spam_note"], hidden=True)
            with clock.frozen(t):
                ticket = services.ticket_set_spam(actor=staff, ticket=ticket, state=SpamState.POSSIBLE)
            if rng.random() < 0.5:
                self.close(t, staff, ticket)

    # -- service calls at a frozen instant ------------------------------------------------------
    def post(self, t: datetime, actor: User, ticket: Ticket, body: str, **options: Any) -> None:
        """Post `body` at `t`; `options` are MessageDraft's (hidden, minutes, files...)."""
        with clock.frozen(t):
            services.message_post(
                actor=actor, ticket=ticket, draft=services.MessageDraft(body=body, **options)
            )

    def update(self, t: datetime, actor: User, ticket: Ticket, changes: dict) -> Ticket:
        with clock.frozen(t):
            return services.ticket_update(actor=actor, ticket=ticket, changes=changes)

    def close(self, t: datetime, actor: User, ticket: Ticket) -> Ticket:
        with clock.frozen(t):
            return services.ticket_close(actor=actor, ticket=ticket)

    def reopen(self, t: datetime, actor: User, ticket: Ticket) -> Ticket:
        with clock.frozen(t):
            return services.ticket_reopen(actor=actor, ticket=ticket)
