"""The IR's operators: one table of what each one is and means.

For every unary and binary operator of `ir.Un` / `ir.Bin`: its name, arity,
kind, the rule for its result's width, and its meaning on Python ints. This
is the one definition of what `ashr`, `udiv` by zero or `slt` mean; the
readings of the IR are checked against it:

* the concrete reading (`semantics/concrete.py`) compiles each operator to
  Python text and has one code rule per name of this table (checked at
  import), and the property tests run its compiled code against
  `Operator.apply`;
* the symbolic reading (`semantics/symbolic.py`) has one z3 builder per name
  (checked at import), and the "symbolic = concrete" tests compare it with
  the concrete reading on random bodies;
* the VMM evaluates conditions over state with the compiled concrete code;
* the test oracle (`tests/test_concrete.py`) applies `Operator.apply`.

Values are unsigned ints reduced to their width; booleans are 0/1 (width 0,
`ir.BOOL`). `apply(a, b, w)` takes `w`, the width of the operands (of the
left one for shifts, whose amount has its own width), and returns the result
reduced to the result's width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


def _mask(width: int) -> int:
    return (1 << width) - 1


def _signed(x: int, w: int) -> int:
    """`x` (w bits) read as two's complement."""
    return x - (1 << w) if w and x >> (w - 1) & 1 else x


@dataclass(frozen=True)
class Operator:
    """One operator of the IR.

    `kind`: "unary" (bit-vector -> same width, or bool -> bool for `lnot`),
    "arith" (bit-vectors of one width -> that width), "shift" (a value and an
    amount of its own width -> the value's width), "compare" (bit-vectors of
    one width -> bool), "logic" (bools -> bool). `result` says the width
    rule: "operand" (the width of the (left) operand) or "bool".
    `fn(a, b, w)` (binary) or `fn(a, w)` (unary) is the meaning on ints.
    """

    name: str
    arity: int
    kind: str
    result: str
    fn: Callable[..., int]
    doc: str = ""

    def apply(self, *args: int) -> int:
        """The value: `apply(x, w)` for a unary, `apply(a, b, w)` for a binary
        operator, `w` the operands' width (0 for booleans)."""
        return self.fn(*args)


def _shl(a: int, b: int, w: int) -> int:
    # An amount of the width or more shifts everything out (and must not
    # build a huge integer on the way).
    return (a << b) & _mask(w) if b < w else 0


def _ashr(a: int, b: int, w: int) -> int:
    return (_signed(a, w) >> min(b, w)) & _mask(w)


UNARY: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("neg", 1, "unary", "operand", lambda x, w: -x & _mask(w), "two's complement negation"),
        Operator("not", 1, "unary", "operand", lambda x, w: x ^ _mask(w), "bitwise complement"),
        Operator("lnot", 1, "unary", "bool", lambda x, w: int(not x), "boolean negation"),
    )
}

BINARY: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("add", 2, "arith", "operand", lambda a, b, w: (a + b) & _mask(w)),
        Operator("sub", 2, "arith", "operand", lambda a, b, w: (a - b) & _mask(w)),
        Operator("mul", 2, "arith", "operand", lambda a, b, w: (a * b) & _mask(w)),
        Operator("and", 2, "arith", "operand", lambda a, b, w: a & b),
        Operator("or", 2, "arith", "operand", lambda a, b, w: a | b),
        Operator("xor", 2, "arith", "operand", lambda a, b, w: a ^ b),
        Operator("shl", 2, "shift", "operand", _shl, "amounts of the width or more give 0"),
        Operator("lshr", 2, "shift", "operand", lambda a, b, w: a >> b, "amounts of the width or more give 0"),
        Operator("ashr", 2, "shift", "operand", _ashr, "amounts of the width or more give the sign"),
        Operator(
            "udiv",
            2,
            "arith",
            "operand",
            lambda a, b, w: a // b if b else _mask(w),
            "by zero: all ones (RISC-V, SMT-LIB)",
        ),
        Operator("urem", 2, "arith", "operand", lambda a, b, w: a % b if b else a, "by zero: the dividend"),
        Operator("eq", 2, "compare", "bool", lambda a, b, w: int(a == b)),
        Operator("ne", 2, "compare", "bool", lambda a, b, w: int(a != b)),
        Operator("ult", 2, "compare", "bool", lambda a, b, w: int(a < b)),
        Operator("ule", 2, "compare", "bool", lambda a, b, w: int(a <= b)),
        Operator("ugt", 2, "compare", "bool", lambda a, b, w: int(a > b)),
        Operator("uge", 2, "compare", "bool", lambda a, b, w: int(a >= b)),
        Operator("slt", 2, "compare", "bool", lambda a, b, w: int(_signed(a, w) < _signed(b, w))),
        Operator("sle", 2, "compare", "bool", lambda a, b, w: int(_signed(a, w) <= _signed(b, w))),
        Operator("sgt", 2, "compare", "bool", lambda a, b, w: int(_signed(a, w) > _signed(b, w))),
        Operator("sge", 2, "compare", "bool", lambda a, b, w: int(_signed(a, w) >= _signed(b, w))),
        Operator(
            "land",
            2,
            "logic",
            "bool",
            lambda a, b, w: int(bool(a) and bool(b)),
            "lazy: the right side only when needed",
        ),
        Operator(
            "lor", 2, "logic", "bool", lambda a, b, w: int(bool(a) or bool(b)), "lazy: the right side only when needed"
        ),
        Operator("beq", 2, "logic", "bool", lambda a, b, w: int(bool(a) == bool(b)), "boolean equality"),
        Operator("bne", 2, "logic", "bool", lambda a, b, w: int(bool(a) != bool(b)), "boolean inequality"),
    )
}

# The IR's operator names by kind (what `ir.ARITH_OPS` and friends are).
SHIFT_OPS = tuple(n for n, op in BINARY.items() if op.kind == "shift")
ARITH_OPS = tuple(n for n, op in BINARY.items() if op.kind in ("arith", "shift"))
COMPARE_OPS = tuple(n for n, op in BINARY.items() if op.kind == "compare")
LOGIC_OPS = tuple(n for n, op in BINARY.items() if op.kind == "logic")
UNARY_OPS = tuple(UNARY)


def check_covers(reader: str, names: Iterable[str], expected: tuple[str, ...]) -> None:
    """Raise at import when a reading's per-operator table is not exactly `expected`."""
    got = set(names)
    if got != set(expected):
        raise AssertionError(
            f"{reader}: operator rules {sorted(got)} differ from the operator table's {sorted(expected)}"
        )


__all__ = [
    "Operator",
    "UNARY",
    "BINARY",
    "ARITH_OPS",
    "SHIFT_OPS",
    "COMPARE_OPS",
    "LOGIC_OPS",
    "UNARY_OPS",
    "check_covers",
]
