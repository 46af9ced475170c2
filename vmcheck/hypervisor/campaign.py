"""Empirical confirmation of a verdict: programs, witness replays and fuzzing, judged.

For one guest context and one VMM, everything that can show the verdict
executing is run, and what was observed is held against what the theorem
engine decided. The classic VMM relies on the exact trap-and-emulate
condition (docs/model.md §2.6), the hybrid VMM on Theorem 3: the violations of
that theorem are what the runs must show.

Every observation is held against every verdict it bears on (docs/model.md §3):
a divergence or a resource-control breach at an instruction proves it
violates the exact condition and Theorem 1 (classic VMM) or Theorem 3
(hybrid VMM; a breach that changes control, not only the mode, Theorem 1
too). Where the engine proved otherwise, that is a contradiction; where it
left the class unknown, the run decides it. A privileged instruction whose
emulation differs from native execution is a contradiction too. A violation
that no run showed is reported as unconfirmed with the reason (the exit
code of `confirm` tells it apart). A guest that enters a mode its context
does not map (by an emulated or reflected trap: the VMM had control) ends
its run: a limit of the context, which no verdict is about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.results import NO, UNKNOWN, ContextResult
from ..machine.assembler import assemble_file
from ..spec import ir
from .fuzz import FuzzFinding, FuzzReport, OperandValues, fuzz
from .lockstep import Comparison, compare_run
from .translate import TRANSLATE, CostComparison, judge_translated
from .vmm import CLASSIC, HYBRID, LEFT_CONTEXT, Breach
from .witness_replay import Replay, replay_witness


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
    observed: list[str] = field(default_factory=list)  # instructions seen diverging or breaching
    contradictions: list[str] = field(default_factory=list)
    decided: list[str] = field(default_factory=list)  # classes the engine left unknown, decided by a run
    unconfirmed: list[str] = field(default_factory=list)  # engine violations no run showed
    unconfirmed_reasons: dict[str, str] = field(default_factory=dict)
    left_context: int = 0  # runs that ended when the guest entered a mode the context does not map
    # translate VMM: its cost against the classic VMM's (`translate.measure_cost`; set by `confirm`)
    cost: CostComparison | None = None

    @property
    def agrees(self) -> bool:
        return not self.contradictions

    @property
    def confirmed(self) -> bool:
        """Agrees, and every violation the VMM is judged by was shown executing."""
        return self.agrees and not self.unconfirmed

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
        doc = self._to_json()
        if self.cost is not None:  # (only under the translate VMM: other outputs keep their shape)
            doc["cost"] = self.cost.to_json()
        return doc

    def _to_json(self) -> dict:
        def comp(c: Comparison):
            d = c.divergence
            return {
                "steps": c.steps,
                "native_stop": c.native_stop,
                "virtual_stop": c.virtual_stop,
                "equivalent": c.equivalent,
                "counters": c.counters.as_dict(),
                "divergence": None
                if d is None
                else {
                    "step": d.step,
                    "pc": d.pc,
                    "instruction": d.insn,
                    "operands": list(d.ops),
                    "how": d.how,
                    "differences": [{"what": x.what, "native": x.native, "virtual": x.virtual} for x in d.differences],
                },
                "breaches": [
                    {"step": b.step, "pc": b.pc, "instruction": b.insn, "elements": list(b.elements)}
                    for b in c.counters.breaches
                ],
            }

        return {
            "context": self.context,
            "vmm": self.vmm,
            "judged_by": self.judged_by,
            "engine_violations": self.engine_violations,
            "theorem1_violations": self.theorem1_violations,
            "programs": [{"name": p.name, **comp(p.comparison)} for p in self.programs],
            "replays": [
                {
                    "instruction": r.insn,
                    "operands": r.operands,
                    "purpose": r.purpose,
                    "diverged": r.diverged,
                    "how": r.how,
                    "agrees": r.agrees,
                    "note": r.note,
                    "differences": [{"what": x.what, "native": x.native, "virtual": x.virtual} for x in r.differences],
                }
                for r in self.replays
            ],
            "fuzz": None
            if self.fuzz is None
            else {
                "programs": self.fuzz.programs,
                "steps": self.fuzz.steps,
                "counters": self.fuzz.counters,
                "left_context": self.fuzz.left_context,
                "direct_fraction": (self.fuzz.counters.get("direct", 0) / self.fuzz.steps) if self.fuzz.steps else None,
                "findings": [
                    {
                        "seed": f.seed,
                        "instruction": f.divergence.insn,
                        "step": f.divergence.step,
                        "program": f.listing,
                        "breach": f.divergence.breach is not None,
                    }
                    for f in self.fuzz.findings
                ],
            },
            "totals": self.totals(),
            "observed": self.observed,
            "contradictions": self.contradictions,
            "unconfirmed": self.unconfirmed,
            "unconfirmed_reasons": self.unconfirmed_reasons,
            "decided": self.decided,
            "left_context": self.left_context,
            "agrees": self.agrees,
        }


@dataclass(frozen=True)
class Sighting:
    """An instruction seen misbehaving, and the theorems that proves it violates."""

    insn: str
    theorems: tuple[str, ...]
    what: str  # "diverged" or "made a resource-control breach"
    where: str  # "program x.s", "fuzz program 12", "witness replay"


def _implied(kind: str, breach: Breach | None) -> tuple[str, ...]:
    """What an observation at a directly run (or emulated) instance proves it violates.

    Under the classic VMM a divergence or a breach is the exact condition's
    unsafety, and unsafe implies violating Theorem 1. Under the hybrid VMM the
    instance ran in virtual user mode: Theorem 3; a breach that is a control
    change under the classic rules too (not only leaving user mode) is also a
    Theorem 1 and exact violation."""
    if kind != HYBRID:  # classic, and translate (a classic VMM in front of which code is translated)
        return ("1", "exact")
    if breach is not None and breach.control:
        return ("3", "1", "exact")
    return ("3",)


def witness_operands(ctx_result: ContextResult) -> OperandValues:
    """Every operand value some witness of the engine names, per instruction and operand."""
    out: OperandValues = {}
    for r in ctx_result.instructions:
        for a in list(r.classes.values()) + list(r.violates.values()):
            if a.witness is None:
                continue
            for op, val in a.witness.operands.items():
                vals = out.setdefault(r.name, {}).setdefault(op, [])
                if val not in vals:
                    vals.append(val)
    return out


def confirm_context(
    isa: ir.Isa,
    ctx_result: ContextResult,
    *,
    kind: str = CLASSIC,
    programs: Sequence[Path] = (),
    fuzz_programs: int = 0,
    seed: int = 0,
    max_steps: int = 10_000,
    witnesses: bool = True,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    timer: int | None = None,
) -> Confirmation:
    """`progress(done, total)` is called after each program, the witnesses and the fuzzing.
    `timer`: the period of the spec's interrupt sources in the program runs (None: the spec's)."""
    context = isa.context(ctx_result.name)
    total, step = len(programs) + 2, iter(range(1, len(programs) + 3))
    tick = (lambda: progress(next(step), total)) if progress else (lambda: None)
    judged_by = "3" if kind == HYBRID else "exact"  # translate: the instances it replaces
    engine = sorted(ctx_result.theorems[judged_by].violations)
    out = Confirmation(context.name, kind, judged_by, engine, sorted(ctx_result.theorems["1"].violations))
    seen: list[Sighting] = []

    def sight(d, where: str) -> None:
        if d is not None and d.insn:
            what = "made a resource-control breach" if d.breach is not None else "diverged"
            seen.append(Sighting(d.insn, _implied(kind, d.breach), what, where))

    for path in programs:
        prog = assemble_file(isa, path)
        c = compare_run(isa, context, prog.image, kind=kind, max_steps=max_steps, timer=timer)
        out.programs.append(ProgramRun(Path(path).name, c))
        tick()
        sight(c.divergence, f"program {Path(path).name}")
        out.left_context += str(c.virtual_stop).startswith(LEFT_CONTEXT)

    if witnesses:
        for r in ctx_result.instructions:
            if r.name in engine:
                w = (
                    (r.violates[judged_by].witness or r.classes["unsafe"].witness)
                    if kind != HYBRID
                    else r.violates["3"].witness
                )
                if w is not None:
                    out.replays.append(replay_witness(isa, context, kind, r.name, w, "violation"))
            priv = r.classes["privileged"]
            if priv.value == "yes" and priv.witness is not None:
                out.replays.append(replay_witness(isa, context, kind, r.name, priv.witness, "emulation"))
        out.left_context += sum(rp.left for rp in out.replays)
        for rp in out.replays:
            if rp.purpose == "emulation" and rp.diverged:
                out.contradictions.append(
                    f"the emulation of {rp.insn} differs from native execution: "
                    + "; ".join(f"{d.what}" for d in rp.differences[:3])
                )
            elif rp.diverged:
                seen.append(
                    Sighting(
                        rp.insn,
                        _implied(kind, rp.breach),
                        "made a resource-control breach" if rp.breach else "diverged",
                        "witness replay",
                    )
                )

    tick()
    if fuzz_programs:
        out.fuzz = fuzz_sharded(
            isa, context, kind=kind, programs=fuzz_programs, seed=seed, named=witness_operands(ctx_result), jobs=jobs
        )
        for f in out.fuzz.findings:
            sight(f.divergence, f"fuzz program {f.seed}")
        out.left_context += out.fuzz.left_context

    tick()
    _judge(out, ctx_result, seen)
    if kind == TRANSLATE:  # judged by its own rule (translate.py)
        judge_translated(out)
    return out


def _judge(out: Confirmation, ctx_result: ContextResult, seen: list[Sighting]) -> None:
    """Hold every sighting against every verdict it bears on (docs/model.md §3)."""
    observed: set[str] = set()
    done: set[tuple[str, str]] = set()
    for s in seen:
        observed.add(s.insn)
        r = next((i for i in ctx_result.instructions if i.name == s.insn), None)
        for t in s.theorems:
            if r is None or (s.insn, t) in done:
                continue
            done.add((s.insn, t))
            value = r.violates[t].value
            title = THEOREM_NAMES[t]
            if value == NO:
                out.contradictions.append(
                    f"{s.insn} {s.what} under the {out.vmm} VMM ({s.where}), so it violates {title}, "
                    f"which the engine proved it does not"
                )
            elif value == UNKNOWN:
                out.decided.append(
                    f"{s.insn} violates {title}: observed ({s.what}, {s.where}); the engine "
                    "left it unknown (solver time limit), and this run decides it"
                )
    out.observed = sorted(observed)
    reasons = {rp.insn: rp.note for rp in out.replays if rp.purpose == "violation" and not rp.diverged}
    out.unconfirmed = [n for n in out.engine_violations if n not in observed]
    out.unconfirmed_reasons = {n: reasons.get(n) or "no witness replay and no run showed it" for n in out.unconfirmed}


THEOREM_NAMES = {"1": "Theorem 1", "3": "Theorem 3", "exact": "the exact condition"}


def fuzz_sharded(
    isa: ir.Isa, context: ir.Context, *, kind: str, programs: int, seed: int, named: OperandValues, jobs: int = 1
) -> FuzzReport:
    """`fuzz`, its programs split over `jobs` processes; the result is the same for any
    `jobs` (program n is the same program wherever it runs, and the first finding per
    instruction, in program order, is kept)."""
    jobs = max(1, min(jobs, programs))
    if jobs == 1:
        return fuzz(isa, context, kind=kind, programs=programs, seed=seed, named=named)
    import multiprocessing

    global _SHARD
    _SHARD = (isa, context, kind, programs, seed, named)
    mp = multiprocessing.get_context("fork")
    with mp.Pool(jobs) as pool:
        parts = pool.map(_fuzz_shard, [range(k, programs, jobs) for k in range(jobs)])
    return merge_fuzz(programs, parts)


_SHARD: tuple | None = None


def _fuzz_shard(only: range) -> FuzzReport:
    assert _SHARD is not None  # set by the parent before the pool forks
    isa, context, kind, programs, seed, named = _SHARD
    return fuzz(isa, context, kind=kind, programs=programs, seed=seed, named=named, only=only)


def merge_fuzz(programs: int, parts: list[FuzzReport]) -> FuzzReport:
    findings: dict[str | None, FuzzFinding] = {}
    for f in sorted((f for p in parts for f in p.findings), key=lambda f: f.seed):
        findings.setdefault(f.divergence.insn, f)
    totals: dict[str, int] = {}
    for p in parts:
        for k, v in p.counters.items():
            totals[k] = totals.get(k, 0) + v
    return FuzzReport(
        programs, sum(p.steps for p in parts), list(findings.values()), totals, sum(p.left_context for p in parts)
    )


__all__ = ["CLASSIC", "HYBRID", "Confirmation", "ProgramRun", "confirm_context", "merge_fuzz"]
