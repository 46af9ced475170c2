"""Host-configuration synthesis (issue 18, item 1): the fewest bits of control
state a VMM must pin for its guest so that a theorem holds in a context.

The search is counterexample guided, with the engine as the judge:

* a *setting* pins some of the spec's pinnable units (control elements and
  named control fields other than the mode) to values; the candidate context
  is the base context's `where` and those equalities;
* z3's Optimize picks the setting with the fewest pinned bits that satisfies
  every *blocker* learnt so far, and whose context is not empty (its values
  are those of a state that satisfies the invariants and the base `where`);
* the engine decides the theorem in the candidate context. It holds: done,
  and the setting is minimal, because each blocker is a necessary condition.
  It fails: each violating entry's witness becomes a blocker.

A blocker says: "pin one of these units to a value other than the witness's".
It lists only the units the violation can depend on: for a state whose only
part in the violation is that the instance runs there (`g` of Theorem 1's
queries), the units that decide whether it traps; for any other state in G,
the units that the instance's whole result depends on (what it changes, not
what it keeps); always, the units the invariants or the base `where` tie to
other state. A unit outside the list can be pinned to any value a state of the
context has, and the witness, moved to that value, still violates (each is an
SMT query per unit, an unknown answer keeps the unit), so every setting that breaks no blocker's list is shown
wrong by a witness: the blockers are necessary, and when Optimize finds none
that satisfies them all, no setting exists. The entries whose blocker lists no
unit at all are those no setting can make trap.

Violations only shrink as a setting pins more (every context-dependent query
asks for a state in G), so only entries that violate in the base context are
re-decided for each candidate; `vmcheck configure` then decides the answer
again, every entry, on the configured (or written) context.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import z3

from ..analysis import Report, TheoremResult, check_isas
from ..analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT
from ..errors import UserError
from ..semantics.symbolic import (  # the engine's own bit splice
    fresh_context,
    replace_bits,
    sym_isa,
)
from ..spec import ir
from ..spec.ir import mask
from ..theory import REMEDIED_THEOREMS, theorem_phrase

# The theorems a configuration is searched for, and the engine's key for each.
THEOREM_KEYS = {t: t for t in REMEDIED_THEOREMS}
# Witness states whose only part in the violation is that the instance runs there.
_RUNS_ONLY = {("t1_cs", "g"), ("t1_ls", "g"), ("t3_ls", "g")}


@dataclass(frozen=True)
class Pin:
    """A unit of control state a VMM may pin: bits hi..lo of a scalar element."""

    name: str  # as a `where` writes it: "mstatus.TVM", "iopl", "cr0[3:1]"
    elem: str
    hi: int
    lo: int
    elem_width: int

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    def value_in(self, state: dict) -> int:
        return (int(state[self.elem]) >> self.lo) & mask(self.width)

    def text(self, value: int) -> str:
        return f"{self.name} == {value:#x}" if value > 9 else f"{self.name} == {value}"

    def expr(self, value: int) -> ir.Expr:
        whole = ir.Reg(self.elem, self.elem_width)
        read = whole if self.width == self.elem_width else ir.Slice(whole, self.hi, self.lo)
        return ir.Bin("eq", read, ir.Lit(value, self.width), ir.BOOL)

    def term(self, regs: dict) -> z3.BitVecRef:
        return z3.Extract(self.hi, self.lo, regs[self.elem])


def pinnable(isa: ir.Isa) -> tuple[list[Pin], list[str]]:
    """The units a setting may pin, and the control state it may not (with why)."""
    pins: list[Pin] = []
    skipped: list[str] = []
    md = isa.modes
    for e, m in isa.role_elements("control"):
        if e.name == md.elem:
            m &= ~(mask(md.width) << md.lo)
        if not m:
            continue
        if e.is_file:
            skipped.append(f"{e.name} (a register file: a context pins scalar state only)")
            continue
        if e.readonly:
            continue
        for f in sorted(e.fields, key=lambda f: f.lo):
            bits = mask(f.width) << f.lo
            if bits & m == bits:
                m &= ~bits
                if not f.readonly:
                    pins.append(Pin(f"{e.name}.{f.name}", e.name, f.hi, f.lo, e.width))
        lo = 0
        while m >> lo:  # the control bits no named field covers, as runs of bits
            if not (m >> lo) & 1:
                lo += 1
                continue
            hi = lo
            while (m >> (hi + 1)) & 1:
                hi += 1
            name = (
                e.name if (lo, hi) == (0, e.width - 1) else (f"{e.name}[{hi}]" if hi == lo else f"{e.name}[{hi}:{lo}]")
            )
            pins.append(Pin(name, e.name, hi, lo, e.width))
            lo = hi + 1
    return pins, skipped


@dataclass
class Blocker:
    """What one witness rules out: every setting that pins none of `cubes[i]`'s
    units to another value than the witness's state i had."""

    instruction: str
    operands: dict[str, int]
    reason: str  # the witness's summary
    cubes: list[dict[str, int]]  # one per witness state in G: unit -> its value there

    @property
    def unfixable(self) -> bool:
        return all(not c for c in self.cubes)

    def to_json(self) -> dict:
        return {
            "instruction": self.instruction,
            "operands": dict(self.operands),
            "reason": self.reason,
            "units": [dict(c) for c in self.cubes],
        }


