"""Each existence query's formula, built and asked: one `ask_*` function per
query of the table in `queries.py` (which says what each asks and when it
is skipped).

An `ask_*` function builds the query's states (`formulas.QueryBuilder`) and
formula and hands it to `QueryBuilder.solve`. The terms the queries share
live in a `Scope` for the whole run (see its docstring for why that matters).
"""

from __future__ import annotations

import z3

from ..semantics.concrete import compile_isa
from ..semantics.symbolic import TRAP
from . import witness_check as wc
from .formulas import QueryBuilder, QueryState

_S2 = "s'"


class PgScope:
    """The terms Popek & Goldberg's three queries share (see `Scope`)."""

    __slots__ = ("s", "mv", "s2", "s1", "regs2", "cons2")
    s: QueryState
    mv: z3.BitVecRef
    s2: QueryState
    s1: QueryState
    regs2: dict[str, z3.ExprRef]
    cons2: list


class Scope:
    """The terms the queries of one run keep alive between them.

    z3 recycles the ids of freed terms, and term ids steer the solver's
    search: which terms are alive when a query is built and solved decides
    which model (witness) it finds. The queries therefore keep their states
    and shared terms here, under the names they share (`s`, `s1`, `s2`,
    ...): a later query that makes its own `s` frees the earlier one at that
    point, and the rest are freed together, in the slots' order, when the run
    ends. This keeps every witness what it was before the queries became a
    table (tools/snapshot_outputs.py checks that).
    """

    # (mv, s and v last: they were a closure's cells, which a frame frees after its locals)
    __slots__ = (
        "h", "g", "s2", "choice", "s1", "regs2", "cons2", "ls_cons", "us_ls", "regsv", "consv", "bad",
        "mv", "s", "v", "pg",
    )  # fmt: skip
    h: QueryState
    g: QueryState
    s2: QueryState
    choice: z3.BoolRef
    s1: QueryState
    regs2: dict[str, z3.ExprRef]
    cons2: list
    ls_cons: list
    us_ls: list
    regsv: dict[str, z3.ExprRef]
    consv: list
    bad: z3.BoolRef
    mv: z3.BitVecRef
    s: QueryState
    v: QueryState
    pg: PgScope | None

    def __init__(self) -> None:
        self.pg = None


def ask_inv(q: QueryBuilder, run: Scope) -> None:
    """docs/model.md §2.3: invariants are claims, checked to be inductive: from a
    state that satisfies them, the instance's result (or, when it traps, the
    state the trap delivery makes) satisfies them too."""
    s = q.state("s", "", role="satisfies the invariants")
    delivered, _ = q.sym.deliver(s.regs, s.storage["P"], s.res.cause, s.res.arg)

    def broken(regs):
        return z3.Not(z3.And([q.sym.predicate(i, regs) for i in q.isa.invariants]))

    cons = q.inv(s) + [z3.Or(z3.And(s.res.runs, broken(s.res.post)), z3.And(s.res.trapped, broken(delivered)))]
    s_P = s.storage["P"]

    def claim(r):
        rep = r["s"]
        after = rep.post
        if rep.trapped:
            after = rep.pre.copy()
            port = wc.ModelPort(q.sym, q.model, q.V, s_P, 0)
            compile_isa(q.isa).deliver(after, port, rep.outcome.cause, rep.outcome.arg or 0)
        bad = [ir_text for ir_text, ok in q.invariants_at(after) if not ok]
        where = "the trap delivery" if rep.trapped else "it"
        return bool(bad), [f"{where} breaks the invariant {', '.join(bad)}"]

    q.solve("inv", cons, [s], claim, lambda r, d: f"from s (mode {r['s'].mode}), {d[0]}")


def ask_runs_any(q: QueryBuilder, run: Scope) -> None:
    run.s = q.state("s", "", role="any state")
    q.solve(
        "runs_any",
        q.inv(run.s) + [run.s.res.kind != TRAP],
        [run.s],
        q.claim_not_trap("s"),
        lambda r, d: f"does not trap at s (mode {r['s'].mode}): {r['s'].outcome_text()}",
    )


