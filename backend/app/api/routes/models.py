"""The models this server offers, and the current user's preferences."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContextDep, CurrentUser, SessionDep
from app.schemas import ModelOut, PreferencesIn, PreferencesOut
from app.services import chat_settings

router = APIRouter(tags=["models"])


@router.get("/models")
async def list_models(context: ContextDep, _: CurrentUser) -> list[ModelOut]:
    """Every model a conversation may use, with what it can do; `default` marks the server's default."""
    models = await context.llm.models().available()
    return [ModelOut.model_validate(chat_settings.model_out(info)) for info in models]


@router.get("/me/preferences")
async def get_preferences(user: CurrentUser) -> PreferencesOut:
    """The defaults of the user's new conversations, and the web app's language and theme."""
    return PreferencesOut.model_validate(chat_settings.preferences_of(user))


@router.put("/me/preferences", responses={422: {}})
async def put_preferences(
    body: PreferencesIn, user: CurrentUser, session: SessionDep, context: ContextDep
) -> PreferencesOut:
    """Replace the user's preferences (an unknown model, or a capability it lacks, is a 422)."""
    values = body.model_dump()
    catalog = context.llm.models()
    await catalog.available()
    chat_settings.settle(values, [name for name in chat_settings.SETTING_FIELDS if values[name]], catalog)
    user.preferences = values
    await session.commit()
    return PreferencesOut.model_validate(values)
