"""GET /metrics: Prometheus' text format, for a scraper holding METRICS_TOKEN (404 while it is unset).

It is served at the root, not under /api: a CDN that forwards only /api/* (the AWS template's
CloudFront) never exposes it to the public.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import ContextDep
from app.core.metrics import REGISTRY

router = APIRouter(include_in_schema=False)
scraper = HTTPBearer(auto_error=False)


@router.get("/metrics")
async def prometheus_metrics(
    context: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scraper)]
) -> Response:
    token = context.settings.metrics_token
    if token is None or not token.get_secret_value():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    given = credentials.credentials if credentials is not None else ""
    if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Send the header 'Authorization: Bearer <METRICS_TOKEN>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
