"""Write notifications into the outbox and under the bell, in the transaction of the change they tell about.

Every function here only writes rows; mail delivery happens after commit (`delivery`, `tasks`). A change
that rolls back takes its mail and its in-app notifications with it; a committed change always has them.
Each person's switches (`NotificationPreference`, issue 17) leave them out of either channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from otklik.accounts.selectors import display_name
from otklik.core import clock
from otklik.core.bulk import insert_rows
from otklik.core.config_cache import config_cached, config_rows_changed
from otklik.core.errors import ValidationFailed
from otklik.notifications import catalog
from otklik.notifications.models import (
    InAppNotification,
    MailTemplate,
    NotificationPreference,
    OutboxMessage,
    OutboxState,
)
from otklik.notifications.recipients import (
    Audience,
    Mailing,
    Person,
    mailings_for_activity,
    mailings_for_coupon,
    mailings_for_overdue,
    mailings_for_process_move,
    mailings_for_reminder,
    split_by_language,
)
from otklik.notifications.rendering import (
    new_message_id,
    render,
    template_problem,
    thread_root_id,
    ticket_context,
)
from otklik.notifications.selectors import (
    admins,
    notification_opt_outs,
    person_of,
    templates_for,
    ticket_audience,
)
from otklik.tickets.activity import Change, TicketActivity
from otklik.tickets.fields import PROCESS_FIELDS
from otklik.tickets.models import MessageKind, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import options_cached
from otklik.workflow.selectors import role_labels, role_members
from otklik.workflow.services import ProcessMoved

log = logging.getLogger(__name__)
ContextBuilder = Callable[[str], dict[str, str]]
# The SLA job's auto-close, told like a change by support (the other batch events are catalog events).
AUTO_CLOSED = "auto_closed"


def ticket_activity_notify(activity: TicketActivity) -> list[OutboxMessage]:
    """Queue the mail one ticket activity causes (the listener of `ticket.activity`)."""
    if (
        activity.changes
        and not activity.created
        and activity.message is None
        and all(change.field in PROCESS_FIELDS for change in activity.changes)
    ):
        return []  # a process move's bookkeeping: `process_moved_notify` tells whoever must act next
    ticket = activity.ticket
    actor = activity.actor
    message = activity.message
    if message is not None and message.posted_by_id is not None and not activity.created:
        # Typed by someone else for its author (support on the phone, the mail principal): the message is
        # the author's words, and the rules speak of who wrote them.
        by_support = message.by_support
        actor_id = message.author_id
        # A sender known by address only (a copied address answering by mail, P3) is the actor too.
        actor_email = message.author_email if message.author_id is None else ""
    else:
        # No actor is the system (support's side), unless the actor is a sender known by address only.
        by_support = (actor is None and not activity.actor_email) or (
            actor is not None and TicketPolicy(actor).is_support
        )
        actor_id = actor.pk if actor is not None else None
        actor_email = activity.actor_email
    options = options_cached()
    mailings = mailings_for_activity(
        ticket_audience(
            ticket,
            # What the author is not told, the copies are not either (recipients.mailings_for_activity).
            with_copies=not activity.created and activity.author_visible,
            with_followers=not activity.created,
        ),
        actor_id=actor_id,
        by_support=by_support,
        created=activity.created,
        author_visible=activity.created or activity.author_visible,
        notify_author=activity.notify_author,
        bcc_admins=options.bcc_admins,
        actor_email=actor_email,
    )

    memo: dict = {}

    def context(event: str) -> dict[str, str]:
        return ticket_context(
            ticket,
            event=event,
            actor=actor,
            actor_email=activity.actor_email,
            message=activity.message,
            changes=activity.changes,
            memo=memo,
        )

    return outbox_write(mailings, ticket_id=ticket.pk, context=context)


def account_mail_notify(*, event: str, user, email: str, context: dict[str, str]) -> list[OutboxMessage]:
    """Queue one account mail (catalog.ACCOUNT_EVENTS) to `email`, in the user's language."""
    person = person_of(user)
    if person is None or not email:
        return []
    person = Person(email, person.name, person.language, person.user_id, person.time_zone)
    values = {"site_name": settings.OTKLIK_SITE_NAME, "username": user.get_username(), "email": email}
    values.update(context)
    return outbox_write([Mailing(event, (person,))], ticket_id=None, context=lambda _event: values)


