"""Personal API keys for the OpenAI-compatible endpoint: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from app.api.deps import CurrentUser, SessionDep, api_keys_enabled
from app.schemas import MAX_ID, ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from app.services import api_keys as service

router = APIRouter(prefix="/keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, responses={403: {}}, dependencies=[Depends(api_keys_enabled)])
async def create_key(body: ApiKeyCreate, user: CurrentUser, session: SessionDep) -> ApiKeyCreated:
    """A new key for /v1 (`Authorization: Bearer cv-...`). The answer is the only time the key is shown."""
    row, key = await service.create_key(session, user, body.name)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.get("")
async def list_keys(user: CurrentUser, session: SessionDep) -> list[ApiKeyOut]:
    """The user's keys (their prefix, never the key), newest first."""
    return [ApiKeyOut.model_validate(row) for row in await service.list_keys(session, user)]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def revoke_key(key_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: SessionDep) -> None:
    """Revoke a key: the next request with it is refused."""
    row = await service.get_owned_key(session, user, key_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "API key not found")
    await service.delete_key(session, row)
