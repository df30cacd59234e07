"""The web pages as users see them (F-12 web channel, F-14 staff workspace, F-02 presence and split).

Quick registration, the new-ticket form with the regulation's prompts and a real screenshot, the BMP
refusal that loses nothing typed, the staff list's filters, sorting, paging, empty states, CSV export and
saved filters, the language switch, what the staff and client ticket pages show, presence, message
history and split. Everything goes through Django's test client, as a browser would.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from otklik.accounts.models import AccessLevel, Profile
from otklik.accounts.roles import levels_of
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets import services
from otklik.tickets.loglines import field_label
from otklik.tickets.models import Message, MessageKind, SavedFilter, Ticket
from otklik.tickets.views.staff import EXPORT_COLUMNS
from tests.conftest import logged_in, upload
from tests.samples import bmp_bytes


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def png_image(width: int = 8, height: int = 6) -> bytes:
    """Build a minimal valid PNG (signature, IHDR, one deflated IDAT, IEND; correct CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes((40 * y % 256, 90, 200)) * width for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def listed_ids(response) -> list[int]:
    return [t.pk for t, _indicator in response.context["rows"]]


def presence_block(html: str, css_class: str = "presence") -> str:
    match = re.search(rf'<p class="{css_class}"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no presence line on the page"
    return match.group(1)


# -- quick registration (F-12) --------------------------------------------------------------------
def test_register_valid_form_logs_in_and_lands_on_new_ticket(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get(reverse("accounts:register")).status_code == 200
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "first_name": "Nina",
            "last_name": "Orlova",
            "password": "correct-Horse-42",
            "password2": "correct-Horse-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:client_new")
    page = client.get(response["Location"])
    assert page.status_code == 200
    user = User.objects.get(username="newbie")
    assert page.context["user"] == user and page.wsgi_request.user.is_authenticated
    assert AccessLevel.CLIENT in levels_of(user)
    assert 'name="title"' in page.content.decode()


def test_register_duplicate_login_shows_field_error_with_400(cast):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "client",
            "email": "someone.else@example.com",
            "password": "correct-Horse-42",
            "password2": "correct-Horse-42",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["username"]
    assert 'id="id_username_errors"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert User.objects.filter(username="client").count() == 1


def test_register_mismatched_passwords_shows_field_error_and_keeps_input(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "typo",
            "email": "typo@example.com",
            "password": "correct-Horse-42",
            "password2": "other-Horse-42",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["password2"]
    assert 'value="typo@example.com"' in response.content.decode()
    assert not User.objects.filter(username="typo").exists()


# -- the new-ticket form (F-12, F-04) --------------------------------------------------------------
def test_client_new_png_with_prompts_creates_ticket_with_file(cast):
    client = logged_in(cast.client)
    page = client.get(reverse("tickets:client_new"))
    html = page.content.decode()
    for name in ("looked", "did", "expected", "saw"):
        assert f'name="{name}"' in html
    image = png_image()
    response = client.post(
        reverse("tickets:client_new"),
        {
            "title": "Checkout button does nothing",
            "message": "I click Pay and nothing happens.",
            "category": entry("category", "payment").pk,
            "criticality": entry("criticality", "high").pk,
            "looked": "The FAQ about payments",
            "did": "Cleared the browser cache",
            "expected": "The bank page to open",
            "saw": "TypeError: cannot read properties of undefined",
            "files": SimpleUploadedFile("checkout.png", image, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(title="Checkout button does nothing")
    assert response["Location"] == reverse("tickets:client_detail", args=[ticket.pk])
    assert ticket.author == cast.client
    assert ticket.category.code == "payment" and ticket.criticality.code == "high"
    first = ticket.messages.get(number=1)
    for text in (
        "I click Pay",
        "The FAQ about payments",
        "Cleared the browser cache",
        "The bank page to open",
        "TypeError: cannot read properties of undefined",
    ):
        assert text in first.body
    attachment = first.attachments.get()
    assert attachment.name == "checkout.png" and attachment.content_type == "image/png"
    with attachment.file.open("rb") as fh:
        assert fh.read() == image
    detail = client.get(response["Location"])
    assert "checkout.png" in detail.content.decode()


def test_client_new_bmp_upload_shows_zip_advice_and_keeps_typed_text(cast):
    client = logged_in(cast.client)
    before = Ticket.objects.count()
    response = client.post(
        reverse("tickets:client_new"),
        {
            "title": "Screenshot of the error",
            "message": "See the picture, please.",
            "saw": "Error 0x80070005",
            "files": SimpleUploadedFile("screen.bmp", bmp_bytes(), content_type="image/bmp"),
        },
    )
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["files"])
    assert "ZIP" in errors and "BMP" in errors
    html = response.content.decode()
    assert 'id="id_files_errors"' in html
    assert 'value="Screenshot of the error"' in html
    assert "See the picture, please." in html
    assert "Error 0x80070005" in html
    assert Ticket.objects.count() == before


# -- the staff list (F-14) --------------------------------------------------------------------------
@pytest.fixture
def board(cast):
    """Four tickets an admin sees: two open unassigned, one closed, one answered by support."""
    printer = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(
            title="Printer is on fire", message="Smoke everywhere.", category=entry("category", "payment")
        ),
    )
    login = services.ticket_create(
        actor=cast.other_client, draft=services.TicketDraft(title="Cannot log in", message="Error 500.")
    )
    services.ticket_update(actor=cast.admin, ticket=login, changes={"responsible": cast.staff})
    services.ticket_close(actor=cast.staff, ticket=Ticket.objects.get(pk=login.pk))
    invoice = services.ticket_create(
        actor=cast.colleague,
        draft=services.TicketDraft(
            title="Invoice missing", message="No invoice in May.", category=entry("category", "delivery")
        ),
    )
    services.ticket_update(actor=cast.admin, ticket=invoice, changes={"responsible": cast.staff2})
    services.message_post(
        actor=cast.staff2,
        ticket=Ticket.objects.get(pk=invoice.pk),
        draft=services.MessageDraft(body="Sent it again."),
    )
    cyrillic = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(title="Не работает оплата картой «Мир»", message="Ошибка при оплате."),
    )
    return {"printer": printer.pk, "login": login.pk, "invoice": invoice.pk, "cyrillic": cyrillic.pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda b: {"q": "printer"}, {"printer"}),
        (lambda b: {"id": b["login"]}, {"login"}),
        (lambda b: {"state": "closed"}, {"login"}),
        (lambda b: {"state": "open"}, {"printer", "invoice", "cyrillic"}),
        (lambda b: {"responsible": "none"}, {"printer", "cyrillic"}),
        (lambda b: {"category": entry("category", "payment").pk}, {"printer"}),
        (lambda b: {"indicator": "grey"}, {"login"}),
        (lambda b: {"indicator": "green_s"}, {"invoice"}),
        (lambda b: {"indicator": "yellow"}, {"printer", "cyrillic"}),
        (lambda b: {"state": "open", "category": entry("category", "delivery").pk}, {"invoice"}),
    ],
    ids=[
        "q",
        "id",
        "closed",
        "open",
        "responsible-none",
        "category",
        "indicator-grey",
        "indicator-green_s",
        "indicator-yellow",
        "open-and-category",
    ],
)
def test_staff_list_filter_for_admin_lists_matching_tickets(cast, board, query, expected):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), query(board))
    assert response.status_code == 200
    assert set(listed_ids(response)) == {board[name] for name in expected}


