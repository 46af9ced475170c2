"""The smallest ISA change (issue 18, item 2): which instruction entries, or
which instances of them, must trap in the guest context for a theorem to
hold, each with the guard that makes it trap.

The guard. A VMM runs its guest only in the context's real modes, so an
instruction that traps whenever the mode is one of them (it runs only in a
host-only mode) can neither run while violating nor escape the VMM: every
query that makes an instance violate asks for a state in G at which it runs.
The guard is `require <host-only mode> else CAUSE`, put first in the entry's
semantics. CAUSE is the cause the spec itself raises for privileged
instructions: the non-memory cause raised most often by the entries the
engine finds privileged in the context (ties: the one declared first).

The instances. An entry with immediate operands is first guarded for the
operand values of the engine's witness only; while the engine still finds a
violating instance, its values are added (up to `max_values`), and past that
the whole entry is guarded. Every guarded value was a witness of a violation,
so none can be left out: the instance set is minimal. Register operands are
never guarded on (their contents are state, docs/model.md §2.2).

Entries are decided independently, so only the guarded entries are decided
again each round; the repaired spec is then decided whole.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..analysis import YES, Report, TheoremResult, check_isas
from ..analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT
from ..errors import UserError
from ..spec import ir
from ..spec.build import build_isa
from ..spec.ir_walk import walk
from ..spec.nodes import Node
from ..theory import REMEDIED_THEOREMS, theorem_phrase
from .specedit import guard_semantics

THEOREMS = REMEDIED_THEOREMS  # the theorems a repair is searched for


@dataclass
class Guard:
    instruction: str
    line: str  # the `require` line put first in its semantics
    operand: str | None = None  # guarded on this operand's values only (None: every instance)
    values: list[int] = field(default_factory=list)
    reason: str = ""  # the first violation the engine found
    tried: list[str] = field(default_factory=list)  # operands whose values did not converge

    def to_json(self) -> dict:
        return {
            "instruction": self.instruction,
            "line": self.line,
            "operand": self.operand,
            "values": list(self.values) if self.operand else None,
            "reason": self.reason,
        }


@dataclass
class Repair:
    isa: str
    context: str
    theorem: str
    host_only: str  # the condition an instruction may still run under
    cause: str
    cause_why: str
    guards: list[Guard] = field(default_factory=list)
    holds: bool | None = None  # the theorem in the context of the repaired spec
    verdict: TheoremResult | None = None
    reason: str = ""
    rounds: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "isa": self.isa,
            "context": self.context,
            "theorem": self.theorem,
            "host_only": self.host_only,
            "cause": self.cause,
            "cause_why": self.cause_why,
            "guards": [g.to_json() for g in self.guards],
            "holds": self.holds,
            "verdict": self.verdict.to_json() if self.verdict else None,
            "reason": self.reason,
            "rounds": self.rounds,
        }


def host_only(isa: ir.Isa, ctx: ir.Context) -> str:
    """The condition that the mode is none of `ctx`'s real modes, as a `where` writes it."""
    real = ctx.real_modes
    rest = [lv for lv in isa.modes.names if lv not in real]
    if not rest:
        raise UserError(
            f"context {ctx.name} runs its guest in every mode ({', '.join(real)}): no guard on the "
            "mode can make an instruction trap for the guest and not for the host"
        )
    if len(rest) == 1:
        return f"mode == {rest[0]}"
    return " && ".join(f"mode != {r}" for r in real)


def _causes(stmts) -> list[str]:
    return [s.cause for s in walk(stmts) if isinstance(s, ir.Trap)]


def privileged_cause(isa: ir.Isa, rep: Report, context: str) -> tuple[str, str]:
    """(cause, why): the cause the spec raises for its privileged instructions."""
    memory = {c.name for c in isa.traps.causes if c.memory} | {isa.traps.memory_cause}
    priv = [r.name for r in rep.context(context).instructions if r.classes["privileged"].value == YES]
    count: Counter[str] = Counter()
    users: dict[str, set[str]] = {}
    for n in priv:
        for c in _causes(isa.instruction(n).semantics):
            if c not in memory:
                count[c] += 1
                users.setdefault(c, set()).add(n)
    order = [c.name for c in isa.traps.causes]
    if count:
        best = max(count, key=lambda c: (count[c], -order.index(c)))
        return best, (
            f"{best}: raised by {len(users[best])} of the {len(priv)} instructions the engine finds "
            f"privileged in {context}"
        )
    plain = [c for c in order if c not in memory]
    if not plain:
        raise UserError(f"{isa.name} declares no trap cause other than memory traps: a guard needs one")
    return plain[0], f"{plain[0]}: no instruction is privileged in {context}; the first non-memory cause declared"


def guard_line(cond: str, cause: str, g: Guard) -> str:
    if g.operand is None:
        return f"require {cond} else {cause}"
    others = " && ".join(f"{g.operand} != {v:#x}" for v in g.values)
    return f"require {cond} || {others if len(g.values) == 1 else '(' + others + ')'} else {cause}"


