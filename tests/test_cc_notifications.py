"""CC and followers in the notification rules (P3, F-11): every test asserts the exact recipients.

Copies get the author's mail (public replies, author-visible changes, closing), never hidden content and
never news of their own doing; followers get support's mail as copies, under their own mail switches.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from otklik.accounts.models import AccessLevel, Profile, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.notifications import catalog as c
from otklik.notifications.models import OutboxMessage
from otklik.notifications.services import notification_preferences_save
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions, Ticket
from otklik.tickets.services import module_options_ensure
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
EXT = "anna@partner.example"  # an address without an account
SECRET = "internal: do not tell the client"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def rows(since_id: int, ticket: Ticket, event: str | None = None) -> list[OutboxMessage]:
    qs = OutboxMessage.objects.filter(ticket_id=ticket.pk, id__gt=since_id).order_by("id")
    return list(qs.filter(event=event) if event else qs)


def mark() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def got(since_id: int, ticket: Ticket) -> set[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    return {(m.event, tuple(m.to), tuple(m.cc), tuple(m.bcc)) for m in rows(since_id, ticket)}


@pytest.fixture
def copied(cast):
    """A client of the author's company, copied with their account (no right to view the group's tickets)."""
    user = make_user("boris", AccessLevel.CLIENT)
    support_group_add_member(group=SupportGroup.objects.get(name="Romashka LLC"), user=user, can_view=False)
    return user


@pytest.fixture
def ticket(cast, make_ticket, copied):
    """A ticket with staff responsible (admins not blind-copied), copied to an address and an account."""
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(
        default_responsible=cast.staff, bcc_admins=False
    )
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[EXT, copied.email])
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def team(cast):
    """staff and staff2 in one staff group, so staff2 sees (and may follow) staff's tickets."""
    group = SupportGroup.objects.create(name="L2", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=group, user=cast.staff)
    support_group_add_member(group=group, user=cast.staff2)
    return group


# -- copies get the author's mail ------------------------------------------------------------------------------
def test_cc_public_reply_by_support_mails_author_with_copies(cast, ticket, copied):
    since = mark()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    assert got(since, ticket) == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (cast.client.email,), (EXT, copied.email), ()),
    }


def test_cc_close_by_support_mails_copies(cast, ticket, copied):
    since = mark()
    services.ticket_close(actor=cast.staff, ticket=ticket)
    assert got(since, ticket) == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (cast.client.email,), (EXT, copied.email), ()),
    }


def test_cc_hidden_message_mails_no_copy(cast, ticket, team):
    since = mark()
    services.message_post(
        actor=cast.staff2, ticket=ticket, draft=services.MessageDraft(body=SECRET, hidden=True)
    )
    assert got(since, ticket) == {(c.CHANGED_FOR_SUPPORT, (cast.staff.email,), (), ())}


def test_cc_do_not_notify_author_mails_no_copy(cast, ticket):
    since = mark()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Quiet.", notify_author=False)
    )
    assert got(since, ticket) == set()


def test_cc_staff_only_change_mails_no_copy(cast, ticket):
    since = mark()
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"admin_comment": "VIP"})
    assert got(since, ticket) == {(c.CHANGED_FOR_SUPPORT, (cast.staff.email,), (), ())}


def test_cc_authors_message_mails_author_copy_with_copies_and_responsible(cast, ticket, copied):
    since = mark()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Still broken."))
    assert got(since, ticket) == {
        (c.CHANGED_BY_AUTHOR_FOR_AUTHOR, (cast.client.email,), (EXT, copied.email), ()),
        (c.CHANGED_FOR_SUPPORT, (cast.staff.email,), (), ()),
    }


def test_cc_copied_users_own_message_mails_everyone_but_them(cast, ticket, copied):
    since = mark()
    services.message_post(actor=copied, ticket=ticket, draft=services.MessageDraft(body="Same for me."))
    assert got(since, ticket) == {
        (c.CHANGED_BY_AUTHOR_FOR_AUTHOR, (cast.client.email,), (EXT,), ()),
        (c.CHANGED_FOR_SUPPORT, (cast.staff.email,), (), ()),
    }


def test_cc_copy_in_another_language_gets_its_own_mail(cast, ticket, copied):
    Profile.objects.filter(user=copied).update(language="ru")
    Profile.objects.filter(user=cast.client).update(language="en")
    since = mark()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    mails = {
        (m.language, tuple(m.to), tuple(m.cc)) for m in rows(since, ticket, c.CHANGED_BY_SUPPORT_FOR_AUTHOR)
    }
    # The address without an account is in the site's language (Russian by default), with the account.
    assert mails == {("en", (cast.client.email,), ()), ("ru", (EXT, copied.email), ())}


