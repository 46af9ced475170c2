"""The theorem engine's witnesses, shown executing: natively and under the VMM.

A witness names an instance (operand values) and states. The replay starts
the native machine in the state the guest believes it is in (the witness's
virtual state `v`, or the one state of a single-state witness), starts the
VMM with that as its virtual state (the VMM derives the real state itself),
writes the storage cells the witness read into guest storage, runs the one
instance both ways and compares what the guest can see.

The engine decides over the *shared view* (docs/model.md §2.4), in which faults
are free; the simulator has the spec's own translation. So a witness whose
divergence rests on a fault pattern the concrete translation cannot produce
(an access at a named privilege, say) does not reproduce; the replay says
so instead of calling it a divergence.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis.results import Witness
from ..machine.simulator import Machine
from ..semantics.state import MemoryTrap, State
from ..spec import ir
from .confirm import Difference, _Observer, _storage_diffs
from .vmm import VMM


@dataclass(frozen=True)
class Replay:
    insn: str
    operands: dict[str, int]
    purpose: str  # "violation" (must diverge) or "emulation" (must match native)
    diverged: bool
    how: str  # how the VMM ran it
    differences: tuple[Difference, ...]
    note: str = ""

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


def replay_witness(isa: ir.Isa, context: ir.Context, kind: str, insn_name: str, w: Witness,
                   purpose: str, prefer: tuple[str, ...] = ("v", "s'", "h", "s")) -> Replay:
    insn = isa.instruction(insn_name)
    ops = tuple(w.operands.get(o.name, 0) for o in insn.operands)
    st = _start_state(isa, w, prefer)

    native = Machine(isa)
    _fill(isa, native.state, st.pre)
    _place_cells(isa, native.port, native.storage, w)

    vmm = VMM(isa, context, kind)
    vmm.reset()
    start = State(vmm.layout)
    _fill(isa, start, st.pre)
    try:
        vmm.start_from(start)
    except Exception as e:  # the virtual mode is outside the context's map
        return Replay(insn_name, dict(w.operands), purpose, False, "not run", (), f"cannot start the VMM: {e}")
    for cell in w.memory:  # guest-physical storage is the native machine's physical storage
        if "value" in cell and isinstance(cell["value"], int):
            try:
                phys = cell["addr"] if cell["space"] == "phys" else native.port.translate(cell["addr"], 1)
            except MemoryTrap:
                continue
            vmm.window.write(phys, 1, cell["value"])

    out = native.compiled[insn.name].fn(native.state, native.port, ops)
    native_history = []
    if out.trapped:
        native_history.append((native.pc, out.cause))
        native._finish(out)
    gs = vmm.execute(insn, ops)
    diffs = _Observer(isa).diff(native.state.v, vmm.vstate.v)
    if native_history != vmm.history:
        diffs.append(Difference("trap history", native_history, vmm.history))
    if not diffs:
        diffs = _storage_diffs(native.storage.cells, vmm.window.snapshot())
    note = ""
    if purpose == "violation" and not diffs:
        note = ("not reproduced on the simulator: the witness rests on the abstract view "
                "(a fault or translation the spec's concrete translation does not produce)")
    return Replay(insn_name, dict(w.operands), purpose, bool(diffs), gs.how, tuple(diffs), note)
