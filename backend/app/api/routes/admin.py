"""Administration of accounts: list, create, disable/enable, reset a password (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from app.api.deps import AdminUser, SessionDep
from app.models import User
from app.schemas import MAX_ID, AdminPasswordReset, AdminUserCreate, UserOut
from app.services import users

router = APIRouter(prefix="/admin", tags=["admin"], responses={403: {}})


async def get_target_user(user_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: AdminUser, session: SessionDep) -> User:
    target = await session.get(User, user_id)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return target


TargetUser = Annotated[User, Depends(get_target_user)]


@router.get("/users")
async def list_users(
    _: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserOut]:
    """Accounts, oldest first, a page at a time (`limit`, `offset`)."""
    return [UserOut.model_validate(user) for user in await users.list_users(session, limit=limit, offset=offset)]


@router.post("/users", status_code=status.HTTP_201_CREATED, responses={409: {}})
async def create_user(body: AdminUserCreate, _: AdminUser, session: SessionDep) -> UserOut:
    """Create an account (works even when public sign-up is disabled)."""
    return UserOut.model_validate(await users.create_user(session, body.email, body.password, is_admin=body.is_admin))


@router.post("/users/{user_id}/disable", responses={404: {}, 409: {}})
async def disable_user(target: TargetUser, admin: AdminUser, session: SessionDep) -> UserOut:
    """Disable an account: it cannot log in and its tokens stop working at once."""
    if target.id == admin.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "You cannot disable your own account.")
    return UserOut.model_validate(await users.set_active(session, target, False))


@router.post("/users/{user_id}/enable", responses={404: {}})
async def enable_user(target: TargetUser, session: SessionDep) -> UserOut:
    """Enable a disabled account again (it logs in anew: old tokens stay revoked)."""
    return UserOut.model_validate(await users.set_active(session, target, True))


@router.post("/users/{user_id}/password", responses={404: {}, 409: {}})
async def reset_password(
    body: AdminPasswordReset, target: TargetUser, admin: AdminUser, session: SessionDep
) -> UserOut:
    """Set a new password for another account; every token it had stops working."""
    if target.id == admin.id:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "Change your own password with POST /api/auth/password (it asks for the current one).",
        )
    return UserOut.model_validate(await users.set_password(session, target, body.new_password))
