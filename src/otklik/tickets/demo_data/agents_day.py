"""The agent's day in `otklik demo` (issue 18): tags with admin colours, macros, and linked tickets.

Everything goes through the services a person would use, at frozen instants just after each ticket's
last change, so the history reads as real work. Idempotent like the rest of the demo: the macros are
created when missing (by owner and name), the tags and links only once, when no demo ticket has any yet,
and only when the run asks for tickets.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User

from otklik.accounts.models import AccessLevel
from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.tickets.demo_data.content import CLIENTS_VIP, PEOPLE
from otklik.tickets.models import LinkKind, Macro, SpamState, Tag, Ticket, TicketLink, TicketTag
from otklik.tickets.services.links import ticket_link_add
from otklik.tickets.services.macros import MacroInput, macro_save
from otklik.tickets.services.tags import tags_ensure, ticket_tags_change

# Tags an admin has given colours (name -> colour); "urgent" is the one the demo's automation rule adds.
COLOURED_TAGS = {
    "billing": "#1f6feb",
    "vip": "#8250df",
    "needs-info": "#bf8700",
    "urgent": "#cf222e",
}
# The tag a ticket's category gets; staff typed these as they went, no colour curated.
CATEGORY_TAGS = {"payment": "billing", "delivery": "доставка", "errors": "bug"}
# About one demo ticket in five is tagged.
TAGGED_SHARE = 0.2


@dataclass(frozen=True)
class DemoMacro:
    owner: str  # "" for a shared macro (the demo admin makes it)
    name: str
    reply: str
    status: str = ""  # the code of the status it sets
    add_tags: tuple[str, ...] = ()
    close: bool = False
    sort: int = 100


MACROS: tuple[DemoMacro, ...] = (
    DemoMacro(
        owner="",
        name="Ask for details",
        reply=(
            "Hello, {author.name}!\n\n"
            "Thank you for ticket #{ticket.id} “{ticket.title}”. To look into it we need a few more "
            "details: what you did, what you expected and what you saw instead. A screenshot helps.\n\n"
            "{agent.name}, support"
        ),
        status="in_progress",
        add_tags=("needs-info",),
        sort=10,
    ),
    DemoMacro(
        owner="",
        name="Solved: close",
        reply=(
            "Hello, {author.name}!\n\n"
            "The problem in ticket #{ticket.id} is solved, so we are closing it. If it comes back, "
            "please let us know.\n\n"
            "{agent.name}, support"
        ),
        status="solved",
        close=True,
        sort=20,
    ),
    DemoMacro(
        owner="staff",
        name="Запросить скриншот",
        reply=(
            "Здравствуйте, {author.name}!\n\n"
            "Пришлите, пожалуйста, снимок экрана с ошибкой и время, когда она появилась, — так мы "
            "разберёмся быстрее.\n\n"
            "{agent.name}, служба поддержки"
        ),
        add_tags=("needs-info",),
        sort=10,
    ),
)


@dataclass
class AgentsDayMade:
    macros: int = 0
    tagged: int = 0
    links: int = 0

    def line(self) -> str:
        """The report's line, or "" when this run made nothing new."""
        parts = []
        if self.macros:
            parts.append(f"{self.macros} macros")
        if self.tagged:
            parts.append(f"{self.tagged} tickets tagged ({', '.join(COLOURED_TAGS)} in colour)")
        if self.links:
            parts.append(f"{self.links} links between tickets")
        return f"The agent's day: {', '.join(parts)}." if parts else ""


def agents_day_demo(users: dict[str, User], *, tickets: int, seed: int) -> AgentsDayMade:
    """Create the demo's macros when missing and, when the run asks for tickets, its tags and links once."""
    made = AgentsDayMade(macros=_macros(users))
    if tickets > 0:
        demo_tickets = _demo_tickets(users)
        if not TicketTag.objects.filter(ticket__in=demo_tickets).exists():
            made.tagged = _tags(users, demo_tickets, random.Random(seed))
        if not TicketLink.objects.filter(ticket__in=demo_tickets).exists():
            made.links = _links(users["admin"], demo_tickets)
    return made


