"""The composition root: what the app builds once at start-up and every request shares.

It sits at the top of the package, above `core/`, `services/` and `llm/`, because it is the one
place that knows all of them; `core/` stays the ground floor that imports nothing above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.llm import LLMService, build_llm_service
from app.services.chat import ChatService
from app.services.jobs import JobRegistry
from app.services.ratelimit import RateLimits
from app.services.runtime_settings import RuntimeSettings


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    llm: LLMService
    chat: ChatService
    jobs: JobRegistry
    limits: RateLimits
    signing_key: str
    runtime: RuntimeSettings

    def idle(self) -> bool:
        """Nothing is being admitted, generated or saved in the background (a moment for housekeeping)."""
        return not self.jobs.slots and not self.chat.background and self.chat.admissions.pending == 0


def build_context(settings: Settings) -> AppContext:
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    llm = build_llm_service(settings)
    runtime = RuntimeSettings(sessionmaker, settings)
    chat = ChatService(sessionmaker, llm, settings, runtime=runtime)
    return AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        llm=llm,
        chat=chat,
        jobs=build_jobs(settings, sessionmaker, chat),
        limits=RateLimits.from_settings(settings),
        signing_key=settings.signing_key(),
        runtime=runtime,
    )


def build_jobs(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], chat: ChatService) -> JobRegistry:
    """Reply jobs in memory, or shared through Redis by every instance when REDIS_URL is set."""
    if settings.redis_url:
        # Imported only here: the Redis client costs ~20 MB of memory a single instance does without.
        from app.services.jobs_redis import RedisJobRegistry

        return RedisJobRegistry.connect(
            settings.redis_url, settings.redis_key_prefix, sessionmaker, chat, settings.max_jobs_per_user
        )
    return JobRegistry(sessionmaker, chat.background, max_per_user=settings.max_jobs_per_user)
