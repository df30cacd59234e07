"""Ticket services (F-02, F-12, F-13): create, split, delete, through the services, no HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from otklik.core import clock
from otklik.core.errors import PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets import services
from otklik.tickets.models import (
    Attachment,
    Message,
    MessageKind,
    ModuleOptions,
    Ticket,
    TicketEvent,
    TicketSearchDocument,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services import module_options_ensure
from tests.conftest import ticket_inputs, upload
from tests.helpers import fresh
from tests.samples import log_bytes, pdf_bytes, png_bytes

T0 = dt.datetime(2025, 3, 3, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def read(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as fh:
        return fh.read()


# -- create ----------------------------------------------------------------------------------------
def test_ticket_create_client_defaults_from_dictionaries_and_waits_for_support(cast):
    with clock.frozen(T0):
        ticket = services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title="  Cannot   log in ", message="Error 500")
        )
    ticket = fresh(ticket)
    assert ticket.title == "Cannot log in"
    assert (ticket.category.code, ticket.criticality.code, ticket.status.code) == (
        "errors",
        "middle",
        "accepted",
    )
    assert ticket.author == cast.client and ticket.created_by == cast.client
    assert ticket.author_email == cast.client.email
    assert ticket.awaits_support is True and ticket.closed_at is None
    assert (
        ticket.created_at == ticket.modified_at == ticket.last_message_at == ticket.deadline_source_at == T0
    )
    assert ticket.message_count == 1 and ticket.last_message_by == cast.client
    first = ticket.messages.get()
    assert (first.number, first.kind, first.body, first.by_support) == (
        1,
        MessageKind.PUBLIC,
        "Error 500",
        False,
    )
    assert TicketEvent.objects.filter(ticket=ticket, field="created", actor=cast.client).exists()


def test_ticket_create_staff_for_client_author_is_client_created_by_staff(cast):
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(title="Phoned in", message="The client cannot pay"),
        staff=services.StaffFields(author=cast.client, source=entry("source", "phone")),
    )
    assert ticket.author == cast.client and ticket.created_by == cast.staff
    first = ticket.messages.get(number=1)
    assert first.author == cast.client and first.posted_by == cast.staff and first.by_support is False
    assert fresh(ticket).awaits_support is True
    assert TicketPolicy(cast.client).can_view(ticket)


def test_ticket_create_prompts_appended_in_regulation_order_unanswered_omitted(cast):
    ticket = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(
            title="Export fails",
            message="The export stops.",
            prompts={"saw": "Traceback: KeyError 'sku'", "looked": "FAQ, forum", "did": "", "expected": "  "},
        ),
    )
    body = ticket.messages.get(number=1).body
    assert body.startswith("The export stops.")
    assert body.index("FAQ, forum") < body.index("KeyError 'sku'")
    assert body.count("[b]") == 2


def test_ticket_create_only_prompts_without_message_accepted(cast):
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="x", message="", prompts={"saw": "blank page"})
    )
    assert "blank page" in ticket.messages.get(number=1).body


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"title": "", "message": "x"}, {"title"}),
        ({"title": "x" * 256, "message": "x"}, {"title"}),
        ({"title": "x", "message": "   "}, {"message"}),
        ({"title": "", "message": ""}, {"title", "message"}),
        ({"title": "x", "message": "y", "category": 424242}, {"category"}),
        ({"title": "x", "message": "y", "category": "__criticality__"}, {"category"}),
    ],
)
def test_ticket_create_bad_input_validation_failed_keyed_by_field_nothing_saved(cast, kwargs, fields):
    if kwargs.get("category") == "__criticality__":
        kwargs = {**kwargs, "category": entry("criticality", "high")}
    with pytest.raises(ValidationFailed) as info:
        services.ticket_create(actor=cast.client, **ticket_inputs(**kwargs))
    assert set(info.value.errors) == fields
    assert not Ticket.objects.exists() and not Message.objects.exists()


def test_ticket_create_staff_auto_close_days_out_of_range_validation_failed(cast):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_create(
            actor=cast.staff,
            draft=services.TicketDraft(title="x", message="y"),
            staff=services.StaffFields(auto_close_days=4000),
        )
    assert "auto_close_days" in info.value.errors


def test_ticket_create_module_default_responsible_used_when_staff(cast):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=cast.staff2)
    ticket = services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="x", message="y"))
    assert ticket.responsible == cast.staff2


def test_ticket_create_module_default_responsible_without_staff_rights_skipped(cast):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=cast.colleague)
    ticket = services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="x", message="y"))
    assert ticket.responsible is None


def test_ticket_create_category_responsible_used(cast):
    payment = entry("category", "payment")
    DictionaryEntry.objects.filter(pk=payment.pk).update(responsible=cast.staff)
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="x", message="y", category=payment.pk)
    )
    assert ticket.responsible == cast.staff


def test_ticket_create_with_files_stores_attachments_on_first_message(cast):
    ticket = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(
            title="x",
            message="see files",
            files=[upload("screen.png", png_bytes()), upload("server.log", log_bytes())],
        ),
    )
    rows = list(ticket.attachments.order_by("name").values_list("name", "content_type", "message__number"))
    assert rows == [("screen.png", "image/png", 1), ("server.log", "text/plain", 1)]


def test_ticket_create_with_bad_file_saves_nothing(cast):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_create(
            actor=cast.client,
            draft=services.TicketDraft(title="x", message="y", files=[upload("a.png", b"")]),
        )
    assert "files" in info.value.errors
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


# -- split -----------------------------------------------------------------------------------------
@pytest.fixture
def two_problems(cast):
    """A client's ticket whose second message raises another problem, with two files."""
    with clock.frozen(T0) as c:
        ticket = services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title="Login fails", message="Cannot log in")
        )
        c.advance(minutes=5)
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Please send a screenshot")
        )
        c.advance(minutes=5)
        second = services.message_post(
            actor=cast.client,
            ticket=fresh(ticket),
            draft=services.MessageDraft(
                body="Also: the invoice PDF has a wrong VAT number",
                files=[upload("login.png", png_bytes(8, 8)), upload("invoice.pdf", pdf_bytes("VAT 20%"))],
            ),
        )
    return ticket, second


