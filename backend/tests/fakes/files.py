"""Small real files of every accepted type (and a few hostile ones), made on the fly."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def exif_bytes(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[MAKE] = "SecretCam"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "S", 2: (23.0, 33.0, 1.0), 3: "W", 4: (46.0, 37.0, 59.0)}
    return exif.tobytes()


def image(kind: str, size: tuple[int, int] = (40, 20), *, orientation: int = 1, color: str = "red") -> bytes:
    """An image with EXIF (camera make, orientation, GPS) where the format can carry it."""
    picture = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    if kind == "GIF":
        picture.save(buffer, "GIF", comment=b"SecretCam comment")
    else:
        picture.save(buffer, kind, exif=exif_bytes(orientation))
    return buffer.getvalue()


def pdf(pages: int = 2, text: str | None = None) -> bytes:
    """A PDF of blank pages, or of one page per line of `text` (extractable with pypdf)."""
    if text is None:
        from pypdf import PdfWriter

        writer = PdfWriter()
        for _ in range(pages):
            writer.add_blank_page(width=200, height=200)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()
    return _text_pdf(text.splitlines())


def _text_pdf(lines: list[str]) -> bytes:
    """A minimal hand-written PDF with one line of Helvetica text per page."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(lines)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(lines)} >>".encode())
    font_id = 3 + 2 * len(lines)
    for i, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 20 100 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
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


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid-looking PNG of a few hundred bytes whose header declares width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = b"\x00" + b"\x00" * 3 * 64
    idat = zlib.compress(row * 64, 9)  # far too little data: decoding would have to invent the rest
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>\n'
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100
