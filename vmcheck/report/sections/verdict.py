"""Section 1, the front page: the verdict per theorem and guest context, a
chart of each context's instructions by Theorem 1 class, and the violating
instructions. It stands alone: a reader who wants the answer stops here."""

from __future__ import annotations

from ...theory import THEOREM_TITLES, THEOREMS, UNKNOWN, YES
from ..document import (
    Bar,
    BarChart,
    Callout,
    Code,
    Para,
    Ref,
    Row,
    Section,
    Strong,
    Table,
    Text,
    join,
)
from ..proof_input import ProofInput
from ..vocabulary import SHORT_TITLE, anchor, holds_badge

# The front page names at most this many instructions per row (appendix A has all).
FRONT_NAMES = 45


def verdict_section(inp: ProofInput) -> Section:
    """Section 1, the front page (see the module's docstring)."""
    rep = inp.report
    blocks: list = []
    t1 = rep.verdicts["1"]
    text: list[Text]
    title: list[Text]
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
            + join(
                [
                    [Ref(anchor("viol", n), Code(n)), f" ({len(v)} instruction{'s' if len(v) != 1 else ''}"]
                    + ([": "] + join([Ref(anchor("w", n, i), Code(i)) for i in v], ", ") if len(v) <= 6 else [])
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
                Ref(anchor("exact", ex.context or ""), "see below"),
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

    header: list[Text] = ["theorem", "ISA", *([Code(c.name)] for c in rep.contexts)]
    rows = []
    for t in THEOREMS:
        v = rep.verdicts[t]
        isa_cell: list = [holds_badge(v.holds)] + ([" in ", Code(v.context)] if v.context else [])
        cells: list[Text] = [THEOREM_TITLES[t], isa_cell]
        for c in rep.contexts:
            tr = c.theorems[t]
            cell: list = [holds_badge(tr.holds)]
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
    blocks.append(class_chart(inp))
    violations = violations_table(inp)
    if violations is not None:
        blocks.append(violations)
    if inp.brief:  # the full report has these in each context's section
        for c in rep.contexts:
            if c.note:
                blocks.append(Callout("info", [Para(c.note)], ["Theorem 1 and the exact condition in ", Code(c.name)]))
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


def violations_table(inp: ProofInput) -> Table | None:
    """The front page's list of violating (and undecided) instructions,
    one row per context and theorem. A theorem whose list repeats or
    extends Theorem 1's says so instead of repeating it, and a long list
    is cut (appendix A has every one), so the summary stays one page."""
    rows = []
    for c in inp.report.contexts:
        t1 = c.theorems["1"].violations
        for t in THEOREMS:
            tr = c.theorems[t]
            if not tr.violations and not tr.unknown:
                continue
            names = _names_against(c.name, tr.violations, t1 if t != "1" else [])
            undecided: Text = join([Code(n) for n in tr.unknown], ", ") if tr.unknown else "—"
            rows.append(
                Row(
                    [Code(c.name), SHORT_TITLE[t].replace("the exact", "exact"), names, undecided],
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


def _names_against(ctx: str, names: list[str], base: list[str]) -> Text:
    """A theorem's violating instructions, said against Theorem 1's (`base`) where that is shorter."""

    def refs(ns: list[str]) -> list:
        out = join([Ref(anchor("w", ctx, n), Code(n)) for n in ns[:FRONT_NAMES]], ", ")
        if len(ns) > FRONT_NAMES:
            out += [f" and {len(ns) - FRONT_NAMES} more (", Ref("appendix-a", "appendix A"), ")"]
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


def class_chart(inp: ProofInput) -> BarChart:
    """How each context's instructions fall under Theorem 1: the front page's figure."""
    bars = []
    for c in inp.report.contexts:
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
