"""Each violating instruction of one guest context with the witness that
refutes its obligation and, with --confirm, what the reference VMM did when
the witness was replayed (appendix A; in a --brief report, section 4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ...analysis.results import ContextResult
from ...theory import THEOREM_TITLES, THEOREMS, YES
from ..document import (
    Badge,
    Bullets,
    Code,
    CodeBlock,
    Em,
    Keep,
    Para,
    Row,
    Section,
    Strong,
    Table,
    Text,
)
from ..evidence import statement
from ..proof_input import ProofInput
from ..vocabulary import SHORT_TITLE, anchor, hex_value
from ..witness import witness_blocks

if TYPE_CHECKING:  # a result type; the VMM itself is never imported here
    from ...hypervisor.campaign import Confirmation

# A semantics listing of this many lines or more may start on one page and
# end on the next instead of moving, whole, with its heading.
KEEP_LINES = 12

_HOW = {
    "direct": "ran it directly",
    "emulated": "emulated it",
    "reflected": "reflected its trap to the guest",
    "interpreted": "interpreted it",
}


def violations_section(inp: ProofInput, c: ContextResult) -> Section:
    """The violations of one context (see the module's docstring)."""
    isa = inp.isa
    blocks: list = []
    violating = [r for r in c.instructions if any(r.violates[t].value == YES for t in THEOREMS)]
    if not violating:
        blocks.append(Para(["No instruction violates any theorem in ", Code(c.name), "."]))
        return Section(["Violations in ", Code(c.name)], anchor("viol", c.name), blocks)
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
                " values are those the instance changed; elements equal in every column are listed under the table.",
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
            ", ".join(SHORT_TITLE[t] for t in theorems),
        ]
        head.append(Para(meta, "small"))
        if insn.description:
            head.append(Para(insn.description.strip()))
        sem = inp.source.semantics(r.name)
        long_sem = sem is not None and sem.count("\n") >= KEEP_LINES
        if sem is not None and not inp.brief and not long_sem:
            head.append(CodeBlock(sem))
        body: list = [Keep(head, "", [Badge("fail", "✗"), " ", Code(r.name)])]
        if sem is not None and not inp.brief and long_sem:
            # Kept with its heading, a long listing would push the whole
            # block to the next page and leave a half-empty one behind.
            body.append(CodeBlock(sem))
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
                            Em(statement(t, r.name, c.name)),
                            ".",
                        ]
                    )
                )
                if w is None or key is None:  # (key is None exactly when w is)
                    body.append(Para(a.reason))
                else:
                    shown[key] = SHORT_TITLE[t]
                    body.extend(witness_blocks(isa, w))
                continue
            if key is not None and key in shown:
                ev: Text = [f"the same witness as for {shown[key]}"]
            elif w is not None:
                ops = ", ".join(f"{k} = {hex_value(v)}" for k, v in w.operands.items()) or "no operands"
                ev = ["query ", Code(w.query), " (sat), ", Code(ops), ": ", w.summary]
            else:
                ev = a.reason
            others.append(Row([THEOREM_TITLES[t], ev], "fail"))
        if others:
            title = "Refuted likewise" if full else "Refuted"
            body.append(Keep([Table(["theorem", "witness"], others, title, cls="compact")]))
        if conf is not None:
            replay = _replay_blocks(inp, conf, r.name)
            if replay:
                body.append(Keep(replay))
        blocks.append(Keep(body, anchor("w", c.name, r.name), cls="block"))
    return Section(["Violations in ", Code(c.name)], anchor("viol", c.name), blocks)


def _replay_blocks(inp: ProofInput, conf: Confirmation, name: str) -> list:
    """What the reference VMM did with one violating instruction: witness replays, programs and random programs that diverged on it."""
    isa = inp.isa
    items: list = []
    for rp in conf.replays:
        if rp.insn != name or rp.purpose != "violation":
            continue
        ops = ", ".join(f"{k} = {hex_value(v)}" for k, v in rp.operands.items()) or "none"
        if rp.diverged:
            diffs = "; ".join(
                f"{d.what}: native {hex_value(d.native)}, virtual {hex_value(d.virtual)}" for d in rp.differences[:4]
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


def semantics_shown(inp: ProofInput) -> dict[str, str]:
    """Instruction -> the anchor of the witness block in appendix A that
    already prints its semantics (appendix B points there instead of printing
    them twice): the first context in which it violates a theorem."""
    shown: dict[str, str] = {}
    if inp.brief:
        return shown
    for c in inp.report.contexts:
        for r in c.instructions:
            if any(r.violates[t].value == YES for t in THEOREMS) and inp.source.semantics(r.name) is not None:
                shown.setdefault(r.name, anchor("w", c.name, r.name))
    return shown
