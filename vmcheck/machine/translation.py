"""Memory ports over physical storage: the spec's translation, concretely.

A port is what one instruction's compiled semantics sees (the `MemoryPort`
protocol of `semantics/state.py`): "phys" reaches storage directly and never
traps; "mem" goes through the spec's translation, which for
`RelocationBounds(base, bound)` is Popek & Goldberg's R = (l, b): an access of
n units at virtual address a is legal iff a < b and n-1 < b - a (unsigned, no
wrap), and then unit k is at physical (a + k + l) mod size. An illegal access
raises `MemoryTrap(isa.traps.memory_cause)`. `as LEVEL` does not change either
translation. The relocation registers are read from the state as it was
before the instruction (its own pending writes are not visible to the
translation).

`cells_of` names the physical units an access touches, so that a read can see
the instruction's own pending stores to the same cells whatever the widths
and spaces involved. `fetch` is the simulator's instruction fetch: the same check with access kind
"execute", returning the physical address of the first unit.
"""

from __future__ import annotations

from ..semantics.state import Layout, MemoryTrap, State
from ..spec import ir
from .storage import Storage

__all__ = ["IdentityPort", "RelocationPort", "make_port"]


class _Port:
    __slots__ = ("storage", "state", "cause", "unit", "little", "fetch_units")

    def __init__(self, isa: ir.Isa, storage: Storage, state: State):
        self.storage = storage
        self.state = state
        self.cause = isa.traps.memory_cause
        self.unit = isa.storage.unit
        self.little = isa.storage.endian == "little"
        # A variable-length ISA's port checks the first unit; `Machine.fetch`
        # then checks the whole instance once it knows its length.
        self.fetch_units = 1 if isa.variable_length else isa.insn_units

    def cells_of(self, space: str, addr: int, nbits: int, priv: str | None) -> list[int]:
        """The physical units an access touches, its unit k first: how the
        compiled semantics finds what a read shares with the instruction's
        pending stores (the generated code's store-aware load, `semantics/concrete.py`)."""
        n = nbits // self.unit
        first = addr if space == "phys" else self.translate(addr, n)
        amask = self.storage.amask
        return [(first + k) & amask for k in range(n)]

    def check_store(self, space: str, addr: int, nbits: int, priv: str | None) -> None:
        if space != "phys":
            self.translate(addr, nbits // self.unit)

    def load(self, space: str, addr: int, nbits: int, priv: str | None) -> int:
        n = nbits // self.unit
        if space == "phys":
            return self.storage.read(addr, n)
        return self.storage.read(self.translate(addr, n), n)

    def store(self, space: str, addr: int, nbits: int, priv: str | None, value: int) -> None:
        n = nbits // self.unit
        self.storage.write(addr if space == "phys" else self.translate(addr, n), n, value)

    def fetch(self, addr: int) -> int:
        """Physical address (reduced modulo the size) of the instruction at `addr`."""
        return self.translate(addr, self.fetch_units) & self.storage.amask

    def translate(self, addr: int, n: int) -> int:
        """Physical address of the first of n units at virtual `addr` (storage
        wraps the rest), or MemoryTrap."""
        raise NotImplementedError


class IdentityPort(_Port):
    """`NoTranslation`: mem[a] is phys[a]."""

    __slots__ = ()

    def translate(self, addr: int, n: int) -> int:
        return addr

    def fetch(self, addr: int) -> int:
        return addr & self.storage.amask


class RelocationPort(_Port):
    """`RelocationBounds`: legal iff a < bound and n-1 < bound - a; physical a + base."""

    __slots__ = ("base", "bound")

    def __init__(self, isa: ir.Isa, storage: Storage, state: State, layout: Layout):
        super().__init__(isa, storage, state)
        tr = isa.storage.translation
        assert isinstance(tr, ir.RelocationBounds)  # make_port chose this port for it
        self.base = layout.slots[tr.base]
        self.bound = layout.slots[tr.bound]

    def translate(self, addr: int, n: int) -> int:
        v = self.state.v
        bound = v[self.bound]
        if addr >= bound or n - 1 >= bound - addr:
            raise MemoryTrap(self.cause, addr)
        return addr + v[self.base]

    def fetch(self, addr: int) -> int:
        # Once per step: the same check as translate(), without the extra call.
        v = self.state.v
        bound = v[self.bound]
        if addr >= bound or self.fetch_units - 1 >= bound - addr:
            raise MemoryTrap(self.cause, addr)
        return (addr + v[self.base]) & self.storage.amask

    # The common one-unit cases, without the generic call chain.
    def load(self, space: str, addr: int, nbits: int, priv: str | None) -> int:
        storage = self.storage
        if nbits == self.unit:
            if space != "phys":
                v = self.state.v
                if addr >= v[self.bound]:
                    raise MemoryTrap(self.cause, addr)
                addr += v[self.base]
            return storage.cells[addr & storage.amask]
        return _Port.load(self, space, addr, nbits, priv)


def make_port(isa: ir.Isa, storage: Storage, state: State, layout: Layout | None = None) -> _Port:
    """The port implementing `isa`'s translation over `storage`, reading the
    translation registers from `port.state` at each access (so a VMM may
    swap the state a port works on)."""
    tr = isa.storage.translation
    if isinstance(tr, ir.NoTranslation):
        return IdentityPort(isa, storage, state)
    if isinstance(tr, ir.RelocationBounds):
        return RelocationPort(isa, storage, state, layout or state.layout)
    raise NotImplementedError(f"translation {type(tr).__name__} is not simulated yet")
