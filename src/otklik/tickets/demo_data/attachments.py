"""Small but valid files the demo's clients attach: a server log, a screenshot (PNG), a statement (PDF)."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

from otklik.tickets.services import Upload

MOSCOW = ZoneInfo("Europe/Moscow")


def _png(width: int = 160, height: int = 90, seed: int = 0) -> bytes:
    """Return a small, valid PNG (a fake screenshot: a grey window with a title bar and text lines)."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            if y < 12:
                pixel = (52, 101, 164)
            elif 20 <= y < 80 and y % 10 < 3 and 10 <= x < 60 + ((y * 7 + seed) % 90):
                pixel = (90, 90, 90)
            else:
                pixel = (242, 242, 242)
            row += bytes(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _pdf(text: str) -> bytes:
    """Return a one-page PDF showing a line of ASCII text."""
    safe = "".join(c for c in text if 32 <= ord(c) < 127 and c not in "()\\")
    stream = f"BT /F1 12 Tf 40 800 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _log(at: datetime, order: str) -> bytes:
    stamp = at.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        f"[{stamp}] PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate "
        "20480 bytes) in /home/bitrix/www/local/modules/shop/lib/discount/calculator.php on line 412",
        f"[{stamp}] Request: POST /personal/order/make/ order={order}",
        f"[{stamp}] Stack trace: #0 DiscountCalculator->apply() #1 OrderSaver->save() #2 {{main}}",
    ]
    return ("\n".join(lines) + "\n").encode()


def attachment(kind: str, lang: str, at: datetime, values: dict[str, str], seed: int) -> Upload:
    if kind == "log":
        return Upload(name="error.log", fileobj=io.BytesIO(_log(at, values["order"])))
    if kind == "pdf":
        name = "выписка.pdf" if lang == "ru" else "statement.pdf"
        return Upload(name=name, fileobj=io.BytesIO(_pdf(f"Statement: order {values['order']}")))
    name = "снимок экрана.png" if lang == "ru" else "screenshot.png"
    return Upload(name=name, fileobj=io.BytesIO(_png(seed=seed)))
