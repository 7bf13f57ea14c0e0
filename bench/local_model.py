"""Benchmark of the embedded local model, through the app's own code path (app.llm.local).

Prints the load time, the decoding speed with 1 and with 2 threads, and the memory the model adds.
Targets for the default model (SmolLM2-135M-Instruct Q4_1): >= 50 tokens/s on one core and
<= 250 MB added memory.

Usage (from the repository root, after `make local-model`):
    .venv/bin/python bench/local_model.py [--tokens 128] [--runs 3] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from app.core.config import Settings
from app.llm.local import LocalChatModel, build_local_chat_model, close_local_models
from langchain_core.messages import HumanMessage

PROMPT = [HumanMessage("Write a short story about a lighthouse keeper and a storm.")]
TARGET_TOKENS_PER_S = 50.0
TARGET_ADDED_MB = 250.0


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def timed_generation(model: LocalChatModel, tokens: int) -> tuple[float, float]:
    """(seconds to the first token, decoding tokens/s after it) for exactly `tokens` tokens."""
    llama: Any = model.runner.llama
    options = {"max_tokens": tokens, "logit_bias": {llama.token_eos(): -1000.0}}  # no early stop
    started = time.perf_counter()
    first = last = 0.0
    chunks = 0
    async for chunk in model.astream(PROMPT, **options):
        if chunk.content:
            chunks += 1
            last = time.perf_counter()
            if chunks == 1:
                first = last
    if chunks < 2:
        raise RuntimeError("the model produced fewer than 2 tokens")
    # Chunks lag tokens only for text held back (partial UTF-8); count tokens, not chunks.
    return first - started, (tokens - 1) / (last - first)


async def bench_threads(settings: Settings, threads: int, tokens: int, runs: int) -> dict[str, float]:
    model = build_local_chat_model(settings.model_copy(update={"local_threads": threads}))
    assert isinstance(model, LocalChatModel)
    await timed_generation(model, 8)  # warm-up
    results = [await timed_generation(model, tokens) for _ in range(runs)]
    return {
        "first_token_s": statistics.median(r[0] for r in results),
        "tokens_per_s": statistics.median(r[1] for r in results),
        "best_tokens_per_s": max(r[1] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=128, help="tokens generated per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per thread count (median reported)")
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: the app's)")
    args = parser.parse_args()

    settings = Settings(local_model_path=args.model, local_max_tokens=args.tokens)
    path = settings.default_local_model_path
    size_mb = path.stat().st_size / 2**20 if path.is_file() else float("nan")
    print(f"model: {path} ({size_mb:.1f} MB), context {settings.local_context} tokens")

    rss_before = current_rss_mb()
    started = time.perf_counter()
    build_local_chat_model(settings.model_copy(update={"local_threads": 1}))
    load_s = time.perf_counter() - started
    rss_loaded = current_rss_mb()
    print(f"load time: {load_s:.2f} s")

    speeds = {}
    for threads in (1, 2):
        result = asyncio.run(bench_threads(settings, threads, args.tokens, args.runs))
        speeds[threads] = result["tokens_per_s"]
        print(
            f"{threads} thread{'s' if threads > 1 else ''}: {result['tokens_per_s']:.1f} tokens/s "
            f"(best {result['best_tokens_per_s']:.1f}; first token after {result['first_token_s'] * 1000:.0f} ms with the prompt cached; "
            f"median of {args.runs} runs of {args.tokens} tokens)"
        )
        if threads == 1:
            rss_one_model = current_rss_mb()
            close_local_models()  # one instance at a time, as in the app

    added_mb = rss_one_model - rss_before
    print(f"RSS before loading: {rss_before:.0f} MB (Python, LangChain, the app)")
    print(f"RSS added by loading the model: {rss_loaded - rss_before:.0f} MB (after load)")
    print(f"RSS added by one loaded model after generating: {added_mb:.0f} MB")
    print(f"max RSS of the process: {max_rss_mb():.0f} MB")
    close_local_models()

    ok_speed = speeds[1] >= TARGET_TOKENS_PER_S
    ok_memory = added_mb <= TARGET_ADDED_MB
    print(
        f"targets: >= {TARGET_TOKENS_PER_S:.0f} tokens/s on one core: {'met' if ok_speed else 'MISSED'}; "
        f"<= {TARGET_ADDED_MB:.0f} MB added: {'met' if ok_memory else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
