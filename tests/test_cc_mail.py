"""CC by mail (P3): a copied address answers under the mail rule; the mailbox option copies a mail's Cc."""

from __future__ import annotations

import pytest
from django.test import override_settings

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.mail.models import AppendSecurity, Mailbox, Outcome
from otklik.mail.parsing import mail_parse
from otklik.mail.services import mail_ingest
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from otklik.tickets import services
from otklik.tickets.models import Channel, MessageKind, Ticket, TicketCc, TicketEvent
from tests.conftest import make_user
from tests.test_mail_ingest import mail

pytestmark = pytest.mark.django_db
PETR = "petr@customer.example"  # the sender of `mail()` by default


def cc_of(ticket_id: int) -> list[str]:
    return sorted(TicketCc.objects.filter(ticket_id=ticket_id).values_list("email", flat=True))


@pytest.fixture
def copying_box(db) -> Mailbox:
    return Mailbox.objects.create(
        code="cc", name="CC", protocol="pipe", username="help@otklik.localhost", cc_from_mail=True
    )


# -- parsing ---------------------------------------------------------------------------------------------------
def test_parse_cc_header_gives_usable_lower_case_addresses_once():
    parsed = mail_parse(
        mail(
            headers={
                "Cc": 'Anna <Anna@Partner.Example>, "Boris, B." <boris@partner.example>, junk, anna@partner.example'
            }
        )
    )
    assert parsed.cc_addresses == ("anna@partner.example", "boris@partner.example")


def test_parse_without_cc_header_gives_none():
    assert mail_parse(mail()).cc_addresses == ()


# -- a copied address answers by mail --------------------------------------------------------------------------
@pytest.fixture
def copied_ticket(cast) -> Ticket:
    ticket = Ticket.objects.get(pk=mail_ingest(mail()).ticket)
    services.ticket_cc_add(actor=cast.admin, ticket=ticket, emails=["anna@partner.example"])
    return ticket


def test_ingest_reply_from_copied_address_is_appended_as_its_public_message(copied_ticket):
    raw = mail(
        sender="Anna <ANNA@partner.example>", subject=f"Re: [TID#{copied_ticket.pk}]", body="Подтверждаю."
    )
    result = mail_ingest(raw)
    assert (result.outcome, result.ticket) == (Outcome.APPENDED, copied_ticket.pk)
    last = copied_ticket.messages.order_by("-number").first()
    assert (last.kind, last.body, last.author, last.author_email) == (
        MessageKind.PUBLIC,
        "Подтверждаю.",
        None,
        "anna@partner.example",
    )
    assert not last.by_support and last.via == Channel.EMAIL


def test_ingest_reply_from_copied_address_mails_the_author_not_the_sender(copied_ticket):
    first = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    mail_ingest(mail(sender="anna@partner.example", subject=f"Re: [TID#{copied_ticket.pk}]", body="Да."))
    author = [
        (m.to, m.cc)
        for m in OutboxMessage.objects.filter(ticket_id=copied_ticket.pk, id__gt=first)
        if m.event == catalog.CHANGED_BY_AUTHOR_FOR_AUTHOR
    ]
    assert author == [([PETR], [])]


def test_ingest_reply_from_removed_copy_opens_a_new_ticket(cast, copied_ticket):
    services.ticket_cc_remove(actor=cast.admin, ticket=copied_ticket, email="anna@partner.example")
    result = mail_ingest(mail(sender="anna@partner.example", subject=f"Re: [TID#{copied_ticket.pk}]"))
    assert result.outcome == Outcome.CREATED and result.ticket != copied_ticket.pk


def test_ingest_reply_from_copy_of_another_ticket_opens_a_new_ticket(cast, copied_ticket):
    other = Ticket.objects.get(pk=mail_ingest(mail(sender="ivan@else.example")).ticket)
    result = mail_ingest(mail(sender="anna@partner.example", subject=f"Re: [TID#{other.pk}]"))
    assert result.outcome == Outcome.CREATED and result.ticket not in (other.pk, copied_ticket.pk)


