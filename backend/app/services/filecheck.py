"""What an uploaded file really is, decided from its bytes (never its name or the client's Content-Type),
and made safe to keep: images re-encoded without their metadata, PDFs parsed, text checked as UTF-8.

Everything here is synchronous and works on files on disk: the caller runs it in a thread.
"""

from __future__ import annotations

import codecs
import ctypes
import ctypes.util
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCEPTED_TYPES = "PNG, JPEG, WebP and GIF images, PDF documents, and UTF-8 text files (txt, md, csv, json, source code)"
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
PDF_TYPE = "application/pdf"
# Any UTF-8 text is kept as text/plain, HTML and SVG included: it is never rendered (served as an
# attachment with nosniff and a sandbox CSP), and the model reads it as text.
TEXT_TYPE = "text/plain"
CHUNK = 256 * 1024
ANIMATION_FACTOR = 4  # an animated GIF/WebP may hold, over all its frames, 4 x UPLOAD_IMAGE_MAX_PIXELS
# What a re-encoded image keeps from its source's info: how it looks and animates, no metadata.
KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background", "disposal")
# Decoding an image costs width x height x 4 bytes and pypdf holds a document's structure: one such
# check at a time per process keeps the peak bounded however many uploads arrive at once.
_heavy = threading.Semaphore(1)


def _find_malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_malloc_trim = _find_malloc_trim()


@contextmanager
def heavy_work() -> Iterator[None]:
    """One at a time; then hand the freed memory back to the OS (glibc keeps big freed blocks in its
    per-thread arenas otherwise, and the process's RSS would stay at its peak)."""
    with _heavy:
        try:
            yield
        finally:
            if _malloc_trim is not None:
                _malloc_trim(0)  # type: ignore[operator]


class FileRefused(Exception):
    """The file cannot be kept; `status_code` is 415 (type) or 413 (size) and the message says why."""

    def __init__(self, message: str, status_code: int = 415) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class CheckedFile:
    path: Path  # the file to store (a new one when an image was re-encoded)
    mime_type: str
    size: int
    sha256: str
    page_count: int | None = None


def sniff(head: bytes) -> str | None:
    """The accepted binary format these first bytes announce (PNG, JPEG, WEBP, GIF, PDF), else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"%PDF-"):
        return "PDF"
    return None


def check_file(path: Path, *, max_pixels: int) -> CheckedFile:
    """Decide the type of the file at `path` and return what to store; raises FileRefused."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise FileRefused("The file is empty.", 422)
    kind = sniff(head)
    if kind == "PDF":
        return CheckedFile(path, PDF_TYPE, path.stat().st_size, file_sha256(path), page_count=check_pdf(path))
    if kind is not None:
        cleaned = reencode_image(path, kind, max_pixels=max_pixels)
        return CheckedFile(cleaned, IMAGE_TYPES[kind], cleaned.stat().st_size, file_sha256(cleaned))
    check_text(path)
    return CheckedFile(path, TEXT_TYPE, path.stat().st_size, file_sha256(path))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_text(path: Path) -> None:
    """UTF-8 without NUL bytes (a binary file has them), read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK):
                if b"\x00" in chunk:
                    raise FileRefused(f"This file type is not supported. Accepted: {ACCEPTED_TYPES}.")
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise FileRefused(
                f"This file type is not supported (text must be UTF-8). Accepted: {ACCEPTED_TYPES}."
            ) from exc


def check_pdf(path: Path) -> int:
    """The page count of a PDF that pypdf can read; an unreadable or password-protected one is refused."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        # An open file, not the path: given a path, pypdf reads the whole document into memory.
        with heavy_work(), path.open("rb") as handle:
            reader = PdfReader(handle)
            if reader.is_encrypted and not reader.decrypt(""):
                raise FileRefused("This PDF is password-protected: remove the password and upload it again.")
            pages = len(reader.pages)
    except FileRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise FileRefused(f"This file is not a valid PDF. Accepted: {ACCEPTED_TYPES}.") from exc
    if pages < 1:
        raise FileRefused("This PDF has no pages.")
    return pages