def _macros(users: dict[str, User]) -> int:
    statuses = dict(
        DictionaryEntry.objects.filter(kind=DictionaryKind.STATUS, active=True).values_list("code", "pk")
    )
    made = 0
    for row in MACROS:
        owner = users[row.owner] if row.owner else None
        if Macro.objects.filter(owner=owner, name__iexact=row.name).exists():
            continue
        actions: dict = {}
        if row.status and row.status in statuses:
            actions["changes"] = {"status": statuses[row.status]}
        if row.add_tags:
            actions["add_tags"] = list(row.add_tags)
        if row.close:
            actions["close"] = True
        macro_save(
            actor=owner or users["admin"],
            data=MacroInput(
                name=row.name, shared=owner is None, actions=actions, reply=row.reply, sort=row.sort
            ),
        )
        made += 1
    return made


def _demo_tickets(users: dict[str, User]):
    authors = [users[p.username].pk for p in PEOPLE if p.level == AccessLevel.CLIENT and p.weight]
    return Ticket.objects.filter(author_id__in=authors).exclude(spam=SpamState.POSSIBLE)


def _after(*moments: datetime | None) -> datetime:
    """An instant a little after the latest of `moments`, never later than a minute ago."""
    latest = max(m for m in moments if m is not None)
    return min(latest + timedelta(minutes=7), clock.now() - timedelta(minutes=1)).replace(microsecond=0)


def _tags(users: dict[str, User], demo_tickets, rng: random.Random) -> int:
    """Give the admin's colours to their tags, and tag about a fifth of the demo tickets by their content."""
    for tag in tags_ensure(list(COLOURED_TAGS)):
        if not tag.colour:  # an admin's own choice of colour stays
            Tag.objects.filter(pk=tag.pk).update(colour=COLOURED_TAGS[tag.name])
    vip_authors = {users[p.username].pk for p in PEOPLE if p.sla_group == CLIENTS_VIP}
    staff = {username: users[username] for username in ("staff", "staff2", "admin")}
    tagged = 0
    for ticket in demo_tickets.select_related("category", "responsible").order_by("pk"):
        if rng.random() >= TAGGED_SHARE:
            continue
        names = []
        if ticket.category is not None and ticket.category.code in CATEGORY_TAGS:
            names.append(CATEGORY_TAGS[ticket.category.code])
        if ticket.author_id in vip_authors:
            names.append("vip")
        if ticket.closed_at is None and ticket.last_message_by_support and not ticket.awaits_support:
            names.append("needs-info")
        if not names:
            continue
        # The one who works the ticket tags it; unassigned ones are tagged by the first line.
        actor = ticket.responsible if ticket.responsible in staff.values() else staff["staff"]
        with clock.frozen(_after(ticket.modified_at, ticket.created_at)):
            ticket_tags_change(actor=actor, ticket=ticket, add=names)
        tagged += 1
    return tagged


def _links(admin: User, demo_tickets) -> int:
    """Link two open error reports as parent and child, and two payment tickets as related."""
    made = 0
    errors = list(
        demo_tickets.filter(closed_at__isnull=True, category__code="errors").order_by("created_at")[:2]
    )
    if len(errors) == 2:
        parent, child = errors
        with clock.frozen(_after(parent.modified_at, child.modified_at)):
            ticket_link_add(
                actor=admin, ticket=child, other=parent, kind=LinkKind.PARENT, notify_author=False
            )
        made += 1
    used = [t.pk for t in errors]
    payments = list(
        demo_tickets.filter(category__code="payment").exclude(pk__in=used).order_by("created_at")[:2]
    )
    if len(payments) == 2:
        first, second = payments
        with clock.frozen(_after(first.modified_at, second.modified_at)):
            ticket_link_add(
                actor=admin, ticket=second, other=first, kind=LinkKind.RELATED, notify_author=False
            )
        made += 1
    return made
