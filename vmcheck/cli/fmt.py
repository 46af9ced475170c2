"""`vmcheck fmt SPEC --to isa|yaml [-o OUT]`: print a spec in either syntax."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import Diagnostic, InternalError, SpecError
from ..spec.build import build_isa
from ..spec.isa_format import read_isa
from ..spec.load import read_nodes, resolve
from ..spec.nodes import read_yaml
from ..spec.printer import to_isa, to_yaml
from .common import spec_argument

_SYNTAX_OF_SUFFIX = {".isa": "isa", ".yaml": "yaml", ".yml": "yaml"}


@click.command()
@spec_argument()
@click.option("--to", "to", type=click.Choice(["isa", "yaml"]),
              help="The syntax to write. Default: the one -o's suffix names, else the other one than SPEC's.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of to standard output (may be SPEC itself).")
def fmt(spec: str, to: str | None, output: Path | None) -> None:
    """Print SPEC (a path or a bundled spec's name) as YAML or as .isa text.

    The spec is checked first: a spec that does not load is reported, not
    printed. Semantics text is copied verbatim, comments included, and only
    re-indented. Lost in the conversion: comments outside semantics (in
    either syntax), how numbers were spelt (0x180 prints as 384 in YAML),
    and equivalent spellings (readonly: false is dropped, {bit: 9} prints
    as 9). The printed spec loads to the same model as SPEC; fmt checks that
    before it writes anything.
    """
    path = resolve(spec)
    node = read_nodes(path)
    original = build_isa(node, str(path))
    if to is None:
        to = _SYNTAX_OF_SUFFIX.get(output.suffix) if output is not None else None
        if to is None:
            to = "yaml" if path.suffix == ".isa" else "isa"
    text = to_isa(node) if to == "isa" else to_yaml(node)

    # A conversion that changed the meaning is our bug, never the user's.
    out_name = str(output) if output is not None else f"<fmt --to {to}>"
    try:
        again = read_isa(text, out_name) if to == "isa" else read_yaml(text, out_name)
        same = build_isa(again, out_name) == original
    except SpecError as e:
        raise InternalError(f"fmt printed a spec that does not load again: {e}") from None
    if not same:
        raise InternalError(f"fmt --to {to} changed the meaning of {path}")

    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise SpecError(Diagnostic(None, f"cannot write {output}: {e.strerror}")) from None
    click.echo(f"{path} -> {output} ({to})", err=True)
