"""API models (request and response bodies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator


class StrictModel(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a clear 422 instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")


class OrmModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _lower(value: str) -> str:
    return value.lower()


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold it: a clear 422 instead of a database error
        raise ValueError("must not contain the NUL character (\\u0000)")
    return value


NoNul = AfterValidator(_no_nul)


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no database can store it
        raise ValueError("must be valid Unicode text") from None
    return value


# Constrained strings refuse lone surrogates by themselves; a plain `str` needs this.
Encodable = AfterValidator(_encodable)


Email = Annotated[EmailStr, AfterValidator(_lower)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
MAX_ID = 2**31 - 1  # ids are INTEGER on PostgreSQL; a larger one is a clear 422, not a database error


# Auth
class RegisterIn(StrictModel):
    email: Email
    password: Password


class LoginIn(StrictModel):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320), NoNul]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class PasswordChangeIn(StrictModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class UserOut(OrmModel):
    id: int
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - not a secret
    expires_at: datetime


# Chat settings (a conversation's, a user's defaults, a preset's)
SYSTEM_PROMPT_MAX_CHARS = 8_000
ModelId = Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]
SystemPrompt = Annotated[str, StringConstraints(max_length=SYSTEM_PROMPT_MAX_CHARS), NoNul]
# strict: JSON's true/false or "1" is a clear 422, not a temperature of 1 or a flag turned on
Temperature = Annotated[float, Field(ge=0, le=2, strict=True)]
Flag = Annotated[bool, Field(strict=True)]


class ChatSettingsIn(StrictModel):
    """Each field left out keeps its value (PATCH) or takes the default (POST); null resets it."""

    model: ModelId | None = None  # an id from GET /api/models
    system_prompt: SystemPrompt | None = None  # the persona; null: the server's SYSTEM_PROMPT
    temperature: Temperature | None = None  # null: the model's own default
    web_search: Flag | None = None
    thinking: Flag | None = None


class CapabilitiesOut(BaseModel):
    vision: bool
    web_search: bool
    thinking: bool


class ModelOut(BaseModel):
    id: str
    provider: str
    label: str
    capabilities: CapabilitiesOut
    default: bool


# Conversations
class NewConversationSettings(ChatSettingsIn):
    # Start from a preset: its settings are copied in (the fields given here win over them).
    preset_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ConversationCreate(NewConversationSettings):
    title: Title | None = None


class ConversationUpdate(ChatSettingsIn):
    title: Title | None = None


class ConversationOut(OrmModel):
    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    generating: bool = False  # a reply is being written in it now (GET .../stream follows it)
    model: str | None = None  # null: the server's default model
    system_prompt: str | None = None
    temperature: float | None = None
    web_search: bool = False
    thinking: bool = False


class StopOut(BaseModel):
    stopped: bool  # false: no reply was being generated


# Preferences (GET/PUT /api/me/preferences)
class PreferencesIn(StrictModel):
    model: ModelId | None = None
    system_prompt: SystemPrompt | None = None
    temperature: Temperature | None = None
    web_search: Flag = False
    thinking: Flag = False
    language: Literal["en", "pt-BR"] | None = None  # null: the browser's
    theme: Literal["system", "light", "dark"] = "system"


class PreferencesOut(PreferencesIn):
    pass


# Presets
PresetName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]


class PresetIn(StrictModel):
    name: PresetName
    system_prompt: SystemPrompt
    model: ModelId | None = None
    temperature: Temperature | None = None
    web_search: Flag | None = None
    thinking: Flag | None = None
    shared: Flag = False  # administrators only: every user sees it


class PresetUpdate(StrictModel):
    name: PresetName | None = None
    system_prompt: SystemPrompt | None = None
    model: ModelId | None = None
    temperature: Temperature | None = None
    web_search: Flag | None = None
    thinking: Flag | None = None
    shared: Flag | None = None


class PresetOut(OrmModel):
    id: int
    name: str
    system_prompt: str
    model: str | None
    temperature: float | None
    web_search: bool | None
    thinking: bool | None
    shared: bool
    mine: bool = False  # the current user's own (they may edit or delete it)
    created_at: datetime
    updated_at: datetime


class ConversationListItem(ConversationOut):
    # Set when the list answers a search (`q`): the best-matching message and its text around
    # the match, HTML-escaped with the matched words in <mark> (null when only the title matches).
    message_id: int | None = None
    snippet: str | None = None


class ConversationPage(BaseModel):
    items: list[ConversationListItem]
    total: int


class SiblingsOut(OrmModel):
    ids: list[int]  # every message with the same parent, oldest first, this one included
    index: int  # this message's position in `ids`


class AttachmentOut(OrmModel):
    """A file sent with a message (its bytes: GET /api/uploads/{id})."""

    id: int
    name: str
    mime_type: str
    size: int


class SourceOut(BaseModel):
    title: str
    url: str


class CitationOut(BaseModel):
    start: int
    end: int
    sources: list[int]


class MessageOut(OrmModel):
    id: int
    conversation_id: int
    parent_id: int | None
    role: Literal["user", "assistant"]
    content: str
    status: Literal["complete", "incomplete"]
    created_at: datetime
    siblings: SiblingsOut
    attachments: list[AttachmentOut] = []  # in the order they were sent; only user messages have any
    # Assistant messages: the model that wrote the reply and what it cost (null on user messages
    # and on replies stored before these were recorded); `tokens_estimated` when the provider gave
    # no counts and they were approximated (~4 characters a token).
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_estimated: bool | None = None
    # Thinking: the model's thought summary (never part of `content`, never sent back to it) and
    # how long it thought. Grounding: the pages cited, the spans of `content` citing them
    # (character offsets, indices into `sources`) and Google's search suggestions (HTML to show
    # in a sandboxed frame, never in the page).
    reasoning: str | None = None
    reasoning_ms: int | None = None
    sources: list[SourceOut] = []
    citations: list[CitationOut] = []
    search_entry_point: str | None = None


class TreeNodeOut(OrmModel):
    id: int
    parent_id: int | None
    role: Literal["user", "assistant"]
    status: Literal["complete", "incomplete"]
    created_at: datetime


class TreeOut(BaseModel):
    active_message_id: int | None
    items: list[TreeNodeOut]
    has_more: bool  # more nodes after the last one (page on with `after_id`)


class ActiveIn(StrictModel):
    message_id: int = Field(ge=1, le=MAX_ID)


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool


# Search
class SearchHitOut(BaseModel):
    conversation_id: int
    conversation_title: str
    message_id: int
    role: Literal["user", "assistant"]
    snippet: str  # HTML-escaped text around the match, the matched words in <mark>
    created_at: datetime


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    has_more: bool


# Chat
class ChatIn(StrictModel):
    conversation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    # The length cap is checked against MAX_MESSAGE_CHARS in a dependency (it is a setting), and
    # so is emptiness: a message may be only its attachments.
    message: Annotated[str, NoNul, Encodable]
    # Absent: answer under the conversation's active leaf. Given: the new message's parent (an
    # assistant message of that conversation, or null for a new first message): that is an edit.
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    # Uploads to send with the message (own, not sent before); at most UPLOADS_PER_MESSAGE.
    attachment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=100)
    # Without `conversation_id`: the new conversation's settings (as POST /api/conversations takes them).
    settings: NewConversationSettings | None = None

    @model_validator(mode="after")
    def _text_or_files(self) -> ChatIn:
        # In the model, not a dependency: a body error must not answer before authentication does.
        if not self.message.strip() and not self.attachment_ids:
            raise ValueError("The message is empty.")
        if self.settings is not None and self.conversation_id is not None:
            raise ValueError("`settings` are for a new conversation; change an existing one with PATCH.")
        self.attachment_ids = list(dict.fromkeys(self.attachment_ids))  # an id given twice counts once
        return self

    @property
    def parent_given(self) -> bool:
        return "parent_id" in self.model_fields_set


class RegenerateIn(StrictModel):
    # An assistant message to answer again (a new sibling), or a user message (its text edited with
    # `message`, or answered again); absent: the active leaf's question.
    message_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    message: Annotated[str, StringConstraints(min_length=1), NoNul] | None = None


class ChatOut(BaseModel):
    conversation_id: int
    user_message: MessageOut
    assistant_message: MessageOut


class HealthOut(BaseModel):
    status: Literal["ok", "error"]
    database: Literal["ok", "error"]
    llm_provider: str
    llm_model: str
    allow_signup: bool
    allow_sharing: bool
    allow_api_keys: bool
    warnings: list[str]


# Administration
class AdminUserCreate(StrictModel):
    email: Email
    password: Password
    is_admin: bool = False


class AdminPasswordReset(StrictModel):
    new_password: Password


class AdminUserUpdate(StrictModel):
    is_admin: bool


Quota = Annotated[int, Field(ge=0, le=10**12, strict=True)]  # strict: "5" or 5.0 is a clear 422


class RuntimeSettingsIn(StrictModel):
    """The settings to change; a field set to null goes back to the environment's value, one left out stays."""

    allow_signup: Annotated[bool, Field(strict=True)] | None = None
    user_daily_messages: Quota | None = None
    user_daily_tokens: Quota | None = None
    user_monthly_tokens: Quota | None = None


