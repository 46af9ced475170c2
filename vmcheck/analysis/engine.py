"""Deciding a whole ISA: units, the process pool, the cache, the verdicts.

The work is split into units, one per (instruction, guest context); each unit
answers every query of `queries.InstructionQueries` and is cached on its own
(`cache.py`). Units run in a process pool (`jobs` workers, forked so that the
loaded ISA is not pickled); the report is assembled in the spec's order
whatever order the units finish in, so the output is deterministic.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import __version__
from ..errors import Diagnostic, InternalError, UserError, VmcheckError
from ..semantics.symbolic import fresh_context
from ..spec import ir
from ..theory import BEHAVIOUR_SENSITIVE, CONTEXT_FREE_CLASSES, LABEL_CLAIMS, THEOREM_BY_KEY
from . import cache as cache_mod
from .budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT
from .classify import classify
from .queries import InstructionQueries
from .results import (
    NO,
    THEOREMS,
    UNKNOWN,
    YES,
    Answer,
    ContextResult,
    InstructionResult,
    IsaVerdict,
    LabelFinding,
    Report,
    TheoremResult,
)


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------
# One unit
# --------------------------------------------------------------------------


def result_to_json(r: InstructionResult) -> dict:
    """A unit's result as the cache stores it (and workers send it back)."""
    return {
        "name": r.name,
        "mnemonic": r.mnemonic,
        "line": r.line,
        "labels": list(r.labels),
        "classes": {k: a.to_json() for k, a in r.classes.items()},
        "violates": {k: a.to_json() for k, a in r.violates.items()},
        "seconds": r.seconds,
    }


def result_from_json(d: dict) -> InstructionResult:
    """A cached (or a worker's) result; `cached` is set, the caller clears it for a fresh one."""
    return InstructionResult(
        d["name"],
        d["mnemonic"],
        d["line"],
        list(d["labels"]),
        {k: Answer.from_json(a) for k, a in d["classes"].items()},
        {k: Answer.from_json(a) for k, a in d["violates"].items()},
        d.get("seconds", 0.0),
        cached=True,
    )


def _decided(r: InstructionResult) -> bool:
    return all(a.value != UNKNOWN for a in list(r.classes.values()) + list(r.violates.values()))


def analyze_instruction(
    isa: ir.Isa, insn: ir.Instruction, ctx: ir.Context, timeout: float = DEFAULT_TIMEOUT, budget: int = DEFAULT_BUDGET
) -> tuple[InstructionResult, int]:
    """Every class of `insn` in `ctx`: (result, number of solver calls)."""
    t0 = time.perf_counter()
    fresh_context()  # the same witnesses whatever ran before in this process
    # The queries see the semantics only: a label cannot steer a verdict.
    q = InstructionQueries(isa, cache_mod.bare(insn), ctx, timeout, budget)
    R = q.run_all()
    classes, violates = classify(R, ctx)
    line = insn.span.line if insn.span else None
    res = InstructionResult(
        insn.name, insn.mnemonic, line, sorted(insn.labels), classes, violates, time.perf_counter() - t0
    )
    return res, q.n_solved


_WORKER_ISAS: list[ir.Isa] = []


def _init_worker(isas: list[ir.Isa]) -> None:
    global _WORKER_ISAS
    _WORKER_ISAS = isas


def _safety_net_ran_out(r: InstructionResult) -> bool:
    """An unknown that the wall-clock safety net caused (not reproducible: never cached)."""
    return any(
        a.value == UNKNOWN and a.evidence == "timeout" for a in list(r.classes.values()) + list(r.violates.values())
    )


def _weight(insn: ir.Instruction) -> int:
    """A unit's expected cost: the size of its instruction's semantics."""
    return len(repr(insn.semantics))


def _run_unit(task: tuple[int, str, str, float, int]) -> tuple[int, str, str, dict | None, int, str | None]:
    """In a worker: (isa index, instruction, context, result JSON, solver calls, error)."""
    i, insn_name, ctx_name, timeout, budget = task
    isa = _WORKER_ISAS[i]
    try:
        res, n = analyze_instruction(isa, isa.instruction(insn_name), isa.context(ctx_name), timeout, budget)
    except VmcheckError as e:
        return i, insn_name, ctx_name, None, 0, f"{type(e).__name__}: {e}"
    return i, insn_name, ctx_name, result_to_json(res), n, None


