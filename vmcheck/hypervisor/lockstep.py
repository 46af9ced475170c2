"""Native vs virtualized: run one guest both ways, in lockstep, and compare.

After every guest instruction the guest-visible state is compared: the
native machine's registers and control state against the VMM's virtual
state (non-control registers as the guest computed them, control state as
the guest believes it to be), and the traps delivered to the guest so far.
Timer elements are left out (timing is outside Popek & Goldberg's
equivalence); storage is compared after every step (a large relocated
storage only at the end). The divergence is the earliest instruction after
which the two runs can no longer agree: the first visible difference, or
earlier, a resource-control breach (a directly executed instruction that
changed the real control state the VMM set up, seen by the harness's
`Lockstep`, never by the VMM). A guest that enters a virtual mode its
context does not map ends the comparison ("left the context"): the
verdicts are about states in the context, and the VMM cannot run it on.

A paravirtualised guest is compared the same way (`compare_run(...,
guest_image=, hypercalls=)`): the original program natively, the patched one
under the VMM; the storage units where the two images differ (the replaced
instructions) are left out of the storage comparison, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..machine.simulator import HALTED, Machine, StepEvent
from ..machine.syntax import register_name
from ..semantics.state import State
from ..spec import ir
from ..spec.ir import mask
from .hypercalls import HypercallTable
from .translate import make_vmm
from .vmm import CLASSIC, LEFT_CONTEXT, VMM, Breach, Counters, GuestStep

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
    breach: Breach | None = None  # the run ended at a resource-control breach (this instruction's)

    def summary(self, isa: ir.Isa) -> str:
        what = self.insn or "(fetch)"
        if self.insn:
            insn = isa.instruction(self.insn)
            ops = ", ".join(f"{o.name}={v:#x}" for o, v in zip(insn.operands, self.ops))
            what = f"{self.insn} {ops}".strip()
        seen = [d for d in self.differences if not d.what.startswith("real ")]
        diffs = "; ".join(f"{d.what}: native {_fmt(d.native)}, virtual {_fmt(d.virtual)}" for d in seen[:4])
        if self.breach is not None:
            diffs = f"resource-control breach: real {', '.join(self.breach.elements)} changed without a trap" + (
                f"; {diffs}" if diffs else ""
            )
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


class Observer:
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


class Lockstep:
    """The test harness's eye on the real machine (not the VMM's: docs/model.md §3).

    Before each guest step it notes the real control state the VMM set up;
    after a directly executed instruction it compares: a control element the
    instruction changed, a mode change that is not the guest's own (docs/model.md
    §2.5; for the hybrid VMM, any change out of virtual user mode), or the real
    machine stopped without a trap is a resource-control breach, attributed to
    that instruction. From there on the real machine is no longer what the VMM
    set up, so native and virtual runs can no longer be relied on to agree: the
    breach is where the comparison ends, as the divergence."""

    def __init__(self, vmm: VMM):
        self.vmm = vmm
        isa = vmm.isa
        lay = vmm.machine.layout
        self.slots = [(lay.slots[e.name], m, e.name) for e, m in isa.role_elements("control") if not e.is_file]
        md = isa.modes
        self.mode_slot, self.mode_bits, self.mode_lo = lay.slots[md.elem], mask(md.width) << md.lo, md.lo
        self.before: list[int] = []

    def note(self) -> None:
        v = self.vmm.machine.state.v
        self.before = [v[s] for s, _, _ in self.slots]

    def breach(self, gs: GuestStep, native_mode: int | None, step: int) -> Breach | None:
        """After `gs`: the breach it made, if it ran directly and made one."""
        vmm = self.vmm
        if gs.how != "direct":
            return None
        v = vmm.machine.state.v
        changed: list[str] = []
        control = False  # a breach under the classic rules too (not only a change out of user mode)
        for (slot, m, name), b in zip(self.slots, self.before):
            diff = (v[slot] ^ b) & m
            if slot == self.mode_slot and diff & self.mode_bits:
                r1, r2 = (b & self.mode_bits) >> self.mode_lo, (v[slot] & self.mode_bits) >> self.mode_lo
                own = native_mode is not None and vmm.cmap.own_mode_change(r1, r2, native_mode)
                control |= not own
                if not own or vmm.kind != CLASSIC:  # a hybrid VMM must regain control at any mode change
                    changed.append(f"{name} (mode {_mode_name(vmm.isa, r1)} -> {_mode_name(vmm.isa, r2)})")
                diff &= ~self.mode_bits
            if diff:
                changed.append(name)
                control = True
        if vmm.stopped == HALTED:
            changed.append("(halted the real machine)")
            control = True
        if not changed:
            return None
        found = Breach(step, gs.pc, gs.insn, tuple(changed), control)
        vmm.counters.breaches.append(found)
        return found


def _mode_name(isa: ir.Isa, code: int) -> str:
    return isa.modes.name_of(code) or str(code)


def _mode_of(isa: ir.Isa, state: State) -> int:
    md = isa.modes
    return (state.get(md.elem) >> md.lo) & mask(md.width)


def breach_differences(b: Breach) -> tuple[Difference, ...]:
    return tuple(Difference(f"real {e}", "as the VMM set it", "changed without a trap") for e in b.elements)


def compare_run(
    isa: ir.Isa,
    context: ir.Context,
    image,
    *,
    kind: str = CLASSIC,
    max_steps: int = 10_000,
    start: State | None = None,
    keep_trace: bool = False,
    storage_every_step: bool = False,
    guest_image=None,
    hypercalls: HypercallTable | None = None,
    timer: int | None = None,
) -> Comparison:
    """Run `image` natively and under the VMM in `context`; stop at the first divergence.

    `guest_image` (default `image`): what the VMM runs instead, a patched program
    whose hypercalls `hypercalls` lists; the units where it differs from `image`
    are not compared.

    A large storage is compared only at the end of the run; when it differs there,
    the run is made again comparing it after every step, so that the difference is
    blamed on the instruction that made it rather than on no instruction.

    `timer`: the period of the spec's interrupt sources, natively and for the
    guest's virtual ones alike (None: the spec's; 0: off). An interrupt
    delivered natively, or injected by the VMM, joins the trap history at the
    pc it interrupted."""
    native = Machine(isa, timer=timer)
    native.load_image(image)
    vmm = make_vmm(isa, context, kind, hypercalls)  # classic, hybrid or translate (translate.py)
    vmm.set_timer(timer)
    vmm.load_image(image if guest_image is None else guest_image)
    patched = _patched_units(image, guest_image)
    vmm.reset()
    native.state.v[:] = vmm.vstate.v  # the guest boots natively where it boots under the VMM
    if start is not None:
        native.state.v[:] = start.v
        vmm.start_from(start)
    obs = Observer(isa)
    eye = Lockstep(vmm)
    small = storage_every_step or isa.storage.size <= STORAGE_EVERY_STEP
    # Without relocation the guest's storage is the real storage itself: compare it in place, every step.
    same_cells = vmm.alloc.base == 0 and len(vmm.machine.storage.cells) == len(native.storage.cells)
    native_history: list[tuple[int, str | None]] = []
    trace = []
    steps = 0
    divergence = None
    stop = None
    left = vmm.stopped == LEFT_CONTEXT  # a start state outside the context: nothing to run
    ev: StepEvent  # the last step of each run (set by the first turn, read from the second on)
    gs: GuestStep
    while steps < max_steps and not left and not (native.stopped and vmm.stopped):
        if native.stopped or vmm.stopped:  # (never before the first step: both start running)
            divergence = _divergence(steps, ev, gs, [Difference("stop", native.stopped, vmm.stopped)])  # noqa: F821
            break
        before = native.state.v[:]
        pc0 = native.pc
        ev = native.step()
        if ev.interrupt is not None:  # delivered before the instruction, at the pc it interrupted
            native_history.append((pc0, native.irq.causes[native.irq.names.index(ev.interrupt)]))
        if ev.outcome is not None and ev.outcome.trapped:
            native_history.append((ev.pc, ev.outcome.cause))
            if native.state.v == before and len(native_history) > 1 and native_history[-2] == native_history[-1]:
                stop = TRAP_LOOP  # a trap whose delivery returns to the same trap, for ever
        vmm.take_interrupt()  # an injection is the VMM's own doing, not the next instruction's
        eye.note()
        gs = vmm.step()
        steps += 1
        if keep_trace:
            trace.append((ev, gs))
        breach = eye.breach(gs, _mode_of(isa, native.state), steps - 1)
        diffs = obs.diff(native.state.v, vmm.guest_view().v)
        if native_history != vmm.history:
            diffs.append(Difference("trap history", native_history[-1:], vmm.history[-1:]))
        if not diffs and (small or same_cells):
            # (a store is caught at the instruction that made it, not at a later load)
            diffs = storage_differences(
                native.storage.cells, vmm.machine.storage.cells if same_cells else vmm.window.snapshot(), patched
            )
        if breach is not None:
            divergence = _divergence(steps - 1, ev, gs, [*breach_differences(breach), *diffs], breach)
            break
        if diffs:
            divergence = _divergence(steps - 1, ev, gs, diffs)
            break
        if vmm.stopped == LEFT_CONTEXT:  # what ran so far agreed; the VMM cannot go further
            left = True
            break
        if stop:
            native.stopped = vmm.stopped = stop
    if left:
        native.stopped = vmm.stopped = f"{LEFT_CONTEXT} ({vmm.detail})"
    if divergence is None and not small:
        diffs = storage_differences(native.storage.cells, vmm.window.snapshot(), patched)
        if diffs:
            return compare_run(
                isa,
                context,
                image,
                kind=kind,
                max_steps=max_steps,
                start=start,
                keep_trace=keep_trace,
                storage_every_step=True,
                guest_image=guest_image,
                hypercalls=hypercalls,
                timer=timer,
            )
    if divergence is None and native.stopped != vmm.stopped:
        divergence = Divergence(
            steps, native.pc, None, (), "end of run", (Difference("stop", native.stopped, vmm.stopped),)
        )
    return Comparison(native.stopped, vmm.stopped, steps, divergence, vmm.counters, trace)


def _divergence(step: int, ev: StepEvent, gs: GuestStep, diffs, breach: Breach | None = None) -> Divergence:
    insn = ev.insn.name if ev.insn is not None else gs.insn
    return Divergence(step, ev.pc, insn, tuple(ev.ops), gs.how, tuple(diffs), breach)


def _patched_units(image, guest_image) -> frozenset[int]:
    """The storage units a patched guest image sets differently from the original."""
    if guest_image is None:
        return frozenset()
    a, b = dict(image), dict(guest_image)
    return frozenset(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def storage_differences(a, b, skip: frozenset[int] = frozenset()) -> list[Difference]:
    """The first unit (outside `skip`) where storages `a` and `b` differ."""
    if a == b:
        return []
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y and i not in skip), None)
    return [] if i is None else [Difference(f"storage[{i:#x}]", a[i], b[i])]
