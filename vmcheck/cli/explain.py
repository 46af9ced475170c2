"""`vmcheck explain SPEC INSTR`: one instruction, its semantics, every class
with its proof or its (replayed) witness, per guest context."""

from __future__ import annotations

import sys

import click

from ..errors import UserError
from ..theory import CLASS_BY_KEY, CLASSES, EVIDENCE_WORDS, NO, THEOREM_TITLES, THEOREMS, UNKNOWN, YES
from .common import context_option, load, solver_options, spec_argument, verb

_VAL = {YES: "[bold]yes[/]", NO: "no", UNKNOWN: "[yellow]unknown[/]"}


def _semantics_text(insn) -> str:
    """The instruction's text in its spec file (by its span), else its IR; for a
    family member, its family's text (spec/families.py)."""
    sp = insn.family.span if insn.family is not None and insn.family.span is not None else insn.span
    if sp is not None and sp.file:
        try:
            with open(sp.file, encoding="utf-8") as f:
                lines = f.read().splitlines()
            start = sp.line - 1
            end = sp.end_line if sp.end_line and sp.end_line >= sp.line else start + 1
            if end <= start + 1:  # the span covers the key only: take the indented block under it
                indent = len(lines[start]) - len(lines[start].lstrip())
                end = start + 1
                while end < len(lines) and (
                    not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
                ):
                    end += 1
            return "\n".join(lines[start:end]).rstrip()
        except OSError:
            pass
    return repr(insn.semantics)


