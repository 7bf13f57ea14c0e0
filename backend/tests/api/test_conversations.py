"""Conversations: CRUD, listing order, search, paging, export, and nobody sees another's data."""

from __future__ import annotations

import json

from tests.conftest import Api


async def chat(api: Api, headers: dict[str, str], message: str, conversation_id: int | None = None) -> dict:  # type: ignore[type-arg]
    body: dict[str, object] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = await api.client.post("/api/chat", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_create_get_rename_delete(api: Api, alice: dict[str, str]) -> None:
    created = await api.client.post("/api/conversations", headers=alice, json={})
    assert created.status_code == 201
    conversation = created.json()
    assert conversation["title"] == "New chat"
    url = f"/api/conversations/{conversation['id']}"
    assert (await api.client.get(url, headers=alice)).json()["id"] == conversation["id"]
    renamed = await api.client.patch(url, headers=alice, json={"title": "  Trip to Lisbon  "})
    assert renamed.json()["title"] == "Trip to Lisbon"
    assert (await api.client.patch(url, headers=alice, json={"title": ""})).status_code == 422
    assert (await api.client.patch(url, headers=alice, json={"title": "x" * 201})).status_code == 422
    assert (await api.client.delete(url, headers=alice)).status_code == 204
    assert (await api.client.get(url, headers=alice)).status_code == 404


async def test_delete_removes_the_messages(api: Api, app, alice: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from app.models import Message

    reply = await chat(api, alice, "hello")
    await api.client.delete(f"/api/conversations/{reply['conversation_id']}", headers=alice)
    async with app.state.context.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_list_is_newest_activity_first_and_paginated(api: Api, alice: dict[str, str]) -> None:
    ids = [(await chat(api, alice, f"message {n}"))["conversation_id"] for n in range(3)]
    await chat(api, alice, "back to the first", ids[0])
    page = (await api.client.get("/api/conversations", headers=alice)).json()
    assert [c["id"] for c in page["items"]] == [ids[0], ids[2], ids[1]]
    assert page["total"] == 3
    second = (await api.client.get("/api/conversations?limit=2&offset=2", headers=alice)).json()
    assert [c["id"] for c in second["items"]] == [ids[1]]
    assert (await api.client.get("/api/conversations?limit=0", headers=alice)).status_code == 422


async def test_search_matches_titles_and_message_text(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    about_cats = (await chat(api, alice, "Tell me about CATS please"))["conversation_id"]
    titled = (await api.client.post("/api/conversations", headers=alice, json={"title": "Receitas de bolo"})).json()[
        "id"
    ]
    await chat(api, alice, "something else")
    await chat(api, bob, "cats are great")  # bob's: never in alice's results

    async def search(q: str) -> list[int]:
        response = await api.client.get("/api/conversations", headers=alice, params={"q": q})
        return [c["id"] for c in response.json()["items"]]

    assert await search("cats") == [about_cats]
    assert await search("BOLO") == [titled]
    assert await search("100%") == []
    assert await search("_") == []


async def test_messages_page_backwards(api: Api, alice: dict[str, str]) -> None:
    conversation_id = (await chat(api, alice, "one"))["conversation_id"]
    await chat(api, alice, "two", conversation_id)
    url = f"/api/conversations/{conversation_id}/messages"
    newest = (await api.client.get(url, headers=alice, params={"limit": 3})).json()
    assert [m["role"] for m in newest["items"]] == ["assistant", "user", "assistant"]
    assert newest["has_more"] is True
    older = (
        await api.client.get(url, headers=alice, params={"limit": 3, "before_id": newest["items"][0]["id"]})
    ).json()
    assert [m["content"] for m in older["items"]] == ["one"]
    assert older["has_more"] is False


async def test_export_markdown_and_json(api: Api, alice: dict[str, str]) -> None:
    conversation_id = (await chat(api, alice, "Olá, tudo bem?"))["conversation_id"]
    markdown = await api.client.get(f"/api/conversations/{conversation_id}/export?format=markdown", headers=alice)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "attachment" in markdown.headers["content-disposition"]
    assert "Olá, tudo bem?" in markdown.text
    as_json = await api.client.get(f"/api/conversations/{conversation_id}/export?format=json", headers=alice)
    data = json.loads(as_json.text)
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert (
        await api.client.get(f"/api/conversations/{conversation_id}/export?format=pdf", headers=alice)
    ).status_code == 422


async def test_another_users_conversation_is_not_found_everywhere(
    api: Api, alice: dict[str, str], bob: dict[str, str]
) -> None:
    conversation_id = (await chat(api, alice, "private"))["conversation_id"]
    base = f"/api/conversations/{conversation_id}"
    attempts = [
        ("GET", base, None),
        ("PATCH", base, {"title": "mine now"}),
        ("DELETE", base, None),
        ("GET", f"{base}/messages", None),
        ("GET", f"{base}/export", None),
        ("POST", f"{base}/regenerate", {}),
        ("POST", "/api/chat", {"conversation_id": conversation_id, "message": "hi"}),
        ("POST", "/api/chat/stream", {"conversation_id": conversation_id, "message": "hi"}),
    ]
    for method, url, body in attempts:
        response = await api.client.request(method, url, headers=bob, json=body)
        assert response.status_code == 404, f"{method} {url}"
        assert response.json() == {"detail": "Conversation not found", "code": "not_found"}
    # And nothing changed for alice.
    conversation = (await api.client.get(base, headers=alice)).json()
    assert conversation["title"] != "mine now"
    messages = (await api.client.get(f"{base}/messages", headers=alice)).json()["items"]
    assert messages[0]["content"] == "private"
    assert len(messages) == 2
    assert (await api.client.get("/api/conversations", headers=bob)).json()["total"] == 0


async def test_export_reads_a_page_at_a_time_and_keeps_every_message(api: Api, app, alice: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from app.services.conversations import iter_messages
    from tests.api.test_search import write_conversation

    conversation_id, ids = await write_conversation(api, alice, "Longa", *[f"mensagem {n}" for n in range(7)])
    streamed = [m.id async for m in iter_messages(app.state.context.sessionmaker, conversation_id, page=3)]
    assert streamed == ids
    as_json = await api.client.get(f"/api/conversations/{conversation_id}/export?format=json", headers=alice)
    assert [m["content"] for m in json.loads(as_json.text)["messages"]] == [f"mensagem {n}" for n in range(7)]
    markdown = (await api.client.get(f"/api/conversations/{conversation_id}/export", headers=alice)).text
    assert markdown.startswith("# Longa")
    assert markdown.index("mensagem 0") < markdown.index("mensagem 6")
