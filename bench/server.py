"""Start and watch a Conversa backend process for the benchmark (127.0.0.1, a free port)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from loadgen import health_ok

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Set by bench/run.py --metrics: every server of the run collects Prometheus metrics (METRICS_TOKEN).
EXTRA_ENV: dict[str, str] = {}


def base_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """A clean environment: only what the app needs, so a developer's .env or shell does not leak in."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        DATA_DIR=str(data_dir),
        ENV="development",
        LOG_LEVEL="INFO",
        CHAT_RATE_LIMIT="1000000/minute",
        LOGIN_RATE_LIMIT="100000/minute",
        LOGIN_IP_RATE_LIMIT="100000/minute",
        MAX_JOBS_PER_USER="100000",  # a few accounts drive every stream
        PYTHONUNBUFFERED="1",
    )
    env.update(EXTRA_ENV)
    env.update(overrides)
    return env


def gemini_env(data_dir: Path) -> dict[str, str]:
    # A closed local port: the provider is configured and built, and no call ever leaves the machine.
    return base_env(
        data_dir,
        LLM_PROVIDER="gemini",
        GOOGLE_API_KEY="dummy",
        GEMINI_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )


def fake_env(data_dir: Path, delay_ms: float) -> dict[str, str]:
    return base_env(data_dir, LLM_PROVIDER="fake", FAKE_LLM_DELAY_MS=str(delay_ms))


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started: float
    healthy_after: float = float("nan")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self) -> dict[str, int]:
        """VmRSS / VmHWM (kB) and thread count from /proc/<pid>/status."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0])
        return values

    def rss_mb(self) -> float:
        return self.status()["VmRSS"] / 1024

    def hwm_mb(self) -> float:
        return self.status()["VmHWM"] / 1024

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def start_server(env: dict[str, str], *, cpu: int | None, log_path: Path, timeout: float = 60.0) -> Server:
    """Spawn uvicorn (pinned to `cpu` with taskset) and wait for the first 200 from /api/health."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    log = log_path.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=BACKEND, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    log.close()
    server = Server(proc, port, log_path, started)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{server.log_tail()}")
        if await health_ok(port, timeout=2.0):
            server.healthy_after = time.perf_counter() - started
            return server
        await asyncio.sleep(0.01)
    server.stop()
    raise RuntimeError(f"the server was not healthy after {timeout} s:\n{server.log_tail()}")