class RuntimeSettingsOut(BaseModel):
    allow_signup: bool
    user_daily_messages: int  # 0: no quota
    user_daily_tokens: int
    user_monthly_tokens: int
    overridden: list[str]  # the keys set at run time (the others follow the environment)
    environment: dict[str, bool | int]  # what the environment says, for each key


class UsageRowOut(OrmModel):
    key: str  # the day (YYYY-MM-DD), the user's email, or the model ("(titles)": title generation)
    user_id: int | None
    messages: int  # per day/user: turns; per model: replies
    input_tokens: int
    output_tokens: int
    title_input_tokens: int
    title_output_tokens: int
    cost_usd: float | None  # from MODEL_PRICES; null when no price is known


class UsageReportOut(BaseModel):
    start: date
    end: date
    group: Literal["day", "user", "model"]
    rows: list[UsageRowOut]
    total: UsageRowOut


class UsageOut(BaseModel):
    daily_messages_used: int
    daily_message_limit: int | None  # None: no quota on this server
    resets_at: datetime  # the daily counts (messages, tokens) start again then
    tokens_today: int  # replies' and generated titles' tokens (input + output)
    tokens_this_month: int
    daily_token_limit: int | None
    monthly_token_limit: int | None
    month_resets_at: datetime


# Share links
class ShareOut(BaseModel):
    share_id: str
    url: str  # the web app's page for the link: {PUBLIC_URL or this server}/s/{share_id}
    created_at: datetime
    updated_at: datetime  # when the snapshot was last taken (refreshed)


class ShareListItem(ShareOut):
    conversation_id: int
    title: str  # the conversation's current title


class SharedMessageOut(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime


class SharedConversationOut(BaseModel):
    """What anyone with the link sees: no email, no user, conversation or message ids."""

    title: str
    messages: list[SharedMessageOut]
    created_at: datetime
    updated_at: datetime


# Personal API keys
class ApiKeyCreate(StrictModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]


class ApiKeyOut(OrmModel):
    id: int
    name: str
    prefix: str  # the first characters of the key, to recognise it
    created_at: datetime
    last_used_at: datetime | None  # updated at most once a minute


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown this once: only its hash is stored


# Uploads
class UploadOut(OrmModel):
    id: int
    name: str
    mime_type: str
    size: int
    created_at: datetime
