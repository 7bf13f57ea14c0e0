"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and slow down event streams)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("app.request")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI and ReDoc load their scripts from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class RequestContextMiddleware:
    """Request id, security headers, a body size cap, and one log line per request.

    `body_limits` gives a path its own cap (POST /api/uploads takes files far above the JSON limit);
    the route still checks its own, exact, limit while it reads. Under `openai_prefixes` (the
    OpenAI-compatible endpoint) the 413 comes in OpenAI's error shape, as every error there does.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_limits: Mapping[str, int] | None = None,
        openai_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})
        self.openai_prefixes = openai_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        # A client's id is echoed and logged only when it is short and plain.
        request_id = given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        path: str = scope["path"]
        csp = DOCS_CSP if path in ("/docs", "/redoc") else APP_CSP
        status_code = 500
        response_started = False
        limit = self.body_limits.get(path, self.max_body_bytes)
        openai_shape = bool(self.openai_prefixes) and path.startswith(self.openai_prefixes)

        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await _send_too_large(send, limit, request_id, openai_shape=openai_shape)
            self._log(scope, 413, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                status_code = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [header for header in SECURITY_HEADERS if header[0] not in names]
                if b"content-security-policy" not in names:  # a response with its own (uploads: sandbox) keeps it
                    headers.append((b"content-security-policy", csp.encode()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            status_code = 413
            if not response_started:
                await _send_too_large(send, limit, request_id, openai_shape=openai_shape)
        finally:
            self._log(scope, status_code, started, request_id)

    @staticmethod
    def _log(scope: Scope, status_code: int, started: float, request_id: str) -> None:
        # Path only: query strings may carry search text, and bodies are never logged.
        logger.info(
            "%s %s %s %.1fms",
            scope["method"],
            scope["path"],
            status_code,
            (time.perf_counter() - started) * 1000,
            extra={
                "request_id": request_id,
                "status": status_code,
                "method": scope["method"],
                "path": scope["path"],
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing passes it through as a 413 response."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is too large (limit {limit} bytes).")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_too_large(send: Send, limit: int, request_id: str, *, openai_shape: bool) -> None:
    message = f"The request body is too large (limit {limit} bytes)."
    if openai_shape:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": "request_too_large"}
        await _send_json(send, 413, {"error": error}, request_id)
    else:
        await _send_json(send, 413, {"detail": message, "code": "too_large"}, request_id)


async def _send_json(send: Send, status_code: int, payload: Mapping[str, object], request_id: str) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        *SECURITY_HEADERS,
        (b"content-security-policy", APP_CSP.encode()),
    ]
    await send({"type": "http.response.start", "status": status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
