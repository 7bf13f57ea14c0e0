"""Bad inputs on every route that takes a body (walked from the OpenAPI schema) and the odd values the
fuzzer found: always a clear 4xx with a JSON `detail`, never a 5xx or a stack trace, nothing stored.
(tests/core/test_http.py and tests/api/test_chat.py cover /api/chat's own cases.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.conftest import Api
from tests.reliability.test_access import alices_world, body_for, everything, operations, url_for


def assert_clear_4xx(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    detail = response.json()["detail"]
    assert detail
    return detail


async def test_every_body_route_refuses_unknown_fields_wrong_types_and_bad_bytes(
    api: Api, app: Any, alice: dict[str, str]
) -> None:
    ids = await alices_world(api, alice)
    before = await everything(app)
    # /v1 speaks OpenAI's dialect (unknown fields accepted, errors as {"error"}): tests/api/test_openai.py.
    routes = [(m, p, op) for m, p, op in operations(app) if "requestBody" in op and not p.startswith("/v1/")]
    assert len(routes) >= 10
    for method, path, operation in routes:
        url, body = url_for(path, ids), body_for(app, operation, ids) or {}
        takes_json = "application/json" in operation["requestBody"]["content"]  # not POST /api/uploads

        unknown = await api.client.request(method, url, headers=alice, json={**body, "is_admin_please": True})
        if takes_json and "is_admin_please" not in body:
            errors = assert_clear_4xx(unknown, 422)
            assert any(e["loc"][-1] == "is_admin_please" and e["type"] == "extra_forbidden" for e in errors), errors

        for field in body:
            wrong = await api.client.request(method, url, headers=alice, json={**body, field: {"nested": ["object"]}})
            errors = assert_clear_4xx(wrong, 422)
            assert any(e["loc"][-1] == field for e in errors), (path, field, errors)

        for raw in (
            b'{"x": "\xff\xfe\xfd"}',
            b"\xef\xbb\xbf\xff",
            b'{"message": "\\ud800"}',
            b'{"n": 1e999}',
            b"[" * 5000,
        ):
            response = await api.client.request(
                method, url, headers={**alice, "content-type": "application/json"}, content=raw
            )
            assert_clear_4xx(response, 400, 422)
        if not takes_json:
            assert_clear_4xx(unknown, 422)
        as_text = await api.client.request(method, url, headers={**alice, "content-type": "text/plain"}, content=b"{}")
        assert_clear_4xx(as_text, 400, 415, 422)
    assert await everything(app) == before


async def test_a_huge_body_is_413_with_or_without_content_length(api: Api, alice: dict[str, str], app: Any) -> None:
    limit = app.state.context.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    streamed = await api.client.post(
        "/api/conversations", headers={**alice, "content-type": "application/json"}, content=chunks()
    )
    assert "content-length" not in streamed.request.headers
    assert "too large" in assert_clear_4xx(streamed, 413)
    declared = await api.client.post(
        "/api/auth/login", headers={"content-type": "application/json"}, content=b"{" + b" " * (limit + 1) + b"}"
    )
    assert "too large" in assert_clear_4xx(declared, 413)
    assert (await api.client.get("/api/conversations", headers=alice)).json()["total"] == 0


async def test_very_long_titles_and_searches_are_refused(api: Api, alice: dict[str, str]) -> None:
    for title in ("x" * 201, "x" * 100_000):
        errors = assert_clear_4xx(
            await api.client.post("/api/conversations", headers=alice, json={"title": title}), 422
        )
        assert errors[0]["type"] == "string_too_long"
        assert "200" in errors[0]["msg"]
    created = await api.client.post("/api/conversations", headers=alice, json={"title": "x" * 200})
    assert created.status_code == 201
    url = f"/api/conversations/{created.json()['id']}"
    assert_clear_4xx(await api.client.patch(url, headers=alice, json={"title": "é" * 5_000}), 422)
    assert_clear_4xx(await api.client.get("/api/conversations", headers=alice, params={"q": "x" * 201}), 422)
    assert (await api.client.get(url, headers=alice)).json()["title"] == "x" * 200


async def test_fuzzer_findings_are_clear_422s(api: Api, alice: dict[str, str]) -> None:
    """Regressions for what schemathesis found: NUL characters (PostgreSQL cannot store them), ids
    beyond the INTEGER range (SQLite OverflowError), values JSON cannot carry back (surrogates, inf)."""
    conversation = (await api.client.post("/api/conversations", headers=alice, json={})).json()["id"]
    nul_cases = [
        ("POST", "/api/chat", {"message": "a\x00b"}),
        ("POST", "/api/chat/stream", {"message": "\x00"}),
        ("POST", "/api/conversations", {"title": "a\x00"}),
        ("PATCH", f"/api/conversations/{conversation}", {"title": "\x00"}),
        ("POST", f"/api/conversations/{conversation}/regenerate", {"message": "\x00"}),
        ("POST", "/api/auth/login", {"email": "a\x00@example.com", "password": "whatever1"}),
    ]
    for method, url, body in nul_cases:
        errors = assert_clear_4xx(await api.client.request(method, url, headers=alice, json=body), 422)
        assert "NUL" in errors[0]["msg"], (url, errors)
    assert_clear_4xx(await api.client.get("/api/conversations", headers=alice, params={"q": "a\x00"}), 422)

    for huge in (2**31, 2**63, 10**30):
        for url in (f"/api/conversations/{huge}", f"/api/conversations/{huge}/messages", "/api/admin/users/x/enable"):
            assert_clear_4xx(await api.client.get(url.replace("x", str(huge)), headers=alice), 405, 422)
        assert_clear_4xx(
            await api.client.get(f"/api/conversations/{conversation}/messages?before_id={huge}", headers=alice), 422
        )
        chat = await api.client.post("/api/chat", headers=alice, json={"message": "hi", "conversation_id": huge})
        assert_clear_4xx(chat, 422)
        admin = await api.client.post(f"/api/admin/users/{huge}/disable", headers=alice)
        assert_clear_4xx(admin, 422)

    headers = {**alice, "content-type": "application/json"}
    for raw in (b'{"message": "\\ud800"}', b'{"message": 1e999}', b'{"message": "x", "conversation_id": 1e400}'):
        assert_clear_4xx(await api.client.post("/api/chat", headers=headers, content=raw), 422)
    assert (await api.client.get("/api/conversations", headers=alice)).json()["total"] == 1


async def test_booleans_and_numbers_are_not_coerced_into_each_other(api: Api, alice: dict[str, str]) -> None:
    """Schemathesis found `{"settings": {"temperature": false}}` accepted as a temperature of 0: a
    flag, a temperature or an OpenAI sampling knob of the wrong JSON type is a clear 422."""
    wrong = [
        ("POST", "/api/chat/stream", {"message": "hi", "settings": {"temperature": False}}),
        ("POST", "/api/chat", {"message": "hi", "settings": {"web_search": 1}}),
        ("POST", "/api/conversations", {"thinking": "true"}),
        ("PUT", "/api/me/preferences", {"web_search": "yes"}),
        ("POST", "/api/presets", {"name": "p", "system_prompt": "s", "temperature": "1"}),
    ]
    for method, url, body in wrong:
        assert_clear_4xx(await api.client.request(method, url, headers=alice, json=body), 422)
    question = [{"role": "user", "content": "hi"}]
    for knob in ({"stream": 0}, {"top_p": True}, {"temperature": False}):
        body = {"model": "fake", "messages": question, **knob}
        openai = await api.client.post("/v1/chat/completions", headers=alice, json=body)
        assert openai.status_code == 400, (knob, openai.text)  # OpenAI's own dialect: 400 with {"error"}
        assert openai.json()["error"]["type"] == "invalid_request_error", openai.text
    # An integer is still a number: JSON has no separate float.
    ok = await api.client.post("/api/conversations", headers=alice, json={"temperature": 1, "thinking": False})
    assert ok.status_code == 201, ok.text
    assert (ok.json()["temperature"], ok.json()["thinking"]) == (1.0, False)
    assert (await api.client.get("/api/conversations", headers=alice)).json()["total"] == 1
