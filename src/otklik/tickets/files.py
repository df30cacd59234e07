"""Check uploads by their content (F-04): sniff the real type, refuse BMP and executables, apply size limits."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _

from otklik.core.errors import ValidationFailed

MB = 1024 * 1024
HEAD_SIZE = 8192

# (magic prefix, kind, content type); checked in order.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpeg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
    (b"%PDF-", "pdf", "application/pdf"),
    (b"PK\x03\x04", "zip", "application/zip"),
    (b"PK\x05\x06", "zip", "application/zip"),
    (b"Rar!\x1a\x07", "rar", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z", "application/x-7z-compressed"),
)
_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux ELF
    b"\xcf\xfa\xed\xfe",
    b"\xce\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O
    b"#!",  # scripts
)
# Windows runs or installs these on a double click; most are text and pass a content check, so the name decides.
SCRIPT_EXTENSIONS = frozenset(
    {
        "ade", "adp", "app", "application", "appref-ms", "bas", "bat", "chm", "cmd", "com", "cpl", "crt",
        "dll", "exe", "gadget", "hta", "inf", "ins", "isp", "jar", "js", "jse", "lnk", "mde", "msc",
        "msh", "msh1", "msh2", "mshxml", "msi", "msp", "mst", "ocx", "pif", "ps1", "ps1xml", "ps2",
        "ps2xml", "psc1", "psc2", "psd1", "psm1", "reg", "scf", "scr", "sct", "shb", "shs", "sys", "url",
        "vb", "vbe", "vbs", "vxd", "ws", "wsc", "wsf", "wsh", "xbap", "xll",
    }
)  # fmt: skip
ALLOWED_KINDS = frozenset({"png", "jpeg", "gif", "pdf", "zip", "rar", "7z", "text"})
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
OPAQUE_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class SniffedType:
    kind: str
    content_type: str


def sniff(head: bytes) -> SniffedType | None:
    """Return the file's type judged from its first bytes, or None when it is not one we accept.

    BMP comes back as kind "bmp" so the caller can give the regulation's advice to zip it.
    """
    for magic in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return SniffedType("executable", "application/octet-stream")
    for magic, kind, content_type in _SIGNATURES:
        if head.startswith(magic):
            return SniffedType(kind, content_type)
    if head.startswith(b"BM") and len(head) >= 14:
        return SniffedType("bmp", "image/bmp")
    if _looks_like_text(head):
        return SniffedType("text", "text/plain")
    return None


def _looks_like_text(head: bytes) -> bool:
    """Plain text: no NUL or control bytes, and decodable as UTF-8 (or the legacy Cyrillic cp1251)."""
    if b"\x00" in head or any(b < 32 and b not in (9, 10, 12, 13) for b in head):
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if len(head) == HEAD_SIZE and exc.start >= HEAD_SIZE - 3:
            return True  # a multi-byte character cut by the end of the head
    try:
        head.decode("cp1251")
        return True
    except UnicodeDecodeError:
        return False


@dataclass(frozen=True)
class UploadLimits:
    per_file: int
    per_message: int


@dataclass
class CheckedUpload:
    name: str
    size: int
    content_type: str
    sha256: str
    fileobj: BinaryIO


def safe_name(name: str) -> str:
    """Keep a display name without path parts or control characters; "" when nothing usable is left."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip(" .")
    return name[:200]


def is_script_name(name: str) -> bool:
    """Return True for a name Windows would run or install (`fix.bat`, `invoice.pdf.js`)."""
    _stem, dot, extension = name.rpartition(".")
    return bool(dot) and extension.lower() in SCRIPT_EXTENSIONS


def check_uploads(
    files: list[tuple[str, BinaryIO]], limits: UploadLimits, *, any_type: bool = False
) -> list[CheckedUpload]:
    """Check every (name, file) pair by content and size; raise ValidationFailed naming each bad file.

    With `any_type` (a mail's attachments, F-15) every type is kept: one the web form would refuse (Word
    files, winmail.dat, attached messages) is stored as an opaque download, which the download answer
    forbids sniffing and running; empty parts carry nothing to keep and are left out.
    """
    problems: list[str] = []
    checked: list[CheckedUpload] = []
    total = 0
    for raw_name, fileobj in files:
        name = safe_name(raw_name)
        if not name:
            if not any_type:
                problems.append(_("A file has no usable name: rename the file and attach it again."))
                continue
            name = "file"
        fileobj.seek(0)
        head = fileobj.read(HEAD_SIZE)
        digest = hashlib.sha256()
        size = 0
        fileobj.seek(0)
        while chunk := fileobj.read(1024 * 1024):
            size += len(chunk)
            digest.update(chunk)
        fileobj.seek(0)
        total += size
        if size == 0:
            if not any_type:
                problems.append(_("%(name)s: the file is empty.") % {"name": name})
            continue
        if size > limits.per_file:
            problems.append(
                _("%(name)s: the file is larger than %(limit)s MB.")
                % {"name": name, "limit": _mb(limits.per_file)}
            )
            continue
        kind = sniff(head)
        if is_script_name(name) and not any_type:
            kind = SniffedType("executable", OPAQUE_TYPE)
        if (kind is None or kind.kind not in ALLOWED_KINDS) and any_type:
            checked.append(CheckedUpload(name, size, OPAQUE_TYPE, digest.hexdigest(), fileobj))
            continue
        if kind is None or kind.kind not in ALLOWED_KINDS:
            if kind is not None and kind.kind == "bmp":
                problems.append(
                    _(
                        "%(name)s: BMP images are not accepted. Please pack the file into a ZIP archive "
                        "or save it as PNG, then attach it again."
                    )
                    % {"name": name}
                )
            else:
                problems.append(
                    _(
                        "%(name)s: this type of file is not accepted. Allowed: JPG, GIF, PNG, PDF, TXT/LOG, "
                        "ZIP, RAR, 7Z."
                    )
                    % {"name": name}
                )
            continue
        checked.append(CheckedUpload(name, size, kind.content_type, digest.hexdigest(), fileobj))
    if total > limits.per_message and not problems:
        problems.append(
            _("The files together are larger than %(limit)s MB.") % {"limit": _mb(limits.per_message)}
        )
    if problems:
        raise ValidationFailed(" ".join(problems), field="files", errors={"files": problems})
    return checked


def _mb(size: int) -> str:
    return f"{size / MB:g}"


def random_storage_name(instance, filename: str) -> str:
    """Store files under random names with no extension: nothing uploaded is ever executable or guessable."""
    return f"attachments/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"
