"""Reads: module options, dictionaries offered on forms, ticket lists with filters and sorting, indicators, presence."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BooleanField, Exists, ForeignKey, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from otklik.core import clock
from otklik.core.config_cache import config_cached
from otklik.core.models import DomainEvent
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.dictionaries.selectors import dictionary_list
from otklik.sla.models import SlaLevel
from otklik.tickets.link_selectors import open_children_q
from otklik.tickets.models import (
    TICKET_ENTRY_FKS,
    Message,
    ModuleOptions,
    SpamState,
    Ticket,
    TicketDeletion,
    TicketEvent,
    TicketPresence,
    TicketSearchDocument,
)
from otklik.tickets.panels import list_filter_q, queue_q
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.tag_selectors import tags_annotate, tags_filter_q


def options_get() -> ModuleOptions:
    """Return the module options row, or while nobody has saved it an unsaved one with the SPEC's defaults.

    A read never writes: `services.module_options_ensure` creates the row for those who change it.
    """
    options = ModuleOptions.objects.filter(pk=1).select_related("default_responsible").first()
    return options if options is not None else ModuleOptions(pk=1)


def options_cached() -> ModuleOptions:
    """Return the module options as read at most a few seconds ago (hot paths; never change the result)."""
    return config_cached("module-options", options_get)


def config_relations_attach(ticket: Ticket) -> Ticket:
    """Give the ticket its dictionary entries and SLA from the configuration cache instead of a query each.

    Hot writes (a reply, a mail) read them for the deadline and the notifications. The attached objects
    are shared: never change them.
    """
    entries = config_cached("dictionary-entries", DictionaryEntry.objects.in_bulk)
    for name in TICKET_ENTRY_FKS:
        entry = entries.get(getattr(ticket, f"{name}_id"))
        if entry is not None:
            cast(ForeignKey, Ticket._meta.get_field(name)).set_cached_value(ticket, entry)
    if ticket.sla_id is not None:
        levels = config_cached("sla-levels-by-id", SlaLevel.objects.select_related("timetable").in_bulk)
        if ticket.sla_id in levels:
            Ticket._meta.get_field("sla").set_cached_value(ticket, levels[ticket.sla_id])
    return ticket


# -- indicators (лампочки, F-02) ---------------------------------------------------------------
class Indicator:
    GREY = "grey"
    GREEN = "green"
    GREEN_S = "green_s"
    RED = "red"
    YELLOW = "yellow"


def indicator_for(ticket: Ticket, policy: TicketPolicy) -> str:
    """Return the ticket's indicator for this user; first matching rule wins (F-02)."""
    uid = policy.user.pk
    if ticket.closed_at is not None:
        return Indicator.GREY
    if policy.sees_support_view:
        if ticket.last_message_by_id is not None and ticket.last_message_by_id == uid:
            return Indicator.GREEN
        if ticket.author_id == uid:
            return Indicator.RED
        if ticket.last_message_by_support:
            return Indicator.GREEN_S
        if ticket.responsible_id == uid:
            return Indicator.RED
        return Indicator.YELLOW
    return Indicator.RED if ticket.last_message_by_support else Indicator.GREEN


def indicator_q(indicator: str, policy: TicketPolicy) -> Q:
    """Return the Q selecting tickets whose indicator for this user is `indicator` (mirrors indicator_for)."""
    uid = policy.user.pk
    is_open = Q(closed_at__isnull=True)
    if indicator == Indicator.GREY:
        return ~is_open
    if not policy.sees_support_view:
        if indicator == Indicator.RED:
            return is_open & Q(last_message_by_support=True)
        if indicator == Indicator.GREEN:
            return is_open & Q(last_message_by_support=False)
        return Q(pk__in=[])
    mine_last = Q(last_message_by_id=uid)
    mine = Q(author_id=uid)
    support_last = Q(last_message_by_support=True)
    responsible = Q(responsible_id=uid)
    if indicator == Indicator.GREEN:
        return is_open & mine_last
    if indicator == Indicator.RED:
        return is_open & ~mine_last & (mine | (~support_last & responsible))
    if indicator == Indicator.GREEN_S:
        return is_open & ~mine_last & ~mine & support_last
    if indicator == Indicator.YELLOW:
        return is_open & ~mine_last & ~mine & ~support_last & ~responsible
    return Q(pk__in=[])


