"""The bare machine: fetch, decode, execute, deliver traps, tick timers.

`Machine(isa)` runs the spec's compiled semantics (`semantics/concrete.py`)
on a `State` and a `Storage`, through the port of the spec's translation.
One step:

1. fetch `insn_units` units at the pc through the translation (kind
   "execute"); an illegal fetch is a memory trap;
2. decode, once per physical address: the decode cache lives in the storage,
   which drops an entry whenever anything writes over it;
3. run the instruction's generated function;
4. on a trap or memory trap run the spec's trap delivery; a trap inside the
   delivery stops the machine ("double fault");
5. add 1 to every `timer` element (or timer field).

`run()` is the fast loop (locals, no per-step objects); `step()` is the
plain one that `run(trace=...)` and the tests use, so the two are checked
against each other. A later basic-block compiler would replace the body of
`run()` and keep `step()` as its reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..semantics.concrete import OK, CompiledInsn, compile_isa
from ..semantics.state import MemoryTrap, Outcome, State
from ..spec import ir
from ..spec.ir import mask
from .decode import Decoder
from .storage import Storage
from .translation import make_port

__all__ = ["Machine", "RunResult", "StepEvent", "HALTED", "STEP_LIMIT", "DOUBLE_FAULT", "UNDECODABLE"]

# Why a run stopped.
HALTED = "halted"
STEP_LIMIT = "step limit"
DOUBLE_FAULT = "double fault"
UNDECODABLE = "undecodable instruction"


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
    reason: str  # HALTED, STEP_LIMIT, DOUBLE_FAULT or UNDECODABLE
    steps: int  # steps taken by this run
    detail: str = ""


# A decode-cache entry: (function, operands, compiled instruction, word);
# an undecodable word caches function None.
_Entry = tuple


class Machine:
    __slots__ = (
        "isa", "compiled", "layout", "state", "storage", "port", "decoder",
        "steps", "stopped", "detail", "_pc", "_timers", "_codes", "_deliver",
    )

    def __init__(self, isa: ir.Isa):
        self.isa = isa
        self.compiled = compile_isa(isa)
        self.layout = self.compiled.layout
        self.state = State(self.layout)
        self.storage = Storage(isa.storage, code_units=isa.insn_units)
        self.port = make_port(isa, self.storage, self.state, self.layout)
        self.decoder = Decoder(isa)
        self._pc = self.layout.slots[isa.pc]
        self._codes = {c.name: c.code for c in isa.traps.causes}
        self._deliver = self.compiled.deliver_fn
        # (slot, bits kept, increment, field mask) of each timer element or field
        self._timers = tuple(
            (self.layout.slots[e.name], mask(e.width) & ~m, m & -m, m)
            for e, m in isa.role_elements("timer")
            if not e.is_file
        )
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

    @property
    def pc(self) -> int:
        return self.state.v[self._pc]

    # ---- one step ------------------------------------------------------------

    def _decode_at(self, phys: int) -> _Entry:
        word = self.storage.read(phys, self.isa.insn_units)
        found = self.decoder.decode(word)
        if found is None:
            entry = (None, (), None, word)
        else:
            insn, ops = found
            ci: CompiledInsn = self.compiled.insns[insn.name]
            entry = (ci.fn, ops, ci, word)
        self.storage.decoded[phys] = entry
        return entry

    def _finish(self, out: Outcome) -> str | None:
        """Act on an outcome other than "ok"; the reason to stop, if any."""
        if out.kind == "halt":
            self.detail = ""
            return HALTED
        done = self._deliver(self.state, self.port, self._codes[out.cause], out.arg)
        if done is OK:
            return None
        self.detail = f"{done.kind} {done.cause or ''} while delivering {out.cause}".replace("  ", " ")
        return DOUBLE_FAULT if done.trapped else HALTED

    def _tick(self) -> None:
        v = self.state.v
        for slot, keep, inc, fmask in self._timers:
            x = v[slot]
            v[slot] = (x & keep) | ((x + inc) & fmask)

    def step(self) -> StepEvent:
        """One instruction (the reference the fast `run` loop must agree with)."""
        if self.stopped:
            raise RuntimeError(f"the machine has stopped ({self.stopped}); reset it first")
        pc = self.state.v[self._pc]
        try:
            phys = self.port.fetch(pc)
        except MemoryTrap as e:
            phys, word, insn, ops, out = None, None, None, (), Outcome("memtrap", e.cause)
        else:
            fn, ops, ci, word = self.storage.decoded.get(phys) or self._decode_at(phys)
            if fn is None:
                self.stopped = UNDECODABLE
                self.detail = f"word {word:#x} at pc {pc:#x}"
                return StepEvent(self.steps, pc, phys, word, None, (), None, UNDECODABLE)
            insn = ci.insn
            out = fn(self.state, self.port, ops)
        stop = None if out is OK else self._finish(out)
        self._tick()
        self.steps += 1
        self.stopped = stop
        return StepEvent(self.steps - 1, pc, phys, word, insn, ops, out, stop)

    # ---- many steps ----------------------------------------------------------

    def run(self, max_steps: int, trace: Callable[[StepEvent], None] | None = None) -> RunResult:
        """Run until the machine stops or `max_steps` steps were taken."""
        start = self.steps
        if trace is not None:
            while not self.stopped and self.steps - start < max_steps:
                trace(self.step())
        elif not self.stopped:
            self._run_fast(max_steps)
        taken = self.steps - start
        return RunResult(self.stopped or STEP_LIMIT, taken, self.detail)

    def _run_fast(self, max_steps: int) -> None:
        # Everything the loop touches is a local; the common path is one dict
        # lookup and one call per instruction.
        state, port = self.state, self.port
        v = state.v
        fetch = port.fetch
        decoded = self.storage.decoded
        decode_at = self._decode_at
        finish = self._finish
        tick = self._tick if self._timers else None
        pcs = self._pc
        ok = OK
        n = 0
        stop = None
        while n < max_steps:
            try:
                phys = fetch(v[pcs])
            except MemoryTrap as e:
                out = Outcome("memtrap", e.cause)
            else:
                entry = decoded.get(phys) or decode_at(phys)
                fn = entry[0]
                if fn is None:
                    stop = UNDECODABLE
                    self.detail = f"word {entry[3]:#x} at pc {v[pcs]:#x}"
                    break
                out = fn(state, port, entry[1])
            n += 1
            if out is not ok:
                stop = finish(out)
            if tick is not None:
                tick()
            if stop:
                break
        self.steps += n
        self.stopped = stop

    # ---- looking at the state ------------------------------------------------

    def registers(self) -> dict[str, int]:
        """Every register by its assembler name (a file's registers one by one)."""
        out: dict[str, int] = {}
        v, slots = self.state.v, self.layout.slots
        for e in self.isa.elements:
            if e.is_file:
                for i in range(e.count):
                    out[register_name(e, i)] = v[slots[e.name] + i]
            else:
                out[e.name] = v[slots[e.name]]
        return out


def register_name(file: ir.Element, i: int) -> str:
    """Register i of a file as the assembler writes it."""
    if file.names and i < len(file.names):
        return file.names[i]
    return f"{file.name}{i}"
