"""The logs: one JSON line per request (request id, latency, status), and never a password, a token,
message text or a search, not even when a database error is logged with its statement."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.logging import JsonFormatter
from tests.conftest import Api, parse_sse

SECRETS = {
    "password": "Pa55word-for-the-logs",
    "new_password": "An0ther-password-for-logs",
    "admin_made_password": "Cr3ated-by-admin-pass",
    "reset_password": "Res3t-by-admin-pass",
    "wrong_password": "Wr0ng-password-attempt",
    "json_message": "my bank PIN is 4921",
    "stream_message": "my diagnosis is confidential",
    "search": "searching-for-divorce-lawyer",
    "rejected_field": "value-in-a-rejected-body",
    "db_error_message": "text inside a failing SQL statement",
}


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Collect]:
    handler = Collect()  # attached once the app has configured logging (which replaces the handlers)
    yield handler
    logging.getLogger().removeHandler(handler)


async def test_logs_are_json_lines_without_secrets(app_factory: Any, make_settings: Any, logs: Collect) -> None:
    app = await app_factory(make_settings(env="production", secret_key="k" * 40, log_level="DEBUG"))
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)  # JSON in production
    logging.getLogger().addHandler(logs)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = Api(client, app)
        await api.register("admin@example.com", SECRETS["password"])
        token = (
            await client.post("/api/auth/login", json={"email": "admin@example.com", "password": SECRETS["password"]})
        ).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        await client.post("/api/chat", headers=admin, json={"message": SECRETS["json_message"]})
        events = parse_sse(
            (await client.post("/api/chat/stream", headers=admin, json={"message": SECRETS["stream_message"]})).text
        )
        assert events[-1][0] in ("done", "title")
        await client.get("/api/conversations", headers=admin, params={"q": SECRETS["search"]})
        await client.post("/api/chat", headers=admin, json={"message": "x", "extra": SECRETS["rejected_field"]})
        await client.post("/api/auth/login", json={"email": "admin@example.com", "password": SECRETS["wrong_password"]})
        created = await client.post(
            "/api/admin/users",
            headers=admin,
            json={"email": "bob@example.com", "password": SECRETS["admin_made_password"]},
        )
        await client.post(
            f"/api/admin/users/{created.json()['id']}/password",
            headers=admin,
            json={"new_password": SECRETS["reset_password"]},
        )
        fresh = await client.post(
            "/api/auth/password",
            headers=admin,
            json={"current_password": SECRETS["password"], "new_password": SECRETS["new_password"]},
        )
        new_token = fresh.json()["access_token"]
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {new_token}"})

        async def failing(session: Any, user: Any, conversation: Any, message: str, **_: Any) -> Any:
            await session.execute(text("SELECT * FROM no_such_table WHERE x = :message"), {"message": message})

        app.state.context.chat.prepare_message = failing
        failed = await client.post(
            "/api/chat", headers={"Authorization": f"Bearer {new_token}"}, json={"message": SECRETS["db_error_message"]}
        )
        assert failed.status_code == 500

    records = [json.loads(line) for line in logs.lines]  # every line is one JSON object
    everything = "\n".join(logs.lines)
    for name, secret in {**SECRETS, "token": token, "new_token": new_token}.items():
        assert secret not in everything, f"the logs contain the {name}"
    assert "no_such_table" in everything  # the database error itself is logged, with its cause ...
    assert "hidden due to hide_parameters" in everything  # ... but not the values it was given

    requests = [r for r in records if r["logger"] == "app.request"]
    assert len(requests) == 12
    for record in requests:
        assert {"request_id", "status", "method", "path", "latency_ms", "time", "level"} <= set(record)
        assert len(record["request_id"]) >= 8
        assert "?" not in record["path"]
    assert [r["status"] for r in requests if r["path"] == "/api/auth/login"] == [200, 401]
    assert requests[-1]["status"] == 500