def selectors(insn: ir.Instruction) -> list[str]:
    """Operands a guard may test: immediates that select an operation (at most
    12 bits, not a branch offset), narrowest first. Register numbers name state
    (docs/model.md §2.2) and wide immediates are addresses or data."""
    ops = [o for o in insn.operands if o.kind != "reg" and not o.pcrel and o.width <= 12]
    return [o.name for o in sorted(ops, key=lambda o: o.width)]


def _next_guard(g: Guard | None, insn: ir.Instruction, w, max_values: int) -> Guard | None:
    """The guard for `insn` after the engine found witness `w` violating with guard `g`
    in place; None when a whole-entry guard still violates."""
    ops = w.operands if w is not None else {}
    if g is None:
        g = Guard(insn.name, "", reason=w.summary if w is not None else "")
        cands = selectors(insn)
        if cands:
            g.operand, g.values = cands[0], [ops.get(cands[0], 0)]
        return g
    if g.operand is None:
        return None
    v = ops.get(g.operand, 0)
    width = insn.operand(g.operand).width
    # Guarding every value of the operand is guarding the entry: try the next operand.
    if v not in g.values and len(g.values) < min(max_values, (1 << width) - 1):
        g.values.append(v)
        return g
    g.tried.append(g.operand)  # too many values: the next operand, else the whole entry
    rest = [o for o in selectors(insn) if o not in g.tried]
    g.operand, g.values = (rest[0], [ops.get(rest[0], 0)]) if rest else (None, [])
    return g


def repair(
    isa: ir.Isa,
    node: Node,
    context: str | None = None,
    theorem: str = "1",
    *,
    source: str | None = None,
    max_values: int = 8,
    max_rounds: int = 20,
    timeout: float = DEFAULT_TIMEOUT,
    budget: int = DEFAULT_BUDGET,
    jobs: int | None = None,
    use_cache: bool = True,
    log: Callable[[str], None] | None = None,
) -> tuple[Repair, Node]:
    """The guards that make `theorem` hold in `context` (default: the first), and the repaired node tree."""
    t0 = time.perf_counter()
    say = log or (lambda _m: None)
    if theorem not in THEOREMS:
        raise UserError(f"repair searches for Theorem 1, 3 or the exact condition, not '{theorem}'")
    names = [c.name for c in isa.contexts]
    context = context or names[0]
    if context not in names:
        raise UserError(f"{isa.name} has no guest context '{context}' (its contexts: {', '.join(names)})")
    ctx = isa.context(context)
    engine: dict[str, Any] = {
        "timeout": timeout,
        "budget": budget,
        "jobs": jobs,
        "use_cache": use_cache,
        "context": context,
    }
    rep = check_isas([isa], **engine)[0]
    cond = host_only(isa, ctx)
    cause, why = privileged_cause(isa, rep, context)
    out = Repair(isa.name, context, theorem, cond, cause, why)
    tr = rep.context(context).theorems[theorem]
    say(
        f"{context}: {theorem_phrase(theorem)} "
        + ("holds" if tr.holds else "fails" if tr.holds is False else "undecided")
        + (f" ({', '.join(tr.violations)})" if tr.violations else "")
    )
    if tr.holds is None:
        out.reason = f"undecided in {context}: {tr.reason}"
        return _done(out, t0), node
    guards: dict[str, Guard] = {}
    fixed = node
    for rnd in range(max_rounds):
        out.rounds = rnd
        if tr.holds:
            break
        for n in tr.violations:
            insn = isa.instruction(n)
            g = _next_guard(
                guards.get(n), insn, rep.context(context).instruction(n).violates[theorem].witness, max_values
            )
            if g is None:
                out.reason = (
                    f"{n} still violates {theorem_phrase(theorem)} with every instance guarded (please report this)"
                )
                return _done(out, t0), fixed
            g.line = guard_line(cond, cause, g)
            guards[n] = g
        fixed = guard_semantics(node, {g.instruction: g.line for g in guards.values()})
        changed = build_isa(fixed, source or isa.source)
        say(f"round {rnd + 1}: " + "; ".join(f"{g.instruction}: {g.line}" for g in guards.values()))
        rep = check_isas([changed], instructions=list(guards), **engine)[0]
        tr = rep.context(context).theorems[theorem]
        if tr.holds is None:
            out.reason = f"undecided on the guarded entries: {tr.reason}"
            return _done(out, t0), fixed
    out.guards = list(guards.values())
    if not tr.holds:
        out.reason = f"no repair within {max_rounds} rounds"
        return _done(out, t0), fixed
    # The evidence: the repaired spec decided whole.
    final = build_isa(fixed, source or isa.source)
    whole = check_isas([final], **engine)[0].context(context).theorems[theorem]
    out.holds, out.verdict = whole.holds, whole
    k = len(out.guards)
    out.reason = (
        f"{theorem_phrase(theorem)} already holds in {context}"
        if not k
        else f"guarding {k} entr{'y' if k == 1 else 'ies'} makes {theorem_phrase(theorem)} hold in {context}"
        if whole.holds
        else f"the repaired spec still fails: {whole.reason}"
    )
    return _done(out, t0), fixed


def _done(out: Repair, t0: float) -> Repair:
    out.seconds = time.perf_counter() - t0
    return out


__all__ = ["THEOREMS", "Guard", "Repair", "guard_line", "host_only", "privileged_cause", "repair"]