def coupon_used_notify(*, ticket: Ticket, coupon: str, actor=None) -> list[OutboxMessage]:
    """Queue the "coupon used" mail to the support admins (F-11, for F-21's coupons)."""
    coupon = (coupon or "").strip()
    if not coupon:
        raise ValidationFailed(translation.gettext("Enter the coupon's code."), field="coupon")
    mailings = mailings_for_coupon(Audience(admins=admins()))
    return outbox_write(
        mailings,
        ticket_id=ticket.pk,
        context=lambda event: ticket_context(ticket, event=event, actor=actor, coupon=coupon),
    )


# The pseudo-role of a definition's "alert" action that means the support admins.
ADMINS_ROLE = "@admins"


def process_moved_notify(moved: ProcessMoved) -> list[OutboxMessage]:
    """Queue the mail of one move of the support process (the listener of `process.moved`).

    The role that must act next hears it is their turn; the roles the move alerts hear it at once.
    A move into a final state names no role: nobody in the process is told (the author hears of the
    close through the ticket's own mail).
    """
    turn = _role_people(moved.role) if moved.role else ()
    alerted = tuple(person for role in dict.fromkeys(moved.alerted) for person in _role_people(role))
    mailings = mailings_for_process_move(
        turn=turn, alerted=alerted, actor_id=moved.actor.pk if moved.actor is not None else None
    )
    if not mailings:
        return []
    ticket = moved.ticket
    memo: dict = {}

    def context(event: str) -> dict[str, str]:
        language = translation.get_language()
        values = ticket_context(ticket, event=event, actor=moved.actor, memo=memo)
        values.update(process_context(moved, language))
        return values

    return outbox_write(mailings, ticket_id=ticket.pk, context=context)


def _role_people(role: str) -> tuple[Person, ...]:
    """Return the people of a role, from the configuration cache (roles, users and profiles are
    configuration: a change to any of them forgets it)."""
    if role == ADMINS_ROLE:
        return admins()

    def load() -> tuple[Person, ...]:
        users = role_members(role).select_related("profile")
        return tuple(p for p in (person_of(u) for u in users) if p is not None)

    return config_cached(f"process-role-people:{role}", load)


def process_context(moved: ProcessMoved, language: str | None) -> dict[str, str]:
    """Return the support process placeholders of one move, in `language`."""
    process, move = moved.process, moved.move
    step = process.transition(move.source, move.transition) if move.transition else None
    state = process.state(move.target)
    if move.transition == "reopen":
        move_name = translation.gettext("reopened")
    else:
        move_name = step.name.get(language) if step else move.transition
    return {
        "process_move": move_name,
        "process_state": state.name.get(language) if state else move.target,
        "process_role": role_labels(language).get(moved.role, moved.role) if moved.role else "",
        "process_comment": move.comment,
    }


def sla_batch_notify(event: str, ticket_ids: Sequence[int], *, chunk: int = 500) -> int:
    """Queue reminder, overdue or auto-close mail for tickets the SLA job marked in one tick."""
    options = options_cached()
    admin_people = admins()
    written = 0
    for start in range(0, len(ticket_ids), chunk):
        ids = ticket_ids[start : start + chunk]
        tickets = Ticket.objects.filter(pk__in=ids).select_related(
            "author__profile", "responsible__profile", "status", "category", "criticality", "sla"
        )
        for ticket in tickets:
            audience = ticket_audience(
                ticket, admin_people=admin_people, with_colleagues=event == AUTO_CLOSED
            )
            if event == catalog.REMINDER:
                mailings = mailings_for_reminder(audience)
            elif event == catalog.OVERDUE:
                mailings = mailings_for_overdue(audience)
            else:  # closed by the system: the author and support hear of it like of support's change
                mailings = mailings_for_activity(
                    audience,
                    actor_id=None,
                    by_support=True,
                    created=False,
                    author_visible=True,
                    notify_author=True,
                    bcc_admins=options.bcc_admins,
                )
            closed = event == AUTO_CLOSED

            # Built per mailing, under its recipients' language, like every other placeholder.
            def context(ev: str, t: Ticket = ticket, closed: bool = closed) -> dict[str, str]:
                return ticket_context(t, event=ev, changes=_closed_change() if closed else ())

            written += len(outbox_write(mailings, ticket_id=ticket.pk, context=context))
    return written


