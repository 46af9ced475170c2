"""`vmcheck paravirt SPEC PROGRAM`: the sites of a guest program a
paravirtualised guest must change, and the hypercall each becomes (issue 18,
item 4; see `remedy/paravirt.py`).

Exit code: 0 no site violates, 1 some do (listed), 2 a bad spec, program or
call, 3 undecided (an entry the program uses is undecided). With --confirm
the exit code is the confirmation's: 0 the patched program runs equivalently
under the classic VMM, 1 it diverges or cannot be made.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..analysis import UNKNOWN, check_isas
from ..errors import Diagnostic, SpecError, UserError
from ..remedy.paravirt import ParavirtConfirmation, load_program, patched, sites
from ..remedy.paravirt import confirm as confirm_patched
from .common import limits, load, remedy_options, spec_argument, verb


@verb(
    exits=[
        (
            "0",
            "no site of the program uses a violating instance; with --confirm: the patched "
            "program runs equivalently under the classic VMM (its hypercalls serviced)",
        ),
        (
            "1",
            "some sites do (listed, each with its hypercall); with --confirm: the patched "
            "program diverges, or the ISA has no hypercall instruction to patch it with",
        ),
        ("3", "undecided: an entry the program uses is undecided (not with --confirm)"),
    ],
    examples=[
        "vmcheck paravirt pg-toy-broken isa_specs/pg-toy-broken/programs/getm.s --write getm-pv.s",
        "vmcheck paravirt pg-toy-broken isa_specs/pg-toy-broken/programs/getm.s --confirm",
    ],
)
@spec_argument()
@click.argument("program", type=click.Path(dir_okay=False, path_type=Path))
@remedy_options(
    theorem_help="The theorem whose violating instances must go.",
    write_help="Write the patched program: each site replaced by its hypercall.",
)
@click.option(
    "--confirm",
    "confirm",
    is_flag=True,
    help="Run the original program natively and the patched one under the classic VMM, which "
    "services its hypercalls, and compare them as `confirm` does (the original under the "
    "classic VMM is shown too).",
)
@click.option(
    "--max-steps", type=click.IntRange(1), default=10_000, show_default=True, help="Guest instructions per run."
)
def paravirt(
    spec, program, theorem, context, out, fmt, budget, timeout, jobs, no_cache, quiet, confirm, max_steps
) -> None:
    """List the sites of guest PROGRAM (an assembly file) that use an
    instruction instance violating THEOREM in the guest context: address,
    source line, instruction, and the hypercall (the spec's trap instruction
    with a code) it must become; say when the violation depends on operand
    values. --write OUT emits the patched program; --confirm shows it running
    equivalently under the classic VMM.
    """
    budget, timeout = limits(budget, timeout)
    isa = load(spec)
    names = [c.name for c in isa.contexts]
    context = context or (names[0] if names else None)
    if context not in names:
        raise UserError(f"{isa.name} has no guest context '{context}' (its contexts: {', '.join(names) or 'none'})")
    prog, text = load_program(isa, program)
    if out is not None:  # never the program or the spec itself: --write OUT names a new file
        from ..spec.load import resolve
        from .output import check_not_an_input

        check_not_an_input(str(out), [Path(program), resolve(spec)])
    rep = check_isas([isa], context=context, timeout=timeout, budget=budget, jobs=jobs, use_cache=not no_cache)[0]
    res = sites(isa, rep, prog, text, context, theorem)
    undecided = [r.name for r in rep.context(context).instructions if r.violates[theorem].value == UNKNOWN]
    if out is not None:
        try:
            out.write_text(patched(text, res), encoding="utf-8")
        except OSError as e:
            raise SpecError(Diagnostic(None, f"cannot write {out}: {e.strerror}")) from None
    shown = confirm_patched(isa, context, prog, text, res, max_steps) if confirm else None
    if fmt == "json":
        doc = res.to_json()
        doc["written"] = str(out) if out is not None else None
        if shown is not None:
            doc["confirmation"] = shown.to_json(isa)
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(f"{program}: {res.reason}")
        for s in res.sites:
            click.echo(
                f"  {program}:{s.line}: {s.address:#x}  {s.text}  ->  {s.replacement or '(no hypercall)'}"
                f"  [{'violates' if s.violates == 'yes' else 'depends on operand values'}]"
            )
            click.echo(f"      {s.reason}")
        if out is not None:
            click.echo(f"  written: {out}")
        if shown is not None:
            _print_confirmation(isa, shown)
    if shown is not None:
        raise SystemExit(0 if shown.equivalent else 1)
    raise SystemExit(1 if res.sites else 3 if undecided else 0)


def _print_confirmation(isa, shown: ParavirtConfirmation) -> None:
    def outcome(c) -> str:
        if c.equivalent:
            return f"equivalent ({c.steps} steps, stopped: {c.virtual_stop or 'step limit'})"
        return f"diverged at {c.divergence.summary(isa)}"

    p, o = shown.patched, shown.original
    if p is None:
        click.echo(f"  confirm: no patched program to run ({isa.name} has no hypercall instruction)")
    else:
        click.echo(
            f"  confirm: the patched program under the classic VMM ({p.counters.hypercalls} hypercall(s) "
            f"serviced) against the original natively: {outcome(p)}"
        )
    click.echo(f"  the original program under the classic VMM: {outcome(o)}")