# --------------------------------------------------------------------------
# Whole ISAs
# --------------------------------------------------------------------------


def check_isas(
    isas: list[ir.Isa],
    *,
    context: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    budget: int = DEFAULT_BUDGET,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
    instructions: Iterable[str] | None = None,
) -> list[Report]:
    """Decide every ISA of `isas`: a Report each.

    `context` restricts to one guest context (a UserError when an ISA has no
    context of that name); `instructions` to some instructions (explain);
    `progress(done, total)` is called as units finish. `budget` is the solver's
    limit per query in z3 resource units (the same answers on any machine);
    `timeout` a wall-clock safety net per solver call, in seconds.
    """
    t0 = time.perf_counter()
    jobs = default_jobs() if jobs is None else max(1, jobs)
    units = _plan_units(isas, context, instructions)
    run = _Run(isas, timeout, budget, use_cache, progress, total=len(units))
    todo = run.load_cached(units)
    run.done = len(units) - len(todo)
    run.report_progress()
    if todo:
        run.solve(todo, jobs)
    for i, isa in enumerate(isas):
        _raise_on_invariant_breaks(isa, [r for (j, _, _), r in run.results.items() if j == i])
    return [_report(isa, i, run, context, t0) for i, isa in enumerate(isas)]


Unit = tuple[int, ir.Instruction, ir.Context]  # (index of the ISA, instruction, guest context)
UnitKey = tuple[int, str, str]  # (index of the ISA, instruction name, context name)
Task = tuple[int, str, str, float, int]  # a unit as a worker gets it: + timeout, budget


def _plan_units(isas: list[ir.Isa], context: str | None, instructions: Iterable[str] | None) -> list[Unit]:
    """The units to decide, in the spec's order: every (instruction, guest context) of
    each ISA, restricted to `context` and `instructions` when given."""
    only = set(instructions) if instructions is not None else None
    units: list[Unit] = []
    for i, isa in enumerate(isas):
        ctxs = list(isa.contexts)
        if context is not None:
            ctxs = [c for c in ctxs if c.name == context]
            if not ctxs:
                names = ", ".join(c.name for c in isa.contexts) or "none"
                raise UserError(f"{isa.name} has no guest context '{context}' (its contexts: {names})")
        if not ctxs:
            raise UserError(f"{isa.name} declares no guest context: nothing to decide")
        for insn in isa.instructions:
            if only is not None and insn.name not in only:
                continue
            for ctx in ctxs:
                units.append((i, insn, ctx))
    return units


