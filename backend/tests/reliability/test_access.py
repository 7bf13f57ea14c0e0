"""Access control, route by route from the OpenAPI schema (so a new route is covered the day it lands):
another user's ids are 404 and change nothing, admin routes refuse non-admins, a disabled account's
token stops working at once."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import select

from app.models import ApiKey, Conversation, Message, Preset, Share, Upload, User
from tests.conftest import Api

HIJACK = "hijacked-by-bob"  # long enough for every string field (passwords need 8 characters)


def operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    schema = app.openapi()
    return [(method.upper(), path, op) for path, item in schema["paths"].items() for method, op in item.items()]


def body_for(app: Any, operation: dict[str, Any], ids: dict[str, Any]) -> dict[str, Any] | None:
    """A valid body, with every string field set (so a missing check would show as a change) and
    every *_id field pointing at the victim's resource."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schemas = app.openapi()["components"]["schemas"]
    ref = next(option["$ref"] for option in content["schema"].get("anyOf", [content["schema"]]) if "$ref" in option)
    model = schemas[ref.rsplit("/", 1)[-1]]
    body: dict[str, Any] = {}
    for name, field in model["properties"].items():
        types = {option.get("type") for option in field.get("anyOf", [field])}
        if name in ids:
            body[name] = ids[name]
        elif "string" in types:
            body[name] = f"{HIJACK}@example.com" if field.get("format") == "email" else HIJACK
        elif "boolean" in types:
            body[name] = True
    return body


def url_for(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: str(ids[match.group(1)]), path)


async def everything(app: Any) -> list[tuple[Any, ...]]:
    """Every row the API could change, to compare before and after."""
    async with app.state.context.sessionmaker() as session:
        users = [
            (u.id, u.email, u.hashed_password, u.is_active, u.is_admin, u.token_version)
            for u in await session.scalars(select(User))
        ]
        conversations = [
            (c.id, c.user_id, c.title, c.updated_at, c.active_message_id)
            for c in await session.scalars(select(Conversation))
        ]
        messages = [
            (m.id, m.conversation_id, m.parent_id, m.role, m.content, m.status)
            for m in await session.scalars(select(Message))
        ]
        shares = [(s.id, s.user_id, s.conversation_id, s.updated_at) for s in await session.scalars(select(Share))]
        keys = [(k.id, k.user_id, k.name, k.key_hash) for k in await session.scalars(select(ApiKey))]
        uploads = [
            (u.id, u.user_id, u.message_id, u.name, u.storage_key) for u in await session.scalars(select(Upload))
        ]
        presets = [
            (p.id, p.user_id, p.name, p.system_prompt, p.model, p.shared, p.updated_at)
            for p in await session.scalars(select(Preset))
        ]
    return (
        sorted(users)
        + sorted(conversations)
        + sorted(messages)
        + sorted(shares)
        + sorted(keys)
        + sorted(uploads)
        + sorted(presets)
    )


async def alices_world(api: Api, alice: dict[str, str]) -> dict[str, Any]:
    chat = (await api.client.post("/api/chat", headers=alice, json={"message": "my private question"})).json()
    await api.client.post(
        "/api/chat", headers=alice, json={"message": "second", "conversation_id": chat["conversation_id"]}
    )
    me = (await api.client.get("/api/auth/me", headers=alice)).json()
    upload = await api.client.post("/api/uploads", headers=alice, files={"file": ("private.txt", b"my private file")})
    # The title is written in the background after the first reply: let it land before any snapshot.
    background = api.app.state.context.chat.background
    if background:
        await asyncio.wait(background, timeout=5)
    share = await api.client.post(f"/api/conversations/{chat['conversation_id']}/share", headers=alice)
    key = await api.client.post("/api/keys", headers=alice, json={"name": "alice's key"})
    preset = await api.client.post("/api/presets", headers=alice, json={"name": "mine", "system_prompt": "private"})
    return {
        "preset_id": preset.json()["id"],
        "conversation_id": chat["conversation_id"],
        "user_id": me["id"],
        "share_id": share.json()["share_id"],
        "key_id": key.json()["id"],
        "message_id": chat["assistant_message"]["id"],  # trees: path and body (PUT .../active, regenerate)
        "parent_id": chat["assistant_message"]["id"],  # POST /api/chat under one of alice's replies
        "upload_id": upload.json()["id"],
        "model_id": "fake",  # GET /v1/models/{model_id}: the same models for every user
    }


