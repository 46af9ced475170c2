"""`vmcheck configure SPEC`: the fewest bits of control state a VMM must pin
for a theorem to hold in a guest context (issue 18, item 1; the search is
described in `remedy/configure.py`).

Exit code: 0 a setting was found (and the engine decided the configured
context: the theorem holds there), 1 no setting exists, 2 a bad spec or call,
3 undecided (a solver timeout, or no answer within the round limit).
"""

from __future__ import annotations

import dataclasses
import json

import click

from ..analysis import check_isas
from ..errors import UserError
from ..remedy.configure import configure as synthesize
from ..remedy.configure import pinnable, where_of
from ..remedy.specedit import add_context, base_where, read_spec, write_spec
from ..spec.build import build_isa
from .common import limits, remedy_options, spec_argument, verb


@verb(
    exits=[
        ("0", "a setting was found and the engine decided the configured context: the theorem holds there"),
        ("1", "no setting of the pinnable control state makes the theorem hold"),
        ("3", "undecided: an exhausted solver budget, or no answer within the round limit"),
    ],
    examples=["vmcheck configure riscv --context trap_and_emulate --write riscv-conf.yaml"],
)
@spec_argument()
@remedy_options(
    theorem_help="The theorem the setting must make hold.",
    write_help="Write a copy of the spec with the configured context added (.yaml or .isa).",
)
def configure(spec, theorem, context, out, fmt, budget, timeout, jobs, no_cache, quiet) -> None:
    """Find the fewest control bits (TVM, IOPL, counter enables, ...) a VMM
    must pin for its guest so that THEOREM holds in a guest context, or prove
    that no setting does and name the instructions no setting makes trap.

    The pinnable state is the spec's control elements and named control
    fields other than the mode. The answer is decided by the engine on the
    configured context, every instruction, before it is reported.
    """
    budget, timeout = limits(budget, timeout)
    if out is not None and out.suffix not in (".yaml", ".yml", ".isa"):
        raise UserError(f"{out}: --write needs a .yaml, .yml or .isa file name")
    path, node = read_spec(spec)
    if out is not None:  # never the spec itself: --write OUT names a new file
        from .output import check_not_an_input

        check_not_an_input(str(out), [path])
    isa = build_isa(node, str(path))
    context = context or (isa.contexts[0].name if isa.contexts else None)
    if context is None:
        raise UserError(f"{isa.name} declares no guest context")
    if context not in [c.name for c in isa.contexts]:
        raise UserError(
            f"{isa.name} has no guest context '{context}' (its contexts: {', '.join(c.name for c in isa.contexts)})"
        )
    log = (lambda m: click.echo(f"  {m}", err=True)) if fmt == "text" else None
    name = f"{context}_configured"
    res = synthesize(
        isa,
        context,
        theorem,
        base_text=base_where(node, context),
        name=name,
        timeout=timeout,
        budget=budget,
        jobs=jobs,
        use_cache=not no_cache,
        log=log,
    )
    verified = None
    if res.found and res.setting:
        # The evidence: the engine decides the configured context, every instruction.
        pins, _ = pinnable(isa)
        if out is not None:
            written = write_spec(
                add_context(
                    node,
                    context,
                    name,
                    res.where,
                    f"{context} with the setting vmcheck configure found for Theorem {theorem}",
                ),
                out,
                path,
            )
        else:
            cand = dataclasses.replace(
                isa.context(context), name=name, where=where_of(isa.context(context).where, pins, res.setting)
            )
            written = dataclasses.replace(isa, contexts=isa.contexts + (cand,))
        rep = check_isas([written], context=name, timeout=timeout, budget=budget, jobs=jobs, use_cache=not no_cache)[0]
        verified = rep.context(name).theorems[theorem]
        res.verdict = verified
        if verified.holds is not True:
            res.found = None if verified.holds is None else False
            res.reason = f"the configured context does not pass when decided whole: {verified.reason}"
    if fmt == "json":
        doc = res.to_json()
        doc["written"] = str(out) if out is not None and res.found else None
        click.echo(json.dumps(doc, indent=2))
    else:
        _text(res, out)
    raise SystemExit(0 if res.found else 1 if res.found is False else 3)


def _text(res, out) -> None:
    t = {"1": "Theorem 1", "3": "Theorem 3", "exact": "the exact condition"}[res.theorem]
    click.echo(
        f"{res.isa}, context {res.context}: {t} "
        + ("holds" if res.base_holds else "fails" if res.base_holds is False else "undecided")
        + (f" ({', '.join(res.base_violations)})" if res.base_violations else "")
    )
    if res.found and not res.setting:
        click.echo("  nothing to pin: it holds as the context is")
    elif res.found:
        click.echo(f"  minimal setting ({res.pinned_bits} bit(s) pinned, {len(res.candidates)} candidate(s) tried):")
        for k, v in res.setting.items():
            click.echo(f"    {k} = {v:#x}")
        click.echo(f"  where: {res.where}")
        if res.verdict is not None:
            click.echo(f"  checked: {res.verdict.reason}")
        if out is not None:
            click.echo(f"  written: {out} (context {res.context}_configured)")
    elif res.found is False:
        click.echo("  no setting exists.")
        for b in res.culprits:
            ops = ", ".join(f"{k} = {v:#x}" for k, v in b.operands.items())
            click.echo(f"    {b.instruction} ({ops}): {b.reason}")
    click.echo(f"  {res.reason}")
    if out is not None and not (res.found and res.setting):
        click.echo(f"  nothing written to {out}: there is no configured context to add")
    if res.not_pinnable:
        click.echo(f"  not pinnable: {'; '.join(res.not_pinnable)}")