@dataclass
class Configuration:
    """The answer of `configure`: a minimal setting, or why none exists."""

    isa: str
    context: str  # the base context
    theorem: str
    found: bool | None  # None: undecided (a solver timeout, or the iteration limit)
    setting: dict[str, int] = field(default_factory=dict)  # unit -> value
    pinned_bits: int = 0
    where: str = ""  # the configured context's condition (base where and the setting)
    base_holds: bool | None = None
    base_violations: list[str] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    culprits: list[Blocker] = field(default_factory=list)  # why none exists
    pinnable: list[str] = field(default_factory=list)
    not_pinnable: list[str] = field(default_factory=list)
    candidates: list[dict[str, int]] = field(default_factory=list)  # settings tried, in order
    verdict: TheoremResult | None = None  # the theorem in the final candidate
    reason: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "isa": self.isa,
            "context": self.context,
            "theorem": self.theorem,
            "found": self.found,
            "setting": dict(self.setting),
            "pinned_bits": self.pinned_bits,
            "where": self.where,
            "base": {"holds": self.base_holds, "violations": list(self.base_violations)},
            "pinnable": list(self.pinnable),
            "not_pinnable": list(self.not_pinnable),
            "candidates": [dict(c) for c in self.candidates],
            "blockers": [b.to_json() for b in self.blockers],
            "culprits": [b.to_json() for b in self.culprits],
            "verdict": self.verdict.to_json() if self.verdict else None,
            "reason": self.reason,
        }


def where_of(base: ir.Expr, pins: list[Pin], setting: dict[str, int]) -> ir.Expr:
    out = base
    by = {p.name: p for p in pins}
    for name, v in setting.items():
        out = ir.Bin("land", out, by[name].expr(v), ir.BOOL)
    return out


def where_text(base: str, pins: list[Pin], setting: dict[str, int]) -> str:
    by = {p.name: p for p in pins}
    parts = [by[n].text(v) for n, v in setting.items()]
    if base.strip() not in ("", "true"):
        parts.insert(0, f"({base.strip()})" if ("||" in base or "?" in base) else base.strip())
    return " && ".join(parts) or "true"


# The resource limit of the search's own small queries (dependency checks, the
# choice of a setting): a count of solver steps, so the search is deterministic.
RLIMIT = 20_000_000


# --------------------------------------------------------------------------
# Which units a witness's violation can depend on
# --------------------------------------------------------------------------


