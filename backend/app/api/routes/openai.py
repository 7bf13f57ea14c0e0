"""The OpenAI-compatible endpoint: /v1/models and /v1/chat/completions (also under /api/v1).

Personal API keys (`Bearer cv-...`) or the web app's token; the user's chat rate limit and daily
quota apply, before any chunk. Answers are not stored as conversations. Every error, including
a failure in the middle of a stream, is in OpenAI's shape `{"error": {message, type, param, code}}`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import Admitting, ApiUser, ContextDep, SessionDep, enforce_chat_limits
from app.api.sse import STREAM_HEADERS, EventStreamResponse
from app.context import AppContext
from app.core.errors import AppError, json_safe
from app.models import User
from app.schemas.openai import (
    AssistantMessage,
    ChatCompletionChoice,
    ChatCompletionMessage,
    ChatCompletionOut,
    ChatCompletionRequest,
    CompletionUsage,
    ModelList,
    ModelOut,
    OpenAIErrorOut,
    chunk,
)
from app.services.completions import (
    CompletionOptions,
    TokenCount,
    internal_error,
    record_api_turn,
    stream_completion,
)

logger = logging.getLogger("app.openai")
DEFAULT_MODEL_ALIAS = "conversa"  # always accepted: the server's default model
# OpenAI's codes for our own refusals (others keep Conversa's code).
OPENAI_CODES = {"rate_limited": "rate_limit_exceeded", "daily_quota": "insufficient_quota"}
ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
ERROR_CODES = {401: "invalid_api_key", 403: "forbidden", 404: "not_found", 413: "request_too_large"}
STARTED = int(time.time())


class OpenAIError(Exception):
    def __init__(self, status_code: int, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status_code, self.message, self.code, self.param = status_code, message, code, param


def error_body(status_code: int, message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status_code, "server_error" if status_code >= 500 else "invalid_request_error")
    if code is None:
        code = "rate_limit_exceeded" if status_code == 429 else ERROR_CODES.get(status_code)
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = json_safe(error_body(status_code, message, code, param))  # a field name may hold a lone surrogate
    return JSONResponse(body, status_code=status_code, headers=dict(headers) if headers else None)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "Invalid request.", None
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(location) or None
    return f"Invalid value for '{param or 'body'}': {first.get('msg', 'invalid')}", param


class OpenAIRoute(APIRoute):
    """Errors of these routes (validation, dependencies, unexpected) in OpenAI's shape, not `{"detail"}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIError as exc:
                return error_response(exc.status_code, exc.message, code=exc.code, param=exc.param)
            except AppError as exc:  # from the dependencies and services: limits, quota, a stopping server
                retry_after = exc.retry_after_header
                return error_response(
                    exc.status_code,
                    exc.message,
                    code=OPENAI_CODES.get(exc.code, exc.code),
                    headers={"Retry-After": retry_after} if retry_after else None,
                )
            except RequestValidationError as exc:
                message, param = _validation_message(exc)
                return error_response(status.HTTP_400_BAD_REQUEST, message, code="invalid_value", param=param)
            except StarletteHTTPException as exc:  # from the dependencies: auth, limits, body size
                return error_response(exc.status_code, str(exc.detail), headers=exc.headers)
            except Exception:
                logger.exception("unhandled error on %s %s", request.method, request.url.path)
                return error_response(500, "Internal server error. It has been logged.")

        return route


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorOut} for code in (400, 401, 403, 404, 413, 429, 500, 502, 503, 504)
}
router = APIRouter(tags=["openai"], route_class=OpenAIRoute, responses=ERROR_RESPONSES)


async def available_models(context: AppContext) -> list[str]:
    """The model ids /v1 offers: Conversa's model list (`GET /api/models`), the default first.

    The alias `conversa` names the default too.
    """
    models = await context.llm.models().available()
    default = next((model.id for model in models if model.default), context.llm.model_name)
    return [default, *(model.id for model in models if model.id != default)]