def test_ingest_reply_from_copied_colleague_account_is_theirs(cast):
    anna = make_user("anna", AccessLevel.CLIENT)
    support_group_add_member(group=SupportGroup.objects.get(name="Romashka LLC"), user=anna, can_view=False)
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="VPN", message="The VPN is down.")
    )
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[anna.email])
    box = Mailbox.objects.create(
        code="strict", name="Strict", protocol="pipe", append_security=AppendSecurity.ADDRESS
    )
    result = mail_ingest(
        mail(sender=anna.email, subject=f"Re: [TID#{ticket.pk}]", body="Me too."), mailbox=box
    )
    assert (result.outcome, result.ticket) == (Outcome.APPENDED, ticket.pk)
    last = ticket.messages.order_by("-number").first()
    assert last.author == anna and last.kind == MessageKind.PUBLIC and not last.by_support


# -- the mailbox option: a mail's Cc becomes the ticket's ------------------------------------------------------
@override_settings(DEFAULT_FROM_EMAIL="Support <support@otklik.localhost>")
def test_ingest_new_mail_with_cc_copies_the_addresses_except_support_and_sender(cast, copying_box):
    raw = mail(
        headers={
            "Cc": "Anna <anna@partner.example>, support@otklik.localhost, HELP@otklik.localhost, "
            f"{PETR}, boris@partner.example"
        }
    )
    result = mail_ingest(raw, mailbox=copying_box)
    assert result.outcome == Outcome.CREATED
    assert cc_of(result.ticket) == ["anna@partner.example", "boris@partner.example"]
    event = TicketEvent.objects.get(ticket_id=result.ticket, field="cc")
    assert (event.actor, event.actor_email, event.via) == (None, PETR, Channel.EMAIL)


def test_ingest_reply_with_cc_adds_the_new_addresses(cast, copying_box):
    ticket_id = mail_ingest(mail(headers={"Cc": "anna@partner.example"}), mailbox=copying_box).ticket
    raw = mail(subject=f"Re: [TID#{ticket_id}]", headers={"Cc": "anna@partner.example, vera@partner.example"})
    assert mail_ingest(raw, mailbox=copying_box).outcome == Outcome.APPENDED
    assert cc_of(ticket_id) == ["anna@partner.example", "vera@partner.example"]


def test_ingest_reply_by_copy_with_author_in_cc_does_not_copy_the_author(cast, copying_box):
    ticket_id = mail_ingest(mail(headers={"Cc": "anna@partner.example"}), mailbox=copying_box).ticket
    raw = mail(sender="anna@partner.example", subject=f"Re: [TID#{ticket_id}]", headers={"Cc": PETR})
    assert mail_ingest(raw, mailbox=copying_box).outcome == Outcome.APPENDED
    assert cc_of(ticket_id) == ["anna@partner.example"]


def test_ingest_cc_option_off_copies_nothing(cast):
    box = Mailbox.objects.create(code="plain", name="Plain", protocol="pipe")
    ticket_id = mail_ingest(mail(headers={"Cc": "anna@partner.example"}), mailbox=box).ticket
    assert cc_of(ticket_id) == []
    # The pipe without a mailbox follows the defaults: off.
    assert cc_of(mail_ingest(mail(headers={"Cc": "anna@partner.example"})).ticket) == []


def test_ingest_cc_over_the_limit_is_cut_and_the_mail_still_taken(cast, copying_box):
    many = ", ".join(f"p{n}@partner.example" for n in range(30))
    result = mail_ingest(mail(headers={"Cc": many}), mailbox=copying_box)
    assert result.outcome == Outcome.CREATED
    assert len(cc_of(result.ticket)) == 20


def test_ingest_automatic_mail_with_cc_copies_nothing(cast, copying_box):
    raw = mail(headers={"Cc": "anna@partner.example", "Auto-Submitted": "auto-replied"})
    assert cc_of(mail_ingest(raw, mailbox=copying_box).ticket) == []


def test_ingest_copied_addresses_get_the_authors_next_mail(cast, copying_box):
    ticket_id = mail_ingest(mail(headers={"Cc": "anna@partner.example"}), mailbox=copying_box).ticket
    ticket = Ticket.objects.get(pk=ticket_id)
    services.message_post(actor=cast.admin, ticket=ticket, draft=services.MessageDraft(body="Готово."))
    rows = OutboxMessage.objects.filter(ticket_id=ticket_id, event=catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR)
    assert [(m.to, m.cc) for m in rows] == [([PETR], ["anna@partner.example"])]
