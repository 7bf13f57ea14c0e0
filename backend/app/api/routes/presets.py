"""Presets (personas): list, create, change, delete; GET shows the user's own and the shared ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from app.api.deps import ContextDep, CurrentUser, SessionDep
from app.models import Preset, User
from app.schemas import MAX_ID, PresetIn, PresetOut, PresetUpdate
from app.services import presets as service

router = APIRouter(prefix="/presets", tags=["presets"])
PresetId = Annotated[int, Path(ge=1, le=MAX_ID)]


def preset_out(preset: Preset, user: User) -> PresetOut:
    out = PresetOut.model_validate(preset)
    out.mine = preset.user_id == user.id
    return out


@router.get("")
async def list_presets(user: CurrentUser, session: SessionDep) -> list[PresetOut]:
    """The user's presets and the ones shared with every user, by name."""
    return [preset_out(preset, user) for preset in await service.list_presets(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED, responses={403: {}, 409: {}})
async def create_preset(body: PresetIn, user: CurrentUser, session: SessionDep, context: ContextDep) -> PresetOut:
    """Save a persona; `shared` (administrators only) shows it to every user."""
    preset = await service.create_preset(session, user, context.llm.models(), body.model_dump())
    return preset_out(preset, user)


@router.get("/{preset_id}", responses={404: {}})
async def get_preset(preset_id: PresetId, user: CurrentUser, session: SessionDep) -> PresetOut:
    return preset_out(await service.visible_preset(session, user, preset_id), user)


@router.patch("/{preset_id}", responses={403: {}, 404: {}})
async def update_preset(
    preset_id: PresetId, body: PresetUpdate, user: CurrentUser, session: SessionDep, context: ContextDep
) -> PresetOut:
    """Change the fields given (null clears model, temperature, web_search or thinking)."""
    preset = await service.owned_preset(session, user, preset_id)
    fields = body.model_dump(exclude_unset=True)
    return preset_out(await service.update_preset(session, user, context.llm.models(), preset, fields), user)


@router.delete("/{preset_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def delete_preset(preset_id: PresetId, user: CurrentUser, session: SessionDep) -> None:
    await service.delete_preset(session, await service.owned_preset(session, user, preset_id))
