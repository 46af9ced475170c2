"""Benchmark: what binary translation costs against the classic VMM.

    python bench/bench_translate.py [SPEC...] [--fuzz N] [--seed S] [--repeat N]

For each spec and guest context, the sample programs and N fuzzed programs are
run natively and under the classic and the translating VMM (the engine's
verdict is computed first and served from the cache, so it is not timed).
Printed per VMM: the median wall-clock seconds of the runs, guest
instructions, instructions run directly, VMM entries (emulations and
reflections; for translate, calls into the VMM for replaced instances),
instructions translated and blocks scanned, and the diverging instructions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vmcheck.analysis import check_isas  # noqa: E402 (after the sys.path line)
from vmcheck.hypervisor.campaign import CLASSIC, confirm_context  # noqa: E402 (after the sys.path line)
from vmcheck.hypervisor.translate import TRANSLATE  # noqa: E402 (after the sys.path line)
from vmcheck.spec.library import programs  # noqa: E402 (after the sys.path line)
from vmcheck.spec.load import load_spec  # noqa: E402 (after the sys.path line)


def measure(spec: str, fuzz: int, seed: int, repeat: int) -> None:
    isa = load_spec(spec)
    rep = check_isas([isa])[0]
    for ctx in rep.contexts:
        for kind in (CLASSIC, TRANSLATE):
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                c = confirm_context(
                    isa, ctx, kind=kind, programs=programs(spec), fuzz_programs=fuzz, seed=seed, witnesses=False
                )
                times.append(time.perf_counter() - t0)
            t = c.totals()
            steps = sum(
                v
                for k, v in t.items()
                if k in ("direct", "emulated_privileged", "emulated_other", "reflected", "interpreted")
            )
            entries = steps - t.get("direct", 0)
            print(
                f"{spec:12} {ctx.name:18} {kind:9} {statistics.median(times):7.2f} s  steps {steps:7}  "
                f"direct {t.get('direct', 0):7}  vmm entries {entries:7}  translated {t.get('translated', 0):6}  "
                f"blocks {t.get('blocks_scanned', 0):5}  diverging {','.join(c.observed) or '-'}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", default=["pg-toy-broken", "pdp10", "x86-32", "armv7-a"])
    ap.add_argument("--fuzz", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    for spec in a.specs:
        measure(spec, a.fuzz, a.seed, a.repeat)


if __name__ == "__main__":
    main()
