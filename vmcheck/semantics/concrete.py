"""The concrete reading of the semantics: each instruction compiled to Python.

Every instruction of an `Isa` (and the trap-delivery block) becomes one
generated Python function

    execute_<name>(state, port, ops) -> Outcome

whose body is the instruction's semantics written out as straight-line Python
with `if`s: no tree walk per step. This module builds and holds the compiled
ISA; the code generator is `semantics/compiler.py`, basic blocks are
`semantics/blocks.py`. The meaning is the one in `spec/ir.py`'s module
docstring; how the generated code keeps it:

* **Precise traps.** Nothing is written to `state.v` or to storage until the
  instruction completes. A written scalar element lives in a Python local
  `s_<elem>` (loaded on entry, stored back on commit); each register-file write
  and each storage write gets its own pending pair (`wi_k`/`wv_k`,
  `ma_k`/`mv_k`), committed in program order. `Trap` returns before the
  commit, a memory trap raises out of it: either way the state is untouched.
* **Reads see earlier writes.** A scalar read after a write reads the local.
  A file or storage read is compared, at run time, against the pending writes
  that precede it in program order (latest first); which ones can precede it
  is decided at compile time from the `if`-nesting, so the common case (no
  earlier write) reads `state.v` or the port directly.
* **Lazy choice.** `Ite`, `land` and `lor` evaluate only the operand they
  need, so a storage access in the branch not taken cannot memory-trap.
* **Always compiles.** Whatever the nesting the front end accepts, the code
  stays inside Python's parser limits (see MAX_NEST and the notes by it,
  in `semantics/compiler.py`): deep expressions are cut into temporaries, deep `if`s and deep choices
  that read storage are written flat under guard variables.
* **Computed once.** An expression used more than once (an inlined helper's
  argument, x86's flags) goes into a temporary `_cN` where that is safe.

`CompiledIsa.block` compiles a run of instructions into one function for the
simulator's fast path (`semantics/blocks.py`): the same per-instruction code, with
operands as constants, the pc as an offset from the block's start, timer
ticks summed, side exits at taken branches, and a loop when the run jumps
back to its own start.

Generated code is an artefact to read (docs/architecture.md, "Conventions"): it is emitted with an
indenting emitter under a pseudo-filename like `<vmcheck:pg-toy:ld>`, kept
in `CompiledIsa.source` (and in `linecache`, so tracebacks show it), and
written out when `VMCHECK_DUMP_CODE` is set (a directory: one file per ISA;
anything else: to stderr). Only validated identifiers and `repr()` of ints
and of validated names are interpolated into it.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import InternalError
from ..spec import ir
from ..spec.ir import mask
from ..spec.ir_walk import walk
from ..spec.memo import memo, per_isa
from .blocks import BlockCompiler, block_kind
from .compiler import IDENT, Emitter, FunctionCompiler, load_function, node_facts, stack_for
from .state import HALT, OK, Layout, MemoryPort, Outcome, State

__all__ = ["CompiledInsn", "CompiledIsa", "OK", "HALT", "compile_isa", "compile_condition", "block_kind"]


# --------------------------------------------------------------------------
# The compiled ISA
# --------------------------------------------------------------------------


class CompiledInsn:
    """One instruction's generated function and what is needed to call it."""

    __slots__ = ("insn", "name", "fn", "operands", "masks", "source", "filename")

    def __init__(self, insn: ir.Instruction, fn: Callable, source: str, filename: str):
        self.insn = insn
        self.name = insn.name
        self.fn = fn  # fn(state, port, ops_tuple) -> Outcome
        self.operands = tuple(o.name for o in insn.operands)
        self.masks = tuple(mask(o.width) for o in insn.operands)
        self.source = source
        self.filename = filename

    def ops(self, operands: Mapping[str, int] | Sequence[int]) -> tuple[int, ...]:
        """Operand values in declaration order, reduced to their widths (so a
        negative immediate may be given as a negative int)."""
        if isinstance(operands, Mapping):
            missing = [n for n in self.operands if n not in operands]
            extra = [n for n in operands if n not in self.operands]
            if missing or extra:
                raise ValueError(f"{self.name}: operands {list(self.operands)} expected, got {list(operands)}")
            values = [operands[n] for n in self.operands]
        else:
            values = list(operands)
            if len(values) != len(self.operands):
                raise ValueError(f"{self.name}: {len(self.operands)} operands expected, got {len(values)}")
        return tuple(int(x) & m for x, m in zip(values, self.masks))