# -- ticket lists ----------------------------------------------------------------------------
# Sort keys the lists accept, mapped to ORM orderings; "-" prefix means descending.
SORT_FIELDS = {
    "id": "id",
    "title": "title",
    "created": "created_at",
    "modified": "modified_at",
    "last_message": "last_message_at",
    "messages": "message_count",
    "status": "status__sort",
    "category": "category__sort",
    "criticality": "criticality__sort",
    "responsible": "responsible__username",
    "time_spent": "time_spent_minutes",
    "overdue": "overdue_count",
    "deadline": "deadline_at",
}
DEFAULT_STAFF_ORDER = (
    "-is_special",
    "-is_overdue",
    "-reminder_sent",
    "last_message_by_support",
    "-last_message_at",
    "-id",
)
DEFAULT_CLIENT_ORDER = ("-modified_at", "-id")


@dataclass
class TicketFilter:
    """Every filter of the ticket lists; empty values mean "any"."""

    id: int | None = None
    indicator: str = ""
    state: str = ""  # "open" | "closed" | ""
    last_by: str = ""  # "client" | "support" | "": who wrote the last message (the desk's red and green)
    q: str = ""  # full-text search over title and messages
    author: int | None = None
    author_text: str = ""
    created_by: int | None = None
    modified_by: int | None = None
    responsible: int | None = None
    responsible_none: bool = False
    sla: int | None = None
    category: int | None = None
    criticality: int | None = None
    status: int | None = None
    mark: int | None = None
    source: int | None = None
    difficulty: int | None = None
    # The fields above whose filter is "not set" (the desk's "(none)" rows link here): sla, category, ...
    unset: frozenset[str] = frozenset()
    spam: str | None = None
    postponed: bool | None = None
    overdue: bool | None = None
    created_from: object = None
    created_to: object = None
    modified_from: object = None
    modified_to: object = None
    messages_min: int | None = None
    messages_max: int | None = None
    time_spent_min: int | None = None
    time_spent_max: int | None = None
    overdue_min: int | None = None
    auto_close_days_min: int | None = None
    auto_close_days_max: int | None = None
    comment: str = ""
    client_group: int | None = None
    staff_group: int | None = None
    coupon: str = ""
    special: bool | None = None
    ticket_type: str = ""
    tier: str = ""
    queue: bool = False  # "my queue": tickets waiting for the user (tickets.panels.queue_q)
    has_open_children: bool | None = None  # tickets with an open child ticket (issue 18, P2)
    # Tags (issue 18, P4): the names, and whether a ticket has any, all or none of them.
    tag: tuple[str, ...] | list[str] = ()
    tag_mode: str = ""
    # Filters apps above tickets registered (tickets.panels.list_filter_register): name -> value.
    extra: dict[str, str] = dataclasses.field(default_factory=dict)


# The filters that also take "none": tickets without a value.
UNSETTABLE = frozenset({"sla", "category", "criticality", "status", "mark", "source", "difficulty"})


def ticket_list(policy: TicketPolicy, flt: TicketFilter | None = None, sort: str = "") -> QuerySet[Ticket]:
    """Return the tickets the user may see, filtered and sorted, with every row's relations joined.

    The queryset's row count does not change the number of SQL queries (no N+1).
    """
    flt = flt or TicketFilter()
    qs = policy.visible(Ticket.objects.with_relations())
    qs = _apply_filter(qs, flt, policy)
    return _apply_sort(qs, sort, policy)


