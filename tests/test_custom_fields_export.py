"""Custom ticket fields, the XLSX/CSV exports and the dictionaries' configuration rules."""

import io
import re
import zipfile

import pytest
from django.urls import reverse

from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.core.xlsx import write_xlsx
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.tickets import services
from otklik.tickets.models import CustomField, TicketEvent


@pytest.fixture
def fields(db):
    return {
        "contract": CustomField.objects.create(
            code="contract", name_ru="Договор", name_en="Contract", staff_only=False
        ),
        "budget": CustomField.objects.create(
            code="budget", name_ru="Бюджет", name_en="Budget", kind=CustomField.Kind.NUMBER
        ),
        "due": CustomField.objects.create(
            code="due", name_ru="Срок", name_en="Due", kind=CustomField.Kind.DATE
        ),
    }


def test_custom_fields_staff_sets_values_logged_per_field(cast, make_ticket, fields):
    ticket = make_ticket()
    services.ticket_update(
        actor=cast.staff, ticket=ticket, changes={"custom": {"contract": "A-17", "budget": "12"}}
    )
    ticket.refresh_from_db()
    assert ticket.custom == {"contract": "A-17", "budget": 12}
    logged = set(TicketEvent.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert {"custom:contract", "custom:budget"} <= logged


def test_custom_fields_bad_number_or_unknown_code_refused(cast, make_ticket, fields):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"custom": {"budget": "a lot"}})
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"custom": {"nope": "x"}})
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"custom": {"due": "31.12.2026"}})
    ticket.refresh_from_db()
    assert ticket.custom == {}


def test_custom_fields_client_cannot_set(cast, make_ticket, fields):
    ticket = make_ticket()
    with pytest.raises(PermissionDenied):
        services.ticket_update(actor=cast.client, ticket=ticket, changes={"custom": {"contract": "X"}})


def test_custom_fields_client_page_shows_only_public_fields(client, cast, make_ticket, fields):
    ticket = make_ticket()
    services.ticket_update(
        actor=cast.staff, ticket=ticket, changes={"custom": {"contract": "A-17", "budget": 99}}
    )
    client.force_login(cast.client)
    html = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert "A-17" in html and "Договор" in html
    assert "Бюджет" not in html


def test_custom_fields_staff_page_form_saves_changed_value(client, cast, make_ticket, fields):
    ticket = make_ticket()
    client.force_login(cast.staff)
    page = client.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert 'name="attr-custom__contract"' in page
    data = {
        "attr-title": ticket.title,
        "attr-category": ticket.category_id,
        "attr-criticality": ticket.criticality_id,
        "attr-status": ticket.status_id,
        "attr-custom__contract": "B-2",
        "attr-custom__due": "2026-12-31",
    }
    client.post(reverse("tickets:staff_update", args=[ticket.pk]), data)
    ticket.refresh_from_db()
    assert ticket.custom == {"contract": "B-2", "due": "2026-12-31"}


def _sheet_cells(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "xl/workbook.xml" in zf.namelist()
        xml = zf.read("xl/worksheets/sheet1.xml").decode()
    return re.findall(r"<t xml:space=\"preserve\">(.*?)</t>|<v>(.*?)</v>", xml)


def test_write_xlsx_escapes_text_and_keeps_numbers():
    buffer = io.BytesIO()
    write_xlsx(buffer, [["id", "title"], [1, "Ошибка <b> & \x01"]])
    cells = _sheet_cells(buffer.getvalue())
    assert ("id", "") in cells and ("", "1") in cells
    assert ("Ошибка &lt;b&gt; &amp; ", "") in cells


def test_staff_list_export_xlsx_contains_filtered_tickets(client, cast, make_ticket):
    make_ticket(title="Платёж не прошёл")
    make_ticket(title="Delivery is late")
    client.force_login(cast.admin)
    response = client.get(reverse("tickets:staff_list"), {"q": "Delivery", "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    cells = [t for t, _v in _sheet_cells(b"".join(response.streaming_content))]
    assert "Delivery is late" in cells and "Платёж не прошёл" not in cells


def test_dictionary_entry_clean_rejects_bad_code_and_second_default(db):
    entry = DictionaryEntry(kind=DictionaryKind.CRITICALITY, name_ru="Х", name_en="X", code="bad code!")
    with pytest.raises(Exception) as exc:
        entry.full_clean()
    assert "code" in exc.value.message_dict
    entry = DictionaryEntry(
        kind=DictionaryKind.CRITICALITY, name_ru="Х", name_en="X", code="x", is_default=True
    )
    with pytest.raises(Exception) as exc:
        entry.full_clean()
    assert "is_default" in exc.value.message_dict


def test_dictionary_admin_delete_in_use_deactivates(client, cast, make_ticket):
    ticket = make_ticket()
    entry = ticket.category
    client.force_login(cast.admin)
    url = reverse("admin:dictionaries_dictionaryentry_delete", args=[entry.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.active is False


def test_history_csv_staff_gets_every_change_demo_refused(client, cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Renamed ticket"})
    url = reverse("tickets:staff_history", args=[ticket.pk])
    client.force_login(cast.staff)
    text = client.get(url).content.decode("utf-8-sig")
    assert "Renamed ticket" in text and "Cannot log in" in text
    client.force_login(cast.demo)
    response = client.get(url)
    assert response.status_code == 302
    assert "Renamed ticket" not in response.content.decode()
