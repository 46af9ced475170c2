"""A witness as the reader checks it: its states as before/after tables.

`witness_table` lays the states of a witness side by side (before and
after each), marks the rows that differ between the compared states and the
values the instance changed, and gathers the elements equal in every column
into one line; `witness_blocks` adds the query, the instance and the storage
read and written. Pure functions of `analysis.results.Witness` and the IR.
"""

from __future__ import annotations

from typing import Any

from ..analysis.queries import QUERIES
from ..analysis.results import Witness
from ..spec import ir
from .document import Code, Em, Keep, Para, Row, Strong, Table, Text
from .vocabulary import hex_value

# A witness table of at most this many rows is kept on one page.
KEEP_ROWS = 14


def _mode_name(isa: ir.Isa, values: dict[str, Any]) -> str | None:
    """The name of the mode a state is in (None: not a level)."""
    md = isa.modes
    v = values.get(md.elem)
    if not isinstance(v, int):
        return None
    code = (v >> md.lo) & ((1 << md.width) - 1)
    return md.name_of(code)


def _fields_text(e: ir.Element, values: list[Any]) -> list[str]:
    """For each column, the fields of `e` whose values differ between columns."""
    if not e.fields:
        return [""] * len(values)
    ints = [v for v in values if isinstance(v, int)]
    out = []
    differing = []
    for f in e.fields:
        vals = {(v >> f.lo) & ((1 << (f.hi - f.lo + 1)) - 1) for v in ints}
        if len(vals) > 1:
            differing.append(f)
    for v in values:
        if not isinstance(v, int) or not differing:
            out.append("")
            continue
        out.append(", ".join(f"{f.name}={(v >> f.lo) & ((1 << (f.hi - f.lo + 1)) - 1):#x}" for f in differing[:4]))
    return out


def _ranges(idx: list[int]) -> str:
    """Indices as runs: [0, 1, 2, 5] -> "0–2,5"."""
    out: list[str] = []
    start = prev = idx[0] if idx else 0
    for i in idx[1:]:
        if i == prev + 1:
            prev = i
            continue
        out.append(f"{start}" if start == prev else f"{start}–{prev}")
        start = prev = i
    if idx:
        out.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ",".join(out)


def _between(cols: list[Any], compared: int | None = None) -> bool:
    """Do the compared states differ: before (even columns) or after (odd columns, where both ran)?"""
    if compared is not None:
        cols = cols[: 2 * compared]
    pre = {v for v in cols[0::2] if v is not None}
    post = {v for v in cols[1::2] if v is not None and v != "—"}
    return len(pre) > 1 or len(post) > 1


