"""`vmcheck paravirt SPEC PROGRAM`: the sites of a guest program a
paravirtualised guest must change, and the hypercall each becomes (issue 18,
item 4; see `remedy/paravirt.py`).

Exit code: 0 no site violates, 1 some do (listed), 2 a bad spec, program or
call, 3 undecided (an entry the program uses is undecided).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..analysis import UNKNOWN, check_isas
from ..errors import Diagnostic, SpecError, UserError
from ..remedy.paravirt import load_program, patched, sites
from .common import limits, load, remedy_options, spec_argument, verb


@verb(
    exits=[
        ("0", "no site of the program uses a violating instance"),
        ("1", "some sites do (listed, each with its hypercall)"),
        ("3", "undecided: an entry the program uses is undecided"),
    ],
    examples=["vmcheck paravirt pg-toy-broken isa_specs/pg-toy-broken/programs/getm.s --write getm-pv.s"],
)
@spec_argument()
@click.argument("program", type=click.Path(dir_okay=False, path_type=Path))
@remedy_options(
    theorem_help="The theorem whose violating instances must go.",
    write_help="Write the patched program: each site replaced by its hypercall.",
)
def paravirt(spec, program, theorem, context, out, fmt, budget, timeout, jobs, no_cache, quiet) -> None:
    """List the sites of guest PROGRAM (an assembly file) that use an
    instruction instance violating THEOREM in the guest context: address,
    source line, instruction, and the hypercall (the spec's trap instruction
    with a code) it must become; say when the violation depends on operand
    values. --write OUT emits the patched program.
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
    if fmt == "json":
        doc = res.to_json()
        doc["written"] = str(out) if out is not None else None
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
    raise SystemExit(1 if res.sites else 3 if undecided else 0)
