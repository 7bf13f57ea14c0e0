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
