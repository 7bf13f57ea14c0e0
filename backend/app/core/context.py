"""What the app builds once at start-up and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.llm import LLMService
from app.services.chat import ChatService
from app.services.ratelimit import RateLimits


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    llm: LLMService
    chat: ChatService
    limits: RateLimits
    signing_key: str
