"""REST API v1: messages (visibility, posting, admin edit/delete) and attachments (upload, download, F-04)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from otklik.tickets import services
from otklik.tickets.models import Attachment, Channel, Message, MessageKind
from tests.helpers import Api, png_1x1
from tests.test_api_tickets import bmp_bytes, entry


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash the cast's passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- messages --------------------------------------------------------------------------------
def test_api_message_list_client_sees_public_and_no_status_only(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Internal: check logs", hidden=True, minutes=5),
    )
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Still checking", not_change_status=True),
    )
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed, try again")
    )
    services.ticket_update(
        actor=cast.staff, ticket=ticket, changes={"difficulty": entry("difficulty", "easy")}
    )
    client_view = Api(cast.client).get(f"/api/v1/tickets/{ticket.pk}/messages").json()
    assert [m["body"] for m in client_view] == [
        "The login page says error 500.",
        "Still checking",
        "Fixed, try again",
    ]
    assert all("minutes" not in m and "posted_by" not in m for m in client_view)
    staff_view = Api(cast.staff).get(f"/api/v1/tickets/{ticket.pk}/messages").json()
    kinds = [m["kind"] for m in staff_view]
    assert "hidden" in kinds and "log" in kinds and "nostatus" in kinds
    hidden = next(m for m in staff_view if m["kind"] == "hidden")
    assert hidden["minutes"] == 5 and hidden["by_support"] is True
    demo_kinds = {m["kind"] for m in Api(cast.demo).get(f"/api/v1/tickets/{ticket.pk}/messages").json()}
    assert demo_kinds == {"public", "nostatus"}


def test_api_message_post_renders_markup_escaped(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.client).send(
        "POST", f"/api/v1/tickets/{ticket.pk}/messages", {"body": "[b]Urgent[/b] <script>alert(1)</script>"}
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["number"] == 2 and data["kind"] == "public" and data["via"] == "api"
    assert "<strong>Urgent</strong>" in data["html"] and "<script>" not in data["html"]


def test_api_message_post_on_behalf_is_by_the_client(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.staff).send(
        "POST",
        f"/api/v1/tickets/{ticket.pk}/messages",
        {"body": "Client called: it works", "on_behalf_of": cast.client.pk},
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["author"]["id"] == cast.client.pk and data["posted_by"]["id"] == cast.staff.pk
    assert data["by_support"] is False


def test_api_message_edit_by_admin_keeps_revision(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.admin).send(
        "PATCH", f"/api/v1/tickets/{ticket.pk}/messages/1", {"body": "Edited text"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["body"] == "Edited text" and response.json()["edited_at"]
    message = Message.objects.get(ticket=ticket, number=1)
    assert message.revisions.get().body == "The login page says error 500."
    assert ticket.events.filter(field="message_edited", via=Channel.API).exists()


def test_api_message_delete_by_admin_recomputes_ticket(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    ticket.refresh_from_db()
    assert ticket.last_message_by_support
    response = Api(cast.admin).send("DELETE", f"/api/v1/tickets/{ticket.pk}/messages/2", None)
    assert response.status_code == 204
    ticket.refresh_from_db()
    assert not ticket.last_message_by_support and ticket.awaits_support
    assert ticket.events.filter(field="message_deleted", via=Channel.API).exists()


def test_api_message_hidden_number_for_client_answers_404(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Internal", hidden=True)
    )
    response = Api(cast.client).send("PATCH", f"/api/v1/tickets/{ticket.pk}/messages/2", {"body": "x"})
    assert response.status_code == 404


# -- attachments -----------------------------------------------------------------------------
def test_api_upload_png_accepted_and_downloads_with_safe_headers(cast, make_ticket):
    ticket = make_ticket()
    api = Api(cast.client)
    data = png_1x1()
    response = api.upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {
            "body": "Screenshot attached",
            "files": [SimpleUploadedFile("экран.png", data, "application/octet-stream")],
        },
    )
    assert response.status_code == 201, response.content
    attachment = response.json()["attachments"][0]
    assert attachment["name"] == "экран.png" and attachment["size"] == len(data)
    assert attachment["content_type"] == "image/png"
    download = api.get(attachment["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%D1%8D%D0%BA%D1%80%D0%B0%D0%BD.png" in download["Content-Disposition"]


def test_api_upload_files_brackets_field_name_accepted(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.client).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {
            "body": "Two files",
            "files[]": [
                SimpleUploadedFile("a.png", png_1x1()),
                SimpleUploadedFile("b.log", b"ERROR line 1\n"),
            ],
        },
    )
    assert response.status_code == 201, response.content
    assert sorted(a["content_type"] for a in response.json()["attachments"]) == ["image/png", "text/plain"]


def test_api_upload_bmp_refused_with_zip_advice(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.client).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {
            "body": "Screenshot",
            "files": [SimpleUploadedFile("shot.png", bmp_bytes(), "image/png")],
        },
    )
    assert response.status_code == 422, response.content
    messages = response.json()["errors"]["files"]
    assert any("BMP" in m and "ZIP" in m for m in messages)
    assert not Message.objects.filter(ticket=ticket, number__gt=1, kind=MessageKind.PUBLIC).exists()
    assert not Attachment.objects.exists()


def test_api_upload_staff_hidden_file_invisible_to_client(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.staff).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {
            "body": "Server log",
            "hidden": "true",
            "files": [SimpleUploadedFile("server.log", b"panic: oops\n")],
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "hidden"
    url = response.json()["attachments"][0]["url"]
    assert Api(cast.staff).get(url).status_code == 200
    assert Api(cast.client).get(url).status_code == 404
    assert Api(cast.demo).get(url).status_code == 404
    client_messages = Api(cast.client).get(f"/api/v1/tickets/{ticket.pk}/messages").json()
    assert all(not m["attachments"] for m in client_messages)


def test_api_upload_client_hidden_flag_refused(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.client).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {
            "body": "x",
            "hidden": "true",
            "files": [SimpleUploadedFile("a.png", png_1x1())],
        },
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("data", [{}, {"body": ""}, {"body": "x", "minutes": "many"}])
def test_api_upload_bad_form_answers_422(cast, make_ticket, data):
    ticket = make_ticket()
    response = Api(cast.staff).upload(f"/api/v1/tickets/{ticket.pk}/messages/upload", data)
    assert response.status_code == 422, response.content
    assert response.json()["errors"]


def test_api_attachment_of_other_clients_ticket_answers_404(cast, make_ticket):
    ticket = make_ticket(files=[services.Upload(name="a.png", fileobj=io.BytesIO(png_1x1()))])
    attachment = Attachment.objects.get(ticket=ticket)
    assert Api(cast.other_client).get(f"/api/v1/attachments/{attachment.pk}").status_code == 404
    assert Api(cast.colleague).get(f"/api/v1/attachments/{attachment.pk}").status_code == 200


def test_api_message_quoted_history_is_for_staff_only(cast, make_ticket):
    from otklik.mail.services import mail_ingest
    from tests.test_mail_admin import QUOTING_REPLY
    from tests.test_mail_ingest import mail

    ticket = make_ticket()
    mail_ingest(mail(sender=cast.client.email, subject=f"Re: [TID#{ticket.pk}]", body=QUOTING_REPLY))
    path = f"/api/v1/tickets/{ticket.pk}/messages"
    staff_reply = Api(cast.staff).get(path).json()[-1]
    client_reply = Api(cast.client).get(path).json()[-1]
    assert staff_reply["body"] == client_reply["body"] == "Спасибо, теперь работает."
    assert "> Очистите, пожалуйста, кэш браузера." in staff_reply["quoted"]
    assert "quoted" not in client_reply
