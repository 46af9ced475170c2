"""The existence queries of docs/model.md §2.5–§2.6, for one instruction in one context.

Operands are free z3 constants constrained to their domain (a register
operand is below its file's count) and are *shared* by every state of a
query, so each claim is about an instance and each witness names operand
values. States are symbolic pre-states (`SymIsa.state_vars`); memory is the
shared view (`symbolic.VIEW`): one view `V` and fault function `F` for every
state of a query; physical storage `P` shared by the states of a mode pair
and of a timer pair, separate per state in the location pair and in the
exact condition's (s, v) pair.

State sets (Ctx = the guest context G):
  range(s)  invariants, and the mode is one of G's virtual modes
  inG(s)    invariants, G's `where`, and the mode is one of G's real modes
  host(s)   invariants, the ISA's `host` condition
  any(s)    invariants, and the mode is a valid level
A result "runs" when it neither traps nor memory-traps (ok or halt); "traps"
alone is a trap other than a memory trap. `differ(a, b)` is §2.5's: the
outcomes differ, or both run and their non-control state, which control
elements they changed and to what, or what they wrote (view and phys write
logs) differ.

QUERIES below names each query and its formula; an unsat answer is the proof
of the negation.

How a query is decided (`solve`, issue 13): every query built with `differ`
or `ctrl_changed` is false by construction when the dependency argument of
`prepass.py` holds (no solver; the argument is the answer's reason). Otherwise
the query is tried whole by a fresh solver with a small part of its *budget*
(z3 resource units, `budget.py`: the same answer on any machine at any load),
and when that is not enough it is split at its widest disjunction (the
"results differ" one: one case per element and outcome), each case solved on
its own, first all with a small slice (a cheap sat case is found before an
expensive one runs long), then the undecided ones with what is left. Array
disequalities (write logs, register files) are read at a fresh index, which
spares the solver extensionality. Sat at the first satisfiable case (its
model is the witness, replayed), unsat when every case is, unknown when the
budget runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import z3

from ..errors import InternalError
from ..semantics.concrete import compile_isa
from ..semantics.symbolic import HALT, TRAP, SymIsa, SymResult, fresh_context, sym_isa
from ..spec import ir
from ..spec.ir import mask
from . import prepass
from . import replay as rp
from .budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT
from .results import NO, UNKNOWN, YES, Answer, InstructionResult, Witness, WitnessState

SAT, UNSAT, UNK = "sat", "unsat", "unknown"
_S2 = "s'"

# Resource units (capped by what is left of the budget) for trying a query
# whole, and for each case in the first round of a split query (so that a cheap
# satisfiable case is found before an expensive one runs long). Fixed, not a
# share of the budget: a larger budget only decides later where to stop, so an
# answer found under one budget is found the same way under any larger one.
_WHOLE_SLICE = 2_000_000
_CASE_SLICE = 1_000_000
# How queries are solved (bench/profile_queries.py --strategy compares them):
# "whole+fresh": whole first, then split, a new solver per case (z3's
# non-incremental preprocessing, which the hard cases need); "whole+incremental":
# the split on the instruction's one solver with push/pop; "mono": whole only.
_STRATEGY = "whole+fresh"

# name -> the existence question (a proof is its unsat answer)
QUERIES = {
    "inv": "∃ operands, s satisfying the invariants: the instance runs at s and its result breaks one, or it traps at s and the state the trap delivery makes breaks one",
    "pg_cs": "∃ operands, s ∈ any: it runs at s and changes a control element or the mode, or stops the machine (Popek & Goldberg's control sensitivity, over all modes)",
    "pg_ms": "∃ operands, s, s' ∈ any differing only in the mode: it runs at both and the results differ (Popek & Goldberg's mode sensitivity)",
    "pg_ls": "∃ operands, s1, s2 ∈ any differing only in control elements other than the mode (own phys): it runs at both and the results differ (Popek & Goldberg's location sensitivity)",
    "runs_any": "∃ operands, s ∈ any: the instance does not trap at s",
    "runs_host": "∃ operands, h ∈ host: the instance does not trap at h",
    "runs_G": "∃ operands, s ∈ G: the instance neither traps nor memory-traps at s",
    "cs": "∃ operands, s ∈ range(G): it runs at s and changes a control element",
    "ms": "∃ operands, s ∈ G, s' = s with a virtual mode v ≠ mode(s) that G maps to mode(s): it runs at s and the results differ",
    "ls": "∃ operands, s1, s2 ∈ range(G) differing only in control elements other than the mode (own phys): it runs at s1 and the results differ",
    "us_cs": "∃ operands, s ∈ G in the image of the least privileged virtual mode: it runs at s and changes a control element",
    "us_ms": "∃ operands, s ∈ G in the image u of the least privileged virtual mode l, when u ≠ l, and s' = s in mode l: it runs at s and the results differ",
    "us_ls": "∃ operands, s1 ∈ G in the image of the least privileged virtual mode, s2 differing from s1 only in control elements other than the mode: it runs at one of them and the results differ",
    "td": "∃ operands, s1 ∈ G, s2 = s1 with other timer values: it runs at s1 and the results differ",
    "t1_cs": "∃ operands: control sensitive (∃ s1 ∈ range(G) where it runs and changes control) and ∃ s ∈ G where it runs",
    "t1_ls": "∃ operands: location sensitive (∃ pair s1, s2 as in `ls`) and ∃ s ∈ G where it runs",
    "t3_ls": "∃ operands: user location sensitive (a pair as in `us_ls`) and ∃ s ∈ G where it runs",
    "unsafe_ctrl": "∃ operands, s ∈ G: it runs at s and changes a control element (resource control breaks)",
    "unsafe_pair": "∃ operands, s ∈ G, v (same non-control state and view, a mode G maps to mode(s), any control state, own phys): it runs at s and (it changes control at v without trapping, or the results at s and v differ)",
}


@dataclass
class QueryResult:
    name: str
    status: str  # sat / unsat / unknown
    witness: Witness | None = None
    seconds: float = 0.0
    skipped: str = ""  # decided without the solver: why
    rlimit: int = 0  # z3 resource units the solver spent on it
    cases: int = 1  # how many solver cases it was split into
    unknown_why: str = ""  # "budget" (deterministic) or "timeout" (the wall-clock safety net)
    budget: int = 0  # the budget it was given


def _trivially_false(t: z3.ExprRef) -> bool:
    """False by its and/or structure alone (no solver)."""
    if z3.is_false(t):
        return True
    if z3.is_and(t):
        return any(_trivially_false(c) for c in t.children())
    if z3.is_or(t):
        return all(_trivially_false(c) for c in t.children())
    return False


def _disjuncts(t: z3.ExprRef) -> list[z3.ExprRef]:
    """`t` as a disjunction of cases: an Or's disjuncts, and an And over Ors
    distributed over its widest Or (only that one, so the count stays linear)."""
    if z3.is_or(t):
        return [d for c in t.children() if not _trivially_false(c) for d in _disjuncts(c)]
    if z3.is_and(t):
        kids = t.children()
        ors = [(_or_width(k), j) for j, k in enumerate(kids) if z3.is_or(k)]
        if ors:
            j = max(ors, key=lambda wj: (wj[0], -wj[1]))[1]  # the widest Or, the first of equals
            rest = kids[:j] + kids[j + 1 :]
            return [z3.And(rest + [d]) for d in _disjuncts(kids[j])]
    return [t]


def _index_diseqs(t: z3.ExprRef) -> z3.ExprRef:
    """`t` with every array disequality `A != B` that occurs positively under
    And/Or replaced by `A[k] != B[k]` for a fresh index `k`: the same
    satisfiability (arrays differ iff they differ at some index, and `k` is
    existential like every constant of a query), but no extensionality for the
    solver to reason about. Write logs and register files compared whole were
    the hardest cases of x86-64's far call."""
    if z3.is_and(t) or z3.is_or(t):
        kids = t.children()
        new = [_index_diseqs(c) for c in kids]
        if all(n.eq(c) for n, c in zip(new, kids)):
            return t
        return z3.And(new) if z3.is_and(t) else z3.Or(new)
    pair = None
    if z3.is_not(t) and z3.is_eq(t.arg(0)):
        pair = t.arg(0).children()
    elif z3.is_distinct(t) and t.num_args() == 2:
        pair = t.children()
    if pair is not None and z3.is_array(pair[0]):
        k = z3.FreshConst(pair[0].domain(), "k")
        return z3.Select(pair[0], k) != z3.Select(pair[1], k)
    return t


