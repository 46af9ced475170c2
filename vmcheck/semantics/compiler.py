"""Compiling IR statements to Python source: the code generator of the concrete reading.

`FunctionCompiler` turns one statement block (an instruction, the trap
delivery, one instruction of a basic block, a condition over state) into the
lines of one Python function, keeping the meaning stated in
`semantics/concrete.py`'s docstring (precise traps, reads that see earlier
writes, lazy choice, always compiles, computed once); `load_function`
compiles such source and binds the run-time helpers it calls (`_mload`,
`_urem`, the shared outcomes).

This module is longer than the project's ~500 lines on purpose: it is one
compiler, whose rules (one per IR node type, `visit_<Type>`) share its state
(pending writes, `if`-paths, guards, temporaries, common subexpressions); the
helpers above the class exist only for it. What is built from it lives
elsewhere: the compiled ISA in `semantics/concrete.py`, basic blocks in
`semantics/blocks.py`.
"""

from __future__ import annotations

import linecache
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import InternalError
from ..spec import ir, operators
from ..spec.ir import mask
from ..spec.ir_walk import ExprVisitor, Node, StmtVisitor, children, walk
from .state import HALT, OK, Layout, MemoryPort, MemoryTrap, Outcome

__all__ = ["IDENT", "Emitter", "FunctionCompiler", "load_function", "node_facts", "stack_for"]

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SPACES = ("mem", "phys")


def _ident(name: str, what: str) -> str:
    """`name` if it is safe to paste into generated code, else an internal error
    (the loader should never let such a name through)."""
    if not isinstance(name, str) or not IDENT.match(name):
        raise InternalError(f"{what} {name!r} is not an identifier; cannot compile it")
    return name


# Python's own limits on source text: the tokenizer refuses more than 200
# nested parentheses and 100 indentation levels, and the parser's stack runs
# out a little past that. Generated code stays well inside them whatever the
# spec's nesting (issue 15: what `lint` accepts must compile):
# * an expression nested deeper than MAX_NEST parentheses is cut into
#   temporaries (`_tN = ...`), which only pure code may be (see `spill`);
# * `if`s nested deeper than MAX_INDENT levels, and choices (`?:`, `&&`,
#   `||`) whose lazy side reads storage and is more than LAZY_HEIGHT nodes
#   high, are written flat under guard variables (`_gN = ... and ...`,
#   `if _gN: ...`) instead of as nested blocks;
# * a register read after more than MAX_ARMS pending writes to its file is
#   a run of flat statements instead of one nested conditional expression.
MAX_NEST = 40
MAX_INDENT = 24
LAZY_HEIGHT = 4
MAX_ARMS = 8

# Generated code that may raise a memory trap: it must not be hoisted out of
# the branch that guards it.
_EFFECT = re.compile(r"\bload\(|_mload\(")


def _nesting(code: str) -> int:
    """The deepest parenthesis nesting in a piece of generated code (which
    holds no string literals with parentheses: only names and numbers)."""
    depth = top = 0
    for ch in code:
        if ch == "(":
            depth += 1
            if depth > top:
                top = depth
        elif ch == ")":
            depth -= 1
    return top


_CSE_TYPES = (ir.Bin, ir.Un, ir.Ext, ir.Slice, ir.Concat, ir.Ite)
CSE_HEIGHT = 8  # larger expressions are not compared (hashing one walks it)


_MUTABLE = re.compile(r"\bs_|\bpcw\b|load\(")


def _repeats(stmts: Sequence[ir.Stmt], facts: dict[int, tuple[int, bool, bool]]) -> dict:
    """How many times each expression of height 2 to CSE_HEIGHT that reads
    no storage is used, counting one use per distinct parent node."""
    counts: dict = {}
    seen: set[int] = set()
    stack: list[Node] = list(stmts)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for kid in children(node):
            if type(kid) in _CSE_TYPES:
                h, mem, _ = facts.get(id(kid), (0, True, True))
                if 2 <= h <= CSE_HEIGHT and not mem:
                    counts[kid] = counts.get(kid, 0) + 1
            stack.append(kid)
    return counts


def node_facts(roots: Sequence) -> dict[int, tuple[int, bool, bool]]:
    """(height, reads storage?, reads state?) of every node below `roots`,
    by id, computed without recursion: the IR may be nested deeper than
    Python's stack."""
    facts: dict[int, tuple[int, bool, bool]] = {}
    stack = [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if id(node) in facts:
            continue
        kids = children(node)
        if done:
            sub = [facts[id(k)] for k in kids]
            facts[id(node)] = (
                1 + max((h for h, _, _ in sub), default=0),
                isinstance(node, (ir.Mem, ir.Probe)) or any(m for _, m, _ in sub),
                isinstance(node, (ir.Mem, ir.Probe, ir.Reg, ir.FileRead)) or any(x for _, _, x in sub),
            )
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in facts)
    return facts


@contextmanager
def stack_for(height: int) -> Iterator[None]:
    """Enough Python stack to compile IR `height` nodes deep: the compiler
    recurses a few frames per level. The front end bounds the nesting of
    what it accepts, so the raised limit is bounded too."""
    need = 8 * height + 400
    old = sys.getrecursionlimit()
    if need > old:
        sys.setrecursionlimit(need)
    try:
        yield
    finally:
        if need > old:
            sys.setrecursionlimit(old)


