"""Test fixtures: one database per run (SQLite file or the PostgreSQL in TEST_DATABASE_URL),
emptied after every test; the real app with the fake model, driven through httpx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text

from app.core import security
from app.core.config import Settings
from app.core.migrations import upgrade_database
from app.main import create_app
from app.models import Base

IN_CI = os.environ.get("CI") == "true"
PASSWORD = "correct-horse-battery"

# argon2id at the app's cost takes ~0.4 s of CPU per hash on this 2-core machine, and a run signs
# up and logs in some 800 times (two thirds of the suite's CPU). The in-process app hashes at
# argon2id's lowest cost here; `real_password_hashing` gives a test the app's own, and servers
# started as child processes keep it too.
REAL_PASSWORD_HASH = security.password_hash
security.password_hash = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@pytest.fixture
def real_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(security, "password_hash", REAL_PASSWORD_HASH)
    security._dummy_hash.cache_clear()
    yield
    security._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'chat.db'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # pytest -n: each worker gets a database of its own
    return _database_of_its_own(url, worker) if worker else url


def postgres_admin(url: str, statement: str, **params: Any) -> Any:
    """One statement outside a transaction on `url`'s server (CREATE / DROP DATABASE); its scalar."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> Any:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            result = await connection.execute(text(statement), params)
            value = result.scalar() if result.returns_rows else None
        await engine.dispose()
        return value

    return asyncio.run(run())


def _database_of_its_own(url: str, worker: str) -> str:
    """`<db>_<worker>` on the same PostgreSQL server, created when missing (emptied by `migrated`)."""
    from sqlalchemy.engine import make_url

    name = f"{make_url(url).database}_{worker}"
    if not postgres_admin(url, "SELECT 1 FROM pg_database WHERE datname = :name", name=name):
        postgres_admin(url, f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    if database_url.startswith("postgresql"):
        import asyncio

        from sqlalchemy.ext.asyncio import create_async_engine

        async def reset() -> None:
            engine = create_async_engine(database_url)
            async with engine.begin() as connection:
                # Everything, whatever the migrations created (tables, extensions, functions).
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(reset())
    upgrade_database(database_url)
    return database_url


@pytest.fixture
def make_settings(migrated: str, tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": migrated,
            "llm_provider": "fake",
            "fake_llm_delay_ms": 0,
            "chat_rate_limit": "1000/minute",
            "login_rate_limit": "1000/minute",
            "login_ip_rate_limit": "1000/minute",
            "static_dir": tmp_path / "no-web-app",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


async def empty_database(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    await _empty_tables(engine)
    await engine.dispose()


async def _empty_tables(engine: Any) -> None:
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())


class Api:
    """An httpx client bound to the app, with helpers that read like the API."""

    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        self.client = client
        self.app = app

    async def register(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.client.post("/api/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def user(self, email: str) -> dict[str, str]:
        await self.register(email)
        return await self.login(email)


@pytest.fixture
async def app_factory() -> AsyncIterator[Callable[[Settings], Any]]:
    started: list[Any] = []

    async def start(settings: Settings) -> Any:
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        started.append((app, lifespan))
        return app

    yield start  # type: ignore[misc]
    for app, lifespan in reversed(started):
        # Titles still being written hold row locks that TRUNCATE would deadlock with (PostgreSQL).
        background = app.state.context.chat.background
        if background:
            import asyncio

            await asyncio.wait(background, timeout=10)
        await _empty_tables(app.state.context.engine)
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def app(app_factory: Callable[[Settings], Any], settings: Settings) -> Any:
    return await app_factory(settings)  # type: ignore[misc]


@pytest.fixture
async def api(app: Any) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, app)


@pytest.fixture
async def client(api: Api) -> httpx.AsyncClient:
    return api.client


@pytest.fixture
async def alice(api: Api) -> dict[str, str]:
    return await api.user("alice@example.com")


@pytest.fixture
async def bob(api: Api) -> dict[str, str]:
    return await api.user("bob@example.com")


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """Events of a text/event-stream body as (event, data) pairs; comments are skipped."""
    import json

    events = []
    for block in body.split("\n\n"):
        name, data = "message", None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            events.append((name, data))
    return events


def free_port() -> int:
    """A free TCP port on 127.0.0.1: every server a test starts (uvicorn, moto, a child process) takes one here."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served by a real uvicorn in a thread, for what ASGITransport cannot show (disconnects)."""

    def __init__(self, settings: Settings) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_server(make_settings: Callable[..., Settings], migrated: str) -> Any:
    import asyncio

    servers: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        server = LiveServer(make_settings(**overrides))
        servers.append(server)
        return server.__enter__()

    yield start
    for server in servers:
        server.__exit__()
    asyncio.run(empty_database(migrated))


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local S3 (moto_server) on a free 127.0.0.1 port, with a bucket, and fake credentials."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert server.poll() is None, "moto_server exited"
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        import boto3

        client = boto3.client("s3", endpoint_url=url)
        for bucket in ("conversa-backups", "conversa-uploads"):
            client.create_bucket(Bucket=bucket)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


# Redis on 127.0.0.1:6379 (TEST_REDIS_URL picks the database): rate limits and reply jobs shared by instances.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis must be running on 127.0.0.1:6379 in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> Any:
    """A key prefix of this test's own: it deletes only the keys it created (the Redis may be shared)."""
    prefix = f"conversa-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    from limits.aio.storage import RedisStorage

    storage = RedisStorage(redis_url.replace("redis://", "async+redis://", 1), key_prefix=prefix)
    await storage.reset()  # deletes `{prefix}*` only
