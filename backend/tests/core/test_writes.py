"""commit_writes: a transaction's writes sent together (one thread trip on SQLite), stored exactly as
statement by statement, on SQLite and on the PostgreSQL of TEST_DATABASE_URL alike."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest
from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.exc import IntegrityError

from app.core.writes import Returned, Write, commit_writes
from app.models import Conversation, Message, UsageDay, User, utcnow
from app.services.conversations import (
    conversation_insert,
    conversation_touch,
    insert_conversation,
    insert_message,
    message_insert,
    question_under_answer_insert,
)
from app.services.usage import count_turn, token_count, turn_count


async def _user(app: Any, email: str = "ana@example.com") -> int:
    async with app.state.context.sessionmaker() as session:
        user = User(email=email, hashed_password="x")
        session.add(user)
        await session.commit()
        return user.id


def _row(row: Any, *skip: str) -> dict[str, Any]:
    return {key: value for key, value in row._mapping.items() if key not in skip}


async def test_a_batch_stores_what_statement_by_statement_stores(app: Any) -> None:
    """Same columns, same stored text (datetimes, JSON, booleans, defaults), on either database."""
    sessionmaker = app.state.context.sessionmaker
    user_id = await _user(app)
    now = utcnow()
    settings = {"model": "fake", "system_prompt": "Be brief.", "temperature": 0.3, "web_search": True}
    metadata = {"model": "fake", "input_tokens": 12, "output_tokens": 34, "grounding": {"queries": ["olá"]}}
    async with sessionmaker() as session:
        first = await insert_conversation(session, user_id, now, settings)
        question = await insert_message(session, first, "user", "Olá", "complete", now, None)
        await insert_message(session, first, "assistant", "Oi", "complete", now, question.id, metadata)
        await count_turn(session, user_id)
        await session.commit()
    async with sessionmaker() as session:
        stored = await commit_writes(
            session,
            [
                conversation_insert(user_id, now, settings),
                message_insert(Returned(0), "user", "Olá", "complete", now, None),
                message_insert(Returned(0), "assistant", "Oi", "complete", now, Returned(1), metadata),
                turn_count(session, user_id),
            ],
        )
    assert stored is not None
    second, second_question, answer, nothing = stored
    assert nothing is None  # the upsert returns no row
    async with sessionmaker() as session:
        # As stored, not as the ORM reads it back: the text of each column must be the same.
        conversations = (await session.execute(text("SELECT * FROM conversations ORDER BY id"))).all()
        messages = (await session.execute(text("SELECT * FROM messages ORDER BY id"))).all()
        usage = (await session.execute(select(UsageDay.messages).where(UsageDay.user_id == user_id))).scalar_one()
    assert [row.id for row in conversations] == [first, second]
    assert _row(conversations[0], "id") == _row(conversations[1], "id")
    assert [row.conversation_id for row in messages] == [first, first, second, second]
    assert messages[3].id == answer
    assert messages[3].parent_id == second_question
    assert _row(messages[0], "id", "conversation_id") == _row(messages[2], "id", "conversation_id")
    assert _row(messages[1], "id", "conversation_id", "parent_id") == _row(
        messages[3], "id", "conversation_id", "parent_id"
    )
    assert usage == 2


async def test_a_required_first_write_that_returns_nothing_stores_nothing(app: Any) -> None:
    sessionmaker = app.state.context.sessionmaker
    user_id = await _user(app)
    now = utcnow()
    async with sessionmaker() as session:
        conversation_id = await insert_conversation(session, user_id, now)
        question = await insert_message(session, conversation_id, "user", "Olá", "complete", now, None)
        await session.commit()
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        writes = [
            question_under_answer_insert(conversation_id, "again", now, question.id),  # a question is no parent
            conversation_touch(conversation_id, now, active_id=Returned(0)),
            turn_count(session, user_id),
        ]
        assert await commit_writes(session, writes) is None
        assert conversation.title  # the session's objects are still loaded (nothing expired them)
    async with sessionmaker() as session:
        count = len((await session.execute(select(Message.id))).all())
        turns = (await session.execute(select(UsageDay.messages))).scalars().all()
        active = (await session.execute(select(Conversation.active_message_id))).scalar_one()
    assert (count, turns, active) == (1, [], None)


async def test_a_failing_write_rolls_the_whole_batch_back_with_sqlalchemys_error(app: Any) -> None:
    sessionmaker = app.state.context.sessionmaker
    user_id = await _user(app)
    now = utcnow()
    async with sessionmaker() as session:
        with pytest.raises(IntegrityError):
            await commit_writes(
                session,
                [
                    conversation_insert(user_id, now),
                    message_insert(Returned(0), "user", "Olá", "complete", now, None),
                    message_insert(10**9, "user", "no such conversation", "complete", now, None),
                ],
            )
    async with sessionmaker() as session:
        assert (await session.execute(select(Conversation.id))).all() == []
        assert (await session.execute(select(Message.id))).all() == []
    async with sessionmaker() as session:  # the connection and the session work on
        stored = await commit_writes(session, [conversation_insert(user_id, now)])
        assert stored is not None


async def test_statements_it_cannot_send_together_go_one_by_one(app: Any) -> None:
    """An expanding IN list needs SQLAlchemy's own execution: the batch still runs, in order."""
    sessionmaker = app.state.context.sessionmaker
    ids = [await _user(app, f"u{i}@example.com") for i in range(3)]
    async with sessionmaker() as session:
        stored = await commit_writes(
            session,
            [
                Write(delete(User).where(User.id.in_(ids[:2]))),
                Write(insert(User).returning(User.id), {"email": "new@example.com", "hashed_password": "x"}),
            ],
        )
    assert stored is not None
    async with sessionmaker() as session:
        emails = (await session.execute(select(User.email).order_by(User.id))).scalars().all()
    assert emails == ["u2@example.com", "new@example.com"]


async def test_on_sqlite_a_batch_is_one_trip_seen_by_statement_listeners(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = app.state.context.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the one-trip batch is SQLite's (PostgreSQL runs the same writes one by one)")
    user_id = await _user(app)
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0] + " " + statement.split()[2])

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with app.state.context.sessionmaker() as session:
            now = utcnow()
            tokens = token_count(session, user_id, 5, 7)
            assert tokens is not None
            writes = [
                conversation_insert(user_id, now),
                message_insert(Returned(0), "user", "Olá", "complete", now, None),
                turn_count(session, user_id),
                tokens,
            ]
            stored = await commit_writes(session, writes)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert stored is not None
    assert trips == ["_run_writes"]  # the statements, and the commit, in one trip
    assert seen == ["INSERT conversations", "INSERT messages", "INSERT usage_days", "INSERT usage_days"]
    async with app.state.context.sessionmaker() as session:
        row = (await session.execute(select(UsageDay.messages, UsageDay.input_tokens))).one()
    assert tuple(row) == (1, 5)
