"""Settings: production refuses a weak secret; development keeps a generated one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings


def test_production_refuses_to_start_without_a_strong_secret(tmp_path: Path) -> None:
    for secret in (None, "changeme", "short-secret"):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(_env_file=None, env="production", secret_key=secret, data_dir=tmp_path)  # type: ignore[call-arg]
    strong = "k" * 16 + "Z" * 16 + "9" * 8
    assert Settings(_env_file=None, env="production", secret_key=strong, data_dir=tmp_path).signing_key() == strong  # type: ignore[call-arg]


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    first = Settings(_env_file=None, data_dir=tmp_path).signing_key()  # type: ignore[call-arg]
    second = Settings(_env_file=None, data_dir=tmp_path).signing_key()  # type: ignore[call-arg]
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / ".secret_key").stat().st_mode & 0o777 == 0o600


def test_defaults_follow_the_architecture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    assert settings.token_ttl_days == 7
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_an_empty_secret_in_the_env_file_is_not_an_empty_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=\nREDIS_URL=\n")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = Settings(_env_file=env_file, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.redis_url is None
    assert len(settings.signing_key()) >= 32
