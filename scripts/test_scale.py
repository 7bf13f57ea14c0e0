"""`make test-scale`: the scale-out path, run for real on this machine.

Two app processes (uvicorn on two ports) on a fresh PostgreSQL database and the local Redis,
behind a real nginx whose configuration is generated from docker-compose.scale.yml's (so they
cannot drift). Shown through nginx and through each instance directly: tokens, conversations,
the chat rate limit and login throttling are shared; a reply started on A is followed and
stopped through B; A killed with SIGKILL mid-reply -> its reply reads `incomplete` with its text
within 60 s; migrations run once (the `migrate` step) and a replica on an old schema refuses to start.

Environment: TEST_SCALE_POSTGRES (server URL without a database, default
postgresql+asyncpg://postgres@127.0.0.1:5432), TEST_SCALE_REDIS (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_nginx import local_site_config, main_config

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
PYTHON = sys.executable
POSTGRES = os.environ.get("TEST_SCALE_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")
REDIS = os.environ.get("TEST_SCALE_REDIS", "redis://127.0.0.1:6379/0")
PASSWORD = "correct-horse-battery"
RECOVERY_LIMIT_S = 60
CHAT_LIMIT = 4
LOGIN_LIMIT = 3
LONG_QUESTION = "Tell me everything: " + " ".join(f"w{i}" for i in range(300))

checks: list[str] = []


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAIL: {what}")
    checks.append(what)
    print(f"  ok  {what}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the database -----------------------------------------------------------------------------------
async def create_database(name: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return f"{POSTGRES}/{name}"


async def drop_database(name: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def schema_revision(url: str) -> str | None:
    from sqlalchemy.ext.asyncio import create_async_engine

    sys.path.insert(0, str(BACKEND))
    from app.core.migrations import current_revision

    engine = create_async_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def run_migrate(url: str, revision: str | None = None) -> None:
    """The compose file's `migrate` step (`python -m app.cli migrate`), or alembic to an older revision."""
    env = {**os.environ, "DATABASE_URL": url}
    if revision is None:
        command = [PYTHON, "-m", "app.cli", "migrate"]
    else:
        command = [PYTHON, "-m", "alembic", "upgrade", revision]
    subprocess.run(command, cwd=BACKEND, env=env, check=True, capture_output=True)


