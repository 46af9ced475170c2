"""Witness check: a solver's model replayed on the concrete semantics.

Every witness is replayed before it is shown (docs/model.md §2.7): the model's
pre-state becomes a concrete `State`, the model's view (`V`, the fault
function `F`) and physical storage (`P`) are served by a `ModelPort`, and
the instance runs through the compiled concrete executor. The concrete
result must be the one the symbolic reading claimed for the model (outcome,
post-state, writes); a witness that does not reproduce is a bug in one of the
two readings and raises `InternalError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from ..errors import InternalError
from ..semantics.concrete import compile_isa
from ..semantics.state import Layout, MemoryTrap, Outcome, State
from ..semantics.symbolic import CURRENT, KIND_NAMES, READ, WRITE, SymIsa, SymResult
from ..spec import ir
from ..spec.ir import mask
from .results import Witness, WitnessState


def model_int(model: z3.ModelRef, t: z3.ExprRef) -> int:
    v = model.eval(t, model_completion=True)
    if z3.is_true(v):
        return 1
    if z3.is_false(v):
        return 0
    if not z3.is_bv_value(v):
        v = z3.simplify(v)
    return v.as_long()


def _bool(model: z3.ModelRef, t: z3.ExprRef) -> bool:
    return z3.is_true(model.eval(t, model_completion=True))


def concrete_state(sym: SymIsa, model: z3.ModelRef, regs: dict[str, z3.ExprRef]) -> State:
    """The model's value of a symbolic pre-state."""
    isa = sym.isa
    layout = Layout.of(isa)
    st = State(layout)
    for e in isa.elements:
        t = regs[e.name]
        if e.is_file:
            for i in range(e.count or 0):
                st.set(e.name, model_int(model, z3.Select(t, z3.BitVecVal(i, e.index_width))), i)
        else:
            st.set(e.name, model_int(model, t))
    return st


class ModelPort:
    """Storage as the model has it: the shared view and a physical array.

    `mem` reads fault when the model's F(read, token, addr) holds for any unit
    (token: CURRENT for an access at the state's own mode, else 1 + rank of the
    named level) and read V; `phys` reads read P. Stores are recorded per unit
    in `writes`; every read cell is recorded in `reads` for the witness.
    """

    def __init__(self, sym: SymIsa, model: z3.ModelRef, V, P, mode_code: int):
        self.sym = sym
        self.model = model
        self.V, self.P = V, P
        self.mode_code = mode_code
        self.writes: dict[tuple[str, int], int] = {}
        self.reads: dict[tuple[str, int], int | str] = {}
        # Every entry of F the run looked at: (kind, token, view address) -> faults?
        self.faults: dict[tuple[int, int, int], bool] = {}
        self._cache: dict[Any, int] = {}
        isa = sym.isa
        self.unit = isa.storage.unit
        self.little = isa.storage.endian == "little"
        self.memory_cause = isa.traps.memory_cause
        self.unprotected = sym.unprotected  # the view is physical storage (docs/model.md §2.4)

    def _token(self, priv: str | None) -> int:
        if priv is None:
            return CURRENT
        md = self.sym.isa.modes
        return CURRENT if md.code(priv) == self.mode_code else 1 + md.rank(priv)

    def _space(self, space: str) -> str:
        return "phys" if self.unprotected else space

    def _units(self, space: str, addr: int, nbits: int) -> list[int]:
        n = nbits // self.unit
        if space == "phys":
            m = mask(self.sym.aw)
        else:
            m = mask(self.sym.vaw)
        return [(addr + k) & m for k in range(n)]

    def _eval(self, key, term) -> int:
        if key not in self._cache:
            self._cache[key] = model_int(self.model, term)
        return self._cache[key]

    def _fault(self, kind: int, priv: str | None, a: int) -> bool:
        s = self.sym
        tok = self._token(priv)
        term = s.fault(z3.BitVecVal(kind, 1), z3.BitVecVal(tok, s.tok_width), z3.BitVecVal(a, s.vaw))
        out = bool(self._eval(("F", kind, tok, a), term))
        self.faults[(kind, tok, a)] = out
        return out

    def _check(self, kind: int, space: str, addr: int, nbits: int, priv: str | None) -> list[int]:
        units = self._units(space, addr, nbits)
        if space == "mem" and self.memory_cause:
            for a in units:
                if self._fault(kind, priv, a):
                    if kind == READ:
                        self.reads[("mem", a)] = "fault"
                    raise MemoryTrap(self.memory_cause, addr)
        return units

    def load(self, space: str, addr: int, nbits: int, priv: str | None) -> int:
        space = self._space(space)
        units = self._check(READ, space, addr, nbits, priv)
        arr = self.V if space == "mem" else self.P
        w = self.sym.vaw if space == "mem" else self.sym.aw
        vals = []
        for a in units:
            v = self._eval((space, a), z3.Select(arr, z3.BitVecVal(a, w)))
            self.reads[(space, a)] = v
            vals.append(v)
        order = reversed(vals) if self.little else vals
        out = 0
        for v in order:
            out = (out << self.unit) | v
        return out

    def check_store(self, space: str, addr: int, nbits: int, priv: str | None) -> None:
        self._check(WRITE, space, addr, nbits, priv)

    def probe(self, kind: str, addr: int, nbits: int, priv: str | None) -> bool:
        """`probe`: F for some unit of the access, as `SymIsa._probe` reads it."""
        if not self.memory_cause or self.unprotected:
            return False
        code = READ if kind == "read" else WRITE
        return any(self._fault(code, priv, a) for a in self._units("mem", addr, nbits))

    def store(self, space: str, addr: int, nbits: int, priv: str | None, value: int) -> None:
        space = self._space(space)
        units = self._units(space, addr, nbits)
        n = len(units)
        parts = [(value >> (k * self.unit)) & mask(self.unit) for k in range(n)]  # least significant first
        if not self.little:
            parts.reverse()
        for a, p in zip(units, parts):
            self.writes[(space, a)] = p


