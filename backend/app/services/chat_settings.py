"""Chat settings: a conversation's model, persona, temperature, web search and thinking.

A new conversation takes, field by field, what the request gives, else its preset's, else the
user's preferences, else the server's defaults. What the request asks for explicitly is checked
(an unknown model, or a capability the model lacks, is a 422 naming what is allowed); a default
the chosen model cannot honour is dropped quietly (web search on by preference, local model).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from app.core.errors import AppError
from app.llm.models import ModelCatalog, ModelInfo
from app.llm.types import ReplySettings
from app.models import Conversation, Preset, User

SETTING_FIELDS = ("model", "system_prompt", "temperature", "web_search", "thinking")
PREFERENCE_DEFAULTS: dict[str, Any] = {
    "model": None,
    "system_prompt": None,
    "temperature": None,
    "web_search": False,
    "thinking": False,
    "language": None,
    "theme": "system",
}
CAPABILITY_NAMES = {"web_search": "search the web", "thinking": "think before answering"}


class UnknownModel(AppError):
    code = "unknown_model"
    status_code = 422
    default_message = "This server does not offer that model."


class MissingCapability(AppError):
    code = "model_capability"
    status_code = 422
    default_message = "The model cannot do that."


def server_defaults() -> dict[str, Any]:
    return {name: PREFERENCE_DEFAULTS[name] for name in SETTING_FIELDS}


def preferences_of(user: User) -> dict[str, Any]:
    """The user's preferences, every field present (the stored ones over the defaults)."""
    stored = user.preferences or {}
    return {name: stored.get(name, default) for name, default in PREFERENCE_DEFAULTS.items()}


def settle(values: dict[str, Any], explicit: Collection[str], catalog: ModelCatalog) -> dict[str, Any]:
    """Check `values` against the models offered: raise for what was asked explicitly, drop the rest."""
    for name in ("web_search", "thinking"):
        if name in values:
            values[name] = bool(values[name])  # null: off
    if "system_prompt" in values and not (values["system_prompt"] or "").strip():
        values["system_prompt"] = None  # a blank persona is the server's default one
    model = values.get("model")
    if model is not None and catalog.get(model) is None:
        if "model" in explicit:
            offered = ", ".join(info.id for info in catalog.known())
            raise UnknownModel(f"Unknown model {model!r}. This server offers: {offered}.")
        values["model"] = None
    info = catalog.resolve(values.get("model"))
    for capability, doing in CAPABILITY_NAMES.items():
        if values.get(capability) and not getattr(info, capability):
            if capability in explicit:
                able = ", ".join(m.id for m in catalog.known() if getattr(m, capability)) or "none on this server"
                raise MissingCapability(
                    f"The model {info.id!r} cannot {doing} ({capability}). Models that can: {able}."
                )
            values[capability] = False
    return values


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: fields[name] for name in SETTING_FIELDS if name in fields}


def new_conversation_settings(
    user: User, catalog: ModelCatalog, given: Mapping[str, Any] | None = None, preset: Preset | None = None
) -> dict[str, Any]:
    """The settings of a new conversation: `given` (the request's fields) over the preset's over the
    user's preferences over the server's."""
    values = server_defaults()
    preferences = preferences_of(user)
    for name in SETTING_FIELDS:
        if preferences[name] is not None:
            values[name] = preferences[name]
    if preset is not None:
        for name in SETTING_FIELDS:
            value = getattr(preset, name)
            if value is not None:
                values[name] = value
    explicit = _given(given or {})
    values.update(explicit)
    return settle(values, explicit.keys(), catalog)


def changed_settings(conversation: Conversation, catalog: ModelCatalog, given: Mapping[str, Any]) -> dict[str, Any]:
    """A conversation's settings after a PATCH of `given`."""
    values = {name: getattr(conversation, name) for name in SETTING_FIELDS}
    explicit = _given(given)
    values.update(explicit)
    return settle(values, explicit.keys(), catalog)


def reply_settings(conversation: Conversation | Mapping[str, Any]) -> ReplySettings:
    """What a turn of the conversation uses (read from its row: no query)."""
    if isinstance(conversation, Conversation):
        return ReplySettings(
            conversation.model,
            conversation.system_prompt,
            conversation.temperature,
            bool(conversation.web_search),
            bool(conversation.thinking),
        )
    return ReplySettings(
        conversation.get("model"),
        conversation.get("system_prompt"),
        conversation.get("temperature"),
        bool(conversation.get("web_search")),
        bool(conversation.get("thinking")),
    )


def model_out(info: ModelInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "provider": info.provider,
        "label": info.label,
        "capabilities": {"vision": info.vision, "web_search": info.web_search, "thinking": info.thinking},
        "default": info.default,
    }
