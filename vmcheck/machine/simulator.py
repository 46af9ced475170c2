"""The bare machine: fetch, decode, execute, deliver traps, tick timers.

`Machine(isa)` runs the spec's compiled semantics (`semantics/concrete.py`)
on a `State` and a `Storage`, through the port of the spec's translation.
One step:

1. fetch `insn_units` units at the pc through the translation (kind
   "execute"); an illegal fetch is a memory trap (a variable-length ISA:
   the instance's own length, known once the units at the pc are decoded);
2. decode, once per physical address: the decode cache lives in the storage,
   which drops an entry whenever anything writes over it;
3. run the instruction's generated function;
4. on a trap or memory trap run the spec's trap delivery; a trap inside the
   delivery stops the machine ("double fault");
5. add 1 to every `timer` element (or timer field).

The parts of a step are public, so that whatever runs instructions on this
machine (the simulator's own loops, the reference VMM's direct execution and
dispatcher, the witness replay) runs them the same way:

* `fetch(pc)`: the physical address of the instruction at `pc` (1);
* `decode_at(phys)`: the `Decoded` instruction there, through the cache (2);
* `execute(name, ops)`: one instance's semantics on the state (3);
* `deliver_trap(outcome)`: the spec's trap delivery for a trap (4);
* `tick(state)`: one step's timer increments (5);
* `complete(outcome)`: 4 and 5 for a trap that `run` handed back, counted.

`step()` is the reference: one instruction, a `StepEvent` for traces.
`run()` is the fast path. It runs *basic blocks*: a straight run of
instructions at consecutive addresses, up to one that may jump, halt, always
trap, or change the mode, control state or translation, compiled into one
Python function (`CompiledIsa.block`: the instructions' semantics inlined,
operands as constants, timer ticks between them). A block is built the
`hot`-th time execution arrives at its address (before that, and wherever a
block cannot run, `run()` steps one instruction at a time as `step()` does);
it is kept in the storage's decode cache by physical address and dropped
when anything writes over one of its instructions (a block that overwrites
its own later instructions stops right after the store). Its code reads
everything (mode, registers, translation) from the state when it runs, so it
serves any translation; on entry the whole block's fetch is checked at once
against the current translation (RelocationBounds: pc + its size <= bound),
and a block that would not fit, or would pass `max_steps`, is stepped
instead. So a run gives the same states, outcomes, step counts and timer
values in block mode and step by step (tests/test_blocks.py checks it on
random programs for every bundled spec).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ..semantics.concrete import OK, CompiledInsn, compile_isa
from ..semantics.state import MemoryTrap, Outcome, State
from ..spec import ir
from .decode import Decoder, instance_units
from .storage import Block, Storage
from .syntax import file_size, register_name
from .translation import IdentityPort, PageView, RelocationPort, make_port, view_port

__all__ = [
    "Machine",
    "Decoded",
    "RunResult",
    "StepEvent",
    "HALTED",
    "STEP_LIMIT",
    "DOUBLE_FAULT",
    "UNDECODABLE",
    "TRAPPED",
]

# Why a run stopped.
HALTED = "halted"
STEP_LIMIT = "step limit"
DOUBLE_FAULT = "double fault"
UNDECODABLE = "undecodable instruction"
TRAPPED = "trap"  # run(stop_on_trap=True) only: stopped before delivering a trap

MAX_BLOCK = 64  # instructions per compiled block: bounds the cost of compiling one


@dataclass(frozen=True)
class StepEvent:
    """One step, for traces: where, what, and how it ended."""

    step: int  # steps before this one
    pc: int  # the (virtual) pc of the instruction
    phys: int | None  # its physical address; None: the fetch faulted
    word: int | None  # None: the fetch faulted
    insn: ir.Instruction | None  # None: fetch fault or undecodable word
    ops: tuple[int, ...]
    outcome: Outcome | None  # None: undecodable (nothing ran)
    stop: str | None = None  # set when this step stopped the machine


@dataclass(frozen=True)
class RunResult:
    reason: str  # HALTED, STEP_LIMIT, DOUBLE_FAULT, UNDECODABLE, or TRAPPED
    steps: int  # steps taken by this run
    detail: str = ""
    trap: Outcome | None = None  # TRAPPED: the trap or memory trap, not delivered


class Decoded(NamedTuple):
    """The instruction at one physical address, as the decode cache holds it.

    A tuple, so that the simulator's hot loop may index it (`entry[0]`) as
    cheaply as a plain one. An undecodable word is cached too, with `fn`
    and `compiled` None."""

    fn: Callable | None  # the compiled semantics: fn(state, port, ops) -> Outcome
    ops: tuple[int, ...]  # operand values, in declaration order
    compiled: CompiledInsn | None
    word: int  # the instruction word read from storage

    @property
    def insn(self) -> ir.Instruction | None:
        """The IR instruction; None for an undecodable word."""
        return self.compiled.insn if self.compiled is not None else None


class Machine:
    """One machine of `isa`: its state (registers, reset values), storage and
    translation port, running the spec's compiled semantics (see the module
    docstring). `blocks` and `hot` choose how `run()` goes fast; they change
    nothing it computes."""

    __slots__ = (
        "isa",
        "compiled",
        "layout",
        "state",
        "storage",
        "port",
        "decoder",
        "steps",
        "stopped",
        "detail",
        "_pc",
        "_timers",
        "_codes",
        "_deliver",
        "blocks",
        "hot",
        "_heat",
        "_block_fetch",
        "_variable",
    )

    def __init__(self, isa: ir.Isa, *, blocks: bool = True, hot: int = 8):
        self.isa = isa
        self.compiled = compile_isa(isa)
        self.layout = self.compiled.layout
        self.state = State(self.layout)
        self.storage = Storage(isa.storage, code_units=isa.insn_units)
        self.port = make_port(isa, self.storage, self.state, self.layout)
        self.decoder = Decoder(isa)
        self._variable = isa.variable_length
        self._pc = self.layout.slots[isa.pc]
        self._codes = {c.name: c.code for c in isa.traps.causes}
        self._deliver = self.compiled.deliver_fn
        # (slot, bits kept, increment, field mask) of each timer element or field
        self._timers = self.compiled.timers
        self.blocks = blocks  # run() uses compiled basic blocks
        self.hot = hot  # ... built the hot-th time execution arrives at an address
        self._heat: dict[int, int] = {}
        self._block_fetch = self._fetch_check()
        self.steps = 0
        self.stopped: str | None = None
        self.detail = ""
        self.reset()

    # ---- set-up ------------------------------------------------------------

    def reset(self) -> None:
        """Registers to the spec's reset values (others 0); storage is kept."""
        v = self.state.v
        v[:] = [0] * len(v)  # in place: the port reads this very list
        for name, value in getattr(self.isa, "reset", ()):
            v[self.layout.slots[name]] = value
        self.steps = 0
        self.stopped = None
        self.detail = ""

    def load_image(self, image: Iterable[tuple[int, int]]) -> None:
        self.storage.load_image(image)

    def set_view(self, view: PageView | None) -> None:
        """Give the machine the concrete view `view` (`translation.PageView`: a spec
        whose paging is abstracted into `mem[...]`); None or an unrestricted view is
        the identity with everything allowed, as after construction. A restricted
        view is served step by step (blocks check no fetch against it)."""
        self.port = view_port(self.isa, self.storage, self.state, view, self.layout)
        self._block_fetch = self._fetch_check()

    @property
    def pc(self) -> int:
        return self.state.v[self._pc]

    # ---- the parts of one step (public: the VMM and the witness replay use them) ----

    def fetch(self, pc: int) -> int:
        """The physical address of the instruction at virtual address `pc`,
        checked through the spec's translation as an "execute" access of
        `insn_units` units. Raises `MemoryTrap` (the spec's memory cause)
        when that fetch is illegal. Changes nothing."""
        phys = self.port.fetch(pc)
        if self._variable:
            # The instance's own length, once decoded: each of its units must
            # be fetchable (RelocationBounds: pc + length <= bound).
            entry = self.decode_at(phys)
            if entry.compiled is not None:
                n = instance_units(self.isa, entry.compiled.insn, entry.ops)
                if n > 1:
                    self.port.translate(pc, n)
        return phys

    def decode_at(self, phys: int) -> Decoded:
        """The instruction whose first unit is at physical address `phys`.

        From the storage's decode cache; on a miss the word is read, decoded
        and cached (an undecodable word too, with `fn` None). The cache drops
        an entry whenever anything writes over its units, so the answer is
        always what storage holds now."""
        return self.storage.decoded.get(phys) or self._decode(phys)

    def _decode(self, phys: int) -> Decoded:
        """`decode_at` on a cache miss: decode the word and cache it."""
        word = self.storage.read(phys, self.isa.insn_units)
        found = self.decoder.decode(word)
        if found is None:
            entry = Decoded(None, (), None, word)
        else:
            insn, ops = found
            ci: CompiledInsn = self.compiled.insns[insn.name]
            entry = Decoded(ci.fn, ops, ci, word)
        self.storage.decoded[phys] = entry
        return entry

    def execute(self, name: str, ops: tuple[int, ...]) -> Outcome:
        """Run the semantics of instruction `name` with operand values `ops`
        on the machine's state, through its port, and return the outcome.

        On "ok" (and "halt") the instruction's writes are committed, the pc
        advanced as its semantics say; on a trap or memory trap the state and
        storage are as they were (precise traps, `semantics/concrete.py`).
        Nothing else of a step happens: no trap delivery, no timer tick, no
        step counted (see `deliver_trap`, `tick`, `complete`)."""
        return self.compiled.insns[name].fn(self.state, self.port, ops)

    def deliver_trap(self, out: Outcome) -> str | None:
        """Run the spec's trap delivery for the trap or memory trap `out` on
        the machine's state; the reason to stop, if the delivery ends the run.

        None: delivered, run on. DOUBLE_FAULT: the delivery trapped itself
        (the state is as before the delivery); HALTED: the delivery halted.
        Either way `detail` says what happened. The step is not counted, the
        timers not ticked and `stopped` not set: the caller's step does that."""
        assert out.cause is not None  # a trap or memory trap always has its cause
        done = self._deliver(self.state, self.port, self._codes[out.cause], out.arg, out.fault_addr)
        if done is OK:
            return None
        self.detail = f"{done.kind} {done.cause or ''} while delivering {out.cause}".replace("  ", " ")
        return DOUBLE_FAULT if done.trapped else HALTED

    def _finish(self, out: Outcome) -> str | None:
        """Act on an outcome other than "ok"; the reason to stop, if any."""
        if out.kind == "halt":
            self.detail = ""
            return HALTED
        return self.deliver_trap(out)

    def tick(self, state: State | None = None) -> None:
        """One step's timer increments on `state` (default: the machine's
        own): every `timer` element or field counts one, wrapping within
        its bits. A VMM applies the same rule to its virtual state, whose
        layout is this machine's."""
        v = self.state.v if state is None else state.v
        for slot, keep, inc, fmask in self._timers:
            x = v[slot]
            v[slot] = (x & keep) | ((x + inc) & fmask)

    # ---- one step --------------------------------------------------------------

    def step(self) -> StepEvent:
        """One instruction (the reference the fast `run` loop must agree with)."""
        if self.stopped:
            raise RuntimeError(f"the machine has stopped ({self.stopped}); reset it first")
        pc = self.state.v[self._pc]
        phys: int | None
        word: int | None
        insn: ir.Instruction | None
        ops: tuple[int, ...]
        try:
            phys = self.fetch(pc)
        except MemoryTrap as e:
            phys, word, insn, ops, out = None, None, None, (), Outcome("memtrap", e.cause, 0, e.addr)
        else:
            fn, ops, ci, word = self.decode_at(phys)
            if fn is None or ci is None:  # (both or neither)
                self.stopped = UNDECODABLE
                self.detail = f"word {word:#x} at pc {pc:#x}"
                return StepEvent(self.steps, pc, phys, word, None, (), None, UNDECODABLE)
            insn = ci.insn
            out = fn(self.state, self.port, ops)
        stop = None if out is OK else self._finish(out)
        self.tick()
        self.steps += 1
        self.stopped = stop
        return StepEvent(self.steps - 1, pc, phys, word, insn, ops, out, stop)

    # ---- many steps ----------------------------------------------------------

    def run(
        self, max_steps: int, trace: Callable[[StepEvent], None] | None = None, *, stop_on_trap: bool = False
    ) -> RunResult:
        """Run until the machine stops or `max_steps` steps were taken.

        With `trace`, step by step (`step()`), calling `trace` after each.
        With `stop_on_trap` (for a VMM's direct execution), a trap or memory
        trap is not delivered: the run ends with reason TRAPPED and the
        outcome in `RunResult.trap`, the state as it was before the trapping
        instruction (not counted as a step, timers not ticked), and the
        machine not stopped, so the caller may handle the trap and run on.
        """
        start = self.steps
        if trace is not None:
            if stop_on_trap:
                raise ValueError("stop_on_trap is not available with trace")
            while not self.stopped and self.steps - start < max_steps:
                trace(self.step())
            trap = None
        elif not self.stopped:
            trap = self._run_fast(max_steps, stop_on_trap)
        else:
            trap = None
        taken = self.steps - start
        if trap is not None:
            return RunResult(TRAPPED, taken, f"{trap.kind} {trap.cause}", trap)
        return RunResult(self.stopped or STEP_LIMIT, taken, self.detail)

    def complete(self, out: Outcome) -> RunResult:
        """Finish the step that `run(stop_on_trap=True)` handed back as a
        trap: deliver it with the spec's trap delivery, tick the timers,
        count the step, as the run would have done itself."""
        stop = self._finish(out)
        self.tick()
        self.steps += 1
        self.stopped = stop
        return RunResult(stop or STEP_LIMIT, 1, self.detail)

    def _fetch_check(self) -> tuple | None:
        """How a block's fetch is checked without calling the port: ("id",) or
        ("reloc", base slot, bound slot); None when blocks cannot run on
        this port (a port of another kind steps one instruction at a time)."""
        port = self.port
        if type(port) is IdentityPort:
            return ("id",)
        if type(port) is RelocationPort:
            return ("reloc", port.base, port.bound)
        return None

    def _run_fast(self, max_steps: int, stop_on_trap: bool) -> Outcome | None:
        # Everything the loop touches is a local. Each turn runs a block
        # (one call for many instructions) or, where there is none, one step.
        state, port = self.state, self.port
        v = state.v
        fetch = self.fetch if self._variable else port.fetch  # (the whole instance's check)
        decoded = self.storage.decoded
        blocks = decoded.blocks
        decode_at = self._decode
        finish = self._finish
        tick = self.tick if self._timers else None
        pcs = self._pc
        ok = OK
        check = self._block_fetch if self.blocks else None
        if check is not None and check[0] == "reloc":
            reloc, base_slot, bound_slot = True, check[1], check[2]
        else:
            reloc, base_slot, bound_slot = False, 0, 0
        amask = self.storage.amask
        pc_span = 1 << self.isa.element(self.isa.pc).width
        heat, hot = self._heat, self.hot
        n = 0
        stop = None
        trap = None
        while n < max_steps:
            out = None
            if check is not None:
                pc = v[pcs]
                if reloc:
                    limit = v[bound_slot]
                    phys = (pc + v[base_slot]) & amask
                else:
                    limit = pc_span
                    phys = pc & amask
                blk = blocks.get(phys)
                if blk is None:
                    h = heat.get(phys, 0) + 1
                    heat[phys] = h
                    if h >= hot:
                        blk = self._build_block(phys)
                if blk is not None and pc + blk.units <= limit and n + blk.count <= max_steps:
                    k, out = blk.fn(state, port, blk.alive, max_steps - n)
                    n += k
                    if out is ok:
                        continue
            if out is None:  # one step
                try:
                    phys = fetch(v[pcs])
                except MemoryTrap as e:
                    out = Outcome("memtrap", e.cause, 0, e.addr)
                else:
                    entry = decoded.get(phys) or decode_at(phys)
                    fn = entry[0]
                    if fn is None:
                        stop = UNDECODABLE
                        self.detail = f"word {entry[3]:#x} at pc {v[pcs]:#x}"
                        break
                    out = fn(state, port, entry[1])
                if out is ok:
                    n += 1
                    if tick is not None:
                        tick()
                    continue
            # A trap, a memory trap or a halt: deliver (or hand back), tick, count.
            if stop_on_trap and out.kind != "halt":
                trap = out
                break
            n += 1
            stop = finish(out)
            if tick is not None:
                tick()
            if stop:
                break
        self.steps += n
        self.stopped = stop
        return trap

    def _build_block(self, phys: int) -> Block | None:
        """Compile the basic block at physical address `phys` and cache it;
        None when the word there does not decode."""
        decoded, amask = self.storage.decoded, self.storage.amask
        isa = self.isa
        ends = self.compiled.block_ends
        seq: list[tuple[str, tuple[int, ...]]] = []
        addrs: list[int] = []
        a = phys
        while len(seq) < MAX_BLOCK:
            entry = self.decode_at(a)
            ci = entry.compiled
            if ci is None:  # undecodable
                break
            seq.append((ci.name, entry.ops))
            addrs.append(a)
            a = (a + instance_units(isa, ci.insn, entry.ops)) & amask
            if ends[ci.name] or a == phys:
                break
        if not seq:
            self._heat[phys] = -(1 << 62)  # never again: it does not decode
            return None
        span = sum(instance_units(isa, self.compiled.insns[name].insn, ops) for name, ops in seq)
        blk = Block(self.compiled.block(seq), len(seq), span, tuple(addrs))
        decoded.add_block(phys, blk)
        return blk

    # ---- looking at the state ------------------------------------------------

    def registers(self) -> dict[str, int]:
        """Every register by its assembler name (a file's registers one by one)."""
        out: dict[str, int] = {}
        v, slots = self.state.v, self.layout.slots
        for e in self.isa.elements:
            if e.is_file:
                for i in range(file_size(e)):
                    out[register_name(e, i)] = v[slots[e.name] + i]
            else:
                out[e.name] = v[slots[e.name]]
        return out