def _closed_change() -> tuple[Change, ...]:
    """Describe the auto-close as the history does, in the active (the recipient's) language."""
    return (Change("closed", translation.gettext("no"), translation.gettext("yes")),)


def outbox_write(
    mailings: Iterable[Mailing], *, ticket_id: int | None, context: ContextBuilder
) -> list[OutboxMessage]:
    """Render each mailing in its recipients' language and write it to the outbox; deliver after commit."""
    split = [part for mailing in _without_muted(mailings) for part in split_by_language(mailing)]
    if not split:
        return []
    templates = templates_for({(m.event, m.language) for m in split})
    now = clock.now()
    references = thread_root_id(ticket_id) if ticket_id is not None else ""
    rows = []
    for mailing in split:
        with translation.override(mailing.language), timezone.override(mailing.time_zone or None):
            subject, body = templates[(mailing.event, mailing.language)]
            rendered = render(subject, body, context(mailing.event), ticket_id)
        rows.append(
            OutboxMessage(
                event=mailing.event,
                ticket_id=ticket_id,
                language=mailing.language,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=_addresses(mailing.to),
                cc=_addresses(mailing.cc),
                bcc=_addresses(mailing.bcc),
                names=_names(mailing),
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                message_id=new_message_id(ticket_id),
                references=references,
                created_at=now,
                next_attempt_at=now,
            )
        )
    insert_rows(rows)
    _deliver_after_commit([row.pk for row in rows])
    return rows


def _without_muted(mailings: Iterable[Mailing]) -> list[Mailing]:
    """Leave out the users who switched off the mail of a mailing's topic (issue 17); copies may then
    become the addressees (`split_by_language`), as when nobody is responsible."""
    mailings = list(mailings)
    if not any(m.event in catalog.TOPIC_OF_EVENT for m in mailings):
        return mailings  # account mail and the author's essential mail: nobody can switch them off
    off = notification_opt_outs()
    if not off:
        return mailings
    result = []
    for mailing in mailings:
        topic = catalog.TOPIC_OF_EVENT.get(mailing.event)
        if topic is None:
            result.append(mailing)
            continue

        def keep(people: tuple[Person, ...], topic: str = topic) -> tuple[Person, ...]:
            return tuple(
                p for p in people if p.user_id is None or (p.user_id, topic, catalog.CHANNEL_MAIL) not in off
            )

        result.append(
            Mailing(
                mailing.event,
                keep(mailing.to),
                keep(mailing.cc),
                keep(mailing.bcc),
                mailing.language,
                mailing.time_zone,
            )
        )
    return result


def _addresses(people: tuple[Person, ...]) -> list[str]:
    return [p.email for p in people]


def _names(mailing: Mailing) -> dict[str, str]:
    return {p.email: p.name for p in (*mailing.to, *mailing.cc) if p.name}


def _deliver_after_commit(ids: list[int]) -> None:
    """Ask a worker for a delivery once the rows are committed; the sweep covers a lost request."""
    if not ids:
        return

    def enqueue() -> None:
        from otklik.notifications.tasks import delivery_request

        try:
            delivery_request()
        except Exception:  # the queue is down: the rows wait for the periodic sweep
            log.warning("could not queue delivery of outbox rows %s; the sweep will send them", ids)

    transaction.on_commit(enqueue)


@transaction.atomic
def outbox_retry(*, ids: Iterable[int]) -> int:
    """Put failed (or waiting) messages back in line for delivery now, with a fresh set of attempts."""
    ids = [int(i) for i in ids]
    now = clock.now()
    count = OutboxMessage.objects.filter(
        pk__in=ids, state__in=[OutboxState.FAILED, OutboxState.PENDING]
    ).update(state=OutboxState.PENDING, next_attempt_at=now, lease_until=None, claim="", attempts=0)
    if count:
        _deliver_after_commit(ids)
    return count


