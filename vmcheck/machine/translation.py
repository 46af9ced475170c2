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

A spec with `translation: none` and a memory cause abstracts its paging into
the view `mem[...]` (docs/model.md §2.4). Its concrete counterpart is a
`PageView`: a map from virtual to physical units with read, write and
execute permission per privilege level, one storage unit per "page" (so that
any view a witness names can be built exactly). The default view is the
identity with every access allowed, which is what `IdentityPort` does, fast;
`ViewPort` serves a view that maps or denies something (`view_port`). An
access is made at a privilege: the current mode (read from the state before
the instruction, as the relocation registers are), the level named by
`as L`, or the level whose code `as (EXPR)` gives (a code naming no level is
the current mode, as the compiled semantics pass it). A denied access raises
the memory cause with the access's virtual address (trap delivery's
`fault_addr`).
"""

from __future__ import annotations

from ..semantics.state import Layout, MemoryTrap, State
from ..spec import ir
from .storage import Storage

__all__ = ["IdentityPort", "RelocationPort", "make_port", "PageView", "ViewPort", "view_port", "has_view", "KINDS"]


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

    def probe(self, kind: str, addr: int, nbits: int, priv: str | None) -> bool:
        """`probe(kind, mem[addr] as priv)`: would the access fault? No effect. The
        spec's translation ignores the access's kind and privilege."""
        if not self.cause:
            return False
        try:
            self.translate(addr, nbits // self.unit)
        except MemoryTrap:
            return True
        return False

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


# ---- the concrete view of a spec whose paging is abstracted into mem[...] ----

READ, WRITE, EXECUTE = "read", "write", "execute"
KINDS = (READ, WRITE, EXECUTE)


def view_address_width(isa: ir.Isa) -> int:
    """The width of the view's virtual addresses: the engine's (`symbolic._view_address_width`,
    which the machine may not import): storage, the word, and every `mem[...]` address."""
    from ..spec.ir_walk import walk

    widths = [
        node.addr.width
        for insn in isa.instructions
        for node in walk(insn.semantics)
        if isinstance(node, (ir.Mem, ir.MemTarget)) and node.space == "mem"
    ]
    return max([isa.storage.addr_width, isa.word] + widths)


class PageView:
    """A concrete view: virtual unit -> physical unit, and the accesses denied.

    Granularity one storage unit. `mapping` holds the units that are not the
    identity (virtual `a` is physical `a` modulo the storage size otherwise);
    `denied` holds (kind, level, virtual unit) triples, kind one of `KINDS`
    and level a mode's name. An empty view is the identity with everything
    allowed. Virtual addresses are taken modulo 2**`vaw` (`view_address_width`)."""

    __slots__ = ("levels", "vmask", "mapping", "denied")

    def __init__(self, levels: tuple[str, ...], vaw: int):
        self.levels = levels
        self.vmask = (1 << vaw) - 1
        self.mapping: dict[int, int] = {}
        self.denied: set[tuple[str, str, int]] = set()

    @classmethod
    def of(cls, isa: ir.Isa) -> PageView:
        return cls(isa.modes.names, view_address_width(isa))

    @property
    def restricted(self) -> bool:
        """Does it map or deny anything (else it is the identity, all allowed)?"""
        return bool(self.mapping or self.denied)

    def deny(self, kind: str, level: str, addr: int) -> None:
        if kind not in KINDS or level not in self.levels:
            raise ValueError(f"no access kind {kind!r} or level {level!r} in this view")
        self.denied.add((kind, level, addr & self.vmask))

    def allow(self, kind: str, level: str, addr: int) -> None:
        self.denied.discard((kind, level, addr & self.vmask))

    def allows(self, kind: str, level: str | None, addr: int) -> bool:
        return (kind, level, addr & self.vmask) not in self.denied

    def map_unit(self, vaddr: int, paddr: int) -> None:
        self.mapping[vaddr & self.vmask] = paddr

    def phys(self, vaddr: int) -> int:
        """The physical unit of virtual unit `vaddr` (unreduced: storage wraps it)."""
        a = vaddr & self.vmask
        return self.mapping.get(a, a)

    def permissions(self, level: str) -> set[tuple[str, int]]:
        """What `level` is denied: (kind, virtual unit) pairs."""
        return {(k, a) for k, lv, a in self.denied if lv == level}

    def copy(self) -> PageView:
        out = PageView(self.levels, 0)
        out.vmask = self.vmask
        out.mapping = dict(self.mapping)
        out.denied = set(self.denied)
        return out


class ViewPort(_Port):
    """`NoTranslation` with a memory cause, through a `PageView` (see the module docstring).

    Every unit of an access is checked at the access's privilege (all of them
    before any is touched) and reached through the map, unit by unit, so a
    multi-unit access may span units mapped anywhere. A fetch checks execute
    permission on each of its units and returns the physical address of the
    first: the simulator decodes the instruction from there, so a view that
    maps the units of one instruction apart is not fetched from faithfully
    (a witness names data units only)."""

    __slots__ = ("view", "_mode")

    def __init__(self, isa: ir.Isa, storage: Storage, state: State, view: PageView, layout: Layout | None = None):
        super().__init__(isa, storage, state)
        self.view = view
        md = isa.modes
        slot = (layout or state.layout).slots[md.elem]
        names = {code: name for name, code in md.levels}
        self._mode = (slot, md.lo, (1 << md.width) - 1, names)

    def level(self, priv: str | None) -> str | None:
        """The level an access is made at: `priv`, or the current mode (None when
        the mode's bits name no level: nothing is denied to it)."""
        if priv is not None:
            return priv
        slot, lo, m, names = self._mode
        return names.get((self.state.v[slot] >> lo) & m)

    def _check(self, kind: str, addr: int, n: int, priv: str | None) -> list[int]:
        view = self.view
        level = self.level(priv)
        vm = view.vmask
        units = [(addr + k) & vm for k in range(n)]
        if view.denied:
            denied = view.denied
            for a in units:
                if (kind, level, a) in denied:
                    raise MemoryTrap(self.cause, addr)  # view_port: only a spec with a memory cause
        mapping, amask = view.mapping, self.storage.amask
        return [mapping.get(a, a) & amask for a in units]

    def cells_of(self, space: str, addr: int, nbits: int, priv: str | None) -> list[int]:
        n = nbits // self.unit
        amask = self.storage.amask
        if space == "phys":
            return [(addr + k) & amask for k in range(n)]
        # Where the units are, not whether this access may touch them: `_mload` asks
        # this of the instruction's pending stores too, whose checks were made.
        view = self.view
        vm, mapping = view.vmask, view.mapping
        return [mapping.get(a, a) & amask for a in ((addr + k) & vm for k in range(n))]

    def check_store(self, space: str, addr: int, nbits: int, priv: str | None) -> None:
        if space != "phys":
            self._check(WRITE, addr, nbits // self.unit, priv)

    def load(self, space: str, addr: int, nbits: int, priv: str | None) -> int:
        n = nbits // self.unit
        if space == "phys":
            return self.storage.read(addr, n)
        cells = self.storage.cells
        units = [cells[p] for p in self._check(READ, addr, n, priv)]
        value = 0
        for u in reversed(units) if self.little else units:
            value = (value << self.unit) | u
        return value

    def store(self, space: str, addr: int, nbits: int, priv: str | None, value: int) -> None:
        n = nbits // self.unit
        if space == "phys":
            self.storage.write(addr, n, value)
            return
        phys = self._check(WRITE, addr, n, priv)
        umask = (1 << self.unit) - 1
        parts = [(value >> (self.unit * k)) & umask for k in range(n)]  # least significant first
        if not self.little:
            parts.reverse()
        for p, u in zip(phys, parts):
            self.storage.write(p, 1, u)

    def fetch(self, addr: int) -> int:
        return self._check(EXECUTE, addr, self.fetch_units, None)[0]

    def probe(self, kind: str, addr: int, nbits: int, priv: str | None) -> bool:
        try:
            self._check(kind, addr, nbits // self.unit, priv)
        except MemoryTrap:
            return True
        return False

    def translate(self, addr: int, n: int) -> int:
        """Physical address of the first unit of a read at the current mode."""
        return self._check(READ, addr, n, None)[0]


def has_view(isa: ir.Isa) -> bool:
    """Is `isa`'s paging abstracted into the view (no translation of its own, a memory cause)?"""
    return isinstance(isa.storage.translation, ir.NoTranslation) and bool(isa.traps.memory_cause)


def view_port(
    isa: ir.Isa, storage: Storage, state: State, view: PageView | None, layout: Layout | None = None
) -> _Port:
    """The port for `isa` with the concrete view `view`: `make_port`'s own when the
    view is None or the identity with everything allowed (the fast ports), a
    `ViewPort` otherwise. Only a spec that `has_view` has one."""
    if view is None or not view.restricted:
        return make_port(isa, storage, state, layout)
    if not has_view(isa):
        raise ValueError(f"{isa.name} has a translation of its own or no memory cause: it has no view")
    return ViewPort(isa, storage, state, view, layout)