@dataclass
class Replayed:
    """One state of a witness run concretely."""

    label: str
    pre: State
    post: State
    outcome: Outcome
    kind: str  # ok / trap / memtrap / halt (a trap of a memory cause is a memtrap)
    writes: dict[tuple[str, int], int]
    reads: dict[tuple[str, int], int | str]
    mode: str | None
    role: str = ""
    faults: dict[tuple[int, int, int], bool] | None = None  # the entries of F it looked at

    @property
    def runs(self) -> bool:
        return self.kind in ("ok", "halt")

    @property
    def trapped(self) -> bool:
        return self.kind in ("trap", "memtrap")

    def outcome_text(self) -> str:
        return self.kind if not self.trapped else f"{self.kind} {self.outcome.cause}"


def replay(
    sym: SymIsa,
    insn: ir.Instruction,
    model: z3.ModelRef,
    ops: dict[str, z3.ExprRef],
    label: str,
    regs: dict[str, z3.ExprRef],
    storage: dict[str, z3.ExprRef],
    res: SymResult,
    role: str = "",
) -> Replayed:
    """Run the model's instance at the model's state `regs` concretely and check
    that it ends as the symbolic result `res` says it does in the model."""
    isa = sym.isa
    pre = concrete_state(sym, model, regs)
    md = isa.modes
    mode_code = (pre.get(md.elem) >> md.lo) & mask(md.width)
    port = ModelPort(sym, model, storage["V"], storage["P"], mode_code)
    opvals = {k: model_int(model, v) for k, v in ops.items()}
    post = pre.copy()
    out = compile_isa(isa).execute(insn.name, post, port, opvals)
    kind = out.kind
    if kind == "trap" and isa.traps.cause(out.cause).memory:  # type: ignore[arg-type]  # a trap names its cause
        kind = "memtrap"
    where = f"{insn.name} with {opvals} at {label}"
    skind = KIND_NAMES[model_int(model, res.kind)]
    if skind != kind:
        raise InternalError(
            f"witness does not reproduce: {where}: symbolic outcome {skind}, concrete {kind} ({out.cause})"
        )
    if kind in ("trap", "memtrap"):
        code = model_int(model, res.cause)
        c = isa.traps.by_code(code)
        if c is None or c.name != out.cause:
            raise InternalError(f"witness does not reproduce: {where}: symbolic cause {code}, concrete {out.cause}")
    else:
        for e in isa.elements:
            t = res.post[e.name]
            if e.is_file:
                for i in range(e.count or 0):
                    sv = model_int(model, z3.Select(t, z3.BitVecVal(i, e.index_width)))
                    if sv != post.get(e.name, i):
                        raise InternalError(
                            f"witness does not reproduce: {where}: {e.name}[{i}] symbolic {sv:#x}, "
                            f"concrete {post.get(e.name, i):#x}"
                        )
            else:
                sv = model_int(model, t)
                if sv != post.get(e.name):
                    raise InternalError(
                        f"witness does not reproduce: {where}: {e.name} symbolic {sv:#x}, concrete {post.get(e.name):#x}"
                    )
        for (space, a), v in port.writes.items():
            w = sym.vaw if space == "mem" else sym.aw
            idx = z3.BitVecVal(a, w)
            if (
                not _bool(model, z3.Select(res.storage[f"{space}.w"], idx))
                or model_int(model, z3.Select(res.storage[f"{space}.d"], idx)) != v
            ):
                raise InternalError(f"witness does not reproduce: {where}: the write of {v:#x} to {space}[{a:#x}]")
    return Replayed(
        label, pre, post, out, kind, dict(port.writes), dict(port.reads), md.name_of(mode_code), role, dict(port.faults)
    )


