"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis, in-process
over ASGI), authenticated as a real admin: no 5xx, and every response matches its declared schema."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from app.core.security import create_access_token
from app.main import create_app
from app.services import users
from tests.conftest import PASSWORD, empty_database

MAX_EXAMPLES = 30
# Not about crashes or schema drift: a schema-valid body can still be refused by a business rule
# (a reserved email domain, a wrong current password), and Starlette's 405 lists the methods of
# the first route of a path only.
EXCLUDED = [positive_data_acceptance, allow_header_conformance]
CALLS: Counter[str] = Counter()


@pytest.fixture
def api_schema(make_settings: Any, migrated: str) -> Iterator[Any]:
    config = make_settings(secret_key="fuzzing-key-" + "x" * 32)
    app = create_app(config)

    async def seed() -> str:
        from app.core.db import create_engine, create_sessionmaker
        from app.services import conversations

        engine = create_engine(config)
        async with create_sessionmaker(engine)() as session:
            admin = await users.create_user(session, "fuzz-admin@example.com", PASSWORD, is_admin=True)
            other = await users.create_user(session, "fuzz-other@example.com", PASSWORD)
            await conversations.create_conversation(session, admin, "seeded")
            await conversations.create_conversation(session, other, "not yours")
            token = create_access_token(admin.id, admin.token_version, config.signing_key(), 1).token
        await engine.dispose()
        return token

    token = asyncio.run(seed())
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)

    # Through schemathesis' auth hook (not a header on every call), so its authentication checks
    # can still send requests without the token, or with a broken one.
    @loaded.auth(refresh_interval=None, retry_on=[])
    class AdminToken:
        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    yield loaded
    asyncio.run(empty_database(migrated))
    print(f"\nschemathesis: {sum(CALLS.values())} requests over {len(CALLS)} operations: {dict(CALLS)}")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_keeps_its_schema(case: Any) -> None:
    CALLS[case.operation.label] += 1
    case.call_and_validate(excluded_checks=EXCLUDED)
