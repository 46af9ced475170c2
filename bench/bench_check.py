"""Benchmark: median wall-clock seconds of `vmcheck check` on each bundled spec,
cold (an empty cache) and cached (a warm one).

    python bench/bench_check.py [SPEC...] [--repeat N] [--jobs N] [--json FILE]

Each run is a fresh `python -m vmcheck check SPEC --format json` process, as a
user would start it, so interpreter start-up and spec loading are included.
Cold runs each get a new empty cache directory; cached runs share one that a
first (unmeasured) run filled.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _run(spec: str, cache_dir: str, jobs: int | None) -> tuple[float, int]:
    env = dict(os.environ, VMCHECK_CACHE_DIR=cache_dir)
    cmd = [sys.executable, "-m", "vmcheck", "check", spec, "--format", "json"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{spec}: exit {proc.returncode}\n{proc.stderr}")
    return dt, proc.returncode


def main() -> None:
    from vmcheck.spec.library import bundled_names

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*", help="bundled spec names (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--json", dest="json_out", default=None, help="also write the results here")
    args = ap.parse_args()
    specs = args.specs or bundled_names()
    rows = []
    print(f"{'spec':24} {'cold s':>8} {'cached s':>9}  exit")
    for spec in specs:
        cold, code = [], None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as d:
                dt, code = _run(spec, d, args.jobs)
                cold.append(dt)
        with tempfile.TemporaryDirectory() as d:
            _run(spec, d, args.jobs)  # fill the cache
            warm = [_run(spec, d, args.jobs)[0] for _ in range(args.repeat)]
        row = {"spec": spec, "cold": statistics.median(cold), "cached": statistics.median(warm), "exit": code}
        rows.append(row)
        print(f"{spec:24} {row['cold']:8.2f} {row['cached']:9.2f}  {code}", flush=True)
    total_cold = sum(r["cold"] for r in rows)
    total_warm = sum(r["cached"] for r in rows)
    print(f"{'total':24} {total_cold:8.2f} {total_warm:9.2f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"jobs": args.jobs, "repeat": args.repeat, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
