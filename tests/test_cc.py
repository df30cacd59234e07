"""CC (P3): who may copy addresses on a ticket, what is checked, what the history says, who then sees it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from otklik.accounts.models import AccessLevel, Profile, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core.errors import NotFound, PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.tickets import services
from otklik.tickets.models import MessageKind, Ticket, TicketCc, TicketEvent
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.cc import CC_MAX
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SECRET = "internal: the client's contract ends in May"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def cc_of(ticket: Ticket) -> list[str]:
    return sorted(TicketCc.objects.filter(ticket=ticket).values_list("email", flat=True))


# -- adding and removing -------------------------------------------------------------------------------------
def test_cc_add_by_author_normalises_dedupes_and_logs_addresses_only(cast, make_ticket):
    ticket = make_ticket()
    added = services.ticket_cc_add(
        actor=cast.client,
        ticket=ticket,
        emails=[" Anna@Romashka.Example ", "anna@romashka.example", "boris@romashka.example"],
    )
    assert [row.email for row in added] == ["anna@romashka.example", "boris@romashka.example"]
    assert cc_of(ticket) == ["anna@romashka.example", "boris@romashka.example"]
    event = TicketEvent.objects.get(ticket=ticket, field="cc")
    assert event.actor == cast.client
    assert event.new == "anna@romashka.example, boris@romashka.example"
    log = ticket.messages.get(kind=MessageKind.LOG, pk=event.message_id)
    assert log.log_lines == ["CC: — → anna@romashka.example, boris@romashka.example"]


def test_cc_add_again_adds_nothing_and_writes_no_history(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["anna@romashka.example"])
    assert services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["ANNA@romashka.example"]) == []
    assert TicketEvent.objects.filter(ticket=ticket, field="cc").count() == 1


@pytest.mark.parametrize(
    "emails",
    [["not an address"], ["a@b"], [""], ["x" * 250 + "@example.com"], ["a@example.com\nBcc: b@example.com"]],
    ids=["text", "no-dot-domain", "empty", "too-long", "header-injection"],
)
def test_cc_add_invalid_address_is_refused_and_nothing_saved(cast, make_ticket, emails):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as refused:
        services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["ok@example.com", *emails])
    assert "emails" in refused.value.errors
    assert cc_of(ticket) == []


def test_cc_add_no_address_is_refused(cast, make_ticket):
    with pytest.raises(ValidationFailed):
        services.ticket_cc_add(actor=cast.client, ticket=make_ticket(), emails=[])


def test_cc_add_authors_own_address_is_refused(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as refused:
        services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["CLIENT@example.com"])
    assert "author" in refused.value.text()
    assert cc_of(ticket) == []


def test_cc_add_more_than_the_maximum_is_refused(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(
        actor=cast.client, ticket=ticket, emails=[f"p{n}@example.org" for n in range(CC_MAX - 1)]
    )
    with pytest.raises(ValidationFailed):
        services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["x@example.org", "y@example.org"])
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["x@example.org"])
    assert len(cc_of(ticket)) == CC_MAX


def test_cc_add_skip_invalid_keeps_what_fits(cast, make_ticket):
    ticket = make_ticket()
    added = services.ticket_cc_add(
        actor=cast.staff,
        ticket=ticket,
        emails=["bad", "client@example.com", *[f"p{n}@example.org" for n in range(CC_MAX + 5)]],
        skip_invalid=True,
    )
    assert len(added) == CC_MAX and "client@example.com" not in cc_of(ticket)


def test_cc_add_by_staff_who_works_the_ticket_is_allowed(cast, make_ticket):
    ticket = make_ticket(responsible=None)
    services.ticket_cc_add(actor=cast.staff, ticket=ticket, emails=["anna@romashka.example"])
    assert cc_of(ticket) == ["anna@romashka.example"]


@pytest.mark.parametrize("who", ["colleague", "other_client"])
def test_cc_add_by_someone_not_the_author_is_refused(cast, make_ticket, who):
    ticket = make_ticket()
    error = PermissionDenied if who == "colleague" else NotFound
    with pytest.raises(error):
        services.ticket_cc_add(actor=getattr(cast, who), ticket=ticket, emails=["anna@romashka.example"])
    assert cc_of(ticket) == []


def test_cc_add_by_demo_is_read_only(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ReadOnlyAccess):
        services.ticket_cc_add(actor=cast.demo, ticket=ticket, emails=["anna@romashka.example"])


def test_cc_add_on_behalf_of_a_sender_is_only_for_the_mail_principal(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(PermissionDenied):
        services.ticket_cc_add(
            actor=cast.client, ticket=ticket, emails=["a@example.org"], author_address="x@example.org"
        )


def test_cc_add_links_only_an_account_that_confirmed_the_address(cast, make_ticket):
    ticket = make_ticket()
    confirmed = make_user("anna", AccessLevel.CLIENT)
    unconfirmed = make_user("boris", AccessLevel.CLIENT, email_confirmed=False)
    services.ticket_cc_add(
        actor=cast.client,
        ticket=ticket,
        emails=["anna@example.com", "boris@example.com", "nobody@example.com"],
    )
    linked = dict(TicketCc.objects.filter(ticket=ticket).values_list("email", "user_id"))
    assert linked == {"anna@example.com": confirmed.pk, "boris@example.com": None, "nobody@example.com": None}
    assert unconfirmed.pk not in linked.values()


def test_cc_remove_by_author_logs_and_unknown_address_is_not_found(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=["a@example.org", "b@example.org"])
    services.ticket_cc_remove(actor=cast.client, ticket=ticket, email="A@example.org")
    assert cc_of(ticket) == ["b@example.org"]
    last = TicketEvent.objects.filter(ticket=ticket, field="cc").order_by("-id").first()
    assert (last.old, last.new) == ("a@example.org, b@example.org", "b@example.org")
    with pytest.raises(NotFound):
        services.ticket_cc_remove(actor=cast.client, ticket=ticket, email="a@example.org")


def test_cc_remove_by_the_copied_account_itself_is_allowed(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[cast.colleague.email])
    services.ticket_cc_remove(actor=cast.colleague, ticket=ticket, email=cast.colleague.email)
    assert cc_of(ticket) == []


def test_cc_remove_by_another_copied_colleague_is_refused(cast, make_ticket):
    ticket = make_ticket()
    third = make_user("third", AccessLevel.CLIENT)
    support_group_add_member(group=SupportGroup.objects.get(name="Romashka LLC"), user=third, can_view=False)
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[third.email, "a@example.org"])
    with pytest.raises(PermissionDenied):
        services.ticket_cc_remove(actor=third, ticket=ticket, email="a@example.org")


# -- who sees the ticket (security) ---------------------------------------------------------------------------
@pytest.fixture
def outsider_colleague(cast):
    """A client in the author's company without the right to view the group's tickets."""
    user = make_user("anna", AccessLevel.CLIENT)
    support_group_add_member(group=SupportGroup.objects.get(name="Romashka LLC"), user=user, can_view=False)
    return user


def test_cc_user_in_authors_group_sees_the_ticket_in_list_and_page(cast, make_ticket, outsider_colleague):
    ticket = make_ticket()
    policy = TicketPolicy(outsider_colleague)
    assert not policy.can_view(ticket) and ticket not in policy.visible()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[outsider_colleague.email])
    policy = TicketPolicy(outsider_colleague)
    assert policy.can_view(ticket) and list(policy.visible()) == [ticket]
    assert policy.can_post_message(Ticket.objects.get(pk=ticket.pk))
    assert policy.editable_fields(ticket) == frozenset()
    assert not policy.can_close(ticket)


def test_cc_user_outside_authors_groups_does_not_see_the_ticket(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[cast.other_client.email])
    assert TicketCc.objects.get(ticket=ticket).user == cast.other_client
    policy = TicketPolicy(cast.other_client)
    assert not policy.can_view(ticket)
    assert ticket not in policy.visible()
    with pytest.raises(NotFound):
        policy.get_or_404(ticket.pk)


def test_cc_user_leaving_the_authors_group_no_longer_sees_the_ticket(cast, make_ticket, outsider_colleague):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[outsider_colleague.email])
    SupportGroup.objects.get(name="Romashka LLC").memberships.filter(user=outsider_colleague).delete()
    policy = TicketPolicy(outsider_colleague)
    assert not policy.can_view(ticket) and ticket not in policy.visible()


def test_cc_of_an_unconfirmed_address_gives_its_account_nothing(cast, make_ticket):
    ticket = make_ticket()
    user = make_user("anna", AccessLevel.CLIENT, email_confirmed=False)
    support_group_add_member(group=SupportGroup.objects.get(name="Romashka LLC"), user=user, can_view=False)
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[user.email])
    # Confirming it later does not reach back: the copy was an address, not the account.
    Profile.objects.filter(user=user).update(confirmed_email=user.email)
    assert not TicketPolicy(user).can_view(ticket) and ticket not in TicketPolicy(user).visible()


def test_cc_user_never_sees_hidden_messages(cast, make_ticket, outsider_colleague):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[outsider_colleague.email])
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body=SECRET, hidden=True)
    )
    policy = TicketPolicy(outsider_colleague)
    assert policy.can_view(ticket)
    assert not policy.sees_hidden
    assert not any(SECRET in m.body for m in policy.messages(ticket))
    assert all(m.kind in (MessageKind.PUBLIC, MessageKind.NO_STATUS) for m in policy.messages(ticket))


def test_cc_user_may_reply_on_the_web_and_the_message_is_theirs(cast, make_ticket, outsider_colleague):
    ticket = make_ticket()
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[outsider_colleague.email])
    message = services.message_post(
        actor=outsider_colleague, ticket=ticket, draft=services.MessageDraft(body="Same here.")
    )
    assert message.author == outsider_colleague and message.kind == MessageKind.PUBLIC
    assert not message.by_support


def test_staff_copied_on_a_ticket_gain_nothing_by_the_copy(cast, make_ticket):
    """Support sees tickets by its own rules: a copy must never open a ticket (and its hidden notes)."""
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    support_group_add_member(
        group=SupportGroup.objects.get(name="Romashka LLC"), user=cast.staff2, can_view=False
    )
    services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[cast.staff2.email])
    from otklik.tickets.models import ModuleOptions
    from otklik.tickets.services import module_options_ensure

    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(staff_see_unassigned=False)
    policy = TicketPolicy(cast.staff2)
    assert not policy.can_view(ticket) and ticket not in policy.visible()


def test_cc_visibility_is_one_statement_whatever_the_number_of_copies(cast, make_ticket, outsider_colleague):
    tickets = [make_ticket(title=f"T{n}") for n in range(5)]
    for ticket in tickets:
        services.ticket_cc_add(actor=cast.client, ticket=ticket, emails=[outsider_colleague.email])
    policy = TicketPolicy(outsider_colleague)
    policy._client_colleagues  # noqa: B018 - the colleagues are read (and cached) apart
    with CaptureQueriesContext(connection) as queries:
        seen = list(policy.visible().order_by("pk"))
    assert seen == tickets
    assert len(queries.captured_queries) == 1
