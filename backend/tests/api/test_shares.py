"""Share links: a snapshot under an unguessable id, refreshed on demand, revoked at once, public
without private data, the same 404 for every missing id, and "continue" for a signed-in reader."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import event, func, select

from app.core.config import Settings
from app.models import Share
from tests.conftest import Api


async def chat(api: Api, headers: dict[str, str], message: str, conversation_id: int | None = None) -> int:
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = await api.client.post("/api/chat", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["conversation_id"])


async def share(api: Api, headers: dict[str, str], conversation_id: int) -> dict[str, Any]:
    response = await api.client.post(f"/api/conversations/{conversation_id}/share", headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def shared_contents(api: Api, share_id: str) -> list[str]:
    response = await api.client.get(f"/api/shared/{share_id}")
    assert response.status_code == 200, response.text
    return [message["content"] for message in response.json()["messages"]]


async def test_a_share_is_a_snapshot_until_it_is_refreshed(api: Api, alice: dict[str, str]) -> None:
    conversation_id = await chat(api, alice, "first question")
    link = await share(api, alice, conversation_id)
    assert set(link) == {"share_id", "url", "created_at", "updated_at"}
    assert len(link["share_id"]) >= 22  # 128 bits, URL-safe
    assert link["url"] == f"http://test/s/{link['share_id']}"

    await chat(api, alice, "a later, private question", conversation_id)
    contents = await shared_contents(api, link["share_id"])
    assert len(contents) == 2
    assert contents[0] == "first question"
    assert not any("later" in content for content in contents)

    refreshed = await share(api, alice, conversation_id)
    assert refreshed["share_id"] == link["share_id"]  # the same link, a new snapshot
    assert refreshed["updated_at"] > link["updated_at"]
    contents = await shared_contents(api, link["share_id"])
    assert len(contents) == 4
    assert contents[2] == "a later, private question"


async def test_the_public_view_holds_no_private_data_and_is_cacheable(api: Api, alice: dict[str, str]) -> None:
    conversation_id = await chat(api, alice, "hello there")
    link = await share(api, alice, conversation_id)
    response = await api.client.get(f"/api/shared/{link['share_id']}")  # no token
    body = response.json()
    assert set(body) == {"title", "messages", "created_at", "updated_at"}
    assert all(set(message) == {"role", "content", "created_at"} for message in body["messages"])
    assert [message["role"] for message in body["messages"]] == ["user", "assistant"]
    assert "alice@example.com" not in response.text
    assert '"id"' not in response.text
    assert "conversation_id" not in response.text
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["x-robots-tag"] == "noindex"


async def test_revoked_unknown_and_malformed_ids_all_get_the_same_404(api: Api, alice: dict[str, str]) -> None:
    link = await share(api, alice, await chat(api, alice, "soon gone"))
    assert (await api.client.delete(f"/api/shares/{link['share_id']}", headers=alice)).status_code == 204
    answers = []
    for share_id in (link["share_id"], secrets.token_urlsafe(16), "x", "a" * 500, "not an id", "Ab-_" * 11, "~" * 22):
        response = await api.client.get(f"/api/shared/{share_id}")
        answers.append((response.status_code, response.json(), response.headers.get("cache-control")))
    assert answers == [(404, {"detail": "Shared conversation not found", "code": "not_found"}, "no-store")] * len(
        answers
    )
    assert (await api.client.get("/api/shares", headers=alice)).json() == []


async def test_a_share_shows_the_branch_on_screen_not_the_newest_one(api: Api, alice: dict[str, str]) -> None:
    """LibreChat's bug (#10007): a link always showed the last fork, whichever one was on screen."""
    first = (await api.client.post("/api/chat", headers=alice, json={"message": "original question"})).json()
    conversation_id = first["conversation_id"]
    edited = await api.client.post(
        "/api/chat",
        headers=alice,
        json={"conversation_id": conversation_id, "message": "edited question", "parent_id": None},
    )
    assert edited.status_code == 200, edited.text
    assert (await shared_contents(api, (await share(api, alice, conversation_id))["share_id"]))[0] == "edited question"
    back = await api.client.put(
        f"/api/conversations/{conversation_id}/active",
        headers=alice,
        json={"message_id": first["assistant_message"]["id"]},
    )
    assert back.status_code == 200, back.text
    link = await share(api, alice, conversation_id)  # the refresh takes the branch now on screen
    contents = await shared_contents(api, link["share_id"])
    assert len(contents) == 2
    assert contents[0] == "original question"
    assert not any("edited" in content for content in contents)


