"""Item 6: the same load inside the production image with --memory=1g --cpus=1 (podman).

Optional (bench/run.py --container): needs backend/Dockerfile, scripts/test-containers.sh and the
shared podman setup (../shared/tools/containers.sh). Everything it creates is removed at the end.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import loadgen
from server import CLK_TCK, REPO, free_port

if TYPE_CHECKING:
    from run import Bench

SHARED_CANDIDATES = [REPO.parent / "shared", Path("/work/shared")]


def _containers_script() -> Path | None:
    for candidate in SHARED_CANDIDATES:
        script = candidate / "tools" / "containers.sh"
        if script.is_file():
            return script
    return None


def _bash(script: Path, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'source "{script}" && {command}'],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def _step(bench: Any, script: Path, what: str, command: str, timeout: float) -> bool:
    """Run one set-up step; when it fails, say so in the report's notes (the container part is skipped)."""
    result = _bash(script, command, timeout)
    if result.returncode != 0:
        bench.notes.append(f"container run skipped: {what} failed: {result.stderr[-300:]}")
    return result.returncode == 0


class _ContainerServer:
    """Enough of server.Server for Bench.run_streams: the app process seen from the host (/proc),
    plus the container's memory cgroup (v2 or v1) for the peak."""

    def __init__(self, script: Path, name: str, port: int) -> None:
        self.port = port
        result = _bash(script, f"podman inspect --format '{{{{.State.Pid}}}}' {name}", 30)
        self.pid = int(result.stdout.strip() or 0)
        self.memory_cgroup: Path | None = None
        for line in Path(f"/proc/{self.pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for candidate in (
                Path("/sys/fs/cgroup/memory") / path.lstrip("/"),  # v1
                Path("/sys/fs/cgroup") / path.lstrip("/"),  # v2
            ):
                if controllers in ("memory", "") and candidate.is_dir():
                    self.memory_cgroup = self.memory_cgroup or candidate

    def alive(self) -> bool:
        return Path(f"/proc/{self.pid}").exists()

    def status(self) -> dict[str, int]:
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
        return values

    def rss_mb(self) -> float:
        return self.status()["VmRSS"] / 1024

    def cgroup_peak_mb(self) -> float:
        if self.memory_cgroup is None:
            return float("nan")
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            if (self.memory_cgroup / name).exists():
                return int((self.memory_cgroup / name).read_text()) / 2**20
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def run_container_load(bench: Bench, delay_ms: float, short: str, long: str, users: int) -> None:
    script = _containers_script()
    missing = [
        p
        for p in (
            REPO / "backend" / "Dockerfile",
            REPO / "scripts" / "test-containers.sh",
        )
        if not p.exists()
    ]
    if script is None or missing:
        bench.notes.append(f"container run skipped: missing {missing or 'containers.sh'}")
        return
    tag = f"localhost/conversa-bench-{os.getpid()}:latest"
    name = f"conversa-bench-{os.getpid()}"
    port = free_port()
    try:
        bench.log("container: podman setup and build (a few minutes the first time)")
        if not _step(bench, script, "containers_setup", "containers_setup >/dev/null", 900):
            return
        build = f'podman build --build-arg PYTHON_IMAGE="$STANDIN_IMAGE" -t {tag} backend'
        if not _step(bench, script, "podman build", build, 1800):
            return
        env = {
            "LLM_PROVIDER": "fake",
            "FAKE_LLM_DELAY_MS": str(delay_ms),
            "CHAT_RATE_LIMIT": "1000000/minute",
            "LOGIN_RATE_LIMIT": "100000/minute",
            "LOGIN_IP_RATE_LIMIT": "100000/minute",
            "MAX_JOBS_PER_USER": "100000",  # a few accounts drive every stream
        }
        env_args = " ".join(f"-e {k}={v}" for k, v in env.items())
        started = time.perf_counter()
        run = f"podman run -d --name {name} --memory=1g --cpus=1 -p 127.0.0.1:{port}:8000 {env_args} {tag}"
        if not _step(bench, script, "podman run", run, 120):
            return
        deadline = time.perf_counter() + 120
        while not await loadgen.health_ok(port, timeout=2.0):
            if time.perf_counter() > deadline:
                raise RuntimeError("the container did not become healthy in 120 s")
            await asyncio.sleep(0.05)
        bench.add(
            "container",
            "spawn -> first 200 /api/health (fake provider)",
            time.perf_counter() - started,
            "s",
        )
        server: Any = _ContainerServer(script, name, port)
        await asyncio.sleep(2.0)
        bench.add("container", "idle RSS of the app process (VmRSS)", server.rss_mb(), "MB")
        tokens = [await loadgen.make_user(port, f"bench{i}@example.com") for i in range(users)]
        for count, message in ((500, short), (1000, long)):
            result = await bench.run_streams(server, tokens, count, message, timeout=240)
            bench.details[f"container_{count}"] = {k: v for k, v in result.items() if k != "ttft"}
            ttft = [t * 1000 for t in result["ttft"]]
            bench.add(
                "container",
                f"{count} streams: errors, tokens {result['tokens']:,}/{result['expected_tokens']:,}",
                result["errors"],
                "errors",
                "<=",
                0,
                note=(
                    f"peak overlap {result['peak_overlap']}, TTFT p99 {loadgen.percentile(ttft, 99) / 1000:.2f} s"
                    + (f"; {result['error_kinds']}" if result["errors"] else "")
                ),
            )
            bench.add(
                "container",
                f"{count} streams: RSS of the app process (peak sampled)",
                result["rss_peak"],
                "MB",
            )
        oom = _bash(script, f"podman inspect --format '{{{{.State.OOMKilled}}}}' {name}", 30).stdout.strip()
        bench.add(
            "container",
            "OOM killed (1 = yes)",
            1 if oom == "true" else 0,
            "",
            "<=",
            0,
            note=f"container memory cgroup peak {server.cgroup_peak_mb():.0f} MB of 1024",
        )
    finally:
        _bash(
            script,
            f"podman rm -f {name} >/dev/null 2>&1; podman rmi -f {tag} >/dev/null 2>&1",
            120,
        )
