"""The hypercall table a paravirtualised guest is run with (issue 18, item 4).

A paravirtualised guest replaces each instruction instance that would not
trap under the classic VMM with a *hypercall*: the spec's trap instruction
(a supervisor call) carrying a code. The VMM is given the table explicitly,
code -> the instance the guest replaced (entry name and operand values); a
trap raised by that trap instruction with a code in the table is a request,
serviced by running the original instance on the virtual state (`vmm.VMM`).
Nothing is guessed from a code's value: an unknown code, or the same
instruction used by the guest for its own system calls, is reflected to the
guest like any other trap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hypercall:
    """What one code stands for: the original instance (its entry and operand values)."""

    insn: str
    ops: tuple[int, ...]


@dataclass(frozen=True)
class HypercallTable:
    """The hypercalls one guest program makes."""

    entry: str  # the trap instruction hypercalls are made with (e.g. `svc`)
    operand: int  # the index, among its operands, of the one carrying the code
    calls: Mapping[int, Hypercall] = field(default_factory=dict)

    def lookup(self, insn: str, ops: tuple[int, ...]) -> Hypercall | None:
        """The request an instance of `insn` with operand values `ops` makes, if it is a hypercall."""
        if insn != self.entry or self.operand >= len(ops):
            return None
        return self.calls.get(ops[self.operand])


__all__ = ["Hypercall", "HypercallTable"]
