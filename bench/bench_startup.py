"""Start-up time of the CLI: `vmcheck --help` and `vmcheck specs`, as a user runs them.

    python bench/bench_startup.py [--runs N]

Runs each command N times (default 15) in a fresh process and prints the median
and the spread of the wall time, plus what `python -X importtime` says the
slowest imports are. Run it from the repository root; the cache directory is
a temporary one (specs shows no verdicts, as on a first run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [None, ["--help"], ["specs"], ["check", "--help"], ["--version"]]


def timed(args: list[str], env: dict[str, str]) -> float:
    # None: the bare interpreter (`python -c pass`), the floor on a loaded machine.
    argv = [sys.executable, "-c", "pass"] if args is None else [sys.executable, "-m", "vmcheck", *args]
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def slowest_imports(args: list[str], env: dict[str, str], n: int = 5) -> list[tuple[int, str]]:
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vmcheck", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    rows = []
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    runs = ap.parse_args().runs
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "VMCHECK_CACHE_DIR": cache}
        print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, {runs} runs each")
        print(f"{'command':<24} {'median':>8} {'min':>8} {'max':>8}")
        for args in COMMANDS:
            timed(args, env)  # warm the OS file cache
            ts = [timed(args, env) for _ in range(runs)]
            name = "python -c pass" if args is None else "vmcheck " + " ".join(args)
            print(f"{name:<24} {statistics.median(ts) * 1000:7.0f}ms {min(ts) * 1000:7.0f}ms {max(ts) * 1000:7.0f}ms")
        for args in (["--help"], ["specs"]):
            print(f"slowest imports of `vmcheck {' '.join(args)}` (cumulative µs):")
            for us, name in slowest_imports(args, env):
                print(f"  {us:>8}  {name.strip()}")


if __name__ == "__main__":
    main()
