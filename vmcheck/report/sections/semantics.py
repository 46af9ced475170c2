"""Appendix B, instruction semantics: the trap delivery, the helpers and
every instruction's semantics as the spec states them (a violating
instruction's are printed once, with its witness in appendix A)."""

from __future__ import annotations

from ..document import (
    Code,
    CodeBlock,
    Keep,
    Para,
    Ref,
    Section,
    Strong,
)
from ..proof_input import ProofInput
from ..vocabulary import anchor
from .violations import semantics_shown


def appendix_section(inp: ProofInput) -> Section:
    """Appendix B (see the module's docstring)."""
    isa = inp.isa
    shown_with_witness = semantics_shown(inp)
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
    deliver = inp.source.text("traps", "deliver")
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
    helpers = inp.source.text("helpers")
    if helpers:
        blocks.append(CodeBlock(helpers.strip("\n"), [Strong("Helpers"), " (inlined wherever they are called):"]))
    for insn in isa.instructions:
        sem = inp.source.semantics(insn.name)
        ops = ", ".join(
            f"{o.name}: {'reg' if o.kind == 'reg' else ('simm' if o.signed else 'imm')}{o.width}"
            + (" pcrel" if o.pcrel else "")
            + (" next" if o.pcrel_next else "")
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
                + ([" Operands: ", Code(ops), "."] if ops else [])
                + ([" Reference: ", insn.ref.rstrip("."), "."] if insn.ref else [])
                + ([" ", insn.family.describe()[0].upper() + insn.family.describe()[1:], "."] if insn.family else []),
                "small",
            )
        ]
        shown = shown_with_witness.get(insn.name)
        if shown is not None:
            body.append(Para(["Semantics: shown with its witness (", Ref(shown, "appendix A"), ")."], "small"))
        elif sem is not None:
            body.append(CodeBlock(sem))
        blocks.append(Keep(body, anchor("sem", insn.name)))
    return Section("Appendix B: instruction semantics", "semantics", blocks, label="B")
