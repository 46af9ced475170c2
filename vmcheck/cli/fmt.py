"""`vmcheck fmt SPEC --to isa|yaml [-o OUT]`: print a spec in either syntax."""

from __future__ import annotations

import click

from ..errors import InternalError, SpecError
from .common import spec_argument, verb
from .output import SPEC_SYNTAX as _SYNTAX_OF_SUFFIX


@verb(
    exits=[("0", "the spec was printed or written")],
    examples=["vmcheck fmt pg-toy --to isa", "vmcheck fmt isa/my.isa -o isa/my.yaml"],
)
@spec_argument()
@click.option(
    "--to",
    "to",
    type=click.Choice(["isa", "yaml"]),
    help="The syntax to write. Default: the one -o's suffix names, else the other one than SPEC's.",
)
@click.option(
    "-o", "--output", metavar="FILE", help="Write here (atomically) instead of to standard output; never SPEC itself."
)
def fmt(spec: str, to: str | None, output: str | None) -> None:
    """Print SPEC (a path or a bundled spec's name) as YAML or as .isa text.

    The spec is checked first: a spec that does not load is reported, not
    printed. Semantics text is copied verbatim, comments included, and only
    re-indented. Lost in the conversion: comments outside semantics (in
    either syntax), how numbers were spelt (0x180 prints as 384 in YAML),
    and equivalent spellings (readonly: false is dropped, {bit: 9} prints
    as 9). The printed spec loads to the same model as SPEC; fmt checks that
    before it writes anything.
    """
    from pathlib import Path

    from ..spec.build import build_isa
    from ..spec.isa_reader import read_isa
    from ..spec.load import read_nodes, resolve
    from ..spec.printer import to_isa, to_yaml
    from ..spec.yaml_reader import read_yaml
    from .output import check_not_an_input, check_suffix, write_text

    path = resolve(spec)
    if output is not None:
        check_not_an_input(output, [path])  # before any work: the answer does not depend on it
    node = read_nodes(path)
    original = build_isa(node, str(path))
    if to is None:
        to = _SYNTAX_OF_SUFFIX.get(Path(output).suffix.lower()) if output is not None else None
        if to is None:
            to = "yaml" if path.suffix == ".isa" else "isa"
    if output is not None:
        check_suffix(output, to)
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
    write_text(output, text)
    click.echo(f"{path} -> {output} ({to})", err=True)
    dropped = dropped_comments(path.read_text(encoding="utf-8"), text)
    if dropped:
        click.echo(
            f"warning: {len(dropped)} comment(s) of {path} are not in {output} (comments outside "
            f"semantics are not carried over), e.g. {dropped[0]!r}",
            err=True,
        )


def dropped_comments(source: str, printed: str) -> list[str]:
    """The `#` comments of `source` whose text does not appear in `printed`."""
    out = []
    for line in source.splitlines():
        if "#" not in line:
            continue
        comment = line[line.index("#") :].strip()
        if len(comment) > 1 and comment not in printed and comment.lstrip("#").strip() not in printed:
            out.append(comment)
    return out
