"""Every error answer has the same shape: {"detail": <message>, "code": <machine-readable>}."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api, parse_sse


async def test_http_errors_carry_a_code(api: Api, alice: dict[str, str]) -> None:
    missing = await api.client.get("/api/conversations/999", headers=alice)
    assert missing.json() == {"detail": "Conversation not found", "code": "not_found"}
    no_token = await api.client.get("/api/conversations")
    assert no_token.status_code == 401
    assert no_token.json()["code"] == "not_authenticated"
    invalid = await api.client.post("/api/chat", headers=alice, json={"message": 3})
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "validation_error"
    assert isinstance(invalid.json()["detail"], list)
    empty = await api.client.post("/api/chat", headers=alice, json={"message": "   "})
    assert (empty.status_code, empty.json()["code"]) == (422, "validation_error")
    too_big = await api.client.post("/api/chat", headers=alice, content=b"x" * 300_000)
    assert (too_big.status_code, too_big.json()["code"]) == (413, "too_large")


async def test_rate_limit_and_quota_have_their_own_codes_and_retry_after(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(chat_rate_limit="2/hour", user_daily_messages=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        ana = await Api(client, app).user("ana@example.com")
        assert (await client.post("/api/chat", headers=ana, json={"message": "hi"})).status_code == 200
        quota = await client.post("/api/chat", headers=ana, json={"message": "again"})
        limited = await client.post("/api/chat/stream", headers=ana, json={"message": "and again"})
    assert quota.status_code == 429
    assert quota.json()["code"] == "daily_quota"
    assert 1 <= int(quota.headers["retry-after"]) <= 86_400
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 3600


async def test_regenerate_counts_against_the_rate_limit(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(chat_rate_limit="2/hour"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        ana = await Api(client, app).user("ana@example.com")
        conversation_id = (await client.post("/api/chat", headers=ana, json={"message": "hi"})).json()[
            "conversation_id"
        ]
        assert (await client.post(f"/api/conversations/{conversation_id}/regenerate", headers=ana)).status_code == 200
        third = await client.post(f"/api/conversations/{conversation_id}/regenerate", headers=ana)
    assert (third.status_code, third.json()["code"]) == (429, "rate_limited")


async def test_the_stream_error_event_uses_the_same_codes(api: Api, alice: dict[str, str]) -> None:
    stream = await api.client.post("/api/chat/stream", headers=alice, json={"message": "[[fail]]"})
    name, data = parse_sse(stream.text)[-1]
    assert name == "error"
    assert data["code"] == "model_error"
    plain = await api.client.post("/api/chat", headers=alice, json={"message": "[[fail]]"})
    assert (plain.status_code, plain.json()["code"]) == (502, "model_error")


async def test_nothing_to_regenerate_is_a_coded_conflict(api: Api, alice: dict[str, str]) -> None:
    conversation = (await api.client.post("/api/conversations", headers=alice, json={})).json()
    response = await api.client.post(f"/api/conversations/{conversation['id']}/regenerate", headers=alice)
    assert response.status_code == 409
    assert response.json()["code"] == "nothing_to_regenerate"


async def test_a_stopping_server_refuses_new_chats_with_a_code(api: Api, app: Any, alice: dict[str, str]) -> None:
    app.state.context.chat.stopping.set()
    response = await api.client.post("/api/chat", headers=alice, json={"message": "hi"})
    assert response.status_code == 503
    assert response.json()["code"] == "server_stopping"
    assert response.headers["retry-after"] == "5"