# Python code of the unary operators and of the comparisons (operand code,
# width) -> code; the meaning each must have is `spec/operators.py`'s.
_UNARY_CODE: dict[str, Callable[[str, int], str]] = {
    "neg": lambda x, w: f"(-{x} & {mask(w)!r})",
    "not": lambda x, w: f"({x} ^ {mask(w)!r})",
    "lnot": lambda x, w: f"(not {x})",
}
operators.check_covers("concrete", _UNARY_CODE, operators.UNARY_OPS)

_COMPARE_CODE = {
    "eq": "==",
    "ne": "!=",
    "ult": "<",
    "ule": "<=",
    "ugt": ">",
    "uge": ">=",
    "slt": "<",
    "sle": "<=",
    "sgt": ">",
    "sge": ">=",
}
operators.check_covers("concrete", _COMPARE_CODE, operators.COMPARE_OPS)


# --------------------------------------------------------------------------
# The emitter
# --------------------------------------------------------------------------


class Emitter:
    """Lines of Python with an indentation level."""

    def __init__(self, level: int = 0):
        self._lines: list[str] = []
        self._level = level

    def line(self, text: str) -> None:
        self._lines.append("    " * self._level + text)

    def extend(self, other: Emitter) -> None:
        self._lines.extend("    " * self._level + ln for ln in other._lines)

    @contextmanager
    def indent(self) -> Iterator[None]:
        self._level += 1
        mark = len(self._lines)
        try:
            yield
        finally:
            if len(self._lines) == mark:  # an empty block is not Python
                self.line("pass")
            self._level -= 1

    @property
    def level(self) -> int:
        return self._level

    def source(self) -> str:
        return "\n".join(self._lines) + "\n"


# --------------------------------------------------------------------------
# Compiling one block of statements into one function
# --------------------------------------------------------------------------

# A path says where a statement sits in the `if` nesting: a tuple of
# (if number, branch), branch True for `then`, False for `else`.
Path_ = tuple[tuple[int, bool], ...]


def _relation(write: Path_, read: Path_) -> str:
    """Has a write at path `write` run when control reaches path `read`
    (the write being earlier in program order)? "yes", "no" or "maybe"."""
    for i, w in enumerate(write):
        if i >= len(read):
            return "maybe"
        r = read[i]
        if w != r:
            return "no" if w[0] == r[0] else "maybe"
    return "yes"


@dataclass
class _FileWrite:
    k: int
    file: str
    index_width: int
    path: Path_
    const: int | None  # the index, when it is a literal


@dataclass
class _MemWrite:
    k: int
    space: str
    nbits: int
    priv: str  # the code of its privilege: None, a level's name, or mp_K
    path: Path_
    addr: int | None  # the address, when it is a literal


def _const(e: ir.Expr) -> int | None:
    return e.value if isinstance(e, ir.Lit) else None


