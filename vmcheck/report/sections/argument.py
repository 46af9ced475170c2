"""Appendix A, the argument instruction by instruction: per guest context,
each argued theorem's obligation for every instruction and how it was
discharged, then the violations with their witnesses."""

from __future__ import annotations

from ...analysis.results import ContextResult
from ...theory import THEOREM_TITLES
from ..document import (
    Badge,
    Code,
    Em,
    Para,
    Row,
    Section,
    Table,
)
from ..evidence import obligation, statement
from ..proof_input import ProofInput
from ..vocabulary import KEY_WORD, anchor
from .violations import violations_section


def argument_appendix(inp: ProofInput) -> Section:
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
    for c in inp.report.contexts:
        for t in inp.theorems:
            blocks.append(argument_section(inp, c, t))
        blocks.append(violations_section(inp, c))
    # No forced page break before an appendix: the page before would end
    # with whatever little of the previous section is left.
    return Section("Appendix A: the argument, instruction by instruction", "appendix-a", blocks, label="A")


def argument_section(inp: ProofInput, c: ContextResult, t: str) -> Section:
    """Theorem t in one context: every instruction's obligation and how it was discharged, as one table."""
    key = KEY_WORD[t]
    blocks: list = [
        Para(
            [
                "The proof obligation of each instruction: ",
                Em(statement(t, "i", c.name)),
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
        [THEOREM_TITLES[t], ", instruction by instruction, in ", Code(c.name)], anchor("arg", c.name, t), blocks
    )
