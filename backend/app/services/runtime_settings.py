"""Settings an administrator may change while the server runs: sign-up open or closed, and the quotas.

A value stored in `app_settings` overrides the environment; removing it (null) goes back to the
environment's. Each process keeps the values for TTL_S seconds, so a turn's quota check reads no
settings row: a change is seen at once by the instance that made it and within TTL_S by the others.
Every change writes one audit line in the log (who, which key, from what to what).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.models import AppSetting, utcnow
from app.services.quotas import Quotas

logger = logging.getLogger("app.audit")
TTL_S = 5.0
# The keys that may change at run time, and their type (each is also an environment setting).
KEYS: dict[str, type] = {
    "allow_signup": bool,
    "user_daily_messages": int,
    "user_daily_tokens": int,
    "user_monthly_tokens": int,
}


@dataclass(frozen=True, slots=True)
class RuntimeValues:
    allow_signup: bool
    user_daily_messages: int
    user_daily_tokens: int
    user_monthly_tokens: int
    overridden: frozenset[str] = frozenset()  # the keys set in the database (the others: the environment)

    @property
    def quotas(self) -> Quotas:
        return Quotas(self.user_daily_messages, self.user_daily_tokens, self.user_monthly_tokens)

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in KEYS}


def from_environment(settings: Settings) -> RuntimeValues:
    return RuntimeValues(**{key: getattr(settings, key) for key in KEYS})


@dataclass
class RuntimeSettings:
    sessionmaker: async_sessionmaker[AsyncSession] | None
    settings: Settings
    ttl_s: float = TTL_S
    _values: RuntimeValues | None = None
    _loaded_at: float = 0.0
    _refreshing: bool = field(default=False, repr=False)

    async def current(self, session: AsyncSession | None = None) -> RuntimeValues:
        """The values in force: from the cache while it is fresh (no query on a turn's hot path).

        Pass the caller's `session` when it holds one: a stale cache is then read through it, never
        through a second pooled connection (a burst of requests each holding one, all waiting for
        one more, would exhaust the pool). While one caller refreshes, the others keep the old values.
        """
        values = self._values
        if values is not None and (self._refreshing or time.monotonic() - self._loaded_at < self.ttl_s):
            return values
        if session is None and self.sessionmaker is None:  # nothing to read with: the last values known
            return values if values is not None else from_environment(self.settings)
        self._refreshing = True
        try:
            if session is not None:
                loaded = await self._load(session)
            else:
                assert self.sessionmaker is not None
                async with self.sessionmaker() as own:
                    loaded = await self._load(own)
        finally:
            self._refreshing = False
        self._values, self._loaded_at = loaded, time.monotonic()
        return loaded

    async def _load(self, session: AsyncSession) -> RuntimeValues:
        values = from_environment(self.settings)
        stored = {row.key: row.value for row in await session.scalars(select(AppSetting))}
        known = {key: KEYS[key](value) for key, value in stored.items() if key in KEYS}
        return replace(values, **known, overridden=frozenset(known))

    async def update(self, session: AsyncSession, changes: dict[str, Any], by: str) -> RuntimeValues:
        """Store the given keys (None: back to the environment's value), log each change, refresh the cache."""
        before = await self._load(session)
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        module: Any = postgresql if dialect == "postgresql" else sqlite
        table = AppSetting.__table__
        for key, value in changes.items():
            if key not in KEYS:
                raise KeyError(key)
            if value is None:
                await session.execute(delete(AppSetting).where(AppSetting.key == key))
            else:
                statement = module.insert(table).values(key=key, value=value, updated_at=utcnow(), updated_by=by)
                statement = statement.on_conflict_do_update(
                    index_elements=["key"], set_={"value": value, "updated_at": utcnow(), "updated_by": by}
                )
                await session.execute(statement)
        await session.commit()
        after = await self._load(session)
        for key in changes:
            logger.info(
                "runtime setting changed key=%s from=%r to=%r by=%s source=%s",
                key,
                getattr(before, key),
                getattr(after, key),
                by,
                "database" if key in after.overridden else "environment",
                extra={"audit": True, "setting": key, "by": by},
            )
        self._values, self._loaded_at = after, time.monotonic()
        return after
