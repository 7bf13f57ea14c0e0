"""Sign-up, login and the current user's account."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from app.api.deps import ContextDep, CurrentUser, SessionDep, client_ip
from app.context import AppContext
from app.core.security import create_access_token, verify_password_async
from app.models import User
from app.schemas import LoginIn, PasswordChangeIn, RegisterIn, TokenOut, UserOut
from app.services import users
from app.services.errors import SignupClosed

router = APIRouter(prefix="/auth", tags=["auth"])


def issue_token(context: AppContext, user: User) -> TokenOut:
    token = create_access_token(user.id, user.token_version, context.signing_key, context.settings.token_ttl_days)
    return TokenOut(access_token=token.token, expires_at=token.expires_at)


@router.post("/register", status_code=status.HTTP_201_CREATED, responses={403: {}, 409: {}})
async def register(body: RegisterIn, context: ContextDep, session: SessionDep) -> UserOut:
    """Create an account; the first account becomes the administrator."""
    if not (await context.runtime.current(session)).allow_signup:  # an admin may have closed it at run time
        raise SignupClosed()
    return UserOut.model_validate(await users.create_user(session, body.email, body.password))


@router.post("/login", responses={401: {}, 429: {}})
async def login(body: LoginIn, request: Request, context: ContextDep, session: SessionDep) -> TokenOut:
    """Exchange email and password for an access token."""
    email, ip = body.email.lower(), client_ip(request)
    await context.limits.check_login(email, ip)
    user = await users.authenticate(session, email, body.password)
    if user is None:
        await context.limits.record_failed_login(email, ip)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return issue_token(context, user)


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    """The account the token belongs to."""
    return UserOut.model_validate(user)


@router.post("/password", responses={400: {}})
async def change_password(
    body: PasswordChangeIn, user: CurrentUser, context: ContextDep, session: SessionDep
) -> TokenOut:
    """Change the password; every older token stops working and a fresh one is returned."""
    if not await verify_password_async(body.current_password, user.hashed_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The current password is incorrect.")
    await users.set_password(session, user, body.new_password)
    return issue_token(context, user)
