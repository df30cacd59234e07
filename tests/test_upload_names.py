"""Uploads refuse Windows script and installer types by name, and name-less files with a field error (F-04)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY
from django.urls import reverse
from django.utils import translation

from otklik.core.errors import ValidationFailed
from otklik.tickets import files as file_checks
from otklik.tickets import services
from otklik.tickets.models import Attachment, Message, Ticket
from tests.conftest import logged_in, upload
from tests.helpers import Api

SCRIPT_NAMES = [
    "run.bat", "run.cmd", "run.com", "page.hta", "setup.ps1", "mod.psm1", "macro.vbs", "macro.vbe",
    "app.js", "app.jse", "job.wsf", "job.wsh", "link.lnk", "saver.scr", "setup.msi", "patch.msp",
    "old.pif", "panel.cpl", "keys.reg", "tool.jar", "setup.exe", "lib.dll", "INVOICE.PDF.JS", "a.Bat",
]  # fmt: skip
# A copy of the multipart type: the test client encodes a dict itself only for its own constant object.
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
SCRIPT_TEXT = b'WScript.Echo "hello"\r\n'


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_check_uploads_windows_script_name_refused(name):
    import io

    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        file_checks.check_uploads([(name, io.BytesIO(SCRIPT_TEXT))], file_checks.UploadLimits(10**7, 10**7))
    assert name in info.value.errors["files"][0]
    assert "not accepted" in info.value.errors["files"][0]


@pytest.mark.parametrize("name", ["notes.txt", "server.log", "js-notes.txt", "readme"])
def test_check_uploads_plain_text_name_accepted(name):
    import io

    checked = file_checks.check_uploads(
        [(name, io.BytesIO(SCRIPT_TEXT))], file_checks.UploadLimits(10**7, 10**7)
    )
    assert checked[0].content_type == "text/plain"


@pytest.mark.parametrize("name", ["..", "/", "   ", "\x01\x02", "...", " . ", "a/..", "C:\\dir\\"])
def test_check_uploads_name_reducing_to_nothing_refused(name):
    import io

    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        file_checks.check_uploads([(name, io.BytesIO(b"text\n"))], file_checks.UploadLimits(10**7, 10**7))
    assert "name" in info.value.errors["files"][0]


def test_check_uploads_mail_attachment_without_name_kept_as_file():
    import io

    checked = file_checks.check_uploads(
        [("..", io.BytesIO(b"text\n"))], file_checks.UploadLimits(10**7, 10**7), any_type=True
    )
    assert checked[0].name == "file"


def test_service_client_script_refused_nothing_stored(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.message_post(
            actor=cast.client,
            ticket=ticket,
            draft=services.MessageDraft(body="See attached", files=[upload("fix.bat", SCRIPT_TEXT)]),
        )
    assert "files" in info.value.errors
    assert not Attachment.objects.exists()


def _multipart(fields: dict[str, str], file_field: str, file_name: str, data: bytes) -> bytes:
    """Encode a multipart body by hand: Django's test client cannot send a file named '..'."""
    lines = []
    for key, value in fields.items():
        lines += [f"--{BOUNDARY}", f'Content-Disposition: form-data; name="{key}"', "", value]
    lines += [
        f"--{BOUNDARY}",
        f'Content-Disposition: form-data; name="{file_field}"; filename="{file_name}"',
        "Content-Type: text/plain",
        "",
    ]
    head = "\r\n".join(lines).encode() + b"\r\n"
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("name", ["..", "/", "\x01"])
def test_api_upload_nameless_file_answers_422_not_dropped(cast, make_ticket, name):
    ticket = make_ticket()
    api = Api(cast.client)
    body = _multipart({"body": "See the log"}, "files", name, b"log line\n")
    response = api.client.post(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        data=body,
        content_type=MULTIPART,
        **api.headers,
    )
    assert response.status_code == 422, response.content
    # The token owner's language is Russian: "У файла нет пригодного имени…" (the file has no usable name).
    assert "пригодного имени" in " ".join(response.json()["errors"]["files"])
    assert not Message.objects.filter(ticket=ticket, body="See the log").exists()


def test_api_upload_empty_file_input_still_ignored(cast, make_ticket):
    """A browser sends an empty file input as filename="": that is no file at all, not an error."""
    ticket = make_ticket()
    api = Api(cast.client)
    body = _multipart({"body": "No file"}, "files", "", b"")
    response = api.client.post(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        data=body,
        content_type=MULTIPART,
        **api.headers,
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("name", ["fix.bat", "setup.ps1", "macro.vbs"])
def test_api_upload_client_script_answers_422(cast, make_ticket, name):
    ticket = make_ticket()
    response = Api(cast.client).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {"body": "Run this", "files": [SimpleUploadedFile(name, SCRIPT_TEXT, "text/plain")]},
    )
    assert response.status_code == 422, response.content
    assert name in " ".join(response.json()["errors"]["files"])
    assert not Attachment.objects.exists()


def test_web_new_ticket_client_script_shows_field_error(cast):
    client = logged_in(cast.client)
    response = client.post(
        reverse("tickets:client_new"),
        {
            "title": "Script",
            "message": "Please run it.",
            "files": SimpleUploadedFile("fix.cmd", SCRIPT_TEXT, content_type="text/plain"),
        },
    )
    assert response.status_code == 400
    assert "fix.cmd" in " ".join(response.context["form"].errors["files"])
    assert not Ticket.objects.filter(title="Script").exists()


def test_web_new_ticket_nameless_file_shows_field_error(cast):
    client = logged_in(cast.client)
    body = _multipart({"title": "Nameless", "message": "See the file."}, "files", "..", b"log line\n")
    response = client.post(reverse("tickets:client_new"), data=body, content_type=MULTIPART)
    assert response.status_code == 400
    assert "name" in " ".join(response.context["form"].errors["files"])
    assert not Ticket.objects.filter(title="Nameless").exists()
