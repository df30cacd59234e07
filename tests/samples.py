"""Build real sample files for the attachment tests (F-04): valid PNG, BMP, GIF, PDF, ZIP, a PE stub.

Every builder returns bytes that the format's own readers accept: the PNG has correct CRCs and a
deflated IDAT, the BMP has a BITMAPFILEHEADER + BITMAPINFOHEADER and padded rows, the PDF has a
correct cross-reference table, the ZIP is written by `zipfile`. `write_all()` regenerates the copies
kept in tests/files (run `python -m tests.samples`); the executable sample is cut from /bin/true at
test time instead of being committed.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

FILES_DIR = Path(__file__).resolve().parent / "files"


# -- images ------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """Return a valid truecolour 8-bit PNG of one colour (signature, IHDR, IDAT, IEND)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width  # filter type 0 (None) + pixels
    idat = zlib.compress(row * height, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_decode_size(data: bytes) -> tuple[int, int, int]:
    """Parse a PNG, verify every chunk CRC and the IDAT stream; return (width, height, raw pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, width, height, idat = 8, 0, 0, b""
    kinds = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        kinds.append(kind)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND", kinds
    return width, height, len(zlib.decompress(idat))


def bmp_bytes(width: int = 3, height: int = 2, bgr: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """Return a valid 24-bit BMP: BITMAPFILEHEADER + BITMAPINFOHEADER + bottom-up rows padded to 4 bytes."""
    row = bytes(bgr) * width
    row += b"\x00" * ((4 - len(row) % 4) % 4)
    pixels = row * height
    offset = 14 + 40
    file_header = struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
    info_header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return file_header + info_header + pixels


def gif_bytes() -> bytes:
    """Return the classic valid 1x1 GIF89a (global colour table, one LZW-coded pixel, trailer)."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
        b"!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


# -- documents and archives ----------------------------------------------------------------------
def pdf_bytes(text: str = "Otklik test") -> bytes:
    """Return a minimal valid PDF 1.4 (catalog, pages, one page with text, font) with a correct xref."""
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def zip_bytes(members: dict[str, bytes] | None = None, *, stored: bool = False) -> bytes:
    """Return a ZIP archive written by zipfile (deflated unless `stored`)."""
    members = (
        members if members is not None else {"screenshot.bmp": bmp_bytes(), "notes.txt": b"see attached\n"}
    )
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def incompressible_zip(size: int) -> bytes:
    """Return a real ZIP of about `size` bytes (one stored member of random bytes) for size-limit tests."""
    return zip_bytes({"dump.bin": os.urandom(max(size - 200, 1))}, stored=True)


def log_bytes() -> bytes:
    """Return a UTF-8 server log with Russian and English lines."""
    lines = [
        "2025-03-03 10:15:02 ERROR Ошибка подключения к базе данных: timeout",
        "2025-03-03 10:15:03 WARN  retrying in 5 s",
        "2025-03-03 10:15:08 INFO  connected",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- executables -------------------------------------------------------------------------------
def pe_stub_bytes() -> bytes:
    """Return the headers of a Windows PE file: DOS header with e_lfanew, DOS stub, PE signature, COFF header."""
    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    stub = b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - 64, b"\x00")
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 0xF0, 0x22)
    return bytes(dos) + stub + b"PE\x00\x00" + coff + b"\x00" * 512


def elf_bytes(limit: int = 64 * 1024) -> bytes:
    """Return the first `limit` bytes of a real ELF executable of this machine (/bin/true)."""
    for candidate in ("/bin/true", "/usr/bin/true", "/bin/sh"):
        if os.path.exists(candidate):
            with open(candidate, "rb") as fh:
                return fh.read(limit)
    raise FileNotFoundError("no ELF executable found")


# Files kept in tests/files (name -> builder); regenerated by write_all().
COMMITTED = {
    "screenshot.png": png_bytes,
    "screenshot.bmp": bmp_bytes,
    "pixel.gif": gif_bytes,
    "invoice.pdf": pdf_bytes,
    "logs.zip": lambda: zip_bytes({"server.log": log_bytes(), "notes.txt": b"see attached\n"}),
    "server.log": log_bytes,
    "setup.exe.png": pe_stub_bytes,
}


def sample_path(name: str) -> Path:
    """Return the path of a committed sample file, writing it first if it is missing."""
    path = FILES_DIR / name
    if not path.exists():
        FILES_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(COMMITTED[name]())
    return path


def write_all() -> None:
    FILES_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in COMMITTED.items():
        (FILES_DIR / name).write_bytes(build())


if __name__ == "__main__":
    write_all()
