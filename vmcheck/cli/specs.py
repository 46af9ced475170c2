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
    library = bundled()
    shapes = _shapes(library, peek)
    for name, path in library.items():
        shape = shapes[name]
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


def _shapes(library: dict, peek) -> dict:
    """Each spec's (instruction count, contexts), remembered per file size and mtime so
    that a second `vmcheck specs` reads no YAML at all."""
    import json
    import os
    import tempfile

    from ..paths import cache_dir

    store = cache_dir() / "specs-listing.json"
    try:
        with open(store, encoding="utf-8") as f:
            known = json.load(f)
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    out, now = {}, {}
    for name, path in library.items():
        st = path.stat()
        key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
        hit = known.get(key)
        if not (
            isinstance(hit, list)
            and len(hit) == 2
            and isinstance(hit[0], int)
            and isinstance(hit[1], list)
            and all(isinstance(c, str) for c in hit[1])
        ):
            shape = peek(path)
            hit = [shape[0], shape[1]] if shape else None
        out[name] = hit
        now[key] = hit
    if now != known:
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=store.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(now, f)
            os.replace(tmp, store)
        except OSError:
            pass  # a cache that cannot be written is only slower
    return out


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
