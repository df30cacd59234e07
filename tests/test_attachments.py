"""Attachments (F-04) with real files: the type comes from the content, never from the name.

The samples are real: a PNG with valid CRCs and IDAT, a 24-bit BMP, a GIF89a, a PDF with a correct
xref, ZIP archives written by zipfile, a text log, a Windows PE header and the head of this machine's
/bin/true (a real ELF executable) renamed to look like a screenshot.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile

import pytest
from django.utils import translation

from otklik.core.errors import ValidationFailed
from otklik.tickets import files as file_checks
from otklik.tickets import services
from otklik.tickets.models import Attachment, Message, ModuleOptions, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import options_get
from otklik.tickets.services import module_options_ensure
from tests.conftest import upload
from tests.samples import (
    bmp_bytes,
    elf_bytes,
    gif_bytes,
    incompressible_zip,
    log_bytes,
    pdf_bytes,
    pe_stub_bytes,
    png_bytes,
    png_decode_size,
    sample_path,
    zip_bytes,
)

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def from_disk(name: str, as_name: str | None = None) -> services.Upload:
    """Upload a committed sample the way a browser would: an open binary file."""
    return services.Upload(name=as_name or name, fileobj=io.BytesIO(sample_path(name).read_bytes()))


def post(actor, ticket, *uploads, body="See attached") -> Message:
    return services.message_post(
        actor=actor, ticket=ticket, draft=services.MessageDraft(body=body, files=list(uploads))
    )


def read(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as fh:
        return fh.read()


def set_limits(**limits) -> None:
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(**limits)


# -- the samples are what they claim to be ---------------------------------------------------------
def test_samples_png_is_valid_with_crcs_and_pixels():
    width, height, raw = png_decode_size(sample_path("screenshot.png").read_bytes())
    assert (width, height) == (4, 3) and raw == height * (1 + 3 * width)


def test_samples_bmp_headers_consistent():
    data = sample_path("screenshot.bmp").read_bytes()
    assert data[:2] == b"BM" and int.from_bytes(data[2:6], "little") == len(data)
    assert int.from_bytes(data[10:14], "little") == 54 and int.from_bytes(data[14:18], "little") == 40


def test_samples_pdf_xref_offsets_point_at_objects():
    data = sample_path("invoice.pdf").read_bytes()
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert data[xref:].startswith(b"xref")
    offsets = [int(line[:10]) for line in data[xref:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)


def test_samples_zip_opens_and_tests_clean():
    with zipfile.ZipFile(sample_path("logs.zip")) as zf:
        assert zf.testzip() is None and "server.log" in zf.namelist()


def test_samples_elf_is_a_real_executable():
    head = elf_bytes()
    assert head[:4] == b"\x7fELF" and len(head) > 1024


# -- accepted types ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("screenshot.png", "image/png"),
        ("pixel.gif", "image/gif"),
        ("invoice.pdf", "application/pdf"),
        ("logs.zip", "application/zip"),
        ("server.log", "text/plain"),
    ],
)
def test_attachment_allowed_type_stored_with_sniffed_type_size_and_sha256(
    cast, make_ticket, name, content_type
):
    data = sample_path(name).read_bytes()
    message = post(cast.client, make_ticket(), from_disk(name))
    attachment = message.attachments.get()
    assert attachment.name == name
    assert attachment.content_type == content_type
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert read(attachment) == data
    assert attachment.ticket_id == message.ticket_id


def test_attachment_stored_name_random_without_extension_never_original(cast, make_ticket):
    ticket = make_ticket()
    post(cast.client, ticket, from_disk("screenshot.png"))
    post(cast.client, ticket, from_disk("screenshot.png"))
    names = [a.file.name for a in Attachment.objects.filter(ticket=ticket)]
    assert len(set(names)) == 2, "two uploads of the same file must get different stored names"
    for stored in names:
        base = os.path.basename(stored)
        assert "." not in base and "screenshot" not in stored and "png" not in base.lower()
        assert len(base) >= 32 and all(ch in "0123456789abcdef" for ch in base)


def test_attachment_stored_file_not_executable(cast, make_ticket):
    message = post(cast.client, make_ticket(), from_disk("screenshot.png"))
    path = message.attachments.get().file.path
    assert not os.stat(path).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_attachment_png_renamed_txt_accepted_as_png(cast, make_ticket):
    message = post(cast.client, make_ticket(), from_disk("screenshot.png", as_name="screenshot.txt"))
    attachment = message.attachments.get()
    assert attachment.name == "screenshot.txt" and attachment.content_type == "image/png"


def test_attachment_text_in_cp1251_accepted_as_text(cast, make_ticket):
    data = "Журнал: ошибка 42\r\nповтор через 5 с\r\n".encode("cp1251")
    message = post(cast.client, make_ticket(), upload("report.txt", data))
    assert message.attachments.get().content_type == "text/plain"


def test_attachment_utf8_text_cut_inside_a_character_at_sniff_boundary_accepted(cast, make_ticket):
    data = ("x" + "я" * 6000).encode("utf-8")  # byte 8192 falls inside a two-byte character
    assert len(data) > file_checks.HEAD_SIZE
    message = post(cast.client, make_ticket(), upload("long.log", data))
    assert message.attachments.get().content_type == "text/plain"


def test_attachment_path_in_name_stripped_to_base_name(cast, make_ticket):
    message = post(
        cast.client, make_ticket(), from_disk("server.log", as_name="../../etc/C:\\evil\\server.log")
    )
    assert message.attachments.get().name == "server.log"


# -- refused types ----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "ru"])
def test_attachment_bmp_refused_with_advice_to_zip(cast, make_ticket, language):
    ticket = make_ticket()
    with translation.override(language), pytest.raises(ValidationFailed) as info:
        post(cast.client, ticket, from_disk("screenshot.bmp"))
    text = " ".join(info.value.errors["files"])
    assert "ZIP" in text and "BMP" in text and "screenshot.bmp" in text
    assert not Message.objects.filter(ticket=ticket, body="See attached").exists()


def test_attachment_bmp_inside_zip_accepted(cast, make_ticket):
    data = zip_bytes({"screenshot.bmp": bmp_bytes()})
    message = post(cast.client, make_ticket(), upload("screenshot.zip", data))
    with zipfile.ZipFile(message.attachments.get().file.open("rb")) as zf:
        assert zf.read("screenshot.bmp") == bmp_bytes()


def test_attachment_bmp_refused_for_staff_too(cast, make_ticket):
    with pytest.raises(ValidationFailed):
        post(cast.staff, make_ticket(), upload("scan.bmp", bmp_bytes(64, 64)))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("screenshot.png", elf_bytes()),
        ("setup.exe.png", pe_stub_bytes()),
        ("report.pdf", pe_stub_bytes()),
        ("notes.txt", b"#!/bin/sh\nrm -rf ~\n"),
        ("archive.zip", b"\x00\x01\x02\x03" * 256),
    ],
    ids=["elf-as-png", "pe-as-png", "pe-as-pdf", "script-as-txt", "binary-junk"],
)
def test_attachment_executable_or_unknown_content_refused(cast, make_ticket, name, data):
    ticket = make_ticket()
    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        post(cast.staff, ticket, upload(name, data))
    assert "not accepted" in info.value.errors["files"][0]
    assert not Attachment.objects.exists()


def test_attachment_empty_file_refused(cast, make_ticket):
    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        post(cast.client, make_ticket(), upload("empty.log", b""))
    assert "empty" in info.value.errors["files"][0]


def test_attachment_one_bad_file_refuses_whole_message_and_names_each(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        post(
            cast.client,
            ticket,
            from_disk("screenshot.png"),
            from_disk("screenshot.bmp"),
            upload("a.exe", elf_bytes()),
        )
    problems = info.value.errors["files"]
    assert len(problems) == 2 and "screenshot.bmp" in problems[0] and "a.exe" in problems[1]
    assert not Attachment.objects.exists()
    assert Message.objects.filter(ticket=ticket).count() == 1


# -- size limits (options; small values keep the test fast) -------------------------------------------
def test_attachment_client_file_over_limit_refused_staff_accepted(cast, make_ticket):
    set_limits(client_file_limit_mb=1, client_message_limit_mb=5, staff_file_limit_mb=2)
    data = incompressible_zip(MB + MB // 2)
    ticket = make_ticket()
    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        post(cast.client, ticket, upload("dump.zip", data))
    assert "larger than 1 MB" in info.value.errors["files"][0]
    message = post(cast.staff, ticket, upload("dump.zip", data))
    assert message.attachments.get().size == len(data)


def test_attachment_staff_over_hard_cap_refused(cast, make_ticket):
    set_limits(staff_file_limit_mb=1)
    with pytest.raises(ValidationFailed):
        post(cast.staff, make_ticket(), upload("dump.zip", incompressible_zip(MB + 4096)))


def test_attachment_client_file_exactly_at_limit_accepted(cast, make_ticket):
    set_limits(client_file_limit_mb=1)
    data = incompressible_zip(MB)
    assert MB - 1024 < len(data) <= MB
    assert post(cast.client, make_ticket(), upload("dump.zip", data)).attachments.count() == 1


def test_attachment_client_message_total_over_limit_refused(cast, make_ticket):
    set_limits(client_file_limit_mb=1, client_message_limit_mb=1)
    part = incompressible_zip(600 * 1024)
    ticket = make_ticket()
    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        post(cast.client, ticket, upload("a.zip", part), upload("b.zip", part))
    assert "together" in info.value.errors["files"][0]
    assert post(cast.client, ticket, upload("a.zip", part)).attachments.count() == 1


def test_upload_limits_staff_larger_than_client(cast):
    client = services.upload_limits(TicketPolicy(cast.client))
    staff = services.upload_limits(TicketPolicy(cast.staff))
    admin = services.upload_limits(TicketPolicy(cast.admin))
    options = options_get()
    assert client.per_file == options.client_file_limit_mb * MB == 10 * MB
    assert client.per_message == options.client_message_limit_mb * MB == 25 * MB
    assert staff.per_file > client.per_file and staff.per_message > client.per_message
    assert admin == staff


def test_attachment_client_limits_apply_on_ticket_create(cast):
    set_limits(client_file_limit_mb=1)
    with pytest.raises(ValidationFailed):
        services.ticket_create(
            actor=cast.client,
            draft=services.TicketDraft(
                title="Dump", message="see", files=[upload("d.zip", incompressible_zip(2 * MB))]
            ),
        )
    assert not Ticket.objects.exists()


# -- who sees which files -----------------------------------------------------------------------------
def test_attachment_on_hidden_message_not_visible_to_client(cast, make_ticket):
    ticket = make_ticket()
    hidden = services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="internal dump", hidden=True, files=[from_disk("logs.zip")]),
    )
    public = post(cast.staff, ticket, from_disk("screenshot.png"))
    client_files = {a.pk for m in TicketPolicy(cast.client).messages(ticket) for a in m.attachments.all()}
    assert client_files == {public.attachments.get().pk}
    assert TicketPolicy(cast.demo).can_view_message(hidden) is False
    assert TicketPolicy(cast.staff2).can_view_message(hidden) is True


# -- the sniffer on its own ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png_bytes(), "png"),
        (gif_bytes(), "gif"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg"),
        (pdf_bytes(), "pdf"),
        (zip_bytes(), "zip"),
        (b"Rar!\x1a\x07\x01\x00", "rar"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
        (bmp_bytes(), "bmp"),
        (log_bytes(), "text"),
        (elf_bytes(4096), "executable"),
        (pe_stub_bytes(), "executable"),
        (b"\x00\xff\x00\xff", None),
    ],
)
def test_sniff_judges_by_content(data, kind):
    result = file_checks.sniff(data[: file_checks.HEAD_SIZE])
    assert (result.kind if result else None) == kind