def _or_width(t: z3.ExprRef) -> int:
    """How many disjuncts a nest of Ors has (Ors only, not distributed Ands)."""
    return sum(_or_width(c) for c in t.children()) if z3.is_or(t) else 1


def _split(cons: list) -> tuple[list, list]:
    """(the conjuncts every case shares, the cases): `∧ cons` = base ∧ (c1 ∨ … ∨ cn),
    split at the conjunct with the most disjuncts."""
    best, cases = -1, [z3.BoolVal(True)]
    for i, c in enumerate(cons):
        ds = _disjuncts(c)
        if len(ds) > max(1, len(cases)):
            best, cases = i, ds
    if best < 0:
        return list(cons), cases
    return cons[:best] + cons[best + 1 :], cases


def _proved(claim: z3.BoolRef) -> bool:
    """A small side fact, proved by a solver with a small fixed budget."""
    if z3.is_true(z3.simplify(claim)):
        return True
    s = z3.Solver()
    s.set("rlimit", 100_000)
    s.add(z3.Not(claim))
    return s.check() == z3.unsat


def _why_unknown(solver: z3.Solver, used: int, given: int) -> str:
    """ "budget" when the resource count ran out (z3 may call that "canceled"),
    "timeout" when the wall-clock safety net did."""
    reason = solver.reason_unknown()
    if used >= given or not ("timeout" in reason or "cancel" in reason):
        return "budget"
    return "timeout"


def _rlimit_count(solver: z3.Solver) -> int:
    """z3's resource count so far (it counts for the whole context: take differences)."""
    st = solver.statistics()
    return int(st.get_key_value("rlimit count")) if "rlimit count" in st.keys() else 0  # noqa: SIM118


@dataclass
class _St:
    """One symbolic state of a query."""

    label: str
    regs: dict[str, z3.ExprRef]
    storage: dict[str, z3.ExprRef]
    res: SymResult
    role: str = ""
    tag: str = ""