def test_cc_mail_never_names_the_account_behind_a_copied_address(cast, ticket, copied):
    since = mark()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    (row,) = rows(since, ticket, c.CHANGED_BY_SUPPORT_FOR_AUTHOR)
    assert copied.email not in row.names and EXT not in row.names


def test_cc_removed_address_gets_no_more_mail(cast, ticket, copied):
    services.ticket_cc_remove(actor=cast.client, ticket=ticket, email=EXT)
    since = mark()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    assert got(since, ticket) == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (cast.client.email,), (copied.email,), ())
    }


def test_cc_copy_and_flagged_colleague_with_one_address_get_one_copy(cast, ticket, copied):
    company = SupportGroup.objects.get(name="Romashka LLC")
    support_group_add_member(group=company, user=cast.colleague, mail_update=True)
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[cast.colleague.email])
    since = mark()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    assert got(since, ticket) == {
        (
            c.CHANGED_BY_SUPPORT_FOR_AUTHOR,
            (cast.client.email,),
            (cast.colleague.email, EXT, copied.email),
            (),
        ),
    }


def test_cc_hidden_text_never_reaches_a_copy(cast, ticket):
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body=SECRET, hidden=True)
    )
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Public."))
    services.ticket_close(actor=cast.staff, ticket=ticket)
    to_copies = [m for m in OutboxMessage.objects.filter(ticket_id=ticket.pk) if EXT in m.cc or EXT in m.to]
    assert len(to_copies) == 2
    for row in to_copies:
        assert SECRET not in row.body_text and SECRET not in row.body_html


# -- followers get support's mail ------------------------------------------------------------------------------
def test_follower_gets_support_mail_as_copy_of_clients_message(cast, ticket, team):
    services.ticket_follow(actor=cast.staff2, ticket=ticket)
    since = mark()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert {m for m in got(since, ticket) if m[0] == c.CHANGED_FOR_SUPPORT} == {
        (c.CHANGED_FOR_SUPPORT, (cast.staff.email,), (cast.staff2.email,), ())
    }


def test_follower_is_not_mailed_about_their_own_change(cast, ticket, team):
    services.ticket_follow(actor=cast.staff2, ticket=ticket)
    since = mark()
    services.message_post(
        actor=cast.staff2, ticket=ticket, draft=services.MessageDraft(body=SECRET, hidden=True)
    )
    assert got(since, ticket) == {(c.CHANGED_FOR_SUPPORT, (cast.staff.email,), (), ())}


def test_follower_who_is_responsible_gets_one_copy(cast, ticket):
    services.ticket_follow(actor=cast.staff, ticket=ticket)
    since = mark()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert [(m.to, m.cc) for m in rows(since, ticket, c.CHANGED_FOR_SUPPORT)] == [([cast.staff.email], [])]


def test_follower_without_responsible_is_copied_beside_the_admins(cast, make_ticket, team):
    ticket = make_ticket()
    assert ticket.responsible is None
    services.ticket_follow(actor=cast.staff2, ticket=ticket)
    since = mark()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert [(m.to, m.cc) for m in rows(since, ticket, c.CHANGED_FOR_SUPPORT)] == [
        ([cast.admin.email], [cast.staff2.email])
    ]


def test_follower_who_switched_off_change_mail_gets_none(cast, ticket, team):
    services.ticket_follow(actor=cast.staff2, ticket=ticket)
    notification_preferences_save(
        user=cast.staff2, switches={"ticket_changed": {"mail": False, "in_app": True}}
    )
    since = mark()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert [(m.to, m.cc) for m in rows(since, ticket, c.CHANGED_FOR_SUPPORT)] == [([cast.staff.email], [])]


def test_follower_who_can_no_longer_see_the_ticket_gets_none(cast, ticket, team):
    services.ticket_follow(actor=cast.staff2, ticket=ticket)
    team.memberships.filter(user=cast.staff2).delete()
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(staff_see_unassigned=False)
    since = mark()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert [(m.to, m.cc) for m in rows(since, ticket, c.CHANGED_FOR_SUPPORT)] == [([cast.staff.email], [])]


def test_follower_gets_no_author_mail(cast, ticket, team, copied):
    services.ticket_follow(actor=cast.staff2, ticket=ticket)
    since = mark()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    assert got(since, ticket) == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (cast.client.email,), (EXT, copied.email), ()),
        (c.CHANGED_FOR_SUPPORT, (cast.staff2.email,), (), ()),
    }
