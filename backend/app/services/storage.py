"""Where uploaded files live: a folder (DATA_DIR/uploads, the Docker volume) or an S3 bucket.

Keys are made by the app (`<user id>/<random hex>`), never from a file name. Every method that
touches the disk or the network runs in a thread, so a slow disk or S3 never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from app.core.config import Settings

CHUNK = 256 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified: datetime


class Storage(Protocol):
    """The few operations uploads need; `LocalStorage` and `S3Storage` implement them."""

    name: str

    async def save(self, key: str, source: Path) -> None:
        """Store the file at `source` under `key` (the source may be moved away)."""

    def chunks(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks (memory stays flat whatever the size)."""
        ...

    async def read(self, key: str) -> bytes:
        """The whole file (for the model, which takes the bytes inline)."""

    async def delete(self, keys: list[str]) -> None:
        """Remove these keys; a missing key is not an error."""

    async def list_objects(self) -> list[StoredObject]:
        """Every stored key (for the orphan sweep and backups)."""

    def local_path(self, key: str) -> Path | None:
        """The file on disk, when the storage is a folder (so it can be sent with sendfile)."""


class LocalStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or key.startswith("."):
            raise ValueError(f"bad storage key {key!r}")
        return path

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    async def save(self, key: str, source: Path) -> None:
        def move() -> None:
            target = self.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Same file system (the incoming folder is inside the root): a rename, not a copy.
            shutil.move(source, target)
            target.chmod(0o600)

        await asyncio.to_thread(move)

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def delete(self, keys: list[str]) -> None:
        def remove() -> None:
            for key in keys:
                self.path(key).unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    async def list_objects(self) -> list[StoredObject]:
        return await asyncio.to_thread(lambda: list(self._walk()))

    def _walk(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for folder, _, files in os.walk(self.root):
            relative = Path(folder).relative_to(self.root)
            if relative.parts and relative.parts[0].startswith("."):
                continue  # .incoming: bodies being received
            for file in files:
                path = Path(folder) / file
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                yield StoredObject((relative / file).as_posix(), modified)


class S3Storage:
    name = "s3"

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        import boto3  # type: ignore[import-untyped]  # only an S3 set-up needs it

        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url)
        self.bucket = bucket
        stripped = prefix.strip("/")
        self.prefix = f"{stripped}/" if stripped else ""

    def local_path(self, key: str) -> Path | None:
        return None

    async def save(self, key: str, source: Path) -> None:
        await asyncio.to_thread(
            self.client.upload_file,
            str(source),
            self.bucket,
            self.prefix + key,
            ExtraArgs={"ServerSideEncryption": "AES256"},
        )
        await asyncio.to_thread(source.unlink, missing_ok=True)

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self.prefix + key)
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def read(self, key: str) -> bytes:
        response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self.prefix + key)
        data: bytes = await asyncio.to_thread(response["Body"].read)
        return data

    async def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # the API's batch limit
            batch = [{"Key": self.prefix + key} for key in keys[start : start + 1000]]
            await asyncio.to_thread(
                self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )

    async def list_objects(self) -> list[StoredObject]:
        def listing() -> list[StoredObject]:
            found = []
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    found.append(StoredObject(item["Key"][len(self.prefix) :], item["LastModified"]))
            return found

        return await asyncio.to_thread(listing)


def incoming_dir(settings: Settings) -> Path:
    """Where request bodies are written while they arrive (inside the uploads folder: moving is a rename)."""
    return settings.uploads_dir / ".incoming"


def storage_for(settings: Settings) -> Storage:
    """The storage the settings choose; one per configuration (an S3 client costs ~50 ms to build)."""
    return _storage(
        settings.uploads_dir, settings.uploads_s3_bucket, settings.uploads_s3_prefix, settings.aws_endpoint_url
    )


@lru_cache(maxsize=8)
def _storage(root: Path, bucket: str | None, prefix: str, endpoint_url: str | None) -> Storage:
    if bucket:
        return S3Storage(bucket, prefix, endpoint_url)
    return LocalStorage(root)
