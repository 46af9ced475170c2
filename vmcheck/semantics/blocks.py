"""Basic blocks: a run of instructions compiled into one function.

The simulator's fast path (`CompiledIsa.block`) runs straight-line code of
several instructions at once; `block_kind` says where a block must end, and
`BlockCompiler` writes the block's function from the same per-instruction
code rules as single steps (`semantics/compiler.py`), so a block does exactly
what that many steps would do (tests/test_blocks.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import InternalError
from ..spec import ir
from ..spec.build_encodings import instance_units
from ..spec.ir import mask
from ..spec.ir_walk import Node, children
from .compiler import Emitter, FunctionCompiler, load_function

if TYPE_CHECKING:
    from .concrete import CompiledIsa

__all__ = ["BlockCompiler", "block_kind"]


def block_kind(isa: ir.Isa, insn: ir.Instruction) -> str:
    """How `insn` sits in a compiled block (see `BlockCompiler`):

    * "end": the block ends after it: it always writes the pc (a jump), may
      halt, always traps, or may write state that decides how the next
      instructions are fetched or run (mode or control bits, the
      translation registers);
    * "branch": it may write the pc under a condition: taken, the block is
      left; not taken, it runs on;
    * "plain": anything else. (An instruction that only *may* trap is plain:
      the block returns at its trap, exactly where a step would stop.)
    """
    stmts = insn.semantics
    if stmts and isinstance(stmts[-1], (ir.Trap, ir.Halt)):
        return "end"
    # The bits of each element that decide fetching and running: all of the
    # translation registers, the control (and mode) bits of others.
    fetch = {e.name: m for e, m in isa.role_elements("control")}
    for name in _translation_registers(isa):
        fetch[name] = mask(isa.element(name).width)
    kind = "plain"
    stack = [(st, False) for st in stmts]
    while stack:
        st, nested = stack.pop()
        if isinstance(st, ir.If):
            stack.extend((x, True) for x in st.then + st.orelse)
        elif isinstance(st, ir.Halt):
            return "end"
        elif isinstance(st, ir.Assign):
            t = st.target
            if isinstance(t, ir.RegTarget) and t.elem == isa.pc:
                if not nested:
                    return "end"
                kind = "branch"
            elif isinstance(t, ir.RegTarget) and fetch.get(t.elem, 0) & (mask(t.hi - t.lo + 1) << t.lo):
                return "end"  # a field write (eflags.ZF = ...) ends it only if it hits such bits
            elif isinstance(t, ir.FileTarget) and fetch.get(t.file, 0):
                return "end"
    return kind


def _touches(stmts: Sequence[ir.Stmt], elems: set[str]) -> bool:
    """Do the statements read or write any of the scalar elements `elems`?"""
    stack: list[Node] = list(stmts)
    while stack:
        node = stack.pop()
        if isinstance(node, (ir.Reg, ir.RegTarget)) and node.elem in elems:
            return True
        stack.extend(children(node))
    return False


class BlockCompiler:
    """A run of instructions at consecutive addresses as one function

        block(state, port, alive, budget) -> (completed, outcome)

    The caller guarantees that the whole run may be fetched under the
    current translation without the pc wrapping (pc + its size <= the bound,
    or <= 2**width of the pc), and that `budget` >= its length. The function
    does what that many steps would do:
    * each instruction's semantics inline, operands as constants;
    * scalars that the block writes kept in locals `c_<elem>`, written back
      at every exit;
    * the pc kept as `pc0 + offset`: stored only where it leaves the block
      or is written (a trap stores the trapping instruction's pc);
    * timer ticks added up and written where they can be seen: before an
      instruction that reads or writes a timer, and at every exit;
    * a conditional branch that is taken leaves the block; not taken, the
      block runs on (a side exit);
    * a run that ends in a jump back to its own start loops without
      returning while `budget` allows another round;
    * a trap, memory trap or halt at instruction k returns (done + k,
      outcome) with the state a step would leave before delivering it;
    * after a store, `alive[0]` false (the store overwrote code of this
      block) returns at once: the rest of the block is stale.
    `completed` counts the instructions that ran to completion (ticked).
    """

    def __init__(self, compiled: CompiledIsa, seq: tuple[tuple[str, tuple[int, ...]], ...]):
        self.compiled = compiled
        self.isa = compiled.isa
        self.seq = seq
        self.pc_slot = compiled.layout.slots[self.isa.pc]
        self.units = self.isa.insn_units
        # Where each instruction starts, in units from the block's start (a
        # variable-length ISA's instances have lengths of their own).
        self.offsets = [0]
        for name, ops in seq:
            self.offsets.append(self.offsets[-1] + instance_units(self.isa, compiled.insns[name].insn, ops))
        self.timer_elems = {e.name for e, _ in self.isa.role_elements("timer") if not e.is_file}
        # Scalars some instruction of the block writes (but the pc and the
        # timers): kept in locals `c_<elem>` for the whole block, read from
        # `state.v` on entry and written back at every exit.
        written: set[str] = set()
        for name, _ in seq:
            stack: list[Node] = list(compiled.insns[name].insn.semantics)
            while stack:
                node = stack.pop()
                if isinstance(node, ir.RegTarget):
                    written.add(node.elem)
                stack.extend(children(node))
        self.cached = sorted(written - self.timer_elems - {self.isa.pc})

    def flush(self) -> list[str]:
        """Lines writing the cached scalars back to the state."""
        slots = self.compiled.layout.slots
        return [f"v[{slots[e]!r}] = c_{e}" for e in self.cached]

    def ticks(self, n: int) -> list[str]:
        """Lines adding n ticks to every timer (a timer field wraps inside its bits)."""
        if n <= 0:
            return []
        return [
            f"v[{slot!r}] = (v[{slot!r}] & {keep!r}) | ((v[{slot!r}] + {n * inc!r}) & {fmask!r})"
            for slot, keep, inc, fmask in self.compiled.timers
        ]

    def pc_at(self, k: int) -> str:
        return "pc0" if k == 0 else f"(pc0 + {self.offsets[k]!r})"

    def compile(self, filename: str) -> Callable:
        compiled, isa, seq = self.compiled, self.isa, self.seq
        n = len(seq)
        traps: dict[str, tuple[str, str]] = {}
        uses: set[str] = set()
        parts = []
        pending = 0  # instructions completed whose ticks are not written yet
        for k, (name, ops) in enumerate(seq):
            ci = compiled.insns[name]
            before = []
            if pending and self.timer_elems and _touches(ci.insn.semantics, self.timer_elems):
                before, pending = self.ticks(pending), 0
            comp = FunctionCompiler(
                isa,
                compiled.layout,
                advance_pc=True,
                params=(),
                operands=dict(zip(ci.operands, ops)),
                ret=f"done + {k}, ",
            )
            comp.pc_now = self.pc_at(k)
            comp.length = ci.insn.length
            comp.store_pc = k == n - 1
            comp.cached = frozenset(self.cached)

            def exits(kind: str, p: int = pending, k: int = k) -> list[str]:
                trap_pc = [f"v[{self.pc_slot}] = {self.pc_at(k)}"] if kind == "trap" else []
                return self.ticks(p) + self.flush() + trap_pc

            comp.exit_lines = exits
            if not comp.compile_body(ci.insn.semantics) and k != n - 1:
                raise InternalError(f"block: {name} never completes but is not the block's last")
            pending += 1
            traps.update(comp.traps)
            uses |= comp.uses
            parts.append((k, ci, ops, comp, before, pending, compiled.block_kinds[name]))
        loops = parts[-1][6] != "plain" and parts[-1][3].pc_writes  # it ends by writing the pc

        out = Emitter()
        doc = "; ".join(f"{ci.name} {list(ops)}" for _, ci, ops, *_ in parts)
        out.line("def block(state, port, alive, budget):")
        with out.indent():
            out.line(repr(f"block of {n}: {doc}"))
            out.line("v = state.v")
            for use in ("load", "check_store", "store"):
                if use in uses:
                    out.line(f"{use} = port.{use}")
            out.line(f"pc0 = v[{self.pc_slot}]")
            for e in self.cached:
                out.line(f"c_{e} = v[{self.compiled.layout.slots[e]!r}]")
            out.line("done = 0")
            if loops:
                out.line("while True:")
                with out.indent():
                    self._body(out, parts, pending, loop=True)
            else:
                self._body(out, parts, pending, loop=False)
        src = out.source()
        compiled.block_files.append(filename)
        return load_function(src, "block", filename, traps, isa)

    def _body(self, out: Emitter, parts: list, pending: int, loop: bool) -> None:
        n = len(parts)
        for k, ci, ops, comp, before, after, kind in parts:
            for line in before:
                out.line(line)
            out.line(f"# {k}: {ci.name!r} {list(ops)}")  # repr: no spec text unquoted, even in a comment
            comp.prologue(out)
            comp.guarded_body(out)
            last = k == n - 1
            if kind == "branch" and not last:
                out.line("if pcw:  # taken: leave the block")
                with out.indent():
                    for line in self.ticks(after) + self.flush():
                        out.line(line)
                    out.line(f"return done + {k + 1}, _OK")
            if comp.mem_writes and not last:
                out.line("if not alive[0]:  # the store overwrote code of this block")
                with out.indent():
                    for line in self.ticks(after) + self.flush():
                        out.line(line)
                    out.line(f"v[{self.pc_slot}] = {self.pc_at(k + 1)}")
                    out.line(f"return done + {k + 1}, _OK")
        for line in self.ticks(pending):
            out.line(line)
        out.line(f"done += {n}")
        if loop:
            out.line(f"if v[{self.pc_slot}] == pc0 and done + {n} <= budget and alive[0]:")
            with out.indent():
                out.line("continue  # it jumped back to its start: another round")
        for line in self.flush():
            out.line(line)
        out.line("return done, _OK")


def _translation_registers(isa: ir.Isa) -> list[str]:
    tr = isa.storage.translation
    return [tr.base, tr.bound] if isinstance(tr, ir.RelocationBounds) else []
