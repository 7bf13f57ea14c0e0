"""Backups: consistent copies while the app writes, to a folder and to S3 (a local moto_server),
listed, and restored (refusing to overwrite without --force), with the data read back."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from app.services import backup
from tests.conftest import Api

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="SQLite backups: each test uses its own SQLite file, so it runs once, in the SQLite pass",
)


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT m.id, m.conversation_id, c.user_id, m.role, m.content, m.status "
            "FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
        ).fetchall()


def assert_whole(path: Path) -> None:
    """Every exchange in the copy is whole: replies follow their question, no orphans."""
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    by_conversation: dict[int, list[str]] = {}
    for _, conversation_id, _, role, _, _ in rows(path):
        by_conversation.setdefault(conversation_id, []).append(role)
    for roles in by_conversation.values():
        assert roles[0] == "user"
        assert "assistant,assistant" not in ",".join(roles)


async def start(app_factory: Any, make_settings: Any, database: Path, **overrides: Any) -> tuple[Any, Any]:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{database}", **overrides)
    app = await app_factory(settings)
    return settings, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_backup_while_the_app_writes_then_restore_and_read_back(
    app_factory: Any, make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "live" / "chat.db"
    settings, client = await start(app_factory, make_settings, database, backup_dir=tmp_path / "backups")
    api = Api(client, None)
    alice = await api.user("alice@example.com")
    sent = 0

    async def keep_writing(stop: asyncio.Event) -> None:
        nonlocal sent
        while not stop.is_set():
            response = await client.post("/api/chat", headers=alice, json={"message": f"message {sent}"})
            assert response.status_code == 200
            sent += 1

    stop = asyncio.Event()
    writer = asyncio.create_task(keep_writing(stop))
    copies = []
    for _ in range(3):  # each copy is taken while replies are being written
        before = sent
        while sent < before + 3:  # noqa: ASYNC110 - polled, not slept: a loaded machine writes slower
            await asyncio.sleep(0.01)
        copies.append(await asyncio.to_thread(backup.create_backup, settings))
    stop.set()
    await writer
    for copy in copies:
        assert_whole(copy)
    assert 0 < len(rows(copies[0])) <= len(rows(copies[-1])) < 2 * sent

    assert main(["backup"], settings) == 0  # the final copy, after the writes
    assert main(["list-backups"], settings) == 0
    out = capsys.readouterr().out
    assert "integrity ok" in out
    names = [line.split()[0] for line in out.splitlines() if line.startswith("conversa-")]
    assert len(names) == 4
    assert names == sorted(names)
    original = rows(database)
    assert len(original) == 2 * sent

    # Restore into an empty data folder and read everything back through the API.
    restored = tmp_path / "restored" / "chat.db"
    restored_settings = make_settings(database_url=f"sqlite+aiosqlite:///{restored}", backup_dir=tmp_path / "backups")
    assert main(["restore", names[-1]], restored_settings) == 0
    assert rows(restored) == original
    _, restored_client = await start(app_factory, make_settings, restored)
    async with restored_client:
        again = Api(restored_client, None)
        token = await again.login("alice@example.com")
        listed = (await restored_client.get("/api/conversations?limit=200", headers=token)).json()
        assert listed["total"] == sent
        one = listed["items"][0]["id"]
        messages = (await restored_client.get(f"/api/conversations/{one}/messages", headers=token)).json()["items"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[1]["content"].startswith("You said: message ")
    await client.aclose()


def test_restore_refuses_to_overwrite_without_force(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", backup_dir=tmp_path / "b")
    assert main(["create-user", "one@example.com", "--password", "long-password"], first) == 0
    assert main(["backup"], first) == 0
    name = backup.local_backups(tmp_path / "b")[0].name
    assert main(["create-user", "two@example.com", "--password", "long-password"], first) == 0
    capsys.readouterr()

    assert main(["restore", name], first) == 1
    assert "already exists" in capsys.readouterr().err
    assert len(users(tmp_path / "a.db")) == 2  # untouched

    assert main(["restore", name, "--force"], first) == 0
    out = capsys.readouterr().out
    assert "the previous database was kept as" in out
    assert users(tmp_path / "a.db") == ["one@example.com"]
    kept = next(tmp_path.glob("a.db.before-restore-*"))
    assert users(kept) == ["one@example.com", "two@example.com"]

    (tmp_path / "a.db").write_bytes(b"\0" * 4096 + b"a damaged database")  # the usual reason for a restore
    assert main(["restore", name, "--force"], first) == 0
    assert users(tmp_path / "a.db") == ["one@example.com"]
    kept_files = [p.name for p in tmp_path.glob("a.db.before-restore-*")]
    assert not [name for name in kept_files if name.endswith(".part")]  # no half copy left behind
    # Two kept databases (the damaged one moved aside with its -wal/-shm, if it had any).
    assert len([name for name in kept_files if not name.endswith(("-wal", "-shm"))]) == 2

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    assert main(["restore", str(garbage), "--force"], first) == 1
    assert "not a readable SQLite database" in capsys.readouterr().err
    assert main(["restore", "conversa-19990101T000000.000Z.db"], first) == 1
    assert users(tmp_path / "a.db") == ["one@example.com"]


def test_old_local_backups_are_pruned(make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", backup_dir=tmp_path / "b", backup_keep=2
    )
    assert main(["create-user", "one@example.com", "--password", "long-password"], settings) == 0
    made = []
    for _ in range(3):
        made.append(backup.create_backup(settings).name)
        time.sleep(0.002)
    assert [info.name for info in backup.local_backups(tmp_path / "b")] == made[1:]


def test_backups_refuse_postgresql(make_settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert main(["backup"], settings) == 1
    assert "pg_dump" in capsys.readouterr().err


def users(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT email FROM users ORDER BY id")]


def test_backup_to_s3_list_and_restore(
    moto_s3: str, make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = {"backup_s3_bucket": "conversa-backups", "backup_s3_prefix": "prod/db", "aws_endpoint_url": moto_s3}
    source = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", backup_dir=tmp_path / "b", **s3)
    assert main(["create-user", "one@example.com", "--password", "long-password", "--admin"], source) == 0
    assert main(["backup", "--s3"], source) == 0
    out = capsys.readouterr().out
    assert "uploaded: s3://conversa-backups/prod/db/conversa-" in out

    assert main(["list-backups", "--s3"], source) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1
    name = listed[0].split()[0]
    assert listed[0].endswith(f"s3://conversa-backups/prod/db/{name}")

    import boto3

    head = boto3.client("s3", endpoint_url=moto_s3).head_object(Bucket="conversa-backups", Key=f"prod/db/{name}")
    assert head["ServerSideEncryption"] == "AES256"

    target = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'new' / 'chat.db'}", **s3)
    assert main(["restore", name, "--s3"], target) == 0  # by name: the prefix is added
    assert users(tmp_path / "new" / "chat.db") == ["one@example.com"]
    assert main(["restore", f"prod/db/{name}"], target) == 1  # found on S3 by key, but the database exists
    assert main(["restore", f"prod/db/{name}", "--force"], target) == 0
    assert main(["restore", "prod/db/conversa-19990101T000000.000Z.db", "--force"], target) == 1
    assert "Could not download" in capsys.readouterr().err
    assert main(["list-users"], target) == 0
    assert "one@example.com" in capsys.readouterr().out


async def test_a_backup_carries_the_uploaded_files_and_a_restore_puts_them_back(
    app_factory: Any, make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes import files

    database = tmp_path / "live" / "chat.db"
    settings, client = await start(
        app_factory, make_settings, database, backup_dir=tmp_path / "backups", data_dir=tmp_path / "live"
    )
    alice = await Api(client, None).user("alice@example.com")
    sent = {}
    for name, data in (("photo.png", files.image("PNG")), ("notes.txt", b"remember the milk"), ("a.pdf", files.pdf())):
        created = await client.post("/api/uploads", headers=alice, files={"file": (name, data)})
        stored = await client.get(f"/api/uploads/{created.json()['id']}", headers=alice)
        sent[created.json()["id"]] = stored.content
    await client.aclose()

    assert await asyncio.to_thread(main, ["backup"], settings) == 0
    out = capsys.readouterr().out
    assert "uploaded files: " in out
    name = backup.local_backups(tmp_path / "backups")[0].name

    # A new machine: an empty data folder, the backup folder copied over.
    restored = tmp_path / "new" / "chat.db"
    new_settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{restored}", data_dir=tmp_path / "new", backup_dir=tmp_path / "backups"
    )
    assert await asyncio.to_thread(main, ["restore", name], new_settings) == 0
    _, new_client = await start(app_factory, make_settings, restored, data_dir=tmp_path / "new")
    async with new_client:
        token = await Api(new_client, None).login("alice@example.com")
        for upload_id, content in sent.items():
            response = await new_client.get(f"/api/uploads/{upload_id}", headers=token)
            assert response.status_code == 200
            assert response.content == content

    # Pruning takes an archive away with its database.
    for _ in range(2):
        await asyncio.to_thread(
            backup.create_backup,
            make_settings(
                database_url=f"sqlite+aiosqlite:///{database}",
                data_dir=tmp_path / "live",
                backup_dir=tmp_path / "backups",
                backup_keep=1,
            ),
        )
        await asyncio.sleep(0.002)
    assert len(list((tmp_path / "backups").glob("*.uploads.tar"))) == 1


def test_an_s3_backup_carries_the_uploaded_files(
    moto_s3: str, make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = {"backup_s3_bucket": "conversa-backups", "backup_s3_prefix": "prod/db", "aws_endpoint_url": moto_s3}
    source = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a' / 'chat.db'}",
        data_dir=tmp_path / "a",
        backup_dir=tmp_path / "b",
        **s3,
    )
    assert main(["create-user", "one@example.com", "--password", "long-password"], source) == 0
    key = "1/0123456789abcdef0123456789abcdef"
    with sqlite3.connect(tmp_path / "a" / "chat.db") as connection:
        connection.execute(
            "INSERT INTO uploads (user_id, name, mime_type, size, storage_key, sha256, created_at) "
            "VALUES (1, 'n.txt', 'text/plain', 5, ?, '', '2026-12-01 00:00:00')",
            (key,),
        )
    (tmp_path / "a" / "uploads" / "1").mkdir(parents=True)
    (tmp_path / "a" / "uploads" / key).write_bytes(b"hello")
    assert main(["backup", "--s3"], source) == 0
    name = backup.s3_backups(source)[0].name

    target = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'new' / 'chat.db'}", data_dir=tmp_path / "new", **s3
    )
    assert main(["restore", name, "--s3"], target) == 0
    assert (tmp_path / "new" / "uploads" / key).read_bytes() == b"hello"
