"""The formulas of the existence queries (docs/model.md §2.5–§2.6), for one instruction in one context.

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

The queries themselves (what each asks, over which states, when it need not
be asked) are the table in `queries.py`; how a formula is decided is
`solving.py`; how a model becomes a witness is `witness_check.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import z3

from ..semantics.symbolic import HALT, SymIsa, SymResult, sym_isa
from ..spec import ir
from ..spec.ir import mask
from . import prepass, solving
from . import witness_check as wc
from .budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT
from .solving import SAT, UNSAT, BudgetedSolver, QueryResult, index_diseqs, proved, split_cases, trivially_false
from .witness_check import checked_witness


@dataclass
class QueryState:
    """One symbolic state of a query."""

    label: str
    regs: dict[str, z3.ExprRef]
    storage: dict[str, z3.ExprRef]
    res: SymResult
    role: str = ""
    tag: str = ""


class QueryBuilder:
    """The states, state sets and comparisons the queries of one instruction in
    one context are built from, and `solve`, which decides a built formula
    and records its answer (`queries.InstructionQueries` adds the table)."""

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
        self._res_memo: dict[tuple, SymResult] = {}
        self._free_bits: dict[str, int] | None = None
        self.sym: SymIsa = sym_isa(isa)
        self.ops = self.sym.operand_vars(insn)
        self.dom = self.sym.operand_domain(insn, self.ops)
        self.solver = BudgetedSolver(self.dom, self.timeout_ms, self.budget)
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
        self.results: dict[str, QueryResult] = {}  # name -> answer, in the order asked
        self.n_solved = 0  # queries that went to the solver
        self.model: z3.ModelRef | None = None  # the last sat query's model (claims that run the trap delivery read it)

    # ---- states and state sets ------------------------------------------

    def state(self, label: str, tag: str, regs=None, phys=None, role: str = "") -> QueryState:
        regs = regs if regs is not None else self.sym.state_vars(tag)
        storage = {"V": self.V, "P": phys if phys is not None else self.P}
        # Queries share states (the same registers give the same terms): instantiate once.
        key = (tuple(v.get_id() for v in regs.values()), storage["P"].get_id())
        res = self._res_memo.get(key)
        if res is None:
            res = self._res_memo[key] = self.sym.instantiate(self.insn, regs, self.ops, storage)
        return QueryState(label, regs, storage, res, role, tag)

    def user_modes(self) -> tuple[str, str]:
        """(the least privileged virtual mode, the real mode G runs it in): Theorem 3's user mode."""
        least = max(self.ctx.virtual_modes, key=self.isa.modes.rank)
        return least, self.ctx.real_of(least)

    def invariants_at(self, st) -> list[tuple[str, bool]]:
        """Each invariant's text and whether it holds at the concrete state `st`."""
        regs = {}
        for e in self.isa.elements:
            if e.is_file:
                arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
                for i in range(e.count or 0):
                    arr = z3.Store(arr, z3.BitVecVal(i, e.index_width), z3.BitVecVal(st.get(e.name, i), e.width))
                regs[e.name] = arr
            else:
                regs[e.name] = z3.BitVecVal(st.get(e.name), e.width)
        out = []
        for inv in self.isa.invariants:
            # the loader puts an unwritten "the mode names a level" first when the mode bits can hold other codes
            name = f"at line {inv.span.line}" if inv.span else "that the mode is one of the declared levels"
            out.append((name, z3.is_true(z3.simplify(self.sym.predicate(inv, regs)))))
        return out

    def fresh_phys(self, tag: str):
        return z3.Array("P" + tag, z3.BitVecSort(self.sym.aw), z3.BitVecSort(self.sym.unit))

    def inv(self, s: QueryState) -> list[z3.BoolRef]:
        out = [self.sym.predicate(i, s.regs) for i in self.isa.invariants]
        out.append(self.sym.mode_in(s.regs, self.isa.modes.names))
        return out

    def in_range(self, s: QueryState) -> list[z3.BoolRef]:
        return self.inv(s) + [self.sym.mode_in(s.regs, self.ctx.virtual_modes)]

    def in_G(self, s: QueryState) -> list[z3.BoolRef]:
        return self.inv(s) + [self.sym.predicate(self.ctx.where, s.regs), self.sym.mode_in(s.regs, self.ctx.real_modes)]

    def in_host(self, s: QueryState) -> list[z3.BoolRef]:
        return self.inv(s) + [self.sym.predicate(self.isa.host, s.regs)]

    def mode_is(self, s: QueryState, level: str) -> z3.BoolRef:
        return self.sym.mode_of(s.regs) == self.isa.modes.code(level)

    def variant(self, base: QueryState, masks: list[tuple[ir.Element, int]], tag: str) -> tuple[dict, list]:
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
                    for i in range(e.count or 0):
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
            return z3.And([z3.Select(a, i) & m == z3.Select(b, i) & m for i in range(e.count or 0)])
        if m == full:
            return a == b
        return a & m == b & m

    def ctrl_changed(self, s: QueryState, own_modes: bool = True) -> z3.BoolRef:
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

    def differ(self, a: QueryState, b: QueryState, special=None) -> z3.BoolRef:
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

    def _only_control_apart(self, a: QueryState, b: QueryState) -> bool:
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
            if e.is_file or not proved(ta & keep == tb & keep):
                return False
        return True

    def solve(
        self,
        name: str,
        cons: list,
        states: list[QueryState],
        claim: Callable[[dict], tuple[bool, list[str]]],
        summary: Callable[[dict, list[str]], str],
    ) -> QueryResult:
        """Decide `∃ … . ∧ cons` (issue 13.2): false by construction (the dependency
        argument) needs no solver; otherwise the query is split into cases, one per
        disjunct of its widest disjunction, answered within the budget
        (`solving.BudgetedSolver`): sat at the first satisfiable case (its model,
        replayed, is the witness), unsat when every case is, unknown otherwise."""
        t0 = time.perf_counter()
        by_dependency, self._by_dependency = self._by_dependency, False
        # (only the dependency argument makes a formula false by construction)
        if any(z3.is_false(c) for c in cons) or (by_dependency and any(trivially_false(c) for c in cons)):
            why = self.independent.reason if by_dependency and self.independent else ""
            out = QueryResult(name, UNSAT, seconds=time.perf_counter() - t0, skipped=why, cases=0)
            self.results[name] = out
            return out
        cons = [index_diseqs(c) for c in cons]
        base, cases = split_cases(cons) if solving.STRATEGY != "mono" else (list(cons), [z3.BoolVal(True)])
        status, model, spent, why = self.solver.cases(cons, base, cases)
        self.n_solved += 1
        out = QueryResult(name, status, rlimit=spent, cases=len(cases), unknown_why=why, budget=self.budget)
        if status == SAT:
            self.model = model
            out.witness = checked_witness(self.sym, self.insn, self.ops, name, model, states, claim, summary)
        out.seconds = time.perf_counter() - t0
        self.results[name] = out
        return out

    def skip(self, name: str, status: str, why: str) -> QueryResult:
        out = QueryResult(name, status, skipped=why)
        self.results[name] = out
        return out

    # ---- the claims, re-checked on the concrete results ---------------------

    def claim_not_trap(self, label):
        return lambda r: (r[label].kind != "trap", [])

    def claim_runs(self, label):
        return lambda r: (r[label].runs, [])

    def claim_runs_changes(self, label):
        def f(r):
            ch = wc.control_changes(self.isa, r[label], self.ctrl)
            return r[label].runs and bool(ch), [f"{'; '.join(ch)} at {label}"] if ch else []

        return f

    def claim_differ(self, a, b, runs: tuple[str, ...], special=None, phys_separate: bool = True, both: bool = False):
        """The results of `a` and `b` differ and one of `runs` runs (`both`: all of them)."""
        special = self.ctrl if special is None else special
        need = all if both else any

        def f(r):
            d = wc.differences(self.isa, r[a], r[b], special, phys_separate)
            return need(r[x].runs for x in runs) and bool(d), d

        return f
