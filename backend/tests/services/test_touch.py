"""touch_conversation runs prebuilt table statements: the database and the session's loaded copy of
the conversation must both see what an ORM update would have set."""

from __future__ import annotations

from typing import Any

from app.models import Conversation, utcnow
from app.services.conversations import touch_conversation
from tests.conftest import Api


async def stored(app: Any, conversation_id: int) -> Conversation:
    async with app.state.context.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation


async def test_touch_sets_the_database_and_the_loaded_copy(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post("/api/chat", headers=alice, json={"message": "hello"})
    assert response.status_code == 200, response.text
    conversation_id = response.json()["conversation_id"]
    leaf = response.json()["assistant_message"]["id"]
    async with app.state.context.sessionmaker() as session:
        loaded = await session.get(Conversation, conversation_id)
        assert loaded is not None
        assert loaded.active_message_id == leaf

        when = utcnow()
        await touch_conversation(session, conversation_id, when, active_id=leaf + 10, if_active=leaf + 1)
        assert (loaded.active_message_id, loaded.updated_at) == (leaf, when)  # not the active one: kept
        await touch_conversation(session, conversation_id, when, active_id=leaf + 10, if_active=leaf)
        assert loaded.active_message_id == leaf + 10
        await touch_conversation(session, conversation_id, when, active_id=leaf + 20)
        assert loaded.active_message_id == leaf + 20
        assert not session.dirty  # set as loaded values: nothing left for a flush to write
        await session.commit()
    fresh = await stored(app, conversation_id)
    assert (fresh.active_message_id, fresh.updated_at) == (leaf + 20, when)

    # Nothing loaded: only the database changes; an unset pointer takes the conditional value.
    async with app.state.context.sessionmaker() as session:
        await touch_conversation(session, conversation_id, active_id=leaf + 30, if_active=leaf + 99)
        await session.commit()
    assert (await stored(app, conversation_id)).active_message_id == leaf + 20
    async with app.state.context.sessionmaker() as session:
        await touch_conversation(session, conversation_id, active_id=None)
        await session.commit()
    assert (await stored(app, conversation_id)).updated_at > when
