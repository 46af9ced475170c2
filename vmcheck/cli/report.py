"""`vmcheck report SPEC -o FILE.html|FILE.md`: the printed proof report.

Exit 0 when the report was written (whatever the verdict: the verdict is
what the report says, `vmcheck check` is the gate), 2 for a bad spec or call.
"""

from __future__ import annotations

import click

from ..errors import UserError
from .common import context_option, guest_run_options, solver_options, spec_argument, verb

CLASSIC, HYBRID = "classic", "hybrid"  # the VMM kinds of vmcheck.hypervisor.campaign
THEOREMS = ("1", "2", "3", "exact")


@verb(
    exits=[("0", "the report was written, whatever the verdict (the gate is `check`)")],
    examples=["vmcheck report pg-toy -o pg-toy.html", "vmcheck report isa/my.yaml -o - --brief >> summary.md"],
)
@spec_argument()
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="FILE.html (self-contained, prints on A4) or FILE.md; '-' writes Markdown to stdout. "
    "Never the spec itself; written atomically.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "html", "md"]),
    default="auto",
    show_default=True,
    help="Override the format the output's suffix implies.",
)
@click.option(
    "--confirm",
    is_flag=True,
    help="Also run the sample programs, every witness and random programs under the reference VMM.",
)
@context_option
@click.option(
    "--theorem",
    "theorems",
    type=click.Choice(list(THEOREMS)),
    multiple=True,
    default=("1",),
    show_default=True,
    help="Argue this theorem instruction by instruction (repeatable).",
)
@click.option(
    "--brief",
    is_flag=True,
    help="Verdict, violations and findings only: no tables per instruction, no appendix (for CI summaries).",
)
@click.option(
    "--vmm",
    type=click.Choice([CLASSIC, HYBRID]),
    default=CLASSIC,
    show_default=True,
    help="With --confirm: the VMM to run under.",
)
@guest_run_options(
    fuzz_default=50,
    fuzz_help="With --confirm: how many random guest programs to run.",
    seed_help="With --confirm: the fuzzer's seed.",
    max_steps_help="With --confirm: guest instructions per program run.",
)
@click.option(
    "--remedies/--no-remedies",
    default=False,
    show_default=True,
    help="For each argued theorem that fails: the minimal host configuration (as `vmcheck configure`), the "
    "smallest ISA change (as `vmcheck repair`), the sites of the sample programs to paravirtualise (as "
    "`vmcheck paravirt`) and, with --confirm, the binary-translating VMM's cost. Each is decided again by "
    "the engine: tens of seconds to minutes more, so off unless asked.",
)
@solver_options
def report(
    spec,
    output,
    fmt,
    confirm,
    context,
    theorems,
    brief,
    vmm,
    fuzz_n,
    remedies,
    seed,
    max_steps,
    budget,
    timeout,
    jobs,
    no_cache,
    quiet,
):
    """Write the proof report for SPEC: the ISA at a glance, the model and
    Theorems 1-3, the verdict per theorem and guest context, each
    instruction's proof obligation and how it was discharged (the unsat
    queries, or a witness as before/after tables), the contradicted labels,
    with --confirm what the reference VMM observed, and with --remedies how
    to remedy a failing theorem. The header names the
    spec file's SHA-256 and the vmcheck version."""
    from .. import pipeline
    from ..report.proof import FORMATS, format_of, render
    from ..spec.load import resolve
    from .output import check_not_an_input, check_suffix, write_text
    from .progress import progress

    if fmt == "auto":
        if output == "-":
            fmt = "md"
        else:
            fmt = format_of(output)
            if fmt is None:
                raise UserError(
                    f"cannot tell the report format from '{output}': name a file ending in "
                    f"{', '.join(FORMATS)}, or give --format html|md"
                )
    from .common import limits
    from .interrupt import solver_ready

    budget, timeout = limits(budget, timeout)
    if output != "-":  # refuse before the minutes of solving, not after
        check_not_an_input(output, [resolve(spec)])
        check_suffix(output, fmt)
    with progress("report", quiet=quiet) as rep:
        rep.stage("solving")
        solver_ready()
        loaded = pipeline.load(spec)
        decided = pipeline.decide(
            loaded.isa,
            context=context,
            timeout=timeout,
            budget=budget,
            jobs=jobs,
            use_cache=not no_cache,
            progress=rep.update,
        )
        rep.stage("confirming" if confirm else "computing remedies" if remedies and not brief else "writing")
        inp = pipeline.proof_input(
            spec,
            loaded=loaded,
            theorems=theorems,
            timeout=timeout,
            budget=budget,
            confirm_vmm=confirm,
            vmm=vmm,
            fuzz=fuzz_n,
            seed=seed,
            max_steps=max_steps,
            brief=brief,
            report=decided,
            jobs=jobs,
            use_cache=not no_cache,
            with_remedies=remedies,
        )
        text = render(inp, fmt)
    if output == "-":
        click.echo(text, nl=False)
        return
    write_text(output, text)
    v = inp.report.verdicts["1"].holds
    verdict = {True: "holds", False: "fails", None: "is undecided"}[v]
    click.echo(f"{output}: {fmt} proof report of {inp.report.isa} (Theorem 1 {verdict})", err=True)
