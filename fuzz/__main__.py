"""`python -m fuzz [--cases N] [--seed S] [--timeout T] [--out REPORT.json] [--save DIR]`

Runs a seeded campaign (see fuzz/__init__.py) and prints one line per
outcome class; exits 1 if any case was an internal error, a hang or ran out
of memory. `VMCHECK_FUZZ_CASES` sets the number of cases when `--cases` is
not given (default 2000); `VMCHECK_FUZZ_MEMORY_MB` the address-space limit
(default 4096).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

from .runner import FAILURES, OUTCOMES, campaign


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz")
    ap.add_argument("--cases", type=int, default=int(os.environ.get("VMCHECK_FUZZ_CASES", "2000")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first case index (to resume or shard a run)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per CLI call before it counts as a hang")
    ap.add_argument("--out", type=Path, help="write the summary as JSON here")
    ap.add_argument("--save", type=Path, help="save every failing input here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    limit = int(os.environ.get("VMCHECK_FUZZ_MEMORY_MB", "4096")) << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.setrecursionlimit(1000)  # the interpreter's default: what a user's run has

    def progress(summary, res):
        if res.outcome in FAILURES and not args.quiet:
            print(
                f"case {res.index} [{res.category} {res.spec} {'+'.join(res.mutators)}]: {res.outcome}: {res.message}",
                file=sys.stderr,
                flush=True,
            )
        if summary.cases % 500 == 0:
            if not args.quiet:
                print(f"... {summary.cases} cases: {dict(summary.outcomes)}", file=sys.stderr, flush=True)
            if args.out:  # a long run can be stopped at any time with its findings so far
                ru = resource.getrusage(resource.RUSAGE_SELF)
                summary.peak_rss_mb = round(ru.ru_maxrss / 1024, 1)
                summary.cpu_seconds = round(ru.ru_utime + ru.ru_stime, 1)
                args.out.write_text(json.dumps(summary.to_json(), indent=1, default=str))

    s = campaign(args.seed, args.cases, args.timeout, args.save, args.start, progress)
    for o in OUTCOMES:
        print(f"{o:16} {s.outcomes.get(o, 0)}")
    print(f"cases {s.cases} in {s.seconds} s ({s.cpu_seconds} CPU s), peak RSS {s.peak_rss_mb} MB")
    if args.out:
        args.out.write_text(json.dumps(s.to_json(), indent=1, default=str))
    return 1 if any(s.outcomes.get(o) for o in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
