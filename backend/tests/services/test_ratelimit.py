"""Rate limits in memory and in the Redis on 127.0.0.1:6379 (shared between app processes)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.services.ratelimit import RateLimited, RateLimits


async def test_chat_limit_in_memory(make_settings: Any) -> None:
    limits = RateLimits.from_settings(make_settings(chat_rate_limit="2/hour"))
    await limits.hit_chat(1)
    await limits.hit_chat(1)
    with pytest.raises(RateLimited) as caught:
        await limits.hit_chat(1)
    assert 1 <= caught.value.retry_after <= 3600
    await limits.hit_chat(2)  # another user has their own budget


async def test_limits_are_shared_through_redis(make_settings: Any, redis_url: str, redis_prefix: str) -> None:
    settings = make_settings(
        chat_rate_limit="3/hour", login_rate_limit="2/hour", redis_url=redis_url, redis_key_prefix=redis_prefix
    )
    # Two app processes = two RateLimits over the same Redis.
    first, second = RateLimits.from_settings(settings), RateLimits.from_settings(settings)
    user_id = uuid.uuid4().int % 10**9
    await first.hit_chat(user_id)
    await second.hit_chat(user_id)
    await first.hit_chat(user_id)
    with pytest.raises(RateLimited):
        await second.hit_chat(user_id)
    email = f"{uuid.uuid4().hex}@example.com"
    await first.record_failed_login(email, "10.0.0.1")
    await second.record_failed_login(email, "10.0.0.2")
    with pytest.raises(RateLimited) as caught:
        await first.check_login(email, "10.0.0.3")
    assert "login attempts" in caught.value.message


async def test_app_uses_redis_when_configured(
    app_factory: Any, make_settings: Any, redis_url: str, redis_prefix: str
) -> None:
    import httpx

    from tests.conftest import Api

    app = await app_factory(make_settings(redis_url=redis_url, redis_key_prefix=redis_prefix, chat_rate_limit="1/hour"))
    assert type(app.state.context.limits.storage).__name__ == "RedisStorage"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        headers = await Api(client, app).user(f"{uuid.uuid4().hex}@example.com")
        assert (await client.post("/api/chat", headers=headers, json={"message": "hi"})).status_code == 200
        assert (await client.post("/api/chat", headers=headers, json={"message": "hi"})).status_code == 429
