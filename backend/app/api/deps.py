"""Request dependencies: the database session, the current user, owned resources, validators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.core.security import InvalidTokenError, TokenClaims, decode_access_token
from app.models import Conversation, Upload, User
from app.schemas import MAX_ID, ChatIn, RegenerateIn
from app.services import api_keys
from app.services.admissions import AdmissionTicket
from app.services.storage import Storage, storage_for


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
    return await user_from_access_token(context, session, credentials.credentials)


def _claims(context: AppContext, token: str) -> TokenClaims:
    try:
        return decode_access_token(token, context.signing_key)
    except InvalidTokenError as exc:
        raise _unauthorized(str(exc)) from exc


def _active(user: User | None, claims: TokenClaims) -> User:
    if user is None or not user.is_active:
        raise _unauthorized("This account no longer exists or is disabled.")
    if claims.token_version != user.token_version:
        raise _unauthorized("This token was revoked (the password changed). Please log in again.")
    return user


# Built once: session.get() builds, clones and keys a new SELECT on every call (~3% of the event
# loop's CPU while a burst of new chats was admitted, py-spy --gil); this one's key is computed once.
_USER = select(User).where(User.id == bindparam("uid"))


async def load_user(session: AsyncSession, user_id: int) -> User | None:
    return (await session.execute(_USER, {"uid": user_id})).scalar_one_or_none()


async def user_from_access_token(context: AppContext, session: AsyncSession, token: str) -> User:
    """The active user a JWT of the web app names, or 401."""
    claims = _claims(context, token)
    return _active(await load_user(session, claims.user_id), claims)


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


def _check_length(context: AppContext, text: str, *, may_be_empty: bool = False) -> None:
    limit = context.settings.max_message_chars
    if len(text) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The message is too long ({len(text)} characters); the limit is {limit}.",
        )
    if not may_be_empty and not text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "The message is empty.")


async def get_regenerate_input(context: ContextDep, body: RegenerateIn | None = None) -> RegenerateIn:
    body = body or RegenerateIn()
    if body.message is not None:
        _check_length(context, body.message)
    return body


ValidRegenerateIn = Annotated[RegenerateIn, Depends(get_regenerate_input)]


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
    """Server state, per-user rate limit and daily quota, checked before anything is stored."""
    await enforce_chat_limits(context, session, user)
    return user


async def enforce_chat_limits(context: AppContext, session: AsyncSession, user: User) -> None:
    """Server stopping, model capacity, the user's rate limit and daily quota (AppError when refused)."""
    context.chat.ensure_accepting()
    await context.limits.hit_chat(user.id)
    await context.chat.check_quota(session, user)


ChattingUser = Annotated[User, Depends(chat_allowed)]


@dataclass(slots=True)
class ChatCall:
    """What a new chat turn's route needs, from one dependency (`chat_call`); the route enters it
    (`async with call:`) for its session and its admission ticket, both ended when it leaves.

    The hot path of a burst of new chats: FastAPI resolves every dependency node per request, and
    the nine nodes the other routes compose (context, session, admission, bearer, user, limits,
    input) plus a separate conversation read measured 3.5-5.0 ms of CPU from request to first token
    against 3.0-3.3 ms this way (alternating bench/profile_turn.py runs, 9 -> 8 SQL statements).
    Entered in the route rather than yielded by a generator dependency: FastAPI wraps each of those
    in an exit stack, a cancel scope and two context managers (bench/instructions.py: 16.51 -> 16.28
    M instructions per new-chat turn).
    """

    context: AppContext
    claims: TokenClaims
    session: AsyncSession = field(init=False)
    ticket: AdmissionTicket = field(init=False)

    async def __aenter__(self) -> ChatCall:
        self.ticket = self.context.chat.admissions.ticket()  # first: a burst queues on the user lookup
        self.session = self.context.sessionmaker()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            await self.session.__aexit__(exc_type, exc, traceback)  # its close, shielded from cancellation
        finally:
            self.ticket.done()

    async def admit(self, body: ChatIn) -> tuple[User, Conversation | None]:
        """The active user (401), the chat limits (AppError), their conversation when the body names
        one (404), then the message's length (413): in that order, before anything is stored."""
        user_id = self.claims.user_id
        conversation: Conversation | None = None
        if body.conversation_id is None:
            user = _active(await load_user(self.session, user_id), self.claims)
        else:
            params = {"uid": user_id, "cid": body.conversation_id}
            row = (await self.session.execute(_USER_AND_CONVERSATION, params)).first()
            user = _active(row[0] if row is not None else None, self.claims)
            conversation = row[1] if row is not None else None
        # The limits count a request for a missing conversation too (probing ids costs the budget).
        await enforce_chat_limits(self.context, self.session, user)
        if body.conversation_id is not None and conversation is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Conversation not found")
        _check_length(self.context, body.message, may_be_empty=True)  # ChatIn refuses it empty unless it has files
        return user, conversation


# The user, and their conversation only when it is theirs (another user's id reads as missing: 404).
_USER_AND_CONVERSATION = (
    select(User, Conversation)
    .outerjoin(Conversation, (Conversation.id == bindparam("cid")) & (Conversation.user_id == User.id))
    .where(User.id == bindparam("uid"))
)


async def chat_call(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> ChatCall:
    """A chat turn's context with the token checked (401, no query); the route enters it."""
    context: AppContext = request.app.state.context
    if credentials is None:
        raise _unauthorized("Not authenticated: send the header 'Authorization: Bearer <token>'.")
    return ChatCall(context, _claims(context, credentials.credentials))


ChatCallDep = Annotated[ChatCall, Depends(chat_call)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_api_user(
    context: ContextDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    """Callers of /v1: a personal API key (`Bearer cv-...`) or the web app's own token."""
    if credentials is None:
        raise _unauthorized("Not authenticated: send the header 'Authorization: Bearer <API key>'.")
    token = credentials.credentials
    if not api_keys.looks_like_key(token):
        return await user_from_access_token(context, session, token)
    if not context.settings.allow_api_keys:
        raise _unauthorized("API keys are turned off on this server.")
    user = await api_keys.authenticate_key(session, token)
    if user is None:
        raise _unauthorized("Invalid API key: unknown or revoked, or its account is disabled.")
    return user


ApiUser = Annotated[User, Depends(get_api_user)]


def sharing_enabled(context: ContextDep) -> None:
    if not context.settings.allow_sharing:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Sharing is turned off on this server.")


def api_keys_enabled(context: ContextDep) -> None:
    if not context.settings.allow_api_keys:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "API keys are turned off on this server.")
