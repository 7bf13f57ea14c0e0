"""A fake Gemini (Generative Language API) HTTP server for tests.

It runs in-process on 127.0.0.1 with a free port chosen by the OS, in a background
thread with its own event loop (uvicorn + a small raw ASGI app), and answers the
routes the `google-genai` SDK calls, under any API version prefix (`v1`, `v1beta`,
`v1alpha`), optionally behind a path prefix:

    POST /{version}/models/{model}:generateContent
    POST /{version}/models/{model}:streamGenerateContent?alt=sse
    POST /{version}/models/{model}:countTokens

Usage::

    from tests.fakes.gemini_server import FakeGeminiServer

    with FakeGeminiServer() as server:            # or server.start() / server.stop()
        llm = ChatGoogleGenerativeAI(
            model="gemini-2.5-flash", google_api_key="test-key",
            base_url=server.url, max_retries=1, timeout=5,
        )
        server.script(reply="Olá mundo")          # next call answers this
        server.script(status=429)                 # the one after: quota error, retryDelay "7s"
        server.script(status=500)                 # then: INTERNAL
        server.script(delay_s=3)                  # then: waits 3 s before answering
        server.script(fail_after_chunks=2)        # then: 2 SSE chunks, then the connection drops
        ...
        server.requests[-1].system_text          # what the client sent
        server.requests[-1].turns                # [("user", "hi"), ("model", "..."), ...]
        server.requests[-1].inline_parts         # [("image/png", b"\x89PNG..."), ...]

Each generateContent / streamGenerateContent request takes the next scripted
behaviour from a FIFO queue; when the queue is empty the default behaviour answers
(`server.set_default(...)` changes it; out of the box it is a normal reply of
`default_reply`). countTokens never consumes the queue.

The response bodies follow what the real API sends: `candidates[0].content.parts[0].text`,
`role: "model"`, `finishReason` on the last chunk only, cumulative `usageMetadata`,
`modelVersion`, `responseId`; SSE events are `data: {json}\\r\\n\\r\\n`; errors are
Google's `{"error": {"code", "message", "status", "details"}}` body, a 429 carrying
a `google.rpc.RetryInfo` detail with `retryDelay`.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ROUTE = re.compile(
    r"^(?P<prefix>.*?)/(?P<version>v1|v1beta|v1alpha)/models/(?P<model>[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent|countTokens)$"
)

#: Google's canonical status names for the HTTP codes the API uses.
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_DEFAULT_MESSAGES: dict[int, str] = {
    400: "Request contains an invalid argument.",
    401: "API keys are not supported by this API. Expected OAuth2 access token or other "
    "authentication credentials that assert a principal.",
    403: "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API.",
    404: "models/unknown is not found for API version v1beta, or is not supported for generateContent.",
    429: "You exceeded your current quota, please check your plan and billing details. "
    "For more information on this error, head to: https://ai.google.dev/gemini-api/docs/"
    "rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/"
    "generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash\n"
    "Please retry in 7.0s.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}


@dataclass
class Behaviour:
    """What the fake does for one generateContent / streamGenerateContent request.

    reply: the model's text (None: the server's `default_reply`).
    chunks: explicit SSE text pieces for streaming (default: `reply` split into
        `n_chunks` pieces on word boundaries). Non-streaming replies join them.
    n_chunks: how many pieces to split `reply` into when streaming.
    status: HTTP status; anything but 200 sends Google's error JSON body.
    error_message / error_body: override the error message / the whole error JSON.
    retry_delay: for 429, the `RetryInfo.retryDelay` detail ("7s"); None omits it.
    headers: extra response headers (e.g. {"retry-after": "7"}).
    delay_s: seconds to wait before sending anything (status line included).
    chunk_delay_s: seconds to wait between SSE chunks (streaming only).
    fail_after_chunks: send this many SSE chunks, then drop the connection without
        finishing the chunked body (no finishReason). On a non-streaming call any
        value sends the headers and half of the JSON body, then drops the connection.
    finish_reason: the last chunk's finishReason ("STOP", "MAX_TOKENS", "SAFETY", ...).
    """

    reply: str | None = None
    chunks: list[str] | None = None
    n_chunks: int = 3
    status: int = 200
    error_message: str | None = None
    error_body: dict[str, Any] | None = None
    retry_delay: str | None = "7s"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    fail_after_chunks: int | None = None
    finish_reason: str = "STOP"
    # Thought summaries streamed before the answer, when the request asks for them
    # (`thinkingConfig.includeThoughts`); None: DEFAULT_THOUGHTS; [] none even when asked.
    thoughts: list[str] | None = None
    # `groundingMetadata` of the last chunk, when the request carries the google_search tool;
    # None: `grounding_for(reply)` (two sources, one support per sentence); {} none even when asked.
    grounding: dict[str, Any] | None = None


DEFAULT_THOUGHTS = ["**Reading the question**\n\nThe user asks something simple. ", "I will answer briefly."]
SEARCH_ENTRY_POINT = (
    "<style>.container{display:flex}.chip{padding:4px 8px;border-radius:12px}</style>"
    '<div class="container"><a class="chip" href="https://www.google.com/search?q=conversa">conversa</a></div>'
)


# What a compromised or spoofed entry point could hold: each line tries to reach the embedding page.
HOSTILE_HTML = (
    "<script>parent.document.title='pwned';top.localStorage.setItem('pwned','1')</script>"
    '<img src="x" onerror="parent.document.body.dataset.pwned=\'1\'">'
    '<a id="steal" href="javascript:parent.document.title=\'pwned\'">click</a>'
)


def grounding_for(
    text: str, sources: list[tuple[str, str]] | None = None, entry_point: str = SEARCH_ENTRY_POINT
) -> dict[str, Any]:
    """Grounding metadata as the API sends it: one support per sentence of `text` (byte offsets,
    like the real API), the first citing source 0, the next ones source 1 and 0."""
    sources = sources or [
        ("example.com", "https://vertexaisearch.cloud.google.com/grounding-api-redirect/example"),
        ("wikipedia.org", "https://vertexaisearch.cloud.google.com/grounding-api-redirect/wikipedia"),
    ]
    supports = []
    for match in re.finditer(r"[^.!?]+[.!?]?", text):
        sentence = match.group(0).strip()
        if not sentence:
            continue
        start = len(text[: match.start() + match.group(0).index(sentence)].encode())
        end = start + len(sentence.encode())
        indices = [0] if not supports else [1, 0]
        supports.append(
            {"segment": {"startIndex": start, "endIndex": end, "text": sentence}, "groundingChunkIndices": indices}
        )
    return {
        "webSearchQueries": ["conversa"],
        "searchEntryPoint": {"renderedContent": entry_point},
        "groundingChunks": [{"web": {"uri": uri, "title": title}} for title, uri in sources],
        "groundingSupports": supports,
    }


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str  # "generateContent" | "streamGenerateContent" | "countTokens" | other path
    version: str  # "v1" | "v1beta" | ...
    model: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    received_at: float  # time.monotonic()

    @property
    def stream(self) -> bool:
        return self.method == "streamGenerateContent"

    @property
    def contents(self) -> list[dict[str, Any]]:
        return list(self.body.get("contents") or [])

    @property
    def system_instruction(self) -> dict[str, Any] | None:
        return self.body.get("systemInstruction") or self.body.get("system_instruction")

    @property
    def system_text(self) -> str | None:
        """The system instruction's text parts joined, or None if none was sent."""
        si = self.system_instruction
        if not si:
            return None
        return "".join(p.get("text", "") for p in si.get("parts") or [])

    @property
    def turns(self) -> list[tuple[str, str]]:
        """(role, text) for each content, text parts joined; role is "user" or "model"."""
        return [(c.get("role", ""), "".join(p.get("text", "") for p in c.get("parts") or [])) for c in self.contents]

    @property
    def inline_parts(self) -> list[tuple[str, bytes]]:
        """(mimeType, decoded bytes) of every `inlineData` part, in order (images, PDFs...)."""
        found = []
        for content in self.contents:
            for part in content.get("parts") or []:
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    data = inline["data"]  # the SDK sends URL-safe base64, which the API accepts too
                    decoded = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
                    found.append((inline.get("mimeType") or inline.get("mime_type"), decoded))
        return found

    @property
    def generation_config(self) -> dict[str, Any]:
        return dict(self.body.get("generationConfig") or {})

    @property
    def thinking_config(self) -> dict[str, Any] | None:
        """`generationConfig.thinkingConfig` with camelCase keys (the SDK may send either), or None."""
        config = self.generation_config.get("thinkingConfig") or self.generation_config.get("thinking_config")
        return None if config is None else {_camel(key): value for key, value in config.items()}

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The request's tools, each with camelCase keys (`[{"googleSearch": {}}]`)."""
        return [{_camel(key): value for key, value in tool.items()} for tool in self.body.get("tools") or []]

    @property
    def wants_thoughts(self) -> bool:
        return bool((self.thinking_config or {}).get("includeThoughts"))

    @property
    def searches(self) -> bool:
        return any("googleSearch" in tool for tool in self.tools)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _count_tokens(text: str) -> int:
    return len(text.split())