def _apply_filter(qs: QuerySet[Ticket], f: TicketFilter, policy: TicketPolicy) -> QuerySet[Ticket]:
    exact = {
        "pk": f.id,
        "author_id": f.author,
        "created_by_id": f.created_by,
        "modified_by_id": f.modified_by,
        "sla_id": f.sla,
        "category_id": f.category,
        "criticality_id": f.criticality,
        "status_id": f.status,
        "mark_id": f.mark,
        "source_id": f.source,
    }
    qs = qs.filter(**{k: v for k, v in exact.items() if v is not None})
    qs = qs.filter(**{f"{name}__isnull": True for name in f.unset & UNSETTABLE})
    if f.indicator:
        qs = qs.filter(indicator_q(f.indicator, policy))
    if f.state == "open":
        qs = qs.filter(closed_at__isnull=True)
    elif f.state == "closed":
        qs = qs.filter(closed_at__isnull=False)
    if f.last_by in ("client", "support"):
        qs = qs.filter(last_message_by_support=f.last_by == "support")
    if f.q:
        qs = search_filter(qs, f.q, staff=policy.sees_hidden)
    if f.author_text:
        t = f.author_text
        qs = qs.filter(
            Q(author__username__icontains=t)
            | Q(author__email__icontains=t)
            | Q(author__last_name__icontains=t)
            | Q(author_email__icontains=t)
        )
    if policy.sees_support_view:
        qs = _apply_staff_filter(qs, f)
        if f.queue:
            qs = qs.filter(queue_q(policy.user))
        for name, value in f.extra.items():
            qs = qs.filter(list_filter_q(name, value))
    for field, lo, hi in (
        ("created_at", f.created_from, f.created_to),
        ("modified_at", f.modified_from, f.modified_to),
    ):
        if lo:
            qs = qs.filter(**{f"{field}__gte": lo})
        if hi:
            qs = qs.filter(**{f"{field}__lt": hi})
    return qs


def auto_close_left_q(low: int | None, high: int | None) -> Q:
    """Match tickets whose days left before auto-close lie within [low, high] (F-14).

    Days left = the ticket's auto-close days (or the module default) minus the whole days since
    support's last answer, for tickets auto-close can close: open, support answered last, days > 0.
    Whole days passed lie in [days - high, days - low], so the answer's instant lies in a window per
    number of days: one condition per distinct number in use, no date arithmetic in SQL. Bounds
    beyond a group's own days need no window (and would overflow a date), so they are clipped.
    """
    now = clock.now()
    default_days = options_get().auto_close_days
    candidates = Q(closed_at__isnull=True, last_message_by_support=True, awaits_support=False)
    # Not null: filtered on > 0.
    overrides = cast(
        "set[int]",
        set(
            Ticket.objects.filter(candidates, auto_close_days__gt=0)
            .values_list("auto_close_days", flat=True)
            .distinct()
        ),
    )
    groups = [(Q(auto_close_days__isnull=True), default_days)] + [
        (Q(auto_close_days=days), days) for days in sorted(overrides)
    ]
    matched = Q(pk__in=[])
    for condition, days in groups:
        if not days or (low is not None and low > days):
            continue  # never auto-closes, or cannot have that many days left
        window = Q()
        if high is not None and high < days:  # at least days - high whole days passed
            window &= Q(last_message_at__lte=now - timedelta(days=days - high))
        if low is not None:  # fewer than days - low + 1 whole days passed
            window &= Q(last_message_at__gt=now - timedelta(days=days - low + 1))
        matched |= condition & window
    return candidates & matched