@transaction.atomic
def mail_template_save(*, actor, event: str, language: str, subject: str, body: str) -> MailTemplate:
    """Save the admins' subject and text for one event and language (checked as the edit page checks)."""
    if event not in catalog.EVENT_LABELS:
        raise ValidationFailed(translation.gettext("Unknown event."), field="event")
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(translation.gettext("Unknown language."), field="language")
    errors: dict[str, list[str]] = {}
    if not subject.strip():
        errors["subject"] = [translation.gettext("Enter the subject.")]
    elif "\n" in subject or "\r" in subject:
        errors["subject"] = [translation.gettext("The subject is one line.")]
    for field, source in (("subject", subject), ("body", body)):
        problem = None if field in errors else template_problem(source, language)
        if problem:
            errors[field] = [problem]
    if errors:
        raise ValidationFailed(errors=errors)
    template, _created = MailTemplate.objects.update_or_create(
        event=event, language=language, defaults={"subject": subject, "body": body, "updated_by": actor}
    )
    return template


@transaction.atomic
def mail_template_reset(*, event: str, language: str) -> bool:
    """Drop the saved text of one event and language so the built-in one applies; False if none was saved."""
    deleted, _by_model = MailTemplate.objects.filter(event=event, language=language).delete()
    return bool(deleted)


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next attempt: 30 s, doubling, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# -- in-app notifications (issue 17) ----------------------------------------------------------------
# "@login" in a hidden note: a login's characters (Django's: letters, digits and @ . + - _), not preceded
# by a word character (an e-mail address is no mention); a trailing full stop or dash is punctuation.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]{1,150})")
MENTIONS_MAX = 20
# How long the bell keeps what was read, and what nobody ever read (the daily prune).
READ_KEEP_DAYS = 30
UNREAD_KEEP_DAYS = 365


def mentioned_usernames(text: str) -> list[str]:
    """Return the logins mentioned as @login in `text`, in order, each once (at most MENTIONS_MAX)."""
    names: dict[str, None] = {}
    for match in MENTION.finditer(text or ""):
        name = match.group(1).rstrip(".-@+")
        if name:
            names.setdefault(name, None)
    return list(names)[:MENTIONS_MAX]


def inapp_activity_notify(activity: TicketActivity) -> list[InAppNotification]:
    """Write the in-app notifications one ticket activity causes (a listener of `ticket.activity`).

    The responsible hears that a ticket is assigned to them (not when they took it themselves) and that
    the client side wrote; staff who may see the ticket hear that a hidden note mentions them.
    """
    ticket = activity.ticket
    actor = activity.actor
    actor_id = actor.pk if actor is not None else None
    message = activity.message
    wanted: dict[tuple[int, str], None] = {}
    responsible_id = ticket.responsible_id
    if responsible_id and responsible_id != actor_id:
        if activity.created or any(change.field == "responsible" for change in activity.changes):
            wanted[(responsible_id, catalog.INAPP_ASSIGNED)] = None
        elif (
            message is not None
            and message.is_client_visible
            and not message.by_support
            and message.author_id != responsible_id
        ):
            wanted[(responsible_id, catalog.INAPP_CLIENT_REPLIED)] = None
    if message is not None and message.kind == MessageKind.HIDDEN:
        for user_id in _mentioned_staff(message.body, ticket, exclude=actor_id):
            wanted[(user_id, catalog.INAPP_MENTION)] = None
    if not wanted:
        return []
    responsible = ticket.responsible if responsible_id else None
    if responsible is not None and not responsible.is_active:
        wanted = {key: None for key in wanted if key[0] != responsible_id}
    data: dict[str, Any] = {
        "title": ticket.title[:200],
        "actor": display_name(actor) if actor else activity.actor_email,
    }
    if activity.created:
        data["new"] = True
    if message is not None:
        data["message"] = message.number
    return _inapp_write([(user_id, kind, ticket.pk, data) for user_id, kind in wanted], actor_id=actor_id)


def _mentioned_staff(text: str, ticket: Ticket, *, exclude: int | None) -> list[int]:
    """Return the ids of the active users a hidden note mentions who may read it on this ticket.

    A client (even the author), demo access and staff who cannot see the ticket are left out: a hidden
    note must not reach them by the bell. Unknown logins are ignored.
    """
    names = mentioned_usernames(text)
    if not names:
        return []
    users = User.objects.filter(username__in=names, is_active=True).exclude(pk=exclude or 0).order_by("pk")
    result = []
    for user in users:
        policy = TicketPolicy(user)
        if policy.sees_hidden and policy.can_view(ticket):
            result.append(user.pk)
    return result


