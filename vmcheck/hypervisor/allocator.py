"""The allocator: where the guest's storage lives and what real control state it runs under.

Guest-physical storage is a window of the real machine's storage. With
Popek & Goldberg's relocation-bounds translation the real machine is given
twice the guest's storage and the guest the upper half, so guest-physical
address p is real address `size + p` and the lower half (the real trap
vectors among it) belongs to the VMM; the real relocation register is the
guest's virtual one composed with the VMM's, and the real bound is cut so
that no access can leave the window. Without a translation the real
machine cannot confine the guest, so the window is the whole storage.

The real control state for a virtual state (`ControlMap.build`) is the
VMM's own, never the guest's: the host's control values, the real mode the
guest context maps the virtual mode to, the bits that the context's `where`
pins (`eflags.IOPL == 0`), and the translation composed; it must satisfy
the spec's invariants.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from ..errors import InternalError, UserError, VmcheckError


class LeftContext(VmcheckError):
    """The guest entered a mode its context does not map (e.g. the hypervisor's own
    level): outside what this VMM virtualizes, so a run ends there."""

    def __init__(self, context: str, mode):
        super().__init__(f"the guest entered virtual mode {mode}, which context '{context}' does not map")
        self.mode = mode


from ..machine.storage import Storage
from ..semantics.concrete import compile_condition
from ..semantics.state import State
from ..spec import ir
from ..spec.ir import mask
from .pins import pinned_bits


class _Cells:
    """The window's view of the real cell list, for code that indexes `cells` directly."""

    __slots__ = ("real", "base")

    def __init__(self, real: list[int], base: int):
        self.real, self.base = real, base

    def __getitem__(self, i: int) -> int:
        return self.real[self.base + i]

    def __setitem__(self, i: int, value: int) -> None:
        self.real[self.base + i] = value

    def __len__(self) -> int:
        return len(self.real) - self.base


class WindowStorage(Storage):
    """Guest-physical storage: `size` units of `real` starting at `base`, wrapping inside."""

    __slots__ = ("real", "base")

    def __init__(self, real: Storage, base: int, size: int):
        # Not Storage.__init__: the cells are the real machine's.
        self.real, self.base = real, base
        self.size, self.unit, self.little = size, real.unit, real.little
        self.amask, self.umask = size - 1, real.umask
        self.cells = _Cells(real.cells, base) if base else real.cells
        self.decoded = {}  # the virtual machine's own decode cache (hybrid VMM)
        self.code_units = real.code_units

    def write(self, addr: int, n: int, value: int) -> None:
        super().write(addr, n, value)
        # The real machine caches decoded words by real address: drop those too.
        if self.real.decoded:
            for a in range(addr - self.code_units + 1, addr + n):
                self.real.decoded.pop(self.base + (a & self.amask), None)

    def snapshot(self) -> list[int]:
        return self.real.cells[self.base : self.base + self.size]


@dataclass(frozen=True)
class Allocation:
    real_isa: ir.Isa  # the ISA of the real machine (more storage than the guest's)
    base: int  # guest-physical 0 is real `base`
    size: int  # guest storage units


def allocate(isa: ir.Isa) -> Allocation:
    if isinstance(isa.storage.translation, ir.RelocationBounds):
        size = isa.storage.size
        real = replace(isa, storage=replace(isa.storage, size=2 * size))
        return Allocation(real, size, size)
    return Allocation(isa, 0, isa.storage.size)


