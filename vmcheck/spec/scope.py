"""What names mean while semantics is elaborated: the ISA's declarations and scopes.

`Declarations` is what the spec declares that semantics may name (elements,
fields through them, the mode, constants, causes, helpers); a `Scope` holds
what one instruction, block or helper call adds (operands, lets, parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from . import surface as s


@dataclass
class Scope:
    """Names bound inside one instruction (or block): operands, lets, params."""

    bindings: dict[str, ir.Expr] = field(default_factory=dict)
    parent: Scope | None = None

    def lookup(self, name: str) -> ir.Expr | None:
        sc: Scope | None = self
        while sc is not None:
            if name in sc.bindings:
                return sc.bindings[name]
            sc = sc.parent
        return None

    def child(self) -> Scope:
        return Scope({}, self)

    def names(self) -> set[str]:
        out: set[str] = set()
        sc: Scope | None = self
        while sc is not None:
            out |= set(sc.bindings)
            sc = sc.parent
        return out


@dataclass
class Declarations:
    """What the elaborator needs to know of the ISA: what its semantics may name."""

    word: int
    elements: dict[str, ir.Element]
    modes: ir.ModeDef | None
    constants: dict[str, int]
    causes: dict[str, ir.Cause] | None  # None: the causes themselves did not load
    cause_width: int
    unit: int
    helpers: dict[str, s.Helper] = field(default_factory=dict)
