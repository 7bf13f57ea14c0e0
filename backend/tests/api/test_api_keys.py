"""Personal API keys: shown once, stored only as a SHA-256 hash, revoked at once, refused for a
disabled account or when the server turns keys off, and private to their owner."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from app.core.config import Settings
from app.models import ApiKey
from tests.conftest import Api


async def create_key(api: Api, headers: dict[str, str], name: str = "my script") -> dict[str, Any]:
    response = await api.client.post("/api/keys", headers=headers, json={"name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_and_stored_only_as_its_hash(api: Api, app: Any, alice: dict[str, str]) -> None:
    created = await create_key(api, alice)
    key = created["key"]
    assert key.startswith("cv-")
    assert len(key) >= 3 + 32
    listed = await api.client.get("/api/keys", headers=alice)
    assert [item["id"] for item in listed.json()] == [created["id"]]
    assert set(listed.json()[0]) == {"id", "name", "prefix", "created_at", "last_used_at"}
    assert listed.json()[0]["prefix"] == key[:11]
    assert key not in listed.text
    async with app.state.context.sessionmaker() as session:
        row = (await session.scalars(select(ApiKey))).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert all(key not in str(value) for value in vars(row).values())


async def test_a_key_works_until_it_is_revoked(api: Api, alice: dict[str, str]) -> None:
    key = (await create_key(api, alice))["key"]
    assert (await api.client.get("/v1/models", headers=bearer(key))).status_code == 200
    key_id = (await api.client.get("/api/keys", headers=alice)).json()[0]["id"]
    assert (await api.client.delete(f"/api/keys/{key_id}", headers=alice)).status_code == 204
    refused = await api.client.get("/v1/models", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert (await api.client.get("/api/keys", headers=alice)).json() == []


async def test_unknown_keys_are_refused(api: Api) -> None:
    for token in ("cv-" + "x" * 43, "cv-", "not-a-jwt"):
        response = await api.client.get("/v1/models", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "invalid_api_key"


async def test_a_disabled_accounts_keys_stop_working(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    key = (await create_key(api, bob))["key"]
    assert (await api.client.get("/v1/models", headers=bearer(key))).status_code == 200
    bob_id = (await api.client.get("/api/auth/me", headers=bob)).json()["id"]
    assert (await api.client.post(f"/api/admin/users/{bob_id}/disable", headers=alice)).status_code == 200
    assert (await api.client.get("/v1/models", headers=bearer(key))).status_code == 401


async def test_another_users_key_is_not_found(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    created = await create_key(api, alice)
    assert (await api.client.delete(f"/api/keys/{created['id']}", headers=bob)).status_code == 404
    assert (await api.client.get("/api/keys", headers=bob)).json() == []
    assert (await api.client.get("/v1/models", headers=bearer(created["key"]))).status_code == 200


async def test_last_used_is_written_at_most_once_a_minute(api: Api, alice: dict[str, str]) -> None:
    key = (await create_key(api, alice))["key"]
    assert (await api.client.get("/api/keys", headers=alice)).json()[0]["last_used_at"] is None
    await api.client.get("/v1/models", headers=bearer(key))
    first = (await api.client.get("/api/keys", headers=alice)).json()[0]["last_used_at"]
    assert first is not None
    await api.client.get("/v1/models", headers=bearer(key))
    assert (await api.client.get("/api/keys", headers=alice)).json()[0]["last_used_at"] == first


async def test_turning_keys_off_refuses_new_and_existing_keys(
    api: Api, alice: dict[str, str], app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    key = (await create_key(api, alice))["key"]
    app_off = await app_factory(make_settings(allow_api_keys=False))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_off), base_url="http://test") as client:
        created = await client.post("/api/keys", headers=alice, json={"name": "another"})
        used = await client.get("/v1/models", headers=bearer(key))
        with_token = await client.get("/v1/models", headers=alice)  # the web app's own token still works
        health = (await client.get("/api/health")).json()
    assert created.status_code == 403
    assert used.status_code == 401
    assert with_token.status_code == 200
    assert health["allow_api_keys"] is False


async def test_key_names_are_validated(api: Api, alice: dict[str, str]) -> None:
    for name in ("", "   ", "x" * 101):
        assert (await api.client.post("/api/keys", headers=alice, json={"name": name})).status_code == 422
