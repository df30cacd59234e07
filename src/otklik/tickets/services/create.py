"""Create tickets (F-02, F-12, F-13 "on new")."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.core import clock, events
from otklik.core.bulk import insert_rows, pipelined
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.coupons.masks import code_normalize
from otklik.coupons.models import Coupon
from otklik.coupons.services import (
    CouponRefused,
    coupon_check,
    coupon_redeem,
    coupon_refusal_record,
    coupon_use_record,
)
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.dictionaries.selectors import dictionary_default
from otklik.routing.services import ResponsibleChoice, responsible_choose_for_new_ticket
from otklik.sla.models import SlaLevel
from otklik.sla.selectors import SlaChoice, sla_for_new_ticket
from otklik.tickets import files as file_checks
from otklik.tickets.activity import CouponUsed, coupon_used_announce
from otklik.tickets.fields import AUTO_CLOSE_DAYS_MAX, DICTIONARY_FIELDS
from otklik.tickets.history import events_chain
from otklik.tickets.models import Channel, MessageKind, Ticket, TicketEvent
from otklik.tickets.selectors import options_cached, sla_allows
from otklik.tickets.services.access import writer_policy
from otklik.tickets.services.attachments import attachments_store, upload_limits
from otklik.tickets.services.cleaning import (
    body_clean,
    compose_prompts,
    entries_outside_sla,
    entry_clean,
    int_clean,
    minutes_clean,
    sla_clean,
    support_user_clean,
    title_clean,
)
from otklik.tickets.services.derived import new_ticket_derive, search_document_create, timeline_write
from otklik.tickets.services.history import activity_announce, history_actor, message_insert
from otklik.tickets.services.inputs import MailOrigin, StaffFields, TicketDraft

# Why the new ticket got its SLA (F-06), for the creation line of the history.
SLA_REASONS = {
    "explicit": gettext_lazy("chosen by support"),
    "coupon": gettext_lazy("by the coupon"),
    "group": gettext_lazy("by the author's group"),
    "default": gettext_lazy("the default level"),
}


def ticket_create(
    *,
    actor: User,
    draft: TicketDraft,
    staff: StaffFields | None = None,
    origin: MailOrigin | None = None,
    via: str = Channel.WEB,
) -> Ticket:
    """Create a ticket with its first message; staff may fill in staff fields (F-13 "on new").

    The SLA is chosen by F-06's order: staff's explicit `staff.sla`, else the coupon's (`draft.coupon`, or
    `draft.coupon_sla`), else the author's groups, else the default. A client's category and criticality
    must be ones that SLA allows.

    A coupon (F-21) spends one use and marks the ticket special; an unknown, deactivated, not yet active,
    expired or spent one refuses the whole ticket (CouponRefused, a ValidationFailed on "coupon"). The
    refused attempt is logged after the creation's transaction rolled back, so the log line stays; a caller
    whose own enclosing transaction rolls back too (mail processing) logs it again with
    `coupon_refusal_record` once it has.

    `origin` files a mail's ticket (the mail channel or support only): for its registered sender, or for a
    person known only by `origin.author_address` (no account), with the quoted history kept beside the
    first message's text (F-15). The ticket comes back with its first message as `opening_message`.
    """
    try:
        return _ticket_create(actor=actor, draft=draft, staff=staff, origin=origin, via=via)
    except CouponRefused as refused:
        coupon_refusal_record(refused)
        raise


@transaction.atomic
def _ticket_create(
    *, actor: User, draft: TicketDraft, staff: StaffFields | None, origin: MailOrigin | None, via: str
) -> Ticket:
    """Validate and write the new ticket in one transaction (ticket_create's body)."""
    staff = staff or StaffFields()
    # A mail's registered sender is the author the mail principal files for.
    author = staff.author if origin is None or origin.sender is None else origin.sender
    author_address = origin.author_address if origin is not None else ""
    quoted = origin.quoted if origin is not None else ""
    accept_any_file_type = origin.accept_any_file_type if origin is not None else False
    policy = writer_policy(actor)
    if not policy.can_create():
        raise PermissionDenied(_("You are not allowed to create tickets."))
    staff_values = {
        **staff.used(),
        "author": author,
        "author_address": author_address,
        "accept_any_file_type": accept_any_file_type,
        "quoted": quoted,
    }
    if not policy.is_support:
        allowed = policy.create_fields()  # the mail principal's include filing for a sender
        used = sorted(
            k for k, v in staff_values.items() if v not in (None, "", False, 0) and k not in allowed
        )
        if used:
            raise PermissionDenied(
                _("Only support staff may set: %(fields)s.") % {"fields": ", ".join(used)},
                errors={name: [_("Only support staff may set this field.")] for name in used},
            )
    if policy.is_mail_principal and not author_address and (author in (None, "", 0) or author == actor):
        raise PermissionDenied(_("The mail channel files tickets only for the sender of a mail."))
    errors: dict[str, list[str]] = {}

    def collect(fn, *args):
        try:
            return fn(*args)
        except ValidationFailed as exc:
            for k, v in exc.errors.items():
                errors.setdefault(k, []).extend(v)
            return None

    clean_title = collect(title_clean, draft.title)
    body = collect(body_clean, compose_prompts(draft.message, draft.prompts))
    entries = {
        name: collect(entry_clean, value, DICTIONARY_FIELDS[name], name)
        for name, value in (
            ("category", draft.category),
            ("criticality", draft.criticality),
            ("source", staff.source),
            ("status", staff.status),
            ("difficulty", staff.difficulty),
        )
    }
    the_author: User | None = actor
    author_email = ""
    if author_address:
        the_author = None  # known by address only: an anonymous author (F-15)
        author_email = author_address
    elif author not in (None, "", 0):
        the_author = (
            author
            if isinstance(author, User)
            else User.objects.filter(pk=collect(int_clean, author, "author")).first()
        )
        if the_author is None:
            errors.setdefault("author", []).append(_("Choose a valid value."))
    the_responsible = collect(support_user_clean, staff.responsible)
    the_sla = collect(sla_clean, staff.sla)
    minutes: int = collect(minutes_clean, staff.minutes) or 0
    auto_close_days: int | None = None
    if staff.auto_close_days not in (None, ""):
        auto_close_days = collect(int_clean, staff.auto_close_days, "auto_close_days")
        if auto_close_days is not None and not 0 <= auto_close_days <= AUTO_CLOSE_DAYS_MAX:
            errors.setdefault("auto_close_days", []).append(_("Enter a number of days from 0 to 3650."))
    checked_files = (
        collect(
            lambda named: file_checks.check_uploads(
                named, upload_limits(policy), any_type=accept_any_file_type
            ),
            [(f.name, f.fileobj) for f in draft.files],
        )
        or []
    )
    # Anonymous and e-mail authors have no user row: they count as "everyone" for the choice.
    known_author = the_author if isinstance(the_author, User) and the_author.pk else None
    # A coupon is checked now (its SLA limits the choices below) and spent only once all else is valid.
    coupon_code = code_normalize(draft.coupon)
    coupon: Coupon | None = None
    refused: CouponRefused | None = None
    if coupon_code:
        try:
            coupon = coupon_check(code=coupon_code, user=known_author, email=author_email, via=via)
        except CouponRefused as exc:
            refused = exc
            errors.setdefault("coupon", []).extend(exc.errors["coupon"])
    coupon_sla = coupon.sla if coupon is not None else draft.coupon_sla
    choice = sla_for_new_ticket(known_author, explicit=the_sla, coupon_sla=coupon_sla)
    # Only the author's own choices are limited by the SLA; staff filing a ticket may pick any (F-13).
    limited = not (policy.is_support or policy.is_mail_principal)  # the mailbox rule is the admins' choice
    if limited:
        for name, messages in entries_outside_sla(choice.sla, entries).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors=errors) if refused is None else CouponRefused(refused.refusal, errors)
    redemption = (
        coupon_redeem(code=coupon_code, user=known_author, email=author_email, via=via)
        if coupon is not None
        else None
    )

    now = clock.now()
    history = history_actor(policy, actor, author=the_author, address=author_address)
    the_sla = choice.sla
    category_entry = entries["category"] or _default_entry(DictionaryKind.CATEGORY, the_sla, limited)
    criticality_entry = entries["criticality"] or _default_entry(DictionaryKind.CRITICALITY, the_sla, limited)
    routing = responsible_for_new_ticket(
        sla=the_sla,
        category=category_entry,
        criticality=criticality_entry,
        source=entries["source"],
        manual=the_responsible,
    )
    ticket = Ticket(
        title=clean_title,
        author=the_author,
        author_email=author_email or getattr(the_author, "email", "") or "",
        created_by=actor,
        created_via=via,
        source=entries["source"],
        category=category_entry,
        criticality=criticality_entry,
        status=entries["status"] or dictionary_default(DictionaryKind.STATUS),
        difficulty=entries["difficulty"],
        sla=the_sla,
        responsible=routing.user,
        admin_comment=(staff.admin_comment or "").strip(),
        auto_close_days=auto_close_days,
        is_postponed=bool(staff.is_postponed),
        created_at=now,
        modified_at=now,
        modified_by=history.user,
        modified_via=via,
        last_message_at=now,
        ticket_type=(staff.ticket_type or "")[: Ticket._meta.get_field("ticket_type").max_length],
        tier=(staff.tier or "")[: Ticket._meta.get_field("tier").max_length],
        is_special=redemption is not None,
        coupon_code=redemption.coupon.code if redemption is not None else "",
    )
    kind = (
        MessageKind.HIDDEN
        if staff.hidden
        else (MessageKind.NO_STATUS if staff.not_change_status else MessageKind.PUBLIC)
    )
    # The derived state (awaits support, deadline) is known before the row exists: one INSERT.
    sla_steps = new_ticket_derive(ticket, kind=kind, author=the_author, at=now, minutes=minutes)
    events.emit(events.TICKET_PREPARING, ticket)
    # Six INSERTs and the outbox's: queued in PostgreSQL's pipeline, they cost four round trips, not eight.
    with pipelined():
        insert_rows([ticket])
        on_behalf = the_author is not None and the_author != actor
        first = message_insert(
            ticket,
            kind=kind,
            body=body,
            author=the_author,
            author_email=ticket.author_email,
            posted_by=actor if on_behalf else None,
            # The opening message is the client's question, even when staff file it themselves.
            by_support=False,
            via=via,
            minutes=minutes,
            source=entries["source"],
            at=now,
            number=1,
            quoted=quoted,
        )
        attachments_store(first, checked_files)
        # Creation is an event in the history, but not a log line in the discussion.
        creation = TicketEvent(
            ticket=ticket,
            actor=history.user,
            actor_email=history.email,
            at=now,
            via=via,
            field="created",
            **_created_values(ticket, choice, routing),
        )
        events_chain("", [creation])  # a new ticket's history starts here
        insert_rows([creation], returning=False)
        timeline_write(ticket, sla_steps)
        search_document_create(ticket, first)
        # A hidden first message is support's note: the author is not told (F-11 "hide, do not notify").
        activity_announce(
            ticket,
            history.user,
            via,
            created=True,
            message=first,
            notify_author=draft.notify_author and not staff.hidden,
            actor_email=history.email,
        )
    if redemption is not None:
        coupon_use_record(
            redemption=redemption, ticket_id=ticket.pk, user=known_author, email=author_email, via=via
        )
        coupon_used_announce(CouponUsed(ticket=ticket, code=redemption.coupon.code, user=known_author))
    ticket.opening_message = first  # type: ignore[attr-defined]  # for the caller, not a field
    return ticket


