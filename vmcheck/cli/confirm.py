"""`vmcheck confirm SPEC [PROGRAM...]`: show the verdict executing under the reference VMM."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT, check_limits
from ..analysis.engine import check_isas
from ..hypervisor.campaign import CLASSIC, HYBRID, Confirmation, confirm_context
from ..hypervisor.translate import TRANSLATE
from ..spec.library import programs as bundled_programs
from .common import SPEC, load


@click.command()
@click.argument("spec", type=SPEC)
@click.argument("programs", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--vmm", "kind", type=click.Choice([CLASSIC, HYBRID, TRANSLATE]), default=CLASSIC, show_default=True,
              help="classic trap-and-emulate, hybrid (interprets all of virtual supervisor mode), or translate "
                   "(binary translation: unsafe instances become calls into the VMM).")
@click.option("--context", help="Guest context to run in (default: every one).")
@click.option("--fuzz", "fuzz_n", type=click.IntRange(0), default=0, show_default=True,
              help="Also run this many random guest programs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fuzzer.")
@click.option("--max-steps", type=click.IntRange(1), default=10_000, show_default=True,
              help="Guest instructions per program run.")
@click.option("--witnesses/--no-witnesses", default=True, show_default=True,
              help="Replay the theorem engine's witnesses.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--budget", type=int, default=DEFAULT_BUDGET, show_default=True, metavar="N",
              help="Solver resource units (z3 rlimit) per query; a query that exhausts them is 'unknown', "
                   "the same on any machine at any load.")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
              help="Wall-clock safety net per solver call, seconds (the budget decides; this stops a runaway call).")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="Solver processes (default: the core count); also shards --fuzz programs (same results for any value).")
@click.option("--no-cache", is_flag=True, help="Do not reuse cached solver results.")
def confirm(spec, programs, kind, context, fuzz_n, seed, max_steps, witnesses, fmt, budget, timeout, jobs, no_cache):
    """Run SPEC's sample programs (or PROGRAMs), the engine's witnesses and random
    programs natively and under the reference VMM, and judge what happens
    against every verdict of the theorem engine.

    \b
    Exit codes:
      0  confirmed: nothing contradicts the engine, and every violation of
         the theorem the VMM is judged by (exact condition: classic VMM;
         Theorem 3: hybrid) was shown executing
      1  a contradiction: a divergence or resource-control breach at an
         instruction the engine proved innocent of it, or an emulation
         that differs from native execution
      2  bad input (spec, program or call)
      3  internal error
      4  no contradiction, but some violations were not reproduced (each
         is listed with the reason)

    A guest that enters a mode its context does not map, through a trap
    the VMM handled, ends its run: a limit of the context, not a violation
    (the verdicts are about states in the context). Entering it without a
    trap is a resource-control breach."""
    isa = load(spec)
    check_limits(budget, timeout)
    report = check_isas([isa], context=context, timeout=timeout, budget=budget, jobs=jobs, use_cache=not no_cache)[0]
    paths = [Path(p) for p in programs] or bundled_programs(spec) or \
        sorted((Path(isa.source).parent / "programs").glob("*.s"))
    results = [
        confirm_context(isa, ctx, kind=kind, programs=paths, fuzz_programs=fuzz_n, seed=seed,
                        max_steps=max_steps, witnesses=witnesses, jobs=jobs or 1)
        for ctx in report.contexts
    ]
    if fmt == "json":
        click.echo(json.dumps({"isa": isa.name, "source": isa.source, "vmm": kind,
                               "theorem1": report.verdicts["1"].to_json(),
                               "contexts": [r.to_json() for r in results],
                               "agrees": all(r.agrees for r in results),
                               "confirmed": all(r.confirmed for r in results)}, indent=2, sort_keys=True))
    elif fmt == "junit":
        from ..report.junit import confirmation_junit

        click.echo(confirmation_junit(isa, results))
    else:
        _print(isa, report, results)
    sys.exit(exit_code(results))


def exit_code(results: list[Confirmation]) -> int:
    if not all(r.agrees for r in results):
        return 1
    return 0 if all(r.confirmed for r in results) else 4


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _print(isa, report, results: list[Confirmation]) -> None:
    con = Console()
    for r in results:
        t1 = "holds" if not r.theorem1_violations else "fails: " + ", ".join(r.theorem1_violations)
        judged = "exact condition" if r.judged_by == "exact" else "Theorem 3"
        engine = "holds" if not r.engine_violations else "fails: " + ", ".join(r.engine_violations)
        con.print(f"[bold]{isa.name}[/bold], context [bold]{r.context}[/bold], {r.vmm} VMM")
        con.print(f"  engine: {judged} {engine}; Theorem 1 {t1}")
        if r.programs:
            table = Table(title="sample programs", title_justify="left")
            for col in ("program", "steps", "direct", "emulated (priv)", "emulated (other)", "reflected",
                        "interpreted", "breaches", "result"):
                table.add_column(col)
            for p in r.programs:
                c, k = p.comparison, p.comparison.counters
                res = "[green]equivalent[/green]" if c.equivalent else f"[red]diverged[/red]: {c.divergence.summary(isa)}"
                table.add_row(p.name, str(c.steps), f"{k.direct} ({_pct(k.direct, c.steps)})",
                              str(k.emulated_privileged), str(k.emulated_other), str(k.reflected),
                              str(k.interpreted), str(len(k.breaches)), res)
            con.print(table)
        if r.replays:
            table = Table(title="witness replays", title_justify="left")
            for col in ("instruction", "operands", "expect", "VMM ran it", "observed"):
                table.add_column(col)
            for rp in r.replays:
                ops = ", ".join(f"{k}={v:#x}" for k, v in rp.operands.items())
                expect = "divergence" if rp.purpose == "violation" else "same as native"
                if rp.diverged:
                    seen = "diverged: " + "; ".join(f"{d.what} native {d.native} / virtual {d.virtual}"
                                                    for d in rp.differences[:2])
                else:
                    seen = "same as native" + (f" ({rp.note})" if rp.note else "")
                colour = "green" if rp.agrees else ("yellow" if rp.purpose == "violation" else "red")
                table.add_row(rp.insn, ops, expect, rp.how, f"[{colour}]{seen}[/{colour}]")
            con.print(table)
        if r.fuzz is not None:
            f = r.fuzz
            direct = f.counters.get("direct", 0)
            con.print(f"  fuzz: {f.programs} programs, {f.steps} guest instructions, "
                      f"{direct} run directly ({_pct(direct, f.steps)}), "
                      f"{f.counters.get('emulated_privileged', 0)} emulated privileged, "
                      f"{f.counters.get('emulated_other', 0)} emulated other trapped instances, "
                      f"{f.counters.get('reflected', 0)} reflected; {len(f.findings)} diverging instruction(s)")
            for finding in f.findings:
                what = "resource-control breach" if finding.divergence.breach else "diverged"
                con.print(f"    [red]{finding.divergence.insn}[/red] {what} (program {finding.seed}, shrunk): "
                          f"{finding.divergence.summary(isa)}")
                con.print("      " + finding.listing.replace("\n", "\n      "))
        tot = r.totals()
        con.print(f"  VMM properties: efficiency {tot.get('direct', 0)} direct of "
                  f"{sum(tot.get(k, 0) for k in ('direct', 'emulated_privileged', 'emulated_other', 'reflected', 'interpreted'))}"
                  f" guest instructions; resource control: {tot.get('resource_control_breaches', 0)} breach(es); "
                  f"equivalence: {len(r.observed)} diverging instruction(s)"
                  + (f" ({', '.join(r.observed)})" if r.observed else ""))
        if r.left_context:
            con.print(f"  {r.left_context} run(s) ended when the guest, through a trap the VMM handled, entered a "
                      "mode this context does not map: a limit of the context (no verdict is about states "
                      "outside it), not a violation")
        for d in r.decided:
            con.print(f"  [yellow]decided by observation[/yellow]: {d}")
        for n in r.unconfirmed:
            con.print(f"  [yellow]not shown executing[/yellow]: {n}: {r.unconfirmed_reasons.get(n, '')}")
        if r.confirmed:
            con.print("  [green]observation agrees with the engine: confirmed[/green]\n")
        elif r.agrees:
            con.print("  [green]observation agrees with the engine[/green] (some violations not reproduced)\n")
        else:
            for c in r.contradictions:
                con.print(f"  [red]contradiction[/red]: {c}")
            con.print()
