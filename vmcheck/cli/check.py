"""`vmcheck check SPEC...`: classify every instruction, decide Theorems 1–3
and the exact condition per guest context, print the verdict.

Exit code (decided from the reports in `results.combined_exit_code`): 0 the
asked theorem holds for every spec, 1 it fails for one, 2 a bad spec or
call, 3 undecided (an exhausted solver budget the verdict depends on).
"""

from __future__ import annotations

import json
import sys

import click

from ..theory import (
    CONTEXT_CLASS_RECORDS,
    NO,
    THEOREM_BY_KEY,
    THEOREM_RECORDS,
    THEOREM_TITLES,
    THEOREMS,
    UNKNOWN,
    YES,
    class_table_legend,
)
from .common import (
    SPEC,
    context_option,
    format_option,
    load,
    solver_options,
    verb,
)

THEOREM_CHOICES = list(THEOREMS)

_MARK = {True: "[green]✓ holds[/]", False: "[red]✗ fails[/]", None: "[yellow]? undecided[/]"}
_CELL = {YES: "[bold]yes[/]", NO: "[dim]no[/]", UNKNOWN: "[yellow]?[/]"}
_VIOLATES = {YES: "[red]✗[/]", NO: "[green]✓[/]", UNKNOWN: "[yellow]?[/]"}  # a theorem column's cell


def run_checks(specs, *, context, timeout, budget, jobs, use_cache, quiet: bool, verb_name: str = "check") -> list:
    """Load the specs and decide them, with progress on stderr."""
    from ..analysis import check_isas
    from .interrupt import solver_ready
    from .progress import progress

    solver_ready()
    with progress(verb_name, quiet=quiet) as rep:
        rep.stage("loading")
        isas = [load(s) for s in specs]
        rep.stage("solving")
        reports = check_isas(
            isas, context=context, timeout=timeout, budget=budget, jobs=jobs, use_cache=use_cache, progress=rep.update
        )
    if context is None and use_cache:
        _record_verdicts(isas, reports)
    return reports


def _record_verdicts(isas, reports) -> None:
    """Remember each whole spec's verdicts for `vmcheck specs`."""
    from pathlib import Path

    from .verdicts import record

    for isa, r in zip(isas, reports):
        if isa.source and Path(isa.source).is_file():
            record(Path(isa.source), {t: r.verdicts[t].holds for t in THEOREM_CHOICES})


@verb(
    exits=[
        ("0", "the asked theorem holds (for every SPEC)"),
        ("1", "it fails: some instance violates it in every guest context"),
        ("3", "undecided: a solver timeout the verdict depends on (raise --timeout)"),
    ],
    examples=["vmcheck check pg-toy", "vmcheck check isa/my.yaml --theorem exact --format sarif > out.sarif"],
)
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=SPEC)
@click.option(
    "--theorem",
    "theorem",
    type=click.Choice(THEOREM_CHOICES),
    default="1",
    show_default=True,
    help="The theorem the exit code reports on.",
)
@context_option
@format_option(
    "text", "json", "sarif", help="json: the report (schema check.schema.json); sarif: SARIF 2.1.0 for code scanning."
)
@solver_options
def check(specs, theorem, context, fmt, budget, timeout, jobs, no_cache, quiet) -> None:
    """Decide whether each SPEC is virtualizable: Popek & Goldberg's Theorems
    1 (VMM), 2 (recursive VMM) and 3 (hybrid VMM) and the exact
    trap-and-emulate condition, per guest context, with a witness or a proof
    for every class of every instruction."""
    from ..analysis import combined_exit_code, default_jobs
    from ..report.sarif import github_annotations, in_github_actions, sarif
    from .common import limits

    budget, timeout = limits(budget, timeout)
    reports = run_checks(
        specs,
        context=context,
        timeout=timeout,
        budget=budget,
        jobs=jobs or default_jobs(),
        use_cache=not no_cache,
        quiet=quiet,
    )
    code = combined_exit_code(reports, theorem)
    if in_github_actions():  # annotations on the spec's lines in the workflow run
        for line in github_annotations(reports, theorem):
            click.echo(line, err=True)
    if fmt == "sarif":
        click.echo(json.dumps(sarif(reports, theorem), indent=2))
    elif fmt == "json":
        docs = [r.to_json() for r in reports]
        out = docs[0] if len(docs) == 1 else docs
        click.echo(json.dumps(out, indent=2, sort_keys=False))
    else:
        from .render import console

        con = console()
        for r in reports:
            render_text(con, r, theorem)
        if len(reports) > 1:
            con.print(f"[bold]overall[/]: exit {code}")
    sys.exit(code)


