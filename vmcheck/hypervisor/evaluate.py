"""Concrete values of state-only IR expressions (a context's `where`, invariants).

The VMM needs them to choose the real control state a guest context asks
for; instruction semantics are compiled elsewhere (`semantics/concrete.py`).
Only what a condition over state may contain is accepted here.
"""

from __future__ import annotations

from ..errors import InternalError
from ..semantics.state import State
from ..spec import ir
from ..spec.ir import mask


def _signed(x: int, w: int) -> int:
    return x - (1 << w) if x >> (w - 1) & 1 else x


def evaluate(e: ir.Expr, state: State) -> int:
    """The value of `e` on `state` (booleans as 0/1)."""
    if isinstance(e, ir.Lit):
        return e.value
    if isinstance(e, ir.Reg):
        return state.get(e.elem)
    if isinstance(e, ir.FileRead):
        return state.get(e.file, evaluate(e.index, state))
    if isinstance(e, ir.Slice):
        return (evaluate(e.value, state) >> e.lo) & mask(e.width)
    if isinstance(e, ir.Un):
        v = evaluate(e.value, state)
        return {"neg": -v & mask(e.width), "not": ~v & mask(e.width), "lnot": 1 - v}[e.op]
    if isinstance(e, ir.Ite):
        return evaluate(e.then if evaluate(e.cond, state) else e.orelse, state)
    if isinstance(e, ir.Ext):
        v, w = evaluate(e.value, state), e.value.width
        return (_signed(v, w) & mask(e.width)) if e.signed else v
    if isinstance(e, ir.Concat):
        out = 0
        for p in e.parts:
            out = (out << p.width) | evaluate(p, state)
        return out
    if isinstance(e, ir.Bin):
        a, b = evaluate(e.left, state), evaluate(e.right, state)
        w = e.left.width
        m = mask(e.width) if e.width else 1
        ops = {
            "add": lambda: (a + b) & m,
            "sub": lambda: (a - b) & m,
            "mul": lambda: (a * b) & m,
            "and": lambda: a & b,
            "or": lambda: a | b,
            "xor": lambda: a ^ b,
            "shl": lambda: (a << b) & m if b < e.width else 0,
            "lshr": lambda: a >> b,
            "ashr": lambda: (_signed(a, w) >> min(b, w)) & m,
            "udiv": lambda: a // b if b else m,
            "urem": lambda: a % b if b else a,
            "eq": lambda: int(a == b),
            "ne": lambda: int(a != b),
            "ult": lambda: int(a < b),
            "ule": lambda: int(a <= b),
            "ugt": lambda: int(a > b),
            "uge": lambda: int(a >= b),
            "slt": lambda: int(_signed(a, w) < _signed(b, w)),
            "sle": lambda: int(_signed(a, w) <= _signed(b, w)),
            "sgt": lambda: int(_signed(a, w) > _signed(b, w)),
            "sge": lambda: int(_signed(a, w) >= _signed(b, w)),
            "land": lambda: a & b,
            "lor": lambda: a | b,
            "beq": lambda: int(a == b),
            "bne": lambda: int(a != b),
        }
        return ops[e.op]()
    raise InternalError(f"{type(e).__name__} cannot appear in a condition over state")


def pinned_bits(e: ir.Expr) -> list[tuple[str, int, int, int]]:
    """The (element, hi, lo, value) equalities a conjunction fixes: the parts of a
    context's `where` that the VMM can establish by writing real control state."""
    if isinstance(e, ir.Bin) and e.op == "land":
        return pinned_bits(e.left) + pinned_bits(e.right)
    if isinstance(e, ir.Bin) and e.op == "eq":
        for loc, val in ((e.left, e.right), (e.right, e.left)):
            place = _location(loc)
            if place is not None and isinstance(val, ir.Lit):
                return [(*place, val.value)]
    if isinstance(e, ir.Bin) and e.op == "ne" and e.left.width == 1:  # `flag != 0` of a one-bit flag
        place = _location(e.left)
        if place is not None and isinstance(e.right, ir.Lit):
            return [(*place, 1 - e.right.value)]
    return []


def _location(e: ir.Expr) -> tuple[str, int, int] | None:
    if isinstance(e, ir.Reg):
        return e.elem, e.width - 1, 0
    if isinstance(e, ir.Slice) and isinstance(e.value, ir.Reg):
        return e.value.elem, e.hi, e.lo
    return None
