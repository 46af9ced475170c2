"""Concrete machine state, shared by the simulator, the VMM and witness replay.

The registers live in one flat list (`State.v`), each scalar element at one
slot and each register file in consecutive slots, so generated code reaches
them by a constant index. Storage is not here: it is reached through a
`MemoryPort`, which is what lets the same compiled semantics run on the
simulator (the spec's translation), on a VMM's composed translation, and on
a solver's witness (the shared view of docs/model.md §2.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..spec.ir import Isa


@dataclass(frozen=True)
class Layout:
    """Slot of each element in `State.v` (a file's register i is at slot + i)."""

    slots: dict[str, int]
    size: int

    @classmethod
    def of(cls, isa: Isa) -> Layout:
        slots, n = {}, 0
        for e in isa.elements:
            slots[e.name] = n
            n += e.count or 1
        return cls(slots, n)


class State:
    __slots__ = ("layout", "v")

    def __init__(self, layout: Layout, values: list[int] | None = None):
        self.layout = layout
        self.v = list(values) if values is not None else [0] * layout.size

    def get(self, name: str, index: int = 0) -> int:
        return self.v[self.layout.slots[name] + index]

    def set(self, name: str, value: int, index: int = 0) -> None:
        self.v[self.layout.slots[name] + index] = value

    def copy(self) -> State:
        return State(self.layout, self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and self.v == other.v

    def as_dict(self) -> dict[str, int | list[int]]:
        out: dict[str, int | list[int]] = {}
        for name, slot in self.layout.slots.items():
            nxt = min((s for s in self.layout.slots.values() if s > slot), default=self.layout.size)
            out[name] = self.v[slot] if nxt - slot == 1 else self.v[slot:nxt]
        return out


@dataclass(frozen=True)
class Outcome:
    """How one instruction ended: "ok", "trap", "memtrap" or "halt".

    `fault_addr` is the virtual address of the access that raised a memory
    trap (0 otherwise), what trap delivery reads as `fault_addr`. It is not
    part of equality: two runs that end in the same way compare equal
    whatever address each faulted at (a VMM's composed translation may
    fault where the bare machine's does not tell).
    """

    kind: str
    cause: str | None = None
    arg: int = 0
    fault_addr: int = field(default=0, compare=False)

    @property
    def trapped(self) -> bool:
        return self.kind in ("trap", "memtrap")


# Shared outcomes: the simulator's hot loop tests `out is OK`.
OK = Outcome("ok")
HALT = Outcome("halt")


class MemoryTrap(Exception):
    """An illegal translated access; `cause` is the spec's memory cause."""

    def __init__(self, cause: str, addr: int = 0):
        super().__init__(cause)
        self.cause = cause
        self.addr = addr


class MemoryPort(Protocol):
    """Storage as one instruction sees it.

    `space` is "mem" (translated, the guest's view) or "phys"; `addr` is in
    storage units; `nbits` a multiple of the unit; `priv` the level named by
    `as LEVEL`, or None for the current mode. `load` and `check_store` raise
    MemoryTrap for an illegal access; `store` is called only when the
    instruction completes, after every `check_store` of it passed.
    """

    def load(self, space: str, addr: int, nbits: int, priv: str | None) -> int: ...

    def check_store(self, space: str, addr: int, nbits: int, priv: str | None) -> None: ...

    def store(self, space: str, addr: int, nbits: int, priv: str | None, value: int) -> None: ...

    def probe(self, kind: str, addr: int, nbits: int, priv: str | None) -> bool:
        """Would a `mem` access of `kind` ("read", "write") fault? No effect."""
        ...
