"""Presets (personas): each user's own, and the ones an administrator shared with everyone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError
from app.llm.models import ModelCatalog
from app.models import Preset, User, utcnow
from app.services.chat_settings import SETTING_FIELDS, settle

MAX_PRESETS = 200  # per user


class PresetNotFound(AppError):
    code = "preset_not_found"
    status_code = 404
    default_message = "Preset not found"


class SharingPresetsNeedsAdmin(AppError):
    code = "admin_only"
    status_code = 403
    default_message = "Only an administrator can share a preset with every user."


class TooManyPresets(AppError):
    code = "too_many_presets"
    status_code = 409
    default_message = f"You have reached the limit of {MAX_PRESETS} presets. Delete one first."


def visible(user: User) -> Any:
    return or_(Preset.user_id == user.id, Preset.shared.is_(True))


async def list_presets(session: AsyncSession, user: User) -> list[Preset]:
    """The user's presets and the shared ones, by name."""
    rows = await session.scalars(select(Preset).where(visible(user)).order_by(Preset.name, Preset.id))
    return list(rows)


async def visible_preset(session: AsyncSession, user: User, preset_id: int) -> Preset:
    """A preset the user may start a chat from (their own or a shared one), or 404."""
    preset = await session.get(Preset, preset_id)
    if preset is None or (preset.user_id != user.id and not preset.shared):
        raise PresetNotFound()
    return preset


async def owned_preset(session: AsyncSession, user: User, preset_id: int) -> Preset:
    """A preset the user may change: their own (an administrator: any shared one too), or 404."""
    preset = await session.get(Preset, preset_id)
    if preset is None or (preset.user_id != user.id and not (user.is_admin and preset.shared)):
        raise PresetNotFound()
    return preset


def _check(values: Mapping[str, Any], explicit: Mapping[str, Any], catalog: ModelCatalog) -> None:
    checked = {name: values.get(name) for name in SETTING_FIELDS}
    settle(checked, [name for name in SETTING_FIELDS if explicit.get(name) is not None], catalog)


async def create_preset(session: AsyncSession, user: User, catalog: ModelCatalog, fields: dict[str, Any]) -> Preset:
    if fields.get("shared") and not user.is_admin:
        raise SharingPresetsNeedsAdmin()
    count = len(list(await session.scalars(select(Preset.id).where(Preset.user_id == user.id))))
    if count >= MAX_PRESETS:
        raise TooManyPresets()
    await catalog.available()
    _check(fields, fields, catalog)
    now = utcnow()
    preset = Preset(user_id=user.id, created_at=now, updated_at=now, **fields)
    session.add(preset)
    await session.commit()
    return preset


async def update_preset(
    session: AsyncSession, user: User, catalog: ModelCatalog, preset: Preset, fields: dict[str, Any]
) -> Preset:
    if fields.get("shared") and not user.is_admin:
        raise SharingPresetsNeedsAdmin()
    for required in ("name", "system_prompt", "shared"):
        if required in fields and fields[required] is None:
            del fields[required]  # these cannot be unset, only changed
    await catalog.available()
    values = {name: getattr(preset, name) for name in SETTING_FIELDS} | fields
    _check(values, fields, catalog)
    for name, value in fields.items():
        setattr(preset, name, value)
    preset.updated_at = utcnow()
    await session.commit()
    return preset


async def delete_preset(session: AsyncSession, preset: Preset) -> None:
    await session.delete(preset)
    await session.commit()