def witness_table(isa: ir.Isa, w: Witness, caption: Text | None = None) -> tuple[Table, list[str]]:
    """The witness's states as before/after columns; rows whose values differ
    between the states are marked, values the instance changed are bold.
    Elements equal in every column are gathered in one line below (returned)."""
    states = w.states
    # The Theorem queries add a state `g` that only shows the instance runs in G: it is not compared.
    compared = sum(1 for s in states if s.label != "g") if len(states) > 1 else None
    header: list[Text] = ["element"]
    for s in states:
        mode = f" ({s.mode})" if s.mode else ""
        header.append([Code(s.label), f" before{mode}"])
        header.append([Code(s.label), " after"])
    rows: list[Row] = []
    same: list[str] = []

    def cols_of(get) -> list[Any]:
        out = []
        for s in states:
            out.append(get(s.pre))
            out.append(get(s.post) if s.post is not None else None)
        return out

    # the mode, derived
    modes: list[str | None] = []
    for s in states:
        modes.append(s.mode or "?")
        modes.append(_mode_name(isa, s.post) if s.post is not None else "—")
    rows.append(Row(["mode (level)"] + [m or "?" for m in modes], "differs" if _between(modes, compared) else ""))
    md = isa.modes
    for e in isa.elements:
        if e.is_file:
            n = e.count or 0
            quiet: dict[Any, list[int]] = {}
            for i in range(n):
                vals = cols_of(lambda d, i=i, e=e, n=n: (d.get(e.name) or [None] * n)[i] if d is not None else None)
                changed = [False] * len(vals)
                for k, s in enumerate(states):
                    if s.post is not None and vals[2 * k] != vals[2 * k + 1]:
                        changed[2 * k + 1] = True
                real = [v for v in vals if v is not None]
                if len(set(real)) <= 1 and not any(changed):
                    quiet.setdefault(real[0] if real else None, []).append(i)
                    continue
                name = e.names[i] if e.names and i < len(e.names) else f"{e.name}[{i}]"
                reg_cells: list[Text] = ["—" if v is None else hex_value(v) for v in vals]
                rows.append(
                    Row(
                        [Code(name), *reg_cells],
                        "differs" if _between(vals, compared) else "",
                        [""] + ["changed" if c else "" for c in changed],
                    )
                )
            for v, idx in quiet.items():
                val = hex_value(v) if v is not None else "—"
                if len(idx) == n:
                    same.append(f"{e.name}[*] = {val}")
                elif e.names:
                    same.append(f"{' '.join(e.names[i] for i in idx)} = {val}")
                else:
                    same.append(f"{e.name}[{_ranges(idx)}] = {val}")
            continue
        vals = cols_of(lambda d, e=e: d.get(e.name) if d is not None else None)
        real = [v for v in vals if v is not None]
        changed = [False] * len(vals)
        for k, s in enumerate(states):
            if s.post is not None and (e.name in s.changed or vals[2 * k] != vals[2 * k + 1]):
                changed[2 * k + 1] = vals[2 * k] != vals[2 * k + 1]
        role = e.role + ("/mode" if e.name == md.elem and e.role != "mode" else "")
        if len(set(real)) <= 1 and not any(changed) and e.role != "pc" and e.name != md.elem:
            same.append(f"{e.name} = {hex_value(real[0]) if real else '—'}")
            continue
        ftxt = _fields_text(e, vals)
        cells: list[Text] = []
        for v, f in zip(vals, ftxt):
            if v is None:
                cells.append("—")
            else:
                cells.append(hex_value(v) + (f" ({f})" if f else ""))
        rows.append(
            Row(
                [[Code(e.name), f" ({role})" if role != "general" else ""]] + cells,
                "differs" if _between(vals, compared) else "",
                [""] + ["changed" if c else "" for c in changed],
            )
        )
    outcome_row: list[Text] = ["outcome"]
    for s in states:
        outcome_row += [Em(s.role or ""), s.outcome]
    rows.append(Row(outcome_row, "differs" if len({s.outcome for s in states}) > 1 else "", []))
    return Table(header, rows, caption, cls="witness compact"), same


def witness_blocks(isa: ir.Isa, w: Witness) -> list:
    """A witness in full: the query, the instance, the state table, storage read and written, what differs."""
    ops = ", ".join(f"{k} = {hex_value(v)}" for k, v in w.operands.items()) or "none"
    table, same = witness_table(isa, w)
    head: list = [
        Para(
            [
                Strong("Witness"),
                " of query ",
                Code(w.query),
                " (sat: ",
                QUERIES.get(w.query, w.query),
                "). ",
                Strong("Instance: "),
                Code(ops),
                ".",
            ]
        ),
        table,
    ]
    if same:
        head.append(Para([Strong("Equal in every column: "), Code(", ".join(same))], "small"))
    # A short witness moves to the next page whole; a long one may start on
    # this page and continue on the next (its header row repeats), rather
    # than leave most of a page empty.
    out: list = [Keep(head)] if len(table.rows) <= KEEP_ROWS else head
    if w.memory:
        cells = [
            f"{m.get('space', 'mem')}[{hex_value(m.get('addr'))}] = "
            + ("fault" if m.get("fault") else hex_value(m.get("value")))
            for m in w.memory
        ]
        out.append(Para([Strong("Storage read (the shared view): "), Code("; ".join(cells))], "small"))
    writes = []
    for s in w.states:
        for x in s.writes:
            writes.append(
                f"{s.label}: {x.get('space', 'mem')}[{hex_value(x.get('addr'))}] ← {hex_value(x.get('value'))}"
            )
    if writes:
        out.append(Para([Strong("Storage written: "), Code("; ".join(writes))], "small"))
    if w.differs:
        out.append(Para([Strong("What differs: "), "; ".join(w.differs)]))
    return out


__all__ = ["witness_table", "witness_blocks", "KEEP_ROWS"]
