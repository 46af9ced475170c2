"""Native vs virtualized: run one guest both ways, in lockstep, and compare.

After every guest instruction the guest-visible state is compared: the
native machine's registers and control state against the VMM's virtual
state (non-control registers as the guest computed them, control state as
the guest believes it to be), and the traps delivered to the guest so far.
Timer elements are left out (timing is outside Popek & Goldberg's
equivalence); storage is compared after every step (a large relocated
storage only at the end). The first difference is the divergence, traced to the
instruction that caused it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..machine.simulator import Machine, StepEvent, register_name
from ..semantics.state import State
from ..spec import ir
from ..spec.ir import mask
from .allocator import LeftContext
from .vmm import CLASSIC, VMM, Counters, GuestStep
from .translate import make_vmm

STORAGE_EVERY_STEP = 8192
TRAP_LOOP = "trap loop"  # units: compare storage after each step up to this size


@dataclass(frozen=True)
class Difference:
    what: str  # an element, "r3", "storage[0x40]", "trap history", "stop"
    native: object
    virtual: object


@dataclass(frozen=True)
class Divergence:
    step: int  # guest instructions before the diverging one
    pc: int
    insn: str | None
    ops: tuple[int, ...]
    how: str  # how the VMM ran it: direct, emulated, reflected, interpreted
    differences: tuple[Difference, ...]

    def summary(self, isa: ir.Isa) -> str:
        what = self.insn or "(fetch)"
        if self.insn:
            insn = isa.instruction(self.insn)
            ops = ", ".join(f"{o.name}={v:#x}" for o, v in zip(insn.operands, self.ops))
            what = f"{self.insn} {ops}".strip()
        diffs = "; ".join(f"{d.what}: native {_fmt(d.native)}, virtual {_fmt(d.virtual)}" for d in self.differences[:4])
        return f"step {self.step} at pc {self.pc:#x}: {what} ({self.how}): {diffs}"


def _fmt(x) -> str:
    return f"{x:#x}" if isinstance(x, int) else str(x)


@dataclass
class Comparison:
    native_stop: str | None
    virtual_stop: str | None
    steps: int
    divergence: Divergence | None
    counters: Counters
    trace: list[tuple[StepEvent, GuestStep]] = field(default_factory=list)

    @property
    def equivalent(self) -> bool:
        return self.divergence is None


class _Observer:
    """What of a state the guest can see, slot by slot."""

    def __init__(self, isa: ir.Isa):
        layout_slots = {}
        n = 0
        for e in isa.elements:
            layout_slots[e.name] = n
            n += e.count or 1
        timer = dict((e.name, m) for e, m in isa.role_elements("timer"))
        self.names: list[str] = []
        self.masks: list[int] = []
        for e in isa.elements:
            for i in range(e.count or 1):
                self.names.append(register_name(e, i) if e.is_file else e.name)
                self.masks.append(mask(e.width) & ~timer.get(e.name, 0))

    def diff(self, a: list[int], b: list[int]) -> list[Difference]:
        return [Difference(n, x & m, y & m) for n, m, x, y in zip(self.names, self.masks, a, b) if (x ^ y) & m]


def compare_run(isa: ir.Isa, context: ir.Context, image, *, kind: str = CLASSIC, max_steps: int = 10_000,
                start: State | None = None, keep_trace: bool = False) -> Comparison:
    """Run `image` natively and under the VMM in `context`; stop at the first divergence."""
    native = Machine(isa)
    native.load_image(image)
    vmm = make_vmm(isa, context, kind)  # classic, hybrid or translate (translate.py)
    vmm.load_image(image)
    vmm.reset()
    native.state.v[:] = vmm.vstate.v  # the guest boots natively where it boots under the VMM
    if start is not None:
        native.state.v[:] = start.v
        vmm.start_from(start)
    obs = _Observer(isa)
    small = isa.storage.size <= STORAGE_EVERY_STEP
    # Without relocation the guest's storage is the real storage itself: compare it in place, every step.
    same_cells = vmm.alloc.base == 0 and len(vmm.machine.storage.cells) == len(native.storage.cells)
    native_history: list[tuple[int, str]] = []
    trace = []
    steps = 0
    divergence = None
    stop = None
    while steps < max_steps and not (native.stopped and vmm.stopped):
        if native.stopped or vmm.stopped:
            divergence = _divergence(steps, ev, gs, [Difference("stop", native.stopped, vmm.stopped)])
            break
        before = native.state.v[:]
        ev = native.step()
        if ev.outcome is not None and ev.outcome.trapped:
            native_history.append((ev.pc, ev.outcome.cause))
            if native.state.v == before and len(native_history) > 1 and native_history[-2] == native_history[-1]:
                stop = TRAP_LOOP  # a trap whose delivery returns to the same trap, for ever
        try:
            gs = vmm.step()
        except LeftContext as e:  # the guest left what this context virtualizes: the comparison ends here
            native.stopped = vmm.stopped = f"left the context ({e})"
            steps += 1
            break
        steps += 1
        if keep_trace:
            trace.append((ev, gs))
        diffs = obs.diff(native.state.v, vmm.vstate.v)
        if native_history != vmm.history:
            diffs.append(Difference("trap history", native_history[-1:], vmm.history[-1:]))
        if not diffs and (small or same_cells):
            # (a store is caught at the instruction that made it, not at a later load)
            diffs = _storage_diffs(native.storage.cells,
                                   vmm.machine.storage.cells if same_cells else vmm.window.snapshot())
        if diffs:
            divergence = _divergence(steps - 1, ev, gs, diffs)
            break
        if stop:
            native.stopped = vmm.stopped = stop
    if divergence is None and not small:
        diffs = _storage_diffs(native.storage.cells, vmm.window.snapshot())
        if diffs:
            divergence = Divergence(steps, native.pc, None, (), "end of run", tuple(diffs))
    if divergence is None and native.stopped != vmm.stopped and not str(vmm.stopped).startswith("left"):
        divergence = Divergence(steps, native.pc, None, (), "end of run",
                                (Difference("stop", native.stopped, vmm.stopped),))
    return Comparison(native.stopped, vmm.stopped, steps, divergence, vmm.counters, trace)


def _divergence(step: int, ev: StepEvent, gs: GuestStep, diffs) -> Divergence:
    insn = ev.insn.name if ev.insn is not None else gs.insn
    return Divergence(step, ev.pc, insn, tuple(ev.ops), gs.how, tuple(diffs))


def _storage_diffs(a, b) -> list[Difference]:
    if a == b:
        return []
    i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    return [Difference(f"storage[{i:#x}]", a[i], b[i])]