@router.get("/models")
async def list_models(_: ApiUser, context: ContextDep) -> ModelList:
    """The models a chat completion can ask for (OpenAI's `GET /v1/models`)."""
    return ModelList(
        data=[ModelOut(id=name, created=STARTED, owned_by="conversa") for name in await available_models(context)]
    )


@router.get("/models/{model_id}")
async def retrieve_model(model_id: str, _: ApiUser, context: ContextDep) -> ModelOut:
    """One model (OpenAI's `GET /v1/models/{model}`); 404 `model_not_found` for one not offered."""
    return ModelOut(id=await resolve_model(context, model_id), created=STARTED, owned_by="conversa")


# Ids with a slash (`meta-llama/llama-3` behind an OpenAI-compatible server, Ollama's `hf.co/...`).
router.get("/models/{model_id:path}", include_in_schema=False)(retrieve_model)


async def resolve_model(context: AppContext, requested: str) -> str:
    models = await available_models(context)
    if requested == DEFAULT_MODEL_ALIAS:
        return models[0]
    if requested not in models:
        raise OpenAIError(
            404,
            f"The model '{requested[:100]}' does not exist. "
            f"Available: {', '.join(models)} (or '{DEFAULT_MODEL_ALIAS}' for the default).",
            code="model_not_found",
            param="model",
        )
    return requested


def _text_of(message: ChatCompletionMessage, index: int) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    parts = []
    for part in message.content:
        if part.type != "text":
            raise OpenAIError(
                400, "Only text content is supported.", code="unsupported_content", param=f"messages.{index}.content"
            )
        parts.append(part.text or "")
    return "".join(parts)


Turn = tuple[Literal["user", "assistant"], str]


def to_prompt(context: AppContext, messages: list[ChatCompletionMessage]) -> tuple[str | None, list[Turn]]:
    """The client's system messages (replacing SYSTEM_PROMPT, when there are any) and the turns."""
    system: list[str] = []
    turns: list[Turn] = []
    limit = context.settings.max_message_chars
    for index, message in enumerate(messages):
        if message.role in ("tool", "function"):
            raise OpenAIError(
                400, "Tool and function messages are not supported.", code="unsupported_role", param=f"messages.{index}"
            )
        text = _text_of(message, index)
        if len(text) > limit:
            raise OpenAIError(
                400,
                f"Message {index} is too long ({len(text)} characters); the limit is {limit}.",
                code="context_length_exceeded",
                param=f"messages.{index}.content",
            )
        if message.role in ("system", "developer"):
            system.append(text)
        elif text:
            turns.append(("user" if message.role == "user" else "assistant", text))
    if not any(role == "user" for role, _ in turns):
        raise OpenAIError(400, "The messages must include a user message.", code="invalid_value", param="messages")
    return ("\n\n".join(system) if system else None), turns


def options_of(body: ChatCompletionRequest) -> CompletionOptions:
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return CompletionOptions(
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        top_p=body.top_p,
        seed=body.seed,
        stop=stop,
    )


def _llm_error(exc: AppError) -> OpenAIError:
    return OpenAIError(exc.status_code, exc.message, code=exc.code)


def finish_reason(usage: TokenCount) -> Literal["stop", "length"]:
    return "length" if usage.hit_max_tokens else "stop"


def usage_out(usage: TokenCount) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
    )


