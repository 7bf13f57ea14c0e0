"""The admin CLI: create a user, reset a password, list users."""

from __future__ import annotations

from typing import Any

import pytest

from app.cli import main


def test_create_list_and_reset(make_settings: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["create-user", "Admin@Example.com", "--password", "long-password", "--admin"], settings) == 0
    assert main(["create-user", "admin@example.com", "--password", "long-password"], settings) == 1
    assert main(["reset-password", "admin@example.com", "--password", "another-password"], settings) == 0
    assert main(["reset-password", "ghost@example.com", "--password", "another-password"], settings) == 1
    assert main(["list-users"], settings) == 0
    out = capsys.readouterr().out
    assert "created user 1 admin@example.com (admin)" in out
    assert "admin@example.com" in out.splitlines()[-1]
    with pytest.raises(SystemExit, match="at least 8"):
        main(["create-user", "x@example.com", "--password", "short"], settings)


def test_maintenance_runs_and_frees_pages(
    make_settings: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    path = tmp_path / "upkeep.db"
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{path}")
    assert main(["migrate"], settings) == 0
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental on a new database
    assert main(["maintenance"], settings) == 0
    out = capsys.readouterr().out
    assert "done: ANALYZE" in out
    assert "done: search index optimize" in out
    assert "done: incremental_vacuum" in out
    assert "note:" not in out


def test_maintenance_turns_auto_vacuum_on_for_an_old_database(
    make_settings: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{path}")
    assert main(["migrate"], settings) == 0
    with sqlite3.connect(path) as connection:  # as a database made before auto_vacuum was set
        connection.execute("PRAGMA auto_vacuum = NONE")
        connection.execute("VACUUM")
    assert main(["maintenance"], settings) == 0
    assert "maintenance --vacuum" in capsys.readouterr().out
    assert main(["maintenance", "--vacuum"], settings) == 0
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert "note:" not in capsys.readouterr().out
