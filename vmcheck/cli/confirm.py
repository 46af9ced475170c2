"""`vmcheck confirm SPEC [PROGRAM...]`: show the verdict executing under the reference VMM."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import INPUT_FILE, context_option, format_option, load, solver_options, spec_argument, verb

CLASSIC, HYBRID, TRANSLATE = "classic", "hybrid", "translate"  # the VMM kinds of vmcheck.hypervisor


@verb(
    exits=[
        (
            "0",
            "confirmed: nothing contradicts the engine, and every violation of the theorem "
            "the VMM is judged by (classic: exact condition; hybrid: Theorem 3) was shown executing",
        ),
        (
            "1",
            "a contradiction: a divergence or resource-control breach at an instruction the engine "
            "proved innocent of it, or an emulation that differs from native execution",
        ),
        ("4", "no contradiction, but some violations were not reproduced (each listed with the reason)"),
    ],
    examples=["vmcheck confirm pg-toy-broken --fuzz 500", "vmcheck confirm pdp10 --vmm hybrid --format junit"],
)
@spec_argument()
@click.argument("programs", nargs=-1, type=INPUT_FILE, metavar="[PROGRAM...]")
@click.option(
    "--vmm",
    "kind",
    type=click.Choice([CLASSIC, HYBRID, TRANSLATE]),
    default=CLASSIC,
    show_default=True,
    help="classic trap-and-emulate, hybrid (interprets all of virtual supervisor mode), or translate "
    "(binary translation: unsafe instances become calls into the VMM).",
)
@context_option
@click.option(
    "--fuzz",
    "fuzz_n",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Also run this many random guest programs.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fuzzer.")
@click.option(
    "--max-steps", type=click.IntRange(1), default=10_000, show_default=True, help="Guest instructions per program run."
)
@click.option(
    "--witnesses/--no-witnesses", default=True, show_default=True, help="Replay the theorem engine's witnesses."
)
@click.option(
    "--timer",
    type=click.IntRange(min=0),
    default=None,
    help="Period of the spec's interrupt sources in the sample programs, natively and for the guest "
    "under the VMM (0: off). Default: each source's own period.",
)
@format_option("text", "json", "junit", help="json: schema confirm.schema.json; junit: JUnit XML.")
@solver_options
def confirm(
    spec,
    programs,
    kind,
    context,
    fuzz_n,
    seed,
    max_steps,
    witnesses,
    timer,
    fmt,
    budget,
    timeout,
    jobs,
    no_cache,
    quiet,
):
    """Run SPEC's sample programs (or PROGRAMs), the engine's witnesses and random
    programs natively and under the reference VMM, and judge what happens
    against every verdict of the theorem engine. --jobs also shards the --fuzz
    programs (the same results for any value).

    A guest that enters a mode its context does not map, through a trap
    the VMM handled, ends its run: a limit of the context, not a violation
    (the verdicts are about states in the context). Entering it without a
    trap is a resource-control breach."""
    from ..analysis.engine import check_isas
    from ..hypervisor.campaign import confirm_context
    from ..spec.library import programs as bundled_programs
    from .common import limits
    from .interrupt import solver_ready
    from .progress import progress

    budget, timeout = limits(budget, timeout)
    solver_ready()

    with progress("confirm", quiet=quiet) as rep:
        rep.stage("loading")
        isa = load(spec)
        rep.stage("solving")
        report = check_isas(
            [isa],
            context=context,
            timeout=timeout,
            budget=budget,
            jobs=jobs,
            use_cache=not no_cache,
            progress=rep.update,
        )[0]
        paths = (
            [Path(p) for p in programs]
            or bundled_programs(spec)
            or sorted((Path(isa.source).parent / "programs").glob("*.s"))
        )
        results = []
        for ctx in report.contexts:
            rep.stage(f"running under the VMM ({ctx.name})")
            results.append(
                confirm_context(
                    isa,
                    ctx,
                    kind=kind,
                    programs=paths,
                    fuzz_programs=fuzz_n,
                    seed=seed,
                    max_steps=max_steps,
                    witnesses=witnesses,
                    jobs=jobs or 1,
                    progress=rep.update,
                    timer=timer,
                )
            )
            if kind == TRANSLATE and paths:  # what translation cost, against the classic VMM
                from ..hypervisor.translate import measure_cost
                from ..machine.assembler import assemble_file

                rep.stage(f"measuring the translation cost ({ctx.name})")
                images = [assemble_file(isa, p).image for p in paths]
                results[-1].cost = measure_cost(isa, isa.context(ctx.name), images, max_steps)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "isa": isa.name,
                    "source": isa.source,
                    "vmm": kind,
                    "theorem1": report.verdicts["1"].to_json(),
                    "contexts": [r.to_json() for r in results],
                    "agrees": all(r.agrees for r in results),
                    "confirmed": all(r.confirmed for r in results),
                },
                indent=2,
                sort_keys=True,
            )
        )
    elif fmt == "junit":
        from ..report.junit import confirmation_junit

        click.echo(confirmation_junit(isa, results))
    else:
        _print(isa, report, results)
    sys.exit(exit_code(results))


def exit_code(results: list) -> int:
    if not all(r.agrees for r in results):
        return 1
    return 0 if all(r.confirmed for r in results) else 4


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _print_cost(con, cost) -> None:
    """The translate VMM's cost against the classic VMM's on the same sample programs."""
    from rich.table import Table

    from .render import say

    table = Table(
        title=f"translation cost ({cost.programs} sample program(s), each VMM alone)",
        title_justify="left",
        box=None,
        pad_edge=False,
        padding=(0, 0, 0, 2),
        header_style="bold",
    )
    table.add_column("VMM", no_wrap=True)
    for col in ("instr.", "translated", "entries", "rescans", "time"):
        table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    for c in (cost.translate, cost.classic):
        classic = c.vmm == CLASSIC
        table.add_row(
            c.vmm,
            str(c.steps),
            "-" if classic else str(c.translated),
            str(c.entries),
            "-" if classic else str(c.rescans),
            f"{1000 * c.seconds:.2f} ms",
        )
    table.add_row("ratio", "", "", _ratio(cost.entries_ratio), "", _ratio(cost.time_ratio))
    con.print(table)
    say(
        con,
        "[dim]instr. guest instructions run · translated instances replaced by VMM calls · "
        "entries VMM entries (traps and calls) · ratio translate / classic[/dim]",
    )


def _print(isa, report, results) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .render import console, say

    con = console()
    for r in results:
        t1 = "holds" if not r.theorem1_violations else "fails: " + ", ".join(r.theorem1_violations)
        judged = "exact condition" if r.judged_by == "exact" else "Theorem 3"
        engine = "holds" if not r.engine_violations else "fails: " + ", ".join(r.engine_violations)
        con.print(f"[bold]{isa.name}[/bold], context [bold]{r.context}[/bold], {r.vmm} VMM")
        con.print(f"  engine: {judged} {engine}; Theorem 1 {t1}")
        if r.programs:
            # Counts only in the table (short columns fit 80); a divergence is told under it.
            table = Table(
                title="sample programs",
                title_justify="left",
                box=None,
                pad_edge=False,
                padding=(0, 0, 0, 2),
                header_style="bold",
            )
            table.add_column("program", overflow="fold", ratio=1)
            for col in ("steps", "direct", "emul.", "other", "refl.", "interp.", "breach"):
                table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
            table.add_column("result", no_wrap=True, min_width=8)
            diverged = []
            for p in r.programs:
                c, k = p.comparison, p.comparison.counters
                res = "[green]same[/green]" if c.equivalent else "[red]diverged[/red]"
                if not c.equivalent:
                    diverged.append(f"{p.name}: {c.divergence.summary(isa)}")
                table.add_row(
                    escape(p.name),
                    str(c.steps),
                    f"{k.direct} ({_pct(k.direct, c.steps)})",
                    str(k.emulated_privileged),
                    str(k.emulated_other),
                    str(k.reflected),
                    str(k.interpreted),
                    str(len(k.breaches)),
                    res,
                )
            con.print(table)
            say(
                con,
                "[dim]emul. privileged instructions emulated · other other trapped instances "
                "emulated · refl. traps reflected to the guest · interp. interpreted[/dim]",
            )
            for line in diverged:
                say(con, f"[red]diverged[/red] {escape(line)}")
        if r.cost is not None:
            _print_cost(con, r.cost)
        if r.replays:
            con.print("witness replays")
            for rp in r.replays:
                ops = ", ".join(f"{k}={v:#x}" for k, v in rp.operands.items())
                expect = "divergence" if rp.purpose == "violation" else "same as native"
                if rp.diverged:
                    seen = "diverged: " + "; ".join(
                        f"{d.what} native {d.native} / virtual {d.virtual}" for d in rp.differences[:2]
                    )
                else:
                    seen = "same as native" + (f" ({rp.note})" if rp.note else "")
                colour = "green" if rp.agrees else ("yellow" if rp.purpose == "violation" else "red")
                mark = "✓" if rp.agrees else "✗"
                say(
                    con,
                    f"[{colour}]{mark}[/{colour}] [bold]{escape(rp.insn)}[/bold]"
                    f"{escape(f' ({ops})') if ops else ''}: expected {expect}; VMM: {escape(rp.how)}; "
                    f"[{colour}]{escape(seen)}[/{colour}]",
                )
        if r.fuzz is not None:
            f = r.fuzz
            direct = f.counters.get("direct", 0)
            con.print(
                f"  fuzz: {f.programs} programs, {f.steps} guest instructions, "
                f"{direct} run directly ({_pct(direct, f.steps)}), "
                f"{f.counters.get('emulated_privileged', 0)} emulated privileged, "
                f"{f.counters.get('emulated_other', 0)} emulated other trapped instances, "
                f"{f.counters.get('reflected', 0)} reflected; {len(f.findings)} diverging instruction(s)"
            )
            for finding in f.findings:
                what = "resource-control breach" if finding.divergence.breach else "diverged"
                con.print(
                    f"    [red]{finding.divergence.insn}[/red] {what} (program {finding.seed}, shrunk): "
                    f"{finding.divergence.summary(isa)}"
                )
                con.print("      " + finding.listing.replace("\n", "\n      "))
        tot = r.totals()
        con.print(
            f"  VMM properties: efficiency {tot.get('direct', 0)} direct of "
            f"{sum(tot.get(k, 0) for k in ('direct', 'emulated_privileged', 'emulated_other', 'reflected', 'interpreted'))}"
            f" guest instructions; resource control: {tot.get('resource_control_breaches', 0)} breach(es); "
            f"equivalence: {len(r.observed)} diverging instruction(s)"
            + (f" ({', '.join(r.observed)})" if r.observed else "")
            + _timer_text(tot)
        )
        if r.left_context:
            say(
                con,
                f"{r.left_context} run(s) ended when the guest, through a trap the VMM handled, entered a "
                "mode this context does not map: a limit of the context (no verdict is about states "
                "outside it), not a violation",
            )
        for d in r.decided:
            say(con, f"[yellow]decided by observation[/yellow]: {escape(d)}")
        for n in r.unconfirmed:
            say(con, f"[yellow]not shown executing[/yellow]: {escape(n)}: {escape(r.unconfirmed_reasons.get(n, ''))}")
        if r.confirmed:
            con.print("  [green]observation agrees with the engine: confirmed[/green]\n")
        elif r.agrees:
            con.print("  [green]observation agrees with the engine[/green] (some violations not reproduced)\n")
        else:
            for c in r.contradictions:
                con.print(f"  [red]contradiction[/red]: {c}")
            con.print()


def _timer_text(tot: dict[str, int]) -> str:
    """The VMM's timer exits and virtual interrupts injected, when there were any."""
    exits, injected = tot.get("timer_exits", 0), tot.get("interrupts_injected", 0)
    if not exits and not injected:
        return ""
    return f"; timer: {exits} exit(s) on the VMM's own timer, {injected} virtual interrupt(s) injected"
