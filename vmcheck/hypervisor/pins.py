"""What a context's `where` pins: the control bits the VMM can establish.

A context's `where` is a condition over state; the reference VMM can make it
hold when it is a conjunction of `control bits == constant` (and, for a
one-bit flag, `flag != constant`). `pinned_bits` finds those equalities.
Evaluating a condition on a state is the compiled concrete semantics'
business (`semantics.concrete.compile_condition`).
"""

from __future__ import annotations

from ..spec import ir


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
