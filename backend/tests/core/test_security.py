"""Access tokens: a verified token is remembered, and what is remembered is still checked."""

from __future__ import annotations

import time

import jwt
import pytest

from app.core import security
from app.core.security import InvalidTokenError, create_access_token, decode_access_token

KEY = "k" * 64


@pytest.fixture(autouse=True)
def no_verified_tokens() -> None:
    security._verified.clear()


def signed(key: str = KEY, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": "7", "ver": 2, "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(payload, key, algorithm="HS256")


def test_a_token_is_verified_once_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    token = create_access_token(7, 2, KEY, 1).token
    first = decode_access_token(token, KEY)
    assert (first.user_id, first.token_version) == (7, 2)

    def no_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("a remembered token is not decoded again")

    monkeypatch.setattr(jwt, "decode", no_decode)
    assert decode_access_token(token, KEY) == first


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    token = signed(exp=int(now) + 60)
    decode_access_token(token, KEY)
    monkeypatch.setattr(time, "time", lambda: now + 61)
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_access_token(token, KEY)
    assert not security._verified  # and is forgotten


def test_only_the_exact_token_and_key_are_remembered() -> None:
    token = signed()
    decode_access_token(token, KEY)
    header, _payload, signature = token.split(".")
    tampered = f"{header}.{signed(sub='8').split('.')[1]}.{signature}"
    with pytest.raises(InvalidTokenError, match="signature"):
        decode_access_token(tampered, KEY)
    with pytest.raises(InvalidTokenError, match="signature"):
        decode_access_token(token, "another-key-" + "x" * 52)  # the same token, checked with another key
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_access_token(signed(exp=int(time.time()) - 1), KEY)
    assert list(security._verified) == [(token, KEY)]  # failures are never remembered


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "VERIFIED_TOKENS_MAX", 3)
    tokens = [signed(sub=str(n)) for n in range(5)]
    for token in tokens:
        decode_access_token(token, KEY)
    assert [token for token, _ in security._verified] == tokens[2:]  # the oldest went first
