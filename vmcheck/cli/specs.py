"""`vmcheck specs`: the bundled ISA library."""
from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..spec.library import bundled
from ..spec.load import load_spec


@click.command()
def specs() -> None:
    """List the bundled ISA specs (use a NAME wherever a SPEC is asked for)."""
    table = Table(title="Bundled ISA specs", show_lines=False)
    for col in ("name", "instructions", "guest contexts", "file"):
        table.add_column(col)
    for name, path in bundled().items():
        try:
            isa = load_spec(str(path))
            table.add_row(name, str(len(isa.instructions)), ", ".join(c.name for c in isa.contexts), str(path))
        except UserError:
            table.add_row(name, "-", "(does not load: run vmcheck lint)", str(path))
    Console().print(table)
