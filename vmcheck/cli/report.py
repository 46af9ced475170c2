"""`vmcheck report SPEC -o FILE.html|FILE.md`: the printed proof report.

Exit 0 when the report was written (whatever the verdict: the verdict is
what the report says, `vmcheck check` is the gate), 2 for a bad spec or call.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..analysis.results import THEOREMS
from ..analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT, check_limits
from ..errors import UserError
from ..hypervisor.campaign import CLASSIC, HYBRID
from ..report.proof import FORMATS, format_of, make_input, render
from .common import SPEC


@click.command()
@click.argument("spec", type=SPEC)
@click.option("-o", "--output", required=True, metavar="FILE",
              help="FILE.html (self-contained, prints on A4) or FILE.md; '-' writes Markdown to stdout.")
@click.option("--format", "fmt", type=click.Choice(["auto", "html", "md"]), default="auto", show_default=True,
              help="Override the format the output's suffix implies.")
@click.option("--confirm", is_flag=True,
              help="Also run the sample programs, every witness and random programs under the reference VMM.")
@click.option("--context", default=None, metavar="NAME", help="Decide only this guest context.")
@click.option("--theorem", "theorems", type=click.Choice(list(THEOREMS)), multiple=True, default=("1",),
              show_default=True, help="Argue this theorem instruction by instruction (repeatable).")
@click.option("--brief", is_flag=True,
              help="Verdict, violations and findings only: no tables per instruction, no appendix (for CI summaries).")
@click.option("--vmm", type=click.Choice([CLASSIC, HYBRID]), default=CLASSIC, show_default=True,
              help="With --confirm: the VMM to run under.")
@click.option("--fuzz", "fuzz_n", type=click.IntRange(0), default=50, show_default=True,
              help="With --confirm: how many random guest programs to run.")
@click.option("--seed", type=int, default=0, show_default=True, help="With --confirm: the fuzzer's seed.")
@click.option("--max-steps", type=click.IntRange(1), default=10_000, show_default=True,
              help="With --confirm: guest instructions per program run.")
@click.option("--budget", type=int, default=DEFAULT_BUDGET, show_default=True, metavar="N",
              help="Solver resource units (z3 rlimit) per query; a query that exhausts them is 'unknown', "
                   "the same on any machine at any load.")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, metavar="S",
              help="Wall-clock safety net per solver call, seconds (the budget decides; this stops a runaway call).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None, metavar="N",
              help="Solver processes (default: the core count).")
@click.option("--no-cache", is_flag=True, help="Do not reuse cached solver results.")
def report(spec, output, fmt, confirm, context, theorems, brief, vmm, fuzz_n, seed, max_steps, budget, timeout, jobs,
           no_cache):
    """Write the proof report for SPEC: the ISA at a glance, the model and
    Theorems 1-3, the verdict per theorem and guest context, each
    instruction's proof obligation and how it was discharged (the unsat
    queries, or a witness as before/after tables), the contradicted labels,
    and with --confirm what the reference VMM observed. The header names the
    spec file's SHA-256 and the vmcheck version."""
    check_limits(budget, timeout)
    if fmt == "auto":
        if output == "-":
            fmt = "md"
        else:
            fmt = format_of(output)
            if fmt is None:
                raise UserError(f"cannot tell the report format from '{output}': name a file ending in "
                                f"{', '.join(FORMATS)}, or give --format html|md")
    inp = make_input(spec, context=context, theorems=theorems, timeout=timeout, budget=budget, jobs=jobs, use_cache=not no_cache,
                     confirm=confirm, vmm=vmm, fuzz=fuzz_n, seed=seed, max_steps=max_steps, brief=brief)
    text = render(inp, fmt)
    if output == "-":
        click.echo(text, nl=False)
        return
    out = Path(output)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot write the report to {output}: {e.strerror}") from None
    v = inp.report.verdicts["1"].holds
    verdict = {True: "holds", False: "fails", None: "is undecided"}[v]
    click.echo(f"{output}: {fmt} proof report of {inp.report.isa} (Theorem 1 {verdict})", err=True)
