"""Request dependencies: the database session, the current user, owned resources, validators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import AppContext
from app.core.security import InvalidTokenError, decode_access_token
from app.llm import LLMBusy
from app.models import Conversation, Upload, User, utcnow
from app.schemas import MAX_ID, ChatIn, RegenerateIn
from app.services.admissions import AdmissionTicket
from app.services.ratelimit import RateLimited
from app.services.storage import Storage, storage_for
from app.services.usage import next_reset


async def get_context(request: Request) -> AppContext:  # async: a plain def would run in the thread pool
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with context.sessionmaker() as session:
        yield session


# scope="function": the session (and its pooled connection) is released when the endpoint
# returns, not when a long streamed response ends.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
bearer_scheme = HTTPBearer(auto_error=False, description="The access token from POST /api/auth/login")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    context: ContextDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    if credentials is None:
        raise _unauthorized("Not authenticated: send the header 'Authorization: Bearer <token>'.")
    try:
        claims = decode_access_token(credentials.credentials, context.signing_key)
    except InvalidTokenError as exc:
        raise _unauthorized(str(exc)) from exc
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise _unauthorized("This account no longer exists or is disabled.")
    if claims.token_version != user.token_version:
        raise _unauthorized("This token was revoked (the password changed). Please log in again.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only an administrator can do this.")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


async def load_owned_conversation(session: AsyncSession, user: User, conversation_id: int) -> Conversation:
    """The user's conversation, or 404 (never 403: no existence leak) — whether the id is in the path or the body."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Conversation not found")
    return conversation


async def get_owned_conversation(
    conversation_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: SessionDep
) -> Conversation:
    return await load_owned_conversation(session, user, conversation_id)


OwnedConversation = Annotated[Conversation, Depends(get_owned_conversation)]


async def get_storage(context: ContextDep) -> Storage:
    return storage_for(context.settings)


StorageDep = Annotated[Storage, Depends(get_storage)]


async def get_owned_upload(
    upload_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: SessionDep
) -> Upload:
    upload = await session.get(Upload, upload_id)
    if upload is None or upload.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "File not found")
    return upload


OwnedUpload = Annotated[Upload, Depends(get_owned_upload)]


def _check_length(context: AppContext, text: str) -> None:
    limit = context.settings.max_message_chars
    if len(text) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The message is too long ({len(text)} characters); the limit is {limit}.",
        )
    if not text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The message is empty.")


async def get_chat_input(body: ChatIn, context: ContextDep) -> ChatIn:
    _check_length(context, body.message)
    return body


async def get_regenerate_input(context: ContextDep, body: RegenerateIn | None = None) -> RegenerateIn:
    body = body or RegenerateIn()
    if body.message is not None:
        _check_length(context, body.message)
    return body


ValidChatIn = Annotated[ChatIn, Depends(get_chat_input)]
ValidRegenerateIn = Annotated[RegenerateIn, Depends(get_regenerate_input)]


def rate_limited(exc: RateLimited) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, exc.message, headers={"Retry-After": str(exc.retry_after)})


async def admit(context: ContextDep) -> AsyncIterator[AdmissionTicket]:
    """Count this chat request as being admitted (replies already streaming yield to it) until it is ready."""
    ticket = context.chat.admissions.ticket()
    try:
        yield ticket
    finally:
        ticket.done()


# scope="function": admission ends when the endpoint returns, before a streamed reply starts.
Admitting = Annotated[AdmissionTicket, Depends(admit, scope="function")]


# `_ticket` comes first so admission starts before the user is loaded (where a burst queues).
async def chat_allowed(_ticket: Admitting, context: ContextDep, user: CurrentUser, session: SessionDep) -> User:
    """Per-user rate limit and daily quota, checked before anything is stored."""
    from app.services.chat import DailyQuotaExceeded

    if context.chat.stopping.is_set():
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The server is restarting. Please try again in a moment.",
            headers={"Retry-After": "5"},
        )
    try:
        context.llm.ensure_capacity()
    except LLMBusy as exc:
        raise HTTPException(exc.status_code, exc.message, headers={"Retry-After": "5"}) from exc
    try:
        await context.limits.hit_chat(user.id)
        await context.chat.check_quota(session, user)
    except RateLimited as exc:
        raise rate_limited(exc) from exc
    except DailyQuotaExceeded as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"You reached your daily limit of {exc.args[0]} messages. It resets at midnight (UTC).",
            headers={"Retry-After": str(_seconds_to_midnight())},
        ) from exc
    return user


def _seconds_to_midnight() -> int:
    return max(1, int((next_reset() - utcnow()).total_seconds()))


ChattingUser = Annotated[User, Depends(chat_allowed)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
