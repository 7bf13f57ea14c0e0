"""Prometheus metrics (served at GET /metrics when METRICS_TOKEN is set; otherwise nothing is collected).

Labels are bounded: route templates (never raw paths), the configured provider and model names,
error codes of the app's own errors. The chat metrics are observed once per turn (when the reply
ends), not per token: the only per-token work is noting the first token's time. `bench/metrics.py`
measures the cost per streamed token.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes, process_cpu_seconds_total, ...

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_MODEL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 120.0)

HTTP_REQUESTS = Counter(
    "conversa_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "conversa_http_request_duration_seconds",
    "Time to answer a request (a stream: until it ends)",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
OPEN_STREAMS = Gauge("conversa_open_event_streams", "Event streams (text/event-stream) open now", registry=REGISTRY)
CHAT_TURNS = Counter(
    "conversa_chat_turns_total",
    "Model generations by outcome (complete, error, cancelled)",
    ["provider", "model", "outcome"],
    registry=REGISTRY,
)
CHAT_ERRORS = Counter(
    "conversa_chat_errors_total",
    "Model generations that failed, by error code",
    ["provider", "model", "code"],
    registry=REGISTRY,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "conversa_llm_time_to_first_token_seconds",
    "From calling the model to its first text",
    ["provider", "model"],
    buckets=_MODEL_BUCKETS,
    registry=REGISTRY,
)
GENERATION_TIME = Histogram(
    "conversa_llm_generation_seconds",
    "From calling the model to its last text",
    ["provider", "model"],
    buckets=_MODEL_BUCKETS,
    registry=REGISTRY,
)
TOKENS = Counter(
    "conversa_llm_tokens_total",
    "Tokens by model, direction (input, output) and kind (reply, title)",
    ["model", "direction", "kind"],
    registry=REGISTRY,
)
REJECTIONS = Counter(
    "conversa_rejections_total",
    "Requests refused by a rate limit, a quota or overload, by error code",
    ["code"],
    registry=REGISTRY,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_state = {"enabled": False}
_engines: weakref.WeakSet[Any] = weakref.WeakSet()


def enable(on: bool) -> None:
    _state["enabled"] = on


def enabled() -> bool:
    return _state["enabled"]


def watch_pool(engine: Any) -> None:
    """Report this engine's pool (connections checked out, pool size) at each scrape."""
    _engines.add(engine)


class _PoolCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily("conversa_db_pool_in_use", "Database connections checked out of the pool now")
        size = GaugeMetricFamily("conversa_db_pool_size", "Connections the database pool keeps")
        pools = [engine.pool for engine in list(_engines)]
        in_use.add_metric([], float(sum(_call(pool, "checkedout") for pool in pools)))
        size.add_metric([], float(sum(_call(pool, "size") for pool in pools)))
        yield in_use
        yield size


def _call(pool: Any, name: str) -> int:
    method = getattr(pool, name, None)  # a StaticPool (in-memory SQLite) has neither
    return int(method()) if callable(method) else 0


REGISTRY.register(_PoolCollector())


def observe_generation(
    provider: str,
    model: str,
    started: float,
    first_token_at: float | None,
    outcome: str,
    error_code: str | None,
    input_tokens: int,
    output_tokens: int,
) -> None:
    """One model generation ended (times from time.perf_counter())."""
    if not _state["enabled"]:
        return
    ended = time.perf_counter()
    CHAT_TURNS.labels(provider, model, outcome).inc()
    if error_code is not None:
        CHAT_ERRORS.labels(provider, model, error_code).inc()
    if first_token_at is not None:
        TIME_TO_FIRST_TOKEN.labels(provider, model).observe(first_token_at - started)
        GENERATION_TIME.labels(provider, model).observe(ended - started)
    count_tokens(model, input_tokens, output_tokens, "reply")


def count_tokens(model: str, input_tokens: int, output_tokens: int, kind: str) -> None:
    if not _state["enabled"]:
        return
    if input_tokens:
        TOKENS.labels(model, "input", kind).inc(input_tokens)
    if output_tokens:
        TOKENS.labels(model, "output", kind).inc(output_tokens)


def count_rejection(code: str) -> None:
    if _state["enabled"]:
        REJECTIONS.labels(code).inc()


def route_template(scope: Scope) -> str:
    """The matched route's template with the include prefix ("/api" + "/chat/stream"); never the raw path."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    if ":path}" in template:  # a catch-all spans several segments (only the web app's, at the root)
        return str(template)
    # The route knows its path below the prefix it was included under: the prefix is the path's
    # leading segments (prefixes are literal: "/api", "/v1", "/api/v1").
    parts = str(scope.get("path", "")).split("/")
    depth = template.count("/")
    return "/".join(parts[: len(parts) - depth]) + str(template)


class MetricsMiddleware:
    """Counts every HTTP request by route template and status, its duration, and the open event streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _state["enabled"]:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        streaming = False

        async def observed_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"content-type" and value.startswith(b"text/event-stream"):
                        streaming = True
                        OPEN_STREAMS.inc()
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            if streaming:
                OPEN_STREAMS.dec()
            template = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)
