"""Reads for notifications: the people around a ticket, templates, the outbox, the bell, preferences."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext

from otklik.accounts.models import SupportGroup, SupportGroupMember
from otklik.accounts.selectors import admin_user_list, display_name
from otklik.core.config_cache import config_cached
from otklik.notifications import catalog
from otklik.notifications.defaults import default_template
from otklik.notifications.models import (
    InAppNotification,
    MailTemplate,
    NotificationPreference,
    OutboxMessage,
)
from otklik.notifications.recipients import Audience, Person
from otklik.tickets.models import Ticket, TicketCc, TicketFollower
from otklik.tickets.policies import TicketPolicy

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def person_of(user: User | None) -> Person | None:
    """Describe a user as a mail recipient, in their interface language."""
    if user is None or not user.is_active:
        return None
    try:
        profile = user.profile
    except ObjectDoesNotExist:
        profile = None
    language = getattr(profile, "language", None) or settings.LANGUAGE_CODE
    if language not in LANGUAGE_CODES:
        language = settings.LANGUAGE_CODE
    return Person(
        email=user.email or "",
        name=display_name(user),
        language=language,
        user_id=user.pk,
        time_zone=getattr(profile, "time_zone", None) or settings.TIME_ZONE,
    )


def admins() -> tuple[Person, ...]:
    """Return the active support admins as recipients."""

    def load() -> tuple[Person, ...]:
        users = admin_user_list().select_related("profile").order_by("pk")
        return tuple(p for p in (person_of(u) for u in users) if p is not None)

    return config_cached("support-admins", load)


Flagged = tuple[tuple[Person, ...], tuple[Person, ...]]


def flagged_colleagues(
    wanted: Iterable[tuple[int | None, str]],
) -> dict[tuple[int | None, str], Flagged]:
    """For each (user id, group kind), return the colleagues flagged for new-ticket and for update mail.

    Colleagues are the other members of the user's groups of that kind; a client colleague must also be
    allowed to see the group's tickets. Two queries, whatever the number of users.
    """
    wanted = {(uid, kind) for uid, kind in wanted if uid}
    result: dict[tuple[int | None, str], Flagged] = {key: ((), ()) for key in wanted}
    if not wanted:
        return result
    memberships = SupportGroupMember.objects.filter(
        user_id__in={uid for uid, _k in wanted}, group__kind__in={k for _u, k in wanted}
    ).values_list("user_id", "group_id", "group__kind")
    groups_of: dict[tuple[int, str], set[int]] = {}
    for uid, gid, kind in memberships:
        if (uid, kind) in wanted:
            groups_of.setdefault((uid, kind), set()).add(gid)
    all_groups = set().union(*groups_of.values()) if groups_of else set()
    if not all_groups:
        return result
    rows = list(
        SupportGroupMember.objects.filter(group_id__in=all_groups, user__is_active=True)
        .filter(Q(mail_new=True) | Q(mail_update=True))
        .select_related("user__profile", "group")
        .order_by("user_id")
    )
    for key, gids in groups_of.items():
        uid, kind = key
        new: dict[int, Person] = {}
        update: dict[int, Person] = {}
        for row in rows:
            if row.group_id not in gids or row.user_id == uid:
                continue
            if kind == SupportGroup.Kind.CLIENT and not row.can_view:
                continue
            person = person_of(row.user)
            if person is None:
                continue
            if row.mail_new:
                new[row.user_id] = person
            if row.mail_update:
                update[row.user_id] = person
        result[key] = (tuple(new.values()), tuple(update.values()))
    return result


def ticket_audience(
    ticket: Ticket,
    *,
    with_admins: bool = True,
    with_colleagues: bool = True,
    with_copies: bool = True,
    with_followers: bool = True,
    admin_people=None,
) -> Audience:
    """Return the people the notification rules speak of, for one ticket.

    `with_copies=False` / `with_followers=False` skip the reads of the copies (CC) / followers when nobody
    would mail them: a ticket being created has none yet (they are added by later calls), and copies hear
    only what the author hears.
    """
    author = None
    if ticket.author_id:
        author = person_of(ticket.author)
        if author is not None and not author.email and ticket.author_email:
            author = Person(ticket.author_email, author.name, author.language, author.user_id)
    elif ticket.author_email:
        author = Person(email=ticket.author_email, language=settings.LANGUAGE_CODE)
    responsible = person_of(ticket.responsible) if ticket.responsible_id else None
    author_key = (ticket.author_id, SupportGroup.Kind.CLIENT)
    staff_key = (ticket.responsible_id, SupportGroup.Kind.STAFF)
    colleagues = (
        config_cached(
            f"colleagues:{author_key}:{staff_key}", lambda: flagged_colleagues([author_key, staff_key])
        )
        if with_colleagues
        else {}
    )
    author_new, author_update = colleagues.get(author_key, ((), ()))
    staff_new, staff_update = colleagues.get(staff_key, ((), ()))
    # The copies and the followers go with the colleagues: the reminders and overdue mail are the
    # responsible's alone (F-11), and they ask for no colleagues.
    return Audience(
        cc=ticket_cc_people(ticket) if with_colleagues and with_copies else (),
        followers=ticket_follower_people(ticket) if with_colleagues and with_followers else (),
        author=author,
        responsible=responsible,
        admins=(admin_people if admin_people is not None else admins()) if with_admins else (),
        author_colleagues_new=author_new,
        author_colleagues_update=author_update,
        responsible_colleagues_new=staff_new,
        responsible_colleagues_update=staff_update,
    )


def ticket_cc_people(ticket: Ticket) -> tuple[Person, ...]:
    """Return the ticket's copies (P3) as recipients, in the order they were added (one query).

    A copy is mailed at the address copied. An account that had confirmed it gives the mail its language
    and time zone, never its name: the other recipients must not learn that the address has an account.
    """
    rows = TicketCc.objects.filter(ticket_id=ticket.pk).select_related("user__profile").order_by("pk")
    people = []
    for row in rows:
        person = person_of(row.user) if row.user_id else None
        if person is None:
            people.append(Person(email=row.email, language=settings.LANGUAGE_CODE))
        else:
            people.append(Person(row.email, "", person.language, person.user_id, person.time_zone))
    return tuple(people)


def ticket_follower_people(ticket: Ticket) -> tuple[Person, ...]:
    """Return the staff following the ticket (P3) who may still read it whole, as recipients.

    Support mail carries hidden notes: a follower who has since lost the staff level or the sight of the
    ticket is left out (each follower's policy is asked; followers are few).
    """
    rows = TicketFollower.objects.filter(ticket_id=ticket.pk).select_related("user__profile").order_by("pk")
    people = []
    for row in rows:
        policy = TicketPolicy(row.user)
        if not (policy.sees_hidden and policy.can_view(ticket)):
            continue
        person = person_of(row.user)
        if person is not None:
            people.append(person)
    return tuple(people)


def templates_for(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """Return (subject, body) for each (event, language): the admins' version, else the built-in one."""
    saved = config_cached("mail-templates", _saved_templates)
    return {pair: saved.get(pair) or default_template(*pair) for pair in set(pairs)}


def _saved_templates() -> dict[tuple[str, str], tuple[str, str]]:
    rows = MailTemplate.objects.only("event", "language", "subject", "body")
    return {(row.event, row.language): (row.subject, row.body) for row in rows}


def outbox_list(*, state: str | None = None, ticket_id: int | None = None) -> QuerySet[OutboxMessage]:
    """Return outgoing messages, oldest first, optionally of one state or one ticket."""
    qs = OutboxMessage.objects.order_by("id")
    if state:
        qs = qs.filter(state=state)
    if ticket_id is not None:
        qs = qs.filter(ticket_id=ticket_id)
    return qs


# -- preferences (issue 17) ------------------------------------------------------------------------
OptOuts = frozenset[tuple[int, str, str]]


def notification_opt_outs() -> OptOuts:
    """Return every switch somebody turned off, as (user id, topic, channel), from the configuration cache.

    Only switched-off channels are stored as such: the rows are few, and every notification written asks.
    """

    def load() -> OptOuts:
        rows = NotificationPreference.objects.filter(Q(mail=False) | Q(in_app=False)).values_list(
            "user_id", "topic", "mail", "in_app"
        )
        off: set[tuple[int, str, str]] = set()
        for user_id, topic, mail, in_app in rows:
            if not mail:
                off.add((user_id, topic, catalog.CHANNEL_MAIL))
            if not in_app:
                off.add((user_id, topic, catalog.CHANNEL_INAPP))
        return frozenset(off)

    return config_cached("notification-opt-outs", load)


def notification_preferences_get(*, user: User) -> dict[str, dict[str, bool]]:
    """Return {topic: {"mail": bool, "in_app": bool}} for every topic, the defaults where nothing is saved."""
    saved = {
        topic: (mail, in_app)
        for topic, mail, in_app in NotificationPreference.objects.filter(user=user).values_list(
            "topic", "mail", "in_app"
        )
    }
    return {
        topic.key: dict(zip(catalog.CHANNELS, saved.get(topic.key, (True, True)), strict=True))
        for topic in catalog.TOPICS
    }


# -- the bell ----------------------------------------------------------------------------------------
def notifications_unread_count(*, user: User) -> int:
    """Return how many in-app notifications `user` has not read: one query, answered by the index alone."""
    return InAppNotification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def notifications_list(*, user: User, unread_first: bool = False) -> QuerySet[InAppNotification]:
    """Return `user`'s in-app notifications, newest first (the unread ones before the rest if asked)."""
    qs = InAppNotification.objects.filter(recipient_id=user.pk).select_related("actor")
    if unread_first:
        unread = Case(
            When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return qs.order_by(unread, "-id")
    return qs.order_by("-id")


def notification_text(notification: InAppNotification) -> str:
    """Render one notification's line in the active language, e.g. "Elena assigned #123 to you"."""
    data = notification.data or {}
    actor = display_name(notification.actor) if notification.actor_id else data.get("actor", "")
    values = {"actor": actor or gettext("Somebody"), "ticket": f"#{notification.ticket_id}"}
    kind = notification.kind
    if kind == catalog.INAPP_ASSIGNED:
        if data.get("new"):
            return gettext("New ticket %(ticket)s is assigned to you") % values
        if not actor:  # assigned by the system (the support process, routing)
            return gettext("%(ticket)s is assigned to you") % values
        return gettext("%(actor)s assigned %(ticket)s to you") % values
    if kind == catalog.INAPP_CLIENT_REPLIED:
        return gettext("%(actor)s replied on %(ticket)s") % values
    if kind == catalog.INAPP_REMINDER:
        return gettext("Time to answer %(ticket)s") % values
    if kind == catalog.INAPP_OVERDUE:
        return gettext("%(ticket)s is overdue") % values
    if kind == catalog.INAPP_MENTION:
        return gettext("%(actor)s mentioned you in a hidden note on %(ticket)s") % values
    return values["ticket"]
