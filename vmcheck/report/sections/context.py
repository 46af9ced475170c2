"""Section 4, one per guest context: its condition and mode map, each
theorem's verdict there and why, the undecided answers, where its
per-instruction detail is, and where Theorem 1 and the exact condition part."""

from __future__ import annotations

from ...analysis.results import ContextResult
from ...theory import CLASSES, NO, THEOREM_TITLES, THEOREMS, UNKNOWN, YES
from ..document import (
    Callout,
    Code,
    Para,
    Ref,
    Row,
    Section,
    Table,
    Text,
    join,
)
from ..evidence import query_evidence, sensitivity_reasons
from ..proof_input import ProofInput
from ..vocabulary import CLASS_WORDS, KEY_WORD, anchor, holds_badge
from .violations import violations_section


def context_section(inp: ProofInput, c: ContextResult) -> Section:
    """Section 4 for one guest context (see the module's docstring)."""
    sec = Section(["Guest context ", Code(c.name)], anchor("ctx", c.name), [])
    w = inp.source.text("contexts", "guest", c.name, "where") or "true"
    mm = join([[Code(v), " → ", Code(r)] for v, r in c.modes.items()], ", ")
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
            word = KEY_WORD[t]
            why = [
                f"{len(tr.violations)} {word} instruction(s) run in ",
                Code(c.name),
                " without trapping: ",
            ] + join([Ref(anchor("w", c.name, n), Code(n)) for n in tr.violations], ", ")
        elif tr.unknown:
            why = ["undecided: the solver exhausted its budget on "] + join([Code(n) for n in tr.unknown], ", ")
        rows.append(
            Row(
                [THEOREM_TITLES[t], holds_badge(tr.holds), why],
                "" if tr.holds else ("fail" if tr.holds is False else "unknown"),
            )
        )
    sec.blocks.append(Table(["theorem", "verdict", "why"], rows, cls="compact"))
    undecided = []
    for r in c.instructions:
        unk = [CLASS_WORDS[k] for k in CLASSES if r.classes[k].value == UNKNOWN]
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
                        + join(undecided, "; ")
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
        sec.blocks.append(violations_section(inp, c))
    else:
        sec.blocks.append(detail_pointer(inp, c))
    sec.blocks.append(t1_vs_exact_section(inp, c))
    return sec


def detail_pointer(inp: ProofInput, c: ContextResult) -> Para:
    """Where the per-instruction detail of a context is (appendix A)."""
    violating = [r.name for r in c.instructions if any(r.violates[t].value == YES for t in THEOREMS)]
    text: list = [
        "Appendix A argues each theorem instruction by instruction (",
        join([Ref(anchor("arg", c.name, t), THEOREM_TITLES[t]) for t in inp.theorems], ", "),
        ") and gives ",
    ]
    if violating:
        text += (
            ["the witness of each violation: "]
            + join([Ref(anchor("w", c.name, n), Code(n)) for n in violating], ", ")
            + ["."]
        )
    else:
        text += [Ref(anchor("viol", c.name), "the violations"), " (none)."]
    return Para(text)


def t1_vs_exact_section(inp: ProofInput, c: ContextResult) -> Section:
    """Where Theorem 1 and the exact condition part in one context, and what that costs the VMM."""
    blocks: list = []
    both = [r for r in c.instructions if r.violates["1"].value == YES and r.violates["exact"].value == YES]
    safe = [r for r in c.instructions if r.violates["1"].value == YES and r.violates["exact"].value == NO]
    t1, ex = c.theorems["1"], c.theorems["exact"]
    blocks.append(
        Para(
            [
                "Theorem 1 ",
                holds_badge(t1.holds),
                "; exact condition ",
                holds_badge(ex.holds),
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
        conf = inp.confirmations.get(c.name)
        for r in safe:
            ev = join(query_evidence(r.violates["exact"], c.name))
            cost: list = [
                "traps to the VMM at the states where direct execution would misbehave; the VMM "
                "emulates it there instead of running it directly"
            ]
            rows.append(Row([Code(r.name), sensitivity_reasons(r), ev, cost]))
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
                + join([Ref(anchor("w", c.name, r.name), Code(r.name)) for r in both], ", ")
                + ["."]
            )
        )
    if not safe and not both:
        blocks.append(Para("Both hold: no instance violates either."))
    elif not safe:
        blocks.append(Para("Every instance that violates Theorem 1 is also unsafe: the two verdicts agree."))
    return Section(["Theorem 1 and the exact condition in ", Code(c.name)], anchor("exact", c.name), blocks)
