"""`vmcheck docs [PAGE]`: the documentation that ships with vmcheck.

The tool's output cites pages such as `docs/model.md §2.5`; this verb finds
them in an installed vmcheck as in a source checkout.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UserError
from .common import verb


def _pages() -> dict[str, Path]:
    from ..spec.library import docs_dir

    root = docs_dir()
    return {p.stem: p for p in sorted(root.glob("*.md"))} if root.is_dir() else {}


@verb(
    exits=[("0", "the page was printed (or the list)")],
    examples=["vmcheck docs", "vmcheck docs model", "vmcheck docs format --path"],
)
@click.argument("page", required=False)
@click.option("--path", "path_only", is_flag=True, help="Print where the page (or the docs) is installed.")
def docs(page: str | None, path_only: bool) -> None:
    """List the documentation pages, or print PAGE (`model`, `format`,
    `tutorial`, `architecture`, `security`; `docs/model.md` works too)."""
    from ..spec.library import docs_dir

    pages = _pages()
    if page is None:
        if path_only:
            click.echo(str(docs_dir()))
            return
        click.echo(f"vmcheck's documentation, in {docs_dir()}:")
        for name, p in pages.items():
            click.echo(f"  {name:<14} {_title(p)}")
        click.echo("Print one with `vmcheck docs PAGE`.")
        return
    key = page.removeprefix("docs/").removesuffix(".md")
    if key not in pages:
        raise UserError(f"no documentation page '{page}' (pages: {', '.join(pages) or 'none installed'})")
    if path_only:
        click.echo(str(pages[key]))
    else:
        click.echo(pages[key].read_text(encoding="utf-8"), nl=False)


def _title(p: Path) -> str:
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""
