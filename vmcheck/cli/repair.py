"""`vmcheck repair SPEC`: the smallest change to the ISA that makes a theorem
hold in a guest context: the entries (or the operand values of an entry)
that must trap there, each with the guard to add (issue 18, item 2; the
search is described in `remedy/repair.py`).

Exit code: 0 a repair was found and the repaired spec passes, 1 none was
found, 2 a bad spec or call, 3 undecided (a solver timeout).
"""

from __future__ import annotations

import json

import click

from ..errors import UserError
from ..remedy.repair import repair as find_repair
from ..remedy.specedit import read_spec, write_spec
from ..spec.build import build_isa
from .common import limits, remedy_options, spec_argument, verb


@verb(
    exits=[
        ("0", "a repair was found and the repaired spec passes"),
        ("1", "none was found"),
        ("3", "undecided: an exhausted solver budget"),
    ],
    examples=["vmcheck repair pg-toy-broken --write pg-toy-fixed.yaml"],
)
@spec_argument()
@remedy_options(
    theorem_help="The theorem the repair must make hold.", write_help="Write the repaired spec (.yaml or .isa)."
)
def repair(spec, theorem, context, out, fmt, budget, timeout, jobs, no_cache, quiet) -> None:
    """Propose the least set of instructions that must trap in the guest
    context for THEOREM to hold, each with the `require` line that makes it
    trap unless the mode is one the guest never runs in. Where a guard on an
    immediate operand's values suffices, only those instances are guarded.

    The repaired spec is decided by the engine, every instruction, before the
    repair is reported; --write OUT writes it.
    """
    budget, timeout = limits(budget, timeout)
    if out is not None and out.suffix not in (".yaml", ".yml", ".isa"):
        raise UserError(f"{out}: --write needs a .yaml, .yml or .isa file name")
    path, node = read_spec(spec)
    if out is not None:  # never the spec itself: --write OUT names a new file
        from .output import check_not_an_input

        check_not_an_input(str(out), [path])
    isa = build_isa(node, str(path))
    log = (lambda m: click.echo(f"  {m}", err=True)) if fmt == "text" else None
    res, fixed = find_repair(
        isa,
        node,
        context,
        theorem,
        source=str(path),
        timeout=timeout,
        budget=budget,
        jobs=jobs,
        use_cache=not no_cache,
        log=log,
    )
    if out is not None and res.holds:
        write_spec(fixed, out, path)
    if fmt == "json":
        doc = res.to_json()
        doc["written"] = str(out) if out is not None and res.holds else None
        click.echo(json.dumps(doc, indent=2))
    else:
        t = {"1": "Theorem 1", "3": "Theorem 3", "exact": "the exact condition"}[res.theorem]
        click.echo(
            f"{res.isa}, context {res.context}: {t}; guards trap unless {res.host_only}, with cause {res.cause_why}"
        )
        for g in res.guards:
            what = (
                "every instance"
                if g.operand is None
                else (f"only {g.operand} = " + ", ".join(f"{v:#x}" for v in g.values))
            )
            click.echo(f"  {g.instruction} ({what}): {g.line}")
            click.echo(f"      because: {g.reason}")
        click.echo(f"  {res.reason}")
        if out is not None and res.holds:
            click.echo(f"  written: {out}")
    raise SystemExit(0 if res.holds else 1 if res.holds is False else 3)