def responsible_for_new_ticket(
    *,
    sla: SlaLevel | None,
    category: DictionaryEntry | None = None,
    criticality: DictionaryEntry | None = None,
    source: DictionaryEntry | None = None,
    manual: User | None = None,
) -> ResponsibleChoice:
    """Choose the responsible of a new ticket by the module options' order (otklik.routing decides).

    One query for the options (usually cached per row) on top of routing's own; none when `manual` is set.
    A matching assignment pool (otklik.routing) counts its members' open tickets here when it goes by load.
    """
    if manual is not None:
        return responsible_choose_for_new_ticket(
            order="", default_responsible_id=None, sla=sla, manual=manual
        )
    options = options_cached()
    return responsible_choose_for_new_ticket(
        order=options.responsible_order,
        default_responsible_id=options.default_responsible_id,
        sla=sla,
        category=category,
        criticality=criticality,
        source=source,
        open_load=open_tickets_per_responsible,
    )


def open_tickets_per_responsible(user_ids: Collection[int]) -> dict[int, int]:
    """Count the open tickets each of these people is responsible for (one aggregated query; absent: 0).

    For the least-loaded assignment pools (otklik.routing): a system count, not a user's read.
    """
    rows = (
        Ticket.objects.filter(responsible_id__in=list(user_ids), closed_at__isnull=True)
        .order_by()
        .values("responsible_id")
        .annotate(count=Count("id"))
        .values_list("responsible_id", "count")
    )
    return dict(rows)


