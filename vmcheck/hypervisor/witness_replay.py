"""The theorem engine's witnesses, shown executing: natively and under the VMM.

A witness names an instance (operand values) and states. The replay starts
the native machine in the state the guest believes it is in (the witness's
virtual state `v`, or the one state of a single-state witness), starts the
VMM with that as its virtual state (the VMM derives the real state itself),
writes the storage cells the witness read into guest storage, runs the one
instance both ways and compares what the guest can see.

A witness may not reproduce, and the replay says why instead of calling
it a divergence: its virtual state is in a mode the context does not map;
its real state `s` has control values this VMM never gives a guest (it
builds the real state from the context, docs/model.md §3); or it rests on the
*shared view* (docs/model.md §2.4), whose faults are free, while the simulator
has the spec's own translation.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.results import Witness
from ..machine.simulator import Machine
from ..semantics.state import MemoryTrap, State
from ..spec import ir
from .lockstep import Difference, Lockstep, Observer, breach_differences, storage_differences
from .translate import make_vmm
from .vmm import LEFT_CONTEXT, VMM, Breach


@dataclass(frozen=True)
class Replay:
    insn: str
    operands: dict[str, int]
    purpose: str  # "violation" (must diverge) or "emulation" (must match native)
    diverged: bool
    how: str  # how the VMM ran it
    differences: tuple[Difference, ...]
    note: str = ""  # why a violation was not reproduced, or that the guest left the context
    breach: Breach | None = None  # a directly executed instance changed real control state
    left: bool = False  # the guest then entered a mode the context does not map

    @property
    def agrees(self) -> bool:
        return self.diverged == (self.purpose == "violation")


def _start_state(isa: ir.Isa, w: Witness, prefer: tuple[str, ...]):
    by_label = {s.label: s for s in w.states}
    st = next((by_label[x] for x in prefer if x in by_label), w.states[0])
    return st


def _fill(isa: ir.Isa, state: State, pre: dict) -> None:
    for e in isa.elements:
        if e.name not in pre:
            continue
        val = pre[e.name]
        if e.is_file:
            for i, x in enumerate(val):
                state.set(e.name, x, i)
        else:
            state.set(e.name, val)


def _as_virtual(isa: ir.Isa, context: ir.Context, state: State) -> None:
    """A witness with a real state only (`s`, control sensitive there): the guest runs
    there believing it is in a virtual mode that the context maps to `s`'s mode. Take
    the most privileged such mode (the guest kernel), keeping everything else."""
    md = isa.modes
    code = (state.get(md.elem) >> md.lo) & ((1 << md.width) - 1)
    name = md.name_of(code)
    if name in context.virtual_modes:
        return
    pre = sorted((v for v, r in context.modes if r == name), key=md.rank)
    if pre:
        bits = ((1 << md.width) - 1) << md.lo
        state.set(md.elem, (state.get(md.elem) & ~bits) | (md.code(pre[0]) << md.lo))


def _place_cells(isa: ir.Isa, machine_port, storage, w: Witness) -> None:
    """Write the storage cells the witness read, through the machine's own translation."""
    for cell in w.memory:
        if "value" not in cell or not isinstance(cell["value"], int):
            continue
        addr = cell["addr"]
        if cell["space"] == "phys":
            storage.write(addr, 1, cell["value"])
            continue
        try:
            phys = machine_port.translate(addr, 1)
        except MemoryTrap:
            continue
        storage.write(phys, 1, cell["value"])


def replay_witness(
    isa: ir.Isa,
    context: ir.Context,
    kind: str,
    insn_name: str,
    w: Witness,
    purpose: str,
    prefer: tuple[str, ...] = ("v", "s'", "h", "s"),
) -> Replay:
    insn = isa.instruction(insn_name)
    ops = tuple(w.operands.get(o.name, 0) for o in insn.operands)
    st = _start_state(isa, w, prefer)

    native = Machine(isa)
    _fill(isa, native.state, st.pre)
    _place_cells(isa, native.port, native.storage, w)

    vmm = make_vmm(isa, context, kind)  # classic, hybrid or translate (translate.py)
    vmm.reset()
    start = State(vmm.layout)
    _fill(isa, start, st.pre)
    _as_virtual(isa, context, start)
    native.state.v[:] = start.v
    vmm.start_from(start)
    if vmm.stopped == LEFT_CONTEXT:
        return Replay(
            insn_name,
            dict(w.operands),
            purpose,
            False,
            "not run",
            (),
            f"not run: the witness's state '{st.label}' is in a mode this context does not virtualize ({vmm.detail})",
        )
    for cell in w.memory:  # guest-physical storage is the native machine's physical storage
        if "value" in cell and isinstance(cell["value"], int):
            try:
                phys = cell["addr"] if cell["space"] == "phys" else native.port.translate(cell["addr"], 1)
            except MemoryTrap:
                continue
            vmm.window.write(phys, 1, cell["value"])

    out = native.execute(insn.name, ops)
    native_history = []
    if out.trapped:
        native_history.append((native.pc, out.cause))
        native.deliver_trap(out)
    eye = Lockstep(vmm)
    eye.note()
    gs = vmm.execute(insn, ops)
    md = isa.modes
    breach = eye.breach(gs, (native.state.get(md.elem) >> md.lo) & ((1 << md.width) - 1), 0)
    diffs = Observer(isa).diff(native.state.v, vmm.guest_view().v)
    if native_history != vmm.history:
        diffs.append(Difference("trap history", native_history, vmm.history))
    if not diffs:
        diffs = storage_differences(native.storage.cells, vmm.window.snapshot())
    if breach is not None:
        diffs = [*breach_differences(breach), *diffs]
    note = ""
    if vmm.stopped == LEFT_CONTEXT:
        note = (
            f"the guest then left the context ({vmm.detail}): the VMM cannot run it further, a limit "
            "of this context that no verdict is about"
        )
    if purpose == "violation" and not diffs:
        note = _why_not_reproduced(isa, vmm, w, st, gs) + (f"; {note}" if note else "")
    return Replay(
        insn_name,
        dict(w.operands),
        purpose,
        bool(diffs),
        gs.how,
        tuple(diffs),
        note,
        breach=breach,
        left=vmm.stopped == LEFT_CONTEXT,
    )


def _why_not_reproduced(isa: ir.Isa, vmm: VMM, w: Witness, st, gs) -> str:
    """The true reason a violation's witness showed nothing on the simulator."""
    real = next((s for s in w.states if s.label == "s"), None)
    if real is not None:
        mine = vmm.machine.state
        composed = {isa.modes.elem, *(vmm.cmap.reloc or ())}  # mapped and composed, not chosen
        ctl = [
            e.name
            for e, m in isa.role_elements("control")
            if not e.is_file
            and e.name not in composed
            and e.name in real.pre
            and (real.pre[e.name] ^ mine.get(e.name)) & m
        ]
        if ctl:
            return (
                "not reproduced: the witness's real state 's' has control state this VMM does not give the "
                f"guest ({', '.join(ctl)}: it runs the guest with the host's values and the context's)"
            )
    if any("fault" in c for c in w.memory) or any(
        s.writes and any(x.get("space") not in ("mem", "phys") for x in s.writes) for s in w.states
    ):
        return (
            "not reproduced: the witness rests on the abstract view (a fault pattern or an access "
            "the spec's concrete translation does not produce)"
        )
    return (
        f"not reproduced: the VMM ran it ({gs.how}) with the same result as native execution from the "
        "witness's virtual state"
    )
