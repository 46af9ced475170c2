"""The theorem engine's times as a user sees them: `vmcheck check` cold (an
empty cache) and cached for each bundled spec, all of them in one cold run,
and the growth from 1,000 to 5,000 instructions on generated specs.

    python bench/engine_times.py [SPEC...] [--repeat N] [--jobs N] [--all] [--growth 1000,5000]
                                 [--json FILE]

Each run is a fresh `python -m vmcheck check ... --format json` process. Wall
seconds depend on the machine's load, so each row also gives the CPU seconds
of the process and its workers (which the load barely changes) and the load
average at the time; medians over `--repeat` runs. The exit code of each run
is checked: 0 or 1 (a verdict), never 3 (an unknown) or 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _run(specs: list[str], cache_dir: str, jobs: int | None) -> dict:
    env = dict(os.environ, VMCHECK_CACHE_DIR=cache_dir)
    cmd = [sys.executable, "-m", "vmcheck", "check", *specs, "--format", "json"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(specs)}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return {"wall": wall, "cpu": cpu, "exit": proc.returncode, "load": os.getloadavg()[0]}


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _cold(specs: list[str], repeat: int, jobs: int | None) -> list[dict]:
    out = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            out.append(_run(specs, d, jobs))
    return out


def _warm(specs: list[str], repeat: int, jobs: int | None) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        _run(specs, d, jobs)  # fill the cache
        return [_run(specs, d, jobs) for _ in range(repeat)]


def generated_spec(n: int, where: Path) -> Path:
    """pg-toy with its instructions repeated (renamed) up to `n` instructions."""
    text = (ROOT / "isa_specs" / "pg-toy" / "pg-toy.yaml").read_text()
    head, body = text.split("\ninstructions:\n", 1)
    blocks = re.split(r"\n(?=  [a-z_0-9]+:\n)", "\n" + body.rstrip("\n"))
    blocks = [b.strip("\n") for b in blocks if b.strip()]
    out = []
    for i in range(n):
        b = blocks[i % len(blocks)]
        name = b.split(":", 1)[0].strip()
        b = b.replace("simm16", "simm4").replace("imm16", "imm4")  # room for 5,000 opcodes
        out.append(b.replace(f"  {name}:", f"  {name}_{i}:", 1).replace("labels: [privileged]", "labels: []"))
    p = where / f"gen-{n}.yaml"
    p.write_text(head.replace("isa: pg-toy", f"isa: gen-{n}") + "\ninstructions:\n" + "\n".join(out) + "\n")
    return p


def main() -> None:
    from vmcheck.spec.library import bundled_names

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*", help="bundled spec names (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--all", action="store_true", help="also every spec together in one cold run")
    ap.add_argument("--growth", default="", help="instruction counts of generated specs, e.g. 1000,5000")
    ap.add_argument("--no-cached", action="store_true", help="skip the cached runs")
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()
    specs = args.specs or bundled_names()
    rows = []
    print(f"{'spec':22} {'cold s':>8} {'cold cpu':>9} {'cached s':>9}  exit  load")
    for spec in specs:
        cold = _cold([spec], args.repeat, args.jobs)
        warm = [] if args.no_cached else _warm([spec], args.repeat, args.jobs)
        row = {
            "spec": spec,
            "cold": _median(cold, "wall"),
            "cold_cpu": _median(cold, "cpu"),
            "cached": _median(warm, "wall") if warm else None,
            "exit": cold[-1]["exit"],
            "load": _median(cold + warm, "load"),
        }
        rows.append(row)
        cached = f"{row['cached']:9.2f}" if warm else f"{'-':>9}"
        print(
            f"{spec:22} {row['cold']:8.2f} {row['cold_cpu']:9.2f} {cached}  {row['exit']:4}  {row['load']:.1f}",
            flush=True,
        )
    if args.all:
        runs = _cold(specs, 1, args.jobs)
        rows.append(
            {
                "spec": "all together",
                "cold": runs[0]["wall"],
                "cold_cpu": runs[0]["cpu"],
                "exit": runs[0]["exit"],
                "load": runs[0]["load"],
            }
        )
        print(f"{'all together':22} {runs[0]['wall']:8.2f} {runs[0]['cpu']:9.2f}  load {runs[0]['load']:.1f}")
    if args.growth:
        with tempfile.TemporaryDirectory() as d:
            for n in [int(x) for x in args.growth.split(",")]:
                p = generated_spec(n, Path(d))
                runs = _cold([str(p)], 1, args.jobs)
                rows.append(
                    {
                        "spec": f"generated {n}",
                        "cold": runs[0]["wall"],
                        "cold_cpu": runs[0]["cpu"],
                        "exit": runs[0]["exit"],
                        "load": runs[0]["load"],
                        "instructions": n,
                    }
                )
                print(
                    f"{'generated ' + str(n):22} {runs[0]['wall']:8.2f} {runs[0]['cpu']:9.2f}  "
                    f"{1000 * runs[0]['cpu'] / n:.2f} ms CPU per instruction, load {runs[0]['load']:.1f}",
                    flush=True,
                )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
