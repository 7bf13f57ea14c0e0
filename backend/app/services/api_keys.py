"""Personal API keys: `cv-` + 43 random URL-safe characters, shown once, stored as a SHA-256 hash.

A fast hash is right here (unlike passwords): the key carries 256 bits of randomness, so there is
nothing to guess, and a lookup by hash costs one indexed query per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey, User, utcnow

KEY_PREFIX = "cv-"
KEY_BYTES = 32
SHOWN_PREFIX_CHARS = len(KEY_PREFIX) + 8  # what the list shows: "cv-AbCd1234"
# last_used_at is written at most this often per key: not a database write on every call.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


async def create_key(session: AsyncSession, user: User, name: str) -> tuple[ApiKey, str]:
    """The new key's row and the key itself: the only time the key exists outside the caller."""
    key = generate_key()
    row = ApiKey(user_id=user.id, name=name, prefix=key[:SHOWN_PREFIX_CHARS], key_hash=hash_key(key))
    session.add(row)
    await session.commit()
    return row, key


async def list_keys(session: AsyncSession, user: User) -> list[ApiKey]:
    rows = await session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id.desc()))
    return list(rows)


async def get_owned_key(session: AsyncSession, user: User, key_id: int) -> ApiKey | None:
    row = await session.get(ApiKey, key_id)
    return row if row is not None and row.user_id == user.id else None


async def delete_key(session: AsyncSession, row: ApiKey) -> None:
    await session.delete(row)
    await session.commit()


async def authenticate_key(session: AsyncSession, key: str) -> User | None:
    """The active user owning this key, or None. Keys are found by their hash, never compared in plain."""
    digest = hash_key(key)
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    # The lookup already matched; compare_digest keeps the final check constant-time all the same.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        await session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
        await session.commit()
    return user