def _depends(sym, terms: list[z3.ExprRef], regs: dict, pin: Pin, timeout_ms: int) -> bool:
    """Whether some state gives `terms` other values when `pin`'s bits change.
    Unknown counts as yes: a unit wrongly kept only makes a blocker weaker."""
    var = regs[pin.elem]
    fresh = z3.BitVec(f"{pin.name}#flip", pin.width)
    moved = replace_bits(var, pin.hi, pin.lo, fresh)
    other = [z3.substitute(t, (var, moved)) for t in terms]
    diffs = [a != b for a, b in zip(terms, other) if not a.eq(b)]
    if not diffs:
        return False
    s = z3.Solver()
    s.set("timeout", timeout_ms)  # a safety net: the resource limit decides, the same on any machine
    s.set("rlimit", RLIMIT)
    s.add(z3.Or(diffs))
    return s.check() != z3.unsat


class _Relevance:
    """Which pins each kind of witness state can depend on (memoised per
    instruction, operand values and kind), in a z3 context of its own."""

    def __init__(self, isa: ir.Isa, ctx: ir.Context, pins: list[Pin], timeout_ms: int = 5000):
        self.isa, self.ctx, self.pins, self.timeout_ms = isa, ctx, pins, timeout_ms
        self.memo: dict[tuple, frozenset[str]] = {}
        self._context: frozenset[str] | None = None

    def context_units(self) -> frozenset[str]:
        """Units the invariants or the base `where` tie to other state: pin p is
        free of them when moving a state of the context to the value p has at
        another state of the context always gives a state of the context, so a
        witness can take any pinned value of a free unit (one unit at a time,
        hence all of them)."""
        if self._context is None:
            fresh_context()
            sym = sym_isa(self.isa)
            a, b = sym.state_vars("#a"), sym.state_vars("#b")

            def ok(regs):
                return z3.And(
                    [sym.predicate(i, regs) for i in self.isa.invariants] + [sym.predicate(self.ctx.where, regs)]
                )

            tied = set()
            for p in self.pins:
                moved = dict(a)
                moved[p.elem] = replace_bits(a[p.elem], p.hi, p.lo, p.term(b))
                s = z3.Solver()
                s.set("timeout", self.timeout_ms)
                s.add(ok(a), ok(b), z3.Not(ok(moved)))
                if s.check() != z3.unsat:
                    tied.add(p.name)
            self._context = frozenset(tied)
        return self._context

    def units(self, insn: str, operands: dict[str, int], runs_only: bool) -> frozenset[str]:
        key = (insn, tuple(sorted(operands.items())), runs_only)
        hit = self.memo.get(key)
        if hit is None:
            fresh_context()
            sym = sym_isa(self.isa)
            ins = self.isa.instruction(insn)
            regs = sym.state_vars("#r")
            ops = {o.name: z3.BitVecVal(operands.get(o.name, 0), o.width) for o in ins.operands}
            res = sym.instantiate(ins, regs, ops)
            hit = frozenset(
                p.name
                for p in self.pins
                if _depends(sym, self._terms(res, regs, p, runs_only), regs, p, self.timeout_ms)
            )
            self.memo[key] = hit
        return hit | self.context_units()

    @staticmethod
    def _terms(res, regs: dict, pin: Pin, runs_only: bool) -> list[z3.ExprRef]:
        """What the violation reads of the result: whether it runs; or the outcome,
        the writes, every element's value after it, and for the pin's own element
        what the instruction changed in it (a value it keeps is no result)."""
        if runs_only:
            return [z3.simplify(res.runs)]
        out = [res.kind, res.cause, res.arg, *res.storage.values()]
        for k, v in res.post.items():
            out.append(v ^ regs[k] if k == pin.elem else v)
        return [z3.simplify(t) for t in out]


def blocker_of(rel: _Relevance, insn: str, witness) -> Blocker:
    cubes = []
    for st in witness.states:
        if not st.role.startswith("in G"):
            continue
        runs_only = (witness.query, st.label) in _RUNS_ONLY
        units = rel.units(insn, witness.operands, runs_only)
        cubes.append({p.name: p.value_in(st.pre) for p in rel.pins if p.name in units})
    return Blocker(insn, dict(witness.operands), witness.summary, cubes)


