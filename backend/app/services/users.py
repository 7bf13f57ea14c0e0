"""User accounts: sign-up, login, password changes, admin operations."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, exists, insert, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import hash_password_async, verify_password_async
from app.models import Upload, User, utcnow
from app.services.errors import EmailTaken
from app.services.storage import Storage

_USERS = cast(Table, User.__table__)
# Any fixed number: PostgreSQL advisory locks are named by integers.
_FIRST_USER_LOCK = 727_401


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def create_user(session: AsyncSession, email: str, password: str, *, is_admin: bool | None = None) -> User:
    """Create a user; the first user of the instance becomes admin unless told otherwise.

    "First" is decided inside the INSERT itself (`NOT EXISTS (SELECT 1 FROM users)`), so two sign-ups
    racing on an empty database cannot both read "no users yet": SQLite runs the statement under its
    write lock, and PostgreSQL takes an advisory lock first (its snapshots would let both see none).
    """
    email = email.strip().lower()
    if await get_user_by_email(session, email) is not None:
        raise EmailTaken()
    hashed = await hash_password_async(password)
    if is_admin is None and session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_USER_LOCK})
    admin = literal(is_admin) if is_admin is not None else ~exists(select(_USERS.c.id))
    row = select(
        literal(email), literal(hashed), literal(utcnow(), User.created_at.type), admin, literal(True), literal(0)
    )
    statement = insert(_USERS).from_select(
        ["email", "hashed_password", "created_at", "is_admin", "is_active", "token_version"], row
    )
    try:
        user_id = (await session.execute(statement.returning(_USERS.c.id))).scalar_one()
        await session.commit()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        await session.rollback()
        raise EmailTaken() from exc
    user = await session.get(User, user_id)
    assert user is not None
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


async def list_users(
    session: AsyncSession, *, limit: int | None = None, offset: int = 0, search: str | None = None
) -> list[User]:
    """Accounts by id (the primary key's order: a page reads only its own rows); `search`: part of the email."""
    statement = select(User).order_by(User.id).limit(limit).offset(offset)
    if search:
        pattern = search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(User.email.like(f"%{pattern}%", escape="\\"))
    return list(await session.scalars(statement))


async def set_admin(session: AsyncSession, user: User, admin: bool) -> User:
    user.is_admin = admin
    await session.commit()
    return user


async def delete_user(session: AsyncSession, storage: Storage, user: User) -> None:
    """Delete the account and everything it owns (the database cascades; the files go after the commit)."""
    keys = list(await session.scalars(select(Upload.storage_key).where(Upload.user_id == user.id)))
    await session.delete(user)
    await session.commit()
    if keys:  # a file left by a failed delete is swept as an orphan by the uploads cleanup
        await storage.delete(keys)
