"""Sign-up, login, tokens and password changes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.conftest import PASSWORD, Api


async def test_register_lowercases_email_and_first_user_is_admin(api: Api) -> None:
    first = await api.register("Ana@Example.COM")
    second = await api.register("bruno@example.com")
    assert first["email"] == "ana@example.com"
    assert first["is_admin"] is True
    assert second["is_admin"] is False
    assert "hashed_password" not in first


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, 422),
        ({"email": "a@example.com", "password": "short"}, 422),
        ({"email": "a@example.com"}, 422),
        ({"email": "a@example.com", "password": PASSWORD, "is_admin": True}, 422),
    ],
)
async def test_register_rejects_bad_input(api: Api, body: dict[str, object], status: int) -> None:
    response = await api.client.post("/api/auth/register", json=body)
    assert response.status_code == status
    assert response.json()["detail"]


async def test_duplicate_email_is_a_conflict(api: Api) -> None:
    await api.register("ana@example.com")
    response = await api.client.post("/api/auth/register", json={"email": "ANA@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


async def test_signup_can_be_turned_off(app_factory, make_settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    app = await app_factory(make_settings(allow_signup=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post("/api/auth/register", json={"email": "a@example.com", "password": PASSWORD})
        health = await client.get("/api/health")
    assert response.status_code == 403
    assert health.json()["allow_signup"] is False


async def test_login_returns_a_7_day_bearer_token(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    user = await api.register("ana@example.com")
    response = await api.client.post("/api/auth/login", json={"email": "ANA@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], app.state.context.signing_key, algorithms=["HS256"])
    assert claims["sub"] == str(user["id"])
    assert {"exp", "iat", "ver"} <= claims.keys()
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)


@pytest.mark.usefixtures("real_password_hashing")
async def test_wrong_password_and_unknown_email_look_the_same(api: Api) -> None:
    await api.register("ana@example.com")
    timings = {}
    responses = {}
    for label, email in (("wrong password", "ana@example.com"), ("unknown email", "nobody@example.com")):
        started = time.perf_counter()
        responses[label] = await api.client.post("/api/auth/login", json={"email": email, "password": "wrong-password"})
        timings[label] = time.perf_counter() - started
    assert responses["wrong password"].status_code == responses["unknown email"].status_code == 401
    assert responses["wrong password"].json() == responses["unknown email"].json()
    # Both verify an argon2 hash: neither is an order of magnitude faster than the other.
    assert timings["unknown email"] > timings["wrong password"] / 5


async def test_me_needs_a_valid_token(api: Api, alice: dict[str, str]) -> None:
    assert (await api.client.get("/api/auth/me", headers=alice)).json()["email"] == "alice@example.com"
    for headers, reason in (
        ({}, "Not authenticated"),
        ({"Authorization": "Bearer not.a.jwt"}, "Malformed"),
        ({"Authorization": "Basic abc"}, "Not authenticated"),
    ):
        response = await api.client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401
        assert reason in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"


async def test_tampered_and_expired_tokens_are_refused(api: Api, app, alice: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    token = alice["Authorization"].split()[1]
    claims = jwt.decode(token, app.state.context.signing_key, algorithms=["HS256"])
    forged = jwt.encode({**claims, "sub": "999"}, "another-key-that-is-long-enough-32b", algorithm="HS256")
    response = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, app.state.context.signing_key, algorithm="HS256")
    response = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_password_change_revokes_older_tokens(api: Api, alice: dict[str, str]) -> None:
    wrong = await api.client.post(
        "/api/auth/password", headers=alice, json={"current_password": "nope-nope", "new_password": "new-password-1"}
    )
    assert wrong.status_code == 400
    response = await api.client.post(
        "/api/auth/password", headers=alice, json={"current_password": PASSWORD, "new_password": "new-password-1"}
    )
    assert response.status_code == 200
    fresh = {"Authorization": f"Bearer {response.json()['access_token']}"}
    old = await api.client.get("/api/auth/me", headers=alice)
    assert old.status_code == 401
    assert "revoked" in old.json()["detail"]
    assert (await api.client.get("/api/auth/me", headers=fresh)).status_code == 200
    assert (
        await api.client.post("/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    ).status_code == 401
    await api.login("alice@example.com", "new-password-1")


async def test_login_is_throttled_per_email(app_factory, make_settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    app = await app_factory(make_settings(login_rate_limit="3/hour"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        await client.post("/api/auth/register", json={"email": "ana@example.com", "password": PASSWORD})
        statuses = [
            (
                await client.post("/api/auth/login", json={"email": "ana@example.com", "password": "bad-password"})
            ).status_code
            for _ in range(4)
        ]
        blocked = await client.post("/api/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
        other = await client.post("/api/auth/login", json={"email": "other@example.com", "password": "bad-password"})
    assert statuses == [401, 401, 401, 429]
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert other.status_code == 401


async def test_every_protected_route_requires_a_token(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    public = {"/api/health", "/api/auth/register", "/api/auth/login", "/api/shared/{share_id}"}
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if path in public:
            continue
        for method in operations:
            response = await api.client.request(
                method, path.replace("{conversation_id}", "1").replace("{key_id}", "1"), json={}
            )
            assert response.status_code == 401, f"{method} {path} -> {response.status_code}"
            checked += 1
    assert checked >= 10


async def test_sign_ups_racing_on_an_empty_database_make_exactly_one_admin(api: Api) -> None:
    import asyncio

    emails = [f"racer{i}@example.com" for i in range(6)]
    responses = await asyncio.gather(
        *(api.client.post("/api/auth/register", json={"email": e, "password": PASSWORD}) for e in emails)
    )
    assert [r.status_code for r in responses] == [201] * len(emails)
    assert sum(r.json()["is_admin"] for r in responses) == 1