def _default_entry(kind: str, sla: SlaLevel | None, limited: bool):
    """Return the dictionary's default entry, unless the author's SLA does not allow it (then none)."""
    default = dictionary_default(kind)
    if limited and not sla_allows(sla, default):
        return None
    return default


def _created_values(ticket: Ticket, choice: SlaChoice, routing: ResponsibleChoice) -> dict:
    """Return the creation event's text (the site's language) and data (both languages, for readers)."""
    both = {}
    for language in ("ru", "en"):
        with translation.override(language):
            both[language] = _created_line(ticket, choice, routing)
    return {"new": both.get(settings.LANGUAGE_CODE[:2], both["ru"]), "data": {"old": None, "new": both}}


def _created_line(ticket: Ticket, choice: SlaChoice, routing: ResponsibleChoice) -> str:
    """Describe the creation for the history: the number, why the SLA and why the responsible (F-06, F-10)."""
    parts = [f"#{ticket.pk}"]
    if choice.sla is not None:
        reason = SLA_REASONS[choice.reason]
        parts.append(_("SLA: %(sla)s (%(reason)s)") % {"sla": choice.sla.name, "reason": reason})
    # With no responsible configured anywhere there is nothing to explain; a skip (or a pool) always is (F-10).
    if routing.decision.explained:
        parts.append(_("Responsible: %(responsible)s") % {"responsible": routing.describe()})
    return "; ".join(parts)