def _split(text: str, n: int) -> list[str]:
    """Split `text` into at most `n` non-empty pieces on word boundaries; joined back == text."""
    words = re.findall(r"\S+\s*", text)
    lead = text[: len(text) - len(text.lstrip())]
    if n <= 1 or len(words) <= 1:
        return [text]
    n = min(n, len(words))
    size, extra = divmod(len(words), n)
    pieces, i = [], 0
    for k in range(n):
        step = size + (1 if k < extra else 0)
        pieces.append("".join(words[i : i + step]))
        i += step
    pieces[0] = lead + pieces[0]
    return pieces


def error_body(
    status: int, message: str | None = None, retry_delay: str | None = "7s", model: str = "gemini-2.5-flash"
) -> dict[str, Any]:
    """Google's error JSON for `status` (429 with QuotaFailure, Help and RetryInfo details)."""
    err: dict[str, Any] = {
        "code": status,
        "message": message or _DEFAULT_MESSAGES.get(status, "Error."),
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if status == 429:
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": "10",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
        ]
        if retry_delay is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
        err["details"] = details
    elif status == 400:
        err["details"] = [
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []},
        ]
    return {"error": err}


class FakeGeminiServer:
    """A scriptable fake of the Gemini API; see the module docstring.

    Attributes:
        url: "http://127.0.0.1:<port>" (set once started); pass as `base_url`.
        requests: every request received, in order (RecordedRequest).
        errors: exceptions raised inside the fake's own code (should stay empty).
        default_reply: the text of an unscripted reply.
    """

    def __init__(
        self,
        *,
        default_reply: str = "Hello from the fake Gemini.",
        host: str = "127.0.0.1",
        port: int = 0,
        model_version: str | None = None,
        entry_point_html: str = SEARCH_ENTRY_POINT,
    ) -> None:
        self.host = host
        self.entry_point_html = entry_point_html  # the search suggestions of a grounded reply
        self._port = port
        self.default_reply = default_reply
        self.model_version = model_version
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []  # exceptions raised inside the fake itself
        self._queue: deque[Behaviour] = deque()
        self._default = Behaviour()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.port = 0

    # ---------------------------------------------------------------- scripting
    def script(self, *, times: int = 1, **kwargs: Any) -> FakeGeminiServer:
        """Queue a behaviour (Behaviour's fields as keywords) for the next `times` calls."""
        behaviour = Behaviour(**kwargs)
        with self._lock:
            for _ in range(times):
                self._queue.append(replace(behaviour, headers=dict(behaviour.headers)))
        return self

    def set_default(self, **kwargs: Any) -> FakeGeminiServer:
        """Set the behaviour used when the queue is empty (Behaviour's fields as keywords)."""
        with self._lock:
            self._default = Behaviour(**kwargs)
        return self

    def reset(self) -> None:
        """Forget recorded requests and the queue; restore the default behaviour."""
        with self._lock:
            self._queue.clear()
            self._default = Behaviour()
            self.requests.clear()

    @property
    def pending(self) -> int:
        """How many scripted behaviours have not been used yet."""
        with self._lock:
            return len(self._queue)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self.requests:
                raise AssertionError("the fake Gemini server received no request")
            return self.requests[-1]

    def generate_requests(self) -> list[RecordedRequest]:
        """The generateContent / streamGenerateContent requests (countTokens left out)."""
        with self._lock:
            return [r for r in self.requests if r.method in ("generateContent", "streamGenerateContent")]

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else copy.deepcopy(self._default)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeGeminiServer:
        if self._thread is not None:
            return self
        self._stopping.clear()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(
            self._app,
            host=self.host,
            port=self.port,
            loop="asyncio",
            http="h11",
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            log_config=None,
            log_level="critical",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-gemini", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Gemini server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread is None or self._server is None:
            return
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._thread = None
        self._server = None

    def __enter__(self) -> FakeGeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- ASGI app
    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when the server is stopping."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._handle(scope, receive, send)
        except Exception as exc:  # a bug in the fake: keep it visible to the test
            self.errors.append(exc)
            raise

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break

        path: str = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        match = _ROUTE.match(path)
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {"_raw": body.decode("utf-8", "replace")}
        record = RecordedRequest(
            method=match["method"] if match else path,
            version=match["version"] if match else "",
            model=match["model"] if match else "",
            path=path,
            query=query,
            headers=headers,
            body=payload,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)

        if scope["method"] != "POST" or match is None:
            await self._send_json(send, 404, error_body(404, f"Fake Gemini: no route for {scope['method']} {path}"))
            return

        model = match["model"]
        if match["method"] == "countTokens":
            total = self._prompt_tokens(payload.get("generateContentRequest") or payload)
            await self._send_json(
                send, 200, {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}
            )
            return

        behaviour = self._next_behaviour()
        if behaviour.delay_s:
            await self._sleep(behaviour.delay_s)

        if behaviour.status != 200:
            err = behaviour.error_body or error_body(
                behaviour.status, behaviour.error_message, behaviour.retry_delay, model
            )
            await self._send_json(send, behaviour.status, err, behaviour.headers)
            return

        text = behaviour.reply if behaviour.reply is not None else self.default_reply
        if behaviour.chunks is not None:
            pieces = list(behaviour.chunks) or [""]
            text = "".join(pieces)
        else:
            pieces = _split(text, behaviour.n_chunks)
        prompt_tokens = self._prompt_tokens(payload)
        response_id = uuid.uuid4().hex[:22]
        version = self.model_version or model
        thoughts: list[str] = []
        if record.wants_thoughts:
            thoughts = list(DEFAULT_THOUGHTS if behaviour.thoughts is None else behaviour.thoughts)
        grounding: dict[str, Any] | None = None
        if record.searches:
            if behaviour.grounding is None:
                grounding = grounding_for(text, entry_point=self.entry_point_html)
            else:
                grounding = behaviour.grounding or None
        thought_tokens = sum(_count_tokens(t) for t in thoughts)

        if match["method"] == "generateContent":
            doc = self._response(
                text, prompt_tokens, _count_tokens(text), behaviour.finish_reason, version, response_id
            )
            self._decorate(doc, thoughts, thought_tokens, grounding)
            raw = json.dumps(doc).encode()
            if behaviour.fail_after_chunks is not None:
                await self._start(send, 200, "application/json; charset=UTF-8", behaviour.headers, len(raw))
                await send({"type": "http.response.body", "body": raw[: len(raw) // 2], "more_body": True})
                return  # uvicorn closes the connection: body shorter than Content-Length
            await self._start(send, 200, "application/json; charset=UTF-8", behaviour.headers, len(raw))
            await send({"type": "http.response.body", "body": raw})
            return

        # streamGenerateContent: SSE when ?alt=sse (what the SDK asks for), else a JSON array.
        sse = query.get("alt", [""])[0] == "sse"
        await self._start(
            send, 200, "text/event-stream" if sse else "application/json; charset=UTF-8", behaviour.headers, None
        )
        so_far = 0
        if not sse:
            await send({"type": "http.response.body", "body": b"[", "more_body": True})
        for i, thought in enumerate(thoughts):  # thought summaries come first, one chunk each
            if i and behaviour.chunk_delay_s:
                await self._sleep(behaviour.chunk_delay_s)
            doc = self._response(thought, prompt_tokens, 0, None, version, response_id)
            self._decorate(doc, [thought], sum(_count_tokens(t) for t in thoughts[: i + 1]), None, only_thoughts=True)
            data = b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\r\n\r\n"
            await send(
                {
                    "type": "http.response.body",
                    "body": data if sse else json.dumps(doc).encode() + b",",
                    "more_body": True,
                }
            )
        if thoughts and behaviour.chunk_delay_s:
            await self._sleep(behaviour.chunk_delay_s)
        for i, piece in enumerate(pieces):
            if behaviour.fail_after_chunks is not None and i >= behaviour.fail_after_chunks:
                return  # uvicorn closes the connection mid chunked body
            if i and behaviour.chunk_delay_s:
                await self._sleep(behaviour.chunk_delay_s)
            so_far += _count_tokens(piece)
            last = i == len(pieces) - 1
            doc = self._response(
                piece, prompt_tokens, so_far, behaviour.finish_reason if last else None, version, response_id
            )
            if thought_tokens:
                self._decorate(doc, [], thought_tokens, grounding if last else None)
            elif last and grounding:
                self._decorate(doc, [], 0, grounding)
            if sse:
                data = b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\r\n\r\n"
            else:
                data = (b"," if i else b"") + json.dumps(doc).encode()
            await send({"type": "http.response.body", "body": data, "more_body": True})
        if behaviour.fail_after_chunks is not None:
            return  # every chunk sent, but the body is never finished
        await send({"type": "http.response.body", "body": b"" if sse else b"]", "more_body": False})

    @staticmethod
    def _decorate(
        doc: dict[str, Any],
        thoughts: list[str],
        thought_tokens: int,
        grounding: dict[str, Any] | None,
        *,
        only_thoughts: bool = False,
    ) -> None:
        """Add thought parts (`"thought": true`), their token count and grounding metadata to a response."""
        candidate = doc["candidates"][0]
        thought_parts = [{"text": t, "thought": True} for t in thoughts]
        if only_thoughts:
            candidate["content"]["parts"] = thought_parts
        elif thought_parts:
            candidate["content"]["parts"] = thought_parts + candidate["content"]["parts"]
        if thought_tokens:
            usage = doc["usageMetadata"]
            usage["thoughtsTokenCount"] = thought_tokens
            usage["totalTokenCount"] += thought_tokens
        if grounding:
            candidate["groundingMetadata"] = grounding

    @staticmethod
    def _prompt_tokens(payload: dict[str, Any]) -> int:
        n = 0
        for content in [*(payload.get("contents") or []), payload.get("systemInstruction") or {}]:
            for part in content.get("parts") or []:
                n += _count_tokens(part.get("text", ""))
        return n

    @staticmethod
    def _response(
        text: str,
        prompt_tokens: int,
        candidate_tokens: int,
        finish_reason: str | None,
        model_version: str,
        response_id: str,
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
        if finish_reason:
            candidate["finishReason"] = finish_reason
        candidate["index"] = 0
        return {
            "candidates": [candidate],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": candidate_tokens,
                "totalTokenCount": prompt_tokens + candidate_tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
            },
            "modelVersion": model_version,
            "responseId": response_id,
        }

    @staticmethod
    async def _start(send: Send, status: int, content_type: str, extra: dict[str, str], length: int | None) -> None:
        headers = [(b"content-type", content_type.encode()), (b"server", b"scaffolding on HTTPServer2")]
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})

    async def _send_json(
        self, send: Send, status: int, doc: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        raw = json.dumps(doc, indent=2).encode()
        await self._start(send, status, "application/json; charset=UTF-8", extra or {}, len(raw))
        await send({"type": "http.response.body", "body": raw})


def main() -> None:
    """Serve the fake on a port until stopped (the web app's end-to-end tests start it this way)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply", default="Hello from the fake Gemini.")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    parser.add_argument(
        "--hostile-entry-point", action="store_true", help="search suggestions that try to run script in the page"
    )
    args = parser.parse_args()
    html = SEARCH_ENTRY_POINT + HOSTILE_HTML if args.hostile_entry_point else SEARCH_ENTRY_POINT
    server = FakeGeminiServer(default_reply=args.reply, port=args.port, entry_point_html=html)
    server.set_default(chunk_delay_s=args.chunk_delay, n_chunks=6)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with server:
        print(f"fake Gemini on {server.url}", flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