class ControlMap:
    """Computes the real control state for a virtual state, in one guest context."""

    def __init__(self, isa: ir.Isa, context: ir.Context, alloc: Allocation):
        self.isa, self.context, self.alloc = isa, context, alloc
        md = isa.modes
        self.mode_slot = (md.elem, md.hi, md.lo)
        self.real_code = {md.code(v): md.code(r) for v, r in context.modes}
        # A real mode with a single virtual preimage tells the VMM the guest's
        # virtual mode: a direct change between such modes is the guest's own.
        pre: dict[int, list[int]] = {}
        for v, r in self.real_code.items():
            pre.setdefault(r, []).append(v)
        self.virtual_of = {r: vs[0] for r, vs in pre.items() if len(vs) == 1}
        self.pins = pinned_bits(context.where)
        for elem, hi, lo, _ in self.pins:
            el = isa.element(elem)
            ctl = dict((e.name, m) for e, m in isa.role_elements("control")).get(elem, 0)
            bits = mask(hi - lo + 1) << lo
            if ctl & bits != bits:
                raise UserError(
                    f"context '{context.name}': where pins {elem}[{hi}:{lo}], which is not control state"
                    f" of '{el.name}'; a VMM can only set control state"
                )
        self.control = [(e.name, m) for e, m in isa.role_elements("control") if not e.is_file]
        self.host = _host_state(isa)
        tr = isa.storage.translation
        self.reloc = (tr.base, tr.bound) if isinstance(tr, ir.RelocationBounds) else None

    def virtual_mode(self, vstate: State) -> int:
        elem, hi, lo = self.mode_slot
        return (vstate.get(elem) >> lo) & mask(hi - lo + 1)

    def read_back_mode(self, real: State, vstate: State) -> None:
        """At a trap: the guest may have changed the real mode itself (docs/model.md §2.5: between
        modes the context maps one-to-one, the guest's own change). Where the real mode has
        a single virtual preimage, that preimage is the guest's virtual mode now."""
        r = self.virtual_mode(real)
        vmode = self.virtual_mode(vstate)
        if self.real_code.get(vmode) != r and r in self.virtual_of:
            elem, hi, lo = self.mode_slot
            _set_bits(vstate, elem, hi, lo, self.virtual_of[r])

    def own_mode_change(self, before: int, after: int, virtual_after: int) -> bool:
        """A real mode change made without a trap is the guest's own (not a resource-control
        breach) only between modes the context maps to themselves (`v -> v`, no other virtual
        mode mapped to `v`), the post-mode being the one the guest reached natively
        (docs/model.md §2.5, as the engine decides it)."""
        own = {r for r, v in self.virtual_of.items() if r == v}
        return before in own and after in own and after == virtual_after

    def build(self, vstate: State, real: State) -> None:
        """Write into `real` the control state the guest runs under (non-control bits untouched).

        It comes from the VMM's side only: the host's own values of every control
        element (the spec's reset values: the guest's virtual control state is never
        copied, since a real VMM keeps the resources its own), the real mode the
        context maps the virtual mode to, the bits `where` pins, and the allocator's
        composed relocation. The result must satisfy the spec's invariants."""
        for name, m in self.control:
            real.set(name, (real.get(name) & ~m) | (self.host.get(name) & m))
        elem, hi, lo = self.mode_slot
        vmode = self.virtual_mode(vstate)
        if vmode not in self.real_code:
            raise LeftContext(self.context.name, self.isa.modes.name_of(vmode) or vmode)
        _set_bits(real, elem, hi, lo, self.real_code[vmode])
        for elem, hi, lo, value in self.pins:
            _set_bits(real, elem, hi, lo, value)
        if self.reloc:
            base, bound = self.reloc
            size = self.alloc.size
            l = vstate.get(base) % size
            real.set(base, self.alloc.base + l)
            real.set(bound, min(vstate.get(bound), size - l))
        if not self._invariants_hold(real):
            self._repair(vstate, real)

    def _invariants_hold(self, real: State) -> bool:
        return all(compile_condition(self.isa, inv)(real) for inv in self.isa.invariants)

    def _repair(self, vstate: State, real: State) -> None:
        """The host's values do not suit the guest's real mode (VAX: a nonzero IPL outside
        kernel mode). Try, for the control elements the VMM is free to choose (not the mode,
        not what `where` pins, not the relocation), zero and then the guest's own value,
        until every invariant holds; the VMM never runs the guest in a state that breaks one."""
        fixed = {self.mode_slot[0], *(p[0] for p in self.pins), *(self.reloc or ())}
        free = [(n, m) for n, m in self.control if n not in fixed]
        for choice in itertools.product((0, 1), repeat=min(len(free), 8)):
            for (name, m), use_virtual in zip(free, choice):
                value = vstate.get(name) if use_virtual else 0
                real.set(name, (real.get(name) & ~m) | (value & m))
            if self._invariants_hold(real):
                return
        vmode = self.virtual_mode(vstate)
        raise InternalError(
            f"the reference VMM cannot build a real state for context '{self.context.name}' (virtual mode "
            f"{self.isa.modes.name_of(vmode)}) that satisfies the spec's invariants"
        )

    def check(self, real: State) -> None:
        if not compile_condition(self.isa, self.context.where)(real):
            raise UserError(
                f"context '{self.context.name}': its where condition is not a conjunction of "
                "`control == constant` that the reference VMM can establish"
            )


def _host_state(isa: ir.Isa) -> State:
    """The real machine as the VMM found it: the spec's reset values (others 0)."""
    from ..semantics.state import Layout

    st = State(Layout.of(isa))
    for name, value in isa.reset:
        st.set(name, value)
    return st


def _set_bits(state: State, elem: str, hi: int, lo: int, value: int) -> None:
    m = mask(hi - lo + 1) << lo
    state.set(elem, (state.get(elem) & ~m) | ((value << lo) & m))
