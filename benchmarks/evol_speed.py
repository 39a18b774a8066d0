"""Speed of `coderank evol`: evolved rows per hour on the embedded model, and through a local server.

Runs the same evolution (the first N bundled seeds, one round, same seed) several ways, each with a fresh
store so nothing comes from the cache, and prints attempts/hour (an attempt = one evolution call plus, for
instructions that survive their checks, one answer call and a sandbox run) and kept rows/hour:

1. ``default``: the embedded GGUF in-process through llama-cpp-python (all cores);
2. ``server c=1``: the same GGUF behind a local ``llama_cpp.server`` (OpenAI-compatible), one request at a time;
3. ``server c=4``: the same server with four requests in flight;
4. ``2 servers c=2``: two server processes with half the threads each, given as two ``--base-url`` replicas.

On a 2-core machine the server path can only match the in-process path (one CPU-bound model either way); what
the comparison shows is that the client side adds little, so a faster server (vLLM on a GPU) is what sets the
rate. Run it alone: any other busy process changes the numbers 3-5x.

    python benchmarks/evol_speed.py [--seeds 12] [--skip-server]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from coderank.evol.evolution import EvolConfig, evolve
from coderank.models.backends import BackendOptions
from coderank.models.embedded import default_model_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def servers(count: int, threads: int) -> Iterator[list[str]]:
    """Start ``count`` llama_cpp.server processes on 127.0.0.1; yield their base URLs."""
    procs, urls = [], []
    try:
        for _ in range(count):
            port = _free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()), "--host",
                 "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads),
                 "--model_alias", "qwen-coder"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}/v1")
        for url in urls:
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            deadline = time.monotonic() + 120
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server {url} did not start") from None
                    time.sleep(0.5)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def run(label: str, seeds: int, model: str, options: BackendOptions) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = EvolConfig(out=Path(tmp) / "evol.jsonl", model=model, limit=seeds, rounds=1, seed=0,
                            store=Path(tmp) / "coderank.db", backend=options)
        start = time.monotonic()
        result = evolve(config)
        wall = time.monotonic() - start
    row = {"wall_s": wall, "attempts": result.attempts, "kept": result.rows,
           "attempts_per_hour": result.attempts / wall * 3600, "rows_per_hour": result.rows / wall * 3600,
           "calls": result.generated, "tokens_per_s": result.tokens_per_second or 0.0}
    print(f"{label:<16} {wall:7.1f} s  {row['attempts']:3d} attempts  {row['kept']:3d} kept  "
          f"{row['attempts_per_hour']:6.0f} attempts/h  {row['rows_per_hour']:6.0f} rows/h  "
          f"{row['calls']:3d} calls  {row['tokens_per_s']:5.1f} tok/s per call", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=12, help="bundled seeds to evolve (one round)")
    parser.add_argument("--skip-server", action="store_true", help="only the in-process embedded model")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"evolving the first {args.seeds} bundled seeds, 1 round, on {cores} cores")
    base = run("default", args.seeds, "default", BackendOptions())
    if args.skip_server:
        return
    with servers(1, cores) as urls:
        one = run("server c=1", args.seeds, "openai:qwen-coder", BackendOptions(base_url=urls[0], concurrency=1))
        four = run("server c=4", args.seeds, "openai:qwen-coder", BackendOptions(base_url=urls[0], concurrency=4))
    with servers(2, max(1, cores // 2)) as urls:
        two = run("2 servers c=2", args.seeds, "openai:qwen-coder",
                  BackendOptions(base_url=",".join(urls), concurrency=2))
    print(f"attempts/h vs in-process: server c=1 {one['attempts_per_hour'] / base['attempts_per_hour']:.2f}x, "
          f"c=4 {four['attempts_per_hour'] / base['attempts_per_hour']:.2f}x, "
          f"2 servers {two['attempts_per_hour'] / base['attempts_per_hour']:.2f}x")


if __name__ == "__main__":
    main()
