"""A sound syntactic pre-pass: instructions that cannot be sensitive, by a
dependency argument instead of a solver (issue 13.2).

Every sensitivity question of docs/model.md §2.5–§2.6 either asks whether the
instance changes control (a control element, the mode, or the machine
stopping), or compares its results at two states that differ only in control
state (the mode included), timer values or physical storage, under one
shared view (`mem[...]` reads and faults are the same for both). If the
semantics of an instruction

* reads no bit of a control, mode or timer element (a translation register is
  control state, so it reads none of those either),
* writes no such bit, and the pc, which every instruction writes, has none,
* never halts,
* reaches storage only through the view at the current privilege: no
  `phys[...]`, no `mem[...] as LEVEL`, and the machine has memory protection
  (a memory cause or a translation), since a machine without it reads its
  view as physical storage (§2.4),

then its outcome, its trap cause, what it writes and where are functions of
the operands, the non-control state and the shared view alone, equal on both
sides of every such pair, and no control element changes: every sensitivity
query of every instance is unsat. The check is over the whole semantics, so
it holds for every operand value; any node it does not know makes it decline.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..semantics.symbolic import unprotected
from ..spec import ir
from ..spec.ir import mask


@dataclass(frozen=True)
class Independence:
    """Why the instruction cannot be sensitive (shown by `explain`)."""

    reason: str


class _Decline(Exception):
    """The dependency argument does not apply (the message says why)."""


def independence(isa: ir.Isa, insn: ir.Instruction) -> Independence | None:
    """The dependency argument for `insn`, or None when it does not apply."""
    try:
        _Walker(isa).stmts(insn.semantics)
        _machine(isa)
    except _Decline:
        return None
    return Independence(
        "proved by dependency, without a solver: it reads and writes no control, mode or timer bit, never "
        "halts and reaches storage only through the view at its own privilege, so it changes no control "
        "and its result is the same at states that differ only in control, timer or physical storage"
    )


def why_not(isa: ir.Isa, insn: ir.Instruction) -> str | None:
    """Why the argument does not apply to `insn` (None when it does): for tests and profiles."""
    try:
        _Walker(isa).stmts(insn.semantics)
        _machine(isa)
    except _Decline as e:
        return str(e)
    return None


def sensitive_bits(isa: ir.Isa) -> dict[str, int]:
    """element -> the bits whose reading or writing the argument forbids."""
    out: dict[str, int] = {}
    for role in ("control", "timer"):
        for e, m in isa.role_elements(role):
            out[e.name] = out.get(e.name, 0) | m
    md = isa.modes
    out[md.elem] = out.get(md.elem, 0) | (mask(md.width) << md.lo)
    tr = isa.storage.translation
    if isinstance(tr, ir.RelocationBounds):  # control by §2.4 whatever its declared role
        for name in (tr.base, tr.bound):
            out[name] = mask(isa.element(name).width)
    return out


def _machine(isa: ir.Isa) -> None:
    """What the whole machine must satisfy (checked after the instruction: cheap)."""
    bits = sensitive_bits(isa)
    if bits.get(isa.pc, 0):
        raise _Decline("the pc has control or timer bits (every instruction writes it)")


class _Walker:
    def __init__(self, isa: ir.Isa):
        self.isa = isa
        self.bits = sensitive_bits(isa)
        self.protected = not unprotected(isa)

    # ---- statements ------------------------------------------------------

    def stmts(self, ss) -> None:
        for s in ss:
            self.stmt(s)

    def stmt(self, s) -> None:
        if isinstance(s, ir.Let):
            self.expr(s.value)
        elif isinstance(s, ir.Assign):
            self.expr(s.value)
            self.target(s.target)
        elif isinstance(s, ir.If):
            self.expr(s.cond)
            self.stmts(s.then)
            self.stmts(s.orelse)
        elif isinstance(s, ir.Trap):
            if s.arg is not None:
                self.expr(s.arg)
        elif isinstance(s, ir.Halt):
            raise _Decline("it halts (stopping the machine is a control change)")
        else:
            raise _Decline(f"unknown statement {type(s).__name__}")

    def target(self, t) -> None:
        if isinstance(t, ir.RegTarget):
            if self.bits.get(t.elem, 0) & (mask(t.hi - t.lo + 1) << t.lo):
                raise _Decline(f"it writes control, mode or timer bits of {t.elem}")
        elif isinstance(t, ir.FileTarget):
            if self.bits.get(t.file, 0) & (mask(t.hi - t.lo + 1) << t.lo):
                raise _Decline(f"it writes control or timer bits of {t.file}")
            self.expr(t.index)
        elif isinstance(t, ir.MemTarget):
            self.access(t.space, t.priv)
            self.expr(t.addr)
        else:
            raise _Decline(f"unknown target {type(t).__name__}")

    def access(self, space: str, priv) -> None:
        if space != "mem":
            raise _Decline(f"it accesses {space}[...] (untranslated storage)")
        if priv is not None:
            raise _Decline(f"it accesses storage as {priv} (a named privilege)")
        if not self.protected:
            raise _Decline("the machine has no memory protection: its view is physical storage")

    # ---- expressions: `used` is the bits of the value that matter -----------

    def expr(self, e, used: int | None = None) -> None:
        if isinstance(e, (ir.Lit, ir.Local, ir.Operand)):
            return
        if isinstance(e, ir.Reg):
            m = mask(e.width) if used is None else used
            if self.bits.get(e.elem, 0) & m:
                raise _Decline(f"it reads control, mode or timer bits of {e.elem}")
            return
        if isinstance(e, ir.FileRead):
            el = self.isa.element(e.file)
            m = mask(el.width) if used is None else used
            if self.bits.get(e.file, 0) & m:
                raise _Decline(f"it reads control or timer bits of {e.file}")
            self.expr(e.index)
            return
        if isinstance(e, ir.Slice):
            m = mask(e.hi - e.lo + 1) << e.lo
            self.expr(e.value, m if used is None else m & (used << e.lo))
            return
        if isinstance(e, ir.Mem):
            self.access(e.space, e.priv)
            self.expr(e.addr)
            return
        if isinstance(e, (ir.Un, ir.Ext)):
            self.expr(e.value)
        elif isinstance(e, ir.Bin):
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, ir.Ite):
            self.expr(e.cond)
            self.expr(e.then)
            self.expr(e.orelse)
        elif isinstance(e, ir.Concat):
            for p in e.parts:
                self.expr(p)
        else:
            raise _Decline(f"unknown expression {type(e).__name__}")


__all__ = ["Independence", "independence", "sensitive_bits", "why_not"]
