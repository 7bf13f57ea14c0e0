"""Backups of the SQLite database: consistent copies taken while the app runs, kept locally and on S3.

A copy is made with SQLite's online backup API, which reads one consistent snapshot even while
the app writes (WAL: the app is never blocked), is checked with `PRAGMA integrity_check`, and is
written as a single self-contained file (journal mode DELETE). A restore goes through SQLite too,
so a stale `-wal` file next to the database can never be replayed over the restored data.

Uploaded files kept in DATA_DIR/uploads go beside it, in `<name>.uploads.tar`: the files the
snapshot's `uploads` table knows, so the two always agree. (With UPLOADS_S3_BUCKET the files are
already in S3 and are not copied.)
"""

from __future__ import annotations

import os
import re
import sqlite3
import tarfile
import tempfile
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.db import sqlite_file
from app.services.storage import LocalStorage, storage_for

NAME_PATTERN = re.compile(r"^conversa-\d{8}T\d{6}\.\d{3}Z\.db$")
BUSY_TIMEOUT_S = 30.0


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class BackupInfo:
    name: str
    location: str  # a path, or s3://bucket/key
    size: int
    modified: datetime


def database_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError("These backups are for SQLite. For PostgreSQL use pg_dump or your provider's backups.")
    database = sqlite_file(settings.sqlalchemy_url)
    if database is None:
        raise BackupError("The database is in memory: there is nothing to back up.")
    return database


def backup_dir(settings: Settings) -> Path:
    return settings.backup_dir or settings.data_dir / "backups"


def backup_name(now: datetime | None = None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"conversa-{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z.db"


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)


