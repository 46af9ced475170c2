"""Profile of the theorem engine: the time and z3 resource units of every query
of every (instruction, context) unit of the bundled specs, cold, in-process.

    python bench/profile_queries.py [SPEC...] [--budget N] [--timeout S] [--jobs N]
                                    [--top K] [--json FILE] [--strategy S] [--no-prepass]

Prints, per spec, the seconds of its units added up (the CPU it takes, not the
wall clock of `check`, which runs units in parallel) and the unknowns, then the
K slowest queries over all specs with the resource units (z3's `rlimit`
count) each spent: the figure the default budget is chosen from, since unlike
seconds it is the same on any machine at any load. `--json` writes every
query's row.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _unit(task):
    spec, insn_name, ctx_name, budget, timeout, strategy, use_prepass = task
    from vmcheck.analysis import queries as Q
    from vmcheck.analysis import solving

    solving.STRATEGY = strategy
    from vmcheck.semantics.symbolic import fresh_context
    from vmcheck.spec.load import load_spec

    isa = _load(spec, load_spec)
    fresh_context()
    t0, c0 = time.perf_counter(), time.process_time()
    kw = {"timeout": timeout, "use_prepass": use_prepass}
    if budget is not None:
        kw["budget"] = budget
    q = Q.InstructionQueries(isa, isa.instruction(insn_name), isa.context(ctx_name), **kw)
    R = q.run_all()
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = [
        {
            "spec": spec,
            "insn": insn_name,
            "ctx": ctx_name,
            "query": r.name,
            "status": r.status,
            "seconds": round(r.seconds, 4),
            "rlimit": getattr(r, "rlimit", 0),
            "skipped": r.skipped,
            "cases": getattr(r, "cases", 1),
        }
        for r in R.values()
    ]
    return spec, insn_name, ctx_name, total, cpu, rows


_ISAS: dict = {}


def _load(spec, load_spec):
    if spec not in _ISAS:
        _ISAS[spec] = load_spec(spec)
    return _ISAS[spec]


def main() -> None:
    from vmcheck.spec.library import bundled_names
    from vmcheck.spec.load import load_spec

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*", help="bundled spec names or paths (default: all bundled)")
    ap.add_argument(
        "--budget", type=int, default=None, help="z3 resource units per solver call (default: the engine's)"
    )
    ap.add_argument("--timeout", type=float, default=120.0, help="wall-clock safety net per solver call, seconds")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument(
        "--strategy",
        choices=["whole+fresh", "whole+incremental", "mono"],
        default="whole+fresh",
        help="how queries are solved (analysis.solving.STRATEGY): for comparing them",
    )
    ap.add_argument("--no-prepass", action="store_true", help="solve what the dependency pre-pass would decide")
    ap.add_argument("--only", action="append", default=None, metavar="INSN", help="only these instructions")
    args = ap.parse_args()
    specs = args.specs or bundled_names()
    tasks = []
    for spec in specs:
        isa = load_spec(spec)
        for insn in isa.instructions:
            if args.only and insn.name not in args.only:
                continue
            for ctx in isa.contexts:
                tasks.append((spec, insn.name, ctx.name, args.budget, args.timeout, args.strategy, not args.no_prepass))
    rows: list[dict] = []
    per_spec: dict[str, float] = {s: 0.0 for s in specs}
    per_cpu: dict[str, float] = {s: 0.0 for s in specs}
    t0 = time.perf_counter()
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            outs = list(pool.imap_unordered(_unit, tasks, chunksize=1))
    else:
        outs = [_unit(t) for t in tasks]
    for spec, _i, _c, total, cpu, rs in outs:
        per_spec[spec] += total
        per_cpu[spec] += cpu
        rows += rs
    wall = time.perf_counter() - t0
    print(f"{'spec':18} {'unit s':>8} {'cpu s':>8} {'queries':>8} {'solved':>7} {'unknown':>8}  max rlimit")
    for spec in specs:
        rs = [r for r in rows if r["spec"] == spec]
        solved = [r for r in rs if r["cases"] > 0 and not r["skipped"]]
        unk = [r for r in rs if r["status"] == "unknown"]
        mx = max((r["rlimit"] for r in rs if r["status"] != "unknown"), default=0)
        print(
            f"{spec:18} {per_spec[spec]:8.2f} {per_cpu[spec]:8.2f} {len(rs):8d} {len(solved):7d} {len(unk):8d}  {mx:,}"
        )
    print(
        f"all: {sum(per_spec.values()):.1f} unit-seconds, {sum(per_cpu.values()):.1f} CPU seconds, "
        f"{wall:.1f} s wall with --jobs {args.jobs}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"\nthe {args.top} slowest queries:")
    print(f"{'seconds':>8} {'rlimit':>14} {'status':8} {'cases':>5}  spec / instruction / context / query")
    for r in sorted(rows, key=lambda r: -r["seconds"])[: args.top]:
        print(
            f"{r['seconds']:8.2f} {r['rlimit']:14,} {r['status']:8} {r['cases']:5}  "
            f"{r['spec']} / {r['insn']} / {r['ctx']} / {r['query']}"
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
