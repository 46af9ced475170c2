"""Reader scaling: the `.isa` lexer on long bodies, and rendering many diagnostics.

    /work/venv/bin/python bench/bench_readers.py

Prints seconds per case. Before the lexer fix, a 59 KB one-line body took
16.6 s (the lexer tried every pattern to the end of the line at each token);
before the diagnostics fix, 20,000 errors re-read the spec 20,000 times.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmcheck.errors import SpecError  # noqa: E402
from vmcheck.spec.isa_format import EXAMPLE, read_isa  # noqa: E402


def body_spec(n_stmts: int, one_line: bool) -> str:
    sep = "; " if one_line else "\n  "
    body = sep.join(f"r[rd] = r[rd] + {i}" for i in range(n_stmts))
    return EXAMPLE + f"instruction big(rd: reg) {{ {body} }}\n"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    for n, one_line in ((1000, True), (2800, True), (2800, False), (20000, False)):
        text = body_spec(n, one_line)
        longest = max(len(ln) for ln in text.splitlines())
        t = timed(lambda: read_isa(text, "big.isa"))
        print(f".isa body of {n} statements ({len(text):,} bytes, longest line {longest:,}): {t:.2f} s")
    # 20,000 errors in one file, rendered the way the CLI does.
    path = Path("/tmp/vmcheck-bench-errors.yaml")
    path.write_text("x: 1\n" * 20000)
    from vmcheck.errors import Diagnostic, Span

    err = SpecError([Diagnostic(Span(str(path), i + 1, 1), "bad") for i in range(20000)])
    t = timed(lambda: err.render())
    print(f"render 20,000 diagnostics of one file: {t:.2f} s")


if __name__ == "__main__":
    main()
