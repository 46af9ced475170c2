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
from ..spec.ir_walk import ExprVisitor, StmtVisitor, TargetVisitor


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


class _Walker(ExprVisitor, StmtVisitor, TargetVisitor):
    """The dependency check as a visitor of the IR (`spec/ir_walk.py`): a rule
    per node type that raises `_Decline` where the argument does not apply.
    Expression rules take `used`, the bits of the value that matter (None:
    all of them)."""

    def __init__(self, isa: ir.Isa):
        self.isa = isa
        self.bits = sensitive_bits(isa)
        self.protected = not unprotected(isa)

    def unknown(self, node, *args) -> None:
        raise _Decline(f"unknown IR node {type(node).__name__}")

    # ---- statements ------------------------------------------------------

    def stmts(self, ss) -> None:
        for s in ss:
            self.visit(s)

    def visit_Let(self, s: ir.Let) -> None:
        self.expr(s.value)

    def visit_Assign(self, s: ir.Assign) -> None:
        self.expr(s.value)
        self.visit(s.target)

    def visit_If(self, s: ir.If) -> None:
        self.expr(s.cond)
        self.stmts(s.then)
        self.stmts(s.orelse)

    def visit_Trap(self, s: ir.Trap) -> None:
        if s.arg is not None:
            self.expr(s.arg)

    def visit_Halt(self, s: ir.Halt) -> None:
        raise _Decline("it halts (stopping the machine is a control change)")

    # ---- targets ---------------------------------------------------------

    def visit_RegTarget(self, t: ir.RegTarget) -> None:
        if self.bits.get(t.elem, 0) & (mask(t.hi - t.lo + 1) << t.lo):
            raise _Decline(f"it writes control, mode or timer bits of {t.elem}")

    def visit_FileTarget(self, t: ir.FileTarget) -> None:
        if self.bits.get(t.file, 0) & (mask(t.hi - t.lo + 1) << t.lo):
            raise _Decline(f"it writes control or timer bits of {t.file}")
        self.expr(t.index)

    def visit_MemTarget(self, t: ir.MemTarget) -> None:
        self.access(t.space, t.priv)
        self.expr(t.addr)

    def access(self, space: str, priv) -> None:
        if space != "mem":
            raise _Decline(f"it accesses {space}[...] (untranslated storage)")
        if priv is not None:
            what = priv if isinstance(priv, str) else "a privilege expression"
            raise _Decline(f"it accesses storage as {what} (a named privilege)")
        if not self.protected:
            raise _Decline("the machine has no memory protection: its view is physical storage")

    # ---- expressions: `used` is the bits of the value that matter -----------

    def expr(self, e, used: int | None = None) -> None:
        self.visit(e, used)

    def visit_Lit(self, e: ir.Lit, used: int | None) -> None:
        return

    def visit_Local(self, e: ir.Local, used: int | None) -> None:
        return

    def visit_Operand(self, e: ir.Operand, used: int | None) -> None:
        return

    def visit_Reg(self, e: ir.Reg, used: int | None) -> None:
        m = mask(e.width) if used is None else used
        if self.bits.get(e.elem, 0) & m:
            raise _Decline(f"it reads control, mode or timer bits of {e.elem}")

    def visit_FileRead(self, e: ir.FileRead, used: int | None) -> None:
        el = self.isa.element(e.file)
        m = mask(el.width) if used is None else used
        if self.bits.get(e.file, 0) & m:
            raise _Decline(f"it reads control or timer bits of {e.file}")
        self.expr(e.index)

    def visit_Slice(self, e: ir.Slice, used: int | None) -> None:
        m = mask(e.hi - e.lo + 1) << e.lo
        self.expr(e.value, m if used is None else m & (used << e.lo))

    def visit_Mem(self, e: ir.Mem, used: int | None) -> None:
        self.access(e.space, e.priv)
        self.expr(e.addr)

    def visit_Probe(self, e: ir.Probe, used: int | None) -> None:
        # Through the shared view a probe at the current privilege answers alike in
        # both states of a pair, as the access it asks about faults alike.
        self.access(e.space, e.priv)
        self.expr(e.addr)

    def visit_Un(self, e: ir.Un, used: int | None) -> None:
        self.expr(e.value)

    def visit_Ext(self, e: ir.Ext, used: int | None) -> None:
        self.expr(e.value)

    def visit_Bin(self, e: ir.Bin, used: int | None) -> None:
        self.expr(e.left)
        self.expr(e.right)

    def visit_Ite(self, e: ir.Ite, used: int | None) -> None:
        self.expr(e.cond)
        self.expr(e.then)
        self.expr(e.orelse)

    def visit_Concat(self, e: ir.Concat, used: int | None) -> None:
        for p in e.parts:
            self.expr(p)


__all__ = ["Independence", "independence", "sensitive_bits", "why_not"]