class InstructionQueries:
    """Builds and answers the queries of one instruction in one context."""

    def __init__(
        self,
        isa: ir.Isa,
        insn: ir.Instruction,
        ctx: ir.Context,
        timeout: float = DEFAULT_TIMEOUT,
        budget: int = DEFAULT_BUDGET,
        use_prepass: bool = True,
    ):
        self.isa = isa
        self.insn = insn
        self.ctx = ctx
        self.timeout_ms = max(1, int(timeout * 1000))
        self.budget = max(1, int(budget))
        # The dependency argument (prepass.py): when it holds, `ctrl_changed` is false
        # at every state and `differ` at every pair that differs only in control,
        # mode or timer bits, so every sensitivity query is decided without a solver.
        self.independent = prepass.independence(isa, insn) if use_prepass else None
        self._by_dependency = False  # the query being built used the argument
        self._solver: z3.Solver | None = None  # one incremental solver for every query
        self._res_memo: dict[tuple, SymResult] = {}
        self._free_bits: dict[str, int] | None = None
        self.sym: SymIsa = sym_isa(isa)
        self.ops = self.sym.operand_vars(insn)
        self.dom = self.sym.operand_domain(insn, self.ops)
        self.ctrl = isa.role_elements("control")
        self.timer = isa.role_elements("timer")
        md = isa.modes
        self.mode_mask = {md.elem: mask(md.width) << md.lo}
        # docs/model.md §2.5: a mode change is the guest's own (no resource of the
        # VMM changes hands) only between modes the context maps to themselves
        # and to which no other virtual mode maps (ARMv8 {EL1: EL1, EL0: EL0}).
        # Under any other map a state's mode cannot be read both as the virtual
        # and as the real mode, so a change there is control: ring compression's
        # call gate takes real user code to a real mode the guest was never given.
        pre: dict[str, list[str]] = {}
        for v, r in ctx.modes:
            pre.setdefault(r, []).append(v)
        self.own_modes = [md.code(v) for v, r in ctx.modes if v == r and pre[r] == [v]]
        self.V = self.sym.canon_storage["V"]
        self.P = self.sym.canon_storage["P"]
        self.results: dict[str, QueryResult] = {}
        self.n_solved = 0

    # ---- states and state sets ------------------------------------------

    def state(self, label: str, tag: str, regs=None, phys=None, role: str = "") -> _St:
        regs = regs if regs is not None else self.sym.state_vars(tag)
        storage = {"V": self.V, "P": phys if phys is not None else self.P}
        # Queries share states (the same registers give the same terms): instantiate once.
        key = (tuple(v.get_id() for v in regs.values()), storage["P"].get_id())
        res = self._res_memo.get(key)
        if res is None:
            res = self._res_memo[key] = self.sym.instantiate(self.insn, regs, self.ops, storage)
        return _St(label, regs, storage, res, role, tag)

    def fresh_phys(self, tag: str):
        return z3.Array("P" + tag, z3.BitVecSort(self.sym.aw), z3.BitVecSort(self.sym.unit))

    def inv(self, s: _St) -> list[z3.BoolRef]:
        out = [self.sym.predicate(i, s.regs) for i in self.isa.invariants]
        out.append(self.sym.mode_in(s.regs, self.isa.modes.names))
        return out

    def in_range(self, s: _St) -> list[z3.BoolRef]:
        return self.inv(s) + [self.sym.mode_in(s.regs, self.ctx.virtual_modes)]

    def in_G(self, s: _St) -> list[z3.BoolRef]:
        return self.inv(s) + [self.sym.predicate(self.ctx.where, s.regs), self.sym.mode_in(s.regs, self.ctx.real_modes)]

    def in_host(self, s: _St) -> list[z3.BoolRef]:
        return self.inv(s) + [self.sym.predicate(self.isa.host, s.regs)]

    def mode_is(self, s: _St, level: str) -> z3.BoolRef:
        return self.sym.mode_of(s.regs) == self.isa.modes.code(level)

    def variant(self, base: _St, masks: list[tuple[ir.Element, int]], tag: str) -> tuple[dict, list]:
        """Registers equal to `base`'s except the bits in `masks`, which are free."""
        regs = dict(base.regs)
        cons = []
        for e, m in masks:
            if not m:
                continue
            full = mask(e.width)
            if e.is_file:
                fresh = z3.Const(e.name + tag, self.sym.elem_sort(e))
                regs[e.name] = fresh
                if m != full:
                    for i in range(e.count):
                        k = z3.BitVecVal(i, e.index_width)
                        cons.append(z3.Select(fresh, k) & ~m & full == z3.Select(base.regs[e.name], k) & ~m & full)
            else:
                fresh = z3.BitVec(e.name + tag, e.width)
                if m == full:
                    regs[e.name] = fresh
                else:
                    regs[e.name] = (base.regs[e.name] & (full & ~m)) | (fresh & m)
        return regs, cons

    def ctrl_without_mode(self) -> list[tuple[ir.Element, int]]:
        out = []
        for e, m in self.ctrl:
            m &= ~self.mode_mask.get(e.name, 0)
            if m:
                out.append((e, m))
        return out

    # ---- comparisons ------------------------------------------------------

    @staticmethod
    def _meq(a, b, e: ir.Element, m: int) -> z3.BoolRef:
        full = mask(e.width)
        if e.is_file:
            if m == full:
                return a == b
            return z3.And([z3.Select(a, i) & m == z3.Select(b, i) & m for i in range(e.count)])
        if m == full:
            return a == b
        return a & m == b & m

    def ctrl_changed(self, s: _St, own_modes: bool = True) -> z3.BoolRef:
        """Control changed at `s` (docs/model.md §2.5): a control element changed, or the
        machine stopped (the processor is the VMM's). With `own_modes`, a mode
        change between two of the guest's own modes does not count; Theorem 3
        counts every mode change (a hybrid VMM must regain control whenever the
        guest leaves virtual user mode)."""
        if self.independent is not None:
            self._by_dependency = True
            return z3.BoolVal(False)
        md = self.isa.modes
        mbits = self.mode_mask[md.elem]
        parts = [s.res.kind == HALT]
        for e, m in self.ctrl:
            rest = m & ~mbits if e.name == md.elem else m
            if rest:
                parts.append(z3.Not(self._meq(s.regs[e.name], s.res.post[e.name], e, rest)))
            if e.name == md.elem and m & mbits:
                before, after = self.sym.mode_of(s.regs), self.sym.mode_of(s.res.post)
                codes = self.own_modes if own_modes else []
                own = (
                    z3.And(z3.Or([before == c for c in codes]), z3.Or([after == c for c in codes]))
                    if codes
                    else z3.BoolVal(False)
                )
                parts.append(z3.And(before != after, z3.Not(own)))
        return z3.Or(parts)

    def differ(self, a: _St, b: _St, special=None) -> z3.BoolRef:
        """§2.5's difference. When the two states have physical storage of their
        own (location and exact pairs: relocation moves storage), a write to
        `phys` is never the same result: the relocated result would have
        written the relocated cell."""
        special = self.ctrl if special is None else special
        if self.independent is not None and self._only_control_apart(a, b):
            self._by_dependency = True
            return z3.BoolVal(False)
        ra, rb = a.res, b.res
        outcome = z3.Or(ra.kind != rb.kind, z3.And(ra.trapped, ra.cause != rb.cause))
        smask: dict[str, int] = {}
        for e, m in special:
            smask[e.name] = smask.get(e.name, 0) | m
        parts = []
        for e in self.isa.elements:
            nm = mask(e.width) & ~smask.get(e.name, 0)
            if nm:
                parts.append(z3.Not(self._meq(ra.post[e.name], rb.post[e.name], e, nm)))
        for e, m in special:
            ca = z3.Not(self._meq(a.regs[e.name], ra.post[e.name], e, m))
            cb = z3.Not(self._meq(b.regs[e.name], rb.post[e.name], e, m))
            parts.append(z3.Or(ca != cb, z3.And(ca, z3.Not(self._meq(ra.post[e.name], rb.post[e.name], e, m)))))
        for k in ("mem.w", "mem.d", "phys.w", "phys.d"):
            parts.append(ra.storage[k] != rb.storage[k])
        if not a.storage["P"].eq(b.storage["P"]):
            none = z3.K(z3.BitVecSort(self.sym.aw), z3.BoolVal(False))
            parts += [ra.storage["phys.w"] != none, rb.storage["phys.w"] != none]
        return z3.Or(outcome, z3.And(ra.runs, rb.runs, z3.Or(parts)))

    # ---- solving ------------------------------------------------------------

    def _only_control_apart(self, a: _St, b: _St) -> bool:
        """Whether `a` and `b` share the view and differ at most in control, mode
        or timer bits (so the dependency argument applies to the pair)."""
        if not a.storage["V"].eq(b.storage["V"]):
            return False
        free = self._free_bits
        if free is None:
            free = self._free_bits = prepass.sensitive_bits(self.isa)
        for e in self.isa.elements:
            ta, tb = a.regs[e.name], b.regs[e.name]
            if ta.eq(tb):
                continue
            keep = mask(e.width) & ~free.get(e.name, 0)
            if not keep:
                continue
            if e.is_file or not _proved(ta & keep == tb & keep):
                return False
        return True

    def solve(
        self,
        name: str,
        cons: list,
        states: list[_St],
        claim: Callable[[dict], tuple[bool, list[str]]],
        summary: Callable[[dict, list[str]], str],
    ) -> QueryResult:
        """Decide `∃ … . ∧ cons` (issue 13.2): false by construction (the dependency
        argument) needs no solver; otherwise the query is split into cases, one per
        disjunct of its widest disjunction, answered by the instruction's one
        incremental solver within the budget: sat at the first satisfiable case
        (its model is the witness), unsat when every case is, unknown otherwise."""
        t0 = time.perf_counter()
        by_dependency, self._by_dependency = self._by_dependency, False
        # (only the dependency argument makes a formula false by construction)
        if any(z3.is_false(c) for c in cons) or (by_dependency and any(_trivially_false(c) for c in cons)):
            why = self.independent.reason if by_dependency and self.independent else ""
            out = QueryResult(name, UNSAT, seconds=time.perf_counter() - t0, skipped=why, cases=0)
            self.results[name] = out
            return out
        cons = [_index_diseqs(c) for c in cons]
        base, cases = _split(cons) if _STRATEGY != "mono" else (list(cons), [z3.BoolVal(True)])
        status, model, spent, why = self._cases(cons, base, cases)
        self.n_solved += 1
        out = QueryResult(name, status, rlimit=spent, cases=len(cases), unknown_why=why, budget=self.budget)
        if status == SAT:
            self._model = model  # (claims that run the concrete trap delivery read it)
            out.witness = self._witness(name, model, states, claim, summary)
        out.seconds = time.perf_counter() - t0
        self.results[name] = out
        return out

    def _base_solver(self) -> z3.Solver:
        """The instruction's solver: its operand domain asserted once, every query
        pushed and popped on top (the states' terms are shared between queries)."""
        if self._solver is None:
            self._solver = z3.Solver()
            self._solver.set("timeout", self.timeout_ms)
            self._solver.add(self.dom)
        return self._solver

    def _cases(self, cons: list, base: list, cases: list) -> tuple[str, z3.ModelRef | None, int, str]:
        """(status, model when sat, resource units spent, why unknown). Two rounds:
        every case with a small share of the budget first, so a cheap sat case is
        found before an expensive one runs long; then the undecided cases in
        order, each with whatever budget is left. All of it counted in z3's
        resource units, so it is the same on any machine."""
        spent = 0
        if len(cases) > 1 and _STRATEGY.startswith("whole"):
            # Most queries are cheap whole: one fresh solver (z3's non-incremental
            # preprocessing) with a share of the budget; only a query that
            # exhausts it is split.
            whole = _WHOLE_SLICE
            r, model, spent, why = self._check_fresh(cons, min(whole, self.budget))
            if r != UNK or why == "timeout" or spent >= self.budget:
                return r, model, spent, why
        incremental = _STRATEGY.endswith("incremental")
        if incremental:
            solver = self._base_solver()
            solver.push()
            solver.add(base)
        try:
            r, model, more, why = self._rounds(base, cases, solver if incremental else None, self.budget - spent)
            return r, model, spent + more, why
        finally:
            if incremental:
                solver.pop()

    def _check_fresh(self, cons: list, limit: int) -> tuple[str, z3.ModelRef | None, int, str]:
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms)
        solver.add(self.dom)
        solver.add(cons)
        solver.set("rlimit", limit)
        r0 = _rlimit_count(solver)
        r = solver.check()
        used = _rlimit_count(solver) - r0
        if r == z3.sat:
            return SAT, solver.model(), used, ""
        if r == z3.unsat:
            return UNSAT, None, used, ""
        return UNK, None, used, _why_unknown(solver, used, limit)

    def _rounds(self, base: list, cases: list, solver: z3.Solver | None, budget: int):
        incremental = solver is not None
        spent = 0
        undecided = list(range(len(cases)))
        why = ""
        rounds = [_CASE_SLICE, budget] if len(cases) > 1 else [budget]
        for limit in rounds:
            still = []
            for i in undecided:
                left = budget - spent
                if left <= 0:
                    still.append(i)
                    continue
                if incremental:
                    solver.push()
                else:
                    solver = z3.Solver()
                    solver.set("timeout", self.timeout_ms)
                    solver.add(self.dom)
                    solver.add(base)
                solver.add(cases[i])
                given = min(limit, left)
                solver.set("rlimit", given)
                r0 = _rlimit_count(solver)
                r = solver.check()
                used = _rlimit_count(solver) - r0
                spent += used
                if r == z3.sat:
                    model = solver.model()
                    if incremental:
                        solver.pop()
                    return SAT, model, spent, ""
                if r != z3.unsat:
                    # z3 names an exhausted rlimit "canceled" in incremental mode: the count decides
                    why = _why_unknown(solver, used, given)
                    still.append(i)
                if incremental:
                    solver.pop()
                if why == "timeout":  # the safety net ran out: the rest would too
                    return UNK, None, spent, why
            undecided = still
            if not undecided:
                return UNSAT, None, spent, ""
        return UNK, None, spent, why or "budget"

    def skip(self, name: str, status: str, why: str) -> QueryResult:
        out = QueryResult(name, status, skipped=why)
        self.results[name] = out
        return out

    def _witness(self, name, model, states, claim, summary) -> Witness:
        reps = {}
        for s in states:
            reps[s.label] = rp.replay(self.sym, self.insn, model, self.ops, s.label, s.regs, s.storage, s.res, s.role)
        ok, differs = claim(reps)
        opvals = {k: rp._int(model, v) for k, v in self.ops.items()}
        if not ok:
            raise InternalError(
                f"witness does not reproduce: query {name} for {self.insn.name} with {opvals}: "
                f"the concrete results do not have the property the solver found ({differs})"
            )
        memory = {}
        for r in reps.values():
            for (space, a), v in r.reads.items():
                memory[(space, a)] = v
        wstates = []
        for r in reps.values():
            wstates.append(
                WitnessState(
                    label=r.label,
                    mode=r.mode,
                    pre=rp.state_dict(self.isa, r.pre),
                    outcome=r.outcome_text(),
                    post=None if r.trapped else rp.state_dict(self.isa, r.post),
                    changed=rp.all_changed(self.isa, r),
                    writes=[{"space": sp, "addr": a, "value": v} for (sp, a), v in sorted(r.writes.items())],
                    role=r.role,
                )
            )
        mem = [
            {"space": sp, "addr": a, ("fault" if v == "fault" else "value"): (True if v == "fault" else v)}
            for (sp, a), v in sorted(memory.items(), key=lambda kv: (kv[0][0], kv[0][1]))
        ]
        w = Witness(name, opvals, wstates, differs, mem)
        w.summary = summary(reps, differs)
        return w

    # ---- the claims, re-checked on the concrete results ---------------------

    def _claim_not_trap(self, label):
        return lambda r: (r[label].kind != "trap", [])

    def _claim_runs(self, label):
        return lambda r: (r[label].runs, [])

    def _claim_runs_changes(self, label):
        def f(r):
            ch = rp.control_changes(self.isa, r[label], self.ctrl)
            return r[label].runs and bool(ch), [f"{'; '.join(ch)} at {label}"] if ch else []

        return f

    def _claim_differ(self, a, b, runs: tuple[str, ...], special=None, phys_separate: bool = True, both: bool = False):
        """The results of `a` and `b` differ and one of `runs` runs (`both`: all of them)."""
        special = self.ctrl if special is None else special
        need = all if both else any

        def f(r):
            d = rp.differences(self.isa, r[a], r[b], special, phys_separate)
            return need(r[x].runs for x in runs) and bool(d), d

        return f

    # ---- the queries --------------------------------------------------------

    def run_all(self) -> dict[str, QueryResult]:
        isa, ctx = self.isa, self.ctx
        R = self.results

        self._invariants()

        # illegal / runs anywhere
        s = self.state("s", "", role="any state")
        self.solve(
            "runs_any",
            self.inv(s) + [s.res.kind != TRAP],
            [s],
            self._claim_not_trap("s"),
            lambda r, d: f"does not trap at s (mode {r['s'].mode}): {r['s'].outcome_text()}",
        )
        if R["runs_any"].status == UNSAT:
            for q in QUERIES:
                if q not in R:
                    self.skip(q, UNSAT, "illegal: it traps in every state")
            return R

        self._pg_classes()

        h = self.state("h", "", role="host")
        self.solve(
            "runs_host",
            self.in_host(h) + [h.res.kind != TRAP],
            [h],
            self._claim_not_trap("h"),
            lambda r, d: f"runs in the host at h (mode {r['h'].mode}): {r['h'].outcome_text()}",
        )
        g = self.state("s", "", role="in G, runs")
        self.solve(
            "runs_G",
            self.in_G(g) + [g.res.runs],
            [g],
            self._claim_runs("s"),
            lambda r, d: f"runs in {ctx.name} at s (mode {r['s'].mode}) without trapping",
        )
        runs_g = R["runs_G"].status

        # control sensitive
        s = self.state("s", "", role="in range, runs, changes control")
        self.solve(
            "cs",
            self.in_range(s) + [s.res.runs, self.ctrl_changed(s)],
            [s],
            self._claim_runs_changes("s"),
            lambda r, d: f"control sensitive: at s (mode {r['s'].mode}) it {d[0] if d else 'changes control'}",
        )

        # mode sensitive in G
        pairs = [(v, r) for v, r in ctx.modes if v != r]
        if runs_g == UNSAT:
            self.skip("ms", UNSAT, f"it never runs in {ctx.name}")
        elif not pairs:
            self.skip("ms", UNSAT, f"{ctx.name} maps no virtual mode to another real mode")
        else:
            s = self.state("s", "", role="in G, runs")
            mv = z3.BitVec("mode'", isa.modes.width)
            s2 = self.state("s'", "'", regs=self.sym.with_mode(s.regs, mv), role="s with a virtual mode")
            md = isa.modes
            choice = z3.Or([z3.And(self.sym.mode_of(s.regs) == md.code(r), mv == md.code(v)) for v, r in pairs])
            self.solve(
                "ms",
                self.in_G(s) + self.inv(s2) + [choice, s.res.runs, self.differ(s, s2)],
                [s, s2],
                self._claim_differ("s", "s'", ("s",), phys_separate=False),
                lambda r, d: (
                    f"mode sensitive: at s (mode {r['s'].mode}) and s' (mode {r[_S2].mode}): " + "; ".join(d[:2])
                ),
            )

        # location (config) sensitive
        s1 = self.state("s1", "", role="runs")
        regs2, cons2 = self.variant(s1, self.ctrl_without_mode(), "#2")
        s2 = self.state("s2", "#2", regs=regs2, phys=self.fresh_phys("#2"), role="s1 with other control state")
        # (even without control elements other than the mode, phys is separate: a phys access can be location sensitive)
        ls_cons = self.in_range(s1) + self.inv(s2) + cons2 + [s1.res.runs, self.differ(s1, s2)]
        self.solve(
            "ls",
            ls_cons,
            [s1, s2],
            self._claim_differ("s1", "s2", ("s1",)),
            lambda r, d: (
                f"location sensitive: at s1 and s2 (mode {r['s1'].mode}, differing in control state): "
                + "; ".join(d[:2])
            ),
        )

        # user sensitive in G
        least = max(ctx.virtual_modes, key=isa.modes.rank)
        uimg = ctx.real_of(least)
        if runs_g == UNSAT:
            self.skip("us_cs", UNSAT, f"it never runs in {ctx.name}")
        else:
            s = self.state("s", "", role=f"in G at {uimg}, runs, changes control")
            self.solve(
                "us_cs",
                self.in_G(s) + [self.mode_is(s, uimg), s.res.runs, self.ctrl_changed(s, own_modes=False)],
                [s],
                self._claim_runs_changes("s"),
                lambda r, d: f"user control sensitive: at s (mode {r['s'].mode}) it {d[0] if d else 'changes control'}",
            )
        # Theorem 3's hybrid VMM runs the least privileged virtual mode directly in
        # its real image; Popek & Goldberg's u -> u makes a mode read harmless there,
        # but where the image is another mode the guest sees the wrong one.
        if runs_g == UNSAT:
            self.skip("us_ms", UNSAT, f"it never runs in {ctx.name}")
        elif least == uimg:
            self.skip("us_ms", UNSAT, f"{ctx.name} runs its least privileged mode {least} as itself")
        else:
            s = self.state("s", "", role=f"in G at {uimg}, runs")
            s2 = self.state(
                "s'",
                "'",
                regs=self.sym.with_mode(s.regs, z3.BitVecVal(isa.modes.code(least), isa.modes.width)),
                role=f"s in virtual mode {least}",
            )
            self.solve(
                "us_ms",
                self.in_G(s) + [self.mode_is(s, uimg)] + self.inv(s2) + [s.res.runs, self.differ(s, s2)],
                [s, s2],
                self._claim_differ("s", "s'", ("s",), phys_separate=False),
                lambda r, d: (
                    f"user mode sensitive: at s (mode {r['s'].mode}) and s' (mode {r[_S2].mode}): " + "; ".join(d[:2])
                ),
            )
        s1 = self.state("s1", "", role=f"in G at {uimg}")
        regs2, cons2 = self.variant(s1, self.ctrl_without_mode(), "#2")
        s2 = self.state("s2", "#2", regs=regs2, phys=self.fresh_phys("#2"), role="s1 with other control state")
        us_ls = (
            self.in_G(s1)
            + [self.mode_is(s1, uimg)]
            + self.inv(s2)
            + cons2
            + [z3.Or(s1.res.runs, s2.res.runs), self.differ(s1, s2)]
        )
        self.solve(
            "us_ls",
            us_ls,
            [s1, s2],
            self._claim_differ("s1", "s2", ("s1", "s2")),
            lambda r, d: (
                f"user location sensitive: at s1 and s2 (mode {r['s1'].mode}, differing in control state): "
                + "; ".join(d[:2])
            ),
        )

        # timing dependent in G
        if not self.timer:
            self.skip("td", UNSAT, "the ISA has no timer elements")
        elif runs_g == UNSAT:
            self.skip("td", UNSAT, f"it never runs in {ctx.name}")
        else:
            s1 = self.state("s1", "", role="in G, runs")
            regs2, cons2 = self.variant(s1, self.timer, "#t")
            s2 = self.state("s2", "#t", regs=regs2, role="s1 with other timer values")
            special = self.ctrl + self.timer
            self.solve(
                "td",
                self.in_G(s1) + self.inv(s2) + cons2 + [s1.res.runs, self.differ(s1, s2, special)],
                [s1, s2],
                self._claim_differ("s1", "s2", ("s1",), special, phys_separate=False),
                lambda r, d: "the result depends on the timer: " + "; ".join(d[:2]),
            )

        # Theorem 1 (shared operands): sensitive and runs somewhere in G
        for q, base in (("t1_cs", "cs"), ("t1_ls", "ls")):
            if R[base].status == UNSAT:
                self.skip(q, UNSAT, f"not {base}")
            elif runs_g == UNSAT:
                self.skip(q, UNSAT, f"it never runs in {ctx.name}")
            else:
                self._t_query(q, base)
        # Theorem 3: user location sensitive and runs in G
        if R["us_ls"].status == UNSAT:
            self.skip("t3_ls", UNSAT, "not user location sensitive")
        elif runs_g == UNSAT:
            self.skip("t3_ls", UNSAT, f"it never runs in {ctx.name}")
        else:
            self._t_query("t3_ls", "us_ls", uimg)

        # the exact condition
        if runs_g == UNSAT:
            self.skip("unsafe_ctrl", UNSAT, f"it never runs in {ctx.name}")
            self.skip("unsafe_pair", UNSAT, f"it never runs in {ctx.name}")
        else:
            s = self.state("s", "", role="in G, runs, changes control")
            self.solve(
                "unsafe_ctrl",
                self.in_G(s) + [s.res.runs, self.ctrl_changed(s)],
                [s],
                self._claim_runs_changes("s"),
                lambda r, d: f"runs in {ctx.name} at s (mode {r['s'].mode}) and {d[0] if d else 'changes control'}",
            )
            s = self.state("s", "", role="in G, runs")
            regsv, consv = self.variant(s, self.ctrl, "#v")
            v = self.state("v", "#v", regs=regsv, phys=self.fresh_phys("#v"), role="the virtual state")
            md = isa.modes
            choice = z3.Or(
                [
                    z3.And(self.sym.mode_of(s.regs) == md.code(r), self.sym.mode_of(v.regs) == md.code(w))
                    for w, r in ctx.modes
                ]
            )
            bad = z3.Or(z3.And(v.res.runs, self.ctrl_changed(v)), self.differ(s, v))

            def claim(r):
                ch = rp.control_changes(isa, r["v"], self.ctrl)
                d = rp.differences(isa, r["s"], r["v"], self.ctrl, True)
                why = ([f"{'; '.join(ch)} at v without trapping"] if ch else []) + d
                return r["s"].runs and bool(why), why

            self.solve(
                "unsafe_pair",
                self.in_G(s) + self.inv(v) + consv + [choice, s.res.runs, bad],
                [s, v],
                claim,
                lambda r, d: f"at s (real mode {r['s'].mode}) and v (virtual mode {r['v'].mode}): " + "; ".join(d[:2]),
            )
        return R

    def _invariants(self) -> None:
        """docs/model.md §2.3: invariants are claims, checked to be inductive: from a
        state that satisfies them, the instance's result (or, when it traps, the
        state the trap delivery makes) satisfies them too."""
        if not self.isa.invariants:
            self.skip("inv", UNSAT, "the ISA declares no invariants")
            return
        s = self.state("s", "", role="satisfies the invariants")
        delivered, _ = self.sym.deliver(s.regs, s.storage["P"], s.res.cause, s.res.arg)

        def broken(regs):
            return z3.Not(z3.And([self.sym.predicate(i, regs) for i in self.isa.invariants]))

        cons = self.inv(s) + [z3.Or(z3.And(s.res.runs, broken(s.res.post)), z3.And(s.res.trapped, broken(delivered)))]
        s_P = s.storage["P"]

        def claim(r):
            rep = r["s"]
            after = rep.post
            if rep.trapped:
                after = rep.pre.copy()
                port = rp.ModelPort(self.sym, self._model, self.V, s_P, 0)
                compile_isa(self.isa).deliver(after, port, rep.outcome.cause, rep.outcome.arg or 0)
            bad = [ir_text for ir_text, ok in self._invariants_at(after) if not ok]
            where = "the trap delivery" if rep.trapped else "it"
            return bool(bad), [f"{where} breaks the invariant {', '.join(bad)}"]

        self.solve("inv", cons, [s], claim, lambda r, d: f"from s (mode {r['s'].mode}), {d[0]}")

    def _invariants_at(self, st) -> list[tuple[str, bool]]:
        """Each invariant's text and whether it holds at the concrete state `st`."""
        regs = {}
        for e in self.isa.elements:
            if e.is_file:
                arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
                for i in range(e.count):
                    arr = z3.Store(arr, z3.BitVecVal(i, e.index_width), z3.BitVecVal(st.get(e.name, i), e.width))
                regs[e.name] = arr
            else:
                regs[e.name] = z3.BitVecVal(st.get(e.name), e.width)
        out = []
        for k, inv in enumerate(self.isa.invariants):
            # the loader puts an unwritten "the mode names a level" first when the mode bits can hold other codes
            name = f"at line {inv.span.line}" if inv.span else "that the mode is one of the declared levels"
            out.append((name, z3.is_true(z3.simplify(self.sym.predicate(inv, regs)))))
        return out

    def _pg_classes(self) -> None:
        """Popek & Goldberg's own classes, judged over every mode and no context,
        with a trap on one side of a pair being no difference: what a spec's
        labels `sensitive`, `control_sensitive`... claim (the per-context
        classes above decide the theorems)."""
        s = self.state("s", "", role="any state, runs, changes control")
        self.solve(
            "pg_cs",
            self.inv(s) + [s.res.runs, self.ctrl_changed(s, own_modes=False)],
            [s],
            self._claim_runs_changes("s"),
            lambda r, d: (
                f"control sensitive over all modes: at s (mode {r['s'].mode}) it {d[0] if d else 'changes control'}"
            ),
        )
        s = self.state("s", "", role="any state, runs")
        mv = z3.BitVec("mode'", self.isa.modes.width)
        s2 = self.state("s'", "'", regs=self.sym.with_mode(s.regs, mv), role="s in another mode, runs")
        self.solve(
            "pg_ms",
            self.inv(s) + self.inv(s2) + [mv != self.sym.mode_of(s.regs), s.res.runs, s2.res.runs, self.differ(s, s2)],
            [s, s2],
            self._claim_differ("s", "s'", ("s", "s'"), phys_separate=False, both=True),
            lambda r, d: (
                f"mode sensitive over all modes: at s (mode {r['s'].mode}) and s' (mode {r[_S2].mode}): "
                + "; ".join(d[:2])
            ),
        )
        s1 = self.state("s1", "", role="any state, runs")
        regs2, cons2 = self.variant(s1, self.ctrl_without_mode(), "#2")
        s2 = self.state("s2", "#2", regs=regs2, phys=self.fresh_phys("#2"), role="s1 with other control state, runs")
        self.solve(
            "pg_ls",
            self.inv(s1) + self.inv(s2) + cons2 + [s1.res.runs, s2.res.runs, self.differ(s1, s2)],
            [s1, s2],
            self._claim_differ("s1", "s2", ("s1", "s2"), both=True),
            lambda r, d: (
                f"location sensitive over all modes: at s1 and s2 (mode {r['s1'].mode}, differing in control state): "
                + "; ".join(d[:2])
            ),
        )

    def _t_query(self, q: str, base: str, uimg: str | None = None) -> None:
        g = self.state("g", "#g", role="in G, runs")
        cons = self.in_G(g) + [g.res.runs]
        if base == "cs":
            s1 = self.state("s1", "", role="in range, runs, changes control")
            cons += self.in_range(s1) + [s1.res.runs, self.ctrl_changed(s1)]
            states = [s1, g]
            inner = self._claim_runs_changes("s1")
        else:
            s1 = self.state("s1", "", role="runs" if base == "ls" else f"in G at {uimg}")
            regs2, cons2 = self.variant(s1, self.ctrl_without_mode(), "#2")
            s2 = self.state("s2", "#2", regs=regs2, phys=self.fresh_phys("#2"), role="s1 with other control state")
            if base == "ls":
                cons += self.in_range(s1) + [s1.res.runs]
                runs = ("s1",)
            else:
                cons += self.in_G(s1) + [self.mode_is(s1, uimg), z3.Or(s1.res.runs, s2.res.runs)]
                runs = ("s1", "s2")
            cons += self.inv(s2) + cons2 + [self.differ(s1, s2)]
            states = [s1, s2, g]
            inner = self._claim_differ("s1", "s2", runs)

        def claim(r):
            ok, d = inner(r)
            return ok and r["g"].runs, d

        what = {"t1_cs": "control sensitive", "t1_ls": "location sensitive", "t3_ls": "user location sensitive"}[q]
        self.solve(
            q,
            cons,
            states,
            claim,
            lambda r, d: f"{what} ({'; '.join(d[:2])}) and runs in {self.ctx.name} at g (mode {r['g'].mode})",
        )