def _apply_staff_filter(qs: QuerySet[Ticket], f: TicketFilter) -> QuerySet[Ticket]:
    """Filters on staff-only attributes (a client's request for them is ignored, never leaked)."""
    if f.tag:
        qs = qs.filter(tags_filter_q(list(f.tag), f.tag_mode or "any"))
    if f.responsible_none:
        qs = qs.filter(responsible__isnull=True)
    elif f.responsible is not None:
        qs = qs.filter(responsible_id=f.responsible)
    if f.difficulty is not None:
        qs = qs.filter(difficulty_id=f.difficulty)
    if f.spam is not None and f.spam in SpamState.values:
        qs = qs.filter(spam=f.spam)
    if f.postponed is not None:
        qs = qs.filter(is_postponed=f.postponed)
    if f.overdue is not None:
        qs = qs.filter(is_overdue=f.overdue)
    if f.special is not None:
        qs = qs.filter(is_special=f.special)
    ranges = (
        ("message_count", f.messages_min, f.messages_max),
        ("time_spent_minutes", f.time_spent_min, f.time_spent_max),
        ("overdue_count", f.overdue_min, None),
    )
    for field, lo, hi in ranges:
        if lo is not None:
            qs = qs.filter(**{f"{field}__gte": lo})
        if hi is not None:
            qs = qs.filter(**{f"{field}__lte": hi})
    if f.auto_close_days_min is not None or f.auto_close_days_max is not None:
        qs = qs.filter(auto_close_left_q(f.auto_close_days_min, f.auto_close_days_max))
    if f.comment:
        qs = qs.filter(admin_comment__icontains=f.comment)
    if f.coupon:
        qs = qs.filter(coupon_code__icontains=f.coupon)
    if f.ticket_type:
        qs = qs.filter(ticket_type=f.ticket_type)
    if f.tier:
        qs = qs.filter(tier=f.tier)
    if f.client_group is not None:
        qs = qs.filter(author__support_memberships__group_id=f.client_group)
    if f.has_open_children:
        qs = qs.filter(open_children_q())
    if f.staff_group is not None:
        qs = qs.filter(responsible__support_memberships__group_id=f.staff_group)
    return qs


def _apply_sort(qs: QuerySet[Ticket], sort: str, policy: TicketPolicy) -> QuerySet[Ticket]:
    key = sort.lstrip("-")
    if key in SORT_FIELDS:
        field = SORT_FIELDS[key]
        desc = sort.startswith("-")
        return qs.order_by(f"-{field}" if desc else field, "-id" if desc else "id")
    return qs.order_by(*(DEFAULT_STAFF_ORDER if policy.sees_support_view else DEFAULT_CLIENT_ORDER))


# -- full-text search ------------------------------------------------------------------------
def search_filter(qs: QuerySet[Ticket], text: str, *, staff: bool) -> QuerySet[Ticket]:
    """Keep tickets whose title or messages match `text`; clients search only what they may see.

    A number also matches the ticket with that id. PostgreSQL uses russian+english full-text
    configurations over a GIN index; embedded SQLite uses FTS5 with prefix matching.
    """
    text = (text or "").strip()
    if not text:
        return qs
    column = "staff_text" if staff else "public_text"
    id_q = Q(pk=int(text)) if text.isdigit() and len(text) < 12 else Q(pk__in=[])
    if connection.vendor == "postgresql":
        tsv = "staff_tsv" if staff else "public_tsv"
        sql = (
            f"SELECT ticket_id FROM tickets_ticketsearchdocument WHERE {tsv} @@ "
            "(websearch_to_tsquery('russian', %s) || websearch_to_tsquery('english', %s))"
        )
        return qs.filter(id_q | Q(pk__in=RawSQL(sql, [text, text])))
    query = fts5_query(text)
    if not query:
        return qs.filter(id_q)
    sql = "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH %s"
    return qs.filter(id_q | Q(pk__in=RawSQL(sql, [f"{{{column}}} : ({query})"])))


# A search's count stops here ("more than 1000"): each match counted costs a read of its document.
SEARCH_COUNT_CAP = 1000


def ticket_search_count(
    policy: TicketPolicy, flt: TicketFilter, limit: int, condition: Q | None = None
) -> int:
    """Count, up to `limit`, the tickets of a searched list (`flt.q` set; `condition`: the inbox's).

    The list's capped count joined every match to every ticket in sight: at 10⁶ tickets a common word
    matches 100,000 documents, and PostgreSQL read them all and hashed the 580,000 tickets a staff member
    sees before counting the first row. Here the matches are read first (the GIN index, then each match's
    row) and counting stops at `limit`: each match is tested against the list's other conditions by its
    ticket's primary key. Elsewhere, and for a ticket number, the list's own capped count.
    """
    text = (flt.q or "").strip()
    rest = ticket_list(policy, dataclasses.replace(flt, q=""))
    if condition is not None:
        rest = rest.filter(condition)
    if connection.vendor != "postgresql" or not text or text.isdigit():
        return search_filter(rest, text, staff=policy.sees_hidden).order_by()[:limit].count()
    tsv = "staff_tsv" if policy.sees_hidden else "public_tsv"
    match = RawSQL(
        f"{tsv} @@ (websearch_to_tsquery('russian', %s) || websearch_to_tsquery('english', %s))",
        [text, text],
        output_field=BooleanField(),
    )
    # A scalar subquery, not EXISTS: PostgreSQL turns an EXISTS into a join and then scans every document
    # in key order, reading each one's text; a scalar subquery stays a probe of the match's ticket.
    ticket = Subquery(rest.order_by().filter(pk=OuterRef("ticket_id")).values("pk")[:1])
    matches = TicketSearchDocument.objects.filter(match).annotate(in_list=ticket)
    return matches.filter(in_list__isnull=False).values("pk")[:limit].count()


