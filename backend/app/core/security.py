"""Password hashing (argon2id) and JWT access tokens."""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
password_hash = PasswordHash((Argon2Hasher(),))
# argon2 takes ~0.1 s of CPU and 64 MB per hash: at most two at a time (memory on a 1 GB box).
_HASHING_SLOTS = threading.BoundedSemaphore(2)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time (made on first use)."""
    return password_hash.hash("conversa-dummy-password")


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        password_hash.verify(password, _dummy_hash())
        return False
    return password_hash.verify(password, hashed)


def _hash_in_slot(password: str) -> str:
    with _HASHING_SLOTS:
        return hash_password(password)


def _verify_in_slot(password: str, hashed: str | None) -> bool:
    with _HASHING_SLOTS:
        return verify_password(password, hashed)


async def hash_password_async(password: str) -> str:
    """hash_password on a worker thread: the event loop keeps serving (streams) meanwhile."""
    return await asyncio.to_thread(_hash_in_slot, password)


async def verify_password_async(password: str, hashed: str | None) -> bool:
    """verify_password on a worker thread: the event loop keeps serving (streams) meanwhile."""
    return await asyncio.to_thread(_verify_in_slot, password, hashed)


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    token_version: int


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired or tampered with; the message says which."""


def create_access_token(user_id: int, token_version: int, key: str, ttl_days: int) -> AccessToken:
    now = datetime.now(UTC)
    expires_at = now + timedelta(days=ttl_days)
    payload = {"sub": str(user_id), "ver": token_version, "iat": now, "exp": expires_at}
    return AccessToken(jwt.encode(payload, key, algorithm=ALGORITHM), expires_at.replace(microsecond=0))


def decode_access_token(token: str, key: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat", "ver"]})
        return TokenClaims(user_id=int(payload["sub"]), token_version=int(payload["ver"]))
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("Token expired. Please log in again.") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidTokenError("Invalid token signature. Please log in again.") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidTokenError("Malformed token. Please log in again.") from exc