# -- the processes ----------------------------------------------------------------------------------
class Instance:
    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.process = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=BACKEND,
            env={**env, "DATA_DIR": str(workdir / name)},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit(f"FAIL: instance {self.name} exited:\n{self.log.read_text()[-3000:]}")
                try:
                    if (await client.get("/api/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise SystemExit(f"FAIL: instance {self.name} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_nginx(upstreams: list[str], workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("FAIL: nginx is not installed (Debian: apt-get install -y nginx)")
    port = free_port()
    conf_dir = workdir / "nginx"
    conf_dir.mkdir()
    conf = conf_dir / "nginx.conf"
    site = local_site_config(upstreams, f"127.0.0.1:{port}")
    conf.write_text(main_config(site, conf_dir, as_root=os.geteuid() == 0))
    subprocess.run([nginx, "-t", "-q", "-p", str(conf_dir), "-c", str(conf)], check=True)
    process = subprocess.Popen(
        [nginx, "-p", str(conf_dir), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(conf_dir / "stderr.log").open("wb"),
    )
    return process, f"http://127.0.0.1:{port}"


# -- the API ----------------------------------------------------------------------------------------
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    name = "message"
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])
            name = "message"


async def wait_until(what: str, probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise SystemExit(f"FAIL: {what} (not within {timeout:.0f} s)")


async def scenario(a: Instance, b: Instance, proxy: str) -> None:
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
        httpx.AsyncClient(base_url=proxy, timeout=30) as via_nginx,
    ):
        # Tokens: signed by one, accepted by the other and through nginx.
        email = f"ana-{uuid.uuid4().hex[:8]}@example.com"
        registered = await via_nginx.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        check(registered.status_code == 201, "register through nginx")
        login = await on_a.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["access_token"]
        me_b = await on_b.get("/api/auth/me", headers=bearer(token))
        check(me_b.status_code == 200 and me_b.json()["email"] == email, "a token from A works on B")
        token_b = (await on_b.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()[
            "access_token"
        ]
        check((await on_a.get("/api/auth/me", headers=bearer(token_b))).status_code == 200, "a token from B works on A")
        through = [(await via_nginx.get("/api/auth/me", headers=bearer(token))).status_code for _ in range(4)]
        check(through == [200] * 4, "the token works through nginx (both upstreams)")
        ana = bearer(token)

        # A conversation written through one instance is read through the other.
        created = (await on_a.post("/api/conversations", headers=ana, json={"title": "Written on A"})).json()
        read = await on_b.get(f"/api/conversations/{created['id']}", headers=ana)
        check(read.status_code == 200 and read.json()["title"] == "Written on A", "a conversation from A reads on B")
        renamed = await on_b.patch(f"/api/conversations/{created['id']}", headers=ana, json={"title": "Renamed on B"})
        check(renamed.status_code == 200, "renamed through B")
        check(
            (await via_nginx.get(f"/api/conversations/{created['id']}", headers=ana)).json()["title"] == "Renamed on B",
            "the rename reads through nginx",
        )

        # A reply started on A, followed through B: sync + tokens == the reply `done` carries.
        async with on_a.stream("POST", "/api/chat/stream", headers=ana, json={"message": LONG_QUESTION}) as first:
            events = sse_events(first)
            conversation_id = (await anext(events))[1]["conversation_id"]
            for _ in range(5):
                await anext(events)
            await asyncio.sleep(0.5)
            detail = (await on_b.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
            check(detail["generating"] is True, "B sees the reply generating on A")
            async with on_b.stream("GET", f"/api/conversations/{conversation_id}/stream", headers=ana) as follow:
                check(follow.status_code == 200, "GET .../stream through B answers 200")
                followed = [event async for event in sse_events(follow)]
            own = [event async for event in events]
        done = dict(own)["done"]["assistant_message"]
        check(followed[0][0] == "sync" and followed[0][1]["text_so_far"], "B's first event is a sync with text")
        text_b = followed[0][1]["text_so_far"] + "".join(d["text"] for n, d in followed if n == "token")
        check(text_b == done["content"], "sync + tokens through B == the reply done carries")
        check(dict(followed)["done"]["assistant_message"]["id"] == done["id"], "B's done is A's saved reply")
        gone = await via_nginx.get(f"/api/conversations/{conversation_id}/stream", headers=ana)
        check(gone.status_code == 204, "nothing generating afterwards: 204 through nginx")

        # Stopped through B.
        async with on_a.stream("POST", "/api/chat/stream", headers=ana, json={"message": LONG_QUESTION}) as second:
            events = sse_events(second)
            stopped_id = (await anext(events))[1]["conversation_id"]
            await anext(events)
            await asyncio.sleep(0.5)
            stop = await on_b.post(f"/api/conversations/{stopped_id}/stop", headers=ana)
            rest = [event async for event in events]
        check(stop.json() == {"stopped": True}, "POST .../stop through B")
        check(rest[-1][0] == "error" and rest[-1][1]["code"] == "stopped", "A's stream ends with `stopped`")
        saved = (await on_b.get(f"/api/conversations/{stopped_id}/messages", headers=ana)).json()["items"][-1]
        check(saved["status"] == "incomplete" and saved["content"].startswith("You said:"), "saved incomplete")

        # The chat rate limit is one budget across instances: the (CHAT_LIMIT+1)th request is refused anywhere.
        bia_email = f"bia-{uuid.uuid4().hex[:8]}@example.com"
        await on_a.post("/api/auth/register", json={"email": bia_email, "password": PASSWORD})
        bia = bearer(
            (await on_b.post("/api/auth/login", json={"email": bia_email, "password": PASSWORD})).json()["access_token"]
        )
        nowhere = {"message": "hi", "conversation_id": 2_000_000_000}  # counted, then 404: no reply to wait for
        order = [on_a, on_b, on_a, on_b]
        statuses = [(await c.post("/api/chat", headers=bia, json=nowhere)).status_code for c in order]
        after = [(await c.post("/api/chat", headers=bia, json=nowhere)).status_code for c in (on_a, on_b, via_nginx)]
        check(statuses == [404] * CHAT_LIMIT, f"{CHAT_LIMIT} chats alternating A and B are allowed")
        check(after == [429, 429, 429], "the next one is refused on A, on B and through nginx")

        # Login throttling, shared: failed logins on A and B add up.
        wrong = {"email": bia_email, "password": "wrong-password-123"}
        failures = [(await c.post("/api/auth/login", json=wrong)).status_code for c in (on_a, on_b, on_a)]
        right = {"email": bia_email, "password": PASSWORD}
        throttled = [(await c.post("/api/auth/login", json=right)).status_code for c in (on_b, via_nginx)]
        check(failures == [401] * LOGIN_LIMIT, f"{LOGIN_LIMIT} failed logins alternating A and B")
        check(throttled == [429, 429], "then login is throttled on B and through nginx")

        # A killed with SIGKILL mid-reply: the reply reads incomplete, with its text, within 60 s.
        seen: list[str] = []
        async with on_a.stream("POST", "/api/chat/stream", headers=ana, json={"message": LONG_QUESTION}) as last:
            events = sse_events(last)
            killed_id = (await anext(events))[1]["conversation_id"]
            async for name, data in events:
                if name == "token":
                    seen.append(data["text"])
                    if len(seen) == 8:
                        break
        await asyncio.sleep(0.5)  # one flush: A's text so far is in Redis
        a.process.send_signal(signal.SIGKILL)
        a.process.wait(10)
        killed_at = time.monotonic()
        check((await on_b.get(f"/api/conversations/{killed_id}", headers=ana)).json()["generating"], "still generating")

        async def recovered() -> dict[str, Any] | None:
            items = (await via_nginx.get(f"/api/conversations/{killed_id}/messages", headers=ana)).json()["items"]
            return items[-1] if items and items[-1]["role"] == "assistant" else None

        reply = await wait_until("A's reply saved after SIGKILL", recovered, RECOVERY_LIMIT_S)
        took = time.monotonic() - killed_at
        check(reply["status"] == "incomplete", f"A's reply reads incomplete {took:.1f} s after SIGKILL")
        check(reply["content"].startswith("".join(seen)), "with the text A had generated (from Redis)")
        check(
            (await on_b.get(f"/api/conversations/{killed_id}", headers=ana)).json()["generating"] is False,
            "and no longer generating",
        )


async def main() -> None:
    started = time.monotonic()
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("FAIL: nginx is not installed (Debian: apt-get install -y nginx)")
    workdir = Path(tempfile.mkdtemp(prefix="conversa-scale-"))
    suffix = uuid.uuid4().hex[:8]
    database, old_database = f"scale_{suffix}", f"scale_{suffix}_old"
    prefix = f"conversa-scale-{suffix}"
    instances: list[Instance] = []
    proxy_process: subprocess.Popen[bytes] | None = None
    try:
        url = await create_database(database)
        old_url = await create_database(old_database)
        print(f"test-scale: databases {database}, {old_database}; Redis {REDIS} prefix {prefix}", flush=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "LLM_"))},
            "DATABASE_URL": url,
            "REDIS_URL": REDIS,
            "REDIS_KEY_PREFIX": prefix,
            "SECRET_KEY": "scale-test-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "MIGRATE_ON_START": "false",
            "LLM_PROVIDER": "fake",
            "FAKE_LLM_DELAY_MS": "40",
            "CHAT_RATE_LIMIT": f"{CHAT_LIMIT}/minute",
            "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT}/minute",
            "LOGIN_IP_RATE_LIMIT": "1000/minute",
            "STATIC_DIR": str(workdir / "no-web-app"),
            "LOG_LEVEL": "WARNING",
        }

        # Migrations once, as the compose file's `migrate` step; the replicas do not migrate.
        empty = Instance("empty-schema", {**env}, workdir)
        code = empty.process.wait(60)
        log = empty.log.read_text()
        check(code != 0 and "MIGRATE_ON_START is false" in log, "a replica on an empty database refuses to start")
        run_migrate(url)
        from_head = await schema_revision(url)
        check(from_head is not None, f"the migrate step brought the schema to {from_head}")
        run_migrate(old_url, "0008")
        old = Instance("old-schema", {**env, "DATABASE_URL": old_url}, workdir)
        code = old.process.wait(60)
        log = old.log.read_text()
        check(
            code != 0 and "schema is at revision 0008" in log and "app.cli migrate" in log,
            "a replica on an old schema (0008) refuses to start, saying to run the migrate step",
        )
        check(await schema_revision(old_url) == "0008", "and it left that schema alone")

        a, b = Instance("a", env, workdir), Instance("b", env, workdir)
        instances += [a, b]
        await asyncio.gather(a.wait_ready(), b.wait_ready())
        check(await schema_revision(url) == from_head, "both replicas started on the migrated schema")
        proxy_process, proxy = start_nginx([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], workdir)
        async with httpx.AsyncClient(base_url=proxy, timeout=5) as client:
            await wait_until("nginx answers", lambda: _healthy(client), 20)
        await scenario(a, b, proxy)
        print(f"test-scale: {len(checks)} checks passed in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        if proxy_process is not None:
            proxy_process.terminate()
            proxy_process.wait(10)
        for instance in instances:
            instance.stop()
        await drop_database(database)
        await drop_database(old_database)
        await delete_redis_keys(prefix)
        shutil.rmtree(workdir, ignore_errors=True)


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/api/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def delete_redis_keys(prefix: str) -> None:
    import coredis

    redis = coredis.Redis.from_url(REDIS, decode_responses=True)
    keys: list[str | bytes] = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(keys)


if __name__ == "__main__":
    asyncio.run(main())
