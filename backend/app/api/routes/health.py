"""Liveness and readiness: the database answers, which model is configured."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text

from app.api.deps import ContextDep
from app.schemas import HealthOut

router = APIRouter(tags=["health"])
logger = logging.getLogger("app.health")


@router.get("/health", responses={503: {"model": HealthOut}})
async def health(context: ContextDep, response: Response) -> HealthOut:
    """Public health check (used by Docker's HEALTHCHECK and load balancers)."""
    database: str = "ok"
    try:
        async with context.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        logger.exception("health check: database unreachable")
        database = "error"
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(
        status="ok" if database == "ok" else "error",
        database="ok" if database == "ok" else "error",
        llm_provider=context.llm.provider,
        llm_model=context.llm.model_name,
        allow_signup=(await context.runtime.current()).allow_signup,
        allow_sharing=context.settings.allow_sharing,
        allow_api_keys=context.settings.allow_api_keys,
        warnings=context.llm.warnings,
    )