def test_staff_list_search_by_cyrillic_word_finds_ticket(cast, board):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), {"q": "оплата"})
    assert listed_ids(response) == [board["cyrillic"]]
    assert "Не работает оплата картой «Мир»" in response.content.decode()


def test_staff_list_sort_by_id_orders_and_links_toggle(cast, board):
    client = logged_in(cast.admin)
    ascending = client.get(reverse("tickets:staff_list"), {"sort": "id"})
    ids = listed_ids(ascending)
    assert ids == sorted(ids) and len(ids) == 4
    assert 'href="?sort=-id"' in ascending.content.decode()
    descending = client.get(reverse("tickets:staff_list"), {"sort": "-id"})
    assert listed_ids(descending) == sorted(ids, reverse=True)
    assert 'href="?sort=id"' in descending.content.decode()
    by_title = client.get(reverse("tickets:staff_list"), {"sort": "title", "state": "open"})
    titles = [t.title for t, _ind in by_title.context["rows"]]
    assert titles == sorted(titles)
    assert "state=open&amp;sort=-title" in by_title.content.decode()


def test_staff_list_unknown_sort_falls_back_to_default_order(cast, board):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), {"sort": "password"})
    assert response.status_code == 200
    assert response.context["sort"] == ""
    assert len(listed_ids(response)) == 4


