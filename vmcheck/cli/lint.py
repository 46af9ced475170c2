"""`vmcheck lint SPEC...`: load and check specs (and their sample programs), nothing more."""

from __future__ import annotations

import click

from ..errors import UserError
from .common import SPEC, load, quiet_option, verb


@verb(
    exits=[("0", "every SPEC loads (and its sample programs assemble)")],
    examples=["vmcheck lint isa/my.yaml", "vmcheck lint isa_specs/*/*.yaml --no-programs"],
)
@click.argument("specs", nargs=-1, required=True, type=SPEC, metavar="SPEC...")
@click.option(
    "--programs/--no-programs",
    default=True,
    show_default=True,
    help="Also assemble the spec's sample programs (programs/*.s beside it).",
)
@quiet_option
def lint(specs: tuple[str, ...], programs: bool, quiet: bool) -> None:
    """Check that each SPEC loads: syntax, names, widths, encodings, programs."""
    from .progress import progress

    failures: list[UserError] = []
    with progress("lint", quiet=quiet) as rep:
        rep.stage("loading")
        for n, spec in enumerate(specs):
            rep.update(n, len(specs))
            try:
                isa = load(spec)
                n_prog = _lint_programs(isa) if programs else 0
            except UserError as e:
                failures.append(e)
                continue
            extra = f", {n_prog} program(s)" if programs else ""
            click.echo(
                f"{isa.source}: ok ({len(isa.instructions)} instructions, {len(isa.contexts)} guest context(s){extra})"
            )
    if failures:
        raise UserError([d for e in failures for d in e.diagnostics])


def _lint_programs(isa) -> int:
    from pathlib import Path

    from ..machine.assembler import assemble_file

    progs = sorted((Path(isa.source).parent / "programs").glob("*.s"))
    for p in progs:
        assemble_file(isa, p)  # bounded read, bad UTF-8 reported at LINE:COL
    return len(progs)
