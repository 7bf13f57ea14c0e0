"""Receive one file from a multipart/form-data body, streamed to a temporary file.

Starlette's `request.form()` spools each file to a SpooledTemporaryFile (1 MB in memory, then on
disk) with no size cap for files: a 200 MB body would be written out in full before any check.
Here python-multipart (the parser Starlette uses) is fed the body as it arrives, the file part is
written to disk in 256 kB batches, and the size limit stops the request at the first byte past it.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastapi import HTTPException, Request, status
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

FLUSH_BYTES = 256 * 1024
OTHER_PART_BYTES = 64 * 1024  # a stray text field is small; anything bigger is not ours
UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    filename: str
    size: int


class FileTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The file is too large: the limit is {limit / 1024 / 1024:g} MB.",
        )


def clean_filename(raw: bytes) -> str:
    """A display name: the last path segment, no control characters, at most 255 characters."""
    # Browsers (the HTML spec) send a double quote in a file name as %22.
    name = raw.decode("utf-8", "replace").replace("%22", '"').replace("\\", "/").rsplit("/", 1)[-1]
    name = UNSAFE_NAME.sub("", name).strip()
    return name[-255:] if name else "file"


class _FilePart:
    """The parser's callbacks: collects the `field` file part into `handle`, skips other parts."""

    def __init__(self, field: str, max_bytes: int) -> None:
        self.field = field.encode()
        self.max_bytes = max_bytes
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.in_file = False
        self.other_size = 0
        self.filename: str | None = None
        self.size = 0
        self.files = 0
        self.pending: list[bytes] = []
        self.pending_size = 0

    def on_part_begin(self) -> None:
        self.disposition = b""
        self.in_file = False
        self.other_size = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if options.get(b"name") == self.field and b"filename" in options:
            self.files += 1
            if self.files > 1:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Send one file per request.")
            self.in_file = True
            self.filename = clean_filename(options[b"filename"])

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            self.other_size += end - start
            if self.other_size > OTHER_PART_BYTES:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Only the field 'file' is expected.")
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise FileTooLarge(self.max_bytes)
        self.pending.append(data[start:end])
        self.pending_size += end - start

    def on_part_end(self) -> None:
        self.in_file = False

    def take_pending(self) -> list[bytes]:
        pending, self.pending, self.pending_size = self.pending, [], 0
        return pending


def _write(handle: BinaryIO, pieces: list[bytes]) -> None:
    for piece in pieces:
        handle.write(piece)


def _open_incoming(folder: Path) -> tuple[BinaryIO, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=folder, prefix="incoming-")
    return os.fdopen(descriptor, "wb"), Path(name)


async def receive_file(request: Request, *, field: str, max_bytes: int, folder: Path) -> ReceivedFile:
    """The body's `field` file, on disk in `folder`; 413 past `max_bytes`, 422 for a malformed body.
    The caller owns (and must remove) the returned file."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "Send the file as multipart/form-data in the field 'file'."
        )
    part = _FilePart(field, max_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": part.on_part_begin,
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
            "on_part_data": part.on_part_data,
            "on_part_end": part.on_part_end,
        },
    )
    handle, path = await asyncio.to_thread(_open_incoming, folder)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if part.pending_size >= FLUSH_BYTES:
                await asyncio.to_thread(_write, handle, part.take_pending())
        parser.finalize()
        await asyncio.to_thread(_write, handle, part.take_pending())
        handle.close()
    except BaseException as exc:
        handle.close()
        await asyncio.to_thread(path.unlink, missing_ok=True)
        if isinstance(exc, MultipartParseError):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The multipart body is malformed.") from exc
        if isinstance(exc, ClientDisconnect):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "The upload was interrupted.") from exc
        raise
    if part.filename is None:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "No file: send it in the multipart field 'file'.")
    return ReceivedFile(path, part.filename, part.size)
