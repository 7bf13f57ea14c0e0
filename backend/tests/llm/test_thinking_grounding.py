"""Gemini thinking (thought summaries as `reasoning` events, stored apart) and Google Search
grounding (sources, citation spans, search suggestions), through the app and the real client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.llm.grounding import normalize_grounding
from tests.conftest import Api, parse_sse
from tests.fakes.gemini_server import DEFAULT_THOUGHTS, SEARCH_ENTRY_POINT, FakeGeminiServer

REPLY = "Conversa é um app. Ele é leve."


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(default_reply=REPLY) as server:
        yield server


@pytest.fixture
async def gapi(app_factory: Any, make_settings: Any, gemini: FakeGeminiServer) -> AsyncIterator[Api]:
    settings = make_settings(
        llm_provider="gemini", google_api_key="test-key", gemini_base_url=gemini.url, llm_max_retries=1, llm_timeout_s=5
    )
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
        yield Api(client, app)


async def start(api: Api, headers: dict[str, str], **settings: Any) -> int:
    response = await api.client.post("/api/conversations", headers=headers, json={"title": "T", **settings})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def stream(api: Api, headers: dict[str, str], conversation_id: int, text: str) -> list[tuple[str, Any]]:
    response = await api.client.post(
        "/api/chat/stream", headers=headers, json={"conversation_id": conversation_id, "message": text}
    )
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


async def test_thoughts_stream_as_reasoning_events_and_are_stored_apart(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    conversation_id = await start(gapi, headers, thinking=True)
    gemini.script(reply=REPLY, chunk_delay_s=0.05)
    events = await stream(gapi, headers, conversation_id, "O que é o Conversa?")
    request = gemini.generate_requests()[-1]
    assert request.thinking_config == {"includeThoughts": True, "thinkingBudget": -1}  # dynamic by default
    names = [name for name, _ in events]
    assert names[0] == "start"
    assert names.index("reasoning") < names.index("token")  # thoughts come before the answer
    reasoning = "".join(data["text"] for name, data in events if name == "reasoning")
    assert reasoning == "".join(DEFAULT_THOUGHTS)
    assert "".join(data["text"] for name, data in events if name == "token") == REPLY
    done = dict(events)["done"]["assistant_message"]
    assert done["content"] == REPLY  # the answer alone
    assert done["reasoning"] == reasoning
    assert done["reasoning_ms"] >= 40  # from the first thought to the first word of the answer
    assert done["reasoning_tokens"] == 12  # the fake counts words; they count in usage
    stored = (await gapi.client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()
    assert stored["items"][-1]["reasoning"] == reasoning
    assert stored["items"][-1]["content"] == REPLY
    # The next turn's history is the stored answers only: no thought is ever sent back.
    await stream(gapi, headers, conversation_id, "E depois?")
    again = gemini.generate_requests()[-1]
    assert again.turns == [("user", "O que é o Conversa?"), ("model", REPLY), ("user", "E depois?")]
    assert "Reading the question" not in str(again.body)


async def test_thinking_budget_setting_and_pro_without_a_zero_budget(
    app_factory: Any, make_settings: Any, gemini: FakeGeminiServer
) -> None:
    settings = make_settings(
        llm_provider="gemini", google_api_key="k", gemini_base_url=gemini.url, gemini_thinking_budget=1024
    )
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
        api = Api(client, app)
        headers = await api.user("ana@example.com")
        flash = await start(api, headers, thinking=True)
        await stream(api, headers, flash, "oi")
        assert gemini.generate_requests()[-1].thinking_config == {"includeThoughts": True, "thinkingBudget": 1024}
        pro = await start(api, headers, model="gemini-2.5-pro", thinking=True)
        events = await stream(api, headers, pro, "oi")
        assert gemini.generate_requests()[-1].thinking_config == {"includeThoughts": True, "thinkingBudget": 1024}
        assert any(name == "reasoning" for name, _ in events)
        lite = await start(api, headers, model="gemini-2.5-flash-lite")
        await stream(api, headers, lite, "oi")
        assert gemini.generate_requests()[-1].thinking_config == {"thinkingBudget": 0}


async def test_the_json_chat_stores_thoughts_too(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    conversation_id = await start(gapi, headers, thinking=True)
    response = await gapi.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "oi"}
    )
    reply = response.json()["assistant_message"]
    assert reply["content"] == REPLY
    assert reply["reasoning"] == "".join(DEFAULT_THOUGHTS)


async def test_web_search_sends_the_tool_and_stores_sources_and_citations(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    conversation_id = await start(gapi, headers, web_search=True)
    events = await stream(gapi, headers, conversation_id, "O que é o Conversa?")
    assert gemini.generate_requests()[-1].tools == [{"googleSearch": {}}]
    done = dict(events)["done"]["assistant_message"]
    assert done["content"] == REPLY  # no citation marker inserted into the text
    assert done["sources"] == [
        {"title": "example.com", "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/example"},
        {"title": "wikipedia.org", "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/wikipedia"},
    ]
    # Character offsets (the API's are bytes: "é" is two), each with the sources it cites.
    spans = [(REPLY[c["start"] : c["end"]], c["sources"]) for c in done["citations"]]
    assert spans == [("Conversa é um app.", [0]), ("Ele é leve.", [1, 0])]
    assert done["search_entry_point"] == SEARCH_ENTRY_POINT
    page = (await gapi.client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()
    stored = page["items"][-1]
    assert (stored["sources"], stored["citations"], stored["search_entry_point"]) == (
        done["sources"],
        done["citations"],
        done["search_entry_point"],
    )


async def test_without_web_search_nothing_is_grounded(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    conversation_id = await start(gapi, headers)
    done = dict(await stream(gapi, headers, conversation_id, "oi"))["done"]["assistant_message"]
    assert gemini.generate_requests()[-1].tools == []
    assert (done["sources"], done["citations"], done["search_entry_point"], done["reasoning"]) == ([], [], None, None)


def test_sources_are_deduplicated_in_citation_order() -> None:
    text = "Primeiro. Segundo. Terceiro."
    raw = {
        "grounding_chunks": [
            {"web": {"uri": "https://b.example", "title": "b"}},
            {"web": {"uri": "https://a.example", "title": "a"}},
            {"web": {"uri": "https://a.example", "title": "a again"}},
            {"web": {"uri": "https://uncited.example", "title": "u"}},
            {"retrieved_context": {"uri": "x"}},
            {"web": {"uri": "javascript:alert(1)", "title": "evil"}},
        ],
        "grounding_supports": [
            {"segment": {"start_index": 10, "end_index": 18}, "grounding_chunk_indices": [0, 2]},
            {"segment": {"start_index": 0, "end_index": 9}, "grounding_chunk_indices": [2, 4]},
            {"segment": {"start_index": 19, "end_index": 28}, "grounding_chunk_indices": [1, 0, 5]},
        ],
    }
    grounding = normalize_grounding(raw, text)
    assert grounding is not None
    assert [s["url"] for s in grounding["sources"]] == [
        "https://a.example",  # cited first in the text
        "https://b.example",
        "https://uncited.example",
    ]
    assert grounding["supports"] == [
        {"start": 0, "end": 9, "sources": [0]},
        {"start": 10, "end": 18, "sources": [1, 0]},
        {"start": 19, "end": 28, "sources": [0, 1]},
    ]
    assert grounding["search_entry_point"] is None
    assert normalize_grounding({}, text) is None
    assert normalize_grounding({"grounding_chunks": [], "grounding_supports": []}, text) is None
