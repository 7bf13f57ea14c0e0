"""Rate limits (library `limits`): in memory by default, in Redis when REDIS_URL is set."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from app.core.config import Settings
from app.services.errors import RateLimited

__all__ = ["RateLimited", "RateLimits"]


@dataclass
class RateLimits:
    storage: Storage
    limiter: SlidingWindowCounterRateLimiter
    chat: RateLimitItem
    login_email: RateLimitItem
    login_ip: RateLimitItem
    shared_ip: RateLimitItem

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        if settings.redis_url:
            uri = settings.redis_url.replace("redis://", "async+redis://", 1)
            uri = uri.replace("rediss://", "async+rediss://", 1)
            storage = storage_from_string(uri, key_prefix=settings.redis_key_prefix)
        else:
            storage = storage_from_string("async+memory://")
        assert isinstance(storage, Storage)  # the async+ schemes give the asyncio storages
        return cls(
            storage=storage,
            # Sliding window counter: two counters per key, O(1) per hit. The moving window keeps
            # every hit and its in-memory storage expires them with a thread hop per key.
            limiter=SlidingWindowCounterRateLimiter(storage),
            chat=parse(settings.chat_rate_limit),
            login_email=parse(settings.login_rate_limit),
            login_ip=parse(settings.login_ip_rate_limit),
            shared_ip=parse(settings.shared_ip_rate_limit),
        )

    async def retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = await self.limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def hit_chat(self, user_id: int) -> None:
        if not await self.limiter.hit(self.chat, "chat", str(user_id)):
            wait = await self.retry_after(self.chat, "chat", str(user_id))
            raise RateLimited(f"Too many messages. Please wait {wait} s and try again.", retry_after=wait)

    async def hit_shared(self, ip: str) -> None:
        """Reads of public share links, per client address (ids are unguessable; this bounds scraping)."""
        if not await self.limiter.hit(self.shared_ip, "shared", ip):
            wait = await self.retry_after(self.shared_ip, "shared", ip)
            raise RateLimited(f"Too many requests. Please wait {wait} s and try again.", retry_after=wait)

    async def check_login(self, email: str, ip: str) -> None:
        """Refuse while this email or this address has too many recent failed logins."""
        for item, key in ((self.login_email, email), (self.login_ip, ip)):
            if not await self.limiter.test(item, "login", key):
                wait = await self.retry_after(item, "login", key)
                raise RateLimited(f"Too many login attempts. Please wait {wait} s and try again.", retry_after=wait)

    async def record_failed_login(self, email: str, ip: str) -> None:
        await self.limiter.hit(self.login_email, "login", email)
        await self.limiter.hit(self.login_ip, "login", ip)