def fts5_query(text: str) -> str:
    """Turn user text into a safe FTS5 query: every word quoted, prefix-matched, all required."""
    # Split on every non-alphanumeric character, as the unicode61 tokenizer does when indexing:
    # "error-500" is indexed as "error" and "500", so gluing the parts together would never match.
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    return " AND ".join(f'"{russian_stem(w)}"*' for w in words)


# Inflectional endings of Russian nouns and adjectives, longest first. FTS5 has no Russian stemmer, so the
# embedded mode strips one ending and matches the stem as a prefix: "ошибки" finds "ошибка", "оплаты"
# finds "оплата". PostgreSQL does real morphology with its russian configuration.
_RU_ENDINGS = (
    "ами",
    "ями",
    "ого",
    "его",
    "ому",
    "ему",
    "ыми",
    "ими",
    "иях",
    "ах",
    "ях",
    "ам",
    "ям",
    "ом",
    "ем",
    "ов",
    "ев",
    "ая",
    "яя",
    "ое",
    "ее",
    "ые",
    "ие",
    "ой",
    "ей",
    "ий",
    "ый",
    "ую",
    "юю",
    "а",
    "я",
    "ы",
    "и",
    "у",
    "ю",
    "е",
    "о",
    "ь",
)
_MIN_STEM = 4


def russian_stem(word: str) -> str:
    """Strip one Russian inflectional ending from a Cyrillic word, keeping a stem of at least four letters."""
    lowered = word.lower()
    if not any("а" <= ch <= "я" or ch == "ё" for ch in lowered):
        return word
    for ending in _RU_ENDINGS:
        if lowered.endswith(ending) and len(lowered) - len(ending) >= _MIN_STEM:
            return lowered[: -len(ending)]
    return lowered


# -- one ticket ------------------------------------------------------------------------------
def ticket_get(policy: TicketPolicy, ticket_id: int) -> Ticket:
    """Return a visible ticket with its relations, or raise NotFound."""
    queryset = Ticket.objects.with_relations().select_related("split_from")
    if policy.sees_support_view:
        queryset = tags_annotate(queryset)  # the side panel's tags in the same statement (staff only)
    return policy.get_or_404(ticket_id, queryset)


def message_list(policy: TicketPolicy, ticket: Ticket) -> list[Message]:
    """Return the messages of the ticket the user may see, with authors, files and log events."""
    return list(
        policy.messages(ticket)
        .select_related("author", "posted_by", "edited_by", "source")
        .prefetch_related("attachments", "events", "revisions__edited_by")
        .order_by("number")
    )


def creation_event_get(ticket: Ticket) -> TicketEvent | None:
    """Return the creation event of the ticket's history: why it got its SLA and responsible (F-06, F-10)."""
    return TicketEvent.objects.filter(ticket=ticket, field="created").first()


def presence_list(
    ticket: Ticket, *, minutes: int, exclude: User | None = None
) -> tuple[list[User], list[User]]:
    """Return (who viewed in the last `minutes`, who is answering now) for the ticket page."""
    since = clock.now() - timedelta(minutes=minutes)
    rows = TicketPresence.objects.filter(ticket=ticket, seen_at__gte=since).select_related("user")
    if exclude is not None:
        rows = rows.exclude(user=exclude)
    answering_since = clock.now() - timedelta(minutes=2)
    viewers = [r.user for r in rows]
    answering = [r.user for r in rows if r.answering_at and r.answering_at >= answering_since]
    return viewers, answering


