"""The typed inputs of ticket_create and message_post: frozen values that say who may pass what (issue 13)."""

from __future__ import annotations

import dataclasses

import pytest

from otklik.core.errors import PermissionDenied
from otklik.tickets import services
from otklik.tickets.models import Message, Ticket


def test_ticket_draft_assigned_after_creation_frozen_instance_error():
    draft = services.TicketDraft(title="Cannot log in", message="Error 500")
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.title = "Changed"  # type: ignore[misc]


@pytest.mark.parametrize("cls", [services.StaffFields, services.MailOrigin])
def test_optional_inputs_built_without_arguments_all_unset(cls):
    assert cls() == cls()  # every field has a default: a caller names only what it sets


@pytest.mark.django_db
def test_ticket_create_loose_keywords_type_error(cast):
    with pytest.raises(TypeError):
        services.ticket_create(actor=cast.client, title="Cannot log in", message="Error 500")  # type: ignore[call-arg]
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_message_post_loose_keywords_type_error(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(TypeError):
        services.message_post(actor=cast.client, ticket=ticket, body="More")  # type: ignore[call-arg]
    assert ticket.messages.count() == 1


@pytest.mark.django_db
def test_ticket_create_client_with_mail_origin_permission_denied_on_its_fields(cast):
    with pytest.raises(PermissionDenied) as info:
        services.ticket_create(
            actor=cast.client,
            draft=services.TicketDraft(title="Hi", message="Help"),
            origin=services.MailOrigin(author_address="someone@example.com", quoted="> earlier"),
        )
    assert {"author_address", "accept_any_file_type", "quoted"} <= set(info.value.errors)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_message_post_client_with_mail_origin_permission_denied(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(PermissionDenied) as info:
        services.message_post(
            actor=cast.client,
            ticket=ticket,
            draft=services.MessageDraft(body="More"),
            origin=services.MailOrigin(author_address="someone@example.com"),
        )
    assert "on_behalf" in info.value.errors
    assert Message.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db
def test_ticket_create_staff_with_mail_origin_sender_files_for_the_sender(cast):
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(title="By mail", message="Forwarded"),
        origin=services.MailOrigin(sender=cast.client, quoted="> the first mail"),
    )
    assert ticket.author == cast.client
    assert ticket.opening_message.quoted == "> the first mail"
