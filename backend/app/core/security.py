"""Password hashing (argon2id) and JWT access tokens."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
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


# Tokens already verified (with the key that verified them), each with its expiry: a person's every
# request carries the same token, and PyJWT's decode takes ~50 µs warm, several times that in a
# burst (its HMAC key checks try PEM, SSH, DER and JSON parses on every call; py-spy: 13% of the
# event loop's CPU while 500 chats were admitted at once). Bounded: the oldest entry goes first.
VERIFIED_TOKENS_MAX = 4096
_verified: dict[tuple[str, str], tuple[TokenClaims, float]] = {}
EXPIRED = "Token expired. Please log in again."


def decode_access_token(token: str, key: str) -> TokenClaims:
    """The claims of a token signed with `key` (InvalidTokenError when it is not, or has expired).

    The revocation checks (the account's state and token version) are the caller's, every time."""
    known = _verified.get((token, key))
    if known is not None:
        claims, expires_at = known
        if expires_at > time.time():  # PyJWT's rule: expired once `exp` is reached
            return claims
        _verified.pop((token, key), None)
        raise InvalidTokenError(EXPIRED)
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat", "ver"]})
        claims = TokenClaims(user_id=int(payload["sub"]), token_version=int(payload["ver"]))
        expires_at = float(payload["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError(EXPIRED) from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidTokenError("Invalid token signature. Please log in again.") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidTokenError("Malformed token. Please log in again.") from exc
    if len(_verified) >= VERIFIED_TOKENS_MAX:
        _verified.pop(next(iter(_verified)), None)
    _verified[(token, key)] = (claims, expires_at)
    return claims
