"""vmcheck's benchmark suite: one command, a table of medians, the same as JSON.

    python bench/run.py [--quick] [--specs a,b,...] [--repeat N] [--out FILE]
                        [--only check,scale,sim,vmm,fuzz]

Sections (each figure is the median of --repeat runs):
* check    `vmcheck check SPEC` as a user starts it (a fresh process, JSON
           output), cold (an empty temporary cache directory) and warm (a
           filled one), for every bundled spec or those of --specs;
           --quick skips the big ones (QUICK_SKIP);
* scale    cold `check` of generated specs of 100, 1,000 and 5,000
           instructions (bench/genspec.py; --quick: 100 and 1,000), and the
           growth factor from 1,000 to 5,000 per instruction;
* sim      simulator guest instructions per second on a compute loop of
           pg-toy and of x86-32 (the largest spec), in block mode and step
           by step, beside a hand-written Python loop of the same guest
           program run in the same process, and the ratios (bench/simloop.py);
* vmm      the classic reference VMM over the bare machine on a
           user-mode-dominated program and a system-call-heavy one, and the
           trap round trip in microseconds (bench/vmmbench.py);
* fuzz     `confirm --fuzz`'s programs per second on pg-toy.
Timings of work in this process use CPU time (steadier on a shared
machine); `check` runs are separate processes, timed by wall clock and by
their CPU time (children's rusage). The machine's load average
(os.getloadavg) is recorded before and after. The JSON goes to
bench/results.json unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

QUICK_SKIP = {"x86-32", "x86-64-vtx", "armv7-a", "armv8-a", "riscv", "riscv-h", "s370"}
SECTIONS = ("check", "scale", "sim", "vmm", "fuzz")


def _check_once(spec: str, cache: str) -> tuple[float, float, int]:
    """(wall s, CPU s of the process and its workers, exit code)."""
    env = dict(os.environ, VMCHECK_CACHE_DIR=cache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "vmcheck", "check", spec, "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"check {spec}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.returncode


def bench_check(specs: list[str], repeat: int) -> list[dict]:
    rows = []
    for spec in specs:
        cold, code = [], None
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as d:
                *t, code = _check_once(spec, d)
                cold.append(t)
        with tempfile.TemporaryDirectory() as d:
            _check_once(spec, d)  # fill the cache
            warm = [_check_once(spec, d)[:2] for _ in range(repeat)]
        rows.append(
            {
                "spec": spec,
                "exit": code,
                "cold_s": statistics.median(w for w, _ in cold),
                "cold_cpu_s": statistics.median(c for _, c in cold),
                "warm_s": statistics.median(w for w, _ in warm),
                "warm_cpu_s": statistics.median(c for _, c in warm),
            }
        )
        _row(
            f"check {spec}",
            f"cold {rows[-1]['cold_s']:.2f} s (cpu {rows[-1]['cold_cpu_s']:.2f})",
            f"warm {rows[-1]['warm_s']:.2f} s (cpu {rows[-1]['warm_cpu_s']:.2f})",
            f"exit {code}",
        )
    return rows


def bench_scale(sizes: list[int], repeat: int) -> dict:
    from genspec import write_spec

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = write_spec(n, Path(tmp))
            runs = []
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as d:
                    runs.append(_check_once(str(path), d)[:2])
            row = {
                "instructions": n,
                "cold_s": statistics.median(w for w, _ in runs),
                "cold_cpu_s": statistics.median(c for _, c in runs),
            }
            rows.append(row)
            _row(
                f"check {n} instructions",
                f"cold {row['cold_s']:.2f} s",
                f"cpu {row['cold_cpu_s']:.2f} s",
                f"{row['cold_cpu_s'] / n * 1000:.1f} ms cpu/insn",
            )
    out: dict = {"rows": rows}
    by = {r["instructions"]: r for r in rows}
    if 1000 in by and 5000 in by:
        # per-instruction cost at 5,000 over that at 1,000: <= 1 is linear or better
        out["growth_1000_to_5000_per_insn"] = (by[5000]["cold_cpu_s"] / 5000) / (by[1000]["cold_cpu_s"] / 1000)
        _row("growth 1,000 -> 5,000", f"{out['growth_1000_to_5000_per_insn']:.2f}x per instruction (cpu)", "", "")
    return out


def bench_sim(steps: int, repeat: int) -> list[dict]:
    import simloop

    rows = []
    for spec in ("pg-toy", "x86-32"):
        r = simloop.measure(spec, steps, repeat)
        rows.append(r)
        _row(
            f"sim {spec}",
            f"blocks {r['blocks_ips'] / 1e6:.2f} M/s",
            f"steps {r['steps_ips'] / 1e6:.2f} M/s",
            f"by hand {r['by_hand_ips'] / 1e6:.2f} M/s",
        )
        _row(
            "",
            f"blocks/by hand {r['blocks_over_by_hand']:.2f}x",
            f"steps/by hand {r['steps_over_by_hand']:.2f}x",
            f"blocks/steps {r['blocks_over_steps']:.2f}x",
        )
    return rows


def bench_vmm(repeat: int, quick: bool) -> dict:
    import vmmbench

    out = vmmbench.measure_vmm(repeat, user_turns=20_000 if quick else 30_000, calls=2_000 if quick else 10_000)
    for name, r in out.items():
        extra = (
            f"trap round trip {r['trap_round_trip_us']:.1f} us"
            if "trap_round_trip_us" in r
            else f"{r['guest_steps']} guest steps"
        )
        _row(
            f"vmm {name} program",
            f"native {r['native_s']:.3f} s",
            f"vmm {r['vmm_s']:.3f} s",
            f"vmm/native {r['vmm_over_native']:.1f}x; {extra}",
        )
    return out


def bench_fuzz(repeat: int, quick: bool) -> dict:
    import vmmbench

    r = vmmbench.measure_fuzz(repeat, 20 if quick else 100)
    _row("fuzz pg-toy", f"{r['programs_per_s']:.1f} programs/s", "", "")
    return r


def _row(what: str, a: str, b: str, c: str) -> None:
    print(f"{what:28} {a:26} {b:26} {c}", flush=True)


def main() -> None:
    from vmcheck.spec.library import bundled_names

    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="See bench/README.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="skip the big specs and the 5,000-instruction spec")
    ap.add_argument("--specs", default=None, help="comma-separated bundled specs for the check section")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is reported)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run, of {','.join(SECTIONS)}")
    ap.add_argument("--steps", type=int, default=300_000, help="guest instructions per simulator run")
    ap.add_argument("--out", default=str(ROOT / "bench/results.json"), help="where to write the JSON")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}; sections: {', '.join(SECTIONS)}")
    specs = (
        args.specs.split(",") if args.specs else [s for s in bundled_names() if not (args.quick and s in QUICK_SKIP)]
    )
    results: dict = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "quick": args.quick,
        "load_before": os.getloadavg(),
    }
    print(f"load average {results['load_before'][0]:.2f} (1 min); medians of {args.repeat} runs")
    t0 = time.perf_counter()
    if "check" in only:
        results["check"] = bench_check(specs, args.repeat)
    if "scale" in only:
        results["scale"] = bench_scale([100, 1000] if args.quick else [100, 1000, 5000], args.repeat)
    if "sim" in only:
        results["sim"] = bench_sim(args.steps, max(args.repeat, 5))
    if "vmm" in only:
        results["vmm"] = bench_vmm(args.repeat, args.quick)
    if "fuzz" in only:
        results["fuzz"] = bench_fuzz(args.repeat, args.quick)
    results["load_after"] = os.getloadavg()
    results["seconds"] = time.perf_counter() - t0
    print(f"load average {results['load_after'][0]:.2f} (1 min) after {results['seconds']:.0f} s")
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
