"""Reader scaling: the `.isa` lexer on long bodies, rendering many
diagnostics, the assembler on long blank runs, a YAML alias bomb.

    /work/venv/bin/python bench/bench_readers.py

Prints CPU seconds per case. Measured on the shared 2-core machine, CPU
seconds before -> after issue 15's fixes:
  .isa body on one line, 61 KB:         7.07 s -> 0.13 s  (the lexer ran every
                                        pattern, some to the end of the line, at each token)
  .isa body of 1,000 stmts, one line:   0.95 s -> 0.10 s
  .isa body of 20,000 stmts, 470 KB:    1.00 s -> 0.98 s  (linear before and after)
  render 20,000 diagnostics of a file:  9.59 s -> 0.03 s  (the file was re-read per error)
  assembler, 1,500 blanks in a line:    2.85 s -> <0.001 s (backtracking regex)
  YAML alias bomb (9^12 nodes):         no answer -> 0.06 s (an error after 10,000 expanded nodes)
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmcheck.errors import SpecError  # noqa: E402
from vmcheck.spec.isa_reader import EXAMPLE, read_isa  # noqa: E402


def body_spec(n_stmts: int, one_line: bool) -> str:
    sep = "; " if one_line else "\n  "
    body = sep.join(f"r[rd] = r[rd] + {i}" for i in range(n_stmts))
    return EXAMPLE + f"instruction big(rd: reg) {{ {body} }}\n"


def timed(fn) -> float:
    """CPU seconds: the machine is shared, and wall time measures the neighbours."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def main() -> None:
    for n, one_line in ((1000, True), (2800, True), (2800, False), (20000, False)):
        text = body_spec(n, one_line)
        longest = max(len(ln) for ln in text.splitlines())
        t = timed(partial(read_isa, text, "big.isa"))
        print(f".isa body of {n} statements ({len(text):,} bytes, longest line {longest:,}): {t:.2f} s")
    # 20,000 errors in one file, rendered the way the CLI does.
    path = Path("/tmp/vmcheck-bench-errors.yaml")
    path.write_text("x: 1\n" * 20000)
    from vmcheck.errors import Diagnostic, Span

    err = SpecError([Diagnostic(Span(str(path), i + 1, 1), "bad") for i in range(20000)])
    t = timed(lambda: err.render())
    print(f"render 20,000 diagnostics of one file: {t:.2f} s")

    from vmcheck.machine import assemble
    from vmcheck.spec.load import load_spec

    pg = load_spec("pg-toy")
    for n in (600, 1500, 9000):
        line = "add r1," + " " * n + "x\n"

        def run(line: str) -> None:
            try:
                assemble(pg, line, "p.s")
            except SpecError:
                pass

        print(f"assembler, a line with {n:,} blanks: {timed(partial(run, line)):.3f} s")

    from vmcheck.spec.yaml_reader import read_yaml

    bomb = "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        + [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 12)]
    )

    def load_bomb():
        try:
            read_yaml(bomb, "bomb.yaml")
        except SpecError:
            pass

    print(f"YAML alias bomb: {timed(load_bomb):.3f} s")


if __name__ == "__main__":
    main()
