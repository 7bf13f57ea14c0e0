"""The FastAPI application: factory, lifespan, routes and the built web app."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.api.routes import admin, auth, chat, conversations, health, search, usage
from app.core.config import Settings, get_settings
from app.core.context import AppContext
from app.core.db import create_engine, create_sessionmaker, ensure_sqlite_folder
from app.core.errors import validation_error
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.migrations import ensure_schema
from app.core.openapi import document_error_responses
from app.core.shutdown import forward_stop_signals
from app.llm import build_llm_service
from app.services.chat import ChatService
from app.services.ratelimit import RateLimits

logger = logging.getLogger("app")


def build_context(settings: Settings) -> AppContext:
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    llm = build_llm_service(settings)
    return AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        llm=llm,
        chat=ChatService(sessionmaker, llm, settings),
        limits=RateLimits.from_settings(settings),
        signing_key=settings.signing_key(),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    ensure_sqlite_folder(settings)
    context = build_context(settings)
    await ensure_schema(context.engine, settings.sqlalchemy_url)
    app.state.context = context
    # Everything imported and built so far lives as long as the process: keep it out of the
    # garbage collector's full passes (a full pass over it takes ~100 ms and stalls every stream).
    gc.freeze()
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
    routers = (auth.router, conversations.router, search.router, chat.router, health.router, admin.router, usage.router)
    for router in routers:
        app.include_router(router, prefix="/api")
    document_error_responses(app)
    app.add_exception_handler(RequestValidationError, validation_error)

    @app.exception_handler(PoolTimeoutError)
    async def overloaded(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        # Every database connection stayed busy for the pool's whole timeout: too much at once.
        logger.warning("database pool exhausted on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "The server is overloaded right now. Please try again in a moment."},
            status_code=503,
            headers={"Retry-After": "10"},
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error. It has been logged."}, status_code=500)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "X-Request-Id"],
        )
    # Event streams are never compressed (Starlette excludes text/event-stream): no buffering.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
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
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


app = create_app()