# --------------------------------------------------------------------------
# From query results to the classes of one instruction
# --------------------------------------------------------------------------


def unknown_text(q: QueryResult) -> str:
    if q.unknown_why == "timeout":
        return f"unknown (the wall-clock safety net ran out on `{q.name}` before the budget)"
    return f"unknown (budget {q.budget:,} exhausted on `{q.name}`)"


def _from(q: QueryResult, yes_on_sat: bool, what: str) -> Answer:
    """The answer that a query alone decides: sat means `yes_on_sat`."""
    if q.status == UNK:
        return Answer(UNKNOWN, f"{what}: {unknown_text(q)}", q.unknown_why or "budget", None, [q.name], q.seconds)
    if q.status == SAT:
        val = YES if yes_on_sat else NO
        return Answer(val, q.witness.summary if q.witness else what, "witness", q.witness, [q.name], q.seconds)
    val = NO if yes_on_sat else YES
    why = q.skipped or f"proved: query `{q.name}` is unsat"
    return Answer(val, why, "proof", None, [q.name], q.seconds)


def _any(answers: list[Answer]) -> Answer:
    """yes when one is yes (its witness), no when all are no (every proof), else unknown."""
    for a in answers:
        if a.value == YES:
            return Answer(
                YES,
                a.reason,
                a.evidence,
                a.witness,
                [q for b in answers for q in b.queries],
                sum(b.seconds for b in answers),
            )
    qs = [q for b in answers for q in b.queries]
    secs = sum(b.seconds for b in answers)
    unk = [a for a in answers if a.value == UNKNOWN]
    if unk:
        return Answer(UNKNOWN, unk[0].reason, unk[0].evidence, None, qs, secs)
    return Answer(NO, "; ".join(dict.fromkeys(a.reason for a in answers)), "proof", None, qs, secs)


