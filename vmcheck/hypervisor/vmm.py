"""The reference VMM: trap-and-emulate (classic) and hybrid, on the simulated machine.

It runs the way a real VMM runs on hardware (docs/model.md §3): the guest's
instructions execute directly on the real machine, in the real mode that the
guest context maps the guest's virtual mode to, under real control state the
VMM builds from the context and its allocator; the VMM keeps the guest's
*virtual* state (its mode, relocation, flags...) in a `State` of its own and
learns of the guest only at a trap:

* the *dispatcher* stops the real machine before the trap would be
  delivered, saves the guest's registers (and, where the mode map reads back
  one-to-one, its current mode) from the real machine, and runs the trapping
  instruction's semantics on the virtual state (the *interpreter routine*);
* if it traps there too, the trap is *reflected*: the spec's trap delivery
  runs on the virtual state; otherwise its result is the emulation;
* then the real state is built from the virtual one again (`sync_real`).

Between two traps the VMM reads nothing of the real machine: a mode change
the guest makes without a trap is invisible to it, as on hardware. Whether a
directly executed instruction changed real control state (a resource-control
breach) is observed by the test harness (`lockstep.Lockstep`), never
used by the VMM.

Given a hypercall table (`hypercalls.HypercallTable`: code -> the instance a
paravirtualised guest replaced), a trap raised by the table's trap instruction
with a known code is a request: the dispatcher runs the *original* instance's
semantics on the virtual state (the same interpreter routine) instead of
reflecting the trap, and the guest resumes after the hypercall (the original
advances the pc from the same address; a patched program keeps every address).
A trap the original raises there is reflected, as it would be delivered
natively. Unknown codes are reflected like any trap.

The *hybrid* VMM (Theorem 3) interprets every instruction while the guest
believes it is in a mode other than the least privileged one, and runs only
virtual user mode directly. The counters show the three VMM properties:
instructions run directly (efficiency), breaches the harness observed
(resource control), and emulations split into privileged instructions and
other trapped instances (docs/model.md §2.6's cost).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import UserError
from ..machine.decode import Decoder, instance_units
from ..machine.simulator import DOUBLE_FAULT, HALTED, TRAPPED, UNDECODABLE, Machine
from ..machine.syntax import file_size
from ..machine.translation import PageView, make_port, view_port
from ..semantics.concrete import OK, compile_isa
from ..semantics.state import MemoryTrap, Outcome, State
from ..spec import ir
from .allocator import ControlMap, LeftContext, WindowStorage, allocate
from .hypercalls import Hypercall, HypercallTable

CLASSIC, HYBRID = "classic", "hybrid"
# The guest entered a virtual mode its context does not map: the VMM cannot run it on.
LEFT_CONTEXT = "left the context"


@dataclass
class Breach:
    """A direct instruction changed real control state: the VMM never saw it (observed by
    the test harness, `lockstep.Lockstep`)."""

    step: int
    pc: int
    insn: str | None  # None: the fetch faulted
    elements: tuple[str, ...]
    control: bool = True  # also a control change under the classic rules (False: only left user mode)


@dataclass
class Counters:
    direct: int = 0
    emulated_privileged: int = 0  # trapped in the guest context (not a memory trap), ran on the virtual state
    emulated_other: int = 0  # memory-trapped in the guest context but not on the virtual machine
    reflected: int = 0  # trapped on the virtual machine too: delivered to the guest
    interpreted: int = 0  # hybrid VMM: run on the virtual state without trying the real machine
    # Hypercalls serviced (the original instance ran on the virtual state). Not in
    # `as_dict`: only a paravirtualised guest makes them, and `paravirt --confirm` reports them.
    hypercalls: int = 0
    breaches: list[Breach] = field(default_factory=list)

    @property
    def guest_steps(self) -> int:
        return (
            self.direct
            + self.emulated_privileged
            + self.emulated_other
            + self.reflected
            + self.interpreted
            + self.hypercalls
        )

    def as_dict(self) -> dict:
        return {
            "direct": self.direct,
            "emulated_privileged": self.emulated_privileged,
            "emulated_other": self.emulated_other,
            "reflected": self.reflected,
            "interpreted": self.interpreted,
            "resource_control_breaches": len(self.breaches),
        }


# An instance as fetched: the instruction and its operand values.
Fetched = tuple[ir.Instruction, tuple[int, ...]]


@dataclass(frozen=True)
class GuestStep:
    """One guest instruction as the guest sees it (for traces and divergence reports)."""

    pc: int
    insn: str | None
    ops: tuple[int, ...]
    how: str  # "direct", "emulated", "reflected", "interpreted", "hypercall", "undecodable"
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

    def __init__(self, isa: ir.Isa, context: ir.Context, kind: str = CLASSIC, hypercalls: HypercallTable | None = None):
        if kind not in (CLASSIC, HYBRID):
            raise ValueError(kind)
        self.isa, self.context, self.kind = isa, context, kind
        self.hypercalls = hypercalls
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
        ranks = sorted(context.virtual_modes, key=md.rank)
        self._user_code = md.code(ranks[-1])  # the least privileged virtual mode runs directly
        ctl = dict((e.name, m) for e, m in isa.role_elements("control"))
        # (slot, count, control mask): the guest's own (non-control) part of the state
        self._copy: list[tuple[int, int, int]] = []
        for e in isa.elements:
            slot = self.layout.slots[e.name]
            if e.is_file:
                if e.name not in ctl:
                    self._copy.append((slot, file_size(e), 0))
            else:
                self._copy.append((slot, 1, ctl.get(e.name, 0)))
        # True while the guest's registers live in the real machine, changed by direct
        # execution since the VMM last saw them (they are saved at the next trap).
        self._running = False
        # The guest's virtual view (`set_view`); None: the identity with everything allowed.
        self.view: PageView | None = None

    # ---- set-up ------------------------------------------------------------

    def load_image(self, image: Iterable[tuple[int, int]]) -> None:
        self.window.load_image(image)

    def reset(self) -> None:
        self.vstate.v[:] = guest_reset(self.isa, self.context).v
        self.counters = Counters()
        self.history.clear()
        self.stopped, self.detail = None, ""
        self.machine.reset()
        self.sync_real()
        if self.stopped == LEFT_CONTEXT:
            raise UserError(f"{self.detail}: the spec's reset state is outside guest context '{self.context.name}'")
        self.cmap.check(self.machine.state)

    def start_from(self, vstate: State) -> None:
        """Begin at an arbitrary virtual state (witness replays, fuzzed guests started in
        a given virtual mode). Stops with LEFT_CONTEXT when its mode is not the context's."""
        self.vstate.v[:] = vstate.v
        self.stopped, self.detail = None, ""
        self.sync_real()

    # ---- real <-> virtual ----------------------------------------------------

    def sync_real(self) -> None:
        """Build the real state the guest runs in next: its own (non-control) registers
        from the virtual state, control state from the context and the allocator.

        A virtual mode the context does not map cannot be run here: the VMM stops
        with LEFT_CONTEXT (the emulation or reflection that led there is complete
        in the virtual state, so what happened up to this point can still be judged)."""
        r, v = self.machine.state.v, self.vstate.v
        for slot, n, m in self._copy:
            if n == 1:
                r[slot] = (r[slot] & m) | (v[slot] & ~m)
            else:
                r[slot : slot + n] = v[slot : slot + n]
        try:
            self.cmap.build(self.vstate, self.machine.state)
        except LeftContext as e:
            self.stopped, self.detail = LEFT_CONTEXT, str(e)
            self._running = False
            return
        self._running = False  # the real registers equal the virtual ones right now
        self._sync_view()

    def save_guest(self) -> None:
        """At a trap: take the guest's registers back from the real machine. Its mode too,
        where the real mode reads back one-to-one (the guest changed it itself, between
        modes the context maps to themselves); this is what trap delivery shows a real
        VMM (the saved PSW), not a look between two direct instructions."""
        if not self._running:
            return
        r, v = self.machine.state.v, self.vstate.v
        for slot, n, m in self._copy:
            if n == 1:
                v[slot] = (v[slot] & m) | (r[slot] & ~m)
            else:
                v[slot : slot + n] = r[slot : slot + n]
        self.cmap.read_back_mode(self.machine.state, self.vstate)
        self._running = False

    def guest_view(self) -> State:
        """The guest's state as the VMM would save it at a trap now: for the lockstep
        observer only (the VMM itself looks only at traps)."""
        view = State(self.layout)
        view.v[:] = self.vstate.v
        if self._running:
            r, v = self.machine.state.v, view.v
            for slot, n, m in self._copy:
                if n == 1:
                    v[slot] = (v[slot] & m) | (r[slot] & ~m)
                else:
                    v[slot : slot + n] = r[slot : slot + n]
            self.cmap.read_back_mode(self.machine.state, view)
        return view

    @property
    def virtual_mode(self) -> int:
        return self.cmap.virtual_mode(self.vstate)

    # ---- the view: shadow tables (docs/model.md §2.4) -------------------------

    def set_view(self, view: PageView | None) -> None:
        """Give the guest the virtual view `view` (a spec whose paging is abstracted
        into `mem[...]`, `translation.PageView`): the interpreter routines and trap
        reflection use it on the virtual state, and the real machine gets the view
        composed from it (`real_view`), rebuilt whenever the real state is."""
        self.view = view
        self.vport = view_port(self.isa, self.window, self.vstate, view, self.layout)
        if view is None:
            self.machine.set_view(None)
        self._sync_view()

    def real_view(self) -> PageView | None:
        """The view the real machine runs the guest under, as shadow page tables give it:
        the same map (shifted into the guest's window), and for the permissions, each
        real level has those of a virtual mode: the level the guest runs at now those of
        its *current* virtual mode (a deprivileged guest kernel keeps its kernel's
        access); another real level those of the most privileged virtual mode the
        context maps to it, or, when none is, of the most privileged virtual mode (the
        most a guest access `as` that level could be given)."""
        view = self.view
        if view is None:
            return None
        md = self.isa.modes
        vmode = md.name_of(self.virtual_mode)
        real_of = dict(self.context.modes)
        top = min(self.context.virtual_modes, key=md.rank)
        source: dict[str, str] = {}
        for v in sorted(self.context.virtual_modes, key=md.rank, reverse=True):
            source[real_of[v]] = v  # the most privileged preimage is written last
        if vmode in real_of:
            source[real_of[vmode]] = vmode
        real = PageView(view.levels, 0)
        real.vmask = view.vmask
        base = self.alloc.base
        real.mapping = {a: base + p for a, p in view.mapping.items()} if base else dict(view.mapping)
        denied_of = {lv: view.permissions(lv) for lv in view.levels}
        for level in view.levels:
            for kind, a in denied_of[source.get(level, top)]:
                real.denied.add((kind, level, a))
        return real

    def _sync_view(self) -> None:
        if self.view is not None:
            self.machine.set_view(self.real_view())

    # ---- one guest instruction -----------------------------------------------

    def step(self) -> GuestStep:
        gs = self._step()
        self._tick()
        return gs

    def _tick(self) -> None:
        """Timers count guest instructions, whichever way the VMM ran them, as on the bare machine."""
        self.machine.tick()
        self.machine.tick(self.vstate)

    def _interpreting(self) -> bool:
        """Hybrid VMM: the virtual mode, as the VMM last learnt it (at a trap), is not user."""
        return self.kind == HYBRID and self.virtual_mode != self._user_code

    def _step(self) -> GuestStep:
        if self._interpreting():
            return self._interpret()
        pc = self.machine.state.v[self._pc]
        fetched = self._real_fetch(pc)
        if isinstance(fetched, GuestStep):
            return fetched
        insn, ops = fetched
        return self._direct(pc, insn, ops)

    def _real_fetch(self, pc: int) -> Fetched | GuestStep:
        """The instance at `pc` as the real machine fetches it: (instruction,
        operands), or the step that a fetch fault or an undecodable word makes."""
        m = self.machine
        try:
            phys = m.fetch(pc)
        except MemoryTrap as e:
            return self._dispatch(pc, None, (), Outcome("memtrap", e.cause, 0, e.addr))
        _, ops, ci, word = m.decode_at(phys)
        if ci is None:
            self.stopped, self.detail = UNDECODABLE, f"word {word:#x} at pc {pc:#x}"
            return GuestStep(pc, None, (), "undecodable")
        return ci.insn, ops

    def execute(self, insn: ir.Instruction, ops: tuple[int, ...]) -> GuestStep:
        """One given instance, as if the guest had fetched it (witness replays)."""
        pc = self.vstate.v[self._pc]
        if self._interpreting():
            return self._interpret((insn, ops))
        return self._direct(pc, insn, ops)

    def _direct(self, pc: int, insn: ir.Instruction, ops: tuple[int, ...]) -> GuestStep:
        """Run an instruction directly on the real machine; the dispatcher on a trap."""
        # The real machine's own semantics (of `alloc.real_isa`), as its compiled
        # blocks in `run()` use: the guest's instruction is the real one.
        out = self.machine.execute(insn.name, ops)
        if out is not OK and out.kind != "halt":
            return self._dispatch(pc, insn, ops, out)
        self.counters.direct += 1
        self._running = True
        if out.kind == "halt":  # the real machine stopped: no trap, so the VMM never runs again
            self.stopped = HALTED
        return GuestStep(pc, insn.name, ops, "direct")

    def _dispatch(self, pc: int, insn: ir.Instruction | None, ops: tuple[int, ...], real_out: Outcome) -> GuestStep:
        """Entered on every trap the guest raised on the real machine."""
        self.save_guest()
        if insn is None:  # the real fetch faulted: fetch again through the virtual translation
            fetched = self._virtual_fetch(pc)
            if isinstance(fetched, GuestStep):
                return fetched
            insn, ops = fetched
        call = self._request(insn, ops) if real_out.kind == "trap" else None
        if call is not None:
            return self._service(pc, insn, ops, call)
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

    def _request(self, insn: ir.Instruction, ops: tuple[int, ...]) -> Hypercall | None:
        """The hypercall this instance makes, when the VMM has a table and knows its code."""
        return self.hypercalls.lookup(insn.name, ops) if self.hypercalls is not None else None

    def _service(self, pc: int, insn: ir.Instruction, ops: tuple[int, ...], call: Hypercall) -> GuestStep:
        """Run the instance the hypercall stands for on the virtual state, from the
        hypercall's own address (so its pc update resumes the guest after it)."""
        vout = self.compiled[call.insn].fn(self.vstate, self.vport, call.ops)
        if vout is not OK and vout.kind != "halt":
            return self._reflect(pc, call.insn, call.ops, vout)  # natively the original traps here too
        self.counters.hypercalls += 1
        if vout.kind == "halt":
            self.stopped = HALTED
        self.sync_real()
        return GuestStep(pc, insn.name, ops, "hypercall", call.insn)

    def _reflect(self, pc: int, name: str | None, ops: tuple[int, ...], vout: Outcome) -> GuestStep:
        assert vout.cause is not None  # a trap or memory trap always has its cause
        self.counters.reflected += 1
        self.history.append((pc, vout.cause))
        done = self.compiled.deliver(self.vstate, self.vport, vout.cause, vout.arg, vout.fault_addr)
        if done.trapped:
            self.stopped, self.detail = DOUBLE_FAULT, f"{done.kind} {done.cause} while delivering {vout.cause}"
        elif done.kind == "halt":
            self.stopped = HALTED
        self.sync_real()
        return GuestStep(pc, name, ops, "reflected", vout.cause)

    def _virtual_fetch(self, pc: int) -> Fetched | GuestStep:
        try:
            phys = self.vport.fetch(pc)
        except MemoryTrap as e:
            return self._reflect(pc, None, (), Outcome("memtrap", e.cause, 0, e.addr))
        word = self.window.read(phys, self.isa.insn_units)
        found = self.decoder.decode(word)
        if found is None:
            self.stopped, self.detail = UNDECODABLE, f"word {word:#x} at pc {pc:#x}"
            return GuestStep(pc, None, (), "undecodable")
        if self.isa.variable_length:  # every unit of the instance, as `Machine.fetch` checks it
            n = instance_units(self.isa, found[0], found[1])
            try:
                if n > 1:
                    self.vport.translate(pc, n)
            except MemoryTrap as e:
                return self._reflect(pc, None, (), Outcome("memtrap", e.cause, 0, e.addr))
        return found

    def _interpret(self, given: Fetched | None = None) -> GuestStep:
        """Hybrid VMM: one instruction run on the virtual machine alone."""
        self.save_guest()
        pc = self.vstate.v[self._pc]
        fetched = given or self._virtual_fetch(pc)
        if isinstance(fetched, GuestStep):
            return fetched
        insn, ops = fetched
        call = self._request(insn, ops)
        if call is not None:  # the VMM sees the hypercall itself: no trap to wait for
            return self._service(pc, insn, ops, call)
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
        """Run the guest for up to `max_steps` instructions; the number run.

        What `step()` repeated does, faster: between two traps the guest runs
        on the real machine's compiled blocks (`Machine.run(stop_on_trap=True)`),
        as on hardware, and the VMM is entered only at the trap. The lockstep
        comparison steps one instruction at a time instead, to observe each."""
        n = 0
        m = self.machine
        while not self.stopped and n < max_steps:
            if self._interpreting():
                self.step()
                n += 1
                continue
            res = m.run(max_steps - n, stop_on_trap=True)
            if res.steps:  # timers were ticked by the machine; the VMM reads them back at the next trap
                self.counters.direct += res.steps
                self._running = True
                n += res.steps
            if res.reason == TRAPPED:
                trap = res.trap
                assert trap is not None  # TRAPPED hands the trap back
                pc = m.state.v[self._pc]
                insn: ir.Instruction | None
                ops: tuple[int, ...]
                if trap.kind == "memtrap" and self._fetch_faults(pc):
                    insn, ops = None, ()
                else:
                    fetched = self._real_fetch(pc)
                    assert not isinstance(fetched, GuestStep)  # it ran (and trapped): it was fetched
                    insn, ops = fetched
                self._dispatch(pc, insn, ops, trap)
                self._tick()
                n += 1
            elif res.reason in (HALTED, UNDECODABLE):
                self.stopped, self.detail = res.reason, res.detail
        return n

    def _fetch_faults(self, pc: int) -> bool:
        try:
            self.machine.fetch(pc)
        except MemoryTrap:
            return True
        return False
