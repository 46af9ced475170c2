"""`vmcheck lint SPEC...`: load and check specs (and their sample programs), nothing more."""
from __future__ import annotations

import click

from ..errors import UserError
from .common import SPEC, load


@click.command()
@click.argument("specs", nargs=-1, required=True, type=SPEC)
@click.option("--programs/--no-programs", default=True, show_default=True,
              help="Also assemble the spec's sample programs (programs/*.s beside it).")
def lint(specs: tuple[str, ...], programs: bool) -> None:
    """Check that each SPEC loads: syntax, names, widths, encodings, programs."""
    failures: list[UserError] = []
    for spec in specs:
        try:
            isa = load(spec)
            n_prog = _lint_programs(isa) if programs else 0
        except UserError as e:
            failures.append(e)
            continue
        extra = f", {n_prog} program(s)" if programs else ""
        click.echo(f"{isa.source}: ok ({len(isa.instructions)} instructions, "
                   f"{len(isa.contexts)} guest context(s){extra})")
    if failures:
        raise UserError([d for e in failures for d in e.diagnostics])


def _lint_programs(isa) -> int:
    from pathlib import Path

    try:
        from ..machine.assembler import assemble_file
    except ImportError:  # the assembler is not part of this build yet
        return 0
    progs = sorted((Path(isa.source).parent / "programs").glob("*.s"))
    for p in progs:
        assemble_file(isa, p)  # bounded read, bad UTF-8 reported at LINE:COL
    return len(progs)
