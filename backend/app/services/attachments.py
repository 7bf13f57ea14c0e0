"""Files sent with messages: claiming uploads for a message, reading them for a page, and
loading their bytes for the model's history.

An upload belongs to the messages that link it (`message_attachments`); an edited question links
the original's files (no copy of the bytes, no second count against the quota). `Upload.message_id`
is the message it was first sent in: set, it means "attached" (the cleanup leaves it alone).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError
from app.llm import Attachment, CannotReadImages, ChatTurn
from app.models import Message, MessageAttachment, Upload
from app.services.filecheck import IMAGE_TYPES
from app.services.storage import Storage

logger = logging.getLogger("app.attachments")
# Gemini refuses a request over 20 MB, and base64 makes a file 4/3 larger: 14 MiB of files is
# ~19.6 MB encoded. A new message's images and PDFs must fit in it (else 413 before anything is
# stored); earlier turns' files are sent again, newest first, in what the new message left, and
# older ones become a note.
INLINE_REQUEST_BYTES = 14 * 1024 * 1024
MB = 1024 * 1024
_IMAGE_MIME_TYPES = frozenset(IMAGE_TYPES.values())
_LINKS = cast(Table, MessageAttachment.__table__)


class AttachmentNotFound(AppError):
    code = "not_found"
    status_code = 404
    default_message = "File not found"


class TooManyAttachments(AppError):
    code = "too_many_attachments"
    status_code = 422
    default_message = "Too many files in one message."


class FilesTooLargeTogether(AppError):
    code = "files_too_large"
    status_code = 413
    default_message = "These files are too large to send together."


class AttachmentInUse(AppError):
    code = "attachment_in_use"
    status_code = 409
    default_message = "This file was already sent in a message; upload it again to send it once more."


async def claim_uploads(
    session: AsyncSession, user_id: int, upload_ids: Sequence[int], *, vision: bool, limit: int
) -> list[Upload]:
    """The user's uploads with these ids, in the order given, not yet sent in any message.

    More than `limit` (UPLOADS_PER_MESSAGE) is 422, another user's (or a missing) id 404, one
    already sent 409, an image for a model that cannot read images 422: all before anything is stored.
    """
    if not upload_ids:
        return []
    if len(upload_ids) > limit:
        raise TooManyAttachments(f"Too many files in one message ({len(upload_ids)}); the limit is {limit}.")
    found = {
        upload.id: upload
        for upload in await session.scalars(select(Upload).where(Upload.id.in_(upload_ids), Upload.user_id == user_id))
    }
    if len(found) != len(set(upload_ids)):
        raise AttachmentNotFound()
    uploads = [found[upload_id] for upload_id in upload_ids]
    if any(upload.message_id is not None for upload in uploads):
        raise AttachmentInUse()
    if not vision and any(upload.mime_type in _IMAGE_MIME_TYPES for upload in uploads):
        raise CannotReadImages()
    inline = sum(upload.size for upload in uploads if vision and _sent_inline(upload.mime_type))
    if inline > INLINE_REQUEST_BYTES:
        raise FilesTooLargeTogether(
            f"These images and PDFs are {inline / MB:.1f} MB together; the model takes at most "
            f"{INLINE_REQUEST_BYTES / MB:g} MB of them in one message. Send them in separate messages."
        )
    return uploads


def _sent_inline(mime_type: str) -> bool:
    """Sent to a model with vision as the file's own bytes (text files go as text)."""
    return mime_type in _IMAGE_MIME_TYPES or mime_type == "application/pdf"


async def check_readable(session: AsyncSession, message_id: int, *, vision: bool) -> None:
    """Raise CannotReadImages when the message carries an image and the model cannot read images: a
    regenerate or an edit of a question whose conversation has moved to a text-only model."""
    if vision:
        return
    image = await session.scalar(
        select(MessageAttachment.upload_id)
        .join(Upload, Upload.id == MessageAttachment.upload_id)
        .where(MessageAttachment.message_id == message_id, Upload.mime_type.in_(_IMAGE_MIME_TYPES))
        .limit(1)
    )
    if image is not None:
        raise CannotReadImages()


