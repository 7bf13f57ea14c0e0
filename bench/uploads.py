"""Server memory while 20 clients upload 10 MB each at once (issue 14; target: under +60 MB).

`.venv/bin/python bench/uploads.py [--clients 20] [--mb 10] [--kinds text,pdf,jpeg]`

A real `uvicorn app.main:app` process (the `fake` provider), pinned to CPU 0 like bench/run.py.
For each kind of file, one upload first warms the server up (Pillow and pypdf are imported on the
first image and PDF), then `--clients` clients, each its own user, send a file of `--mb` MB at
once; VmRSS is sampled every 10 ms. The growth is the peak minus the RSS just before the burst.
The figures are printed and written to bench/results/uploads.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server as servers

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MB = 60.0


def text_file(size: int) -> bytes:
    line = "Conversa mede a memória enquanto vinte pessoas enviam arquivos ao mesmo tempo. 1234567890\n"
    data = (line * (size // len(line.encode()) + 1)).encode()
    return data[: size - 1] + b"\n"


def pdf_file(size: int) -> bytes:
    """A one-page PDF whose content stream fills `size` bytes."""
    filler = b"BT /F1 12 Tf 20 100 Td (Conversa) Tj ET\n"
    stream = filler * max(1, (size - 600) // len(filler))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def jpeg_file(size: int) -> bytes:
    """A noisy photo-like JPEG of about `size` bytes (noise does not compress: ~3 bytes a pixel)."""
    from PIL import Image

    rng = random.Random(14)
    side = int((size / 3.2) ** 0.5)
    best = b""
    for _ in range(6):
        noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buffer = io.BytesIO()
        noise.save(buffer, "JPEG", quality=92)
        data = buffer.getvalue()
        if len(data) <= size:
            best = data
            side = int(side * (size / len(data)) ** 0.5 * 0.995)
        else:
            side = int(side * (size / len(data)) ** 0.5 * 0.99)
    return best


MAKERS = {"text": (text_file, "notes.txt"), "pdf": (pdf_file, "doc.pdf"), "jpeg": (jpeg_file, "photo.jpg")}


async def register(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    password = "correct-horse-battery"
    response = await client.post("/api/auth/register", json={"email": email, "password": password})
    response.raise_for_status()
    login = await client.post("/api/auth/login", json={"email": email, "password": password})
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def upload(client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes) -> int:
    response = await client.post("/api/uploads", headers=headers, files={"file": (name, data)}, timeout=300)
    return response.status_code


async def burst(
    server: servers.Server, client: httpx.AsyncClient, users: list[dict[str, str]], name: str, data: bytes
) -> dict[str, float]:
    samples: list[float] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            samples.append(server.rss_mb())
            await asyncio.sleep(0.01)

    before = server.rss_mb()
    cpu_before = server.cpu_seconds()
    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    statuses = await asyncio.gather(*(upload(client, headers, name, data) for headers in users))
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    peak = max([*samples, server.rss_mb()])
    return {
        "before": before,
        "peak": peak,
        "growth": peak - before,
        "after": server.rss_mb(),
        "seconds": elapsed,
        "cpu": server.cpu_seconds() - cpu_before,
        "ok": sum(status == 201 for status in statuses),
        "count": len(statuses),
    }


async def main(args: argparse.Namespace) -> int:
    size = int(args.mb * 1024 * 1024)
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    files = {kind: MAKERS[kind][0](size) for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="conversa-bench-uploads-") as folder:
        data_dir = Path(folder)
        log_path = data_dir / "server.log"
        env = servers.fake_env(data_dir, 0)
        server = await servers.start_server(env, cpu=None if args.no_pin else 0, log_path=log_path)
        rows = []
        try:
            idle = server.rss_mb()
            limits = httpx.Limits(max_connections=args.clients + 5)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", limits=limits) as client:
                users = [await register(client, f"bench{i}@example.com") for i in range(args.clients)]
                for kind in kinds:
                    name = MAKERS[kind][1]
                    warm = await upload(client, users[0], name, files[kind][: 64 * 1024] if kind == "text" else files[kind])
                    assert warm == 201, f"warm-up upload of {kind} failed: {warm}\n{server.log_tail()}"
                    result = await burst(server, client, users, name, files[kind])
                    rows.append((kind, len(files[kind]), result))
        finally:
            server.stop()
    lines = [
        f"# Upload memory: {args.clients} clients x {args.mb:g} MB at once",
        "",
        f"Command: `.venv/bin/python bench/uploads.py --clients {args.clients} --mb {args.mb:g} --kinds {args.kinds}`",
        f"Idle server RSS: {idle:.1f} MB. Target: growth under +{TARGET_MB:g} MB.",
        "",
        "| file | size | uploads ok | RSS before | RSS peak | growth | wall | server CPU | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    missed = False
    for kind, length, result in rows:
        passed = result["growth"] < TARGET_MB and result["ok"] == result["count"]
        missed |= not passed
        lines.append(
            f"| {kind} | {length / 1024 / 1024:.1f} MB | {result['ok']:.0f}/{result['count']:.0f} "
            f"| {result['before']:.1f} MB | {result['peak']:.1f} MB | +{result['growth']:.1f} MB "
            f"| {result['seconds']:.1f} s | {result['cpu']:.1f} s | {'ok' if passed else 'MISSED'} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "uploads.md").write_text(report)
    return 1 if missed else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--mb", type=float, default=10.0, help="size of each file (the default limit is 10 MB)")
    parser.add_argument("--kinds", default="text,pdf,jpeg", help="comma-separated: text, pdf, jpeg")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server to CPU 0")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
