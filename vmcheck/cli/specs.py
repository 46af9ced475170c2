"""`vmcheck specs`: the bundled ISA library, with the verdicts already known.

Nothing is decided here (deciding the whole library takes minutes): a spec's
verdicts are shown when `vmcheck check` recorded them for the spec as it is
now, and the listing says how to get the others.
"""
from __future__ import annotations

import click

from .common import verb

_MARK = {True: "holds", False: "fails", None: "undecided"}


@verb(exits=[("0", "the list was printed")], examples=["vmcheck specs", "vmcheck check pg-toy-broken"])
def specs() -> None:
    """List the bundled ISA specs (a NAME works wherever a SPEC is asked for),
    with their verdicts where `vmcheck check NAME` has decided them already."""
    from ..spec.library import bundled, peek, specs_dir
    from .verdicts import recall

    rows = []
    missing = []
    for name, path in bundled().items():
        shape = peek(path)
        n, ctxs = (str(shape[0]), ", ".join(shape[1])) if shape else ("?", "?")
        v = recall(path)
        if v is None:
            missing.append(name)
            marks = ["·"] * 4
        else:
            marks = [_MARK[v[t]] for t in ("1", "2", "3", "exact")]
        rows.append([name, n, ctxs] + marks)
    if not rows:
        raise click.ClickException(f"no bundled specs found in {specs_dir()}")
    _print_table(["spec", "insns", "guest contexts", "Thm 1", "Thm 2", "Thm 3", "exact"], rows)
    if missing:
        click.echo()
        click.echo(f"· not decided yet ({len(missing)} of {len(rows)}): run `vmcheck check NAME`")
        click.echo("  (seconds to minutes per spec; the verdicts then show here).")
    click.echo(f"The specs are in {specs_dir()}.")


def _print_table(header: list[str], rows: list[list[str]], width: int = 80) -> None:
    """A plain table that fits `width` columns: fixed columns whole, the one
    wide column (guest contexts) wrapped."""
    import textwrap

    cols = list(zip(header, *rows))
    widths = [max(len(x) for x in col) for col in cols]
    flex = 2  # the guest contexts column
    fixed = sum(w for i, w in enumerate(widths) if i != flex) + 2 * (len(widths) - 1)
    widths[flex] = max(len(header[flex]), min(widths[flex], width - fixed))

    def line(cells: list[str]) -> list[str]:
        wrapped = [textwrap.wrap(c, widths[i]) or [""] if i == flex else [c] for i, c in enumerate(cells)]
        out = []
        for k in range(max(len(w) for w in wrapped)):
            parts = [(w[k] if k < len(w) else "").ljust(widths[i]) for i, w in enumerate(wrapped)]
            out.append("  ".join(parts).rstrip())
        return out

    for text in line(header):
        click.echo(text)
    click.echo("  ".join("-" * w for w in widths))
    for r in rows:
        for text in line(r):
            click.echo(text)
