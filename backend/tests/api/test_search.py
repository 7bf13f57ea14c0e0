"""Full-text search: accents, prefixes, ranking, escaped snippets, privacy, and the index in sync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from app.models import utcnow
from app.services import conversations as service
from tests.conftest import Api


async def user_id(api: Api, headers: dict[str, str]) -> int:
    return int((await api.client.get("/api/auth/me", headers=headers)).json()["id"])


async def write_conversation(api: Api, headers: dict[str, str], title: str, *texts: str) -> tuple[int, list[int]]:
    """A conversation written through the service layer (the chat hot path's own inserts)."""
    owner = await user_id(api, headers)
    start = utcnow()
    async with api.app.state.context.sessionmaker() as session:
        conversation_id = await service.insert_conversation(session, owner, start)
        await session.execute(
            text("UPDATE conversations SET title = :title WHERE id = :id"), {"title": title, "id": conversation_id}
        )
        ids = []
        for n, content in enumerate(texts):
            role = "user" if n % 2 == 0 else "assistant"
            when = start + timedelta(seconds=n)
            parent = ids[-1] if ids else None  # a chain, as the chat writes it
            message = await service.insert_message(session, conversation_id, role, content, "complete", when, parent)
            ids.append(message.id)
        await service.touch_conversation(
            session, conversation_id, start + timedelta(seconds=len(texts)), active_id=ids[-1] if ids else None
        )
        await session.commit()
    return conversation_id, ids


async def search(api: Api, headers: dict[str, str], q: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get("/api/search", headers=headers, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def sidebar(api: Api, headers: dict[str, str], q: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get("/api/conversations", headers=headers, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_accents_and_case_fold_both_ways(api: Api, alice: dict[str, str]) -> None:
    _, (accented, plain) = await write_conversation(
        api, alice, "Notas", "A AÇÃO começou às três", "the acao without accents"
    )
    for q in ("acao", "ação", "AÇÃO", "Acão"):
        assert {hit["message_id"] for hit in await search(api, alice, q)} == {accented, plain}, q
    assert [hit["message_id"] for hit in await search(api, alice, "comecou tres")] == [accented]


async def test_the_last_word_matches_as_a_prefix(api: Api, alice: dict[str, str]) -> None:
    _, (programming, other) = await write_conversation(
        api, alice, "Código", "programação funcional em Haskell", "um programa em python"
    )
    assert {hit["message_id"] for hit in await search(api, alice, "progr")} == {programming, other}
    assert [hit["message_id"] for hit in await search(api, alice, "programacao func")] == [programming]
    # Only the last word is a prefix: "prog" alone is not a word of either message.
    assert await search(api, alice, "prog haskell") == []
    # One or two letters are a word, not a prefix of everything.
    assert await search(api, alice, "p") == []
    assert await search(api, alice, "pr") == []
    assert len(await search(api, alice, "pro")) == 2


async def test_better_matches_first_then_newest(api: Api, alice: dict[str, str]) -> None:
    _, (once_old, often, once_new) = await write_conversation(
        api,
        alice,
        "Jardim",
        "tomate na horta, e depois " + "muita coisa sem relação " * 20,
        "tomate tomate tomate",
        "tomate na horta, e depois " + "muita coisa sem relação " * 20,
    )
    assert [hit["message_id"] for hit in await search(api, alice, "tomate")] == [often, once_new, once_old]


async def test_snippets_are_escaped_with_the_match_marked(api: Api, alice: dict[str, str]) -> None:
    _, (script, ampersand) = await write_conversation(
        api, alice, "XSS", '<script>alert("banana")</script> <img src=x onerror=banana>', "Tom & Jerry comem banana"
    )
    hits = {hit["message_id"]: hit["snippet"] for hit in await search(api, alice, "banana")}
    for snippet in hits.values():
        # Only our own tags (SQLite escapes the text, PostgreSQL shows "<" and ">" as "‹" and "›").
        assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0, snippet
    assert "<mark>banana</mark>" in hits[script]
    assert hits[ampersand] == "Tom &amp; Jerry comem <mark>banana</mark>"
    (item,) = (await sidebar(api, alice, "banana"))["items"]
    assert item["snippet"] == hits[item["message_id"]]


async def test_typed_operators_are_plain_words(api: Api, alice: dict[str, str]) -> None:
    _, (message,) = await write_conversation(api, alice, "Ops", "NEAR the OR gate and a star")
    for q in ('"gate', "gate*", "NEAR(gate star)", "owner : u1", "gate OR", "-gate", "star:*", "'gate' & !x"):
        response = await api.client.get("/api/search", headers=alice, params={"q": q})
        assert response.status_code == 200, (q, response.text)
    assert [hit["message_id"] for hit in await search(api, alice, "gate NOT star")] == []  # "not" is a word here
    assert [hit["message_id"] for hit in await search(api, alice, "gate star")] == [message]
    assert await search(api, alice, "%%%") == []


async def test_another_users_text_is_never_found(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    await write_conversation(api, bob, "Segredo do Bob", "o segredo do bob é abacaxi")
    mine, _ = await write_conversation(api, alice, "Frutas", "gosto de abacaxi")
    assert [hit["conversation_id"] for hit in await search(api, alice, "abacaxi")] == [mine]
    assert await search(api, alice, "segredo") == []
    assert await search(api, alice, "bob") == []
    assert (await sidebar(api, alice, "segredo"))["total"] == 0
    assert [item["id"] for item in (await sidebar(api, alice, "abacaxi"))["items"]] == [mine]


async def test_message_hits_carry_their_conversation(api: Api, alice: dict[str, str]) -> None:
    conversation_id, (question, answer) = await write_conversation(
        api, alice, "Viagem a Lisboa", "onde comer pastel de nata?", "Em Belém, o pastel é famoso."
    )
    hits = await search(api, alice, "pastel")
    assert {(hit["message_id"], hit["role"]) for hit in hits} == {(question, "user"), (answer, "assistant")}
    assert {hit["conversation_id"] for hit in hits} == {conversation_id}
    assert {hit["conversation_title"] for hit in hits} == {"Viagem a Lisboa"}
    assert all(hit["created_at"].endswith(("Z", "+00:00")) for hit in hits)


async def test_sidebar_ranks_conversations_by_their_best_match(api: Api, alice: dict[str, str]) -> None:
    weak, _ = await write_conversation(api, alice, "Outro assunto", "sobre gatos " + "e mais nada " * 30)
    strong, (best, _x) = await write_conversation(api, alice, "Animais", "gatos gatos gatos", "sobre gatos também")
    titled, _ = await write_conversation(api, alice, "Gatos persas", "pelos longos")
    page = await sidebar(api, alice, "gatos")
    assert page["total"] == 3
    ids = [item["id"] for item in page["items"]]
    assert set(ids) == {weak, strong, titled}
    assert ids.index(strong) < ids.index(weak)
    by_id = {item["id"]: item for item in page["items"]}
    assert by_id[strong]["message_id"] == best
    assert "<mark>gatos</mark>" in by_id[strong]["snippet"]
    assert by_id[titled]["message_id"] is None
    assert by_id[titled]["snippet"] is None
    second = await sidebar(api, alice, "gatos", limit=2, offset=2)
    assert second["total"] == 3
    assert [item["id"] for item in second["items"]] == ids[2:]
    assert (await sidebar(api, alice, "gatos", limit=2, offset=10)) == {"items": [], "total": 3}
    # Without a query, the plain list has neither field set.
    assert all(item["snippet"] is None for item in (await sidebar(api, alice, ""))["items"])


async def test_message_search_pages(api: Api, alice: dict[str, str]) -> None:
    _, ids = await write_conversation(api, alice, "Eco", *[f"eco número {n}" for n in range(5)])
    first = await api.client.get("/api/search", headers=alice, params={"q": "eco", "limit": 3})
    second = await api.client.get("/api/search", headers=alice, params={"q": "eco", "limit": 3, "offset": 3})
    assert first.json()["has_more"] is True
    assert second.json()["has_more"] is False
    found = [hit["message_id"] for hit in first.json()["items"] + second.json()["items"]]
    assert sorted(found) == sorted(ids)
    assert (await api.client.get("/api/search", headers=alice, params={"q": ""})).status_code == 422
    assert (await api.client.get("/api/search", params={"q": "eco"})).status_code == 401


async def assert_index_consistent(api: Api) -> None:
    async with api.app.state.context.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # FTS5 compares its index with the content tables and raises on any difference.
            await connection.execute(text("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"))
            await connection.execute(
                text("INSERT INTO conversations_fts(conversations_fts, rank) VALUES ('integrity-check', 1)")
            )


async def test_the_index_follows_inserts_edits_and_deletes(api: Api, alice: dict[str, str]) -> None:
    conversation_id, _ = await write_conversation(api, alice, "Receitas", "bolo de cenoura")
    assert len(await search(api, alice, "cenoura")) == 1
    # Edit: regenerate with a rewritten question (an UPDATE of messages.content).
    reply = await api.client.post(
        "/api/chat", headers=alice, json={"conversation_id": conversation_id, "message": "e de laranja?"}
    )
    assert reply.status_code == 200
    regenerated = await api.client.post(
        f"/api/conversations/{conversation_id}/regenerate", headers=alice, json={"message": "e de limão?"}
    )
    assert regenerated.status_code == 200
    # The edit is a new branch: the original question is kept, and every branch is searched.
    assert {hit["role"] for hit in await search(api, alice, "laranja")} == {"user", "assistant"}
    assert {hit["role"] for hit in await search(api, alice, "limao")} == {"user", "assistant"}
    # An UPDATE of messages.content (a restore script, say): the index follows.
    async with api.app.state.context.engine.begin() as connection:
        await connection.execute(text("UPDATE messages SET content = 'e de abacaxi?' WHERE content = 'e de laranja?'"))
    assert [hit["role"] for hit in await search(api, alice, "laranja")] == ["assistant"]
    assert [hit["role"] for hit in await search(api, alice, "abacaxi")] == ["user"]
    # Rename: the title index follows.
    await api.client.patch(f"/api/conversations/{conversation_id}", headers=alice, json={"title": "Sobremesas"})
    assert (await sidebar(api, alice, "receitas"))["total"] == 0
    assert (await sidebar(api, alice, "sobremesas"))["total"] == 1
    await assert_index_consistent(api)
    # Delete: nothing of it is found any more.
    await api.client.delete(f"/api/conversations/{conversation_id}", headers=alice)
    assert await search(api, alice, "cenoura") == []
    assert (await sidebar(api, alice, "sobremesas"))["total"] == 0
    await assert_index_consistent(api)


async def test_rows_written_outside_the_app_are_indexed(api: Api, alice: dict[str, str]) -> None:
    """A bulk import or a restore script writes plain SQL: the database's own triggers index it."""
    owner = await user_id(api, alice)
    async with api.app.state.context.engine.begin() as connection:
        conversation_id = (
            await connection.execute(
                text(
                    "INSERT INTO conversations (user_id, title, created_at, updated_at) "
                    "VALUES (:u, 'Importada', :now, :now) RETURNING id"
                ),
                {"u": owner, "now": utcnow()},
            )
        ).scalar_one()
        await connection.execute(
            text(
                "INSERT INTO messages (conversation_id, role, content, status, created_at) "
                "VALUES (:c, 'user', 'texto importado de outro sistema', 'complete', :now)"
            ),
            {"c": conversation_id, "now": utcnow()},
        )
    assert [hit["conversation_id"] for hit in await search(api, alice, "importado")] == [conversation_id]
    assert (await sidebar(api, alice, "importada"))["total"] == 1
    async with api.app.state.context.engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :u"), {"u": owner})
    await assert_index_consistent(api)