def ask_pg_cs(q: QueryBuilder, run: Scope) -> None:
    """Popek & Goldberg's own classes (pg_cs, pg_ms, pg_ls), judged over every
    mode and no context, with a trap on one side of a pair being no
    difference: what a spec's labels `sensitive`, `control_sensitive`...
    claim (the per-context classes decide the theorems)."""
    pg = run.pg = PgScope()
    pg.s = q.state("s", "", role="any state, runs, changes control")
    q.solve(
        "pg_cs",
        q.inv(pg.s) + [pg.s.res.runs, q.ctrl_changed(pg.s, own_modes=False)],
        [pg.s],
        q.claim_runs_changes("s"),
        lambda r, d: (
            f"control sensitive over all modes: at s (mode {r['s'].mode}) it {d[0] if d else 'changes control'}"
        ),
    )


def ask_pg_ms(q: QueryBuilder, run: Scope) -> None:
    pg = run.pg
    assert pg is not None  # pg_cs opened it
    pg.s = q.state("s", "", role="any state, runs")
    pg.mv = z3.BitVec("mode'", q.isa.modes.width)
    pg.s2 = q.state("s'", "'", regs=q.sym.with_mode(pg.s.regs, pg.mv), role="s in another mode, runs")
    q.solve(
        "pg_ms",
        q.inv(pg.s)
        + q.inv(pg.s2)
        + [pg.mv != q.sym.mode_of(pg.s.regs), pg.s.res.runs, pg.s2.res.runs, q.differ(pg.s, pg.s2)],
        [pg.s, pg.s2],
        q.claim_differ("s", "s'", ("s", "s'"), phys_separate=False, both=True),
        lambda r, d: (
            f"mode sensitive over all modes: at s (mode {r['s'].mode}) and s' (mode {r[_S2].mode}): " + "; ".join(d[:2])
        ),
    )


def ask_pg_ls(q: QueryBuilder, run: Scope) -> None:
    pg = run.pg
    assert pg is not None  # pg_cs opened it
    pg.s1 = q.state("s1", "", role="any state, runs")
    pg.regs2, pg.cons2 = q.variant(pg.s1, q.ctrl_without_mode(), "#2")
    pg.s2 = q.state("s2", "#2", regs=pg.regs2, phys=q.fresh_phys("#2"), role="s1 with other control state, runs")
    q.solve(
        "pg_ls",
        q.inv(pg.s1) + q.inv(pg.s2) + pg.cons2 + [pg.s1.res.runs, pg.s2.res.runs, q.differ(pg.s1, pg.s2)],
        [pg.s1, pg.s2],
        q.claim_differ("s1", "s2", ("s1", "s2"), both=True),
        lambda r, d: (
            f"location sensitive over all modes: at s1 and s2 (mode {r['s1'].mode}, differing in control state): "
            + "; ".join(d[:2])
        ),
    )
    del pg
    run.pg = None  # the three are done: their terms go


def ask_runs_host(q: QueryBuilder, run: Scope) -> None:
    run.h = q.state("h", "", role="host")
    q.solve(
        "runs_host",
        q.in_host(run.h) + [run.h.res.kind != TRAP],
        [run.h],
        q.claim_not_trap("h"),
        lambda r, d: f"runs in the host at h (mode {r['h'].mode}): {r['h'].outcome_text()}",
    )


def ask_runs_G(q: QueryBuilder, run: Scope) -> None:
    run.g = q.state("s", "", role="in G, runs")
    q.solve(
        "runs_G",
        q.in_G(run.g) + [run.g.res.runs],
        [run.g],
        q.claim_runs("s"),
        lambda r, d: f"runs in {q.ctx.name} at s (mode {r['s'].mode}) without trapping",
    )


def ask_cs(q: QueryBuilder, run: Scope) -> None:
    run.s = q.state("s", "", role="in range, runs, changes control")
    q.solve(
        "cs",
        q.in_range(run.s) + [run.s.res.runs, q.ctrl_changed(run.s)],
        [run.s],
        q.claim_runs_changes("s"),
        lambda r, d: f"control sensitive: at s (mode {r['s'].mode}) it {d[0] if d else 'changes control'}",
    )


def ask_ms(q: QueryBuilder, run: Scope) -> None:
    pairs = [(v, r) for v, r in q.ctx.modes if v != r]
    run.s = q.state("s", "", role="in G, runs")
    run.mv = z3.BitVec("mode'", q.isa.modes.width)
    run.s2 = q.state("s'", "'", regs=q.sym.with_mode(run.s.regs, run.mv), role="s with a virtual mode")
    md = q.isa.modes
    run.choice = z3.Or([z3.And(q.sym.mode_of(run.s.regs) == md.code(r), run.mv == md.code(v)) for v, r in pairs])
    q.solve(
        "ms",
        q.in_G(run.s) + q.inv(run.s2) + [run.choice, run.s.res.runs, q.differ(run.s, run.s2)],
        [run.s, run.s2],
        q.claim_differ("s", "s'", ("s",), phys_separate=False),
        lambda r, d: f"mode sensitive: at s (mode {r['s'].mode}) and s' (mode {r[_S2].mode}): " + "; ".join(d[:2]),
    )


