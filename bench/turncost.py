"""Per-turn cost vs conversation length: seed long conversations, then measure one turn in each.

Rows read and prompt size are measured in this process through the app's own turn code
(`ChatService.prepare_message` and `LLMService.prompt_for`, the functions the route calls), on the
server's database file; the latency of a turn is measured over HTTP on the running server. The
naive alternative (load the whole history) is timed on the same database for comparison.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

USER_TEXT = "Could you explain how the event loop schedules callbacks and timers in asyncio, briefly?"
ASSISTANT_TEXT = (
    "Sure. The event loop keeps a queue of ready callbacks and a heap of timers. Each iteration it "
    "polls the selector for I/O with a timeout up to the nearest timer, moves due timers to the ready "
    "queue, then runs every ready callback once. Coroutines are driven by tasks whose steps are such "
    "callbacks; an await on a future parks the task until the future's done callback schedules it again."
)


@dataclass
class TurnCost:
    messages: int
    rows_read: int
    statements: int
    prompt_messages: int
    prompt_chars: int
    prompt_tokens: int
    app_load_ms: float
    naive_rows: int
    naive_chars: int
    naive_tokens: int
    naive_load_ms: float


def seed_conversation(db_path: Path, user_id: int, messages: int) -> int:
    """Insert a conversation with `messages` alternating user/assistant rows (oldest first); returns its id."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with sqlite3.connect(db_path, timeout=30) as db:
        db.execute("PRAGMA busy_timeout=30000")
        now = start.strftime("%Y-%m-%d %H:%M:%S.%f")
        cursor = db.execute(
            "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (user_id, f"Seeded {messages}", now, now),
        )
        conversation_id = int(cursor.lastrowid or 0)
        rows = []
        for i in range(messages):
            role = "user" if i % 2 == 0 else "assistant"
            text = f"{USER_TEXT} (#{i})" if role == "user" else f"{ASSISTANT_TEXT} (#{i})"
            when = (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append((conversation_id, role, text, "complete", when))
        db.executemany(
            "INSERT INTO messages (conversation_id, role, content, status, created_at) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        chain(db, conversation_id)
    return conversation_id


def chain(db: sqlite3.Connection, conversation_id: int) -> None:
    """Each message's parent is the previous one, the newest is the active leaf (as migration 0002 does)."""
    db.execute(
        "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p "
        "WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id) WHERE conversation_id = ?",
        (conversation_id,),
    )
    db.execute(
        "UPDATE conversations SET active_message_id = (SELECT max(id) FROM messages WHERE conversation_id = ?) "
        "WHERE id = ?",
        (conversation_id, conversation_id),
    )


def seed_tree(db_path: Path, user_id: int, nodes: int, branches: int) -> int:
    """A conversation of `nodes` messages: a main line with `branches` side branches forking off it
    (edits and regenerations), spread along it; the active leaf is the end of the main line."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    side_length = nodes // (2 * branches)  # half the nodes in side branches, half on the main line
    with sqlite3.connect(db_path, timeout=30) as db:
        db.execute("PRAGMA busy_timeout=30000")
        now = start.strftime("%Y-%m-%d %H:%M:%S.%f")
        cursor = db.execute(
            "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (user_id, f"Tree {nodes}/{branches}", now, now),
        )
        conversation_id = int(cursor.lastrowid or 0)
        next_id = int(db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]) + 1
        rows: list[tuple[Any, ...]] = []

        def add(parent: int | None, depth: int) -> int:
            nonlocal next_id
            role = "user" if depth % 2 == 0 else "assistant"
            text = f"{USER_TEXT} (#{depth})" if role == "user" else f"{ASSISTANT_TEXT} (#{depth})"
            when = (start + timedelta(seconds=len(rows))).strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append((next_id, conversation_id, parent, role, text, "complete", when))
            next_id += 1
            return next_id - 1

        main: list[int] = []
        parent: int | None = None
        for depth in range(nodes - branches * side_length):
            parent = add(parent, depth)
            main.append(parent)
        step = max(2, len(main) // (branches + 1)) // 2 * 2  # fork at user messages: siblings of a question
        for branch in range(branches):
            fork = min((branch + 1) * step, len(main) - 2)
            side_parent: int | None = main[fork - 1] if fork > 0 else None
            for depth in range(fork, fork + side_length):
                side_parent = add(side_parent, depth)
        db.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("UPDATE conversations SET active_message_id = ? WHERE id = ?", (main[-1], conversation_id))
    return conversation_id


def naive_history(db_path: Path, conversation_id: int, repeats: int = 5) -> tuple[int, int, float]:
    """(rows, characters, median ms) of loading the whole history, the way a naive app would."""
    times = []
    rows: list[Any] = []
    with sqlite3.connect(db_path, timeout=30) as db:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = db.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    chars = sum(len(row[3]) for row in rows)
    return len(rows), chars, statistics.median(times)


async def app_turn_cost(data_dir: Path, user_id: int, conversation_id: int, repeats: int = 3) -> dict[str, Any]:
    """Rows read, statements and prompt size of one turn through the app's code (model not called)."""
    from app.core.config import Settings
    from app.core.db import create_engine, create_sessionmaker
    from app.llm import build_llm_service
    from app.models import Conversation, User
    from app.services.chat import ChatService
    from langchain_core.messages.utils import count_tokens_approximately
    from sqlalchemy import event

    settings = Settings(data_dir=data_dir, llm_provider="fake", fake_llm_delay_ms=0)
    engine = create_engine(settings)
    counters = {"rows": 0, "statements": 0}

    def count(
        _conn: Any,
        cursor: Any,
        _statement: Any,
        _params: Any,
        _context: Any,
        _many: Any,
    ) -> None:
        counters["statements"] += 1
        counters["rows"] += len(getattr(cursor, "_rows", ()) or ())

    event.listen(engine.sync_engine, "after_cursor_execute", count)
    chat = ChatService(create_sessionmaker(engine), build_llm_service(settings), settings)
    results = []
    try:
        for _ in range(repeats):
            counters.update(rows=0, statements=0)
            started = time.perf_counter()
            async with chat.sessionmaker() as session:
                user = await session.get(User, user_id)
                conversation = await session.get(Conversation, conversation_id)
                assert user is not None and conversation is not None
                turn = await chat.prepare_message(session, user, conversation, "One more question, please.")
                prompt = chat.llm.prompt_for(turn.history)
            elapsed = (time.perf_counter() - started) * 1000
            results.append(
                {
                    "rows": counters["rows"],
                    "statements": counters["statements"],
                    "prompt_messages": len(prompt),
                    "prompt_chars": sum(len(str(m.content)) for m in prompt),
                    "prompt_tokens": count_tokens_approximately(prompt),
                    "ms": elapsed,
                }
            )
    finally:
        await engine.dispose()
    best = results[-1]
    best["ms"] = statistics.median(r["ms"] for r in results)
    return best