# --------------------------------------------------------------------------
# Text rendering
# --------------------------------------------------------------------------


def _why(res, t: str) -> str:
    """The most telling class that makes `res` violate theorem `t`, in words."""
    for c in THEOREM_BY_KEY[t].judged_on:
        if res.classes[c].value == YES:
            return c.replace("_", " ")
    return "sensitive"


def render_text(console, r, theorem: str = "1") -> None:
    from rich.markup import escape
    from rich.table import Table

    from .render import say

    src = f" [dim]({escape(r.source)})[/]" if r.source else ""
    console.print(f"[bold]{escape(r.isa)}[/]{src}")
    for t in THEOREMS:
        v = r.verdicts[t]
        where = f" in context [bold]{escape(v.context)}[/]" if v.context else ""
        star = " [dim](asked)[/]" if t == theorem else ""
        console.print(f"  {THEOREM_TITLES[t]}: {_MARK[v.holds]}{where}{star}")
    for c in r.contexts:
        modes = ", ".join(f"{v}→{rm}" for v, rm in c.modes.items())
        console.print()
        console.print(
            f"[bold]context {escape(c.name)}[/] {{{escape(modes)}}}"
            + (f" [dim]— {escape(c.description)}[/]" if c.description else "")
        )
        for t in THEOREMS:
            tr = c.theorems[t]
            console.print(f"  {THEOREM_TITLES[t]}: {_MARK[tr.holds]}")
        offenders: list[tuple[str, str]] = []  # (instruction, the first theorem it violates)
        for t in THEOREMS:
            for name in c.theorems[t].violations:
                if name not in [o[0] for o in offenders]:
                    offenders.append((name, t))
        if offenders:
            console.print("  [bold]offending instructions[/]:")
            for name, t in offenders:
                res = c.instruction(name)
                ts = ", ".join(x for x in THEOREMS if res.violates[x].value == YES)
                cls = _why(res, t)
                reason = res.violates[t].reason
                say(
                    console,
                    f"[red]✗[/] [bold]{escape(name)}[/] {escape(f'[{cls}; violates {ts}]')}: {escape(reason)}",
                    4,
                )
        unknown = sorted({n for t in THEOREMS for n in c.theorems[t].unknown})
        if unknown:
            console.print(f"  [yellow]undecided (solver budget exhausted)[/]: {escape(', '.join(unknown))}")
        if c.note:
            console.print(f"  [cyan]note[/]: {escape(c.note)}")
        # One space between columns and headers of at most 5 letters: 13 verdict columns take
        # 57 columns, leaving 22 for the instruction's name (a longer name folds, headers never shrink).
        table = Table(
            show_header=True,
            header_style="bold",
            box=None,
            pad_edge=False,
            padding=(0, 0, 0, 1),
            caption=class_table_legend(),
            caption_justify="left",
            caption_style="dim",
        )
        table.add_column("instruction", overflow="fold", ratio=1)
        columns = [(cl.key, cl.abbrev) for cl in CONTEXT_CLASS_RECORDS if cl.abbrev is not None]
        for _, head in columns:
            table.add_column(head, justify="center", no_wrap=True, min_width=len(head))
        for th in THEOREM_RECORDS:
            table.add_column(th.column, justify="center", no_wrap=True, min_width=len(th.column))
        for res in c.instructions:
            row = [escape(res.name)] + [_CELL[res.classes[key].value] for key, _ in columns]
            row += [_VIOLATES[res.violates[t].value] for t in THEOREMS]
            table.add_row(*row)
        console.print(table)
    if r.labels:
        console.print()
        console.print("[bold]declared labels contradicted by the semantics[/]:")
        for f in r.labels:
            line = f":{f.line}" if f.line else ""
            console.print(
                f"  [magenta]![/] {escape(f.instruction)}{line} labelled [bold]{escape(f.label)}[/] "
                f"in {escape(f.context)}: {escape(f.derived)} — {escape(f.reason)}"
            )
    stats = r.stats
    console.print(
        f"[dim]{stats.get('units', 0)} units, {stats.get('cached', 0)} cached, "
        f"{stats.get('solver_calls', 0)} solver calls, {r.seconds:.1f}s[/]"
    )
    v = r.verdicts[theorem]
    console.print(
        f"[bold]verdict[/]: {escape(r.isa)}: {THEOREM_TITLES[theorem]} {_MARK[v.holds]}"
        + (f" (context {escape(v.context)})" if v.context else "")
        + f" → exit {r.exit_code(theorem)}"
    )