# --------------------------------------------------------------------------
# Comparing concrete results (for the witness's "what differs" and to
# re-check the claim the solver made)
# --------------------------------------------------------------------------


def _masked(st: State, e: ir.Element, m: int) -> list[int] | int:
    if e.is_file:
        return [st.get(e.name, i) & m for i in range(e.count or 0)]
    return st.get(e.name) & m


def _fmt(e: ir.Element, v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:#x}" for x in v) + "]"
    return f"{v:#x}"


def changed(isa: ir.Isa, r: Replayed, masks: list[tuple[ir.Element, int]]) -> list[str]:
    """The elements among `masks` whose masked bits the instance changed (when it ran)."""
    if r.trapped:
        return []
    return [e.name for e, m in masks if _masked(r.pre, e, m) != _masked(r.post, e, m)]


def control_changes(isa: ir.Isa, r: Replayed, masks: list[tuple[ir.Element, int]]) -> list[str]:
    """How the instance took control from the VMM when it ran (docs/model.md §2.5):
    the control elements it changed, and stopping the machine."""
    ch = changed(isa, r, masks)
    out = [f"changes {', '.join(ch)}"] if ch else []
    if r.kind == "halt":
        out.append("stops the machine")
    return out


def all_changed(isa: ir.Isa, r: Replayed) -> list[str]:
    if r.trapped:
        return []
    return [e.name for e in isa.elements if _masked(r.pre, e, mask(e.width)) != _masked(r.post, e, mask(e.width))]


def differences(
    isa: ir.Isa, a: Replayed, b: Replayed, special: list[tuple[ir.Element, int]], phys_separate: bool = False
) -> list[str]:
    """What differs between two results (docs/model.md §2.5): the outcomes; else the
    state outside the `special` bits; which `special` elements changed and to
    what; what they wrote. With `phys_separate` (each state has physical
    storage of its own) any write to phys is a difference."""
    if a.kind != b.kind or (a.trapped and a.outcome.cause != b.outcome.cause):
        return [f"outcome: {a.outcome_text()} at {a.label}, {b.outcome_text()} at {b.label}"]
    if a.trapped:
        return []
    out: list[str] = []
    smask: dict[str, int] = {}
    for e, m in special:
        smask[e.name] = smask.get(e.name, 0) | m
    for e in isa.elements:
        nm = mask(e.width) & ~smask.get(e.name, 0)
        if not nm:
            continue
        va, vb = _masked(a.post, e, nm), _masked(b.post, e, nm)
        if va != vb:
            if e.is_file:
                assert isinstance(va, list) and isinstance(vb, list)
                idx = [i for i in range(e.count or 0) if va[i] != vb[i]]
                out.extend(f"{e.name}[{i}]: {va[i]:#x} at {a.label}, {vb[i]:#x} at {b.label}" for i in idx)
            else:
                out.append(f"{e.name}: {va:#x} at {a.label}, {vb:#x} at {b.label}")
    for e, m in special:
        ca = _masked(a.pre, e, m) != _masked(a.post, e, m)
        cb = _masked(b.pre, e, m) != _masked(b.post, e, m)
        pa, pb = _masked(a.post, e, m), _masked(b.post, e, m)
        if ca != cb or (ca and pa != pb):
            sa = f"changed to {_fmt(e, pa)}" if ca else "unchanged"
            sb = f"changed to {_fmt(e, pb)}" if cb else "unchanged"
            out.append(f"{e.name}: {sa} at {a.label}, {sb} at {b.label}")
    if phys_separate:
        # The two states hold different control state (translation): relocated
        # with it, a result would write relocated cells, but phys[...] names the
        # same cells whatever the control state, so equal-looking writes differ.
        moved = [
            f"{e.name} {_fmt(e, _masked(a.pre, e, m))} at {a.label}, {_fmt(e, _masked(b.pre, e, m))} at {b.label}"
            for e, m in special
            if _masked(a.pre, e, m) != _masked(b.pre, e, m)
        ]
        because = f" although the control state differs ({'; '.join(moved[:2])})" if moved else ""
        for r in (a, b):
            cells = [f"phys[{x:#x}]={v:#x}" for (sp, x), v in sorted(r.writes.items()) if sp == "phys"]
            if cells:
                out.append(
                    f"writes physical storage at {r.label} ({', '.join(cells)}), the same cells{because}: "
                    f"physical storage does not move with the state"
                )
    if a.writes != b.writes:

        def w(r):
            return ", ".join(f"{s}[{x:#x}]={v:#x}" for (s, x), v in sorted(r.writes.items())) or "nothing"

        out.append(f"writes: {w(a)} at {a.label}, {w(b)} at {b.label}")
    return out


def state_dict(isa: ir.Isa, st: State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in isa.elements:
        if e.is_file:
            out[e.name] = [st.get(e.name, i) for i in range(e.count or 0)]
        else:
            out[e.name] = st.get(e.name)
    return out


def checked_witness(
    sym: SymIsa,
    insn: ir.Instruction,
    ops: dict[str, z3.ExprRef],
    name: str,
    model: z3.ModelRef,
    states: list[Any],
    claim: Callable[[dict[str, Replayed]], tuple[bool, list[str]]],
    summary: Callable[[dict[str, Replayed], list[str]], str],
) -> Witness:
    """The witness of query `name` from its model: every state of `states`
    (`formulas.QueryState`s) replayed on the concrete semantics, and `claim`
    re-checked on the concrete results; an `InternalError` when it does not hold
    there (the two readings disagree)."""
    isa = sym.isa
    reps = {}
    for s in states:
        reps[s.label] = replay(sym, insn, model, ops, s.label, s.regs, s.storage, s.res, s.role)
    ok, differs = claim(reps)
    opvals = {k: model_int(model, v) for k, v in ops.items()}
    if not ok:
        raise InternalError(
            f"witness does not reproduce: query {name} for {insn.name} with {opvals}: "
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
                pre=state_dict(isa, r.pre),
                outcome=r.outcome_text(),
                post=None if r.trapped else state_dict(isa, r.post),
                changed=all_changed(isa, r),
                writes=[{"space": sp, "addr": a, "value": v} for (sp, a), v in sorted(r.writes.items())],
                role=r.role,
            )
        )
    mem = [
        {"space": sp, "addr": a, ("fault" if v == "fault" else "value"): (True if v == "fault" else v)}
        for (sp, a), v in sorted(memory.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]
    w = Witness(name, opvals, wstates, differs, mem, view=view_entries(sym.isa, reps.values()))
    w.summary = summary(reps, differs)
    return w


def view_entries(isa: ir.Isa, reps) -> list[dict[str, Any]]:
    """The entries of the shared view's fault function F that the witness's runs
    looked at, for replaying it on a concrete view (`hypervisor/witness_replay.py`):
    {"kind": "read"|"write", "priv": "current" or a level's name, "addr", "fault"}.
    F is one function shared by the states of a pair, so an entry is one fact
    whichever state looked at it; "current" is each state's own mode."""
    names = isa.modes.names
    seen: dict[tuple[int, int, int], bool] = {}
    for r in reps:
        seen.update(r.faults or {})
    return [
        {
            "kind": "read" if kind == READ else "write",
            "priv": "current" if tok == CURRENT else names[tok - 1],
            "addr": a,
            "fault": f,
        }
        for (kind, tok, a), f in sorted(seen.items())
    ]
