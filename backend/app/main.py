"""The FastAPI application: factory, lifespan, routes and the built web app."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse

from app.api.errors import install_error_handlers
from app.api.routes import (
    admin,
    api_keys,
    auth,
    chat,
    conversations,
    health,
    metrics,
    models,
    openai,
    presets,
    search,
    shares,
    uploads,
    usage,
)
from app.context import build_context
from app.core import metrics as app_metrics
from app.core.config import Settings, get_settings
from app.core.db import WalCheckpointer, ensure_sqlite_folder, sqlite_file
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.migrations import SchemaNotCurrent, ensure_schema
from app.core.openapi import document_error_responses
from app.core.shutdown import forward_stop_signals

logger = logging.getLogger("app")
# Room for the multipart framing, and so the route's exact file-size check (with its clearer message) comes first.
MULTIPART_OVERHEAD = 1024 * 1024
GC_THRESHOLD_0 = 10_000  # allocations between young-generation collections (Python's default: 700)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    ensure_sqlite_folder(settings)
    context = build_context(settings)
    try:
        await ensure_schema(context.engine, settings.sqlalchemy_url, migrate=settings.migrate_on_start)
    except SchemaNotCurrent as exc:
        logger.critical("%s", exc)  # one clear line before the traceback the server prints
        await context.engine.dispose()
        raise
    await context.jobs.open()
    database = sqlite_file(settings.sqlalchemy_url)
    checkpointer = WalCheckpointer(database, idle=context.idle) if database is not None else None
    if checkpointer is not None:
        checkpointer.start()
    app.state.context = context
    app_metrics.watch_pool(context.engine)
    # Everything imported and built so far lives as long as the process: keep it out of the
    # garbage collector's full passes (a full pass over it takes ~100 ms and stalls every stream).
    gc.freeze()
    # A burst of chats allocates fast: at the default first threshold (700) the collector ran ~770
    # times (6 full passes) in a burst of 500, 0.75-1.5 s of its ~3.5 s of CPU; at 10,000, ~50
    # times (one full pass) for 0.3-0.5 s, same peak RSS (bench/profile_turn.py --burst 500).
    gc.set_threshold(GC_THRESHOLD_0, *gc.get_threshold()[1:])
    stop_forwarding = forward_stop_signals(context.chat.stopping)
    logger.info(
        "Conversa ready: database=%s llm=%s/%s",
        context.engine.dialect.name,
        context.llm.provider,
        context.llm.model_name,
    )
    try:
        yield
    finally:
        stop_forwarding()
        # Let replies in flight be saved before the connections go away.
        if context.chat.background:
            await asyncio.wait(context.chat.background, timeout=5)
        await context.jobs.close()
        if checkpointer is not None:
            await checkpointer.stop()
        await context.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    app = FastAPI(
        title="Conversa API",
        version="0.1.0",
        summary="A private, light chat app: auth, conversations and streamed answers from an LLM.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    routers = (auth, conversations, search, chat, health, admin, usage, uploads, shares, api_keys, models, presets)
    for router in (module.router for module in routers):
        app.include_router(router, prefix="/api")
    # OpenAI's clients expect /v1; /api/v1 is the same, for a CDN that forwards only /api/* here.
    app.include_router(openai.router, prefix="/v1")
    app.include_router(openai.router, prefix="/api/v1", include_in_schema=False)
    app.include_router(metrics.router)  # at the root: never under the CDN's /api/*
    document_error_responses(app)
    install_error_handlers(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "X-Request-Id"],
        )
    # Event streams are never compressed (Starlette excludes text/event-stream): no buffering.
    # Level 5, not Starlette's 9: a 100-message page (86 kB of JSON) compresses in 2.1 ms instead of
    # 6.8 ms on this 2-core VM, for 3% more bytes (measured with zlib on such a page).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_limits={"/api/uploads": settings.upload_max_bytes + MULTIPART_OVERHEAD},
        openai_prefixes=("/v1/", "/api/v1/"),
    )
    metrics_on = settings.metrics_token is not None and bool(settings.metrics_token.get_secret_value())
    app_metrics.enable(metrics_on)
    if metrics_on:  # outermost: it sees every answer, the 413s of the body cap included
        app.add_middleware(app_metrics.MetricsMiddleware)
    if settings.web_dir is not None:
        mount_web_app(app, settings.web_dir)
    return app


def mount_web_app(app: FastAPI, web_dir: Path) -> None:
    """Serve the built SPA: real files as they are, any other non-API path gets index.html."""
    root = web_dir.resolve()
    index = root / "index.html"

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_app(path: str) -> FileResponse:
        if path == "api" or path.startswith("api/"):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        candidate = (root / path).resolve()
        if path and candidate.is_relative_to(root) and candidate.is_file():
            immutable = candidate.parent.name == "assets"  # Vite's hashed file names
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(candidate, headers={"Cache-Control": cache})
        # A missing file (an old hashed chunk after a deploy) must be a 404, not index.html served as script.
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        headers = {"Cache-Control": "no-cache"}
        if path.startswith("s/"):  # a shared conversation: crawlers that skip the page's <meta> see this
            headers["X-Robots-Tag"] = "noindex"
        return FileResponse(index, headers=headers)


app = create_app()