async def test_every_missing_id_costs_the_same_single_lookup(api: Api, app: Any, alice: dict[str, str]) -> None:
    """Unknown, revoked and malformed ids run the very same statement (no timing tells them apart)."""
    link = await share(api, alice, await chat(api, alice, "soon gone"))
    assert (await api.client.delete(f"/api/shares/{link['share_id']}", headers=alice)).status_code == 204
    # The chat's title is written by a background task: let it land first, or its UPDATE can fall
    # inside one id's request below (seen on a loaded machine) and be counted as that id's.
    await asyncio.gather(*app.state.context.chat.background)
    statements: list[tuple[str, int]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, len(parameters)))

    engine = app.state.context.engine.sync_engine
    seen = {}
    event.listen(engine, "before_cursor_execute", record)
    try:
        for kind, share_id in (
            ("revoked", link["share_id"]),
            ("unknown", secrets.token_urlsafe(16)),
            ("too short", "x"),
            ("too long", "a" * 500),
            ("bad characters", "not an id but 22 chars"),
        ):
            statements.clear()
            response = await api.client.get(f"/api/shared/{share_id}")
            assert response.status_code == 404, kind
            seen[kind] = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [lookup] = seen["unknown"]
    assert "shares" in lookup[0]
    assert all(found == [lookup] for found in seen.values()), seen


async def test_another_users_links_are_not_found(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    conversation_id = await chat(api, alice, "mine")
    link = await share(api, alice, conversation_id)
    assert (await api.client.delete(f"/api/shares/{link['share_id']}", headers=bob)).status_code == 404
    assert (await api.client.post(f"/api/conversations/{conversation_id}/share", headers=bob)).status_code == 404
    assert (await api.client.get("/api/shares", headers=bob)).json() == []
    listed = (await api.client.get("/api/shares", headers=alice)).json()
    assert [(item["share_id"], item["conversation_id"]) for item in listed] == [(link["share_id"], conversation_id)]
    assert listed[0]["title"]
    assert len(await shared_contents(api, link["share_id"])) == 2


async def test_deleting_the_conversation_deletes_its_links(api: Api, app: Any, alice: dict[str, str]) -> None:
    conversation_id = await chat(api, alice, "to be deleted")
    link = await share(api, alice, conversation_id)
    assert (await api.client.delete(f"/api/conversations/{conversation_id}", headers=alice)).status_code == 204
    assert (await api.client.get(f"/api/shared/{link['share_id']}")).status_code == 404
    async with app.state.context.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Share)) == 0


async def test_continue_copies_the_snapshot_into_a_new_conversation_of_the_reader(
    api: Api, alice: dict[str, str], bob: dict[str, str]
) -> None:
    conversation_id = await chat(api, alice, "a question worth sharing")
    link = await share(api, alice, conversation_id)
    await chat(api, alice, "not part of the snapshot", conversation_id)

    assert (await api.client.post(f"/api/conversations/from-share/{link['share_id']}")).status_code == 401
    response = await api.client.post(f"/api/conversations/from-share/{link['share_id']}", headers=bob)
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["id"] != conversation_id
    messages = (await api.client.get(f"/api/conversations/{copy['id']}/messages", headers=bob)).json()["items"]
    assert [m["content"] for m in messages] == await shared_contents(api, link["share_id"])
    # Bob can go on in his copy; Alice's conversation is untouched.
    await chat(api, bob, "bob continues", copy["id"])
    alices = (await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()["items"]
    assert "bob continues" not in [m["content"] for m in alices]
    assert len(alices) == 4


async def test_turning_sharing_off_refuses_new_links_and_hides_existing_ones(
    api: Api, alice: dict[str, str], app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    link = await share(api, alice, await chat(api, alice, "shared while it was allowed"))
    app_off = await app_factory(make_settings(allow_sharing=False))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_off), base_url="http://test") as client:
        created = await client.post("/api/conversations/1/share", headers=alice)
        read = await client.get(f"/api/shared/{link['share_id']}")
        health = (await client.get("/api/health")).json()
    assert created.status_code == 403
    assert read.status_code == 404
    assert health["allow_sharing"] is False


async def test_public_reads_are_rate_limited_per_address(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    app = await app_factory(make_settings(shared_ip_rate_limit="3/hour"))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        codes = [(await client.get(f"/api/shared/{secrets.token_urlsafe(16)}")).status_code for _ in range(4)]
        limited = await client.get("/api/shared/anything")
    assert codes == [404, 404, 404, 429]
    assert int(limited.headers["retry-after"]) >= 1


async def test_share_links_use_the_public_url_when_set(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    app = await app_factory(make_settings(public_url="https://chat.example.com/"))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice = await api.user("alice@example.com")
        link = await share(api, alice, await chat(api, alice, "hi"))
    assert link["url"] == f"https://chat.example.com/s/{link['share_id']}"
