"""GET /metrics: off without METRICS_TOKEN, Bearer-protected with it, Prometheus' format (read back by
prometheus_client's own parser), bounded labels, and the chat, token, quota and pool metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Api, parse_sse

TOKEN = "scrape-me-please"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def metered(app_factory: Any, make_settings: Any) -> AsyncIterator[Api]:
    app = await app_factory(make_settings(metrics_token=TOKEN, user_daily_messages=3))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Api(client, app)


async def scrape(api: Api) -> dict[Any, float]:
    response = await api.client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def test_metrics_are_off_without_a_token(api: Api) -> None:
    assert (await api.client.get("/metrics")).status_code == 404
    assert (await api.client.get("/metrics", headers=SCRAPER)).status_code == 404


async def test_metrics_need_the_bearer_token(metered: Api) -> None:
    assert (await metered.client.get("/metrics")).status_code == 401
    wrong = await metered.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert (await metered.client.get("/api/metrics", headers=SCRAPER)).status_code == 404  # never under /api


async def test_chat_quota_and_http_metrics_with_bounded_labels(metered: Api) -> None:
    api = metered
    before = await scrape(api)
    alice = await api.user("alice@example.com")
    events = parse_sse((await api.client.post("/api/chat/stream", headers=alice, json={"message": "Olá"})).text)
    reply = next(data for name, data in events if name == "done")["assistant_message"]
    conversation_id = reply["conversation_id"]
    assert (await api.client.get(f"/api/conversations/{conversation_id}", headers=alice)).status_code == 200
    for text in ("two", "three"):
        await api.client.post("/api/chat", headers=alice, json={"message": text, "conversation_id": conversation_id})
    refused = await api.client.post("/api/chat", headers=alice, json={"message": "four"})
    assert refused.status_code == 429
    await api.client.get("/no/such/page/12345")
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("conversa_http_requests_total", method="POST", route="/api/chat/stream", status="200") == 1
    assert delta("conversa_http_requests_total", method="POST", route="/api/chat", status="429") == 1
    assert (
        delta("conversa_http_requests_total", method="GET", route="/api/conversations/{conversation_id}", status="200")
        == 1
    )
    assert delta("conversa_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("conversa_http_request_duration_seconds_count", method="POST", route="/api/chat") == 3
    routes = {dict(labels).get("route") for (name, labels) in after if name == "conversa_http_requests_total"}
    assert not [route for route in routes if route and any(ch.isdigit() for ch in route)]  # templates only
    assert delta("conversa_chat_turns_total", provider="fake", model="fake", outcome="complete") == 3
    assert delta("conversa_llm_time_to_first_token_seconds_count", provider="fake", model="fake") == 3
    assert delta("conversa_llm_generation_seconds_count", provider="fake", model="fake") == 3
    assert delta("conversa_llm_tokens_total", model="fake", direction="output", kind="reply") >= reply["output_tokens"]
    assert delta("conversa_llm_tokens_total", model="fake", direction="input", kind="title") > 0
    assert delta("conversa_rejections_total", code="daily_quota") == 1
    assert value(after, "conversa_open_event_streams") == 0
    assert value(after, "conversa_db_pool_size") >= 1
    assert ("conversa_db_pool_in_use", ()) in after
    assert value(after, "process_resident_memory_bytes") > 10_000_000


async def test_model_errors_are_counted_by_code(metered: Api) -> None:
    from app.llm.fake import FAIL_MARKER  # the fake model fails on this text

    api = metered
    before = await scrape(api)
    alice = await api.user("alice@example.com")
    await api.client.post("/api/chat", headers=alice, json={"message": FAIL_MARKER})
    after = await scrape(api)
    failed = [
        (dict(labels), after[(name, labels)] - before.get((name, labels), 0))
        for (name, labels) in after
        if name == "conversa_chat_errors_total"
    ]
    assert [(labels["provider"], count) for labels, count in failed if count] == [("fake", 1)]


def test_route_templates_keep_the_include_prefix_and_never_the_raw_path() -> None:
    from app.core.metrics import route_template

    class Route:
        def __init__(self, path: str) -> None:
            self.path = path

    cases = {
        ("/v1/chat/completions", "/chat/completions"): "/v1/chat/completions",
        ("/api/v1/chat/completions", "/chat/completions"): "/api/v1/chat/completions",
        ("/api/conversations/42/messages", "/conversations/{conversation_id}/messages"): (
            "/api/conversations/{conversation_id}/messages"
        ),
        ("/some/page/7", "/{path:path}"): "/{path:path}",
        ("/metrics", "/metrics"): "/metrics",
    }
    for (path, template), expected in cases.items():
        assert route_template({"type": "http", "path": path, "route": Route(template)}) == expected
    assert route_template({"type": "http", "path": "/nowhere/99"}) == "unmatched"