def author_other_tickets(policy: TicketPolicy, ticket: Ticket, limit: int = 10) -> list[Ticket]:
    if ticket.author_id is None:
        return []
    return list(
        policy.visible()
        .filter(author_id=ticket.author_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:limit]
    )


def dictionaries_for_forms(sla: SlaLevel | None = None) -> dict[str, list[DictionaryEntry]]:
    """Return every active dictionary entry grouped by kind; with an SLA, only the entries it allows.

    One query, plus one more when an SLA is given (its chosen categories, criticalities and marks).
    """
    result: dict[str, list[DictionaryEntry]] = {k: [] for k in DictionaryKind.values}
    for entry in DictionaryEntry.objects.filter(active=True).order_by("kind", "sort", "id"):
        result[entry.kind].append(entry)
    if sla is not None:
        for kind, chosen in sla_chosen_entry_ids(sla).items():
            if chosen:
                result[kind] = [e for e in result[kind] if e.pk in chosen]
    return result


# -- entries an SLA allows (F-06: "which categories / criticalities / marks its tickets may use") --
# The dictionaries an SLA level can limit, and its many-to-many field for each.
SLA_LIMITED_KINDS: dict[str, str] = {
    DictionaryKind.CATEGORY: "categories",
    DictionaryKind.CRITICALITY: "criticalities",
    DictionaryKind.MARK: "marks",
}


def _sla_chosen(sla: SlaLevel, kind: str) -> QuerySet:
    """Return the through rows of the entries of `kind` chosen on the SLA (no rows: all are allowed)."""
    through = getattr(SlaLevel, SLA_LIMITED_KINDS[kind]).through
    # Filtered by kind as well: the admin form limits the choices, but nothing else stops a stray entry.
    return through.objects.filter(slalevel_id=sla.pk, dictionaryentry__kind=kind)


def sla_chosen_entry_ids(sla: SlaLevel) -> dict[str, set[int]]:
    """Return, per limited kind, the ids of the entries chosen on the SLA (an empty set: all allowed)."""
    result: dict[str, set[int]] = {kind: set() for kind in SLA_LIMITED_KINDS}
    kinds = list(SLA_LIMITED_KINDS)
    first, *rest = (
        _sla_chosen(sla, kind).values_list("dictionaryentry_id", "dictionaryentry__kind") for kind in kinds
    )
    for entry_id, kind in first.union(*rest, all=True):
        result[kind].add(entry_id)
    return result


def allowed_entries(sla: SlaLevel | None, kind: str) -> QuerySet[DictionaryEntry]:
    """Return the active entries of `kind` that tickets of the SLA may use: all when it chose none."""
    entries = dictionary_list(kind).order_by("sort", "id")
    if sla is None or kind not in SLA_LIMITED_KINDS:
        return entries
    chosen = _sla_chosen(sla, kind)
    return entries.filter(Q(pk__in=chosen.values("dictionaryentry_id")) | ~Exists(chosen))


def sla_allows(sla: SlaLevel | None, entry: DictionaryEntry | None) -> bool:
    """Say whether tickets of the SLA may use the (active) entry; nothing chosen means everything is."""
    if sla is None or entry is None or entry.kind not in SLA_LIMITED_KINDS:
        return True
    chosen = config_cached(f"sla-chosen:{sla.pk}", lambda: sla_chosen_entry_ids(sla))[entry.kind]
    return not chosen or entry.pk in chosen


def author_choices(ticket: Ticket) -> dict[str, list[DictionaryEntry]]:
    """Return the criticalities and marks the ticket's author may pick on the ticket page (F-06, F-22).

    They are the ones the ticket's SLA allows, plus the ticket's current value even when staff set one
    outside them, so that saving the form unchanged keeps it instead of silently picking another.
    """
    allowed = dictionaries_for_forms(sla=ticket.sla)
    result: dict[str, list[DictionaryEntry]] = {}
    for kind, current in (
        (DictionaryKind.CRITICALITY, ticket.criticality),
        (DictionaryKind.MARK, ticket.mark),
    ):
        entries = allowed[kind]
        if current is not None and current not in entries:
            entries = [current, *entries]
        result[kind] = entries
    return result