async def attach(session: AsyncSession, message_id: int, uploads: Sequence[Upload]) -> None:
    """Link the claimed uploads to the new message, in the caller's transaction.

    The update only takes uploads still unattached: of two requests sending the same file at
    once, the second gets 409 (and its transaction, message included, is rolled back).
    """
    if not uploads:
        return
    ids = [upload.id for upload in uploads]
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Upload).where(Upload.id.in_(ids), Upload.message_id.is_(None)).values(message_id=message_id)
        ),
    )
    if result.rowcount != len(ids):
        raise AttachmentInUse()
    await session.execute(
        insert(_LINKS),
        [{"message_id": message_id, "upload_id": upload_id, "position": i} for i, upload_id in enumerate(ids)],
    )
    for upload in uploads:
        upload.message_id = message_id


async def copy_attachments(session: AsyncSession, from_message_id: int, to_message_id: int) -> None:
    """The edited question gets the original's files (one statement; nothing when it had none)."""
    rows = select(literal(to_message_id), _LINKS.c.upload_id, _LINKS.c.position).where(
        _LINKS.c.message_id == from_message_id
    )
    await session.execute(insert(_LINKS).from_select(["message_id", "upload_id", "position"], rows))


async def files_of(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, list[Upload]]:
    """Each message's files in order, with one query."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(MessageAttachment.message_id, Upload)
        .join(Upload, Upload.id == MessageAttachment.upload_id)
        .where(MessageAttachment.message_id.in_(message_ids))
        .order_by(MessageAttachment.message_id, MessageAttachment.position, Upload.id)
    )
    found: dict[int, list[Upload]] = defaultdict(list)
    for message_id, upload in rows:
        found[message_id].append(upload)
    return found


async def attach_attachments(session: AsyncSession, messages: Sequence[Message]) -> None:
    """Fill `message.attachments` for a page with one query (user messages only carry files)."""
    ids = [message.id for message in messages if message.role == "user"]
    if not ids:
        return
    found = await files_of(session, ids)
    for message in messages:
        message.attachments = found.get(message.id, [])


async def read_files(
    storage: Storage, uploads: Sequence[Upload], byte_budget: int | None = None
) -> tuple[Attachment, ...]:
    """The uploads as the LLM layer's plain attachments, bytes read from the storage.

    With `byte_budget`, a file that no longer fits becomes a short note instead of its bytes.
    """
    files: list[Attachment] = []
    used = 0
    for upload in uploads:
        if byte_budget is not None and used + upload.size > byte_budget:
            files.append(_note(upload, "not sent again: the conversation's earlier files are too large together"))
            continue
        try:
            data = await storage.read(upload.storage_key)
        except Exception:  # a file lost from the storage must not break the whole conversation
            logger.warning("upload %s could not be read from the %s storage", upload.id, storage.name)
            files.append(_note(upload, "missing from the server's storage"))
            continue
        used += len(data)
        files.append(Attachment(upload.name, upload.mime_type, data=data, page_count=upload.page_count))
    return tuple(files)


def _note(upload: Upload, why: str) -> Attachment:
    return Attachment(upload.name, "text/plain", text=f"[{why}]")


async def history_with_files(
    session: AsyncSession,
    storage: Storage,
    turns: Sequence[tuple[int, ChatTurn]],
    with_files: Sequence[int],
) -> tuple[list[ChatTurn], list[Upload]]:
    """The history with its files' bytes, and the last turn's uploads (the question's).

    Only the turns of the history are read (bounded by CHAT_HISTORY_MAX_MESSAGES and
    UPLOADS_PER_MESSAGE); the newest turn's files always, older ones newest first within what
    they left of INLINE_REQUEST_BYTES.
    """
    found = await files_of(session, with_files)
    last_id = turns[-1][0] if turns else None
    budget = INLINE_REQUEST_BYTES
    result: list[ChatTurn] = []
    for message_id, turn in reversed(turns):
        uploads = found.get(message_id)
        if not uploads:
            result.append(turn)
            continue
        files = await read_files(storage, uploads, byte_budget=None if message_id == last_id else max(0, budget))
        budget -= sum(len(f.data) for f in files if f.data is not None)
        result.append(ChatTurn(turn.role, turn.content, files))
    result.reverse()
    return result, found.get(last_id, []) if last_id is not None else []