def classify(R: dict[str, QueryResult], ctx: ir.Context) -> tuple[dict[str, Answer], dict[str, Answer]]:
    """The classes (CLASSES) and theorem violations (THEOREMS) from the query results."""
    c: dict[str, Answer] = {}
    runs_any = R["runs_any"]
    if runs_any.status == UNSAT:
        c["illegal"] = Answer(
            YES, "it traps in every state (unsat: " + QUERIES["runs_any"] + ")", "proof", None, ["runs_any"]
        )
    else:
        c["illegal"] = _from(runs_any, False, "illegal")
    g, hst = R["runs_G"], R["runs_host"]
    if c["illegal"].value == YES:
        c["privileged"] = Answer(
            NO, "illegal: it traps in every state, the host's included", "proof", None, ["runs_any"]
        )
    elif g.status == SAT:
        c["privileged"] = Answer(
            NO,
            "it " + (g.witness.summary if g.witness else f"runs in {ctx.name}"),
            "witness",
            g.witness,
            ["runs_G"],
            g.seconds,
        )
    elif g.status == UNK or hst.status == UNK:
        q = g if g.status == UNK else hst
        c["privileged"] = Answer(UNKNOWN, unknown_text(q), q.unknown_why or "budget", None, ["runs_G", "runs_host"])
    elif hst.status == SAT:
        c["privileged"] = Answer(
            YES,
            f"traps or memory-traps at every state of {ctx.name} (unsat: {QUERIES['runs_G']}) "
            f"and {hst.witness.summary if hst.witness else 'runs in the host'}",
            "proof",
            hst.witness,
            ["runs_G", "runs_host"],
            g.seconds + hst.seconds,
        )
    else:
        c["privileged"] = Answer(
            NO, "it traps in every host state (unsat: " + QUERIES["runs_host"] + ")", "proof", None, ["runs_host"]
        )
    c["control_sensitive"] = _from(R["cs"], True, "control sensitive")
    c["mode_sensitive"] = _from(R["ms"], True, "mode sensitive")
    c["location_sensitive"] = _from(R["ls"], True, "location sensitive")
    c["sensitive"] = _any([c["control_sensitive"], c["mode_sensitive"], c["location_sensitive"]])
    c["user_sensitive"] = _any(
        [
            _from(R["us_cs"], True, "user control sensitive"),
            _from(R["us_ms"], True, "user mode sensitive"),
            _from(R["us_ls"], True, "user location sensitive"),
        ]
    )
    c["timing_dependent"] = _from(R["td"], True, "timing dependent")
    c["unsafe"] = _any([_from(R["unsafe_ctrl"], True, "unsafe"), _from(R["unsafe_pair"], True, "unsafe")])
    c["pg_control_sensitive"] = _from(R["pg_cs"], True, "control sensitive (Popek & Goldberg)")
    c["pg_mode_sensitive"] = _from(R["pg_ms"], True, "mode sensitive (Popek & Goldberg)")
    c["pg_location_sensitive"] = _from(R["pg_ls"], True, "location sensitive (Popek & Goldberg)")
    c["pg_sensitive"] = _any([c["pg_control_sensitive"], c["pg_mode_sensitive"], c["pg_location_sensitive"]])
    c["breaks_invariants"] = _from(R["inv"], True, "breaks an invariant")
    v: dict[str, Answer] = {}
    v["1"] = _any(
        [
            _from(R["t1_cs"], True, "violates Theorem 1"),
            _from(R["ms"], True, "violates Theorem 1"),
            _from(R["t1_ls"], True, "violates Theorem 1"),
        ]
    )
    v["2"] = _any([v["1"], c["timing_dependent"]])
    v["3"] = _any(
        [
            _from(R["us_cs"], True, "violates Theorem 3"),
            _from(R["us_ms"], True, "violates Theorem 3"),
            _from(R["t3_ls"], True, "violates Theorem 3"),
        ]
    )
    v["exact"] = c["unsafe"]
    return c, v


def analyze_instruction(
    isa: ir.Isa, insn: ir.Instruction, ctx: ir.Context, timeout: float = DEFAULT_TIMEOUT, budget: int = DEFAULT_BUDGET
) -> tuple[InstructionResult, int]:
    """Every class of `insn` in `ctx`: (result, number of solver calls)."""
    t0 = time.perf_counter()
    fresh_context()  # the same witnesses whatever ran before in this process
    q = InstructionQueries(isa, insn, ctx, timeout, budget)
    R = q.run_all()
    classes, violates = classify(R, ctx)
    line = insn.span.line if insn.span else None
    res = InstructionResult(
        insn.name, insn.mnemonic, line, sorted(insn.labels), classes, violates, time.perf_counter() - t0
    )
    return res, q.n_solved


__all__ = [
    "QUERIES",
    "QueryResult",
    "InstructionQueries",
    "classify",
    "analyze_instruction",
    "DEFAULT_BUDGET",
    "DEFAULT_TIMEOUT",
    "unknown_text",
]
