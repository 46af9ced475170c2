"""Section 5, declared and derived classes: the labels the semantics
contradict, with their evidence, and those they confirm."""

from __future__ import annotations

from ...analysis.engine import derived
from ...theory import UNKNOWN
from ..document import (
    Callout,
    Code,
    Para,
    Row,
    Section,
    Strong,
    Table,
    join,
)
from ..proof_input import ProofInput


def labels_section(inp: ProofInput) -> Section:
    """Section 5 (see the module's docstring)."""
    rep = inp.report
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
        for r, label, cls, want in c.label_claims():
            a = derived(r, cls)
            if a.value == want:
                agree.append((r.name, label, c.name))
            elif a.value == UNKNOWN:
                undecided.append((r.name, label, c.name))
    if agree and not inp.brief:
        by: dict[tuple[str, str], list[str]] = {}
        for n, lab, cn in agree:
            by.setdefault((n, lab), []).append(cn)
        text = join([[Code(n), f": {lab}"] for (n, lab) in by], "; ")
        blocks.append(Para([Strong(f"Confirmed ({len(agree)} label/context pairs): ")] + text, "small"))
    if undecided:
        blocks.append(
            Para([Strong("Undecided: ")] + join([[Code(n), f": {lab} in {cn}"] for n, lab, cn in undecided], "; "))
        )
    return Section("Declared and derived classes", "labels", blocks)