def ask_ls(q: QueryBuilder, run: Scope) -> None:
    run.s1 = q.state("s1", "", role="runs")
    run.regs2, run.cons2 = q.variant(run.s1, q.ctrl_without_mode(), "#2")
    run.s2 = q.state("s2", "#2", regs=run.regs2, phys=q.fresh_phys("#2"), role="s1 with other control state")
    # (even without control elements other than the mode, phys is separate: a phys access can be location sensitive)
    run.ls_cons = q.in_range(run.s1) + q.inv(run.s2) + run.cons2 + [run.s1.res.runs, q.differ(run.s1, run.s2)]
    q.solve(
        "ls",
        run.ls_cons,
        [run.s1, run.s2],
        q.claim_differ("s1", "s2", ("s1",)),
        lambda r, d: (
            f"location sensitive: at s1 and s2 (mode {r['s1'].mode}, differing in control state): " + "; ".join(d[:2])
        ),
    )


def ask_us_cs(q: QueryBuilder, run: Scope) -> None:
    _, uimg = q.user_modes()
    run.s = q.state("s", "", role=f"in G at {uimg}, runs, changes control")
    q.solve(
        "us_cs",
        q.in_G(run.s) + [q.mode_is(run.s, uimg), run.s.res.runs, q.ctrl_changed(run.s, own_modes=False)],
        [run.s],
        q.claim_runs_changes("s"),
        lambda r, d: f"user control sensitive: at s (mode {r['s'].mode}) it {d[0] if d else 'changes control'}",
    )


def ask_us_ms(q: QueryBuilder, run: Scope) -> None:
    # Theorem 3's hybrid VMM runs the least privileged virtual mode directly in
    # its real image; Popek & Goldberg's u -> u makes a mode read harmless there,
    # but where the image is another mode the guest sees the wrong one.
    least, uimg = q.user_modes()
    isa = q.isa
    run.s = q.state("s", "", role=f"in G at {uimg}, runs")
    run.s2 = q.state(
        "s'",
        "'",
        regs=q.sym.with_mode(run.s.regs, z3.BitVecVal(isa.modes.code(least), isa.modes.width)),
        role=f"s in virtual mode {least}",
    )
    q.solve(
        "us_ms",
        q.in_G(run.s) + [q.mode_is(run.s, uimg)] + q.inv(run.s2) + [run.s.res.runs, q.differ(run.s, run.s2)],
        [run.s, run.s2],
        q.claim_differ("s", "s'", ("s",), phys_separate=False),
        lambda r, d: f"user mode sensitive: at s (mode {r['s'].mode}) and s' (mode {r[_S2].mode}): " + "; ".join(d[:2]),
    )


def ask_us_ls(q: QueryBuilder, run: Scope) -> None:
    _, uimg = q.user_modes()
    run.s1 = q.state("s1", "", role=f"in G at {uimg}")
    run.regs2, run.cons2 = q.variant(run.s1, q.ctrl_without_mode(), "#2")
    run.s2 = q.state("s2", "#2", regs=run.regs2, phys=q.fresh_phys("#2"), role="s1 with other control state")
    run.us_ls = (
        q.in_G(run.s1)
        + [q.mode_is(run.s1, uimg)]
        + q.inv(run.s2)
        + run.cons2
        + [z3.Or(run.s1.res.runs, run.s2.res.runs), q.differ(run.s1, run.s2)]
    )
    q.solve(
        "us_ls",
        run.us_ls,
        [run.s1, run.s2],
        q.claim_differ("s1", "s2", ("s1", "s2")),
        lambda r, d: (
            f"user location sensitive: at s1 and s2 (mode {r['s1'].mode}, differing in control state): "
            + "; ".join(d[:2])
        ),
    )


def ask_td(q: QueryBuilder, run: Scope) -> None:
    run.s1 = q.state("s1", "", role="in G, runs")
    run.regs2, run.cons2 = q.variant(run.s1, q.timer, "#t")
    run.s2 = q.state("s2", "#t", regs=run.regs2, role="s1 with other timer values")
    special = q.ctrl + q.timer
    q.solve(
        "td",
        q.in_G(run.s1) + q.inv(run.s2) + run.cons2 + [run.s1.res.runs, q.differ(run.s1, run.s2, special)],
        [run.s1, run.s2],
        q.claim_differ("s1", "s2", ("s1",), special, phys_separate=False),
        lambda r, d: "the result depends on the timer: " + "; ".join(d[:2]),
    )


