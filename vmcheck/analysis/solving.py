"""Deciding one query within a budget (issue 13): the formula split into
cases, the cases solved in rounds, every limit counted in z3 resource units.

A query `∃ … . ∧ cons` is tried whole by a fresh solver with a small part of
its *budget* (z3 resource units, `budget.py`: the same answer on any machine
at any load); when that is not enough it is split at its widest disjunction
(the "results differ" one: one case per element and outcome), each case
solved on its own, first all with a small slice (a cheap sat case is found
before an expensive one runs long), then the undecided ones with what is
left. Array disequalities (write logs, register files) are read at a fresh
index, which spares the solver extensionality. Sat at the first satisfiable
case (its model is the witness), unsat when every case is, unknown when the
budget runs out ("budget", reproducible) or the wall-clock safety net does
("timeout").

Guarantee: the z3 calls are made in the same order for the same formula, so
the same query gets the same model in the same z3 context.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from .results import Witness

SAT, UNSAT, UNK = "sat", "unsat", "unknown"

# Resource units (capped by what is left of the budget) for trying a query
# whole, and for each case in the first round of a split query (so that a cheap
# satisfiable case is found before an expensive one runs long). Fixed, not a
# share of the budget: a larger budget only decides later where to stop, so an
# answer found under one budget is found the same way under any larger one.
_WHOLE_SLICE = 2_000_000
_CASE_SLICE = 1_000_000
# How queries are solved (bench/profile_queries.py --strategy compares them; it sets STRATEGY):
# "whole+fresh": whole first, then split, a new solver per case (z3's
# non-incremental preprocessing, which the hard cases need); "whole+incremental":
# the split on the instruction's one solver with push/pop; "mono": whole only.
STRATEGY = "whole+fresh"


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


def trivially_false(t: z3.ExprRef) -> bool:
    """False by its and/or structure alone (no solver)."""
    if z3.is_false(t):
        return True
    if z3.is_and(t):
        return any(trivially_false(c) for c in t.children())
    if z3.is_or(t):
        return all(trivially_false(c) for c in t.children())
    return False


def _disjuncts(t: z3.ExprRef) -> list[z3.ExprRef]:
    """`t` as a disjunction of cases: an Or's disjuncts, and an And over Ors
    distributed over its widest Or (only that one, so the count stays linear)."""
    if z3.is_or(t):
        return [d for c in t.children() if not trivially_false(c) for d in _disjuncts(c)]
    if z3.is_and(t):
        kids = t.children()
        ors = [(_or_width(k), j) for j, k in enumerate(kids) if z3.is_or(k)]
        if ors:
            j = max(ors, key=lambda wj: (wj[0], -wj[1]))[1]  # the widest Or, the first of equals
            rest = kids[:j] + kids[j + 1 :]
            return [z3.And(rest + [d]) for d in _disjuncts(kids[j])]
    return [t]


def index_diseqs(t: z3.ExprRef) -> z3.ExprRef:
    """`t` with every array disequality `A != B` that occurs positively under
    And/Or replaced by `A[k] != B[k]` for a fresh index `k`: the same
    satisfiability (arrays differ iff they differ at some index, and `k` is
    existential like every constant of a query), but no extensionality for the
    solver to reason about. Write logs and register files compared whole were
    the hardest cases of x86-64's far call."""
    if z3.is_and(t) or z3.is_or(t):
        kids = t.children()
        new = [index_diseqs(c) for c in kids]
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


def split_cases(cons: list) -> tuple[list, list]:
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


def proved(claim: z3.BoolRef) -> bool:
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


class BudgetedSolver:
    """Decides the queries of one instruction, split into cases by
    `split_cases`: its operand domain `dom`, a budget per query (resource
    units) and a wall-clock safety net per solver call (`timeout_ms`)."""

    def __init__(self, dom: list, timeout_ms: int, budget: int) -> None:
        self.dom = dom
        self.timeout_ms = timeout_ms
        self.budget = budget
        self._solver: z3.Solver | None = None  # one incremental solver for every query

    def _base_solver(self) -> z3.Solver:
        """The instruction's solver: its operand domain asserted once, every query
        pushed and popped on top (the states' terms are shared between queries)."""
        if self._solver is None:
            self._solver = z3.Solver()
            self._solver.set("timeout", self.timeout_ms)
            self._solver.add(self.dom)
        return self._solver

    def cases(self, cons: list, base: list, cases: list) -> tuple[str, z3.ModelRef | None, int, str]:
        """(status, model when sat, resource units spent, why unknown). Two rounds:
        every case with a small share of the budget first, so a cheap sat case is
        found before an expensive one runs long; then the undecided cases in
        order, each with whatever budget is left. All of it counted in z3's
        resource units, so it is the same on any machine."""
        spent = 0
        if len(cases) > 1 and STRATEGY.startswith("whole"):
            # Most queries are cheap whole: one fresh solver (z3's non-incremental
            # preprocessing) with a share of the budget; only a query that
            # exhausts it is split.
            whole = _WHOLE_SLICE
            r, model, spent, why = self._check_fresh(cons, min(whole, self.budget))
            if r != UNK or why == "timeout" or spent >= self.budget:
                return r, model, spent, why
        incremental = STRATEGY.endswith("incremental")
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

    def _rounds(
        self, base: list, cases: list, solver: z3.Solver | None, budget: int
    ) -> tuple[str, z3.ModelRef | None, int, str]:
        """The two rounds over `cases`: on `solver` with push/pop when given
        (incremental), else on a fresh solver per case."""
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
                    assert solver is not None
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
