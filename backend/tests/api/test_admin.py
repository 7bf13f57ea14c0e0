"""Administration: accounts listed, created, disabled/enabled and reset by an admin; the quota shown."""

from __future__ import annotations

from typing import Any

import pytest

from app.cli import main
from tests.conftest import PASSWORD, Api


async def user_id(api: Api, admin: dict[str, str], email: str) -> int:
    users = (await api.client.get("/api/admin/users", headers=admin)).json()
    return int(next(user["id"] for user in users if user["email"] == email))


async def test_admin_lists_and_creates_users(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    listed = await api.client.get("/api/admin/users", headers=alice)
    assert listed.status_code == 200
    assert [(u["email"], u["is_admin"], u["is_active"]) for u in listed.json()] == [
        ("alice@example.com", True, True),
        ("bob@example.com", False, True),
    ]
    created = await api.client.post(
        "/api/admin/users", headers=alice, json={"email": "Carol@Example.com", "password": "carol-password"}
    )
    assert created.status_code == 201
    assert created.json()["email"] == "carol@example.com"
    assert created.json()["is_admin"] is False
    assert await api.login("carol@example.com", "carol-password")
    again = await api.client.post(
        "/api/admin/users", headers=alice, json={"email": "carol@example.com", "password": "carol-password"}
    )
    assert again.status_code == 409


async def test_admin_creates_users_even_when_signup_is_closed(app_factory: Any, make_settings: Any) -> None:
    import httpx

    app = await app_factory(make_settings(allow_signup=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        assert (
            await client.post("/api/auth/register", json={"email": "x@example.com", "password": PASSWORD})
        ).status_code == 403
        from app.services import users

        async with app.state.context.sessionmaker() as session:
            await users.create_user(session, "root@example.com", PASSWORD, is_admin=True)
        admin = await api.login("root@example.com")
        response = await client.post(
            "/api/admin/users", headers=admin, json={"email": "new@example.com", "password": PASSWORD, "is_admin": True}
        )
        assert response.status_code == 201
        assert response.json()["is_admin"] is True


async def test_disabling_a_user_stops_their_tokens_at_once(
    api: Api, alice: dict[str, str], bob: dict[str, str]
) -> None:
    bob_id = await user_id(api, alice, "bob@example.com")
    assert (await api.client.get("/api/auth/me", headers=bob)).status_code == 200
    disabled = await api.client.post(f"/api/admin/users/{bob_id}/disable", headers=alice)
    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    refused = await api.client.get("/api/auth/me", headers=bob)
    assert refused.status_code == 401
    assert "disabled" in refused.json()["detail"]
    assert (await api.client.post("/api/chat", headers=bob, json={"message": "hi"})).status_code == 401
    login = await api.client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
    assert login.status_code == 401

    enabled = await api.client.post(f"/api/admin/users/{bob_id}/enable", headers=alice)
    assert enabled.json()["is_active"] is True
    assert (await api.client.get("/api/auth/me", headers=bob)).status_code == 401  # the old token stays revoked
    fresh = await api.login("bob@example.com")
    assert (await api.client.get("/api/auth/me", headers=fresh)).status_code == 200


async def test_an_admin_cannot_disable_themselves(api: Api, alice: dict[str, str]) -> None:
    alice_id = await user_id(api, alice, "alice@example.com")
    response = await api.client.post(f"/api/admin/users/{alice_id}/disable", headers=alice)
    assert response.status_code == 409
    assert "your own account" in response.json()["detail"]
    assert (await api.client.get("/api/auth/me", headers=alice)).status_code == 200


async def test_admin_resets_a_password(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    bob_id = await user_id(api, alice, "bob@example.com")
    response = await api.client.post(
        f"/api/admin/users/{bob_id}/password", headers=alice, json={"new_password": "brand-new-password"}
    )
    assert response.status_code == 200
    assert (await api.client.get("/api/auth/me", headers=bob)).status_code == 401
    assert (
        await api.client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
    ).status_code == 401
    assert await api.login("bob@example.com", "brand-new-password")
    short = await api.client.post(f"/api/admin/users/{bob_id}/password", headers=alice, json={"new_password": "short"})
    assert short.status_code == 422


async def test_unknown_user_is_404(api: Api, alice: dict[str, str]) -> None:
    for action in ("disable", "enable"):
        assert (await api.client.post(f"/api/admin/users/999999/{action}", headers=alice)).status_code == 404
    response = await api.client.post("/api/admin/users/999999/password", headers=alice, json={"new_password": PASSWORD})
    assert response.status_code == 404


async def test_usage_without_a_quota(api: Api, alice: dict[str, str]) -> None:
    await api.client.post("/api/chat", headers=alice, json={"message": "hello"})
    usage = (await api.client.get("/api/usage", headers=alice)).json()
    assert usage["daily_messages_used"] == 1
    assert usage["daily_message_limit"] is None
    assert usage["resets_at"].endswith("T00:00:00Z")


async def test_daily_quota_is_shown_and_enforced_with_a_clear_429(app_factory: Any, make_settings: Any) -> None:
    import httpx

    app = await app_factory(make_settings(user_daily_messages=2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice = await api.user("alice@example.com")
        assert (await client.get("/api/usage", headers=alice)).json()["daily_message_limit"] == 2
        for _ in range(2):
            assert (await client.post("/api/chat", headers=alice, json={"message": "hi"})).status_code == 200
        refused = await client.post("/api/chat/stream", headers=alice, json={"message": "one more"})
        assert refused.status_code == 429
        assert "daily limit of 2 messages" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
        usage = (await client.get("/api/usage", headers=alice)).json()
        assert (usage["daily_messages_used"], usage["daily_message_limit"]) == (2, 2)


def test_cli_disables_and_enables(make_settings: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["create-user", "dora@example.com", "--password", "long-password"], settings) == 0
    assert main(["disable-user", "dora@example.com"], settings) == 0
    assert main(["list-users"], settings) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[3] == "False"  # the active column
    assert main(["enable-user", "Dora@Example.com"], settings) == 0
    assert main(["disable-user", "ghost@example.com"], settings) == 1
    assert main(["list-users"], settings) == 0
    out = capsys.readouterr().out
    assert "dora@example.com enabled" in out
    assert out.splitlines()[-1].split()[3] == "True"