def custom_values(ticket: Ticket, policy: TicketPolicy) -> list[tuple[str, object]]:
    """Return (label, value) of the ticket's custom fields this user may see."""
    from otklik.tickets.models import CustomField

    values = ticket.custom or {}
    if not values:
        return []
    fields = CustomField.objects.filter(active=True, code__in=list(values))
    if not policy.sees_support_view:
        fields = fields.filter(staff_only=False)
    from django.utils.translation import gettext

    def shown(value: object) -> object:
        return (gettext("yes") if value else gettext("no")) if isinstance(value, bool) else value

    return [(f.name, shown(values[f.code])) for f in fields]


def tickets_stamp() -> str:
    """Return a value that changes whenever any ticket, message, history or SLA mark changes.

    The live regions of the staff pages compare it (in their ETag) before rendering anything: every part is
    the newest entry of an index (a primary key or `ticket_modified`), so an unchanged desk costs one
    statement of a few index probes, whatever the number of tickets.
    """
    parts = [
        f"(SELECT MAX(modified_at) FROM {Ticket._meta.db_table})",
        f"(SELECT MAX(id) FROM {Message._meta.db_table})",
        f"(SELECT MAX(id) FROM {TicketEvent._meta.db_table})",
        f"(SELECT MAX(id) FROM {DomainEvent._meta.db_table})",
        f"(SELECT MAX(id) FROM {TicketDeletion._meta.db_table})",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        row = cursor.fetchone()
    return "|".join(str(value) for value in row)


# The ticket columns whose change the ticket page shows live (the rest change only with these).
LIVE_COLUMNS = (
    "modified_at",
    "message_count",
    "last_message_at",
    "is_overdue",
    "reminder_sent",
    "closed_at",
    "deadline_at",
    "responsible_id",
    "status_id",
)


def ticket_live_stamp(ticket_id: int, *, viewer_id: int, presence_minutes: int) -> str | None:
    """Return what the ticket page's live request compares: the ticket's live columns and who else is here.

    One statement (the ticket joined to its recent presence rows, both by index) and no policy: it only
    decides between "unchanged" (a 304, no content) and rendering, and rendering starts from the policy like
    any read. Plain SQL: this runs on every poll of every open ticket page. None when there is no ticket.
    """
    now = clock.now()
    ticket, presence = Ticket._meta.db_table, TicketPresence._meta.db_table
    columns = ", ".join(f"t.{column}" for column in LIVE_COLUMNS)  # attribute names are the columns here
    sql = (
        f"SELECT {columns}, p.user_id, p.answering_at FROM {ticket} t "
        f"LEFT JOIN {presence} p ON p.ticket_id = t.id AND p.seen_at >= %s AND p.user_id <> %s "
        "WHERE t.id = %s ORDER BY p.user_id"
    )
    since = connection.ops.adapt_datetimefield_value(now - timedelta(minutes=presence_minutes))
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, viewer_id, ticket_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    answering_since = now - timedelta(minutes=2)
    people = []
    for row in rows:
        user_id, answering_at = row[-2], row[-1]
        if user_id is not None:
            answering_at = _aware(answering_at)
            people.append(f"{user_id}{'*' if answering_at and answering_at >= answering_since else ''}")
    return "|".join(str(value) for value in rows[0][: len(LIVE_COLUMNS)]) + "|" + ",".join(people)


def _aware(value):
    """Return a database datetime as an aware one (SQLite may hand back the stored text, naive UTC)."""
    from datetime import UTC, datetime

    from django.utils.dateparse import parse_datetime

    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def ticket_neighbours(policy: TicketPolicy, ticket: Ticket) -> dict[str, int | None]:
    """Return the numbers of the visible tickets just before and after this one (j / k on the page)."""
    visible = policy.visible()
    return {
        "prev": visible.filter(pk__gt=ticket.pk).order_by("pk").values_list("pk", flat=True).first(),
        "next": visible.filter(pk__lt=ticket.pk).order_by("-pk").values_list("pk", flat=True).first(),
    }