class CompiledIsa:
    """Every instruction of an ISA, and its trap delivery, as Python functions."""

    def __init__(self, isa: ir.Isa):
        self.isa = isa
        self.layout = Layout.of(isa)
        self.insns: dict[str, CompiledInsn] = {}
        sources = []
        for insn in isa.instructions:
            fname = "execute_" + insn.name if IDENT.match(insn.name) else "execute"
            filename = f"<vmcheck:{isa.name}:{insn.name}>"
            comp = FunctionCompiler(isa, self.layout, advance_pc=True, params=())
            comp.length = insn.length
            src = comp.function(fname, insn.semantics, [o.name for o in insn.operands], f"{insn.name}: {insn.syntax}")
            fn = load_function(src, fname, filename, comp.traps, isa)
            self.insns[insn.name] = CompiledInsn(insn, fn, src, filename)
            sources.append(f"# {filename}\n{src}")
        # Trap delivery: the `cause`, `trap_arg` and `fault_addr` locals are its
        # parameters; fault_addr defaults to 0 (every trap but a memory trap).
        comp = FunctionCompiler(isa, self.layout, advance_pc=False, params=("l_cause", "l_trap_arg", "l_fault_addr=0"))
        filename = f"<vmcheck:{isa.name}:deliver>"
        src = comp.function("deliver", isa.traps.deliver, [], "trap delivery")
        self._deliver = load_function(src, "deliver", filename, comp.traps, isa)
        self.deliver_source = src
        sources.append(f"# {filename}\n{src}")
        self.source = "\n\n".join(sources)
        self._cause_codes = {c.name: c.code for c in isa.traps.causes}
        # (slot, bits kept, increment, field mask) of each timer element or
        # field: a timer counts one per step.
        self.timers = tuple(
            (self.layout.slots[e.name], mask(e.width) & ~m, m & -m, m)
            for e, m in isa.role_elements("timer")
            if not e.is_file
        )
        self._blocks: dict[tuple, Callable] = {}
        self.block_files: list[str] = []
        self.block_kinds = {insn.name: block_kind(isa, insn) for insn in isa.instructions}
        self.block_ends = {name: kind == "end" for name, kind in self.block_kinds.items()}
        self._arg_mask = mask(isa.traps.cause_width)
        self._addr_mask = mask(isa.word)
        _dump(isa.name, self.source)

    def __getitem__(self, name: str) -> CompiledInsn:
        return self.insns[name]

    # ---- basic blocks --------------------------------------------------------

    BLOCK_CACHE = 4096  # compiled blocks kept per ISA (a fuzzing campaign makes many)

    def block(self, seq: Sequence[tuple[str, tuple[int, ...]]]) -> Callable:
        """One function running the instructions `seq` ((name, operands) in
        order, at consecutive addresses) as the simulator's steps would:

            block(state, port, alive, budget) -> (completed, outcome)

        See `BlockCompiler` for what it assumes and how it exits. Built
        once per sequence per ISA."""
        key = tuple(seq)
        fn = self._blocks.get(key)
        if fn is None:
            if len(self._blocks) >= self.BLOCK_CACHE:
                for name in self.block_files:
                    linecache.cache.pop(name, None)
                self._blocks.clear()
                self.block_files.clear()
            fn = self._compile_block(key)
            self._blocks[key] = fn
        return fn

    def _compile_block(self, seq: tuple[tuple[str, tuple[int, ...]], ...]) -> Callable:
        return BlockCompiler(self, seq).compile(f"<vmcheck:{self.isa.name}:block:{len(self.block_files)}>")

    @property
    def deliver_fn(self) -> Callable:
        """deliver(state, port, cause_code, trap_arg, fault_addr=0) -> Outcome, unchecked."""
        return self._deliver

    def execute(
        self, insn: str, state: State, port: MemoryPort, operands: Mapping[str, int] | Sequence[int] = ()
    ) -> Outcome:
        """Run one instance of `insn` on `state` (updated in place on success)."""
        ci = self.insns[insn]
        return ci.fn(state, port, ci.ops(operands))

    def deliver(self, state: State, port: MemoryPort, cause: str, arg: int = 0, fault_addr: int = 0) -> Outcome:
        """Run the spec's trap delivery for `cause` on `state`; `fault_addr` is
        the memory trap's address (`Outcome.fault_addr`).

        Returns the delivery's own outcome: "ok" normally; a trap or memory
        trap inside the delivery (a double fault) leaves the state as it was.
        """
        try:
            code = self._cause_codes[cause]
        except KeyError:
            raise InternalError(f"unknown trap cause {cause!r}") from None
        return self._deliver(state, port, code, int(arg) & self._arg_mask, int(fault_addr) & self._addr_mask)


def _dump(isa_name: str, source: str) -> None:
    where = os.environ.get("VMCHECK_DUMP_CODE")
    if not where:
        return
    if os.path.isdir(where):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", isa_name)
        Path(where, f"{safe}.py").write_text(source)
    else:
        print(source, file=sys.stderr)


@per_isa
def compile_isa(isa: ir.Isa) -> CompiledIsa:
    """The compiled form of `isa`, built once per Isa object (`compile_isa.forget(isa)`
    drops it)."""
    return CompiledIsa(isa)


# --------------------------------------------------------------------------
# Conditions over state
# --------------------------------------------------------------------------

# What a condition over state (a context's `where`, an invariant) may not
# read: it has no instruction (operands, locals) and no storage.
_NOT_IN_CONDITIONS = (ir.Local, ir.Operand, ir.Mem, ir.Probe)


def compile_condition(isa: ir.Isa, expr: ir.Expr) -> Callable[[State], bool]:
    """`expr` (a boolean over state: a context's `where`, an invariant) as a
    function of a `State`, compiled with the instructions' code rules, so the
    VMM reads conditions exactly as the simulator reads semantics. Built once
    per expression object per Isa. An expression that reads an operand, a
    local or storage is an internal error (the loader accepts none)."""
    table = memo(isa).setdefault("concrete.conditions", {})
    hit = table.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    for node in walk(expr):
        if isinstance(node, _NOT_IN_CONDITIONS):
            raise InternalError(f"{type(node).__name__} cannot appear in a condition over state")
    compiled = compile_isa(isa)
    comp = FunctionCompiler(isa, compiled.layout, advance_pc=False, params=())
    comp.facts = node_facts([expr])
    with stack_for(max((h for h, _, _ in comp.facts.values()), default=0)):
        code = comp.expr(expr)
    out = Emitter()
    out.line("def condition(state):")
    with out.indent():
        out.line("v = state.v")
        out.extend(comp.body)
        out.line(f"return bool({code})")
    filename = f"<vmcheck:{isa.name}:condition:{len(table)}>"
    fn = load_function(out.source(), "condition", filename, comp.traps, isa)
    table[id(expr)] = (expr, fn)
    return fn
