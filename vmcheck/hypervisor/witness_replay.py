"""The theorem engine's witnesses, shown executing: natively and under the VMM.

A witness names an instance (operand values) and states. The replay starts
the native machine in the state the guest believes it is in (the witness's
virtual state `v`, or the one state of a single-state witness), starts the
VMM with that as its virtual state (the VMM derives the real state itself),
writes the storage cells the witness read into guest storage, runs the one
instance both ways and compares what the guest can see.

A witness is about the *shared view* (docs/model.md §2.4): which accesses
fault, F(kind, privilege, address), and what the view holds. For a spec whose
paging is abstracted into `mem[...]` (no translation of its own, a memory
cause) the replay builds that view concretely (`witness_view`): a
`translation.PageView` that denies every access the witness's F says faults
("current" is the replayed state's own mode) and maps each view unit whose
value differs from physical storage to a fresh physical unit holding it. The
native machine gets that view, the VMM gets it as the guest's virtual view
and composes the real one from it (`VMM.real_view`): so an access `as usr`
from a guest kernel deprivileged to user mode finds the kernel's permissions
on the real machine and user's natively, as on hardware with shadow tables.

A witness may not reproduce, and the replay says why instead of calling
it a divergence: its virtual state is in a mode the context does not map;
its real state `s` has control values this VMM never gives a guest (it
builds the real state from the context, docs/model.md §3); its view cannot be
built as one concrete page map (two entries of F name the same access seen
from the replayed state, one faulting and one not); or, for a spec with a
translation of its own, it rests on faults of the shared view that the
spec's translation does not produce.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.results import Witness
from ..machine.simulator import Machine
from ..machine.translation import PageView, has_view
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


def _place_cells(isa: ir.Isa, machine_port, storage, w: Witness, view: PageView | None = None) -> None:
    """Write the storage cells the witness read: a view cell where the witness's
    view maps it, else through the machine's own translation."""
    for cell in w.memory:
        if "value" not in cell or not isinstance(cell["value"], int):
            continue
        phys = _phys_of(machine_port, cell, view)
        if phys is not None:
            storage.write(phys, 1, cell["value"])


def _phys_of(port, cell: dict, view: PageView | None) -> int | None:
    """The physical unit of a cell the witness read (None: the translation refuses it)."""
    if cell["space"] == "phys":
        return cell["addr"]
    if view is not None:
        return view.phys(cell["addr"])
    try:
        return port.translate(cell["addr"], 1)
    except MemoryTrap:
        return None


def witness_view(isa: ir.Isa, w: Witness, mode: str | None) -> tuple[PageView | None, str]:
    """The concrete view of the witness's shared view, seen from a state in `mode`:
    (the view, "") or (None, why it cannot be built); (None, "") when the spec has
    no view of its own to build (a translation of its own, or no memory cause).

    Every entry of F the witness looked at is one fact about an access (kind,
    level, virtual unit), "current" being `mode`; an entry that faults is denied.
    Two entries naming the same access, one faulting and one not, cannot both
    hold in one page map: that is the reason given. A view unit the witness
    reads or writes whose physical unit it also touches otherwise (through
    `phys[...]`, or as another view unit wrapping onto it) is mapped to a fresh
    physical unit: the engine's view and physical storage are independent."""
    if not has_view(isa):
        return None, ""
    view = PageView.of(isa)
    facts: dict[tuple[str, str, int], tuple[bool, dict]] = {}
    for e in w.view:
        level = mode if e["priv"] == "current" else e["priv"]
        if level is None:  # the state's mode names no level: nothing can be denied to it
            continue
        key = (e["kind"], level, e["addr"] & view.vmask)
        seen = facts.get(key)
        if seen is not None and seen[0] != e["fault"]:
            yes, no = (seen[1], e) if seen[0] else (e, seen[1])
            return None, (
                f"not reproduced: the witness's view cannot be one concrete page map: seen from mode {mode}, "
                f"F({yes['kind']}, {yes['priv']}, {yes['addr']:#x}) faults and F({no['kind']}, {no['priv']}, "
                f"{no['addr']:#x}) does not, and both are a {e['kind']} at level {level} of address "
                f"{e['addr'] & view.vmask:#x}"
            )
        facts[key] = (e["fault"], e)
    for (kind, level, a), (fault, _) in facts.items():
        if fault:
            view.deny(kind, level, a)
    # The view and physical storage are two arrays to the engine (V and P): nothing ties
    # mem[a] to phys[a]. A view unit stays at the identity unless the witness touches the
    # physical unit there too (through phys[...], or as another view unit that wraps onto
    # it): then it gets a fresh physical unit of its own, holding the value it read.
    size = isa.storage.size
    amask = size - 1
    owner: set[int] = set()
    for c in w.memory:
        if c["space"] == "phys":
            owner.add(c["addr"] & amask)
    touched: set[int] = set()
    for c in w.memory:
        if c["space"] == "mem" and isinstance(c.get("value"), int):
            touched.add(c["addr"] & view.vmask)
    for st in w.states:
        for x in st.writes:
            if x.get("space") == "phys":
                owner.add(x["addr"] & amask)
            elif x.get("space") == "mem":
                touched.add(x["addr"] & view.vmask)
    moved = []
    for a in sorted(touched):
        if a & amask in owner:
            moved.append(a)
        else:
            owner.add(a & amask)
    free = (p for p in range(size - 1, -1, -1) if p not in owner)
    for a in moved:
        p = next(free, None)
        if p is None:
            return None, (
                f"not reproduced: the witness's view has {len(moved)} unit(s) apart from the physical storage "
                f"it touches, more than the {size} units of storage can hold"
            )
        owner.add(p)
        view.map_unit(a, p)
    return view, ""


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

    vmm = make_vmm(isa, context, kind)  # classic, hybrid or translate (translate.py)
    vmm.reset()
    start = State(vmm.layout)
    _fill(isa, start, st.pre)
    _as_virtual(isa, context, start)
    md = isa.modes
    view, why = witness_view(isa, w, md.name_of((start.get(md.elem) >> md.lo) & ((1 << md.width) - 1)))
    if why:
        return Replay(insn_name, dict(w.operands), purpose, False, "not run", (), why)
    native.set_view(view)
    _place_cells(isa, native.port, native.storage, w, view)
    vmm.set_view(view.copy() if view is not None else None)
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
            phys = _phys_of(native.port, cell, view)
            if phys is not None:
                vmm.window.write(phys, 1, cell["value"])

    out = native.execute(insn.name, ops)
    native_history = []
    if out.trapped:
        native_history.append((native.pc, out.cause))
        native.deliver_trap(out)
    eye = Lockstep(vmm)
    eye.note()
    gs = vmm.execute(insn, ops)
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
    if not has_view(isa) and (
        any("fault" in c for c in w.memory)
        or any(s.writes and any(x.get("space") not in ("mem", "phys") for x in s.writes) for s in w.states)
    ):
        return (
            "not reproduced: the witness rests on the abstract view (a fault pattern or an access "
            "the spec's concrete translation does not produce)"
        )
    return (
        f"not reproduced: the VMM ran it ({gs.how}) with the same result as native execution from the "
        "witness's virtual state"
    )