def inapp_sla_notify(kind: str, ticket_ids: Sequence[int], *, chunk: int = 500) -> int:
    """Tell each responsible of the tickets the SLA job marked that a reminder or overdue is due."""
    written = 0
    for start in range(0, len(ticket_ids), chunk):
        rows = Ticket.objects.filter(
            pk__in=ticket_ids[start : start + chunk], responsible__is_active=True
        ).values_list("pk", "responsible_id", "title")
        written += len(
            _inapp_write([(uid, kind, pk, {"title": title[:200]}) for pk, uid, title in rows], actor_id=None)
        )
    return written


def _inapp_write(
    wanted: Sequence[tuple[int, str, int, dict]], *, actor_id: int | None
) -> list[InAppNotification]:
    """Insert the (recipient, kind, ticket, data) lines whose recipient kept the in-app switch on."""
    off = notification_opt_outs() if wanted else frozenset()
    now = clock.now()
    rows = [
        InAppNotification(
            recipient_id=user_id, kind=kind, ticket_id=ticket_id, actor_id=actor_id, data=data, created_at=now
        )
        for user_id, kind, ticket_id, data in wanted
        if (user_id, catalog.TOPIC_OF_INAPP_KIND[kind], catalog.CHANNEL_INAPP) not in off
    ]
    insert_rows(rows)
    return rows


@transaction.atomic
def notification_open(*, user: User, notification_id: int) -> InAppNotification | None:
    """Mark one of `user`'s notifications read and return it (None when it is not theirs)."""
    notification = (
        InAppNotification.objects.filter(pk=notification_id, recipient_id=user.pk)
        .only("pk", "ticket_id", "read_at")
        .first()
    )
    if notification is not None and notification.read_at is None:
        notification.read_at = clock.now()
        InAppNotification.objects.filter(pk=notification.pk).update(read_at=notification.read_at)
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; return how many."""
    return InAppNotification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(
        read_at=clock.now()
    )


def notifications_mark_read_for_ticket(*, user: User, ticket_id: int) -> int:
    """Mark `user`'s unread notifications about one ticket read (its staff page was opened); return how many.

    The ticket page calls it on every view: one indexed SELECT answers "nothing to do" without taking
    SQLite's write lock (IMMEDIATE transactions), the UPDATE runs only when there is something to mark.
    """
    if not user.is_authenticated:
        return 0
    unread = InAppNotification.objects.filter(recipient_id=user.pk, read_at__isnull=True, ticket_id=ticket_id)
    ids = list(unread.values_list("pk", flat=True)[:1000])
    if not ids:
        return 0
    with transaction.atomic():
        return InAppNotification.objects.filter(pk__in=ids, read_at__isnull=True).update(read_at=clock.now())


@transaction.atomic
def notifications_prune(*, read_days: int = READ_KEEP_DAYS, unread_days: int = UNREAD_KEEP_DAYS) -> int:
    """Delete read notifications older than `read_days` and any older than `unread_days`; idempotent."""
    now = clock.now()
    old = Q(created_at__lt=now - timedelta(days=read_days), read_at__isnull=False) | Q(
        created_at__lt=now - timedelta(days=unread_days)
    )
    deleted, _by_model = InAppNotification.objects.filter(old).delete()
    return deleted


@transaction.atomic
def notification_preferences_save(*, user: User, switches: dict[str, dict[str, bool]]) -> None:
    """Save `user`'s switches ({topic: {"mail": bool, "in_app": bool}}); a topic left out keeps its row.

    A topic back at the defaults loses its row, so the table holds only what somebody changed. Topics and
    channels the topic does not have are refused.
    """
    for key, channels in switches.items():
        topic = catalog.TOPIC_BY_KEY.get(key)
        if topic is None:
            raise ValidationFailed(translation.gettext("Unknown topic."), field=key)
        mail = bool(channels.get(catalog.CHANNEL_MAIL, True)) or not topic.has_mail
        in_app = bool(channels.get(catalog.CHANNEL_INAPP, True)) or not topic.has_inapp
        if mail and in_app:
            NotificationPreference.objects.filter(user=user, topic=key).delete()
        else:
            NotificationPreference.objects.update_or_create(
                user=user, topic=key, defaults={"mail": mail, "in_app": in_app}
            )
    config_rows_changed(NotificationPreference)  # the opt-outs are cached; a bulk delete sends no signal