# --------------------------------------------------------------------------
# The setting with the fewest pinned bits that no blocker rules out
# --------------------------------------------------------------------------


@dataclass
class _Choice:
    status: str  # "sat", "unsat", "unknown"
    setting: dict[str, int] = field(default_factory=dict)
    core: list[int] = field(default_factory=list)  # blockers that together rule out every setting


def choose(isa: ir.Isa, ctx: ir.Context, pins: list[Pin], blockers: list[Blocker], timeout_ms: int = 60000) -> _Choice:
    fresh_context()
    sym = sym_isa(isa)
    st = sym.state_vars("#set")  # a state of the candidate context: the pinned values are its values
    pinned = {p.name: z3.Bool(f"pin {p.name}") for p in pins}
    val = {p.name: p.term(st) for p in pins}
    hard = [sym.predicate(i, st) for i in isa.invariants]
    hard += [sym.predicate(ctx.where, st), sym.mode_in(st, ctx.real_modes)]
    tracks = []
    for k, b in enumerate(blockers):
        ors = [
            z3.And(pinned[n], val[n] != z3.BitVecVal(v, p.width))
            for c in b.cubes
            for n, v in c.items()
            for p in pins
            if p.name == n
        ]
        tracks.append((z3.Bool(f"blocker {k}"), z3.Or(ors) if ors else z3.BoolVal(False)))
    opt = z3.Optimize()
    opt.set("timeout", timeout_ms)
    opt.set("rlimit", 10 * RLIMIT)
    opt.add(hard)
    for _, c in tracks:
        opt.add(c)
    cost = z3.Sum([z3.If(pinned[p.name], p.width, 0) for p in pins]) if pins else z3.IntVal(0)
    opt.minimize(cost)
    r = opt.check()
    if r == z3.sat:
        m = opt.model()
        setting = {
            p.name: m.eval(val[p.name], model_completion=True).as_long()
            for p in pins
            if z3.is_true(m.eval(pinned[p.name], model_completion=True))
        }
        return _Choice("sat", setting)
    if r == z3.unknown:
        return _Choice("unknown")
    # Unsat: the blockers that together leave no setting (an unsat core).
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.set("rlimit", 10 * RLIMIT)
    s.add(hard)
    for t, c in tracks:
        s.add(z3.Implies(t, c))
    if s.check([t for t, _ in tracks]) == z3.unsat:
        names = {str(t): k for k, (t, _) in enumerate(tracks)}
        core = sorted(names[str(t)] for t in s.unsat_core())
    else:
        core = list(range(len(blockers)))
    return _Choice("unsat", core=core)


# --------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------


def _decide(isa: ir.Isa, ctx: ir.Context, theorem: str, instructions, **engine) -> tuple[Report, TheoremResult]:
    probe = dataclasses.replace(isa, contexts=tuple(c for c in isa.contexts if c.name != ctx.name) + (ctx,))
    rep = check_isas([probe], context=ctx.name, instructions=instructions, **engine)[0]
    return rep, rep.context(ctx.name).theorems[theorem]


