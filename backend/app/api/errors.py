"""The one place where errors become HTTP answers: `{"detail": <message>, "code": <machine-readable>}`.

Services and the LLM layer raise `AppError` subclasses that carry their status, code and
`Retry-After`; routes never catch and translate them. HTTP-level errors (HTTPException, request
validation, an exhausted database pool, anything unexpected) get the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import metrics
from app.core.errors import AppError, json_safe

logger = logging.getLogger("app")

# The code of an HTTPException raised without one, by its status.
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal",
    502: "bad_gateway",
    503: "unavailable",
    504: "timeout",
}
OVERLOADED_RETRY_AFTER = "10"


def code_for_status(status_code: int) -> str:
    return STATUS_CODES.get(status_code) or HTTPStatus(status_code).phrase.lower().replace(" ", "_")


def error_response(
    status_code: int, detail: object, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status_code, headers=headers)


async def app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if exc.status_code in (429, 503):  # rate limits, quotas, a busy model, a stopping server
        metrics.count_rejection(exc.code)
    retry_after = exc.retry_after_header
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return error_response(exc.status_code, exc.message, exc.code, headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or code_for_status(exc.status_code)
    return error_response(exc.status_code, exc.detail, code, exc.headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's list of problems, made safe to encode (it echoes the input, which may not be valid JSON)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return error_response(422, json_safe(jsonable_encoder(errors)), "validation_error")


async def pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    # Every database connection stayed busy for the pool's whole timeout: too much at once.
    logger.warning("database pool exhausted on %s %s", request.method, request.url.path)
    metrics.count_rejection("overloaded")
    return error_response(
        503,
        "The server is overloaded right now. Please try again in a moment.",
        "overloaded",
        {"Retry-After": OVERLOADED_RETRY_AFTER},
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "Internal server error. It has been logged.", "internal")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(PoolTimeoutError, pool_exhausted)
    app.add_exception_handler(Exception, unexpected_error)
