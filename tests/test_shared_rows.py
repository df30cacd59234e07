"""Rows built once for a module (tests/shared_rows.py): each test starts from them and leaves them as built."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage

from otklik.tickets import services
from otklik.tickets.models import Attachment, Ticket
from tests.conftest import cast_create, upload
from tests.helpers import png_1x1
from tests.shared_rows import rows_for_module


def build():
    cast = cast_create()
    ticket = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(title="Shared", message="Built once", files=[upload("a.png", png_1x1())]),
    )
    return cast, ticket


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    yield from rows_for_module(django_db_blocker, tmp_path_factory, build)


@pytest.fixture
def world(shared, db, settings):
    return shared.for_test(settings)


# The two tests below run in this order (file order) and the second checks what the first changed.
def test_shared_rows_a_test_changes_rows_and_objects(world):
    cast, ticket = world
    Ticket.objects.filter(pk=ticket.pk).update(title="Changed")
    ticket.title = "Changed in memory"
    User.objects.create(username="extra")
    services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="Second", message="More"))
    assert Ticket.objects.count() == 2


def test_shared_rows_the_next_test_sees_them_as_built(world):
    cast, ticket = world
    assert ticket.title == "Shared"
    assert Ticket.objects.get().title == "Shared"
    assert not User.objects.filter(username="extra").exists()
    assert User.objects.get(pk=cast.client.pk).username == "client"


def test_shared_rows_files_built_with_the_rows_are_readable(world):
    _cast, ticket = world
    attachment = Attachment.objects.get(message__ticket=ticket)
    with default_storage.open(attachment.file.name) as stored:
        assert stored.read() == png_1x1()


def test_shared_rows_copies_are_not_the_built_objects(shared, world):
    assert world[1] is not shared.value[1]
    assert world[1].pk == shared.value[1].pk