def test_staff_list_page_beyond_range_shows_last_page(cast):
    for n in range(25):
        services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title=f"Question number {n}", message="Body")
        )
    client = logged_in(cast.staff)
    response = client.get(reverse("tickets:staff_list"), {"size": 20, "page": 99})
    assert response.status_code == 200
    page = response.context["page"]
    assert page.number == 2 and page.paginator.num_pages == 2
    assert len(listed_ids(response)) == 5
    html = response.content.decode()
    assert "2 / 2" in html and 'rel="prev"' in html and 'rel="next"' not in html
    whole = client.get(reverse("tickets:staff_list"), {"size": 50})
    assert len(listed_ids(whole)) == 25 and whole.context["size"] == 50
    odd = client.get(reverse("tickets:staff_list"), {"size": 7, "page": "abc"})
    assert odd.context["size"] in (20, 50, 100, 200) and odd.context["page"].number == 1


def test_client_list_page_beyond_range_shows_last_page(cast):
    for n in range(23):
        services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title=f"Question number {n}", message="Body")
        )
    response = logged_in(cast.client).get(reverse("tickets:client_list"), {"page": 5})
    assert response.context["page"].number == 2
    assert len(listed_ids(response)) == 3


def test_staff_list_filter_without_matches_shows_empty_state(cast, board):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), {"q": "zebra"})
    assert response.status_code == 200
    assert listed_ids(response) == []
    assert "No tickets match the filter" in response.content.decode()


def test_staff_list_no_tickets_shows_first_run_state(cast):
    response = logged_in(cast.staff).get(reverse("tickets:staff_list"))
    html = response.content.decode()
    assert "No tickets yet" in html and "No tickets match the filter" not in html


def test_client_list_filter_without_matches_shows_empty_state(cast, board):
    response = logged_in(cast.client).get(reverse("tickets:client_list"), {"q": "zebra"})
    assert "No tickets match the filter" in response.content.decode()


def test_client_list_no_tickets_invites_to_ask(cast):
    response = logged_in(cast.other_client).get(reverse("tickets:client_list"))
    assert "You have not asked anything yet." in response.content.decode()


def test_client_list_for_client_lists_own_and_company_tickets(cast, board):
    response = logged_in(cast.client).get(reverse("tickets:client_list"))
    assert set(listed_ids(response)) == {board["printer"], board["invoice"], board["cyrillic"]}