def ask_theorem(q: QueryBuilder, name: str, base: str, uimg: str | None = None) -> None:
    """A theorem query (shared operands): the class query `base` holds and the
    same instance runs somewhere in G (at `g`)."""
    g = q.state("g", "#g", role="in G, runs")
    cons = q.in_G(g) + [g.res.runs]
    if base == "cs":
        s1 = q.state("s1", "", role="in range, runs, changes control")
        cons += q.in_range(s1) + [s1.res.runs, q.ctrl_changed(s1)]
        states = [s1, g]
        inner = q.claim_runs_changes("s1")
    else:
        s1 = q.state("s1", "", role="runs" if base == "ls" else f"in G at {uimg}")
        regs2, cons2 = q.variant(s1, q.ctrl_without_mode(), "#2")
        s2 = q.state("s2", "#2", regs=regs2, phys=q.fresh_phys("#2"), role="s1 with other control state")
        if base == "ls":
            cons += q.in_range(s1) + [s1.res.runs]
            runs: tuple[str, ...] = ("s1",)
        else:
            assert uimg is not None
            cons += q.in_G(s1) + [q.mode_is(s1, uimg), z3.Or(s1.res.runs, s2.res.runs)]
            runs = ("s1", "s2")
        cons += q.inv(s2) + cons2 + [q.differ(s1, s2)]
        states = [s1, s2, g]
        inner = q.claim_differ("s1", "s2", runs)

    def claim(r):
        ok, d = inner(r)
        return ok and r["g"].runs, d

    what = {"t1_cs": "control sensitive", "t1_ls": "location sensitive", "t3_ls": "user location sensitive"}[name]
    q.solve(
        name,
        cons,
        states,
        claim,
        lambda r, d: f"{what} ({'; '.join(d[:2])}) and runs in {q.ctx.name} at g (mode {r['g'].mode})",
    )


def ask_t1_cs(q: QueryBuilder, run: Scope) -> None:
    ask_theorem(q, "t1_cs", "cs")


def ask_t1_ls(q: QueryBuilder, run: Scope) -> None:
    ask_theorem(q, "t1_ls", "ls")


def ask_t3_ls(q: QueryBuilder, run: Scope) -> None:
    ask_theorem(q, "t3_ls", "us_ls", q.user_modes()[1])


def ask_unsafe_ctrl(q: QueryBuilder, run: Scope) -> None:
    run.s = q.state("s", "", role="in G, runs, changes control")
    q.solve(
        "unsafe_ctrl",
        q.in_G(run.s) + [run.s.res.runs, q.ctrl_changed(run.s)],
        [run.s],
        q.claim_runs_changes("s"),
        lambda r, d: f"runs in {q.ctx.name} at s (mode {r['s'].mode}) and {d[0] if d else 'changes control'}",
    )


def ask_unsafe_pair(q: QueryBuilder, run: Scope) -> None:
    isa, ctx = q.isa, q.ctx
    run.s = q.state("s", "", role="in G, runs")
    run.regsv, run.consv = q.variant(run.s, q.ctrl, "#v")
    run.v = q.state("v", "#v", regs=run.regsv, phys=q.fresh_phys("#v"), role="the virtual state")
    md = isa.modes
    run.choice = z3.Or(
        [z3.And(q.sym.mode_of(run.s.regs) == md.code(r), q.sym.mode_of(run.v.regs) == md.code(w)) for w, r in ctx.modes]
    )
    run.bad = z3.Or(z3.And(run.v.res.runs, q.ctrl_changed(run.v)), q.differ(run.s, run.v))

    def claim(r):
        ch = wc.control_changes(isa, r["v"], q.ctrl)
        d = wc.differences(isa, r["s"], r["v"], q.ctrl, True)
        why = ([f"{'; '.join(ch)} at v without trapping"] if ch else []) + d
        return r["s"].runs and bool(why), why

    q.solve(
        "unsafe_pair",
        q.in_G(run.s) + q.inv(run.v) + run.consv + [run.choice, run.s.res.runs, run.bad],
        [run.s, run.v],
        claim,
        lambda r, d: f"at s (real mode {r['s'].mode}) and v (virtual mode {r['v'].mode}): " + "; ".join(d[:2]),
    )
