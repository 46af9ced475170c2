"""`vmcheck specs`: the bundled ISA library, with each verdict."""
from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..spec.library import bundled
from ..spec.load import load_spec


def _mark(holds) -> str:
    return {True: "[green]holds[/green]", False: "[red]fails[/red]", None: "[yellow]undecided[/yellow]"}[holds]


@click.command()
@click.option("--verdicts/--no-verdicts", default=True, show_default=True,
              help="Decide each spec's theorems (cached after the first run).")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Solver processes (default: the core count).")
def specs(verdicts: bool, jobs: int | None) -> None:
    """List the bundled ISA specs (a NAME works wherever a SPEC is asked for)."""
    from ..analysis.engine import check_isas

    table = Table(title="Bundled ISA specs")
    cols = ["name", "instructions", "guest contexts"] + (["Thm 1", "Thm 2", "Thm 3", "exact"] if verdicts else [])
    for col in cols:
        table.add_column(col)
    for name, path in bundled().items():
        try:
            isa = load_spec(str(path))
        except UserError:
            table.add_row(name, "-", "(does not load: run vmcheck lint)")
            continue
        row = [name, str(len(isa.instructions)), ", ".join(c.name for c in isa.contexts)]
        if verdicts:
            report = check_isas([isa], jobs=jobs)[0]
            row += [_mark(report.verdicts[t].holds) for t in ("1", "2", "3", "exact")]
        table.add_row(*row)
    Console().print(table)
