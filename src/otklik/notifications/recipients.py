"""Who gets which mail (F-11): pure rules over plain data, no database.

The table of F-11 and the seed's rules, in one place:
- a new ticket mails the author (and client colleagues with "mailed about new tickets"), and support:
  the responsible (and staff colleagues with the flag), or every support admin when nobody is responsible;
- a change by support mails the author when the author can see it (not for a hidden message, and not when
  staff ticked "do not notify author"); a change by the author side mails the author a copy;
- any change mails support: the responsible (and staff colleagues with "mailed about updates"), or every
  admin when nobody is responsible; a new responsible is the responsible, so they hear of it;
- support mail carries a blind copy to the support admins (module option, on by default);
- reminder: the responsible, or the admins; overdue: the responsible, with the admins copied; coupon used:
  the admins;
- a move of the support process (F-30): the members of the role that must act next, and at once the
  members of the roles the move alerts ("@admins": the support admins);
- the ticket's copies (CC, P3) get the author's mail as copies, whoever's change it tells of; the
  followers (staff, P3) get support's mail as copies, without being responsible.
Nobody is mailed about their own change, except the author's copy. Each person gets one copy of a mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from otklik.notifications import catalog as c


@dataclass(frozen=True)
class Person:
    """Somebody mail can go to: a user, or just an address (an e-mail author without an account)."""

    email: str
    name: str = ""
    language: str = "ru"
    user_id: int | None = None
    time_zone: str = "Europe/Moscow"

    @property
    def key(self) -> str:
        return f"u{self.user_id}" if self.user_id is not None else f"e{self.email.lower()}"


@dataclass(frozen=True)
class Audience:
    """The people around one ticket, as the rules need them."""

    author: Person | None = None
    responsible: Person | None = None
    admins: tuple[Person, ...] = ()
    author_colleagues_new: tuple[Person, ...] = ()
    author_colleagues_update: tuple[Person, ...] = ()
    responsible_colleagues_new: tuple[Person, ...] = ()
    responsible_colleagues_update: tuple[Person, ...] = ()
    cc: tuple[Person, ...] = ()  # the addresses copied on the ticket (P3)
    followers: tuple[Person, ...] = ()  # staff following the ticket who may still see it (P3)


@dataclass(frozen=True)
class Mailing:
    """One mail of one event to its recipients, all in `language`."""

    event: str
    to: tuple[Person, ...]
    cc: tuple[Person, ...] = ()
    bcc: tuple[Person, ...] = ()
    language: str = field(default="")
    time_zone: str = field(default="")


def _support_mailing(
    event: str,
    audience: Audience,
    colleagues: tuple[Person, ...],
    *,
    bcc_admins: bool,
) -> Mailing:
    copies = (*colleagues, *audience.followers)
    if audience.responsible is not None:
        return Mailing(event, (audience.responsible,), copies, audience.admins if bcc_admins else ())
    return Mailing(event, audience.admins, audience.followers)


def mailings_for_activity(
    audience: Audience,
    *,
    actor_id: int | None,
    by_support: bool,
    created: bool,
    author_visible: bool,
    notify_author: bool,
    bcc_admins: bool = True,
    actor_email: str = "",
) -> list[Mailing]:
    """Return the mailings one ticket activity causes (before the split by language).

    `actor_email` names an actor known by address only (a copied address answering by mail): like any
    actor, it is not mailed about its own message.
    """
    mailings: list[Mailing] = []
    author = audience.author
    # The copies hear what the author hears, except of their own doing.
    cc = tuple(
        p
        for p in audience.cc
        if not (actor_id is not None and p.user_id == actor_id)
        and not (actor_email and p.email.lower() == actor_email.lower())
    )
    if created:
        if author is not None and notify_author:
            mailings.append(Mailing(c.NEW_FOR_AUTHOR, (author,), (*audience.author_colleagues_new, *cc)))
        support = _support_mailing(
            c.NEW_FOR_SUPPORT, audience, audience.responsible_colleagues_new, bcc_admins=bcc_admins
        )
    else:
        if author is not None and author_visible:
            if by_support:
                if notify_author and author.user_id != actor_id:
                    mailings.append(
                        Mailing(
                            c.CHANGED_BY_SUPPORT_FOR_AUTHOR,
                            (author,),
                            (*audience.author_colleagues_update, *cc),
                        )
                    )
            else:
                mailings.append(Mailing(c.CHANGED_BY_AUTHOR_FOR_AUTHOR, (author,), cc))
        support = _support_mailing(
            c.CHANGED_FOR_SUPPORT, audience, audience.responsible_colleagues_update, bcc_admins=bcc_admins
        )
    # The author's copy of their own change is the one mail about one's own doing.
    mailings.append(_without(support, actor_id))
    return [m for m in (_deduplicated(m) for m in mailings) if m.to or m.cc or m.bcc]


def mailings_for_reminder(audience: Audience) -> list[Mailing]:
    """Return the reminder mailing: the responsible, or the admins when nobody is responsible."""
    to = (audience.responsible,) if audience.responsible else audience.admins
    return [m for m in [_deduplicated(Mailing(c.REMINDER, to))] if m.to]


def mailings_for_overdue(audience: Audience, *, notify_admins: bool = True) -> list[Mailing]:
    """Return the overdue mailing: the responsible with the admins copied (or the admins alone)."""
    if audience.responsible is None:
        mailing = Mailing(c.OVERDUE, audience.admins)
    else:
        mailing = Mailing(c.OVERDUE, (audience.responsible,), audience.admins if notify_admins else ())
    return [m for m in [_deduplicated(mailing)] if m.to]


def mailings_for_coupon(audience: Audience) -> list[Mailing]:
    """Return the "coupon used" mailing to the admins."""
    return [m for m in [_deduplicated(Mailing(c.COUPON_USED, audience.admins))] if m.to]


def mailings_for_process_move(
    *, turn: Iterable[Person], alerted: Iterable[Person], actor_id: int | None
) -> list[Mailing]:
    """Return the mail of one move of the support process (F-30, F-11 workflow events).

    The members of the role that must act next hear that it is their turn; the members of the roles the
    move alerts (an accident: the IT operators and the support admins) get an alert, unless they are
    already told it is their turn. Nobody is mailed about their own move.
    """
    told = _deduplicated(_without(Mailing(c.PROCESS_TURN, tuple(turn)), actor_id))
    keys = {p.key for p in told.to}
    alert = _deduplicated(
        _without(Mailing(c.PROCESS_ALERT, tuple(p for p in alerted if p.key not in keys)), actor_id)
    )
    return [m for m in (told, alert) if m.to]


def _without(mailing: Mailing, user_id: int | None) -> Mailing:
    if user_id is None:
        return mailing

    def keep(people: tuple[Person, ...]) -> tuple[Person, ...]:
        return tuple(p for p in people if p.user_id != user_id)

    return Mailing(mailing.event, keep(mailing.to), keep(mailing.cc), keep(mailing.bcc))


def _deduplicated(mailing: Mailing) -> Mailing:
    """Give each person (and each address) one copy: to beats cc beats bcc; drop people without address."""
    seen: set[str] = set()

    def first(people: Iterable[Person]) -> tuple[Person, ...]:
        kept = []
        for person in people:
            if not person.email:
                continue
            keys = {person.key, f"e{person.email.lower()}"}
            if keys & seen:
                continue
            seen.update(keys)
            kept.append(person)
        return tuple(kept)

    to = first(mailing.to)
    cc = first(mailing.cc)
    bcc = first(mailing.bcc)
    return Mailing(mailing.event, to, cc, bcc)


def split_by_language(mailing: Mailing) -> list[Mailing]:
    """Split a mailing so each mail is written in its recipients' language and time zone (F-11).

    A group with only copies gets them as its To (a mail needs an addressee; the copies are colleagues or
    support admins, who may see the ticket anyway).
    """
    groups: list[tuple[str, str]] = []
    for person in (*mailing.to, *mailing.cc, *mailing.bcc):
        group = (person.language, person.time_zone)
        if group not in groups:
            groups.append(group)
    result = []
    for language, zone in groups:

        def of(people: tuple[Person, ...]) -> tuple[Person, ...]:
            return tuple(p for p in people if (p.language, p.time_zone) == (language, zone))  # noqa: B023

        to, cc, bcc = of(mailing.to), of(mailing.cc), of(mailing.bcc)
        if not to:
            to, cc, bcc = cc + bcc, (), ()
        result.append(Mailing(mailing.event, to, cc, bcc, language, zone))
    return result
