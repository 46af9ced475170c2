"""Simulator speed: median guest instructions per second on a pg-toy loop.

    python bench/bench_sim.py [--steps N] [--repeat R] [--trace]

Runs an endless four-instruction loop (two adds, a not-taken branch, a jump)
in supervisor mode for N steps, R times, and prints the median rate of the
fast loop (`Machine.run`); `--trace` also measures the step-by-step path
that tracing uses. Compilation and the first decode are outside the timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmcheck.machine import Machine, assemble  # noqa: E402
from vmcheck.spec.load import load_spec  # noqa: E402

LOOP = """
        .org 16
start:  li   r4, 1
        li   r3, -1
loop:   add  r2, r2, r4
        add  r1, r1, r2
        beq  r2, r3, start
        jmp  loop
"""


def measure(machine: Machine, steps: int, repeat: int, trace: bool) -> tuple[list[float], list[float]]:
    """Rates by wall-clock time and by this process's CPU time (steadier on a
    busy machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        machine.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        result = machine.run(steps, trace=(lambda ev: None) if trace else None)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        assert result.steps == steps, result
        wall.append(steps / dt)
        cpu.append(steps / max(dc, 1e-9))
    return wall, cpu


def report(what: str, rates: tuple[list[float], list[float]]) -> None:
    wall, cpu = rates
    print(
        f"{what}: median {statistics.median(wall) / 1e6:.2f} M guest instructions/s "
        f"(min {min(wall) / 1e6:.2f}, max {max(wall) / 1e6:.2f}; by CPU time {statistics.median(cpu) / 1e6:.2f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--trace", action="store_true", help="also time the traced (step-by-step) path")
    args = ap.parse_args()

    isa = load_spec("pg-toy")
    machine = Machine(isa)
    machine.load_image(assemble(isa, LOOP, "<bench>").image)
    machine.run(1000)  # warm up: decode the loop once

    report(f"pg-toy loop, {args.steps} steps x {args.repeat}", measure(machine, args.steps, args.repeat, False))
    if args.trace:
        report("traced (step-by-step) path", measure(machine, max(1, args.steps // 10), args.repeat, True))


if __name__ == "__main__":
    main()
