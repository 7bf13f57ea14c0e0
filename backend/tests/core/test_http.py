"""Security headers, request ids, errors without stack traces, the SQLite pragmas, the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Api


async def test_security_headers_on_every_response(api: Api) -> None:
    for response in (await api.client.get("/api/health"), await api.client.get("/api/auth/me")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert len(response.headers["x-request-id"]) >= 8


async def test_health_names_the_provider(api: Api) -> None:
    body = (await api.client.get("/api/health")).json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "llm_provider": "fake",
        "llm_model": "fake",
        "allow_signup": True,
        "allow_sharing": True,
        "allow_api_keys": True,
        "warnings": [],
    }


async def test_invalid_json_and_utf8_are_clear_4xx(api: Api, alice: dict[str, str]) -> None:
    headers = {**alice, "content-type": "application/json"}
    for body in (b"{not json", b'{"message": "\xff\xfe"}', b"[]", b'"just a string"'):
        response = await api.client.post("/api/chat", headers=headers, content=body)
        assert response.status_code in (400, 422), body
        assert response.json()["detail"]


async def chat_when_preparing_raises(app: Any, headers: dict[str, str], url: str, error: Exception) -> httpx.Response:
    """Send a chat while storing the user's message fails with `error`, as the client sees it."""

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise error

    app.state.context.chat.prepare_message = failing
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(url, headers=headers, json={"message": "hi"})


async def test_unexpected_errors_hide_the_stack_trace(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await chat_when_preparing_raises(app, alice, "/api/chat", RuntimeError("secret internal detail"))
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


async def test_sqlite_runs_with_wal_and_foreign_keys(app: Any) -> None:
    engine = app.state.context.engine
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000


async def test_serves_the_web_app_with_spa_fallback_but_never_for_api(
    app_factory: Any, make_settings: Any, tmp_path: Path
) -> None:
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Conversa</title>")
    (web / "assets" / "index-abc123.js").write_text("console.log(1)")
    app = await app_factory(make_settings(static_dir=web))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        index = await client.get("/")
        deep = await client.get("/c/42")
        shared = await client.get("/s/AbCdEfGhIjKlMnOpQrStUv")
        asset = await client.get("/assets/index-abc123.js")
        api_missing = await client.get("/api/nope")
        escape = await client.get("/../../etc/passwd")
        old_chunk = await client.get("/assets/index-old999.js")
        missing_file = await client.get("/favicon-missing.png")
        head = await client.head("/")
    assert index.status_code == deep.status_code == 200
    assert "<title>Conversa</title>" in deep.text
    assert deep.headers["cache-control"] == "no-cache"
    assert "x-robots-tag" not in deep.headers
    assert shared.headers["x-robots-tag"] == "noindex"  # a shared conversation is never indexed
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert api_missing.status_code == 404
    assert api_missing.json() == {"detail": "Not Found", "code": "not_found"}
    assert "root:" not in escape.text
    assert old_chunk.status_code == missing_file.status_code == 404
    assert head.status_code == 200


async def test_json_is_compressed_but_event_streams_are_not(api: Api, alice: dict[str, str]) -> None:
    reply = await api.client.post("/api/chat", headers=alice, json={"message": "a long message " * 100})
    conversation_id = reply.json()["conversation_id"]
    url = f"/api/conversations/{conversation_id}/messages"
    messages = await api.client.get(url, headers={**alice, "accept-encoding": "gzip"})
    assert messages.headers.get("content-encoding") == "gzip"
    stream = await api.client.post(
        "/api/chat/stream", headers={**alice, "accept-encoding": "gzip"}, json={"message": "x" * 2000}
    )
    assert "content-encoding" not in stream.headers


async def test_an_exhausted_database_pool_is_a_503_not_a_500(api: Api, app: Any, alice: dict[str, str]) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    error = PoolTimeoutError("QueuePool limit of size 5 overflow 0 reached")
    response = await chat_when_preparing_raises(app, alice, "/api/chat/stream", error)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert "overloaded" in response.json()["detail"]