def reencode_image(path: Path, kind: str, *, max_pixels: int) -> Path:
    """Check the image (refusing one too large before decoding it) and write it again without EXIF,
    GPS, XMP or comments; returns the new file (beside `path`).

    An upright JPEG (the usual photo) loses its metadata segments losslessly and is checked by a
    1/8-scale decode; any other image is decoded, turned upright by its EXIF orientation (the tag
    goes with the rest), and encoded again.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    target = path.with_name(path.name + ".clean")
    try:
        with heavy_work(), Image.open(path, formats=[kind]) as image:  # the header only, so far
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(width, height, max_pixels)
            frames = int(getattr(image, "n_frames", 1))  # counted from frame headers, not decoded
            if width * height * frames > max_pixels * ANIMATION_FACTOR:
                raise FileRefused(f"The animation is too large: {frames} frames of {width} × {height} pixels.", 413)
            if kind == "JPEG" and _orientation(image) == 1 and frames == 1:
                target.write_bytes(strip_jpeg_metadata(path.read_bytes()))
                with Image.open(target, formats=["JPEG"]) as check:
                    check.draft(None, (max(1, width // 8), max(1, height // 8)))
                    check.load()
                return target
            image.load()
            _save_clean(image, target, kind, frames, ImageOps)
    except FileRefused:
        target.unlink(missing_ok=True)
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own check, from the header too: far past ours
        target.unlink(missing_ok=True)
        raise FileRefused(f"The image is too large: more than {max_pixels / 1_000_000:g} megapixels.", 413) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        target.unlink(missing_ok=True)
        raise FileRefused(f"This file is not a valid {kind} image. Accepted: {ACCEPTED_TYPES}.") from exc
    return target


def _orientation(image: Any) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # a damaged EXIF block: it is dropped anyway
        return 1
    return int(value) if value in range(1, 9) else 1


# JPEG segments kept: JFIF (APP0), Adobe (APP14: how to read CMYK), ICC colour profiles (APP2), and
# everything that is not an APPn or a comment (tables, frame and scan headers).
_JFIF, _ICC, _ADOBE, _COMMENT, _SOS, _EOI = 0xE0, 0xE2, 0xEE, 0xFE, 0xDA, 0xD9


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without its EXIF, XMP, IPTC, comments and anything after the end of the image (where
    phones append extra pictures with their own EXIF), without decoding it."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("no JPEG start marker")
    out = bytearray(b"\xff\xd8")
    pos, size = 2, len(data)
    while pos < size:
        if data[pos] != 0xFF:
            raise ValueError("JPEG marker expected")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            break
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            out += bytes((0xFF, marker))
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > size:
            raise ValueError("truncated JPEG segment")
        segment = data[pos : pos + length]
        metadata = 0xE0 <= marker <= 0xEF or marker == _COMMENT
        is_icc = marker == _ICC and segment[2:14] == b"ICC_PROFILE\x00"
        if not metadata or marker in (_JFIF, _ADOBE) or is_icc:
            out += bytes((0xFF, marker)) + segment
        pos += length
        if marker == _SOS:  # entropy-coded data up to the next marker (FF00 is a stuffed byte, FFD0-7 restarts)
            end = pos
            while True:
                end = data.find(b"\xff", end)
                if end < 0 or end + 1 >= size:
                    raise ValueError("truncated JPEG scan")
                following = data[end + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    end += 2
                elif following == 0xFF:
                    end += 1
                else:
                    break
            out += data[pos:end]
            pos = end
    raise ValueError("no JPEG end marker")


def _too_many_pixels(width: int, height: int, limit: int) -> FileRefused:
    return FileRefused(
        f"The image is too large: {width} × {height} pixels; the limit is {limit / 1_000_000:g} megapixels.", 413
    )


def _save_clean(image: Any, target: Path, kind: str, frames: int, image_ops: Any) -> None:
    options: dict[str, Any] = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    if frames > 1:
        image.info = dict(options)
        image.save(target, format=kind, save_all=True, **options)
        return
    orientation = image.getexif().get(0x0112, 1)
    out = image
    if orientation in range(2, 9):
        out = image_ops.exif_transpose(image)  # the pixels turn, so the viewer needs no tag
    elif kind == "JPEG":
        options["quality"] = "keep"  # the source's tables: no visible loss from a second encoding
    if kind == "JPEG" and "quality" not in options:
        options["quality"] = 90
    if kind == "JPEG" and out.mode not in ("RGB", "L", "CMYK"):
        out = out.convert("RGB")
    out.info = {key: value for key, value in options.items() if key in KEPT_INFO}
    out.save(target, format=kind, **options)