async def test_another_users_ids_are_not_found_and_nothing_changes(
    api: Api, app: Any, alice: dict[str, str], bob: dict[str, str]
) -> None:
    ids = await alices_world(api, alice)
    before = await everything(app)
    checked = []
    for method, path, operation in operations(app):
        takes_id = "{" in path or any(name in ids for name in (body_for(app, operation, ids) or {}))
        # Public by design: a share link is for anyone who has it (tests/api/test_shares.py); a model
        # id names no user's resource.
        public = ("/api/admin", "/api/shared/", "/api/conversations/from-share/", "/v1/models/")
        if not takes_id or path.startswith(public):
            continue
        body = body_for(app, operation, ids)
        response = await api.client.request(method, url_for(path, ids), headers=bob, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        # The same answer as for an id that does not exist: nothing tells bob the conversation is there.
        missing = {**ids, "conversation_id": 2_000_000_000, "upload_id": 2_000_000_000, "preset_id": 2_000_000_000}
        ghost = await api.client.request(
            method, url_for(path, missing), headers=bob, json=body_for(app, operation, missing)
        )
        assert (ghost.status_code, ghost.json()) == (404, response.json()), (method, path)
        checked.append(f"{method} {path}")
    assert await everything(app) == before
    # Every conversation route with an id, and the chat routes that take one in the body.
    assert len(checked) >= 8, checked
    assert {
        "POST /api/chat",
        "POST /api/chat/stream",
        "DELETE /api/conversations/{conversation_id}",
        "POST /api/conversations/{conversation_id}/share",
        "DELETE /api/shares/{share_id}",
        "DELETE /api/keys/{key_id}",
        "GET /api/uploads/{upload_id}",
        "DELETE /api/uploads/{upload_id}",
        "POST /api/conversations",  # from another user's preset
        "GET /api/presets/{preset_id}",
        "PATCH /api/presets/{preset_id}",
        "DELETE /api/presets/{preset_id}",
    } <= set(checked)
    assert (await api.client.get(f"/api/uploads/{ids['upload_id']}", headers=alice)).content == b"my private file"
    page = await api.client.get(f"/api/conversations/{ids['conversation_id']}/messages", headers=alice)
    assert [m["content"] for m in page.json()["items"]][::2] == ["my private question", "second"]


async def test_admin_routes_refuse_non_admins_and_anonymous_callers(
    api: Api, app: Any, alice: dict[str, str], bob: dict[str, str]
) -> None:
    ids = await alices_world(api, alice)
    before = await everything(app)
    admin_routes = [(m, p, op) for m, p, op in operations(app) if p.startswith("/api/admin")]
    assert len(admin_routes) >= 5
    for method, path, operation in admin_routes:
        body = body_for(app, operation, ids)
        as_bob = await api.client.request(method, url_for(path, ids), headers=bob, json=body)
        assert as_bob.status_code == 403, (method, path, as_bob.text)
        assert as_bob.json() == {"detail": "Only an administrator can do this.", "code": "forbidden"}
        anonymous = await api.client.request(method, url_for(path, ids), json=body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
    assert await everything(app) == before


async def test_a_disabled_accounts_token_stops_everywhere_at_once(
    api: Api, app: Any, alice: dict[str, str], bob: dict[str, str]
) -> None:
    bob_ids: dict[str, Any] = {
        "conversation_id": (await api.client.post("/api/conversations", headers=bob, json={})).json()["id"]
    }
    bob_ids["user_id"] = (await api.client.get("/api/auth/me", headers=bob)).json()["id"]
    share = await api.client.post(f"/api/conversations/{bob_ids['conversation_id']}/share", headers=bob)
    bob_ids["share_id"] = share.json()["share_id"]
    bob_ids["key_id"] = (await api.client.post("/api/keys", headers=bob, json={"name": "k"})).json()["id"]
    reply = (await api.client.post("/api/chat", headers=bob, json={"message": "hello"})).json()["assistant_message"]
    bob_ids["message_id"] = bob_ids["parent_id"] = reply["id"]
    bob_upload = await api.client.post("/api/uploads", headers=bob, files={"file": ("b.txt", b"bob's")})
    bob_ids["upload_id"] = bob_upload.json()["id"]
    bob_preset = await api.client.post("/api/presets", headers=bob, json={"name": "b", "system_prompt": "p"})
    bob_ids["preset_id"] = bob_preset.json()["id"]
    bob_ids["model_id"] = "fake"
    assert (await api.client.get(f"/api/conversations/{bob_ids['conversation_id']}", headers=bob)).status_code == 200
    disabled = await api.client.post(f"/api/admin/users/{bob_ids['user_id']}/disable", headers=alice)
    assert disabled.status_code == 200
    before = await everything(app)
    protected = [(m, p, op) for m, p, op in operations(app) if op.get("security")]
    assert len(protected) >= 15
    for method, path, operation in protected:
        response = await api.client.request(
            method, url_for(path, bob_ids), headers=bob, json=body_for(app, operation, bob_ids)
        )
        assert response.status_code == 401, (method, path, response.status_code)
        answer = response.json()  # /v1 answers in OpenAI's error shape
        assert "disabled" in (answer["error"]["message"] if path.startswith("/v1") else answer["detail"])
    assert await everything(app) == before
