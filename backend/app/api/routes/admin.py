"""Administration (admins only; every call is 403 for anyone else): accounts, usage, run-time settings."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response, status
from pydantic import BeforeValidator

from app.api.deps import AdminUser, ContextDep, SessionDep, StorageDep
from app.models import User
from app.schemas import (
    MAX_ID,
    AdminPasswordReset,
    AdminUserCreate,
    AdminUserUpdate,
    RuntimeSettingsIn,
    RuntimeSettingsOut,
    UsageReportOut,
    UserOut,
)
from app.services import usage, users
from app.services.runtime_settings import RuntimeValues, from_environment
from app.services.usage_report import MAX_DAYS, build_report, report_csv

router = APIRouter(prefix="/admin", tags=["admin"], responses={403: {}})
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: object) -> object:
    """Only YYYY-MM-DD (pydantic alone would read `0` as a Unix time)."""
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(iso_day)]


async def get_target_user(user_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: AdminUser, session: SessionDep) -> User:
    target = await session.get(User, user_id)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return target


TargetUser = Annotated[User, Depends(get_target_user)]


def not_yourself(target: User, admin: User, what: str) -> None:
    if target.id == admin.id:
        raise HTTPException(status.HTTP_409_CONFLICT, f"You cannot {what} your own account.")


@router.get("/users")
async def list_users(
    _: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    q: Annotated[str | None, Query(max_length=320, pattern=r"^[^\x00]*$", description="part of the email")] = None,
) -> list[UserOut]:
    """Accounts, oldest first, a page at a time (`limit`, `offset`); `q` keeps those whose email contains it."""
    found = await users.list_users(session, limit=limit, offset=offset, search=q)
    return [UserOut.model_validate(user) for user in found]


@router.post("/users", status_code=status.HTTP_201_CREATED, responses={409: {}})
async def create_user(body: AdminUserCreate, _: AdminUser, session: SessionDep) -> UserOut:
    """Create an account (works even when public sign-up is disabled)."""
    return UserOut.model_validate(await users.create_user(session, body.email, body.password, is_admin=body.is_admin))


@router.patch("/users/{user_id}", responses={404: {}, 409: {}})
async def update_user(body: AdminUserUpdate, target: TargetUser, admin: AdminUser, session: SessionDep) -> UserOut:
    """Make an account an administrator, or take it back (not your own: there must stay one)."""
    not_yourself(target, admin, "change the role of")
    return UserOut.model_validate(await users.set_admin(session, target, body.is_admin))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}, 409: {}})
async def delete_user(target: TargetUser, admin: AdminUser, session: SessionDep, storage: StorageDep) -> Response:
    """Delete an account with all its data: conversations, messages, files, share links, API keys, usage."""
    not_yourself(target, admin, "delete")
    await users.delete_user(session, storage, target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users/{user_id}/disable", responses={404: {}, 409: {}})
async def disable_user(target: TargetUser, admin: AdminUser, session: SessionDep) -> UserOut:
    """Disable an account: it cannot log in and its tokens stop working at once."""
    not_yourself(target, admin, "disable")
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


@router.get(
    "/usage",
    response_model=UsageReportOut,
    responses={200: {"content": {"text/csv": {}}}, 422: {}},
)
async def usage_report(
    _: AdminUser,
    context: ContextDep,
    session: SessionDep,
    start: Annotated[Day | None, Query(alias="from", description="first UTC day (default: `to` - 29)")] = None,
    end: Annotated[Day | None, Query(alias="to", description="last UTC day, included (default: today)")] = None,
    group: Literal["day", "user", "model"] = "day",
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv, or send Accept: text/csv")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> UsageReportOut | Response:
    """Messages, input and output tokens (titles apart) and the estimated cost (MODEL_PRICES) per day,
    user or model over a date range, as JSON or CSV."""
    end = end or usage.today()
    start = start or end - timedelta(days=29)
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`from` must be on or before `to`.")
    if (end - start).days >= MAX_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"The range may span at most {MAX_DAYS} days.")
    prices = context.settings.model_prices
    report = await build_report(session, start, end, group, prices, context.llm.model_name)
    wants_csv = format == "csv" or (format is None and accept is not None and "text/csv" in accept)
    if wants_csv:
        name = f"conversa-usage-{group}-{start}-{end}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return UsageReportOut.model_validate(report, from_attributes=True)


def settings_out(values: RuntimeValues, environment: RuntimeValues) -> RuntimeSettingsOut:
    return RuntimeSettingsOut(
        **values.as_dict(), overridden=sorted(values.overridden), environment=environment.as_dict()
    )


@router.get("/settings")
async def get_runtime_settings(_: AdminUser, context: ContextDep, session: SessionDep) -> RuntimeSettingsOut:
    """Sign-up and quotas in force, which were changed at run time, and the environment's values."""
    return settings_out(await context.runtime.current(session), from_environment(context.settings))


@router.put("/settings", responses={422: {}})
async def put_runtime_settings(
    body: RuntimeSettingsIn, admin: AdminUser, context: ContextDep, session: SessionDep
) -> RuntimeSettingsOut:
    """Change sign-up or quotas at once, overriding the environment (null: back to it); each change is logged."""
    changes = {key: getattr(body, key) for key in type(body).model_fields if key in body.model_fields_set}
    runtime = context.runtime
    values = await runtime.update(session, changes, admin.email) if changes else await runtime.current(session)
    return settings_out(values, from_environment(context.settings))
