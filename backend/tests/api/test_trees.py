"""Conversation trees: edit any question, regenerate any reply, switch branches, never lose a version."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import Api, parse_sse


async def chat(api: Api, headers: dict[str, str], message: str, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/api/chat", headers=headers, json={"message": message, **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def path(api: Api, headers: dict[str, str], conversation_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"].split("\n")[0].removeprefix("You said: ") for m in messages]


async def three_turns(api: Api, headers: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    first = await chat(api, headers, "q1")
    conversation_id = first["conversation_id"]
    second = await chat(api, headers, "q2", conversation_id=conversation_id)
    third = await chat(api, headers, "q3", conversation_id=conversation_id)
    return conversation_id, [first, second, third]


async def test_messages_carry_parent_and_siblings(api: Api, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    messages = await path(api, alice, conversation_id)
    assert texts(messages) == ["q1", "q1", "q2", "q2", "q3", "q3"]
    assert messages[0]["parent_id"] is None
    for parent, child in itertools.pairwise(messages):
        assert child["parent_id"] == parent["id"]
    assert all(m["siblings"] == {"ids": [m["id"]], "index": 0} for m in messages)
    assert turns[2]["assistant_message"]["siblings"] == {"ids": [turns[2]["assistant_message"]["id"]], "index": 0}


@pytest.mark.parametrize("which", [0, 1, 2], ids=["first", "middle", "last"])
async def test_edit_a_question_makes_a_sibling_branch(api: Api, alice: dict[str, str], which: int) -> None:
    conversation_id, turns = await three_turns(api, alice)
    original = turns[which]["user_message"]
    edited = await chat(api, alice, "edited", conversation_id=conversation_id, parent_id=original["parent_id"])
    question = edited["user_message"]
    assert question["parent_id"] == original["parent_id"]
    assert question["siblings"] == {"ids": [original["id"], question["id"]], "index": 1}
    messages = await path(api, alice, conversation_id)
    assert texts(messages) == [*["q1", "q1", "q2", "q2"][: 2 * which], "edited", "edited"]
    # The original is still there: switching back shows the whole old branch.
    switched = await api.client.put(
        f"/api/conversations/{conversation_id}/active", headers=alice, json={"message_id": original["id"]}
    )
    assert switched.status_code == 200
    assert texts(switched.json()["items"]) == ["q1", "q1", "q2", "q2", "q3", "q3"]
    assert texts(await path(api, alice, conversation_id)) == ["q1", "q1", "q2", "q2", "q3", "q3"]


async def test_regenerate_an_old_reply_and_switch_back(api: Api, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    old = turns[0]["assistant_message"]
    response = await api.client.post(
        f"/api/conversations/{conversation_id}/regenerate", headers=alice, json={"message_id": old["id"]}
    )
    events = parse_sse(response.text)
    assert events[0][1]["user_message"]["id"] == turns[0]["user_message"]["id"]
    new = next(data for name, data in events if name == "done")["assistant_message"]
    assert new["siblings"] == {"ids": [old["id"], new["id"]], "index": 1}
    assert [m["id"] for m in await path(api, alice, conversation_id)] == [turns[0]["user_message"]["id"], new["id"]]
    back = await api.client.put(
        f"/api/conversations/{conversation_id}/active", headers=alice, json={"message_id": old["id"]}
    )
    assert texts(back.json()["items"]) == ["q1", "q1", "q2", "q2", "q3", "q3"]
    assert back.json()["items"][1]["siblings"] == {"ids": [old["id"], new["id"]], "index": 0}


async def test_the_chosen_branch_survives_a_reload_and_a_restart(
    app_factory: Any, make_settings: Any, api: Api, alice: dict[str, str]
) -> None:
    conversation_id, turns = await three_turns(api, alice)
    await chat(api, alice, "edited", conversation_id=conversation_id, parent_id=turns[1]["user_message"]["parent_id"])
    await api.client.put(
        f"/api/conversations/{conversation_id}/active",
        headers=alice,
        json={"message_id": turns[1]["user_message"]["id"]},
    )
    other = await app_factory(make_settings())  # another instance on the same database
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://test") as client:
        again = Api(client, other)
        token = await again.login("alice@example.com")
        assert texts(await path(again, token, conversation_id)) == ["q1", "q1", "q2", "q2", "q3", "q3"]


async def test_a_new_turn_becomes_active_and_follow_ups_go_under_it(api: Api, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    await chat(api, alice, "branch", conversation_id=conversation_id, parent_id=turns[0]["assistant_message"]["id"])
    follow = await chat(api, alice, "follow-up", conversation_id=conversation_id)  # no parent: the active leaf
    assert texts(await path(api, alice, conversation_id)) == ["q1", "q1", "branch", "branch", "follow-up", "follow-up"]
    assert follow["user_message"]["siblings"]["ids"] == [follow["user_message"]["id"]]


async def test_paging_back_follows_the_active_path(api: Api, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    await chat(api, alice, "edited", conversation_id=conversation_id, parent_id=turns[1]["assistant_message"]["id"])
    last = await api.client.get(f"/api/conversations/{conversation_id}/messages?limit=3", headers=alice)
    page = last.json()
    assert page["has_more"] is True
    assert texts(page["items"]) == ["q2", "edited", "edited"]
    older = await path(api, alice, conversation_id, limit=3, before_id=page["items"][0]["id"])
    assert texts(older) == ["q1", "q1", "q2"]


async def test_the_model_sees_only_the_active_path(api: Api, app: Any, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    if app.state.context.chat.background:  # the first turn's title, still being made, would be recorded too
        await asyncio.wait(app.state.context.chat.background)
    seen: list[list[str]] = []
    model = app.state.context.llm.model
    original = type(model)._astream

    async def recording(self: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append([str(m.content).split("\n")[0] for m in messages[1:]])  # without the system prompt
        async for chunk in original(self, messages, *args, **kwargs):
            yield chunk

    type(model)._astream = recording
    try:
        await chat(api, alice, "other", conversation_id=conversation_id, parent_id=turns[0]["assistant_message"]["id"])
    finally:
        type(model)._astream = original
    assert seen == [["q1", "You said: q1", "other"]]  # never q2 / q3 of the sibling branch


async def test_a_60_node_tree_with_12_branches_shows_every_node(api: Api, alice: dict[str, str]) -> None:
    first = await chat(api, alice, "root")
    conversation_id = first["conversation_id"]
    anchors = [first["assistant_message"]["id"]]
    for branch in range(12):  # 12 branches of 2 turns under earlier replies: 2 + 12 * 4 + ... nodes
        parent = anchors[branch // 2]  # two branches under each earlier reply
        turn = await chat(api, alice, f"b{branch}", conversation_id=conversation_id, parent_id=parent)
        anchors.append(turn["assistant_message"]["id"])  # a reply that gets a child next: later branches fork
        await chat(api, alice, f"b{branch}-2", conversation_id=conversation_id)
    while True:
        tree = (await api.client.get(f"/api/conversations/{conversation_id}/tree", headers=alice)).json()
        if len(tree["items"]) >= 60:
            break
        await chat(api, alice, "more", conversation_id=conversation_id)
    nodes = {node["id"]: node for node in tree["items"]}
    assert tree["has_more"] is False
    parents = {node["parent_id"] for node in nodes.values()}
    leaves = [node_id for node_id in nodes if node_id not in parents]
    assert len(leaves) >= 12
    shown: set[int] = set()
    for leaf in leaves:  # walk the tree as the switcher would: every leaf's path
        response = await api.client.put(
            f"/api/conversations/{conversation_id}/active?limit=500", headers=alice, json={"message_id": leaf}
        )
        items = response.json()["items"]
        assert items[-1]["id"] == leaf
        for parent, child in itertools.pairwise(items):
            assert child["parent_id"] == parent["id"]
        shown.update(m["id"] for m in items)
    assert shown == set(nodes)  # no node vanishes


async def test_delete_a_branch(api: Api, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    edit = await chat(
        api, alice, "zebra", conversation_id=conversation_id, parent_id=turns[1]["user_message"]["parent_id"]
    )
    url = f"/api/conversations/{conversation_id}/messages/{edit['user_message']['id']}"
    exports = [f"/api/conversations/{conversation_id}/export?format={f}" for f in ("json", "markdown")]
    searches = ["/api/conversations?q=zebra", "/api/search?q=zebra"]
    assert (await api.client.get(searches[0], headers=alice)).json()["total"] == 1
    assert len((await api.client.get(searches[1], headers=alice)).json()["items"]) == 2  # question and reply
    for export in exports:
        assert "zebra" in (await api.client.get(export, headers=alice)).text
    assert (await api.client.delete(url, headers=alice)).status_code == 204
    # The active path ran through it: it moves to the surviving sibling's branch.
    assert texts(await path(api, alice, conversation_id)) == ["q1", "q1", "q2", "q2", "q3", "q3"]
    # Deleted text is gone from both searches and both exports.
    assert (await api.client.get(searches[0], headers=alice)).json()["total"] == 0
    assert (await api.client.get(searches[1], headers=alice)).json()["items"] == []
    for export in exports:
        assert "zebra" not in (await api.client.get(export, headers=alice)).text
    # Deleting a message off the active path leaves the path alone; the only root is refused.
    side = await chat(
        api, alice, "side", conversation_id=conversation_id, parent_id=turns[0]["assistant_message"]["id"]
    )
    await api.client.put(
        f"/api/conversations/{conversation_id}/active",
        headers=alice,
        json={"message_id": turns[2]["user_message"]["id"]},
    )
    side_url = f"/api/conversations/{conversation_id}/messages/{side['user_message']['id']}"
    assert (await api.client.delete(side_url, headers=alice)).status_code == 204
    assert texts(await path(api, alice, conversation_id)) == ["q1", "q1", "q2", "q2", "q3", "q3"]
    root = f"/api/conversations/{conversation_id}/messages/{turns[0]['user_message']['id']}"
    refused = await api.client.delete(root, headers=alice)
    assert (refused.status_code, refused.json()["code"]) == (409, "only_root")


async def test_exports_markdown_follows_the_branch_json_has_every_node(api: Api, alice: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    await chat(api, alice, "edited", conversation_id=conversation_id, parent_id=turns[2]["user_message"]["parent_id"])
    markdown = (await api.client.get(f"/api/conversations/{conversation_id}/export", headers=alice)).text
    assert "edited" in markdown
    assert "q3" not in markdown
    data = (await api.client.get(f"/api/conversations/{conversation_id}/export?format=json", headers=alice)).json()
    assert len(data["messages"]) == 8
    assert data["active_message_id"] == data["messages"][-1]["id"]
    by_id = {m["id"]: m for m in data["messages"]}
    assert all(m["parent_id"] is None or m["parent_id"] in by_id for m in data["messages"])
    # The versions of the third question are each other's siblings; a message without any is alone.
    q3, edited = turns[2]["user_message"]["id"], next(m["id"] for m in data["messages"] if m["content"] == "edited")
    assert by_id[q3]["siblings"] == {"ids": [q3, edited], "index": 0}
    assert by_id[edited]["siblings"] == {"ids": [q3, edited], "index": 1}
    q1 = turns[0]["user_message"]["id"]
    assert by_id[q1]["siblings"] == {"ids": [q1], "index": 0}


async def test_bad_parents_and_other_users(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    other = await chat(api, alice, "elsewhere")
    bobs = await chat(api, bob, "mine")
    cases = [
        (other["assistant_message"]["id"], 404),  # another conversation of the same user
        (bobs["assistant_message"]["id"], 404),  # another user's message
        (turns[1]["user_message"]["id"], 422),  # a question cannot be answered by a question
        (2**31 - 1, 404),
    ]
    for parent_id, status in cases:
        response = await api.client.post(
            "/api/chat",
            headers=alice,
            json={"conversation_id": conversation_id, "message": "x", "parent_id": parent_id},
        )
        assert response.status_code == status, (parent_id, response.text)
    no_conversation = await api.client.post("/api/chat", headers=alice, json={"message": "x", "parent_id": 1})
    assert no_conversation.status_code == 404
    base = f"/api/conversations/{conversation_id}"
    message = turns[0]["assistant_message"]["id"]
    for method, url, body in [
        ("GET", f"{base}/tree", None),
        ("PUT", f"{base}/active", {"message_id": message}),
        ("DELETE", f"{base}/messages/{message}", None),
        ("POST", f"{base}/regenerate", {"message_id": message}),
    ]:
        response = await api.client.request(method, url, headers=bob, json=body)
        assert response.status_code == 404, (method, url)
    # A message of another conversation, through one's own conversation id.
    bobs_conversation = bobs["conversation_id"]
    for method, url, body in [
        ("PUT", f"/api/conversations/{bobs_conversation}/active", {"message_id": message}),
        ("DELETE", f"/api/conversations/{bobs_conversation}/messages/{message}", None),
        ("POST", f"/api/conversations/{bobs_conversation}/regenerate", {"message_id": message}),
    ]:
        response = await api.client.request(method, url, headers=bob, json=body)
        assert response.status_code == 404, (method, url)
    assert len(await path(api, alice, conversation_id)) == 6  # nothing of alice's changed


async def test_the_database_refuses_a_parent_in_another_conversation(app: Any, api: Api, alice: dict[str, str]) -> None:
    one = await chat(api, alice, "one")
    two = await chat(api, alice, "two")
    async with app.state.context.engine.begin() as connection:
        with pytest.raises((IntegrityError, DBAPIError)):
            await connection.execute(
                text(
                    "INSERT INTO messages (conversation_id, parent_id, role, content, status, created_at) "
                    "VALUES (:c, :p, 'user', 'x', 'complete', CURRENT_TIMESTAMP)"
                ),
                {"c": two["conversation_id"], "p": one["assistant_message"]["id"]},
            )


async def test_a_parent_that_is_the_active_leaf_is_the_usual_turn(api: Api, app: Any, alice: dict[str, str]) -> None:
    """The web app always names the reply on screen as the parent: that costs no ownership read."""
    from sqlalchemy import event

    conversation_id, turns = await three_turns(api, alice)
    leaf = turns[2]["assistant_message"]["id"]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = app.state.context.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        turn = await chat(api, alice, "q4", conversation_id=conversation_id, parent_id=leaf)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert turn["user_message"]["parent_id"] == leaf
    assert turn["user_message"]["siblings"] == {"ids": [turn["user_message"]["id"]], "index": 0}
    # No lookup of the parent message by id: it is checked inside the question's INSERT, and the
    # only other reads of messages are the history walk.
    lookups = [s for s in statements if "WHERE messages.id =" in s and "RECURSIVE" not in s]
    assert not lookups, lookups
    # Before the question's INSERT, messages are read only by the history walk up to the parent
    # (one recursive query; the write is then the turn's last trip), and not again after it.
    first_insert = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO messages"))
    reads = [i for i, s in enumerate(statements) if "FROM messages" in s and not s.startswith("INSERT")]
    assert len(reads) == 1, [statements[i] for i in reads]
    assert reads[0] < first_insert
    assert "RECURSIVE" in statements[reads[0]]
    assert texts(await path(api, alice, conversation_id))[-2:] == ["q4", "q4"]


async def test_a_question_without_its_reply_is_never_a_parent(api: Api, app: Any, alice: dict[str, str]) -> None:
    """The model failed: the question is the active leaf, with no reply. Naming it as the parent is
    422 on both chat routes, and nothing is stored (a user message is never a parent)."""
    from sqlalchemy import func, select

    from app.models import Message

    conversation_id, _ = await three_turns(api, alice)
    failed = await api.client.post(
        "/api/chat", headers=alice, json={"conversation_id": conversation_id, "message": "[[fail]] q4"}
    )
    assert failed.status_code >= 500
    question = (await path(api, alice, conversation_id))[-1]
    assert (question["role"], question["content"]) == ("user", "[[fail]] q4")

    async def stored() -> int:
        async with app.state.context.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(Message)) or 0)

    before = await stored()
    for route in ("/api/chat", "/api/chat/stream"):
        response = await api.client.post(
            route,
            headers=alice,
            json={"conversation_id": conversation_id, "message": "follow-up", "parent_id": question["id"]},
        )
        assert (response.status_code, response.json()["code"]) == (422, "invalid_parent"), route
    assert await stored() == before
    assert (await path(api, alice, conversation_id))[-1]["id"] == question["id"]


async def test_parent_id_on_the_stream_route_is_checked_too(
    api: Api, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """IDOR through `parent_id` on POST /api/chat/stream: a message of another conversation or user is 404."""
    conversation_id, turns = await three_turns(api, alice)
    other = await chat(api, alice, "elsewhere")
    bobs = await chat(api, bob, "mine")
    for parent_id, status in [
        (other["assistant_message"]["id"], 404),
        (bobs["assistant_message"]["id"], 404),
        (turns[0]["user_message"]["id"], 422),
    ]:
        response = await api.client.post(
            "/api/chat/stream",
            headers=alice,
            json={"conversation_id": conversation_id, "message": "x", "parent_id": parent_id},
        )
        assert response.status_code == status, (parent_id, response.text)
    # Bob names his own reply as the parent in Alice's conversation: still 404, nothing said about it.
    response = await api.client.post(
        "/api/chat/stream",
        headers=bob,
        json={"conversation_id": conversation_id, "message": "x", "parent_id": bobs["assistant_message"]["id"]},
    )
    assert response.status_code == 404
    assert len(await path(api, alice, conversation_id)) == 6


async def test_the_tree_is_paged_capped_and_without_text(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    conversation_id, turns = await three_turns(api, alice)
    await chat(api, alice, "edited", conversation_id=conversation_id, parent_id=turns[0]["assistant_message"]["id"])
    base = f"/api/conversations/{conversation_id}/tree"
    whole = (await api.client.get(base, headers=alice)).json()
    assert len(whole["items"]) == 8
    assert whole["has_more"] is False
    assert set(whole["items"][0]) == {"id", "parent_id", "role", "status", "created_at"}  # no content
    assert whole["active_message_id"] == whole["items"][-1]["id"]
    ids = [node["id"] for node in whole["items"]]
    assert ids == sorted(ids)
    paged: list[int] = []
    after: int | None = None
    while True:
        params = {"limit": 3, **({"after_id": after} if after else {})}
        page = (await api.client.get(base, headers=alice, params=params)).json()
        paged += [node["id"] for node in page["items"]]
        if not page["has_more"]:
            break
        after = page["items"][-1]["id"]
    assert paged == ids
    for params in ({"limit": 5_001}, {"limit": 0}, {"after_id": 0}):
        assert (await api.client.get(base, headers=alice, params=params)).status_code == 422, params
    assert (await api.client.get(base, headers=bob)).status_code == 404


async def test_the_model_history_is_bounded_along_the_active_path(
    app_factory: Any, make_settings: Any, alice: dict[str, str]
) -> None:
    """CHAT_HISTORY_MAX_MESSAGES counts back along the active path (the new question included), never
    into a sibling branch, however long that one is."""
    other = await app_factory(make_settings(chat_history_max_messages=5))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://test") as client:
        api = Api(client, other)
        headers = await api.login("alice@example.com")
        conversation_id, turns = await three_turns(api, headers)
        await chat(api, headers, "b2", conversation_id=conversation_id, parent_id=turns[1]["assistant_message"]["id"])
        if other.state.context.chat.background:
            await asyncio.wait(other.state.context.chat.background)
        seen: list[list[str]] = []
        model = other.state.context.llm.model
        original = type(model)._astream

        async def recording(self: Any, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append([str(m.content).split("\n")[0] for m in messages[1:]])
            async for chunk in original(self, messages, *args, **kwargs):
                yield chunk

        type(model)._astream = recording
        try:
            await chat(api, headers, "b3", conversation_id=conversation_id)
        finally:
            type(model)._astream = original
    # The active path is q1 a1 q2 a2 b2 a b3: its last 5, never q3 / a3 of the sibling branch.
    assert seen == [["q2", "You said: q2", "b2", "You said: b2", "b3"]]


async def test_while_a_reply_is_written_its_question_stays_put(live_server: Any) -> None:
    """A regenerate streaming: a follow-up naming its question is 422, deleting the branch it
    answers is 409 (not a reply failing to save), and switching away sticks when the reply lands."""
    from tests.api.test_jobs import sse_events

    server = live_server(fake_llm_delay_ms=40)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        api = Api(client, server.app)
        ana = await api.user("ana@example.com")
        conversation_id, turns = await three_turns(api, ana)
        question, old = turns[1]["user_message"]["id"], turns[1]["assistant_message"]["id"]
        regenerate = f"/api/conversations/{conversation_id}/regenerate"
        during: dict[str, httpx.Response] = {}
        async with client.stream("POST", regenerate, headers=ana, json={"message_id": old}) as response:
            async for name, _ in sse_events(response):
                if name == "token" and not during:
                    during["follow-up"] = await client.post(
                        "/api/chat",
                        headers=ana,
                        json={"conversation_id": conversation_id, "message": "too soon", "parent_id": question},
                    )
                    during["delete"] = await client.delete(
                        f"/api/conversations/{conversation_id}/messages/{question}", headers=ana
                    )
                    during["switch"] = await client.put(
                        f"/api/conversations/{conversation_id}/active", headers=ana, json={"message_id": old}
                    )
                if name in ("done", "error"):
                    done = name
                    break
        tree = (await client.get(f"/api/conversations/{conversation_id}/tree", headers=ana)).json()
        shown = await path(api, ana, conversation_id)
    follow_up, deleted, switched = during["follow-up"], during["delete"], during["switch"]
    # One reply at a time in a conversation (a JSON turn is a job as a streamed one is).
    assert (follow_up.status_code, follow_up.json()["code"]) == (409, "reply_in_progress")
    assert (deleted.status_code, deleted.json()["code"]) == (409, "reply_in_progress")
    assert switched.status_code == 200
    assert done == "done"
    answers = [node["id"] for node in tree["items"] if node["parent_id"] == question]
    assert len(answers) == 2  # the new reply is saved under its question, beside the old one
    assert len(tree["items"]) == 7
    # The person switched back to the old reply while the new one was written: it does not pull them back.
    assert [m["id"] for m in shown] == [m["id"] for t in turns for m in (t["user_message"], t["assistant_message"])]


async def test_the_export_keeps_children_only_for_messages_with_several(
    api: Api, app: Any, alice: dict[str, str]
) -> None:
    """A long conversation without branches needs no children map at all (it held one list per
    message: 30 MB for a 50,000-message export, bench/scale.py)."""
    from app.models import Conversation
    from app.services.conversations import tree_shape

    conversation_id, turns = await three_turns(api, alice)
    async with app.state.context.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        active, children = await tree_shape(session, conversation)
        assert children == {}
        assert active == turns[2]["assistant_message"]["id"]
    parent = turns[2]["user_message"]["parent_id"]
    edited = await chat(api, alice, "edited", conversation_id=conversation_id, parent_id=parent)
    await chat(api, alice, "another first question", conversation_id=conversation_id, parent_id=None)
    async with app.state.context.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        _, children = await tree_shape(session, conversation)
    first = turns[0]["user_message"]["id"]
    assert set(children) == {parent, None}
    assert children[parent] == [turns[2]["user_message"]["id"], edited["user_message"]["id"]]
    assert children[None][0] == first
    assert len(children[None]) == 2