def _fmt(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:#x}" for x in v) + "]"
    if isinstance(v, int):
        return f"{v:#x}"
    return str(v)


def _written(isa, insn):
    """For an instruction with addressing modes or prefixes: operand values
    -> the instance in assembler syntax (the mode a witness took); else None."""
    if not any(o.kind in ("mode", "prefix") for o in insn.operands):
        return None
    from ..machine.syntax import disassemble

    return lambda ops: disassemble(isa, insn, [ops.get(o.name, 0) for o in insn.operands])


def render_witness(console, w, written=None) -> None:
    from rich.markup import escape
    from rich.table import Table

    ops = ", ".join(f"{k}={v:#x}" for k, v in w.operands.items()) or "(no operands)"
    console.print(f"      operands: {escape(ops)}")
    if written is not None:  # an instance with addressing modes or prefixes, as a program writes it
        console.print(f"      as written: {escape(written(w.operands))}")
    differing = set()
    for d in w.differs:
        differing.add(d.split(":")[0].split("[")[0].strip())
    names = list(w.states[0].pre.keys()) if w.states else []
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("", no_wrap=True)
    for s in w.states:
        title = f"{s.label} ({s.mode})" + (f"\n{s.role}" if s.role else "")
        table.add_column(escape(title) + " before")
        table.add_column("after")
    for n in names:
        hot = n in differing or any(n in s.changed for s in w.states)
        row = [f"[bold red]{escape(n)}[/]" if hot else escape(n)]
        for s in w.states:
            pre = _fmt(s.pre.get(n))
            post = _fmt(s.post.get(n)) if s.post is not None else "—"
            ch = n in s.changed
            row.append(escape(pre))
            row.append(f"[bold red]{escape(post)}[/]" if ch or (hot and s.post is not None) else escape(post))
        table.add_row(*row)
    out_row = ["outcome"]
    for s in w.states:
        out_row += ["", escape(s.outcome)]
    table.add_row(*out_row)
    console.print(table)
    for s in w.states:
        if s.writes:
            ws = ", ".join(f"{x['space']}[{x['addr']:#x}]={x['value']:#x}" for x in s.writes)
            console.print(f"      {escape(s.label)} wrote {escape(ws)}")
    if w.memory:
        cells = ", ".join(
            f"{m['space']}[{m['addr']:#x}]=" + ("fault" if m.get("fault") else f"{m['value']:#x}") for m in w.memory
        )
        console.print(f"      storage read (the shared view): {escape(cells)}")
    for d in w.differs:
        console.print(f"      [red]differs[/]: {escape(d)}")


def render_answer(console, title: str, a, written=None) -> None:
    from rich.markup import escape

    from ..analysis import QUERIES

    ev = EVIDENCE_WORDS.get(a.evidence, a.evidence)
    console.print(f"  [bold]{escape(title)}[/]: {_VAL[a.value]}  [dim]({ev})[/]")
    console.print(f"    {escape(a.reason)}")
    if a.evidence == "proof":
        for q in a.queries:
            if q in QUERIES:
                console.print(f"    [dim]unsat: {escape(QUERIES[q])}[/]")
    if a.witness is not None:
        render_witness(console, a.witness, written)


@verb(
    exits=[("0", "every answer was decided"), ("3", "some answer is undecided (a solver timeout; raise --timeout)")],
    examples=["vmcheck explain pg-toy-broken getm", "vmcheck explain mips32 lw --context deprivileged"],
)
@spec_argument()
@click.argument("instr")
@context_option
@solver_options
def explain(spec, instr, context, budget, timeout, jobs, no_cache, quiet) -> None:
    """Explain one instruction of SPEC: its semantics and, per guest context,
    every class with its proof or its witness (pairs of states side by side,
    what differs highlighted)."""
    from rich.markup import escape

    from ..analysis import QUERIES, check_isas
    from .common import limits
    from .interrupt import solver_ready
    from .progress import progress
    from .render import console as make_console

    budget, timeout = limits(budget, timeout)
    solver_ready()
    isa = load(spec)
    names = [i.name for i in isa.instructions]
    if instr not in names:
        by_mnemonic = [i.name for i in isa.instructions if i.mnemonic.lower() == instr.lower()]
        if len(by_mnemonic) == 1:
            instr = by_mnemonic[0]
        else:
            import difflib

            close = difflib.get_close_matches(instr, names, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UserError(f"{isa.name} has no instruction '{instr}'{hint}")
    insn = isa.instruction(instr)
    with progress("explain", quiet=quiet) as rep:
        rep.stage(f"solving {instr}")
        report = check_isas(
            [isa],
            context=context,
            timeout=timeout,
            budget=budget,
            jobs=jobs or 1,
            use_cache=not no_cache,
            instructions=[instr],
            progress=rep.update,
        )[0]
    console = make_console()
    where = f" ({insn.span})" if insn.span else ""
    console.print(f"[bold]{escape(insn.name)}[/] — {escape(insn.syntax)}{escape(where)}")
    if insn.ref:
        console.print(f"  ref: {escape(insn.ref)}")
    if insn.family is not None:
        console.print(f"  {escape(insn.family.describe())}")
    if insn.description:
        console.print(f"  {escape(insn.description)}")
    if insn.labels:
        console.print(f"  declared: {escape(', '.join(sorted(insn.labels)))}")
    console.print(escape(_semantics_text(insn)))
    undecided = False
    for c in report.contexts:
        res = c.instruction(instr)
        modes = ", ".join(f"{v}→{r}" for v, r in c.modes.items())
        console.print()
        console.print(f"[bold]context {escape(c.name)}[/] {{{escape(modes)}}}")
        for t in THEOREMS:
            a = res.violates[t]
            mark = {
                YES: "[red]✗ violates[/]",
                NO: "[green]✓ does not violate[/]",
                UNKNOWN: "[yellow]? undecided for[/]",
            }[a.value]
            console.print(f"  {mark} {THEOREM_TITLES[t]}")
            undecided |= a.value == UNKNOWN
        if res.violates["1"].value == YES and res.violates["exact"].value == NO:
            console.print(
                f"  [cyan]violates Theorem 1 but is safe under the exact condition[/]: in {escape(c.name)} "
                "it traps wherever direct execution would misbehave "
                f"({escape(res.violates['exact'].reason)})."
            )
            for q in res.violates["exact"].queries:
                console.print(f"    [dim]unsat: {escape(QUERIES.get(q, q))}[/]")
        for cl in CLASSES:
            render_answer(console, CLASS_BY_KEY[cl].title, res.classes[cl], _written(isa, insn))
        for f in report.labels:
            if f.instruction == instr and f.context == c.name:
                console.print(
                    f"  [magenta]label '{escape(f.label)}' contradicted[/]: {escape(f.derived)} — {escape(f.reason)}"
                )
    sys.exit(3 if undecided else 0)