@dataclass
class _Run:
    """One `check_isas` call under way: the results so far (from the cache or the
    solver), their cache keys, the counts the report shows, the progress."""

    isas: list[ir.Isa]
    timeout: float
    budget: int
    use_cache: bool
    progress: Callable[[int, int], None] | None
    total: int
    done: int = 0
    results: dict[UnitKey, InstructionResult] = field(default_factory=dict)
    keys: dict[UnitKey, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stats = {"units": self.total, "cached": 0, "solver_calls": 0}

    def report_progress(self) -> None:
        if self.progress:
            self.progress(self.done, self.total)

    def load_cached(self, units: list[Unit]) -> list[Task]:
        """Take every unit the cache holds; the rest, as tasks for the solver."""
        from ..semantics.symbolic import sym_isa

        todo = []
        for i, insn, ctx in units:
            k = (i, insn.name, ctx.name)
            if self.use_cache:
                key = cache_mod.unit_key(self.isas[i], insn, ctx, sym_isa(self.isas[i]).vaw)
                self.keys[k] = key
                # A decided answer holds for any budget; an undecided one only for the
                # budget it ran out of, so a larger --budget tries again.
                hit = cache_mod.load(key) or cache_mod.load(cache_mod.undecided_key(key, self.budget))
                if hit is not None:
                    try:
                        res = result_from_json(hit)
                        # What the key leaves out (labels, where the entry stands in the file) is
                        # taken from the spec as it is now.
                        res.labels = sorted(insn.labels)
                        res.line = insn.span.line if insn.span else None
                        self.results[k] = res
                        self.stats["cached"] += 1
                        continue
                    except (KeyError, TypeError, ValueError):
                        pass
            todo.append((i, insn.name, ctx.name, self.timeout, self.budget))
        return todo

    def solve(self, todo: list[Task], jobs: int) -> None:
        """Decide the tasks: in this process, or in a pool of `jobs` forked workers."""
        if jobs == 1 or len(todo) == 1:
            _init_worker(self.isas)
            for t in todo:
                self.accept(_run_unit(t))
        else:
            # The longest units first (by the size of their semantics), so that one
            # big instruction does not start last and run alone: the report is
            # assembled in the spec's order whatever order the units finish in.
            todo.sort(key=lambda t: -_weight(self.isas[t[0]].instruction(t[1])))
            mp = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            with mp.Pool(min(jobs, len(todo)), initializer=_init_worker, initargs=(self.isas,)) as pool:
                for out in pool.imap_unordered(_run_unit, todo, chunksize=1):
                    self.accept(out)

    def accept(self, out: tuple[int, str, str, dict | None, int, str | None]) -> None:
        """A unit's result from the solver: recorded, cached (unless the safety net
        made it unknown), counted."""
        i, name, cname, rj, n, err = out
        if err is not None or rj is None:
            raise InternalError(f"{self.isas[i].name}: {name} in context {cname}: {err}")
        res = result_from_json(rj)
        res.cached = False
        self.results[(i, name, cname)] = res
        self.stats["solver_calls"] += n
        if self.use_cache and not _safety_net_ran_out(res):
            key = self.keys[(i, name, cname)]
            cache_mod.store(key if _decided(res) else cache_mod.undecided_key(key, self.budget), rj)
        self.done += 1
        self.report_progress()


def _report(isa: ir.Isa, i: int, run: _Run, context: str | None, t0: float) -> Report:
    """The report of the `i`th ISA: its contexts in the spec's order, verdicts, label findings."""
    ctx_results = []
    for ctx in isa.contexts:
        rs = [
            run.results[(i, insn.name, ctx.name)]
            for insn in isa.instructions
            if (i, insn.name, ctx.name) in run.results
        ]
        if not rs and (context is not None and ctx.name != context):
            continue
        ctx_results.append(_context_result(isa, ctx, rs))
    return Report(
        isa=isa.name,
        source=isa.source,
        version=__version__,
        contexts=ctx_results,
        verdicts=_verdicts(ctx_results),
        labels=_label_findings(isa, ctx_results),
        seconds=time.perf_counter() - t0,
        stats=dict(run.stats),
    )


def _raise_on_invariant_breaks(isa: ir.Isa, rs: list[InstructionResult]) -> None:
    """docs/model.md §2.3: an invariant that an instruction (or the trap delivery after
    it) breaks is a wrong claim in the spec, so nothing decided on it can be
    trusted: an error at the instruction, with the state that breaks it."""
    seen: set[str] = set()
    diags = []
    for r in rs:
        a = r.classes.get("breaks_invariants")
        if a is None or a.value != YES or r.name in seen:
            continue
        seen.add(r.name)
        insn = isa.instruction(r.name)
        state = ""
        if a.witness and a.witness.states:
            st = a.witness.states[0]
            shown = {k: v for k, v in st.pre.items() if not isinstance(v, list)}
            ops = ", ".join(f"{k} = {v:#x}" for k, v in a.witness.operands.items())
            state = f" (operands: {ops or 'none'}; state: " + ", ".join(f"{k} = {v:#x}" for k, v in shown.items()) + ")"
        diags.append(
            Diagnostic(
                insn.span,
                f"{r.name}: {a.reason}{state}",
                "every invariant must hold after each instruction and each trap delivery "
                "from a state where they hold: correct the invariant or the semantics",
            )
        )
    if diags:
        raise UserError(diags)


def check_isa(isa: ir.Isa, **kw) -> Report:
    """Decide one ISA (see `check_isas`)."""
    return check_isas([isa], **kw)[0]


# --------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------


def _theorem(ctx: ir.Context, rs: list[InstructionResult], t: str) -> TheoremResult:
    viol = [r.name for r in rs if r.violates[t].value == YES]
    unk = [r.name for r in rs if r.violates[t].value == UNKNOWN]
    if viol:
        holds = False
        parts = [f"{n}: {next(r for r in rs if r.name == n).violates[t].reason}" for n in viol]
        reason = (
            f"{len(viol)} {THEOREM_BY_KEY[t].violator_word} instruction(s) run in {ctx.name} without trapping: "
            + "; ".join(parts)
        )
    elif unk:
        holds = None
        reason = f"undecided: unknown ({_unknown_cause(rs, unk, t)}) on {', '.join(unk)}"
    else:
        holds = True
        reason = THEOREM_BY_KEY[t].holds_reason.format(ctx=ctx.name)
    return TheoremResult(holds, viol, unk, reason)


def _unknown_cause(rs: list[InstructionResult], unk: list[str], t: str) -> str:
    """ "budget N exhausted" or the safety net, from the first undecided answer's reason."""
    a = next(r for r in rs if r.name == unk[0]).violates[t]
    if a.evidence == "timeout":
        return "the wall-clock safety net ran out"
    m = re.search(r"budget [0-9,]+ exhausted", a.reason)
    return m.group(0) if m else "the solver's budget ran out"


def _context_result(isa: ir.Isa, ctx: ir.Context, rs: list[InstructionResult]) -> ContextResult:
    theorems = {t: _theorem(ctx, rs, t) for t in THEOREMS}
    note = ""
    t1, ex = theorems["1"], theorems["exact"]
    if t1.holds is False and ex.holds is True:
        names = ", ".join(t1.violations)
        note = (
            f"Theorem 1 fails in {ctx.name} but the exact condition holds: {names} "
            f"{'is' if len(t1.violations) == 1 else 'are'} sensitive, yet trap{'s' if len(t1.violations) == 1 else ''} "
            f"in {ctx.name} at every state where direct execution would misbehave. The cost: those accesses "
            f"trap to the VMM and are emulated instead of running directly."
        )
    elif t1.holds is False and ex.holds is False:
        safe = [n for n in t1.violations if next(r for r in rs if r.name == n).violates["exact"].value == NO]
        if safe:
            note = (
                f"{', '.join(safe)} violate{'s' if len(safe) == 1 else ''} Theorem 1 but "
                f"{'is' if len(safe) == 1 else 'are'} safe under the exact condition (they trap in {ctx.name} "
                f"wherever they would misbehave)."
            )
    return ContextResult(ctx.name, ctx.description, dict(ctx.modes), theorems, rs, note)


def _verdicts(ctxs: list[ContextResult]) -> dict[str, IsaVerdict]:
    out = {}
    for t in THEOREMS:
        holding = [c.name for c in ctxs if c.theorems[t].holds is True]
        if holding:
            holds: bool | None = True
        elif any(c.theorems[t].holds is None for c in ctxs):
            holds = None
        else:
            holds = False
        out[t] = IsaVerdict(holds, holding[0] if holding else None, {c.name: c.theorems[t].reason for c in ctxs})
    return out


def derived(r: InstructionResult, cls: str) -> Answer:
    """The answer for a class a label may claim: `pg_behaviour_sensitive` is not a class of its own (mode or location)."""
    if cls == BEHAVIOUR_SENSITIVE:
        a, b = r.classes["pg_mode_sensitive"], r.classes["pg_location_sensitive"]
        for x in (a, b):
            if x.value == YES:
                return x
        if UNKNOWN in (a.value, b.value):
            return a if a.value == UNKNOWN else b
        return Answer(NO, f"{a.reason}; {b.reason}", "proof", None, a.queries + b.queries)
    return r.classes[cls]


def _label_findings(isa: ir.Isa, ctxs: list[ContextResult]) -> list[LabelFinding]:
    out = []
    for n, c in enumerate(ctxs):
        for r, label, cls, want in c.label_claims():
            if n and cls in CONTEXT_FREE_CLASSES:  # judged once, in the first context
                continue
            a = derived(r, cls)
            if a.value in (YES, NO) and a.value != want:
                out.append(
                    LabelFinding(
                        r.name, label, c.name, f"{cls.removeprefix('pg_')}: {a.value}", a.reason, r.line, a.witness
                    )
                )
    return out


__all__ = ["check_isa", "check_isas", "default_jobs", "derived", "LABEL_CLAIMS"]
