"""The printed proof report: `vmcheck report SPEC -o FILE.html|FILE.md`.

A document a reviewer can print and check by hand. It says what vmcheck
decided about one ISA and why: the ISA at a glance, the model and the
theorems it applies (Popek & Goldberg 1974, and the exact trap-and-emulate
condition of docs/model.md §2.6), the verdict per theorem and guest context, and
the argument instruction by instruction: each proof obligation and how it
was discharged (the unsat queries of a proof, or a witness shown as
before/after tables with the differing elements marked), the declared labels
the semantics contradict, where Theorem 1 and the exact condition part and
what that costs, and, with `--confirm`, what the reference hypervisor
observed when the witnesses and programs were run under it.

The first page is a summary that stands alone (the verdict per theorem and
context, a chart of the classes per context, the violating instructions);
the body explains the ISA, the model and each context; the per-instruction
detail (every obligation, every witness, every instruction's semantics) is
in the appendices, so a reader who wants the answer stops after page one.

This module decides the content (a `templates.Doc`); `templates.py` renders
it as self-contained HTML or as Markdown, escaping every piece of spec text.
The header names the spec file's SHA-256 and the vmcheck version, so a
report names exactly what it proves. The report carries no date and no
timings: the same spec gives the same report.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..analysis.engine import LABEL_CLAIMS
from ..analysis.queries import QUERIES
from ..analysis.results import (
    CLASSES,
    NO,
    THEOREM_TITLES,
    THEOREMS,
    UNKNOWN,
    YES,
    Answer,
    ContextResult,
    InstructionResult,
    Report,
    Witness,
)
from ..spec import ir
from ..spec.nodes import Node
from .templates import (
    Badge,
    Bar,
    BarChart,
    Bullets,
    Callout,
    Code,
    CodeBlock,
    Defs,
    Doc,
    Em,
    Keep,
    Para,
    Ref,
    Row,
    Section,
    Strong,
    Table,
    Text,
    render_html,
    render_markdown,
)

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}

PG1974 = (
    'G. J. Popek and R. P. Goldberg, "Formal Requirements for Virtualizable Third Generation '
    'Architectures", Communications of the ACM 17(7):412–421, July 1974.'
)

# The class whose instances must trap, per theorem, and its name in prose.
_KEY_CLASS = {"1": "sensitive", "2": "sensitive", "3": "user_sensitive", "exact": "unsafe"}
_KEY_WORD = {"1": "sensitive", "2": "sensitive or timing dependent", "3": "user sensitive", "exact": "unsafe"}
_SHORT_TITLE = {"1": "Theorem 1", "2": "Theorem 2", "3": "Theorem 3", "exact": "the exact condition"}
_CLASS_WORDS = {c: c.replace("_", " ") for c in CLASSES}


def _holds_badge(h: bool | None) -> Badge:
    return {True: Badge("pass", "holds"), False: Badge("fail", "fails"), None: Badge("unknown", "undecided")}[h]


def _hex(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int):
        return str(v)
    return f"{v:#x}"


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts)


def spec_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# What the report is built from
# --------------------------------------------------------------------------


@dataclass
class ProofInput:
    """Everything one report shows: the spec, what the engine decided, and
    (optionally) what the reference VMM observed, per guest context."""

    isa: ir.Isa
    report: Report
    spec_path: str  # the file as the user named it (shown), hashed for the header
    sha256: str
    nodes: Node | None = None  # the spec's node tree, for the source text of semantics and conditions
    confirmations: dict[str, Any] = field(default_factory=dict)  # context -> hypervisor.campaign.Confirmation
    confirm_options: dict[str, Any] = field(default_factory=dict)
    theorems: tuple[str, ...] = ("1",)  # the theorems argued instruction by instruction
    timeout: float = 300.0  # the wall-clock safety net per solver call
    brief: bool = False  # verdict, violations and findings only (for CI summaries)
    budget: int = 300_000_000  # solver resource units per query (analysis.budget)

    # ---- source text from the node tree ----------------------------------

    def _node(self, *path: str) -> Node | None:
        n = self.nodes
        for p in path:
            if n is None or n.kind != "mapping":
                return None
            n = n.value.get(p)
        return n

    def source_text(self, *path: str) -> str | None:
        n = self._node(*path)
        if n is None or n.value is None or isinstance(n.value, (dict, list)):
            return None
        v = n.value
        return str(v).lower() if isinstance(v, bool) else str(v)

    def semantics(self, insn: str) -> str | None:
        t = self.source_text("instructions", insn, "semantics")
        return t.strip("\n") if t is not None else None

    def references(self) -> list[str]:
        n = self._node("references")
        if n is None or n.kind != "list":
            return []
        return [str(x.value) for x in n.value if x.value is not None]

    def invariants(self) -> list[str]:
        n = self._node("invariants")
        if n is None or n.kind != "list":
            return []
        return [str(x.value) for x in n.value]


# --------------------------------------------------------------------------
# Small pieces of evidence
# --------------------------------------------------------------------------


def _query_evidence(a: Answer, ctx_name: str) -> list[Text]:
    """How an answer "no" was proved: which queries were unsat, and the
    reasons of those decided without the solver (an answer's reason joins
    its queries' reasons with "; ")."""
    out: list[Text] = []
    for piece in (p.strip() for p in a.reason.split("; ")):
        if not piece:
            continue
        named = [q for q in a.queries if f"`{q}`" in piece or QUERIES.get(q, "\0") in piece]
        m = re.fullmatch(r"not (\w+)", piece)
        if named:
            out.append([Code(named[0]), " unsat"])
        elif m and m.group(1) in QUERIES:
            out.append([Code(m.group(1)), " unsat"])
        elif piece == f"it never runs in {ctx_name}":
            out.append([Code("runs_G"), f" unsat (it never runs in {ctx_name})"])
        elif piece.startswith("illegal"):
            out.append([Code("runs_any"), " unsat (illegal: it traps in every state)"])
        else:
            out.append(piece)
    seen, uniq = set(), []
    for x in out:
        k = json.dumps(x, default=lambda o: getattr(o, "text", str(o)))
        if k not in seen:
            seen.add(k)
            uniq.append(x)
    return uniq


def _join(items: list[Text], sep: str = "; ") -> list:
    out: list = []
    for i, x in enumerate(items):
        if i:
            out.append(sep)
        out.append(x)
    return out


def _never_runs(r: InstructionResult, ctx_name: str) -> bool:
    p = r.classes["privileged"]
    if p.value == YES:
        return True
    return any(f"never runs in {ctx_name}" in r.violates[t].reason for t in THEOREMS)


def _key_answer(r: InstructionResult, t: str) -> Answer:
    if t == "2":
        a, b = r.classes["sensitive"], r.classes["timing_dependent"]
        if a.value == YES:
            return a
        if b.value == YES:
            return b
        if UNKNOWN in (a.value, b.value):
            return a if a.value == UNKNOWN else b
        return Answer(NO, f"{a.reason}; {b.reason}", "proof", None, a.queries + b.queries)
    return r.classes[_KEY_CLASS[t]]


def _sensitivity_kinds(r: InstructionResult, t: str) -> str:
    if t in ("1", "2"):
        kinds = [
            c.split("_")[0]
            for c in ("control_sensitive", "mode_sensitive", "location_sensitive")
            if r.classes[c].value == YES
        ]
        if t == "2" and r.classes["timing_dependent"].value == YES:
            kinds.append("timing")
        return ", ".join(kinds)
    return ""


@dataclass
class Obligation:
    status: str  # "pass", "fail", "unknown"
    key: str  # the key class: "yes", "no", "unknown" (+ kinds)
    traps: str  # "always" / "not always" / "?"
    discharge: list


def obligation(r: InstructionResult, ctx: ContextResult, t: str) -> Obligation:
    """Theorem t's proof obligation for one instruction in one context, and how it was discharged."""
    v = r.violates[t]
    key = _key_answer(r, t)
    kinds = _sensitivity_kinds(r, t)
    key_text = key.value + (f" ({kinds})" if kinds and key.value == YES else "")
    never = _never_runs(r, ctx.name)
    p = r.classes["privileged"]
    traps = "always" if never or r.classes["illegal"].value == YES else ("?" if p.value == UNKNOWN else "not always")
    anchor = _anchor("w", ctx.name, r.name)
    if v.value == YES:
        w = v.witness
        how: list = [Strong("refuted"), " by a witness"]
        if w is not None:
            how += [" of ", Code(w.query), ": ", w.summary or v.reason]
        else:
            how += [": ", v.reason]
        how += [" (", Ref(anchor, "details"), ")"]
        return Obligation("fail", key_text, traps, how)
    if v.value == UNKNOWN:
        return Obligation(
            "unknown",
            key_text,
            traps,
            [Strong("undecided"), ": ", v.reason, " — queries "] + _join([Code(q) for q in v.queries], ", "),
        )
    ev = _query_evidence(v, ctx.name)
    word = _KEY_WORD[t]
    if r.classes["illegal"].value == YES:
        why: list = ["illegal: it traps in every state (", Code("runs_any"), " unsat)"]
    elif key.value == NO:
        why = ["safe: " if t == "exact" else f"not {word}: "] + _join(_query_evidence(key, ctx.name))
    elif never:
        why = [
            f"{word} (",
            key.reason,
            "), but it traps or memory-traps at every state of ",
            Code(ctx.name),
            ": ",
            Code("runs_G"),
            " unsat",
        ]
    else:
        why = [f"some instances are {word} and some run in ", Code(ctx.name), ", but none does both: "] + _join(ev)
    return Obligation("pass", key_text, traps, [Strong("proved"), " — "] + why)


def _statement(t: str, insn: str, ctx: str) -> list:
    return {
        "1": ["every sensitive instance of ", Code(insn), " traps or memory-traps at every state of ", Code(ctx)],
        "2": [
            "every sensitive or timing-dependent instance of ",
            Code(insn),
            " traps or memory-traps at every state of ",
            Code(ctx),
        ],
        "3": ["every user-sensitive instance of ", Code(insn), " traps or memory-traps at every state of ", Code(ctx)],
        "exact": [
            "no instance of ",
            Code(insn),
            " is unsafe in ",
            Code(ctx),
            ": wherever it runs directly, it keeps resource control and equivalence",
        ],
    }[t]


# --------------------------------------------------------------------------
# Witness tables
# --------------------------------------------------------------------------


def _mode_name(isa: ir.Isa, values: dict[str, Any]) -> str | None:
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
    out, start, prev = [], None, None
    for i in idx + [None]:
        if start is None:
            start = prev = i
        elif i is not None and i == prev + 1:
            prev = i
        else:
            out.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = i
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
    modes = []
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
                vals = cols_of(lambda d, i=i: (d.get(e.name) or [None] * n)[i] if d is not None else None)
                changed = [False] * len(vals)
                for k, s in enumerate(states):
                    if s.post is not None and vals[2 * k] != vals[2 * k + 1]:
                        changed[2 * k + 1] = True
                real = [v for v in vals if v is not None]
                if len(set(real)) <= 1 and not any(changed):
                    quiet.setdefault(real[0] if real else None, []).append(i)
                    continue
                name = e.names[i] if e.names and i < len(e.names) else f"{e.name}[{i}]"
                cells = ["—" if v is None else _hex(v) for v in vals]
                rows.append(
                    Row(
                        [Code(name)] + cells,
                        "differs" if _between(vals, compared) else "",
                        [""] + ["changed" if c else "" for c in changed],
                    )
                )
            for v, idx in quiet.items():
                val = _hex(v) if v is not None else "—"
                if len(idx) == n:
                    same.append(f"{e.name}[*] = {val}")
                elif e.names:
                    same.append(f"{' '.join(e.names[i] for i in idx)} = {val}")
                else:
                    same.append(f"{e.name}[{_ranges(idx)}] = {val}")
            continue
        vals = cols_of(lambda d: d.get(e.name) if d is not None else None)
        real = [v for v in vals if v is not None]
        changed = [False] * len(vals)
        for k, s in enumerate(states):
            if s.post is not None and (e.name in s.changed or vals[2 * k] != vals[2 * k + 1]):
                changed[2 * k + 1] = vals[2 * k] != vals[2 * k + 1]
        role = e.role + ("/mode" if e.name == md.elem and e.role != "mode" else "")
        if len(set(real)) <= 1 and not any(changed) and e.role != "pc" and e.name != md.elem:
            same.append(f"{e.name} = {_hex(real[0]) if real else '—'}")
            continue
        ftxt = _fields_text(e, vals)
        cells: list[Text] = []
        for v, f in zip(vals, ftxt):
            if v is None:
                cells.append("—")
            else:
                cells.append(_hex(v) + (f" ({f})" if f else ""))
        rows.append(
            Row(
                [[Code(e.name), f" ({role})" if role != "general" else ""]] + cells,
                "differs" if _between(vals, compared) else "",
                [""] + ["changed" if c else "" for c in changed],
            )
        )
    outcome_row = ["outcome"]
    for s in states:
        outcome_row += [Em(s.role or ""), s.outcome]
    rows.append(Row(outcome_row, "differs" if len({s.outcome for s in states}) > 1 else "", []))
    return Table(header, rows, caption, cls="witness compact"), same


def witness_blocks(isa: ir.Isa, w: Witness) -> list:
    """A witness in full: the query, the instance, the state table, storage read and written, what differs."""
    ops = ", ".join(f"{k} = {_hex(v)}" for k, v in w.operands.items()) or "none"
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
    out: list = [Keep(head)] if len(table.rows) <= _KEEP_ROWS else head
    if w.memory:
        cells = [
            f"{m.get('space', 'mem')}[{_hex(m.get('addr'))}] = " + ("fault" if m.get("fault") else _hex(m.get("value")))
            for m in w.memory
        ]
        out.append(Para([Strong("Storage read (the shared view): "), Code("; ".join(cells))], "small"))
    writes = []
    for s in w.states:
        for x in s.writes:
            writes.append(f"{s.label}: {x.get('space', 'mem')}[{_hex(x.get('addr'))}] ← {_hex(x.get('value'))}")
    if writes:
        out.append(Para([Strong("Storage written: "), Code("; ".join(writes))], "small"))
    if w.differs:
        out.append(Para([Strong("What differs: "), "; ".join(w.differs)]))
    return out


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------


class ProofReport:
    def __init__(self, inp: ProofInput):
        self.inp = inp
        self.isa = inp.isa
        self.rep = inp.report
        # instruction -> the anchor of the witness block that already shows its
        # semantics (appendix B points there instead of printing them twice)
        self.semantics_shown: dict[str, str] = {}

    # ---- the whole document ---------------------------------------------

    def doc(self) -> Doc:
        inp, rep = self.inp, self.rep
        t1 = rep.verdicts["1"]
        subtitle: list = [
            "Can ",
            Code(rep.isa),
            " be virtualized by trap-and-emulate? Theorem 1 ",
            _holds_badge(t1.holds),
        ]
        if t1.context:
            subtitle += [" (guest context ", Code(t1.context), ")"]
        subtitle += [". A per-instruction argument after Popek & Goldberg (1974)."]
        # Four rows: the header shares the front page with the whole summary.
        meta: list[tuple[str, Text]] = [
            ("Spec file", Code(inp.spec_path)),
            ("Spec SHA-256", Code(inp.sha256)),
            (
                "Checked by",
                [
                    Code(f"vmcheck {__version__}"),
                    ", ",
                    Code(_z3_version()),
                    f", budget {inp.budget:,} resource units per query",
                ],
            ),
            (
                "Argued",
                _join([THEOREM_TITLES[t] for t in inp.theorems], ", ") + ["; confirmation: ", self._confirm_meta()],
            ),
        ]
        sections = [self.verdict_section()]
        if not inp.brief:
            sections += [self.isa_section(), self.model_section()]
        for c in rep.contexts:
            sections.append(self.context_section(c))
        sections.append(self.labels_section())
        if not inp.brief:
            sections.append(self.confirmation_section())
            sections.append(self.argument_appendix())
            sections.append(self.appendix_section())
        footer = f"{rep.isa} · spec SHA-256 {inp.sha256} · vmcheck {__version__}"
        return Doc(
            f"{rep.isa}: virtualizability proof report", subtitle, meta, sections, footer, front=0 if inp.brief else 1
        )

    def _confirm_meta(self) -> Text:
        if not self.inp.confirmations:
            return "not run (add --confirm)"
        o = self.inp.confirm_options
        return (
            f"{o.get('vmm', 'classic')} VMM; {o.get('programs', 0)} sample program(s), "
            f"every witness replayed, {o.get('fuzz', 0)} random programs (seed {o.get('seed', 0)})"
        )

    # ---- 1. verdict -----------------------------------------------------

    def verdict_section(self) -> Section:
        rep = self.rep
        blocks: list = []
        t1 = rep.verdicts["1"]
        if t1.holds is True:
            kind, title = "pass", [Code(rep.isa), " satisfies Theorem 1 in guest context ", Code(t1.context or "")]
            text = [
                "A classic trap-and-emulate VMM can be built: in that context every sensitive instance traps. "
                "Each instruction's proof obligation below was discharged by an unsat query or by showing that it "
                "always traps in the context."
            ]
        elif t1.holds is False:
            kind, title = "fail", [Code(rep.isa), " fails Theorem 1 in every guest context"]
            viol = {c.name: c.theorems["1"].violations for c in rep.contexts}
            text = (
                ["In each guest context some sensitive instance runs without trapping: "]
                + _join(
                    [
                        [Ref(_anchor("viol", n), Code(n)), f" ({len(v)} instruction{'s' if len(v) != 1 else ''}"]
                        + ([": "] + _join([Ref(_anchor("w", n, i), Code(i)) for i in v], ", ") if len(v) <= 6 else [])
                        + [")"]
                        for n, v in viol.items()
                    ],
                    "; ",
                )
                + ["."]
            )
            ex = rep.verdicts["exact"]
            if ex.holds is True:
                text += [
                    " Theorem 1 is sufficient, not necessary: the exact condition holds in ",
                    Code(ex.context or ""),
                    ", so a classic trap-and-emulate VMM still works there, at a cost (",
                    Ref(_anchor("exact", ex.context or ""), "see below"),
                    ").",
                ]
            elif ex.holds is False:
                text += [
                    " The exact condition fails too: no classic trap-and-emulate VMM can run this ISA's guests "
                    "directly in these contexts."
                ]
            else:
                text += [" The exact condition is undecided."]
        else:
            kind, title = "unknown", ["Theorem 1 is undecided for ", Code(rep.isa)]
            text = [
                "The solver exhausted its budget on a query the verdict depends on; no context is proved to satisfy it."
            ]
        blocks.append(Callout(kind, [Para(text)], title))

        header: list[Text] = ["theorem", "ISA"] + [[Code(c.name)] for c in rep.contexts]
        rows = []
        for t in THEOREMS:
            v = rep.verdicts[t]
            isa_cell: list = [_holds_badge(v.holds)] + ([" in ", Code(v.context)] if v.context else [])
            cells: list[Text] = [THEOREM_TITLES[t], isa_cell]
            for c in rep.contexts:
                tr = c.theorems[t]
                cell: list = [_holds_badge(tr.holds)]
                if tr.violations:
                    cell += [f" {len(tr.violations)} violating"]
                if tr.unknown:
                    cell += [f" {len(tr.unknown)} undecided"]
                cells.append(cell)
            rows.append(Row(cells, "" if v.holds is True else ("fail" if v.holds is False else "unknown")))
        blocks.append(Table(header, rows, "Verdict per theorem and guest context", cls="verdicts"))
        blocks.append(
            Para(
                [
                    "A theorem holds for the ISA when it holds in some guest context (docs/model.md §2.3): a VMM "
                    "may choose how to deprivilege the guest. Theorem 2 adds to Theorem 1 that no instance "
                    "reads a timer without trapping; Theorem 3 asks only user-sensitive instances to trap "
                    "(a hybrid VMM interprets virtual supervisor mode); the exact condition is necessary and "
                    "sufficient for the reference VMM."
                ],
                "small",
            )
        )
        blocks.append(self.class_chart())
        violations = self.violations_table()
        if violations is not None:
            blocks.append(violations)
        if self.inp.brief:  # the full report has these in each context's section
            for c in rep.contexts:
                if c.note:
                    blocks.append(
                        Callout("info", [Para(c.note)], ["Theorem 1 and the exact condition in ", Code(c.name)])
                    )
        if rep.labels:
            blocks.append(
                Para(
                    [
                        Strong(f"{len(rep.labels)} declared label(s)"),
                        " are contradicted by the semantics (",
                        Ref("labels", "details"),
                        ").",
                    ]
                )
            )
        return Section("Verdict", "verdict", blocks)

    def violations_table(self) -> Table | None:
        """The front page's list of violating (and undecided) instructions,
        one row per context and theorem. A theorem whose list repeats or
        extends Theorem 1's says so instead of repeating it, and a long list
        is cut (appendix A has every one), so the summary stays one page."""
        rows = []
        for c in self.rep.contexts:
            t1 = c.theorems["1"].violations
            for t in THEOREMS:
                tr = c.theorems[t]
                if not tr.violations and not tr.unknown:
                    continue
                names = self._names_against(c.name, tr.violations, t1 if t != "1" else [])
                undecided: Text = _join([Code(n) for n in tr.unknown], ", ") if tr.unknown else "—"
                rows.append(
                    Row(
                        [Code(c.name), _SHORT_TITLE[t].replace("the exact", "exact"), names, undecided],
                        "fail" if tr.violations else "unknown",
                    )
                )
        if not rows:
            return None
        return Table(
            ["context", "theorem", "violating instructions", "undecided"],
            rows,
            "Violating instructions",
            cls="compact front",
        )

    def _names_against(self, ctx: str, names: list[str], base: list[str]) -> Text:
        def refs(ns: list[str]) -> list:
            out = _join([Ref(_anchor("w", ctx, n), Code(n)) for n in ns[:_FRONT_NAMES]], ", ")
            if len(ns) > _FRONT_NAMES:
                out += [f" and {len(ns) - _FRONT_NAMES} more (", Ref("appendix-a", "appendix A"), ")"]
            return out

        if not names:
            return "none"
        have, b = set(names), set(base)
        if b and have == b:
            return "those of Theorem 1"
        if b and b < have:
            return ["those of Theorem 1, and "] + refs([n for n in names if n not in b])
        if b and have < b and len(b - have) < len(have):
            return ["those of Theorem 1 except "] + refs([n for n in base if n not in have])
        return [f"{len(names)}: "] + refs(names)

    def class_chart(self) -> BarChart:
        """How each context's instructions fall under Theorem 1: the front page's figure."""
        bars = []
        for c in self.rep.contexts:
            n = {"fail": 0, "unknown": 0, "pass": 0, "muted": 0}
            for r in c.instructions:
                v = r.violates["1"].value
                if v == YES:
                    n["fail"] += 1
                elif v == UNKNOWN:
                    n["unknown"] += 1
                elif r.classes["sensitive"].value == YES:
                    n["pass"] += 1
                else:
                    n["muted"] += 1
            bars.append(Bar(c.name, list(n.items())))
        legend = [
            ("fail", "violates Theorem 1"),
            ("unknown", "undecided"),
            ("pass", "sensitive, traps"),
            ("muted", "innocuous or illegal"),
        ]
        return BarChart(bars, legend, "Instructions per guest context, by Theorem 1 class")

    # ---- 2. the ISA -----------------------------------------------------

    def isa_section(self) -> Section:
        isa, inp = self.isa, self.inp
        blocks: list = []
        if isa.description:
            blocks.append(Para(isa.description.strip(), "lead"))
        md = isa.modes
        elem = isa.element(md.elem)
        where = md.elem if (md.hi, md.lo) == (elem.width - 1, 0) else f"{md.elem}[{md.hi}:{md.lo}]"
        levels = _join([[Code(n), f" = {c}"] for n, c in md.levels], ", ")
        tr = isa.storage.translation
        translation: Text = (
            [
                "relocation-bounds: base ",
                Code(tr.base),
                ", bound ",
                Code(tr.bound),
                " (address a is legal iff a < bound, then names physical a + base)",
            ]
            if isinstance(tr, ir.RelocationBounds)
            else "none in the spec's own terms (the view is the spec's mem[...] semantics)"
        )
        causes = _join(
            [[Code(c.name), f" = {c.code}" + (" (memory trap)" if c.memory else "")] for c in isa.traps.causes], ", "
        )
        host = inp.source_text("contexts", "host")
        rows = [
            Row(["word", f"{isa.word} bits"]),
            Row(["instruction width", f"{isa.insn_width} bits ({isa.insn_units} storage unit(s))"]),
            Row(["storage", f"{isa.storage.size} units of {isa.storage.unit} bits, {isa.storage.endian}-endian"]),
            Row(["translation", translation]),
            Row(["privilege levels", ["most privileged first: "] + levels]),
            Row(["the mode", ["held in ", Code(where)]]),
            Row(["host (where the VMM runs)", Code(host) if host else "—"]),
            Row(["trap causes", causes]),
            Row(["instructions", f"{len(isa.instructions)}"]),
        ]
        blocks.append(Table([], rows, "At a glance", cls="kv"))

        # state elements by role
        by_role: dict[str, list[Row]] = {r: [] for r in ("pc", "mode", "control", "timer", "general")}
        for e in isa.elements:
            size = f"{e.count} × {e.width}" if e.is_file else f"{e.width}"
            own = [f for f in e.fields if f.role is None or f.role == e.role]
            fields = ", ".join(f"{f.name} [{f.hi}:{f.lo}]" if f.hi != f.lo else f"{f.name} [{f.lo}]" for f in own)
            role = e.role
            by_role[role].append(Row([Code(e.name), size, fields, e.description.strip()]))
            for f in e.fields:
                if f.role is not None and f.role != e.role:
                    bits = f"[{f.hi}:{f.lo}]" if f.hi != f.lo else f"[{f.lo}]"
                    by_role[f.role].append(
                        Row([Code(f"{e.name}.{f.name}"), f"bits {bits}", "", "a field of " + e.name])
                    )
            if e.name == md.elem and e.role != "mode":
                by_role["mode"].append(Row([Code(where), f"{md.width}", "", "where the mode lives"]))
        titles = {
            "pc": "program counter",
            "mode": "mode (always control state)",
            "control": "control: resources the VMM must own",
            "timer": "timer: exposes elapsed time",
            "general": "general: ordinary guest-visible state",
        }
        rows = []
        for role, rs in by_role.items():
            if not rs:
                continue
            rows.append(Row([Strong(titles[role])], "sub"))
            rows.extend(rs)
        blocks.append(
            Table(["element", "bits", "fields", "description"], rows, "State elements by role", cls="compact")
        )

        # contexts
        rows = []
        for c in isa.contexts:
            w = inp.source_text("contexts", "guest", c.name, "where") or "true"
            mm = _join([[Code(v), " → ", Code(r)] for v, r in c.modes], ", ")
            rows.append(Row([Code(c.name), Code(w), mm, c.description.strip()]))
        blocks.append(
            Table(
                ["guest context", "where", "modes (virtual → real)", "description"],
                rows,
                "Guest contexts",
                cls="compact",
            )
        )
        blocks.append(
            Para(
                [
                    "A state is in a guest context when it satisfies the invariants and ",
                    Code("where"),
                    ", and its mode is one of the context's real modes. A guest that believes it is in a "
                    "virtual mode runs in the real mode the map gives; modes outside the map are never "
                    "looked at.",
                ],
                "small",
            )
        )
        inv = inp.invariants()
        if inv:
            blocks.append(CodeBlock("\n".join(inv), "Invariants (every state satisfies them):"))
        refs = inp.references()
        if refs:
            blocks.append(Para(Strong("The spec's references")))
            blocks.append(Bullets(list(refs)))
        return Section("The ISA at a glance", "isa", blocks)

    # ---- 3. the model ---------------------------------------------------

    def model_section(self) -> Section:
        b: list = []
        b.append(
            Para(
                [
                    "Popek and Goldberg (1974) model a third-generation computer by its state ",
                    Code("S = ⟨E, M, P, R⟩"),
                    ": executable storage E, a processor mode M (supervisor or user), a program counter P and a "
                    "relocation-bounds register R. An instruction is a function from states to states. It ",
                    Em("traps"),
                    " when it leaves storage alone except that the old program status word is "
                    "saved and a new one is loaded; a ",
                    Em("memory trap"),
                    " is a trap caused by an address "
                    "outside the bounds. They sort instructions by how they relate to the mode and the "
                    "resources:",
                ]
            )
        )
        b.append(
            Defs(
                [
                    (
                        "privileged",
                        "traps in user mode and does not trap in supervisor mode, at every pair of states "
                        "that differ only in the mode (and do not memory-trap).",
                    ),
                    ("control sensitive", "can change the mode or the resources (R) of the machine."),
                    (
                        "behaviour sensitive",
                        "its effect depends on the mode (mode sensitive) or on where it runs in "
                        "real storage, i.e. on R (location sensitive).",
                    ),
                    (
                        "sensitive / innocuous",
                        "sensitive is control or behaviour sensitive; innocuous is not sensitive.",
                    ),
                    ("user sensitive", "control or location sensitive at some state in user mode."),
                ]
            )
        )
        b.append(
            Para(
                [
                    "A virtual machine monitor is a control program made of a dispatcher, an allocator and "
                    "interpreter routines, with three properties: ",
                    Strong("equivalence"),
                    " (a program behaves under it as on the real machine, timing and resource availability aside), ",
                    Strong("resource control"),
                    " (the guest cannot change its resources without the monitor) and ",
                    Strong("efficiency"),
                    " (innocuous instructions run directly on the hardware).",
                ]
            )
        )
        b.append(
            Callout(
                "info",
                [
                    Bullets(
                        [
                            [
                                Strong("Theorem 1. "),
                                "If every sensitive instruction of a conventional third-generation computer is "
                                "privileged, a virtual machine monitor can be built for it.",
                            ],
                            [
                                Strong("Theorem 2. "),
                                "Such a computer can run its monitor recursively, under itself, if it satisfies "
                                "Theorem 1 and a monitor without timing dependencies can be built for it.",
                            ],
                            [
                                Strong("Theorem 3. "),
                                "A hybrid monitor, which interprets every instruction the guest executes in "
                                "virtual supervisor mode and runs only virtual user mode directly, can be built "
                                "if every user-sensitive instruction is privileged.",
                            ],
                        ]
                    )
                ],
                "The three theorems, in our words",
            )
        )
        b.append(
            Para(
                [
                    "Source: ",
                    PG1974,
                    " The statements above paraphrase the paper's; the theorems' names and numbering are the paper's.",
                ],
                "small",
            )
        )
        b.append(Para(Strong("How vmcheck applies them to a real ISA")))
        b.append(
            Para(
                [
                    "Real machines have more state than ⟨E, M, P, R⟩. The spec names what plays each role: the "
                    "program counter, the mode (an ordered set of privilege levels), ",
                    Em("control"),
                    " state that is a resource the VMM must own (relocation and translation registers, interrupt "
                    "enable, descriptor tables...), ",
                    Em("timer"),
                    " state, and ordinary state. Every claim is about an ",
                    Em("instance"),
                    " — an instruction together with its operand values — and is decided per ",
                    Em("guest context"),
                    " G: the configuration in which a VMM runs the guest directly, given by a condition ",
                    Code("where"),
                    " on control state and a map from each virtual mode "
                    "the guest may believe it is in to the real mode it runs in. Compared states see the same "
                    "translated view of storage, faults included, as a VMM that composes translations keeps it. "
                    "A result is the state after the instance together with its outcome (no trap, a memory trap, "
                    "or a trap and its cause).",
                ]
            )
        )
        b.append(
            Defs(
                [
                    (
                        "privileged in G",
                        "traps at every state of G at which it does not memory-trap, and does not "
                        "trap at some host state.",
                    ),
                    (
                        "control sensitive",
                        "at some state where it neither traps nor memory-traps, it changes a control element.",
                    ),
                    (
                        "mode sensitive in G",
                        "at some state s of G where it runs, and s' = s with a virtual mode that "
                        "G maps to the mode of s, the results differ.",
                    ),
                    (
                        "location sensitive",
                        "two states that differ only in control elements other than the mode, "
                        "one of which runs it, give different results.",
                    ),
                    (
                        "user sensitive in G",
                        "control or location sensitive at a state of G whose real mode is the "
                        "image of the least privileged virtual mode.",
                    ),
                    (
                        "timing dependent in G",
                        "its result depends on a timer element at some state of G where it runs.",
                    ),
                ]
            )
        )
        b.append(
            Bullets(
                [
                    [
                        Strong("Theorem 1 in G: "),
                        "every sensitive instance traps or memory-traps at every state of G, so the "
                        "VMM always gets control.",
                    ],
                    [Strong("Theorem 2 in G: "), "Theorem 1, and no instance is timing dependent in G."],
                    [
                        Strong("Theorem 3 in G: "),
                        "every user-sensitive instance traps or memory-traps at every state of G.",
                    ],
                    [
                        Strong("The exact condition in G: "),
                        "no instance is ",
                        Em("unsafe"),
                        ": there is no state s of G at "
                        "which it runs directly, and virtual state v (same non-control state and view, a mode G maps to the mode "
                        "of s, any control state), such that it changes control at s, or changes control at v without trapping, "
                        "or gives different results at s and v. Theorem 1 implies it; the converse fails where an instruction "
                        "traps in G at exactly the states where it would misbehave (the MIPS kseg0 loads, for one). It is what "
                        "the reference VMM needs: direct execution is then equivalent for every guest program, timing aside.",
                    ],
                ]
            )
        )
        b.append(
            Para(
                [
                    "Each class is an existence question over operands and states, put to an SMT solver (z3) over "
                    "the instruction's semantics. ",
                    Strong("sat"),
                    " yields a ",
                    Em("witness"),
                    ": operand values and concrete states, replayed on the concrete semantics before it is recorded; ",
                    Strong("unsat"),
                    " is a proof that no such instance and states exist; a query that exhausts the solver budget is reported as ",
                    Em("undecided"),
                    ", never guessed. The queries, by name:",
                ]
            )
        )
        b.append(
            Table(
                ["query", "the existence question (unsat proves its negation)"],
                [Row([Code(q), text]) for q, text in QUERIES.items()],
                cls="compact",
            )
        )
        b.append(
            Para(
                [
                    "range(G): the invariants hold and the mode is one of G's virtual modes; G: the invariants and ",
                    Code("where"),
                    " hold and the mode is one of G's real modes; host: the invariants and the "
                    "spec's host condition hold; any: the invariants hold.",
                ],
                "small",
            )
        )
        b.append(
            Para(
                [
                    "The definitions in full, with the corner cases they must get right and why: "
                    "docs/model.md (§2.5 the classes, §2.6 the exact condition, §3 the reference hypervisor) "
                    "in vmcheck's repository and package."
                ],
                "small",
            )
        )
        return Section("The model and the theorems", "model", b)

    # ---- 4. one guest context ---------------------------------------------

    def context_section(self, c: ContextResult) -> Section:
        inp = self.inp
        sec = Section(["Guest context ", Code(c.name)], _anchor("ctx", c.name), [])
        w = inp.source_text("contexts", "guest", c.name, "where") or "true"
        mm = _join([[Code(v), " → ", Code(r)] for v, r in c.modes.items()], ", ")
        sec.blocks.append(
            Table(
                [],
                [
                    Row(["description", c.description or "—"]),
                    Row(["where", Code(w)]),
                    Row(["modes (virtual → real)", mm]),
                ],
                cls="kv",
            )
        )
        rows = []
        for t in THEOREMS:
            tr = c.theorems[t]
            why: Text = tr.reason
            if tr.violations:
                word = _KEY_WORD[t]
                why = [
                    f"{len(tr.violations)} {word} instruction(s) run in ",
                    Code(c.name),
                    " without trapping: ",
                ] + _join([Ref(_anchor("w", c.name, n), Code(n)) for n in tr.violations], ", ")
            elif tr.unknown:
                why = ["undecided: the solver exhausted its budget on "] + _join([Code(n) for n in tr.unknown], ", ")
            rows.append(
                Row(
                    [THEOREM_TITLES[t], _holds_badge(tr.holds), why],
                    "" if tr.holds else ("fail" if tr.holds is False else "unknown"),
                )
            )
        sec.blocks.append(Table(["theorem", "verdict", "why"], rows, cls="compact"))
        undecided = []
        for r in c.instructions:
            unk = [_CLASS_WORDS[k] for k in CLASSES if r.classes[k].value == UNKNOWN]
            if unk:
                undecided.append([Code(r.name), ": ", ", ".join(unk)])
        if undecided:
            affects = any(c.theorems[t].unknown for t in THEOREMS)
            sec.blocks.append(
                Callout(
                    "unknown",
                    [
                        Para(
                            [
                                "The solver exhausted its budget (",
                                f"{inp.budget:,}",
                                " resource units per query) on some classes: ",
                            ]
                            + _join(undecided, "; ")
                            + [". They are reported as undecided, never guessed"]
                            + (
                                [", and the theorems marked undecided above depend on them."]
                                if affects
                                else [
                                    "; no verdict above depends on them (each such instruction is decided by another query)."
                                ]
                            )
                        )
                    ],
                    "Undecided answers",
                )
            )

        if inp.brief:
            sec.blocks.append(self.violations_section(c))
        else:
            sec.blocks.append(self.detail_pointer(c))
        sec.blocks.append(self.t1_vs_exact_section(c))
        return sec

    def detail_pointer(self, c: ContextResult) -> Para:
        """Where the per-instruction detail of a context is (appendix A)."""
        violating = [r.name for r in c.instructions if any(r.violates[t].value == YES for t in THEOREMS)]
        text: list = [
            "Appendix A argues each theorem instruction by instruction (",
            _join([Ref(_anchor("arg", c.name, t), THEOREM_TITLES[t]) for t in self.inp.theorems], ", "),
            ") and gives ",
        ]
        if violating:
            text += (
                ["the witness of each violation: "]
                + _join([Ref(_anchor("w", c.name, n), Code(n)) for n in violating], ", ")
                + ["."]
            )
        else:
            text += [Ref(_anchor("viol", c.name), "the violations"), " (none)."]
        return Para(text)

    def argument_appendix(self) -> Section:
        """Appendix A: for each context, the obligation of every instruction
        and the witness of every violation."""
        blocks: list = [
            Para(
                [
                    "The per-instruction detail behind the verdicts: for each guest context, the proof "
                    "obligation of every instruction under each argued theorem and how it was "
                    "discharged, then each violation with its witness."
                ],
                "small",
            )
        ]
        for c in self.rep.contexts:
            for t in self.inp.theorems:
                blocks.append(self.argument_section(c, t))
            blocks.append(self.violations_section(c))
        # No forced page break before an appendix: the page before would end
        # with whatever little of the previous section is left.
        return Section("Appendix A: the argument, instruction by instruction", "appendix-a", blocks, label="A")

    def argument_section(self, c: ContextResult, t: str) -> Section:
        key = _KEY_WORD[t]
        blocks: list = [
            Para(
                [
                    "The proof obligation of each instruction: ",
                    Em(_statement(t, "i", c.name)),
                    ". It is discharged by a "
                    "proof (the named queries are unsat, or the instruction never runs in the context), or refuted by a "
                    "witness. ",
                    Em(f"{key[0].upper()}{key[1:]}"),
                    " says whether some instance is ",
                    key,
                    "; ",
                    Em("traps in G"),
                    " whether every instance traps or memory-traps at every state of the context.",
                ]
            )
        ]
        rows = []
        counts = {"pass": 0, "fail": 0, "unknown": 0}
        for n, r in enumerate(c.instructions, 1):
            ob = obligation(r, c, t)
            counts[ob.status] += 1
            mark = {"pass": Badge("pass", "✓"), "fail": Badge("fail", "✗"), "unknown": Badge("unknown", "?")}[ob.status]
            rows.append(
                Row(
                    [
                        str(n),
                        [Code(r.name)] + ([f" (line {r.line})"] if r.line else []),
                        ob.key,
                        ob.traps,
                        ob.discharge,
                        mark,
                    ],
                    "" if ob.status == "pass" else ob.status,
                )
            )
        blocks.append(
            Table(
                ["#", "instruction", key, "traps in G", "obligation discharged by", ""],
                rows,
                cls="compact",
                numeric=(0,),
            )
        )
        blocks.append(
            Para(
                [f"{counts['pass']} obligation(s) proved, {counts['fail']} refuted, {counts['unknown']} undecided."],
                "small",
            )
        )
        return Section(
            [THEOREM_TITLES[t], ", instruction by instruction, in ", Code(c.name)], _anchor("arg", c.name, t), blocks
        )

    def violations_section(self, c: ContextResult) -> Section:
        isa, inp = self.isa, self.inp
        blocks: list = []
        violating = [r for r in c.instructions if any(r.violates[t].value == YES for t in THEOREMS)]
        if not violating:
            blocks.append(Para(["No instruction violates any theorem in ", Code(c.name), "."]))
            return Section(["Violations in ", Code(c.name)], _anchor("viol", c.name), blocks)
        blocks.append(
            Para(
                [
                    "Each instruction that violates a theorem in ",
                    Code(c.name),
                    ", with the witness "
                    "that refutes its obligation: operand values and concrete states, before and after the "
                    "instance. Running the semantics by hand on the ",
                    Em("before"),
                    " columns gives the ",
                    Em("after"),
                    " columns. Highlighted rows (marked ≠ in Markdown) are the elements whose "
                    "values differ between the states; ",
                    Strong("bold"),
                    " values are those the instance "
                    "changed; elements equal in every column are listed under the table.",
                ]
            )
        )
        conf = inp.confirmations.get(c.name)
        for r in violating:
            insn = isa.instruction(r.name)
            theorems = [t for t in THEOREMS if r.violates[t].value == YES]
            head: list = []
            meta: list = [Code(insn.mnemonic)]
            if r.line:
                meta += [f" · spec line {r.line}"]
            meta += [
                " · labels: ",
                ", ".join(sorted(r.labels)) or "none",
                " · violates: ",
                ", ".join(_SHORT_TITLE[t] for t in theorems),
            ]
            head.append(Para(meta, "small"))
            if insn.description:
                head.append(Para(insn.description.strip()))
            sem = inp.semantics(r.name)
            long_sem = sem is not None and sem.count("\n") >= _KEEP_LINES
            if sem is not None and not inp.brief and not long_sem:
                head.append(CodeBlock(sem))
            body: list = [Keep(head, "", [Badge("fail", "✗"), " ", Code(r.name)])]
            if sem is not None and not inp.brief and long_sem:
                # Kept with its heading, a long listing would push the whole
                # block to the next page and leave a half-empty one behind.
                body.append(CodeBlock(sem))
            if sem is not None and not inp.brief:
                self.semantics_shown.setdefault(r.name, _anchor("w", c.name, r.name))
            full = [t for t in theorems if t in inp.theorems] or theorems[:1]
            if inp.brief:
                full = []
            shown: dict[str, str] = {}
            others: list[Row] = []
            for t in theorems:
                a = r.violates[t]
                w = a.witness
                key = json.dumps(w.to_json(), sort_keys=True) if w is not None else None
                if t in full and key not in shown:
                    body.append(
                        Para(
                            [
                                Strong([THEOREM_TITLES[t], ": refuted. "]),
                                "Obligation: ",
                                Em(_statement(t, r.name, c.name)),
                                ".",
                            ]
                        )
                    )
                    if w is None:
                        body.append(Para(a.reason))
                    else:
                        shown[key] = _SHORT_TITLE[t]
                        body.extend(witness_blocks(isa, w))
                    continue
                if key is not None and key in shown:
                    ev: Text = [f"the same witness as for {shown[key]}"]
                elif w is not None:
                    ops = ", ".join(f"{k} = {_hex(v)}" for k, v in w.operands.items()) or "no operands"
                    ev = ["query ", Code(w.query), " (sat), ", Code(ops), ": ", w.summary]
                else:
                    ev = a.reason
                others.append(Row([THEOREM_TITLES[t], ev], "fail"))
            if others:
                title = "Refuted likewise" if full else "Refuted"
                body.append(Keep([Table(["theorem", "witness"], others, title, cls="compact")]))
            if conf is not None:
                replay = self._replay_blocks(conf, r.name)
                if replay:
                    body.append(Keep(replay))
            blocks.append(Keep(body, _anchor("w", c.name, r.name), cls="block"))
        return Section(["Violations in ", Code(c.name)], _anchor("viol", c.name), blocks)

    def _replay_blocks(self, conf, name: str) -> list:
        isa = self.isa
        items: list = []
        for rp in conf.replays:
            if rp.insn != name or rp.purpose != "violation":
                continue
            ops = ", ".join(f"{k} = {_hex(v)}" for k, v in rp.operands.items()) or "none"
            if rp.diverged:
                diffs = "; ".join(
                    f"{d.what}: native {_hex(d.native)}, virtual {_hex(d.virtual)}" for d in rp.differences[:4]
                )
                items.append(
                    [
                        "Witness replay (",
                        Code(ops),
                        f"): the VMM {_HOW.get(rp.how, rp.how)}; ",
                        Strong("diverged"),
                        f" — {diffs}",
                    ]
                )
            else:
                items.append(
                    [
                        "Witness replay (",
                        Code(ops),
                        f"): the VMM {_HOW.get(rp.how, rp.how)}; same as native" + (f" ({rp.note})" if rp.note else ""),
                    ]
                )
        for p in conf.programs:
            d = p.comparison.divergence
            if d is not None and d.insn == name:
                items.append(["Program ", Code(p.name), ": ", d.summary(isa)])
        if conf.fuzz is not None:
            for f in conf.fuzz.findings:
                if f.divergence.insn == name:
                    items.append([f"Random program {f.seed} (shrunk): ", f.divergence.summary(isa)])
                    break
        if not items:
            if name in conf.engine_violations:
                items.append(
                    "No run showed it diverging (unconfirmed: the simulator's concrete translation may not "
                    "produce the witness's fault pattern)."
                )
            else:
                return []
        return [Para(Strong(f"Under the reference {conf.vmm} VMM")), Bullets(items)]

    def t1_vs_exact_section(self, c: ContextResult) -> Section:
        blocks: list = []
        both = [r for r in c.instructions if r.violates["1"].value == YES and r.violates["exact"].value == YES]
        safe = [r for r in c.instructions if r.violates["1"].value == YES and r.violates["exact"].value == NO]
        t1, ex = c.theorems["1"], c.theorems["exact"]
        blocks.append(
            Para(
                [
                    "Theorem 1 ",
                    _holds_badge(t1.holds),
                    "; exact condition ",
                    _holds_badge(ex.holds),
                    ". ",
                    "Theorem 1 judges an instance over all states; the exact condition only at the states "
                    "where the VMM runs the guest directly. They part on instances that are sensitive but "
                    "trap in ",
                    Code(c.name),
                    " wherever they would misbehave.",
                ]
            )
        )
        if c.note:
            blocks.append(Callout("info", [Para(c.note)]))
        if safe:
            rows = []
            conf = self.inp.confirmations.get(c.name)
            for r in safe:
                ev = _join(_query_evidence(r.violates["exact"], c.name))
                cost: list = [
                    "traps to the VMM at the states where direct execution would misbehave; the VMM "
                    "emulates it there instead of running it directly"
                ]
                rows.append(Row([Code(r.name), _SENS(r), ev, cost]))
            blocks.append(
                Table(
                    ["instruction", "why it violates Theorem 1", "why it is safe (exact condition)", "what it costs"],
                    rows,
                    "Violate Theorem 1, yet safe",
                    cls="compact",
                )
            )
            if conf is not None:
                tot = conf.totals()
                blocks.append(
                    Para(
                        [
                            f"Observed under the reference {conf.vmm} VMM: ",
                            f"{tot.get('emulated_other', 0)} memory-trapping instance(s) emulated, "
                            f"{tot.get('emulated_privileged', 0)} privileged instance(s) emulated, "
                            f"{tot.get('direct', 0)} run directly.",
                        ]
                    )
                )
        if both:
            blocks.append(
                Para(
                    ["Unsafe as well as violating Theorem 1 (no VMM of this kind can run them directly): "]
                    + _join([Ref(_anchor("w", c.name, r.name), Code(r.name)) for r in both], ", ")
                    + ["."]
                )
            )
        if not safe and not both:
            blocks.append(Para("Both hold: no instance violates either."))
        elif not safe:
            blocks.append(Para("Every instance that violates Theorem 1 is also unsafe: the two verdicts agree."))
        return Section(["Theorem 1 and the exact condition in ", Code(c.name)], _anchor("exact", c.name), blocks)

    # ---- 5. labels ---------------------------------------------------------

    def labels_section(self) -> Section:
        rep = self.rep
        blocks: list = [
            Para(
                [
                    "A spec may label instructions (",
                    Code("privileged"),
                    ", ",
                    Code("sensitive"),
                    ", ...). Labels are claims: vmcheck derives every class from the semantics and reports "
                    "each label the semantics contradict, with the evidence.",
                ]
            )
        ]
        if rep.labels:
            rows = []
            for f in rep.labels:
                ev: list = [f.reason]
                if f.witness is not None:
                    ev = ["witness of ", Code(f.witness.query), ": ", f.witness.summary]
                rows.append(
                    Row(
                        [
                            [Code(f.instruction)] + ([f" (line {f.line})"] if f.line else []),
                            Code(f.label),
                            Code(f.context),
                            f.derived,
                            ev,
                        ],
                        "fail",
                    )
                )
            blocks.append(
                Table(
                    ["instruction", "declared", "context", "derived", "evidence"],
                    rows,
                    "Contradicted labels",
                    cls="compact",
                )
            )
        else:
            blocks.append(Callout("pass", [Para("No declared label is contradicted by the semantics.")]))
        agree, undecided = [], []
        for c in rep.contexts:
            for r in c.instructions:
                for label in sorted(r.labels):
                    claim = LABEL_CLAIMS.get(label)
                    if claim is None:
                        continue
                    cls, want = claim
                    a = _derived(r, cls)
                    if a.value == want:
                        agree.append((r.name, label, c.name))
                    elif a.value == UNKNOWN:
                        undecided.append((r.name, label, c.name))
        if agree and not self.inp.brief:
            by: dict[tuple[str, str], list[str]] = {}
            for n, lab, cn in agree:
                by.setdefault((n, lab), []).append(cn)
            text = _join([[Code(n), f": {lab}"] for (n, lab) in by], "; ")
            blocks.append(Para([Strong(f"Confirmed ({len(agree)} label/context pairs): ")] + text, "small"))
        if undecided:
            blocks.append(
                Para([Strong("Undecided: ")] + _join([[Code(n), f": {lab} in {cn}"] for n, lab, cn in undecided], "; "))
            )
        return Section("Declared and derived classes", "labels", blocks)

    # ---- 6. empirical confirmation -------------------------------------------

    def confirmation_section(self) -> Section:
        inp, isa = self.inp, self.isa
        blocks: list = []
        if not inp.confirmations:
            blocks.append(
                Para(
                    [
                        "Not run. With ",
                        Code("--confirm"),
                        ", the report also runs the spec's sample "
                        "programs, every witness and random programs natively and under the reference "
                        "VMM, and shows what they did (",
                        Code("vmcheck confirm"),
                        " does the same on its own).",
                    ]
                )
            )
            return Section("Empirical confirmation", "confirm", blocks)
        blocks.append(
            Para(
                [
                    "The reference VMM runs the guest directly in the context's real modes and keeps the "
                    "guest's virtual control state apart; every trap enters its dispatcher, which emulates "
                    "the instruction on the virtual state or reflects the trap to the guest. Each program "
                    "runs natively and under the VMM in lockstep; the first difference in guest-visible "
                    "state is a divergence, traced to the instruction that caused it. A classic VMM is "
                    "judged against the exact condition, a hybrid one against Theorem 3."
                ]
            )
        )
        for name, conf in inp.confirmations.items():
            sub: list = []
            judged = "the exact condition" if conf.judged_by == "exact" else "Theorem 3"
            if conf.agrees:
                sub.append(
                    Callout(
                        "pass", [Para([f"What the {conf.vmm} VMM did agrees with the engine's verdict on {judged}."])]
                    )
                )
            else:
                sub.append(Callout("fail", [Bullets(list(conf.contradictions))], "Observation contradicts the engine"))
            tot = conf.totals()
            steps = sum(
                tot.get(k, 0) for k in ("direct", "emulated_privileged", "emulated_other", "reflected", "interpreted")
            )
            direct = tot.get("direct", 0)
            pct = f"{100 * direct / steps:.0f}%" if steps else "—"
            expected = set(conf.engine_violations)
            seen = set(conf.observed)
            eq_ok = seen <= expected
            rows = [
                Row(
                    [
                        "equivalence",
                        [f"{len(conf.observed)} diverging instruction(s)"]
                        + ([": "] + _join([Code(x) for x in conf.observed], ", ") if conf.observed else [])
                        + (
                            ["; the engine expects: "] + _join([Code(x) for x in conf.engine_violations], ", ")
                            if conf.engine_violations
                            else ["; the engine expects none"]
                        ),
                        Badge("pass", "as expected") if eq_ok else Badge("fail", "unexpected"),
                    ]
                ),
                Row(
                    [
                        "resource control",
                        f"{tot.get('resource_control_breaches', 0)} breach(es): real control state "
                        "changed by the guest without a trap",
                        Badge("pass", "none")
                        if not tot.get("resource_control_breaches", 0)
                        else (Badge("info", "as expected") if conf.agrees else Badge("fail", "breached")),
                    ]
                ),
                Row(
                    [
                        "efficiency",
                        f"{direct} of {steps} guest instructions ran directly ({pct}); "
                        f"{tot.get('emulated_privileged', 0)} emulated privileged, "
                        f"{tot.get('emulated_other', 0)} emulated after a memory trap, "
                        f"{tot.get('reflected', 0)} reflected, {tot.get('interpreted', 0)} interpreted",
                        Badge("info", "measured"),
                    ]
                ),
            ]
            sub.append(Table(["VMM property", "observed", ""], rows, "The three properties", cls="compact"))
            if conf.unconfirmed:
                sub.append(
                    Para(
                        [Strong("Not shown executing: ")]
                        + _join([Code(x) for x in conf.unconfirmed], ", ")
                        + [" (the simulator's concrete translation may not produce the fault pattern a witness uses)."],
                        "small",
                    )
                )
            if conf.programs:
                prow = []
                for p in conf.programs:
                    cm, k = p.comparison, p.comparison.counters
                    res: Text = (
                        Badge("pass", "equivalent")
                        if cm.equivalent
                        else [
                            Badge("fail" if (cm.divergence.insn not in expected) else "info", "diverged"),
                            " ",
                            cm.divergence.summary(isa),
                        ]
                    )
                    prow.append(
                        Row(
                            [
                                Code(p.name),
                                str(cm.steps),
                                str(k.direct),
                                str(k.emulated_privileged),
                                str(k.emulated_other),
                                str(k.reflected),
                                str(k.interpreted),
                                str(len(k.breaches)),
                                res,
                            ]
                        )
                    )
                sub.append(
                    Table(
                        [
                            "program",
                            "steps",
                            "direct",
                            "emul. priv.",
                            "emul. other",
                            "reflected",
                            "interp.",
                            "breaches",
                            "result",
                        ],
                        prow,
                        "Sample programs",
                        cls="compact",
                        numeric=(1, 2, 3, 4, 5, 6, 7),
                    )
                )
            if conf.replays:
                rrow = []
                for rp in conf.replays:
                    ops = ", ".join(f"{k}={_hex(v)}" for k, v in rp.operands.items()) or "—"
                    seen_t = (
                        (
                            "diverged: "
                            + "; ".join(
                                f"{d.what} native {_hex(d.native)} / virtual {_hex(d.virtual)}"
                                for d in rp.differences[:2]
                            )
                        )
                        if rp.diverged
                        else "same as native" + (f" ({rp.note})" if rp.note else "")
                    )
                    rrow.append(
                        Row(
                            [
                                Code(rp.insn),
                                Code(ops),
                                rp.purpose,
                                rp.how,
                                seen_t,
                                Badge("pass", "agrees")
                                if rp.agrees
                                else (
                                    Badge("unknown", "unconfirmed")
                                    if rp.purpose == "violation"
                                    else Badge("fail", "contradicts")
                                ),
                            ]
                        )
                    )
                sub.append(
                    Table(
                        ["instruction", "operands", "purpose", "VMM ran it", "observed", ""],
                        rrow,
                        "Witness replays",
                        cls="compact",
                    )
                )
            if conf.fuzz is not None:
                f = conf.fuzz
                sub.append(
                    Para(
                        [
                            Strong("Random programs: "),
                            f"{f.programs} program(s), {f.steps} guest instructions; "
                            f"{f.counters.get('direct', 0)} run directly, "
                            f"{f.counters.get('emulated_privileged', 0)} emulated privileged, "
                            f"{f.counters.get('emulated_other', 0)} emulated after a memory trap, "
                            f"{f.counters.get('reflected', 0)} reflected; "
                            f"{len(f.findings)} diverging instruction(s)",
                        ]
                        + (
                            [": "] + _join([Code(x.divergence.insn or "?") for x in f.findings], ", ")
                            if f.findings
                            else []
                        )
                    )
                )
                for x in f.findings[:6]:
                    sub.append(
                        Keep(
                            [
                                Para(
                                    [
                                        Code(x.divergence.insn or "?"),
                                        f" (program {x.seed}, shrunk): ",
                                        x.divergence.summary(isa),
                                    ],
                                    "small",
                                ),
                                CodeBlock(x.listing),
                            ]
                        )
                    )
            blocks.append(Section(["Guest context ", Code(name), f", {conf.vmm} VMM"], _anchor("confirm", name), sub))
        return Section("Empirical confirmation", "confirm", blocks)

    # ---- appendix: semantics --------------------------------------------------

    def appendix_section(self) -> Section:
        inp, isa = self.inp, self.isa
        blocks: list = [
            Para(
                [
                    "Every instruction's semantics as the spec states it, after the spec's helpers "
                    "(which are inlined where they are called); a violating instruction's are printed once, "
                    "with its witness in appendix A. Together with the witness tables, this is what a hand "
                    "check needs."
                ],
                "small",
            )
        ]
        deliver = inp.source_text("traps", "deliver")
        if deliver:
            blocks.append(
                CodeBlock(
                    deliver.strip("\n"),
                    [
                        Strong("Trap delivery"),
                        " (runs when an instance traps; sees ",
                        Code("cause"),
                        " and ",
                        Code("trap_arg"),
                        "):",
                    ],
                )
            )
        helpers = inp.source_text("helpers")
        if helpers:
            blocks.append(CodeBlock(helpers.strip("\n"), [Strong("Helpers"), " (inlined wherever they are called):"]))
        for insn in isa.instructions:
            sem = inp.semantics(insn.name)
            ops = ", ".join(
                f"{o.name}: {'reg' if o.kind == 'reg' else ('simm' if o.signed else 'imm')}{o.width}"
                + (" pcrel" if o.pcrel else "")
                for o in insn.operands
            )
            title: list = [Code(insn.name), f" ({insn.mnemonic})"]
            if insn.span:
                title.append(f" · line {insn.span.line}")
            if insn.labels:
                title.append(" · labels: " + ", ".join(sorted(insn.labels)))
            desc = insn.description.strip()
            if desc and desc[-1] not in ".!?":
                desc += "."
            body: list = [
                Para(
                    [Strong(title)]
                    + ([" — ", desc] if desc else [])
                    + ([" Operands: ", Code(ops), "."] if ops else []),
                    "small",
                )
            ]
            shown = self.semantics_shown.get(insn.name)
            if shown is not None:
                body.append(Para(["Semantics: shown with its witness (", Ref(shown, "appendix A"), ")."], "small"))
            elif sem is not None:
                body.append(CodeBlock(sem))
            blocks.append(Keep(body, _anchor("sem", insn.name)))
        return Section("Appendix B: instruction semantics", "semantics", blocks, label="B")


# The front page names at most this many instructions per row (appendix A has all).
_FRONT_NAMES = 45

# A witness table of at most this many rows is kept on one page.
_KEEP_ROWS = 14

# A semantics listing of this many lines or more may start on one page and
# end on the next instead of moving, whole, with its heading.
_KEEP_LINES = 12

_HOW = {
    "direct": "ran it directly",
    "emulated": "emulated it",
    "reflected": "reflected its trap to the guest",
    "interpreted": "interpreted it",
}


def _SENS(r: InstructionResult) -> Text:
    parts = []
    for c in ("control_sensitive", "mode_sensitive", "location_sensitive"):
        a = r.classes[c]
        if a.value == YES:
            parts.append([Strong(_CLASS_WORDS[c]), ": ", a.reason])
    return _join(parts, "; ") or r.violates["1"].reason


def _derived(r: InstructionResult, cls: str) -> Answer:
    if cls in ("behaviour_sensitive", "pg_behaviour_sensitive"):  # not a class of its own: mode or location
        pre = cls.removesuffix("behaviour_sensitive")
        a, b = r.classes[pre + "mode_sensitive"], r.classes[pre + "location_sensitive"]
        for x in (a, b):
            if x.value == YES:
                return x
        if UNKNOWN in (a.value, b.value):
            return a if a.value == UNKNOWN else b
        return Answer(NO, f"{a.reason}; {b.reason}", "proof", None, a.queries + b.queries)
    return r.classes[cls]


def _z3_version() -> str:
    try:
        import z3

        return f"z3 {z3.get_version_string()}"
    except Exception:  # pragma: no cover - z3 is a dependency
        return "z3"


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def build_document(inp: ProofInput) -> Doc:
    return ProofReport(inp).doc()


def render(inp: ProofInput, fmt: str) -> str:
    """The report as "html" or "md" text."""
    d = build_document(inp)
    if fmt == "html":
        return render_html(d)
    if fmt == "md":
        return render_markdown(d)
    raise ValueError(f"unknown report format {fmt!r}")


def format_of(path: str) -> str | None:
    return FORMATS.get(Path(path).suffix.lower())


def make_input(
    spec: str,
    *,
    context: str | None = None,
    theorems: Iterable[str] = ("1",),
    timeout: float = 300.0,
    budget: int = 300_000_000,
    jobs: int | None = None,
    use_cache: bool = True,
    confirm: bool = False,
    vmm: str = "classic",
    fuzz: int = 0,
    seed: int = 0,
    max_steps: int = 10_000,
    brief: bool = False,
    report: Report | None = None,
) -> ProofInput:
    """Load `spec`, decide it (unless `report` is given) and, with `confirm`,
    run it under the reference VMM: everything a report shows."""
    from ..analysis.engine import check_isas
    from ..spec.load import read_nodes, resolve

    path = resolve(spec)
    from ..spec.build import build_isa

    nodes = read_nodes(path)
    isa = build_isa(nodes, str(path))
    if report is None:
        report = check_isas([isa], context=context, timeout=timeout, budget=budget, jobs=jobs, use_cache=use_cache)[0]
    confirmations: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if confirm:
        from ..hypervisor.campaign import confirm_context
        from ..spec.library import programs as bundled_programs

        paths = bundled_programs(spec) or sorted((path.parent / "programs").glob("*.s"))
        options = {"vmm": vmm, "programs": len(paths), "fuzz": fuzz, "seed": seed, "max_steps": max_steps}
        for c in report.contexts:
            confirmations[c.name] = confirm_context(
                isa, c, kind=vmm, programs=paths, fuzz_programs=fuzz, seed=seed, max_steps=max_steps
            )
    order = [t for t in THEOREMS if t in set(theorems)] or ["1"]
    return ProofInput(
        isa,
        report,
        shown_path(path),
        spec_sha256(path),
        nodes,
        confirmations,
        options,
        tuple(order),
        timeout,
        brief,
        budget,
    )


def shown_path(path: Path) -> str:
    """The spec file as the report names it: relative to the working directory
    when inside it, `isa_specs/...` for a bundled spec, else absolute."""
    from ..spec.library import specs_dir

    p = path.resolve()
    for base, prefix in ((Path.cwd().resolve(), ""), (specs_dir().resolve(), "isa_specs/")):
        try:
            return prefix + p.relative_to(base).as_posix()
        except ValueError:
            continue
    return p.as_posix()


__all__ = [
    "ProofInput",
    "ProofReport",
    "build_document",
    "render",
    "make_input",
    "format_of",
    "spec_sha256",
    "obligation",
    "witness_table",
    "FORMATS",
]