def test_staff_list_csv_export_has_bom_header_and_filtered_rows(cast, board):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), {"state": "open", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [name for name, _value in EXPORT_COLUMNS]
    body = rows[1:]
    assert len(body) == 3
    assert {int(r[0]) for r in body} == {board["printer"], board["invoice"], board["cyrillic"]}
    titles = {r[1] for r in body}
    assert "Не работает оплата картой «Мир»" in titles


def test_staff_list_csv_export_for_staff2_holds_only_visible_tickets(cast, board):
    response = logged_in(cast.staff2).get(reverse("tickets:staff_list"), {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    # staff2 sees the unassigned queue and the ticket assigned to them, not the one assigned to `staff`.
    assert {int(r[0]) for r in rows[1:]} == {board["printer"], board["invoice"], board["cyrillic"]}


def test_staff_list_saved_filter_save_then_delete(cast, board):
    client = logged_in(cast.staff)
    listing = client.get(reverse("tickets:staff_list"), {"state": "open"})
    assert "Save as a view" in listing.content.decode()
    response = client.post(reverse("tickets:staff_filter_save"), {"name": "Open ones", "query": "state=open"})
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:staff_list") + "?state=open"
    saved = SavedFilter.objects.get(user=cast.staff, name="Open ones")
    html = client.get(reverse("tickets:staff_list")).content.decode()
    assert 'href="?state=open"' in html and "Open ones" in html
    # Nobody else sees it.
    assert "Open ones" not in logged_in(cast.staff2).get(reverse("tickets:staff_list")).content.decode()
    response = client.post(reverse("tickets:staff_filter_save"), {"delete": saved.pk})
    assert response.status_code == 302
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()


def test_staff_list_saved_filter_of_other_user_cannot_be_deleted(cast):
    theirs = SavedFilter.objects.create(user=cast.staff2, name="Mine", query="state=open")
    response = logged_in(cast.staff).post(reverse("tickets:staff_filter_save"), {"delete": theirs.pk})
    assert response.status_code == 404
    assert SavedFilter.objects.filter(pk=theirs.pk).exists()


def test_staff_list_saved_filter_without_name_shows_error(cast):
    client = logged_in(cast.staff)
    response = client.post(
        reverse("tickets:staff_filter_save"), {"name": "  ", "query": "state=open"}, follow=True
    )
    assert response.status_code == 200
    assert not SavedFilter.objects.filter(user=cast.staff).exists()
    assert "name" in response.content.decode().lower()


# -- the language switch -------------------------------------------------------------------------
def test_language_post_en_switches_ui_to_english_for_user(cast):
    client = logged_in(cast.client, language="ru")
    before = client.get(reverse("tickets:client_list")).content.decode()
    assert '<html lang="ru">' in before
    response = client.post(
        reverse("accounts:set_language"), {"language": "en", "next": reverse("tickets:client_list")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("tickets:client_list")
    assert Profile.objects.get(user=cast.client).language == "en"
    html = client.get(reverse("tickets:client_list")).content.decode()
    assert '<html lang="en">' in html
    assert "My tickets" in html and "Ask a question" in html and "Log out" in html


def test_language_post_ru_switches_html_lang_to_russian(cast):
    client = logged_in(cast.client, language="en")
    client.post(reverse("accounts:set_language"), {"language": "ru", "next": "/tickets/"})
    assert Profile.objects.get(user=cast.client).language == "ru"
    html = client.get(reverse("tickets:client_list")).content.decode()
    assert '<html lang="ru">' in html


def test_language_post_for_visitor_sets_cookie(db):
    client = Client()
    response = client.post(
        reverse("accounts:set_language"), {"language": "en", "next": reverse("accounts:login")}
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in html and "Log in" in html


def test_language_post_foreign_next_redirects_home(cast):
    client = logged_in(cast.client)
    response = client.post(
        reverse("accounts:set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


# -- the ticket pages ------------------------------------------------------------------------------
@pytest.fixture
def discussed(cast, make_ticket):
    """A client's ticket with a public answer, a hidden note and a status change (a log line)."""
    ticket = make_ticket(title="Refund not received", message="I paid twice and got no refund.")
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="We have asked the bank about it.")
    )
    services.message_post(
        actor=cast.staff,
        ticket=Ticket.objects.get(pk=ticket.pk),
        draft=services.MessageDraft(body="Internal note: the bank reference is RX-77.", hidden=True),
    )
    services.ticket_update(
        actor=cast.staff,
        ticket=Ticket.objects.get(pk=ticket.pk),
        changes={"status": entry("status", "in_progress")},
    )
    return Ticket.objects.get(pk=ticket.pk)


def test_staff_ticket_page_shows_hidden_and_log_messages(cast, discussed):
    html = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[discussed.pk])).content.decode()
    assert "We have asked the bank about it." in html
    assert "Internal note: the bank reference is RX-77." in html
    assert 'class="msg hidden' in html
    # Change-log messages are quiet one-line events naming who changed what, not numbered messages.
    assert 'class="msg log' not in html and 'class="sysevent"' in html
    status = entry("status", "in_progress").name
    who = cast.staff.get_full_name() or cast.staff.username
    assert f"{who} set {field_label('status')} to {status}" in html
    assert Message.objects.filter(ticket=discussed, kind=MessageKind.LOG).exists()


def test_client_ticket_page_hides_hidden_and_log_messages(cast, discussed):
    response = logged_in(cast.client).get(reverse("tickets:client_detail", args=[discussed.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "We have asked the bank about it." in html
    assert "RX-77" not in html
    assert 'class="msg hidden' not in html and 'class="msg log' not in html
    assert {m.kind for m in response.context["messages_list"]} <= {MessageKind.PUBLIC, MessageKind.NO_STATUS}


def test_client_ticket_page_after_staff_view_lists_staff_as_viewer(cast, discussed):
    User.objects.filter(pk=cast.staff.pk).update(first_name="Olga", last_name="Smirnova")
    staff = User.objects.get(pk=cast.staff.pk)
    client = logged_in(cast.client)
    before = presence_block(
        client.get(reverse("tickets:client_detail", args=[discussed.pk])).content.decode()
    )
    assert "Olga Smirnova" not in before
    assert logged_in(staff).get(reverse("tickets:staff_detail", args=[discussed.pk])).status_code == 200
    after = presence_block(client.get(reverse("tickets:client_detail", args=[discussed.pk])).content.decode())
    assert "Viewed recently:" in after and "Olga Smirnova" in after


def test_presence_post_answering_shows_answering_to_other_staff(cast, discussed):
    User.objects.filter(pk=cast.staff.pk).update(first_name="Olga", last_name="Smirnova")
    staff = User.objects.get(pk=cast.staff.pk)
    ping = logged_in(staff).post(reverse("tickets:presence", args=[discussed.pk]), {"answering": "1"})
    assert ping.status_code == 200
    html = logged_in(cast.staff2).get(reverse("tickets:staff_detail", args=[discussed.pk])).content.decode()
    line = re.search(r'<p class="presence" id="presence"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert 'class="answering"' in line and "answering" in line.lower()
    assert "Olga Smirnova" in line
    # staff2's own ping answers with the presence line that names the colleague.
    again = logged_in(cast.staff2).post(reverse("tickets:presence", args=[discussed.pk]))
    assert "Olga Smirnova" in again.content.decode()


def test_presence_post_without_answering_shows_only_viewer(cast, discussed):
    logged_in(cast.staff).post(reverse("tickets:presence", args=[discussed.pk]))
    html = logged_in(cast.staff2).get(reverse("tickets:staff_detail", args=[discussed.pk])).content.decode()
    line = re.search(r'<p class="presence" id="presence"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert 'class="answering"' not in line and "staff" in line


def test_presence_post_for_invisible_ticket_answers_404(cast, discussed):
    response = logged_in(cast.other_client).post(reverse("tickets:presence", args=[discussed.pk]))
    assert response.status_code == 404


def test_message_edit_by_admin_keeps_previous_version_for_staff(cast, discussed):
    url = reverse("tickets:message_edit", args=[discussed.pk, 1])
    admin = logged_in(cast.admin)
    form = admin.get(url)
    assert "I paid twice and got no refund." in form.content.decode()
    response = admin.post(url, {"body": "I paid twice (order 1042) and got no refund."})
    assert response.status_code == 302
    staff_html = (
        logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[discussed.pk])).content.decode()
    )
    assert "I paid twice (order 1042) and got no refund." in staff_html
    assert "previous versions" in staff_html
    assert "I paid twice and got no refund." in staff_html
    client_html = (
        logged_in(cast.client).get(reverse("tickets:client_detail", args=[discussed.pk])).content.decode()
    )
    assert "I paid twice (order 1042) and got no refund." in client_html
    assert "I paid twice and got no refund." not in client_html


def test_message_edit_with_empty_text_answers_400_and_keeps_text(cast, discussed):
    response = logged_in(cast.admin).post(
        reverse("tickets:message_edit", args=[discussed.pk, 1]), {"body": "  "}
    )
    assert response.status_code == 400
    assert Message.objects.get(ticket=discussed, number=1).body == "I paid twice and got no refund."


def test_message_split_by_staff_creates_new_ticket_page(cast, make_ticket):
    ticket = make_ticket(
        title="Two problems",
        message="Problem one: login. Problem two: invoices.",
        files=[upload("invoice.png", png_image())],
    )
    client = logged_in(cast.staff)
    form = client.get(reverse("tickets:message_split", args=[ticket.pk, 1]))
    assert form.status_code == 200 and "invoice.png" in form.content.decode()
    attachment = ticket.attachments.get()
    response = client.post(
        reverse("tickets:message_split", args=[ticket.pk, 1]),
        {"title": "Invoices are missing", "attachments": [attachment.pk]},
    )
    assert response.status_code == 302
    new = Ticket.objects.get(split_from=ticket)
    assert response["Location"] == reverse("tickets:staff_detail", args=[new.pk])
    assert new.title == "Invoices are missing" and new.author == cast.client
    assert new.attachments.count() == 1
    new_html = client.get(response["Location"]).content.decode()
    assert "Split from ticket" in new_html
    assert f'href="{reverse("tickets:staff_detail", args=[ticket.pk])}"' in new_html
    assert f"#{ticket.pk}" in new_html
    old_html = client.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert f"#{new.pk}" in old_html
    # The client sees the new ticket and the cross-reference too.
    client_html = logged_in(cast.client).get(reverse("tickets:client_detail", args=[new.pk])).content.decode()
    assert f"#{ticket.pk}" in client_html and "invoice.png" in client_html


# -- the staff attributes panel as a browser submits it ---------------------------------------------
class _FormReader(HTMLParser):
    """Collect what a browser would submit for one form: inputs, checked boxes, selected options, textareas."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.values = action, False, {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "on")
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first_option = a.get("name"), None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self.values[self._select] = value
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            # A select with no selected option submits its first option.
            self.values.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def submitted(html: str, action: str) -> dict:
    reader = _FormReader(action)
    reader.feed(html)
    values = reader.values
    for name, value in values.items():
        # Browsers drop the leading newline Django puts after <textarea>.
        values[name] = value[1:] if value.startswith("\n") else value
    return values


def test_staff_update_panel_saved_unchanged_changes_nothing(cast, discussed):
    client = logged_in(cast.staff)
    page = client.get(reverse("tickets:staff_detail", args=[discussed.pk])).content.decode()
    action = reverse("tickets:staff_update", args=[discussed.pk])
    before = Ticket.objects.filter(pk=discussed.pk).values().get()
    logs = Message.objects.filter(ticket=discussed, kind=MessageKind.LOG).count()
    response = client.post(action, submitted(page, action), follow=True)
    assert response.status_code == 200
    assert Ticket.objects.filter(pk=discussed.pk).values().get() == before
    assert Message.objects.filter(ticket=discussed, kind=MessageKind.LOG).count() == logs


def test_staff_update_comment_on_ticket_with_inactive_category_keeps_category(cast, make_ticket):
    """Entries in use are deactivated, not deleted (F-05): saving another field must not wipe them."""
    ticket = make_ticket(
        title="Parcel lost", message="Where is my parcel?", category=entry("category", "delivery")
    )
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    DictionaryEntry.objects.filter(kind="category", code="delivery").update(active=False)
    client = logged_in(cast.staff)
    page = client.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    action = reverse("tickets:staff_update", args=[ticket.pk])
    data = submitted(page, action)
    data["attr-admin_comment"] = "Asked the courier."
    response = client.post(action, data)
    assert response.status_code == 302
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.admin_comment == "Asked the courier."
    assert ticket.category == entry("category", "delivery")
    assert ticket.responsible == cast.staff


def test_staff_update_comment_when_responsible_lost_staff_rights_keeps_responsible(cast, make_ticket):
    ticket = make_ticket(title="Old case", message="Still open.")
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff2})
    cast.staff2.groups.clear()  # moved to another department: no longer support staff
    client = logged_in(cast.admin)
    page = client.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    action = reverse("tickets:staff_update", args=[ticket.pk])
    data = submitted(page, action)
    data["attr-admin_comment"] = "Needs a new owner soon."
    assert client.post(action, data).status_code == 302
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.admin_comment == "Needs a new owner soon."
    assert ticket.responsible == cast.staff2