def test_ticket_split_copies_message_into_new_ticket_for_same_author(cast, two_problems):
    ticket, second = two_problems
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        new = services.ticket_split(
            actor=cast.staff, ticket=ticket, message=second, title="Wrong VAT on invoice"
        )
    new = fresh(new)
    assert new.pk != ticket.pk and new.split_from_id == ticket.pk
    assert new.title == "Wrong VAT on invoice"
    assert new.author == cast.client and new.created_by == cast.staff
    copy = new.messages.get(number=1)
    assert copy.body == second.body and copy.author == cast.client and copy.kind == MessageKind.PUBLIC
    assert copy.created_at == second.created_at
    assert Message.objects.filter(pk=second.pk, ticket=ticket).exists(), "the original message stays"
    assert new.awaits_support is True
    assert TicketPolicy(cast.client).can_view(new)


def test_ticket_split_default_title_names_the_original(cast, two_problems):
    ticket, second = two_problems
    new = services.ticket_split(actor=cast.staff, ticket=ticket, message=second)
    assert new.title.startswith("Login fails") and new.title != "Login fails"


def test_ticket_split_chosen_attachments_copied_as_new_files_with_same_bytes(cast, two_problems):
    ticket, second = two_problems
    pdf = second.attachments.get(name="invoice.pdf")
    png = second.attachments.get(name="login.png")
    new = services.ticket_split(actor=cast.staff, ticket=ticket, message=second, attachment_ids=[pdf.pk])
    copies = list(Attachment.objects.filter(ticket=new))
    assert len(copies) == 1
    copy = copies[0]
    assert copy.pk != pdf.pk and copy.file.name != pdf.file.name
    assert copy.message.ticket_id == new.pk and copy.message.number == 1
    assert (copy.name, copy.size, copy.content_type, copy.sha256) == (
        pdf.name,
        pdf.size,
        pdf.content_type,
        pdf.sha256,
    )
    data = read(copy)
    assert data == read(pdf) == pdf_bytes("VAT 20%")
    assert hashlib.sha256(data).hexdigest() == copy.sha256
    # The original keeps both of its files.
    assert set(Attachment.objects.filter(ticket=ticket).values_list("pk", flat=True)) == {pdf.pk, png.pk}


