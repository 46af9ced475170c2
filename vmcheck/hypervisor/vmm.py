"""The reference VMM: trap-and-emulate (classic) and hybrid, on the simulated machine.

It runs the way a real VMM runs on hardware (docs/model.md §3): the guest's
instructions execute directly on the real machine, in the real mode that the
guest context maps the guest's virtual mode to, under the real control state
the allocator chose; the VMM keeps the guest's *virtual* state (its mode,
relocation, flags...) in a `State` of its own and enters only on a trap:

* the *dispatcher* stops the real machine before the trap would be
  delivered, and runs the trapping instruction's semantics on the virtual
  state (the *interpreter routine*);
* if it traps there too, the trap is *reflected*: the spec's trap delivery
  runs on the virtual state; otherwise its result is the emulation;
* then the real state is derived from the virtual one again.

The *hybrid* VMM (Theorem 3) interprets every instruction while the guest
believes it is in a mode other than the least privileged one, and runs only
virtual user mode directly. The counters show the three VMM properties:
instructions run directly (efficiency), control state changed by a direct
instruction (a resource-control breach), and emulations split into
privileged instructions and other trapped instances (docs/model.md §2.6's cost).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..machine.decode import Decoder
from ..machine.simulator import DOUBLE_FAULT, HALTED, UNDECODABLE, Machine
from ..machine.translation import make_port
from ..semantics.concrete import OK, compile_isa
from ..semantics.state import MemoryTrap, Outcome, State
from ..spec import ir
from ..errors import UserError
from .allocator import ControlMap, LeftContext, WindowStorage, allocate

CLASSIC, HYBRID = "classic", "hybrid"


@dataclass
class Breach:
    """A direct instruction changed real control state: the VMM never saw it."""

    step: int
    pc: int
    insn: str
    elements: tuple[str, ...]


@dataclass
class Counters:
    direct: int = 0
    emulated_privileged: int = 0  # trapped in the guest context (not a memory trap), ran on the virtual state
    emulated_other: int = 0  # memory-trapped in the guest context but not on the virtual machine
    reflected: int = 0  # trapped on the virtual machine too: delivered to the guest
    interpreted: int = 0  # hybrid VMM: run on the virtual state without trying the real machine
    breaches: list[Breach] = field(default_factory=list)

    @property
    def guest_steps(self) -> int:
        return self.direct + self.emulated_privileged + self.emulated_other + self.reflected + self.interpreted

    def as_dict(self) -> dict:
        return {
            "direct": self.direct, "emulated_privileged": self.emulated_privileged,
            "emulated_other": self.emulated_other, "reflected": self.reflected,
            "interpreted": self.interpreted, "resource_control_breaches": len(self.breaches),
        }


@dataclass(frozen=True)
class GuestStep:
    """One guest instruction as the guest sees it (for traces and divergence reports)."""

    pc: int
    insn: str | None
    ops: tuple[int, ...]
    how: str  # "direct", "emulated", "reflected", "interpreted", "undecodable"
    cause: str | None = None


def guest_reset(isa: ir.Isa, context: ir.Context) -> State:
    """The state a guest boots in: the spec's reset values, except that a reset mode the
    context does not virtualize (a hypervisor's own level, as VMX root) becomes the
    context's most privileged virtual mode, where a guest kernel starts."""
    from ..semantics.state import Layout

    st = State(Layout.of(isa))
    for name, value in isa.reset:
        st.set(name, value)
    md = isa.modes
    m = (st.get(md.elem) >> md.lo) & ((1 << md.width) - 1)
    if md.name_of(m) not in context.virtual_modes:
        top = min(context.virtual_modes, key=md.rank)
        bits = ((1 << md.width) - 1) << md.lo
        st.set(md.elem, (st.get(md.elem) & ~bits) | (md.code(top) << md.lo))
    return st


class VMM:
    """One virtual machine of `isa` in guest context `context`."""

    def __init__(self, isa: ir.Isa, context: ir.Context, kind: str = CLASSIC):
        if kind not in (CLASSIC, HYBRID):
            raise ValueError(kind)
        self.isa, self.context, self.kind = isa, context, kind
        self.alloc = allocate(isa)
        self.machine = Machine(self.alloc.real_isa)  # the real hardware
        self.compiled = compile_isa(isa)
        self.layout = self.compiled.layout
        self.window = WindowStorage(self.machine.storage, self.alloc.base, self.alloc.size)
        self.vstate = State(self.layout)
        self.vport = make_port(isa, self.window, self.vstate, self.layout)
        self.decoder = Decoder(isa)
        self.cmap = ControlMap(isa, context, self.alloc)
        self.counters = Counters()
        self.history: list[tuple[int, str]] = []  # (pc, cause) of every trap delivered to the guest
        self.stopped: str | None = None
        self.detail = ""
        self._pc = self.layout.slots[isa.pc]
        md = isa.modes
        self._mode_slot = self.layout.slots[md.elem]
        self._mode_bits = ((1 << md.width) - 1) << md.lo
        ranks = sorted(context.virtual_modes, key=md.rank)
        self._user_code = md.code(ranks[-1])  # the least privileged virtual mode runs directly
        ctl = dict((e.name, m) for e, m in isa.role_elements("control"))
        self._ctl_slots = [(self.layout.slots[e.name], m, e.name) for e, m in isa.role_elements("control")
                           if not e.is_file]
        self._copy = []  # (slot, count, control mask): what sync copies between real and virtual
        for e in isa.elements:
            slot = self.layout.slots[e.name]
            if e.is_file:
                if e.name not in ctl:
                    self._copy.append((slot, e.count, 0))
            else:
                self._copy.append((slot, 1, ctl.get(e.name, 0)))

    # ---- set-up ------------------------------------------------------------

    def load_image(self, image) -> None:
        self.window.load_image(image)

    def reset(self) -> None:
        self.vstate.v[:] = guest_reset(self.isa, self.context).v
        self.counters = Counters()
        self.history.clear()
        self.stopped, self.detail = None, ""
        self.machine.reset()
        try:
            self.sync_real()
        except LeftContext as e:
            raise UserError(f"{e}: the spec's reset state is outside guest context '{self.context.name}'") from None
        self.cmap.check(self.machine.state)

    def start_from(self, vstate: State) -> None:
        """Begin at an arbitrary virtual state (witness replays)."""
        self.vstate.v[:] = vstate.v
        self.stopped, self.detail = None, ""
        self.sync_real()

    # ---- real <-> virtual ----------------------------------------------------

    def sync_real(self) -> None:
        """Real state := the virtual state's non-control part + the VMM's control."""
        r, v = self.machine.state.v, self.vstate.v
        for slot, n, m in self._copy:
            if n == 1:
                r[slot] = (r[slot] & m) | (v[slot] & ~m)
            else:
                r[slot:slot + n] = v[slot:slot + n]
        self.cmap.apply(self.vstate, self.machine.state)

    def sync_virtual(self) -> None:
        """Virtual state's non-control part := what the guest computed on the real machine."""
        r, v = self.machine.state.v, self.vstate.v
        for slot, n, m in self._copy:
            if n == 1:
                v[slot] = (v[slot] & m) | (r[slot] & ~m)
            else:
                v[slot:slot + n] = r[slot:slot + n]

    @property
    def virtual_mode(self) -> int:
        return self.cmap.virtual_mode(self.vstate)

    # ---- one guest instruction -----------------------------------------------

    def step(self) -> GuestStep:
        gs = self._step()
        self._tick()
        return gs

    def _tick(self) -> None:
        """Timers count guest instructions, whichever way the VMM ran them, as on the bare machine."""
        for v in (self.machine.state.v, self.vstate.v):
            for slot, keep, inc, fmask in self.machine._timers:
                x = v[slot]
                v[slot] = (x & keep) | ((x + inc) & fmask)

    def _step(self) -> GuestStep:
        if self.kind == HYBRID and self.virtual_mode != self._user_code:
            return self._interpret()
        m = self.machine
        pc = m.state.v[self._pc]
        try:
            phys = m.port.fetch(pc)
        except MemoryTrap as e:
            return self._dispatch(pc, None, (), Outcome("memtrap", e.cause))
        fn, ops, ci, word = m.storage.decoded.get(phys) or m._decode_at(phys)
        if fn is None:
            self.stopped, self.detail = UNDECODABLE, f"word {word:#x} at pc {pc:#x}"
            return GuestStep(pc, None, (), "undecodable")
        return self._direct(pc, ci.insn, ops)

    def execute(self, insn: ir.Instruction, ops: tuple[int, ...]) -> GuestStep:
        """One given instance, as if the guest had fetched it (witness replays)."""
        pc = self.vstate.v[self._pc]
        if self.kind == HYBRID and self.virtual_mode != self._user_code:
            return self._interpret((insn, ops))
        return self._direct(pc, insn, ops)

    def _direct(self, pc: int, insn: ir.Instruction, ops) -> GuestStep:
        """Run an instruction directly on the real machine; the dispatcher on a trap."""
        real = self.machine.state
        before = [real.v[s] & msk for s, msk, _ in self._ctl_slots]
        real_mode = self.cmap.virtual_mode(real)
        out = self.compiled[insn.name].fn(real, self.machine.port, ops)
        if out is not OK and out.kind != "halt":
            return self._dispatch(pc, insn, ops, out)
        self.counters.direct += 1
        if self.cmap.follow_mode(real_mode, real, self.vstate):  # the guest's own mode change
            before = [(b & ~self._mode_bits) | (real.v[s] & self._mode_bits) if s == self._mode_slot else b
                      for (s, _, _), b in zip(self._ctl_slots, before)]
        changed = tuple(name for (s, msk, name), b in zip(self._ctl_slots, before) if real.v[s] & msk != b)
        if changed:
            self.counters.breaches.append(Breach(self.counters.guest_steps - 1, pc, insn.name, changed))
        self.sync_virtual()
        if out.kind == "halt":
            self.stopped = HALTED
        return GuestStep(pc, insn.name, ops, "direct")

    def _dispatch(self, pc: int, insn: ir.Instruction | None, ops, real_out: Outcome) -> GuestStep:
        """Entered on every trap the guest raised on the real machine."""
        self.sync_virtual()
        if insn is None:  # the real fetch faulted: fetch again through the virtual translation
            fetched = self._virtual_fetch(pc)
            if isinstance(fetched, GuestStep):
                return fetched
            insn, ops = fetched
        vout = self.compiled[insn.name].fn(self.vstate, self.vport, ops)
        if vout is OK or vout.kind == "halt":
            if real_out.kind == "trap":
                self.counters.emulated_privileged += 1
            else:
                self.counters.emulated_other += 1
            if vout.kind == "halt":
                self.stopped = HALTED
            self.sync_real()
            return GuestStep(pc, insn.name, ops, "emulated", real_out.cause)
        return self._reflect(pc, insn.name, ops, vout)

    def _reflect(self, pc: int, name: str | None, ops, vout: Outcome) -> GuestStep:
        self.counters.reflected += 1
        self.history.append((pc, vout.cause))
        done = self.compiled.deliver(self.vstate, self.vport, vout.cause, vout.arg)
        if done.trapped:
            self.stopped, self.detail = DOUBLE_FAULT, f"{done.kind} {done.cause} while delivering {vout.cause}"
        elif done.kind == "halt":
            self.stopped = HALTED
        self.sync_real()
        return GuestStep(pc, name, ops, "reflected", vout.cause)

    def _virtual_fetch(self, pc: int):
        try:
            phys = self.vport.fetch(pc)
        except MemoryTrap as e:
            return self._reflect(pc, None, (), Outcome("memtrap", e.cause))
        word = self.window.read(phys, self.isa.insn_units)
        found = self.decoder.decode(word)
        if found is None:
            self.stopped, self.detail = UNDECODABLE, f"word {word:#x} at pc {pc:#x}"
            return GuestStep(pc, None, (), "undecodable")
        return found

    def _interpret(self, given=None) -> GuestStep:
        """Hybrid VMM: one instruction run on the virtual machine alone."""
        pc = self.vstate.v[self._pc]
        fetched = given or self._virtual_fetch(pc)
        if isinstance(fetched, GuestStep):
            return fetched
        insn, ops = fetched
        vout = self.compiled[insn.name].fn(self.vstate, self.vport, ops)
        if vout is not OK and vout.kind != "halt":
            self.counters.interpreted += 1
            self.counters.reflected -= 1  # _reflect counts it; here it is one interpreted step
            return self._reflect(pc, insn.name, ops, vout)
        self.counters.interpreted += 1
        if vout.kind == "halt":
            self.stopped = HALTED
        self.sync_real()
        return GuestStep(pc, insn.name, ops, "interpreted")

    def run(self, max_steps: int) -> int:
        n = 0
        while not self.stopped and n < max_steps:
            self.step()
            n += 1
        return n
