"""User accounts: sign-up, login, password changes, admin operations."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import hash_password_async, verify_password_async
from app.models import User


class EmailTakenError(Exception):
    pass


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def create_user(session: AsyncSession, email: str, password: str, *, is_admin: bool | None = None) -> User:
    """Create a user; the first user of the instance becomes admin unless told otherwise."""
    email = email.strip().lower()
    if await get_user_by_email(session, email) is not None:
        raise EmailTakenError(email)
    if is_admin is None:
        is_admin = (await session.scalar(select(func.count()).select_from(User))) == 0
    user = User(email=email, hashed_password=await hash_password_async(password), is_admin=is_admin)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        await session.rollback()
        raise EmailTakenError(email) from exc
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user when email and password match and the account is active; same work either way."""
    user = await get_user_by_email(session, email)
    valid = await verify_password_async(password, user.hashed_password if user else None)
    if user is None or not valid or not user.is_active:
        return None
    return user


async def set_password(session: AsyncSession, user: User, new_password: str) -> User:
    """Change the password and revoke every token issued before."""
    user.hashed_password = await hash_password_async(new_password)
    user.token_version += 1
    await session.commit()
    return user


async def set_active(session: AsyncSession, user: User, active: bool) -> User:
    user.is_active = active
    if not active:
        user.token_version += 1
    await session.commit()
    return user


async def list_users(session: AsyncSession, *, limit: int | None = None, offset: int = 0) -> list[User]:
    """Accounts by id (the primary key's order: a page reads only its own rows)."""
    return list(await session.scalars(select(User).order_by(User.id).limit(limit).offset(offset)))