def test_ticket_split_no_attachments_chosen_copies_none(cast, two_problems):
    ticket, second = two_problems
    new = services.ticket_split(actor=cast.staff, ticket=ticket, message=second)
    assert not Attachment.objects.filter(ticket=new).exists()


def test_ticket_split_both_tickets_get_visible_cross_reference_and_log_line(cast, two_problems):
    ticket, second = two_problems
    new = services.ticket_split(actor=cast.admin, ticket=ticket, message=second)
    for here, there in ((ticket, new), (new, ticket)):
        notes = [m for m in TicketPolicy(cast.client).messages(here) if m.kind == MessageKind.NO_STATUS]
        assert len(notes) == 1 and f"#{there.pk}" in notes[0].body, f"note on #{here.pk}"
        assert notes[0].by_support is True and notes[0].author == cast.admin
        logs = here.messages.filter(kind=MessageKind.LOG)
        assert any(f"#{there.pk}" in log.body for log in logs)
        event = TicketEvent.objects.get(ticket=here, field="split")
        assert event.actor == cast.admin and f"#{there.pk}" in event.new
    assert f"#{second.number}" in ticket.messages.filter(kind=MessageKind.NO_STATUS).get().body


def test_ticket_split_note_does_not_answer_the_original(cast, two_problems):
    ticket, second = two_problems
    before = fresh(ticket)
    assert before.awaits_support is True
    services.ticket_split(actor=cast.staff, ticket=ticket, message=second)
    after = fresh(ticket)
    assert after.awaits_support is True
    assert after.last_message_by_support is False
    assert after.deadline_source_at == before.deadline_source_at


def test_ticket_split_new_ticket_is_searchable_by_copied_text(cast, two_problems):
    ticket, second = two_problems
    new = services.ticket_split(actor=cast.staff, ticket=ticket, message=second)
    assert "VAT" in TicketSearchDocument.objects.get(ticket=new).public_text


def test_ticket_split_message_of_another_ticket_refused(cast, two_problems, make_ticket):
    ticket, _second = two_problems
    other = make_ticket(title="Other")
    foreign = other.messages.get(number=1)
    tickets_before = Ticket.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.ticket_split(actor=cast.staff, ticket=ticket, message=foreign)
    assert "message" in info.value.errors
    assert Ticket.objects.count() == tickets_before


def test_ticket_split_log_message_refused(cast, two_problems):
    ticket, _second = two_problems
    services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"title": "Renamed"})
    log = ticket.messages.filter(kind=MessageKind.LOG).first()
    with pytest.raises(ValidationFailed):
        services.ticket_split(actor=cast.staff, ticket=ticket, message=log)


def test_ticket_split_attachment_of_another_message_refused(cast, two_problems):
    ticket, second = two_problems
    first = ticket.messages.get(number=1)
    foreign_file = second.attachments.first()
    tickets_before = Ticket.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.ticket_split(
            actor=cast.staff, ticket=ticket, message=first, attachment_ids=[foreign_file.pk]
        )
    assert "attachments" in info.value.errors
    assert Ticket.objects.count() == tickets_before


@pytest.mark.parametrize(("who", "error"), [("client", PermissionDenied), ("demo", ReadOnlyAccess)])
def test_ticket_split_client_or_demo_refused(cast, two_problems, who, error):
    ticket, second = two_problems
    with pytest.raises(error):
        services.ticket_split(actor=getattr(cast, who), ticket=ticket, message=second)
    assert Ticket.objects.count() == 1


# -- delete (admin only; files go after commit) -------------------------------------------------------
def test_ticket_delete_admin_removes_messages_attachments_and_files_on_commit(
    cast, two_problems, django_capture_on_commit_callbacks
):
    ticket, second = two_problems
    files = [(a.file.storage, a.file.name) for a in Attachment.objects.filter(ticket=ticket)]
    assert len(files) == 2 and all(storage.exists(name) for storage, name in files)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_delete(actor=cast.admin, ticket=fresh(ticket))
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert not Message.objects.filter(ticket_id=ticket.pk).exists()
    assert not Attachment.objects.filter(ticket_id=ticket.pk).exists()
    assert not TicketEvent.objects.filter(ticket_id=ticket.pk).exists()
    assert not TicketSearchDocument.objects.filter(ticket_id=ticket.pk).exists()
    assert not any(storage.exists(name) for storage, name in files)