@router.post(
    "/chat/completions",
    response_model=ChatCompletionOut,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or chunks when `stream` is true"}},
)
async def chat_completions(
    body: ChatCompletionRequest, ticket: Admitting, user: ApiUser, context: ContextDep, session: SessionDep
) -> ChatCompletionOut | Response:
    """Answer the conversation in `messages` (OpenAI's chat completions); nothing is stored."""
    model = await resolve_model(context, body.model)
    system_prompt, history = to_prompt(context, body.messages)
    # After the request is known to be valid: a refused request costs nothing of the limits.
    await enforce_chat_limits(context, session, user)
    usage = TokenCount()
    deltas = stream_completion(
        context.llm,
        context.chat.admissions,
        context.chat.stopping,
        history,
        model=model,
        system_prompt=system_prompt,
        options=options_of(body),
        usage=usage,
    )
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    if not body.stream:
        ticket.done()  # admitted: the wait for the whole reply must not hold streaming replies back
        try:
            text = "".join([delta async for delta in deltas])
        except AppError as exc:
            raise _llm_error(exc) from exc
        finally:
            await record_api_turn(context.sessionmaker, user.id, usage.prompt_tokens, usage.completion_tokens)
        return ChatCompletionOut(
            id=completion_id,
            created=created,
            model=model,
            choices=[ChatCompletionChoice(message=AssistantMessage(content=text), finish_reason=finish_reason(usage))],
            usage=usage_out(usage),
        )
    # The first piece is awaited here: a model that fails at once is a plain HTTP error, not a stream.
    try:
        first = await anext(deltas, None)
    except AppError as exc:
        await record_api_turn(context.sessionmaker, user.id, 0, 0)
        raise _llm_error(exc) from exc
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    events = _chunks(context, user, deltas, first, (completion_id, created, model), usage, include_usage)
    settings = context.settings
    return EventStreamResponse(
        events,
        bytes,  # the chunks are framed here already
        headers=STREAM_HEADERS,
        heartbeat_s=settings.sse_heartbeat_s,
        send_timeout_s=settings.sse_send_timeout_s,
    )


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def _chunks(
    context: AppContext,
    user: User,
    deltas: AsyncGenerator[str, None],
    first: str | None,
    meta: tuple[str, int, str],
    usage: TokenCount,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """`data: {chat.completion.chunk}` lines, then `data: [DONE]`; a failure ends with an error chunk and [DONE]."""
    completion_id, created, model = meta
    extra: dict[str, Any] = {"usage": None} if include_usage else {}
    try:
        yield _data(
            {**chunk(completion_id, created, model, {"role": "assistant", "content": first or ""}, None), **extra}
        )
        if first is not None:
            async for delta in deltas:
                yield _data({**chunk(completion_id, created, model, {"content": delta}, None), **extra})
        yield _data({**chunk(completion_id, created, model, {}, finish_reason(usage)), **extra})
        if include_usage:
            final = chunk(completion_id, created, model, {}, None)
            final["choices"], final["usage"] = [], usage_out(usage).model_dump()
            yield _data(final)
    except AppError as exc:
        yield _data(error_body(exc.status_code, exc.message, exc.code))
    except Exception:  # anything unexpected still ends the stream cleanly
        logger.exception("chat completion stream failed")
        error = internal_error()
        yield _data(error_body(error.status_code, error.message, error.code))
    finally:
        await deltas.aclose()
        with anyio.CancelScope(shield=True):  # counted even when the client went away
            await record_api_turn(context.sessionmaker, user.id, usage.prompt_tokens, usage.completion_tokens)
    yield b"data: [DONE]\n\n"


# Last in the router: any other path under /v1 is OpenAI's 404 (never the web app's index.html,
# which the SPA fallback would otherwise serve with a 200 to a GET), another method on a /v1 path
# a 405 with `Allow` (this route would otherwise answer before the router's own 405).
@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unknown_endpoint(path: str, request: Request) -> Response:
    allowed = _allowed_methods("/" + path)
    if allowed:
        return error_response(
            status.HTTP_405_METHOD_NOT_ALLOWED,
            f"Method {request.method} is not allowed on {request.url.path[:200]}; use {', '.join(allowed)}.",
            code="method_not_allowed",
            headers={"Allow": ", ".join(allowed)},
        )
    raise OpenAIError(404, f"Unknown request URL: {request.method} {request.url.path[:200]}.", code="unknown_url")


def _allowed_methods(path: str) -> list[str]:
    """The methods this router's other routes take for `path` (relative to /v1 or /api/v1)."""
    methods = {
        method
        for route in router.routes
        if isinstance(route, APIRoute) and route.endpoint is not unknown_endpoint and route.path_regex.match(path)
        for method in route.methods or ()
    }
    return sorted(methods)
