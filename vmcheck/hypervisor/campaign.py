"""Empirical confirmation of a verdict: programs, witness replays and fuzzing, judged.

For one guest context and one VMM, everything that can show the verdict
executing is run, and what was observed is held against what the theorem
engine decided. The classic VMM relies on the exact trap-and-emulate
condition (docs/model.md §2.6), the hybrid VMM on Theorem 3, so those are the
verdicts a confirmation is judged against; Theorem 1 is reported beside.

Observation contradicts the engine when an instruction diverges that the
engine proved safe, when a privileged instruction's emulation differs from
native execution, or when a direct instruction changes real control state
although the engine proved it cannot. A violation that no run showed is
reported as unconfirmed, not as a contradiction: the simulator's concrete
translation cannot always produce the fault pattern a witness uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.results import ContextResult
from ..machine.assembler import assemble_file
from ..spec import ir
from .confirm import Comparison, compare_run
from .fuzz import FuzzReport, fuzz
from .replay import Replay, replay_witness
from .vmm import CLASSIC, HYBRID


@dataclass
class ProgramRun:
    name: str
    comparison: Comparison


@dataclass
class Confirmation:
    context: str
    vmm: str
    judged_by: str  # "exact" (classic VMM) or "3" (hybrid VMM)
    engine_violations: list[str]
    theorem1_violations: list[str]
    programs: list[ProgramRun] = field(default_factory=list)
    replays: list[Replay] = field(default_factory=list)
    fuzz: FuzzReport | None = None
    observed: list[str] = field(default_factory=list)  # instructions seen diverging
    contradictions: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.contradictions

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        runs = [p.comparison.counters.as_dict() for p in self.programs]
        if self.fuzz is not None:
            runs.append(self.fuzz.counters)
        for c in runs:
            for k, v in c.items():
                out[k] = out.get(k, 0) + v
        return out

    def to_json(self) -> dict:
        def comp(c: Comparison):
            d = c.divergence
            return {
                "steps": c.steps, "native_stop": c.native_stop, "virtual_stop": c.virtual_stop,
                "equivalent": c.equivalent, "counters": c.counters.as_dict(),
                "divergence": None if d is None else {
                    "step": d.step, "pc": d.pc, "instruction": d.insn, "operands": list(d.ops), "how": d.how,
                    "differences": [{"what": x.what, "native": x.native, "virtual": x.virtual} for x in d.differences],
                },
                "breaches": [{"step": b.step, "pc": b.pc, "instruction": b.insn, "elements": list(b.elements)}
                             for b in c.counters.breaches],
            }

        return {
            "context": self.context, "vmm": self.vmm, "judged_by": self.judged_by,
            "engine_violations": self.engine_violations, "theorem1_violations": self.theorem1_violations,
            "programs": [{"name": p.name, **comp(p.comparison)} for p in self.programs],
            "replays": [{"instruction": r.insn, "operands": r.operands, "purpose": r.purpose,
                         "diverged": r.diverged, "how": r.how, "agrees": r.agrees, "note": r.note,
                         "differences": [{"what": x.what, "native": x.native, "virtual": x.virtual}
                                         for x in r.differences]} for r in self.replays],
            "fuzz": None if self.fuzz is None else {
                "programs": self.fuzz.programs, "steps": self.fuzz.steps, "counters": self.fuzz.counters,
                "findings": [{"seed": f.seed, "instruction": f.divergence.insn, "step": f.divergence.step,
                              "program": f.listing} for f in self.fuzz.findings],
            },
            "totals": self.totals(),
            "observed": self.observed, "contradictions": self.contradictions, "unconfirmed": self.unconfirmed,
            "agrees": self.agrees,
        }


def confirm_context(isa: ir.Isa, ctx_result: ContextResult, *, kind: str = CLASSIC,
                    programs: list[Path] = (), fuzz_programs: int = 0, seed: int = 0,
                    max_steps: int = 10_000, witnesses: bool = True) -> Confirmation:
    context = isa.context(ctx_result.name)
    judged_by = "exact" if kind == CLASSIC else "3"
    engine = sorted(ctx_result.theorems[judged_by].violations)
    out = Confirmation(context.name, kind, judged_by, engine, sorted(ctx_result.theorems["1"].violations))
    observed: set[str] = set()

    for path in programs:
        prog = assemble_file(isa, path)
        c = compare_run(isa, context, prog.image, kind=kind, max_steps=max_steps)
        out.programs.append(ProgramRun(Path(path).name, c))
        if c.divergence is not None and c.divergence.insn:
            observed.add(c.divergence.insn)
        for b in c.counters.breaches:
            if b.insn not in engine:
                out.contradictions.append(f"{Path(path).name}: {b.insn} changed real control "
                                          f"({', '.join(b.elements)}) without a trap, which the engine proved impossible")

    if witnesses:
        for r in ctx_result.instructions:
            if r.name in engine:
                w = (r.violates[judged_by].witness or r.classes["unsafe"].witness) if kind == CLASSIC \
                    else r.violates["3"].witness
                if w is not None:
                    out.replays.append(replay_witness(isa, context, kind, r.name, w, "violation"))
            priv = r.classes["privileged"]
            if priv.value == "yes" and priv.witness is not None:
                out.replays.append(replay_witness(isa, context, kind, r.name, priv.witness, "emulation"))
        for rp in out.replays:
            if rp.diverged:
                observed.add(rp.insn)
            if rp.purpose == "emulation" and rp.diverged:
                out.contradictions.append(f"the emulation of {rp.insn} differs from native execution: "
                                          + "; ".join(f"{d.what}" for d in rp.differences[:3]))

    if fuzz_programs:
        out.fuzz = fuzz(isa, context, kind=kind, programs=fuzz_programs, seed=seed)
        observed |= {d for d in out.fuzz.diverging if d}

    out.observed = sorted(observed)
    for name in out.observed:
        if name not in engine:
            out.contradictions.append(f"{name} diverged under the {kind} VMM, but the engine proved it "
                                      f"{'safe' if kind == CLASSIC else 'harmless for a hybrid VMM'}")
    out.unconfirmed = [n for n in engine if n not in observed]
    return out


__all__ = ["CLASSIC", "HYBRID", "Confirmation", "ProgramRun", "confirm_context"]