def test_ticket_delete_files_stay_until_commit(cast, two_problems, django_capture_on_commit_callbacks):
    ticket, _second = two_problems
    files = [(a.file.storage, a.file.name) for a in Attachment.objects.filter(ticket=ticket)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.ticket_delete(actor=cast.admin, ticket=fresh(ticket))
    assert callbacks, "file deletion must be deferred to commit"
    assert all(storage.exists(name) for storage, name in files)


def test_ticket_delete_split_source_keeps_the_split_ticket(
    cast, two_problems, django_capture_on_commit_callbacks
):
    ticket, second = two_problems
    pdf = second.attachments.get(name="invoice.pdf")
    new = services.ticket_split(actor=cast.staff, ticket=ticket, message=second, attachment_ids=[pdf.pk])
    copy = Attachment.objects.get(ticket=new)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_delete(actor=cast.admin, ticket=fresh(ticket))
    new = fresh(new)
    assert new.split_from is None
    assert read(Attachment.objects.get(pk=copy.pk)) == pdf_bytes("VAT 20%")


@pytest.mark.parametrize("who", ["staff", "client"])
def test_ticket_delete_non_admin_permission_denied_nothing_removed(cast, two_problems, who):
    ticket, _second = two_problems
    with pytest.raises(PermissionDenied):
        services.ticket_delete(actor=getattr(cast, who), ticket=fresh(ticket))
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert Attachment.objects.filter(ticket=ticket).count() == 2


# -- SLA change recomputes the derived state ---------------------------------------------------------
def test_ticket_update_sla_from_creation_moves_clock_source_to_creation(cast, make_ticket):
    from otklik.sla.models import SlaLevel

    strict = SlaLevel.objects.create(
        name="Strict", response_time=60, response_unit="minutes", deadline_from_creation=True
    )
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(hours=1)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
        reply = c.advance(hours=1)
        services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Not enough")
        )
        assert fresh(ticket).deadline_source_at == reply
        c.advance(hours=1)
        services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"sla": strict})
    t = fresh(ticket)
    assert t.sla == strict and t.deadline_source_at == T0
    assert TicketEvent.objects.filter(ticket=ticket, field="sla", new="Strict").exists()


def test_posting_appends_to_the_search_text_exactly_as_a_rebuild_would(cast, make_ticket):
    ticket = make_ticket(message="Первый вопрос клиента")
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Ответ поддержки")
    )
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Внутренняя заметка", hidden=True)
    )
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Без смены статуса", not_change_status=True),
    )
    ticket = services.ticket_update(
        actor=cast.staff, ticket=ticket, changes={"admin_comment": "x"}
    )  # a log line
    services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Уточнение клиента")
    )
    appended = TicketSearchDocument.objects.get(ticket=ticket)

    services.search_document_refresh(ticket)
    rebuilt = TicketSearchDocument.objects.get(ticket=ticket)

    assert (appended.public_text, appended.staff_text) == (rebuilt.public_text, rebuilt.staff_text)
    assert "Внутренняя заметка" in rebuilt.staff_text and "Внутренняя заметка" not in rebuilt.public_text
    assert rebuilt.public_text.endswith("Уточнение клиента") and "Без смены статуса" in rebuilt.public_text


def test_a_reply_writes_only_the_derived_and_touched_columns(cast, make_ticket):
    """A reply must not write back columns another writer may have changed meanwhile (e.g. the title)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket = make_ticket()
    with CaptureQueriesContext(connection) as queries:
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Ответ"))
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "tickets_ticket"')]
    assert len(updates) == 1
    assert '"title"' not in updates[0] and '"status_id"' not in updates[0] and '"modified_at"' in updates[0]
    ticket.refresh_from_db()
    assert ticket.last_message_by_support and not ticket.awaits_support and ticket.modified_by == cast.staff
