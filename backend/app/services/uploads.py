"""Uploads: checked and stored files, the per-user quota, deletion with their conversation, cleanup."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import Select, Table, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.models import Message, MessageAttachment, Upload, User, utcnow
from app.services.filecheck import CheckedFile, FileRefused, check_file
from app.services.storage import Storage, incoming_dir

logger = logging.getLogger("app.uploads")
MB = 1024 * 1024
ORPHAN_GRACE = timedelta(hours=1)  # a stored file with no row yet may be an upload being committed
SWEEP_EVERY_S = 3600.0
_last_sweep = 0.0


class QuotaExceeded(Exception):
    def __init__(self, used: int, quota: int) -> None:
        super().__init__(
            f"Your uploads use {used / MB:.1f} MB of your {quota / MB:g} MB. "
            "Delete some conversations with files to make room."
        )
        self.message = str(self)
        self.used = used
        self.quota = quota


@dataclass(frozen=True)
class CleanupReport:
    unattached: int
    orphans: int


def _used(user_id: int) -> Select[int]:
    """The bytes of the user's files (the quota's measure)."""
    return select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.user_id == user_id)


async def used_bytes(session: AsyncSession, user_id: int) -> int:
    total = await session.scalar(_used(user_id))
    return int(total or 0)


async def check_quota(session: AsyncSession, user_id: int, settings: Settings, adding: int = 0) -> None:
    """Raise QuotaExceeded when the user's files plus `adding` bytes pass UPLOAD_USER_QUOTA_MB."""
    if settings.upload_user_quota_mb <= 0:
        return
    quota = settings.upload_user_quota_mb * MB
    used = await used_bytes(session, user_id)
    if used + adding > quota or (adding == 0 and used >= quota):
        raise QuotaExceeded(used, quota)


def new_key(user_id: int) -> str:
    return f"{user_id}/{secrets.token_hex(16)}"


async def store_upload(
    session: AsyncSession, storage: Storage, settings: Settings, user_id: int, name: str, received: Path
) -> Upload:
    """Check the received file, store it and record it; raises FileRefused or QuotaExceeded.
    `received` (and any re-encoded copy) is removed whatever happens."""
    checked: CheckedFile | None = None
    try:
        checked = await asyncio.to_thread(check_file, received, max_pixels=settings.upload_image_max_pixels)
        await check_quota(session, user_id, settings, adding=checked.size)  # early answer: nothing is saved
        await session.commit()  # no transaction stays open while the file is written (S3 may take a while)
        upload = Upload(
            user_id=user_id,
            name=name,
            mime_type=checked.mime_type,
            size=checked.size,
            storage_key=new_key(user_id),
            sha256=checked.sha256,
            page_count=checked.page_count,
            created_at=utcnow(),
        )
        await storage.save(upload.storage_key, checked.path)
        try:
            upload.id = await _insert_within_quota(session, settings, upload)
            await session.commit()
        except BaseException:
            await session.rollback()
            await storage.delete([upload.storage_key])
            raise
        return upload
    finally:
        await asyncio.to_thread(_remove, received, checked.path if checked else None)


_UPLOADS = cast(Table, Upload.__table__)
_COLUMNS = ("user_id", "name", "mime_type", "size", "storage_key", "sha256", "page_count", "created_at")


async def _insert_within_quota(session: AsyncSession, settings: Settings, upload: Upload) -> int:
    """Insert the row only if the user's files still fit: the quota is read inside the INSERT, so two
    uploads racing each other cannot both pass a check made before either was written. SQLite runs
    the statement under its write lock; PostgreSQL first locks the user's row (its snapshots would
    let both read the old total)."""
    values = [literal(getattr(upload, column), _UPLOADS.c[column].type) for column in _COLUMNS]
    row = select(*values)
    if settings.upload_user_quota_mb > 0:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(select(User.id).where(User.id == upload.user_id).with_for_update())
        row = row.where(_used(upload.user_id).scalar_subquery() + upload.size <= settings.upload_user_quota_mb * MB)
    statement = insert(_UPLOADS).from_select(list(_COLUMNS), row).returning(_UPLOADS.c.id)
    upload_id = (await session.execute(statement)).scalar()
    if upload_id is None:
        used_now = await used_bytes(session, upload.user_id)
        raise QuotaExceeded(used_now, settings.upload_user_quota_mb * MB)
    return int(upload_id)


async def delete_uploads(session: AsyncSession, storage: Storage, uploads: Sequence[Upload]) -> None:
    """Remove the rows, then the files (a file left by a failed delete is swept as an orphan)."""
    if not uploads:
        return
    keys = [upload.storage_key for upload in uploads]
    ids = [upload.id for upload in uploads]
    await session.execute(delete(MessageAttachment).where(MessageAttachment.upload_id.in_(ids)))
    await session.execute(delete(Upload).where(Upload.id.in_(ids)))
    await session.commit()
    await storage.delete(keys)


async def conversation_uploads(session: AsyncSession, conversation_id: int) -> list[Upload]:
    messages = select(Message.id).where(Message.conversation_id == conversation_id)
    return list(await session.scalars(select(Upload).where(Upload.message_id.in_(messages))))


async def cleanup(session: AsyncSession, storage: Storage, settings: Settings) -> CleanupReport:
    """Remove uploads never attached to a message (or whose message is gone) after
    UPLOADS_UNATTACHED_HOURS, and stored files that no row knows (left by a crash or a failed delete)."""
    cutoff = utcnow() - timedelta(hours=settings.uploads_unattached_hours)
    stale = list(await session.scalars(select(Upload).where(Upload.message_id.is_(None), Upload.created_at < cutoff)))
    await delete_uploads(session, storage, stale)
    known = set(await session.scalars(select(Upload.storage_key)))
    await session.commit()  # end the read transaction before the (slow) listing
    grace = utcnow() - ORPHAN_GRACE
    orphans = [item.key for item in await storage.list_objects() if item.key not in known and item.modified < grace]
    await storage.delete(orphans)
    orphans += await asyncio.to_thread(_remove_stale_incoming, incoming_dir(settings), grace.timestamp())
    return CleanupReport(unattached=len(stale), orphans=len(orphans))


def _remove(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            path.unlink(missing_ok=True)


def _remove_stale_incoming(folder: Path, before: float) -> list[str]:
    """Bodies a crashed process was receiving."""
    removed = []
    for path in folder.glob("incoming-*") if folder.is_dir() else []:
        if path.stat().st_mtime < before:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


async def sweep_if_due(sessionmaker: async_sessionmaker[AsyncSession], storage: Storage, settings: Settings) -> None:
    """Run the cleanup at most once an hour per process (called after uploads, in the background)."""
    global _last_sweep  # one timestamp per process
    now = time.monotonic()
    if _last_sweep and now - _last_sweep < SWEEP_EVERY_S:
        return
    _last_sweep = now
    try:
        async with sessionmaker() as session:
            report = await cleanup(session, storage, settings)
        if report.unattached or report.orphans:
            logger.info("uploads cleanup: %d unattached, %d orphan files removed", report.unattached, report.orphans)
    except Exception:
        logger.exception("uploads cleanup failed")


__all__ = ["CleanupReport", "FileRefused", "QuotaExceeded", "check_quota", "cleanup", "store_upload"]