class FunctionCompiler(ExprVisitor, StmtVisitor):
    """Compiles one statement block (an instruction, or trap delivery).

    A visitor of the IR (`spec/ir_walk.py`): `visit_<Type>` of an expression
    returns its Python code (and may emit statements before it: temporaries,
    guards); of a statement, emits its lines into `self.body`.
    """

    def __init__(
        self,
        isa: ir.Isa,
        layout: Layout,
        *,
        advance_pc: bool,
        params: Sequence[str],
        operands: Mapping[str, int] | None = None,
        ret: str = "",
    ):
        self.isa = isa
        # Block compilation (see compile_block): operand values known when
        # compiling, and what every `return` also hands back (the number of
        # instructions of the block completed before this one).
        self.operand_values = operands
        self.ret = ret
        self.pc_now: str | None = None  # block: the pc before this instruction, as code
        self.store_pc = True  # block: does the commit store the advanced pc? (only where it is needed)
        self.exit_lines: Callable[[str], list[str]] = lambda kind: []  # block: run before a trap or halt returns
        self.cached: frozenset[str] = frozenset()  # block: scalars whose current value is in a local c_<elem>
        self.layout = layout
        self.advance_pc = advance_pc
        # A variable-length ISA: the instance's length in units (`Instruction.length`),
        # which the pc advances by; None: the ISA's fixed `insn_units`.
        self.length: ir.Expr | None = None
        self.params = params  # the locals that exist on entry (trap delivery's cause, trap_arg)
        self.body = Emitter()
        self.path: Path_ = ()
        self.n_ifs = 0
        self.n_tmps = 0
        self.scalars: list[str] = []  # scalar elements written: kept in locals s_<elem>
        self.file_writes: list[_FileWrite] = []
        self.mem_writes: list[_MemWrite] = []
        self.pc_writes: list[Path_] = []
        self.uses: set[str] = set()  # port methods used: "load", "check_store", "store"
        self.traps: dict[str, tuple[str, str]] = {}  # constant name -> (kind, cause), for traps without an arg
        self.elements = {e.name: e for e in isa.elements}
        self.pending = False  # keep the list `pend` of stores for reads after them (see function())
        # Flat emission (see MAX_INDENT): the guard variable the statements
        # being emitted run under, and the one whose `if` block is open now.
        self.guard: str | None = None
        self.open_guard: str | None = None
        self.lazy = 0  # > 0 while compiling a side of a choice inline: no hoisting of storage reads
        self.facts: dict[int, tuple[int, bool, bool]] = {}
        # Common subexpressions: an expression of locals, operands and
        # constants only (no state) that occurs more than once is computed
        # into a temporary `_cN` the first time and reused where that
        # temporary is surely assigned (see `_reuse`).
        self.repeats: dict = {}
        self.cse: dict = {}  # expression -> (temporary, path, guard, let generation)
        self.let_names: set[str] = set()
        self.let_gen = 0

    # ---- helpers --------------------------------------------------------

    def tmp(self, prefix: str = "_t") -> str:
        self.n_tmps += 1
        return f"{prefix}{self.n_tmps}"

    def emit(self, text: str) -> None:
        """One simple statement, run only under the current guard."""
        if self.guard is not None and self.guard != self.open_guard:
            self.body.line(f"if {self.guard}: {text}")
        else:
            self.body.line(text)

    def spill(self, code: str) -> str:
        """`code` evaluated into a temporary just before the statement being
        compiled, so the expression around it stays shallow. Only pure code
        moves: a storage read on the lazy side of a choice stays where it is
        (such choices are compiled flat when deep, see visit_Ite)."""
        if self.lazy and _EFFECT.search(code):
            return code
        t = self.tmp()
        self.emit(f"{t} = {code}")
        return t

    def height(self, e) -> int:
        return self.facts[id(e)][0] if id(e) in self.facts else 1

    def reads_storage(self, e) -> bool:
        return self.facts[id(e)][1] if id(e) in self.facts else True

    def once(self, code: str) -> tuple[str, str]:
        """(first use, later uses) of a value to be evaluated once: a walrus
        temporary unless `code` is already a name or an int literal."""
        if IDENT.match(code) or re.fullmatch(r"-?\d+", code):
            return code, code
        t = self.tmp()
        return f"({t} := {code})", t

    def select(self, arms: list[tuple[str, str]], default: str, code: str) -> str:
        """`(v1 if c1 else (v2 if c2 else default))`: each `{}` in the conditions
        and in the default stands for the value `code`, evaluated once. Its first
        evaluation is the leftmost `{}` (conditions run before their branches),
        so that is where the walrus goes."""
        if not arms:
            return default.format(code)
        if len(arms) > MAX_ARMS and not (self.lazy and _EFFECT.search(code)):
            return self._select_flat(arms, default, code)
        first, ref = self.once(code)
        conds: list[str] = []
        for cond, _ in arms:
            n = cond.count("{}")
            conds.append(cond.format(*([first] + [ref] * (n - 1)) if not conds else [ref] * n))
        out = default.format(ref)
        for cond, (_, value) in zip(reversed(conds), reversed(arms)):
            out = f"({value} if {cond} else {out})"
        return out

    def _select_flat(self, arms: list[tuple[str, str]], default: str, code: str) -> str:
        """`select` as statements: the default first, then each arm from the
        last to the first, so the first arm that holds wins. Every part is
        pure (register reads and compares), so running them all is safe."""
        key = code if IDENT.match(code) else self.spill(code)
        out = self.tmp()
        self.emit(f"{out} = {default.format(key)}")
        for cond, value in reversed(arms):
            self.emit(f"if {cond.format(*[key] * cond.count('{}'))}: {out} = {value}")
        return out

    def slot(self, elem: str) -> int:
        try:
            return self.layout.slots[elem]
        except KeyError:
            raise InternalError(f"unknown state element {elem!r}") from None

    def element(self, name: str) -> ir.Element:
        try:
            return self.elements[name]
        except KeyError:
            raise InternalError(f"unknown state element {name!r}") from None

    @staticmethod
    def _vindex(index: str, base: int) -> str:
        return f"v[{index}]" if base == 0 else f"v[{index} + {base}]"

    @staticmethod
    def _space(space: str) -> str:
        if space not in _SPACES:
            raise InternalError(f"unknown storage space {space!r}")
        return repr(space)

    def _priv(self, priv: str | ir.Expr | None) -> str:
        """The code of an access's privilege: None, a level's name, or (an
        expression) the name of the level whose code it gives, None when it
        names none (the port reads None as the current mode)."""
        if priv is None:
            return "None"
        if isinstance(priv, str):
            return repr(_ident(priv, "privilege level"))
        return f"_LEVELS.get({self.expr(priv)})"

    # ---- expressions ----------------------------------------------------

    def expr(self, e: ir.Expr) -> str:
        method = self.rule(e)
        shared = self.repeats.get(e, 0) > 1 if type(e) in _CSE_TYPES and self.repeats else False
        pure = shared and not self.facts[id(e)][2]
        if pure:  # no state read: the same expression has the same value wherever it is assigned
            got = self.cse.get(e)
            if got is not None and self._reuse(got):
                return got[0]
        code = method(e)
        if len(code) > MAX_NEST and _nesting(code) > MAX_NEST:
            code = self.spill(code)
        if not shared or IDENT.match(code) or code.isdigit():
            return code
        if not pure:
            # A state read compiles to code that says which pending writes it
            # sees; the same *code* has the same value as long as it reads
            # nothing that changes inside the instruction (`v` changes only
            # at the commit; written scalars `s_`, the flag `pcw` and storage
            # reads do change).
            if _MUTABLE.search(code):
                return code
            got = self.cse.get(code)
            if got is not None and self._reuse(got):
                return got[0]
        t = self.tmp("_c")
        self.emit(f"{t} = {code}")
        self.cse[e if pure else code] = (t, self.path, self.guard, self.let_gen)
        return t

    def _reuse(self, got: tuple) -> bool:
        """Is the temporary surely assigned here, with the locals it read
        unchanged? Yes when it was assigned in this branch or an enclosing
        one, under no guard or this very guard, and no `let` rebound a name
        since."""
        _, path, guard, gen = got
        return gen == self.let_gen and self.path[: len(path)] == path and (guard is None or guard == self.guard)

    def lazy_side(self, e: ir.Expr) -> str:
        """A side of a choice that runs only when chosen, compiled inline."""
        self.lazy += 1
        try:
            return self.expr(e)
        finally:
            self.lazy -= 1

    def flat_choice(self, e: ir.Expr) -> bool:
        """Compile this choice as guarded statements? Yes when a lazy side
        reads storage and the choice is too high to stay one shallow
        expression (storage reads cannot be hoisted out of it)."""
        return self.height(e) > LAZY_HEIGHT and self.reads_storage(e)

    def guarded_value(self, cond: str, e: ir.Expr, out: str) -> None:
        """`out = e`, compiled and run only where `cond` (pure) holds."""
        g = self.tmp("_g")
        self.body.line(f"{g} = {cond}" if self.guard is None else f"{g} = {self.guard} and {cond}")
        saved, self.guard = self.guard, g
        saved_lazy, self.lazy = self.lazy, 0  # under its guard, the side runs only when chosen
        try:
            self.emit(f"{out} = {self.expr(e)}")
        finally:
            self.guard, self.lazy = saved, saved_lazy

    def visit_Lit(self, e: ir.Lit) -> str:
        if e.width == ir.BOOL:
            return "True" if e.value else "False"
        return repr(int(e.value) & mask(e.width))

    def visit_Local(self, e: ir.Local) -> str:
        return "l_" + _ident(e.name, "local")

    def known(self, e: ir.Expr) -> int | None:
        """The value of `e` when compiling: a literal, or an operand of a
        block's instruction."""
        if isinstance(e, ir.Lit):
            return e.value
        if isinstance(e, ir.Operand) and self.operand_values is not None:
            return self.operand_values[e.name] & mask(e.width)
        return None

    def visit_Operand(self, e: ir.Operand) -> str:
        if self.operand_values is not None:
            return repr(int(self.operand_values[e.name]) & mask(e.width))
        return "o_" + _ident(e.name, "operand")

    def visit_Reg(self, e: ir.Reg) -> str:
        if e.elem in self.scalars:
            return "s_" + e.elem
        if e.elem == self.isa.pc and self.pc_now is not None:
            return self.pc_now
        if e.elem in self.cached:
            return "c_" + e.elem
        return f"v[{self.slot(e.elem)}]"

    def visit_FileRead(self, e: ir.FileRead) -> str:
        return self._file_read(e.file, e.index.width, self.expr(e.index), self.known(e.index))

    def _file_read(self, file: str, index_width: int, idx: str, const: int | None) -> str:
        """Read register `idx` of `file`, seeing the pending writes before it."""
        el = self.element(file)
        arms = []  # (condition on {}, the index; value), outermost first
        guards = self._file_guards(el, index_width)
        if const is not None:  # decided now: the zero register or past the end reads 0
            if self._guarded(el, const):
                return "0"
            guards = []
        if guards:
            arms.append((" or ".join(guards), "0"))
        # Pending writes that may precede this read, latest first. wi_k is -1
        # while a conditional write has not run, so one compare does.
        for w in reversed(self.file_writes):
            if w.file != file or _relation(w.path, self.path) == "no":
                continue
            if const is not None and w.const is not None:
                if const != w.const:
                    continue
                if _relation(w.path, self.path) == "yes":  # this write is what we read
                    return self.select(arms, f"wv_{w.k}", idx)
            windex = repr(w.const) if w.const is not None and not w.path else f"wi_{w.k}"
            arms.append((f"{windex} == {{}}", f"wv_{w.k}"))
        base = self.slot(file)
        return self.select(arms, "v[{}]" if base == 0 else f"v[{{}} + {base}]", idx)

    @staticmethod
    def _guarded(el: ir.Element, index: int) -> bool:
        assert el.count is not None  # a register file
        return index == el.zero or index >= el.count

    @staticmethod
    def _file_guards(el: ir.Element, index_width: int) -> list[str]:
        """Conditions (on `{}`, the index) under which a register reads 0 and
        ignores writes: the zero register, and an index past the file's end."""
        assert el.count is not None  # a register file
        guards = []
        if el.zero is not None:
            guards.append(f"{{}} == {int(el.zero)!r}")
        if (1 << index_width) > el.count:
            guards.append(f"{{}} >= {int(el.count)!r}")
        return guards

    def visit_Slice(self, e: ir.Slice) -> str:
        x = self.expr(e.value)
        w = e.hi - e.lo + 1
        if e.lo == 0 and e.hi == e.value.width - 1:
            return x
        shifted = x if e.lo == 0 else f"({x} >> {e.lo!r})"
        if e.hi == e.value.width - 1:
            return shifted
        return f"({shifted} & {mask(w)!r})"

    def visit_Mem(self, e: ir.Mem) -> str:
        addr = self.expr(e.addr)
        args = f"{self._space(e.space)}, {addr}, {e.nbits!r}, {self._priv(e.priv)}"
        if any(_relation(w.path, self.path) != "no" and not self._apart(w, e) for w in self.mem_writes):
            # A store of this instruction may overlap the cells read (another
            # width, `phys` behind `mem`...): only the port knows; see _mload.
            return f"_mload(port, pend, {args})"
        self.uses.add("load")
        return f"load({args})"

    def visit_Probe(self, e: ir.Probe) -> str:
        # The port answers (`MemoryPort.probe`): its translation, or its view.
        return f"port.probe({e.kind!r}, {self.expr(e.addr)}, {e.nbits!r}, {self._priv(e.priv)})"

    def _apart(self, w: _MemWrite | ir.MemTarget, e: ir.Mem) -> bool:
        """Are a store and a read surely of different cells? Decidable here
        only for `phys` at literal addresses: phys is storage itself, whose
        addresses wrap modulo the size, whatever the port."""
        waddr = w.addr if isinstance(w, _MemWrite) else _const(w.addr)
        if not (w.space == e.space == "phys" and waddr is not None and isinstance(e.addr, ir.Lit)):
            return False
        size, unit = self.isa.storage.size, self.isa.storage.unit
        theirs = {(waddr + k) % size for k in range(w.nbits // unit)}
        return theirs.isdisjoint((e.addr.value + k) % size for k in range(e.nbits // unit))

    def visit_Un(self, e: ir.Un) -> str:
        write = _UNARY_CODE.get(e.op)
        if write is None:
            raise InternalError(f"unknown unary operator {e.op!r}")
        return write(self.expr(e.value), e.width)

    def visit_Bin(self, e: ir.Bin) -> str:
        rule = self._BINARY_RULES.get(e.op)
        if rule is None:
            raise InternalError(f"unknown binary operator {e.op!r}")
        return rule(self, e)

    def _logic(self, e: ir.Bin) -> str:
        """`land`/`lor`: the right side runs only when it decides the value."""
        op = e.op
        a = self.expr(e.left)
        if self.flat_choice(e):
            out = self.spill(f"bool({a})")
            self.guarded_value(out if op == "land" else f"not {out}", e.right, out)
            return out
        return f"({a} {'and' if op == 'land' else 'or'} {self.lazy_side(e.right)})"

    def _bool_eq(self, e: ir.Bin) -> str:
        a, b = self.expr(e.left), self.expr(e.right)
        return f"(bool({a}) {'==' if e.op == 'beq' else '!='} bool({b}))"

    def _compare(self, e: ir.Bin) -> str:
        a, b = self.expr(e.left), self.expr(e.right)
        py = _COMPARE_CODE[e.op]
        if e.op in ("slt", "sle", "sgt", "sge"):
            # Flipping the sign bit maps signed order onto unsigned order.
            sign = 1 << (e.left.width - 1)
            return f"(({a} ^ {sign!r}) {py} ({b} ^ {sign!r}))"
        return f"({a} {py} {b})"

    def _arith(self, e: ir.Bin) -> str:
        w, m = e.width, mask(e.width)
        op = e.op
        a, b = self.expr(e.left), self.expr(e.right)
        if op in ("add", "sub", "mul"):
            py = {"add": "+", "sub": "-", "mul": "*"}[op]
            return f"(({a} {py} {b}) & {m!r})"
        if op in ("and", "or", "xor"):
            py = {"and": "&", "or": "|", "xor": "^"}[op]
            return f"({a} {py} {b})"
        if op == "shl":
            if mask(e.right.width) < w:  # the amount cannot reach the width
                return f"(({a} << {b}) & {m!r})"
            # Guard: `x << 2**32` would try to build a huge integer.
            return self.select([(f"{{}} >= {w!r}", "0")], f"(({a} << {{}}) & {m!r})", b)
        if op == "lshr":
            return f"({a} >> {b})"
        if op == "ashr":
            sign = 1 << (w - 1)
            return f"(((({a} ^ {sign!r}) - {sign!r}) >> {b}) & {m!r})"
        if op == "udiv":
            return self.select([("not {}", repr(m))], f"({a} // {{}})", b)
        if op == "urem":
            return f"_urem({a}, {b})"  # x % 0 = x; a call evaluates x once
        raise InternalError(f"unknown arithmetic operator {op!r}")

    # The code rule of every binary operator of the operator table
    # (`spec/operators.py`; checked complete at import, below the class).
    _BINARY_RULES: ClassVar[dict[str, Callable[[FunctionCompiler, ir.Bin], str]]] = {
        **dict.fromkeys(operators.ARITH_OPS, _arith),
        **dict.fromkeys(operators.COMPARE_OPS, _compare),
        "land": _logic,
        "lor": _logic,
        "beq": _bool_eq,
        "bne": _bool_eq,
    }

    def visit_Ite(self, e: ir.Ite) -> str:
        c = self.expr(e.cond)
        if self.flat_choice(e):
            c, out = self.spill(f"bool({c})"), self.tmp()
            self.guarded_value(c, e.then, out)
            self.guarded_value(f"not {c}", e.orelse, out)
            return out
        return f"({self.lazy_side(e.then)} if {c} else {self.lazy_side(e.orelse)})"

    def visit_Ext(self, e: ir.Ext) -> str:
        x = self.expr(e.value)
        if e.value.width == ir.BOOL:  # a boolean as a bit-vector: 1 (zext) or all ones (sext)
            return f"({mask(e.width) if e.signed else 1!r} if {x} else 0)"
        if not e.signed or e.value.width == e.width:
            return x
        sign = 1 << (e.value.width - 1)
        return f"((({x} ^ {sign!r}) - {sign!r}) & {mask(e.width)!r})"

    def visit_Concat(self, e: ir.Concat) -> str:
        parts, shift = [], e.width
        for p in e.parts:
            shift -= p.width
            x = self.expr(p)
            parts.append(f"({x} << {shift!r})" if shift else x)
        return "(" + " | ".join(parts) + ")"

    # ---- statements -----------------------------------------------------

    def block(self, stmts: Sequence[ir.Stmt]) -> None:
        for s in stmts:
            method = self.rule(s)
            if self.guard is None or isinstance(s, ir.If):
                method(s)
                continue
            # Flat emission: the statement's lines go in one `if guard:` block.
            self.body.line(f"if {self.guard}:")
            saved, self.open_guard = self.open_guard, self.guard
            try:
                with self.body.indent():
                    method(s)
            finally:
                self.open_guard = saved

    def visit_Let(self, s: ir.Let) -> None:
        self.body.line(f"l_{_ident(s.name, 'local')} = {self.expr(s.value)}")
        if s.name in self.let_names:  # rebound: temporaries computed from it are stale
            self.let_gen += 1
        self.let_names.add(s.name)

    def visit_Assign(self, s: ir.Assign) -> None:
        t = s.target
        if isinstance(t, ir.RegTarget):
            self._assign_reg(t, s.value)
        elif isinstance(t, ir.FileTarget):
            self._assign_file(t, s.value)
        elif isinstance(t, ir.MemTarget):
            self._assign_mem(t, s.value)
        else:
            raise InternalError(f"the concrete semantics has no rule for target {type(t).__name__}")

    def _assign_reg(self, t: ir.RegTarget, value: ir.Expr) -> None:
        el = self.element(t.elem)
        val = self.expr(value)  # before the local exists: reads see the old value
        name = "s_" + _ident(t.elem, "state element")
        if t.elem not in self.scalars:
            self.scalars.append(t.elem)
        if t.lo == 0 and t.hi == el.width - 1:
            self.body.line(f"{name} = {val}")
        else:
            keep = mask(el.width) & ~(mask(t.hi - t.lo + 1) << t.lo)
            shifted = val if t.lo == 0 else f"({val} << {t.lo!r})"
            self.body.line(f"{name} = ({name} & {keep!r}) | {shifted}")
        if t.elem == self.isa.pc:
            self.pc_writes.append(self.path)
            if self.path:  # only a conditional write needs the flag
                self.body.line("pcw = True")

    def _assign_file(self, t: ir.FileTarget, value: ir.Expr) -> None:
        el = self.element(t.file)
        k = len(self.file_writes) + len(self.mem_writes)
        known = self.known(t.index)
        # An unconditional write at a known index needs no index variable:
        # reads and the commit use the number itself.
        index = repr(known) if known is not None and not self.path else f"wi_{k}"
        if index != repr(known):
            self.body.line(f"wi_{k} = {self.expr(t.index)}")
        val = self.expr(value)
        if not (t.lo == 0 and t.hi == el.width - 1):
            # A partial write merges into the register as it reads now.
            cur = self._file_read(t.file, t.index.width, index, known)
            keep = mask(el.width) & ~(mask(t.hi - t.lo + 1) << t.lo)
            val = f"({cur} & {keep!r}) | " + (val if t.lo == 0 else f"({val} << {t.lo!r})")
        self.body.line(f"wv_{k} = {val}")
        self.file_writes.append(_FileWrite(k, t.file, t.index.width, self.path, self.known(t.index)))

    def _assign_mem(self, t: ir.MemTarget, value: ir.Expr) -> None:
        self.uses.update(("check_store", "store"))
        k = len(self.file_writes) + len(self.mem_writes)
        self.body.line(f"ma_{k} = {self.expr(t.addr)}")
        self.body.line(f"mv_{k} = {self.expr(value)}")
        priv = self._priv(t.priv)
        if t.priv is not None and not isinstance(
            t.priv, str
        ):  # read now, as the store is checked: the commit comes later
            self.body.line(f"mp_{k} = {priv}")
            priv = f"mp_{k}"
        args = f"{self._space(t.space)}, ma_{k}, {t.nbits!r}, {priv}"
        self.body.line(f"check_store({args})")
        if self.pending:
            self.body.line(f"pend.append(({args}, mv_{k}))")
        self.mem_writes.append(_MemWrite(k, t.space, t.nbits, priv, self.path, _const(t.addr)))

    def visit_If(self, s: ir.If) -> None:
        n = self.n_ifs = self.n_ifs + 1
        outer = self.path
        if self.guard is not None or self.body.level >= MAX_INDENT:
            self._flat_if(s, n)
            return
        self.body.line(f"if {self.expr(s.cond)}:")
        with self.body.indent():
            self.path = outer + ((n, True),)
            self.block(s.then)
        if s.orelse:
            self.body.line("else:")
            with self.body.indent():
                self.path = outer + ((n, False),)
                self.block(s.orelse)
        self.path = outer

    def _flat_if(self, s: ir.If, n: int) -> None:
        """An `if` too deep for Python's indentation: each branch's statements
        run under a guard variable, at this one level."""
        outer, saved = self.path, self.guard
        cond = self.expr(s.cond)
        then = self.tmp("_g")
        self.body.line(f"{then} = bool({cond})" if saved is None else f"{then} = {saved} and bool({cond})")
        try:
            self.guard, self.path = then, outer + ((n, True),)
            self.block(s.then)
            if s.orelse:
                other = self.tmp("_g")
                self.body.line(f"{other} = not {then}" if saved is None else f"{other} = {saved} and not {then}")
                self.guard, self.path = other, outer + ((n, False),)
                self.block(s.orelse)
        finally:
            self.guard, self.path = saved, outer

    def visit_Trap(self, s: ir.Trap) -> None:
        cause = _ident(s.cause, "trap cause")
        try:
            memory = self.isa.traps.cause(cause).memory
        except StopIteration:
            raise InternalError(f"unknown trap cause {cause!r}") from None
        # A cause declared `memory: true` is a memory trap wherever it is raised.
        kind = "memtrap" if memory else "trap"
        if s.arg is None:
            const = f"_{kind}_{cause}"
            self.traps[const] = (kind, cause)
            result = const
        else:
            arg = self.expr(s.arg)
            m = mask(self.isa.traps.cause_width)
            result = f"Outcome({kind!r}, {cause!r}, {arg} & {m!r})"
        for line in self.exit_lines("trap"):
            self.body.line(line)
        self.body.line(f"return {self.ret}{result}")

    def visit_Halt(self, s: ir.Halt) -> None:
        self.commit(self.body)
        for line in self.exit_lines("halt"):
            self.body.line(line)
        self.body.line(f"return {self.ret}_HALT")

    # ---- commit ---------------------------------------------------------

    def commit(self, out: Emitter) -> None:
        """Write every pending value back, in program order, at path `self.path`."""
        here = self.path
        for elem in self.scalars:
            if elem == self.isa.pc:
                continue
            out.line(f"c_{elem} = s_{elem}" if elem in self.cached else f"v[{self.slot(elem)}] = s_{elem}")
        self._commit_pc(out, here)
        writes = sorted([(w.k, w) for w in self.file_writes] + [(w.k, w) for w in self.mem_writes], key=lambda p: p[0])
        for k, w in writes:
            rel = _relation(w.path, here)
            if rel == "no":
                continue
            if isinstance(w, _FileWrite) and w.const is not None:
                # The index is known: the write lands at a fixed slot, or never.
                if self._guarded(self.element(w.file), w.const):
                    continue
                conds = [f"wi_{k} >= 0"] if rel == "maybe" else []
                store = f"v[{w.const + self.slot(w.file)!r}] = wv_{k}"
            elif isinstance(w, _FileWrite):
                # The write lands unless it was not run or hits a guarded index.
                guards = self._file_guards(self.element(w.file), w.index_width)
                conds = [f"not ({' or '.join(guards).format(*[f'wi_{k}'] * 2)})"] if guards else []
                if rel == "maybe":
                    conds.insert(0, f"wi_{k} >= 0")
                store = f"{self._vindex(f'wi_{k}', self.slot(w.file))} = wv_{k}"
            else:
                conds = [f"ma_{k} >= 0"] if rel == "maybe" else []
                store = f"store({self._space(w.space)}, ma_{k}, {w.nbits!r}, {w.priv}, mv_{k})"
            if conds:
                out.line(f"if {' and '.join(conds)}:")
                with out.indent():
                    out.line(store)
            else:
                out.line(store)

    def _commit_pc(self, out: Emitter, here: Path_) -> None:
        pc = self.isa.pc
        slot = self.slot(pc)
        rels = [_relation(p, here) for p in self.pc_writes]
        written = pc in self.scalars
        if "yes" in rels or (written and not self.advance_pc):
            out.line(f"v[{slot}] = s_{pc}")
            return
        if not self.advance_pc or not (self.store_pc or written):
            return
        cur = f"s_{pc}" if written else (self.pc_now or f"v[{slot}]")
        step = repr(self.isa.insn_units) if self.length is None else f"({self._length_code()})"
        nxt = f"({cur} + {step}) & {mask(self.element(pc).width)!r}"
        if "maybe" in rels:
            out.line(f"v[{slot}] = s_{pc} if pcw else {nxt}")
        else:
            out.line(f"v[{slot}] = {nxt}")

    def _length_code(self) -> str:
        """The instance's length: an expression over operands only, outside
        the body's facts (its parts may equal the body's: no sharing)."""
        assert self.length is not None
        saved, self.repeats = self.repeats, {}
        try:
            return self.expr(self.length)
        finally:
            self.repeats = saved

    # ---- the whole function ----------------------------------------------

    def compile_body(self, stmts: Sequence[ir.Stmt]) -> bool:
        """The statements into `self.body`, with the commit at the end when
        it is reachable (returned: does control fall off the end?)."""
        self.pending = _reads_after_store(stmts, self._apart)
        self.facts = node_facts(stmts)
        height = max((h for h, _, _ in self.facts.values()), default=0)
        self.repeats = _repeats(stmts, self.facts)
        with stack_for(height):
            self.block(stmts)
        end_reachable = not (stmts and isinstance(stmts[-1], (ir.Trap, ir.Halt)))
        if end_reachable:
            self.path = ()
            self.commit(self.body)
        return end_reachable

    def prologue(self, out: Emitter) -> None:
        """The locals the body expects on entry: written scalars, flags, pending writes."""
        for elem in self.scalars:
            if elem == self.isa.pc and self.pc_now is not None:
                out.line(f"s_{elem} = {self.pc_now}")
            elif elem in self.cached:
                out.line(f"s_{elem} = c_{elem}")
            else:
                out.line(f"s_{elem} = v[{self.slot(elem)}]")
        if any(_relation(p, ()) != "yes" for p in self.pc_writes):
            out.line("pcw = False")
        # Conditional file/storage writes start as "not run" (-1 is no index or address).
        for w in self.file_writes:
            if w.path:
                out.line(f"wi_{w.k} = -1")
        for mw in self.mem_writes:
            if mw.path:
                out.line(f"ma_{mw.k} = -1")
        if self.pending:
            out.line("pend = []  # stores so far: (space, addr, nbits, priv, value)")

    def guarded_body(self, out: Emitter) -> None:
        """The body inside the `try` that turns a memory trap into an outcome."""
        out.line("try:")
        with out.indent():
            out.extend(self.body)
        out.line("except MemoryTrap as e:")
        with out.indent():
            for line in self.exit_lines("trap"):
                out.line(line)
            out.line(f"return {self.ret}Outcome('memtrap', e.cause, 0, e.addr)")

    def function(self, fname: str, stmts: Sequence[ir.Stmt], operands: Sequence[str], doc: str) -> str:
        if self.compile_body(stmts):
            self.body.line("return _OK")
        out = Emitter()
        # Every instruction takes `ops`, so the simulator calls them all alike.
        args = ", ".join(["state", "port", *self.params] + (["ops"] if not self.params else []))
        out.line(f"def {fname}({args}):")
        with out.indent():
            out.line(repr(doc))
            out.line("v = state.v")
            if operands:
                names = ", ".join("o_" + _ident(n, "operand") for n in operands)
                out.line(f"{names}, = ops")
            for use in ("load", "check_store", "store"):
                if use in self.uses:
                    out.line(f"{use} = port.{use}")
            self.prologue(out)
            self.guarded_body(out)
        return out.source()


operators.check_covers("concrete", FunctionCompiler._BINARY_RULES, tuple(operators.BINARY))


def load_function(src: str, fname: str, filename: str, traps: dict[str, tuple[str, str]], isa: ir.Isa) -> Callable:
    namespace: dict[str, Any] = {
        "Outcome": Outcome,
        "MemoryTrap": MemoryTrap,
        "_OK": OK,
        "_HALT": HALT,
        "_urem": _urem,
        "_mload": _mload,
        "_LEVELS": {code: name for name, code in isa.modes.levels},  # `as (EXPR)`: code -> level
    }
    for const, (kind, cause) in traps.items():
        namespace[const] = Outcome(kind, cause, 0)
    try:
        code = compile(src, filename, "exec")
    except SyntaxError as e:  # a bug in this module, never the user's
        raise InternalError(f"generated code for {filename} does not compile: {e}\n{src}") from e
    # Register the text so tracebacks and pdb show the generated lines.
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(code, namespace)
    return namespace[fname]


def _urem(a: int, b: int) -> int:
    return a % b if b else a


def _mload(port: MemoryPort, pend: list, space: str, addr: int, nbits: int, priv: str | None) -> int:
    """A storage read that sees the instruction's pending stores, cell by cell.

    The read is checked (and its old value fetched) by the port as usual.
    Which storage cells two accesses share depends on the translation, so a
    port that can tell offers `cells_of(space, addr, nbits, priv)`: the cells
    an access touches, unit k first (any hashable names), with `unit` and
    `little`. Each unit read is then taken from the latest pending store to
    the same cell. A port without `cells_of` gets whole-access matching: the
    latest store with the same space, address, width and privilege.
    """
    value = port.load(space, addr, nbits, priv)
    if not pend:
        return value
    cells_of = getattr(port, "cells_of", None)
    if cells_of is None:
        for p in reversed(pend):
            if p[0] == space and p[1] == addr and p[2] == nbits and p[3] == priv:
                return p[4]
        return value
    cells_port: Any = port  # a port that offers cells_of also tells `unit` and `little`
    unit, little = cells_port.unit, cells_port.little
    mine = cells_of(space, addr, nbits, priv)
    where = {c: k for k, c in enumerate(mine)}
    units = None
    for sp, sa, sn, spv, sv in pend:  # program order: later stores win
        theirs = cells_of(sp, sa, sn, spv)
        if where.keys().isdisjoint(theirs):
            continue
        if units is None:
            units = _split(value, len(mine), unit, little)
        stored = _split(sv, len(theirs), unit, little)
        for j, c in enumerate(theirs):
            k = where.get(c)
            if k is not None:
                units[k] = stored[j]
    if units is None:
        return value
    out = 0
    for u in reversed(units) if little else units:
        out = (out << unit) | u
    return out


def _split(value: int, n: int, unit: int, little: bool) -> list[int]:
    """The units of an n-unit value, unit k (the k-th address) first."""
    m = (1 << unit) - 1
    parts = [(value >> (unit * k)) & m for k in range(n)]  # least significant first
    return parts if little else parts[::-1]


def _reads_after_store(stmts: Sequence[ir.Stmt], apart: Callable) -> bool:
    """Does some storage read come after a store that it may overlap, in
    program order? (`apart(store_target, read)` says when they cannot.)"""
    stores: list[ir.MemTarget] = []

    def reads(node) -> list[ir.Mem]:
        return [m for m in walk(node) if isinstance(m, ir.Mem)]

    def overlaps(node) -> bool:
        return any(not apart(t, r) for r in reads(node) for t in stores)

    def scan(block) -> bool:
        for st in block:
            if isinstance(st, ir.If):
                if overlaps(st.cond) or scan(st.then) or scan(st.orelse):
                    return True
                continue
            if overlaps(st):
                return True
            if isinstance(st, ir.Assign) and isinstance(st.target, ir.MemTarget):
                stores.append(st.target)
        return False

    return scan(stmts)