def configure(
    isa: ir.Isa,
    context: str,
    theorem: str = "1",
    *,
    base_text: str = "true",
    name: str | None = None,
    max_rounds: int = 40,
    timeout: float = DEFAULT_TIMEOUT,
    budget: int = DEFAULT_BUDGET,
    jobs: int | None = None,
    use_cache: bool = True,
    log: Callable[[str], None] | None = None,
) -> Configuration:
    """The minimal setting for `theorem` in `context`, or why there is none."""
    t0 = time.perf_counter()
    if theorem not in THEOREM_KEYS:
        raise UserError(f"configure searches for Theorem 1, 3 or the exact condition, not '{theorem}'")
    names = [c.name for c in isa.contexts]
    if context not in names:
        raise UserError(f"{isa.name} has no guest context '{context}' (its contexts: {', '.join(names)})")
    base = isa.context(context)
    pins, skipped = pinnable(isa)
    say = log or (lambda _m: None)
    engine = {"timeout": timeout, "budget": budget, "jobs": jobs, "use_cache": use_cache}
    out = Configuration(isa.name, context, theorem, None, pinnable=[p.name for p in pins], not_pinnable=skipped)
    name = name or f"{context}_configured"

    rep, tr = _decide(isa, base, theorem, None, **engine)
    cur = base
    out.base_holds, out.base_violations = tr.holds, list(tr.violations)
    say(
        f"{context}: {theorem_phrase(theorem)} {_word(tr.holds)}"
        + (f" ({', '.join(tr.violations)})" if tr.violations else "")
    )
    suspects = tr.violations
    rel = _Relevance(isa, base, pins)
    setting: dict[str, int] = {}
    for _ in range(max_rounds + 1):
        if tr.holds is None:
            out.reason = f"undecided in {cur.name}: {tr.reason}"
            return _done(out, t0)
        if tr.holds:
            out.found, out.setting, out.verdict = True, setting, tr
            out.pinned_bits = sum(p.width for p in pins if p.name in setting)
            out.where = where_text(base_text, pins, setting)
            out.reason = (
                f"{theorem_phrase(theorem)} holds in {context} as it is"
                if not setting
                else f"pinning {out.pinned_bits} bit(s) makes {theorem_phrase(theorem)} hold in {context}; no setting "
                f"with fewer does (each of the {len(out.blockers)} blocker(s) is a necessary condition)"
            )
            return _done(out, t0)
        new = 0
        for n in tr.violations:
            w = rep.context(cur.name).instruction(n).violates[theorem].witness
            if w is None:
                continue
            b = blocker_of(rel, n, w)
            if any(b.instruction == old.instruction and b.cubes == old.cubes for old in out.blockers):
                continue
            out.blockers.append(b)
            new += 1
        if not new:
            out.reason = "no new counterexample: the search cannot make progress (please report this)"
            return _done(out, t0)
        ch = choose(isa, base, pins, out.blockers)
        if ch.status == "unknown":
            out.reason = "the solver timed out choosing a setting"
            return _done(out, t0)
        if ch.status == "unsat":
            out.found = False
            # Every entry whose violation no pinnable state decides is named; when
            # there is none, the blockers that together leave no setting.
            hopeless = [b for b in out.blockers if b.unfixable]
            out.culprits = hopeless or [out.blockers[k] for k in ch.core]
            what = ", ".join(dict.fromkeys(b.instruction for b in out.culprits))
            out.reason = (
                f"no setting of the pinnable control state makes {theorem_phrase(theorem)} hold in {context}: "
                + (
                    f"{what} run(s) in {context} whatever that state holds, so no setting makes "
                    f"{'it' if len(hopeless) == 1 else 'them'} trap"
                    if hopeless
                    else f"no setting makes all of {what} trap at once"
                )
            )
            return _done(out, t0)
        setting = ch.setting
        out.candidates.append(dict(setting))
        cur = dataclasses.replace(base, name=name, where=where_of(base.where, pins, setting))
        say(f"candidate {len(out.candidates)}: {where_text('true', pins, setting)}")
        rep, tr = _decide(isa, cur, theorem, suspects, **engine)
    out.reason = f"no answer within {max_rounds} candidate settings"
    return _done(out, t0)


def _word(holds: bool | None) -> str:
    return "holds" if holds else "fails" if holds is False else "undecided"


def _done(out: Configuration, t0: float) -> Configuration:
    out.seconds = time.perf_counter() - t0
    return out


__all__ = [
    "THEOREM_KEYS",
    "Blocker",
    "Configuration",
    "Pin",
    "choose",
    "configure",
    "pinnable",
    "where_of",
    "where_text",
]