def check_integrity(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database of this app."""
    try:
        with closing(_connect_readonly(path)) as connection:
            result = connection.execute("PRAGMA integrity_check").fetchone()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc}).") from exc
    if result is None or result[0] != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result[0] if result else 'no answer'}.")
    if not {"users", "conversations", "messages"} <= tables:
        raise BackupError(f"{path} is not a Conversa database (its tables are missing).")


def _connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"There is no file at {path}.")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)


def snapshot(database: Path, destination: Path) -> Path:
    """Copy the live database to `destination` (atomically: a partial file never has the final name)."""
    if not database.is_file():
        raise BackupError(f"There is no database at {database}.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        source = _connect(database)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)  # one step: a single consistent read snapshot
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                target.close()
        finally:
            source.close()
        check_integrity(partial)
    except (BackupError, sqlite3.DatabaseError):
        partial.unlink(missing_ok=True)  # a damaged source leaves no half copy behind
        raise
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(destination)
    destination.chmod(0o600)  # the copy holds every conversation
    return destination


def local_backups(directory: Path) -> list[BackupInfo]:
    """This folder's backups, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if NAME_PATTERN.match(path.name) and path.is_file():
            stat = path.stat()
            found.append(BackupInfo(path.name, str(path), stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
    return sorted(found, key=lambda info: info.name)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest local backups beyond `keep` (0 keeps all)."""
    if keep <= 0:
        return []
    removed = []
    for info in local_backups(directory)[:-keep]:
        Path(info.location).unlink(missing_ok=True)
        uploads_archive(Path(info.location)).unlink(missing_ok=True)
        removed.append(Path(info.location))
    return removed


def create_backup(settings: Settings, directory: Path | None = None) -> Path:
    """A new consistent copy of the database in `directory` (default BACKUP_DIR) with its uploaded
    files beside it, then pruning."""
    directory = directory or backup_dir(settings)
    path = snapshot(database_path(settings), directory / backup_name())
    archive_uploads(settings, path)
    prune(directory, settings.backup_keep)
    return path


# -- uploaded files -------------------------------------------------------------------------------
def uploads_archive(backup: Path) -> Path:
    """The archive of uploaded files that goes with a database backup."""
    return backup.with_name(backup.name.removesuffix(".db") + ".uploads.tar")


def _upload_keys(database: Path) -> list[str]:
    with closing(_connect_readonly(database)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "uploads" not in tables:
            return []
        return [row[0] for row in connection.execute("SELECT storage_key FROM uploads ORDER BY id")]


def archive_uploads(settings: Settings, backup: Path) -> Path | None:
    """Write the files the backup's `uploads` table lists (local storage only) to its archive."""
    storage = storage_for(settings)
    keys = _upload_keys(backup)
    if not isinstance(storage, LocalStorage) or not keys:
        return None
    archive = uploads_archive(backup)
    partial = archive.with_name(archive.name + ".part")
    with tarfile.open(partial, "w") as tar:
        for key in keys:
            path = storage.path(key)
            if path.is_file():  # deleted since the snapshot: the restored row's file is gone anyway
                tar.add(path, arcname=key, recursive=False)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(archive)
    archive.chmod(0o600)
    return archive


def restore_uploads(settings: Settings, archive: Path) -> int:
    """Put the archived files back under DATA_DIR/uploads; returns how many."""
    root = settings.uploads_dir
    root.mkdir(parents=True, exist_ok=True)
    count = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                tar.extract(member, root, filter="data")  # no absolute paths, no .., no links out
                count += 1
    return count


# -- S3 -------------------------------------------------------------------------------------------
def _s3(settings: Settings) -> tuple[Any, str, str]:
    if not settings.backup_s3_bucket:
        raise BackupError("No S3 bucket configured: set BACKUP_S3_BUCKET.")
    import boto3  # type: ignore[import-untyped]  # only the S3 commands need it

    client = boto3.client("s3", endpoint_url=settings.aws_endpoint_url)
    prefix = settings.backup_s3_prefix.strip("/")
    return client, settings.backup_s3_bucket, f"{prefix}/" if prefix else ""


def upload(settings: Settings, path: Path) -> str:
    """Upload a backup file (and its uploads archive); returns its s3:// address."""
    client, bucket, prefix = _s3(settings)
    key = prefix + path.name
    archive = uploads_archive(path)
    if archive.is_file():
        client.upload_file(str(archive), bucket, prefix + archive.name, ExtraArgs={"ServerSideEncryption": "AES256"})
    client.upload_file(str(path), bucket, key, ExtraArgs={"ServerSideEncryption": "AES256"})
    return f"s3://{bucket}/{key}"


def s3_backups(settings: Settings) -> list[BackupInfo]:
    client, bucket, prefix = _s3(settings)
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = item["Key"][len(prefix) :]
            if NAME_PATTERN.match(name):
                found.append(BackupInfo(name, f"s3://{bucket}/{item['Key']}", item["Size"], item["LastModified"]))
    return sorted(found, key=lambda info: info.name)


def download(settings: Settings, key_or_name: str, destination: Path) -> Path:
    """Download a backup to `destination`, and its uploads archive beside it when there is one."""
    client, bucket, prefix = _s3(settings)
    key = key_or_name.removeprefix(f"s3://{bucket}/")
    if not key.startswith(prefix):
        key = prefix + key
    try:
        client.download_file(bucket, key, str(destination))
    except Exception as exc:  # botocore's ClientError: say which key, not a stack trace
        raise BackupError(f"Could not download s3://{bucket}/{key}: {exc}") from exc
    archive_key = key.removesuffix(".db") + ".uploads.tar"
    # Missing for a backup from before uploads, or without files: nothing more to restore.
    with suppress(Exception):
        client.download_file(bucket, archive_key, str(uploads_archive(destination)))
    return destination


# -- restore --------------------------------------------------------------------------------------
def keep_current(database: Path) -> Path:
    """Keep the database about to be replaced: a consistent copy, or, when it is damaged (often the
    reason for a restore), its files moved aside so the restore starts from a clean file."""
    kept = database.with_name(f"{database.name}.before-restore-{backup_name()[9:-3]}")
    try:
        return snapshot(database, kept)
    except (BackupError, sqlite3.DatabaseError):
        for suffix in ("", "-wal", "-shm"):
            current = database.with_name(database.name + suffix)
            if current.exists():
                current.replace(kept.with_name(kept.name + suffix))
        return kept


def restore_file(settings: Settings, backup: Path, *, force: bool) -> Path | None:
    """Replace the database with `backup`. Refuses to overwrite data without `force`; then the
    current database is first kept beside it (returned) so a wrong restore can be undone."""
    check_integrity(backup)
    database = database_path(settings)
    kept: Path | None = None
    if database.is_file() and database.stat().st_size > 0:
        if not force:
            raise BackupError(
                f"{database} already exists. Stop the app, then run restore again with --force to replace it "
                "(the current database is kept beside it)."
            )
        kept = keep_current(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    source = _connect_readonly(backup)
    try:
        target = _connect(database)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    archive = uploads_archive(backup)
    if archive.is_file():
        restore_uploads(settings, archive)
    return kept


def restore(settings: Settings, file_or_key: str, *, force: bool, from_s3: bool = False) -> tuple[str, Path | None]:
    """Restore from a local file (a path, or a name in BACKUP_DIR) or an S3 key; returns (source, kept)."""
    candidates = [Path(file_or_key), backup_dir(settings) / file_or_key]
    local = None if from_s3 else next((path for path in candidates if path.is_file()), None)
    if local is not None:
        return str(local), restore_file(settings, local, force=force)
    if not settings.backup_s3_bucket:
        raise BackupError(f"No backup file {file_or_key} (and no S3 bucket configured to look in).")
    with tempfile.TemporaryDirectory() as folder:
        downloaded = download(settings, file_or_key, Path(folder) / "conversa-restore.db")
        return file_or_key, restore_file(settings, downloaded, force=force)
