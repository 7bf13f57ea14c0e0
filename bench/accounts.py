"""Many accounts for the burst benchmark: each with its own conversation and its own access token.

Registering and logging in 500 accounts through the API would cost ~100 s of argon2 on the
server's one core, so one account is registered through the API and the others are inserted into
the server's SQLite file with the same password hash; each gets a conversation of one question and
one answer (a chain with its active leaf, as the app writes it), and a token signed with the
server's key from its data folder (the same claims POST /api/auth/login puts in one).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import loadgen

QUESTION = "Hello there, how are you today?"
ANSWER = "Fine, thanks. What would you like to talk about?"


@dataclass(frozen=True)
class Account:
    token: str
    conversation_id: int


async def seed_accounts(port: int, data_dir: Path, count: int, prefix: str = "many") -> list[Account]:
    """`count` accounts, each with its own conversation (the first registered through the API)."""
    await loadgen.make_user(port, f"{prefix}0@example.com")
    key = (data_dir / ".secret_key").read_text().strip()
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    accounts = []
    with sqlite3.connect(data_dir / "chat.db", timeout=30) as db:
        db.execute("PRAGMA busy_timeout=30000")
        trees = any(row[1] == "parent_id" for row in db.execute("PRAGMA table_info(messages)"))
        first_id, hashed = db.execute(
            "SELECT id, hashed_password FROM users WHERE email = ?", (f"{prefix}0@example.com",)
        ).fetchone()
        for i in range(count):
            if i == 0:
                user_id = int(first_id)
            else:
                cursor = db.execute(
                    "INSERT INTO users (email, hashed_password, created_at, is_admin, is_active, token_version) "
                    "VALUES (?, ?, ?, 0, 1, 0)",
                    (f"{prefix}{i}@example.com", hashed, stamp),
                )
                user_id = int(cursor.lastrowid or 0)
            cursor = db.execute(
                "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (user_id, f"Conversation of account {i}", stamp, stamp),
            )
            conversation_id = int(cursor.lastrowid or 0)
            question = db.execute(
                "INSERT INTO messages (conversation_id, role, content, status, created_at) "
                "VALUES (?, 'user', ?, 'complete', ?)",
                (conversation_id, QUESTION, stamp),
            ).lastrowid
            if not trees:  # a checkout from before conversation trees (a baseline run)
                db.execute(
                    "INSERT INTO messages (conversation_id, role, content, status, created_at) "
                    "VALUES (?, 'assistant', ?, 'complete', ?)",
                    (conversation_id, ANSWER, stamp),
                )
            else:
                answer = db.execute(
                    "INSERT INTO messages (conversation_id, parent_id, role, content, status, created_at) "
                    "VALUES (?, ?, 'assistant', ?, 'complete', ?)",
                    (conversation_id, question, ANSWER, stamp),
                ).lastrowid
                db.execute("UPDATE conversations SET active_message_id = ? WHERE id = ?", (answer, conversation_id))
            claims = {"sub": str(user_id), "ver": 0, "iat": now, "exp": now + timedelta(days=1)}
            accounts.append(Account(jwt.encode(claims, key, algorithm="HS256"), conversation_id))
    return accounts
