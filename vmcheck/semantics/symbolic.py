"""The IR read as z3 terms: the symbolic interpretation of one instruction.

One visitor over the elaborated IR (`vmcheck.spec.ir`), with explicit
dispatch per node type, produces for an instruction the terms of its result
as functions of a *canonical* pre-state (one z3 constant per element, one
per operand): the outcome (kind, cause code, trap argument), the post-state
of every element, what it did to storage, and whether it wrote the pc.
Callers make copies of the pre-state (the two states of a pair) with
`SymIsa.instantiate`, which substitutes their own terms for the canonical
constants. Results are memoized per (ISA, instruction, memory model).

Two memory models (docs/model.md §2.4):

* ``ARRAYS``, the spec's own translation over an array `E` of physical
  storage (`storage.addr_width`-bit indices, `unit`-bit values), exactly as
  the concrete machine does it: no translation, or relocation-bounds (an
  n-unit access at virtual `a` is legal iff `a <u bound` and
  `n-1 <u bound - a`; unit k sits at `(a + k + base) mod size`); an illegal
  access is a memory trap with `isa.traps.memory_cause`; `phys[...]` never
  traps and wraps modulo the size. Only the symbolic = concrete property
  test uses it.
* ``VIEW``, the shared view that every pair query uses: `mem[...]` reads come
  from an array `V` over virtual addresses, faults from one uninterpreted
  function `F(kind, priv_token, addr)` (kind 0 read, 1 write; token 0 is
  "the state's own mode", 1 + rank(L) an access `as L` at another level L),
  `phys[...]` from an array `P`. `V` and `F` are the same for both states of
  a pair; `P` is a constant the caller may share or not. Writes go to write
  logs, a written-mask array and a value array per space, both starting
  constant, so "what they wrote" compares by array equality; reads after
  writes within the instruction see the writes.

The meaning implemented is the one stated in `vmcheck.spec.ir`'s docstring:
reads see the pre-state except what the instruction already wrote; a trap
(or memory trap) ends the instruction and discards its writes, `halt` ends it
and keeps them; the pc advances by `insn_units` unless the instruction wrote
it (a trap leaves the pre-state: delivering the trap is `SymIsa.deliver`).

This module is longer than the project's ~500 lines on purpose: `SymIsa` is
one visitor of the IR (`spec/ir_walk.py`) whose rules share its environment
and its two memory models; what is not that visitor (results, merging of
environments, the operator builders) is small and sits beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from ..errors import InternalError
from ..spec import ir, operators
from ..spec.ir_walk import ExprVisitor, StmtVisitor, walk
from ..spec.memo import per_isa

# Outcome kinds, encoded in a 2-bit term.
OK, TRAP, MEMTRAP, HALT = 0, 1, 2, 3
KIND_NAMES = ("ok", "trap", "memtrap", "halt")

ARRAYS = "arrays"
VIEW = "view"

READ, WRITE = 0, 1
CURRENT = 0  # the privilege token of an access at the state's own mode


def _false() -> z3.BoolRef:
    return z3.BoolVal(False)


def _is_false(t: z3.ExprRef) -> bool:
    return z3.is_false(t)


def _or(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    if _is_false(a):
        return b
    if _is_false(b):
        return a
    return z3.Or(a, b)


def _ite(c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
    if a.eq(b):
        return a
    if z3.is_true(c):
        return a
    if z3.is_false(c):
        return b
    return z3.If(c, a, b)


def _bv(v: int, width: int) -> z3.BitVecRef:
    return z3.BitVecVal(v, width)


def _resize(t: z3.BitVecRef, width: int) -> z3.BitVecRef:
    """Zero-extend or truncate a bit-vector to `width` bits."""
    w = t.size()
    if w == width:
        return t
    if w < width:
        return z3.ZeroExt(width - w, t)
    return z3.Extract(width - 1, 0, t)


def _to_bv(t: z3.ExprRef, width: int) -> z3.BitVecRef:
    if z3.is_bool(t):
        return z3.If(t, _bv(1, width), _bv(0, width))
    return _resize(t, width)


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass
class SymResult:
    """The terms of one instruction's result over a pre-state.

    `kind` is a 2-bit term (OK, TRAP, MEMTRAP, HALT), `cause` and `arg`
    `cause_width`-bit terms (the cause's code and the trap argument; both 0
    when the outcome is ok or halt); `fault_addr` the word-wide virtual
    address of the access that raised a memory trap (the first faulting one
    in evaluation order; 0 for every other outcome; None when the ISA's
    delivery does not read it, so that no term is built). `post` maps every element to its value
    after the instruction (the pre-state when it trapped; pc advanced when it
    did not write it). `storage` is the memory model's storage after it:
    ARRAYS `{"E": array}`; VIEW `{"mem.w", "mem.d", "phys.w", "phys.d"}`
    (write logs, empty when it trapped).
    """

    kind: z3.BitVecRef
    cause: z3.BitVecRef
    arg: z3.BitVecRef
    post: dict[str, z3.ExprRef]
    storage: dict[str, z3.ExprRef]
    pc_written: z3.BoolRef
    model: str
    fault_addr: z3.BitVecRef | None  # None: the ISA's delivery does not read it
    # The instruction ended in `wait` (its kind is then OK: waiting completes the
    # instruction; time is outside equivalence, docs/model.md §2.5). False, and no
    # term built, for an instruction without `wait`.
    waits: z3.BoolRef = field(default_factory=_false)

    @property
    def trapped(self) -> z3.BoolRef:
        return z3.Or(self.kind == TRAP, self.kind == MEMTRAP)

    @property
    def runs(self) -> z3.BoolRef:
        """Neither traps nor memory-traps (ok or halt)."""
        return z3.Or(self.kind == OK, self.kind == HALT)

    def substitute(self, pairs: list[tuple[z3.ExprRef, z3.ExprRef]]) -> SymResult:
        if not pairs:
            return self
        s = _substituter(pairs)
        return SymResult(
            s(self.kind),
            s(self.cause),
            s(self.arg),
            {k: s(v) for k, v in self.post.items()},
            {k: s(v) for k, v in self.storage.items()},
            s(self.pc_written),
            self.model,
            None if self.fault_addr is None else s(self.fault_addr),
            self.waits if _is_false(self.waits) else s(self.waits),
        )

    def terms(self) -> list[z3.ExprRef]:
        return [self.kind, self.cause, self.arg, *self.post.values(), *self.storage.values()]


def _substituter(pairs: list[tuple[z3.ExprRef, z3.ExprRef]]):
    """`t -> z3.substitute(t, *pairs)` with the pairs checked and marshalled once,
    not once per term (z3.substitute re-checks every pair's sorts on each call,
    which dominated instantiating a state)."""
    for a, b in pairs:
        if not a.sort().eq(b.sort()):
            raise InternalError(f"symbolic: substituting {b.sort()} for {a.sort()}")
    n = len(pairs)
    src, dst = (z3.Ast * n)(), (z3.Ast * n)()
    for i, (a, b) in enumerate(pairs):
        src[i], dst[i] = a.as_ast(), b.as_ast()
    ctx = pairs[0][0].ctx

    def s(t: z3.ExprRef) -> z3.ExprRef:
        return z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), t.as_ast(), n, src, dst), ctx)

    return s


# --------------------------------------------------------------------------
# The execution environment
# --------------------------------------------------------------------------


@dataclass
class _Env:
    regs: dict[str, z3.ExprRef]
    locals: dict[str, z3.ExprRef]
    store: dict[str, z3.ExprRef]  # memory model's state (arrays)
    done: z3.BoolRef
    kind: z3.BitVecRef
    cause: z3.BitVecRef
    arg: z3.BitVecRef
    pc_written: z3.BoolRef
    fault_addr: z3.BitVecRef | None
    waits: z3.BoolRef = field(default_factory=_false)  # ended in `wait` (see SymResult)

    def copy(self) -> _Env:
        return _Env(
            dict(self.regs),
            dict(self.locals),
            dict(self.store),
            self.done,
            self.kind,
            self.cause,
            self.arg,
            self.pc_written,
            self.fault_addr,
            self.waits,
        )


def _merge(c: z3.BoolRef, a: _Env, b: _Env) -> _Env:
    def m(x, y):
        return _ite(c, x, y)

    locs = dict(b.locals)
    for k, v in a.locals.items():
        locs[k] = m(v, b.locals[k]) if k in b.locals else v
    return _Env(
        {k: m(v, b.regs[k]) for k, v in a.regs.items()},
        locs,
        {k: m(v, b.store[k]) for k, v in a.store.items()},
        m(a.done, b.done),
        m(a.kind, b.kind),
        m(a.cause, b.cause),
        m(a.arg, b.arg),
        m(a.pc_written, b.pc_written),
        None if a.fault_addr is None or b.fault_addr is None else m(a.fault_addr, b.fault_addr),
        m(a.waits, b.waits),
    )


# A fault is (condition, address): the access faults when the condition
# holds, and `address` is its word-wide virtual address (fault_addr), or None
# when the ISA's delivery does not read it.
Fault = tuple[z3.BoolRef, z3.BitVecRef | None]


def _first_fault(faults: list[Fault], join: bool = False) -> Fault:
    """Faults in evaluation order -> one: any of them, at the address of the
    first that holds (the concrete reading stops at that access). `join`:
    the condition is an `Or` even of one fault (the terms the engine has
    always been given there)."""
    cond = faults[0][0] if len(faults) == 1 and not join else z3.Or([c for c, _ in faults])
    addr = faults[-1][1]
    if addr is None:  # addresses untracked (see SymIsa.fault_addrs)
        return cond, None
    for c, a in reversed(faults[:-1]):
        if a is not None:
            addr = _ite(c, a, addr)
    return cond, addr


# --------------------------------------------------------------------------
# One ISA read symbolically
# --------------------------------------------------------------------------


def unprotected(isa: ir.Isa) -> bool:
    """No translation and no memory cause: `mem[...]` is plain physical storage."""
    return isinstance(isa.storage.translation, ir.NoTranslation) and not isa.traps.memory_cause


class SymIsa(ExprVisitor, StmtVisitor):
    """The symbolic reading of one ISA: sorts, canonical constants, executor.

    A visitor of the IR (`spec/ir_walk.py`): one `visit_<Type>` rule per
    expression type, `(e, env, faults, model) -> term`, and per statement
    type, `(s, env, model)`, updating `env`; a node type without a rule
    stops the class from being created.
    """

    def __init__(self, isa: ir.Isa):
        self.isa = isa
        st = isa.storage
        self.unit = st.unit
        self.aw = st.addr_width
        self.cw = isa.traps.cause_width
        self.vaw = _view_address_width(isa)
        self.tok_width = max(1, len(isa.modes.levels).bit_length())
        self.fault = z3.Function(
            "F", z3.BitVecSort(1), z3.BitVecSort(self.tok_width), z3.BitVecSort(self.vaw), z3.BoolSort()
        )
        # Without a memory cause (no translation, no address errors) nothing memory-traps.
        self.memcode = isa.traps.cause(isa.traps.memory_cause).code if isa.traps.memory_cause else None
        # docs/model.md §2.4: with neither a translation nor a memory cause there is no
        # memory protection, so the view *is* physical storage: every access is
        # read as a phys[...] access (an unprotected store reaches the VMM's own
        # storage: location sensitive), never as a view that cannot fault.
        self.unprotected = unprotected(isa)
        # Fault addresses are terms only for a spec whose delivery reads them:
        # for the others no term is built, so their formulas (and the models
        # the solver picks for them) are exactly what they were before.
        self.fault_addrs = any(isinstance(n, ir.Local) and n.name == "fault_addr" for n in walk(isa.traps.deliver))
        self._memo: dict[tuple[str, str], SymResult] = {}
        self.canon = self.state_vars("")
        self.canon_storage = self.storage_vars("")

    # ---- constants --------------------------------------------------------

    def elem_sort(self, e: ir.Element) -> z3.SortRef:
        if e.is_file:
            return z3.ArraySort(z3.BitVecSort(e.index_width), z3.BitVecSort(e.width))
        return z3.BitVecSort(e.width)

    def state_vars(self, tag: str) -> dict[str, z3.ExprRef]:
        """A fresh symbolic pre-state: one constant per element, named `elem` + tag."""
        return {e.name: z3.Const(e.name + tag, self.elem_sort(e)) for e in self.isa.elements}

    def storage_vars(self, tag: str) -> dict[str, z3.ExprRef]:
        """Storage constants: E (ARRAYS physical), V (view), P (VIEW phys)."""
        return {
            "E": z3.Array("E" + tag, z3.BitVecSort(self.aw), z3.BitVecSort(self.unit)),
            "V": z3.Array("V" + tag, z3.BitVecSort(self.vaw), z3.BitVecSort(self.unit)),
            "P": z3.Array("P" + tag, z3.BitVecSort(self.aw), z3.BitVecSort(self.unit)),
        }

    def operand_vars(self, insn: ir.Instruction, tag: str = "") -> dict[str, z3.BitVecRef]:
        return {o.name: z3.BitVec(f"{insn.name}.{o.name}{tag}", o.width) for o in insn.operands}

    def operand_domain(self, insn: ir.Instruction, ops: dict[str, z3.BitVecRef]) -> list[z3.BoolRef]:
        out = []
        for o in insn.operands:
            if o.limit:  # a prefix group's operand: 0 (none) or one of its prefixes
                out.append(z3.ULT(ops[o.name], _bv(o.limit, o.width)))
            if o.kind == "reg" and o.file is not None:
                count = self.isa.element(o.file).count or 0
                if count < (1 << o.width):
                    out.append(z3.ULT(ops[o.name], _bv(count, o.width)))
            if o.modes is not None:
                out += _unshadowed(o, ops)
        return out

    # ---- the mode -----------------------------------------------------------

    def mode_of(self, regs: dict[str, z3.ExprRef]) -> z3.BitVecRef:
        md = self.isa.modes
        return z3.Extract(md.hi, md.lo, regs[md.elem])

    def mode_in(self, regs: dict[str, z3.ExprRef], levels) -> z3.BoolRef:
        md = self.isa.modes
        m = self.mode_of(regs)
        return z3.Or([m == md.code(lv) for lv in levels]) if levels else _false()

    def with_mode(self, regs: dict[str, z3.ExprRef], mode: z3.BitVecRef) -> dict[str, z3.ExprRef]:
        """`regs` with the mode bits replaced by `mode`."""
        md = self.isa.modes
        out = dict(regs)
        out[md.elem] = replace_bits(regs[md.elem], md.hi, md.lo, mode)
        return out

    # ---- predicates over a state (invariants, `where`, `host`) ---------------

    def predicate(self, expr: ir.Expr, regs: dict[str, z3.ExprRef]) -> z3.BoolRef:
        env = self._env(regs, {}, dict(self.canon_storage), ARRAYS)
        faults: list = []
        v = self._ev(expr, env, faults, ARRAYS)
        return v if z3.is_bool(v) else v != 0

    # ---- executing an instruction -----------------------------------------

    def execute(self, insn: ir.Instruction | str, model: str = VIEW) -> SymResult:
        """The canonical result of `insn` (memoized): over `self.canon`,
        `self.canon_storage` and `operand_vars(insn)`."""
        if isinstance(insn, str):
            insn = self.isa.instruction(insn)
        key = (insn.name, model)
        res = self._memo.get(key)
        if res is None:
            res = self._run(insn.semantics, self.operand_vars(insn), model, insn.length)
            self._memo[key] = res
        return res

    def instantiate(
        self,
        insn: ir.Instruction | str,
        regs: dict[str, z3.ExprRef],
        ops: dict[str, z3.ExprRef],
        storage: dict[str, z3.ExprRef] | None = None,
        model: str = VIEW,
    ) -> SymResult:
        """The result of `insn` at the pre-state `regs` with operands `ops`."""
        if isinstance(insn, str):
            insn = self.isa.instruction(insn)
        res = self.execute(insn, model)
        canon_ops = self.operand_vars(insn)
        pairs = [(self.canon[k], v) for k, v in regs.items() if not v.eq(self.canon[k])]
        pairs += [(canon_ops[k], v) for k, v in ops.items() if not v.eq(canon_ops[k])]
        for k, v in (storage or {}).items():
            if not v.eq(self.canon_storage[k]):
                pairs.append((self.canon_storage[k], v))
        return res.substitute(pairs)

    def deliver(
        self,
        regs: dict[str, z3.ExprRef],
        storage: z3.ArrayRef,
        cause: z3.BitVecRef,
        arg: z3.BitVecRef,
        fault_addr: z3.BitVecRef | None = None,
    ) -> tuple[dict[str, z3.ExprRef], z3.ArrayRef]:
        """The trap delivery (`isa.traps.deliver`) over ARRAYS storage, on the
        state before the trapping instruction: (registers, storage) after it.
        `fault_addr` is the memory trap's address (None: 0)."""
        env = self._env(regs, {}, {"E": storage}, ARRAYS)
        env.locals["cause"] = _resize(cause, self.cw)
        env.locals["trap_arg"] = _resize(arg, self.cw)
        if self.fault_addrs:  # (else the delivery does not read it)
            word = self.isa.word
            env.locals["fault_addr"] = _bv(0, word) if fault_addr is None else _resize(fault_addr, word)
        self._block(self.isa.traps.deliver, env, ARRAYS)
        return env.regs, env.store["E"]

    def _env(self, regs, ops, storage, model) -> _Env:
        if model == ARRAYS:
            store = {"E": storage["E"]}
        else:
            store = {
                "V": storage["V"],
                "P": storage["P"],
                "mem.w": z3.K(z3.BitVecSort(self.vaw), z3.BoolVal(False)),
                "mem.d": z3.K(z3.BitVecSort(self.vaw), _bv(0, self.unit)),
                "phys.w": z3.K(z3.BitVecSort(self.aw), z3.BoolVal(False)),
                "phys.d": z3.K(z3.BitVecSort(self.aw), _bv(0, self.unit)),
            }
        env = _Env(
            dict(regs),
            {},
            store,
            _false(),
            _bv(OK, 2),
            _bv(0, self.cw),
            _bv(0, self.cw),
            _false(),
            _bv(0, self.isa.word) if self.fault_addrs else None,
        )
        env.locals.update({"$op." + k: v for k, v in ops.items()})
        env.locals["$pre_mode"] = self.mode_of(regs)
        env.locals.update({"$pre." + k: v for k, v in regs.items()})
        return env

    def _run(self, body, ops, model, length: ir.Expr | None = None) -> SymResult:
        pre = self.canon
        env = self._env(pre, ops, self.canon_storage, model)
        # The advance of a variable-length instance: its length, an expression
        # over its operands only (it reads no state, so where it is read does not matter).
        step = None if length is None else self._ev(length, env, [], model)
        self._block(body, env, model)
        trapped = z3.Or(env.kind == TRAP, env.kind == MEMTRAP) if not _is_false(env.done) else _false()
        post = {}
        pcname = self.isa.pc
        for name, v in env.regs.items():
            if name == pcname:
                pw = pre[name].size()
                adv = pre[name] + (_bv(self.isa.insn_units, pw) if step is None else _fit(step, pw))
                v = _ite(env.pc_written, v, adv)
            post[name] = _ite(trapped, pre[name], v)
        if model == ARRAYS:
            storage = {"E": _ite(trapped, self.canon_storage["E"], env.store["E"])}
        else:
            empty = self._env(pre, {}, self.canon_storage, VIEW).store
            storage = {k: _ite(trapped, empty[k], env.store[k]) for k in ("mem.w", "mem.d", "phys.w", "phys.d")}
        simp = z3.simplify
        return SymResult(
            simp(env.kind),
            simp(env.cause),
            simp(env.arg),
            {k: simp(v) for k, v in post.items()},
            {k: simp(v) for k, v in storage.items()},
            simp(env.pc_written),
            model,
            None if env.fault_addr is None else simp(env.fault_addr),
            env.waits if _is_false(env.waits) else simp(env.waits),
        )

    # ---- statements ---------------------------------------------------------

    def _block(self, stmts, env: _Env, model: str) -> None:
        for s in stmts:
            if z3.is_true(env.done):
                return
            self._stmt(s, env, model)

    def _stmt(self, s: ir.Stmt, env: _Env, model: str) -> None:
        self.visit(s, env, model)

    def visit_Let(self, s: ir.Let, env: _Env, model: str) -> None:
        faults: list = []
        v = self._ev(s.value, env, faults, model)
        self._apply_faults(env, faults)
        env.locals[s.name] = v

    def visit_Assign(self, s: ir.Assign, env: _Env, model: str) -> None:
        faults: list = []
        value = self._ev(s.value, env, faults, model)
        t = s.target
        live = lambda: z3.Not(env.done)  # noqa: E731
        if isinstance(t, ir.RegTarget):
            self._apply_faults(env, faults)
            old = env.regs[t.elem]
            new = replace_bits(old, t.hi, t.lo, _to_bv(value, t.hi - t.lo + 1))
            env.regs[t.elem] = _ite(live(), new, old)
            if t.elem == self.isa.pc:
                env.pc_written = _or(env.pc_written, live())
        elif isinstance(t, ir.FileTarget):
            idx = self._ev(t.index, env, faults, model)
            self._apply_faults(env, faults)
            e = self.isa.element(t.file)
            arr = env.regs[t.file]
            i = _resize(idx, e.index_width)
            old = z3.Select(arr, i)
            new = z3.Store(arr, i, replace_bits(old, t.hi, t.lo, _to_bv(value, t.hi - t.lo + 1)))
            guard = _file_guard(e, idx)  # the zero register and indices past the end drop writes
            if guard is not None:
                new = z3.If(guard, arr, new)
            env.regs[t.file] = _ite(live(), new, arr)
        elif isinstance(t, ir.MemTarget):
            addr = self._ev(t.addr, env, faults, model)
            self._apply_faults(env, faults)
            self._mem_write(env, model, t.space, addr, t.nbits, t.priv, _to_bv(value, t.nbits))
        else:
            raise InternalError(f"symbolic: no rule for target {type(t).__name__}")

    def visit_If(self, s: ir.If, env: _Env, model: str) -> None:
        faults: list = []
        c = self._ev(s.cond, env, faults, model)
        self._apply_faults(env, faults)
        if z3.is_true(c):
            return self._block(s.then, env, model)
        if z3.is_false(c):
            return self._block(s.orelse, env, model)
        a, b = env.copy(), env.copy()
        self._block(s.then, a, model)
        self._block(s.orelse, b, model)
        m = _merge(c, a, b)
        env.__dict__.update(m.__dict__)

    def visit_Trap(self, s: ir.Trap, env: _Env, model: str) -> None:
        faults: list = []
        arg = _bv(0, self.cw) if s.arg is None else _to_bv(self._ev(s.arg, env, faults, model), self.cw)
        self._apply_faults(env, faults)
        cause = self.isa.traps.cause(s.cause)
        live = z3.Not(env.done)
        env.kind = _ite(live, _bv(MEMTRAP if cause.memory else TRAP, 2), env.kind)
        env.cause = _ite(live, _bv(cause.code, self.cw), env.cause)
        env.arg = _ite(live, arg, env.arg)
        env.done = z3.BoolVal(True)

    def visit_Halt(self, s: ir.Halt, env: _Env, model: str) -> None:
        env.kind = _ite(z3.Not(env.done), _bv(HALT, 2), env.kind)
        env.done = z3.BoolVal(True)

    def visit_Wait(self, s: ir.Wait, env: _Env, model: str) -> None:
        # The kind stays OK: a wait completes the instruction, keeping its writes.
        env.waits = _or(env.waits, z3.Not(env.done))
        env.done = z3.BoolVal(True)

    def _apply_faults(self, env: _Env, faults: list[Fault]) -> None:
        """A memory trap when any of `faults` holds (and the instruction still
        runs), at the address of the first that holds."""
        if not faults or self.memcode is None:
            faults.clear()
            return
        f, addr = _first_fault(faults)
        faults.clear()
        if z3.is_false(f):
            return
        new = z3.And(z3.Not(env.done), f)
        env.kind = _ite(new, _bv(MEMTRAP, 2), env.kind)
        env.cause = _ite(new, _bv(self.memcode, self.cw), env.cause)
        env.arg = _ite(new, _bv(0, self.cw), env.arg)
        if addr is not None and env.fault_addr is not None:
            env.fault_addr = _ite(new, addr, env.fault_addr)
        env.done = _or(env.done, f)

    # ---- memory -------------------------------------------------------------

    def _units(self, nbits: int) -> int:
        return nbits // self.unit

    def _join(self, parts: list[z3.BitVecRef]) -> z3.BitVecRef:
        """Units in address order -> the value, in the storage's byte order."""
        if len(parts) == 1:
            return parts[0]
        order = parts[::-1] if self.isa.storage.endian == "little" else parts
        return z3.Concat(order)

    def _split(self, value: z3.BitVecRef, n: int) -> list[z3.BitVecRef]:
        u = self.unit
        pieces = [z3.Extract((k + 1) * u - 1, k * u, value) for k in range(n)]  # least significant first
        return pieces if self.isa.storage.endian == "little" else pieces[::-1]

    def _translate(self, env: _Env, addr: z3.BitVecRef, n: int):
        """ARRAYS: (legal, [physical index of unit k])."""
        tr = self.isa.storage.translation
        if isinstance(tr, ir.RelocationBounds):
            # the translation registers as they were before the instruction
            base, bound = env.locals["$pre." + tr.base], env.locals["$pre." + tr.bound]
            w = max(addr.size(), base.size(), bound.size())
            a, b, reloc = _resize(addr, w), _resize(bound, w), _resize(base, w)
            legal = z3.And(z3.ULT(a, b), z3.ULT(_bv(n - 1, w), b - a))
            idx = [_resize(a + _bv(k, w) + reloc, self.aw) for k in range(n)]
            return legal, idx
        w = max(addr.size(), self.aw)
        a = _resize(addr, w)
        return z3.BoolVal(True), [_resize(a + _bv(k, w), self.aw) for k in range(n)]

    def _phys_index(self, addr: z3.BitVecRef, n: int) -> list[z3.BitVecRef]:
        w = max(addr.size(), self.aw)
        a = _resize(addr, w)
        return [_resize(a + _bv(k, w), self.aw) for k in range(n)]

    def _view_index(self, addr: z3.BitVecRef, n: int) -> list[z3.BitVecRef]:
        a = _resize(addr, self.vaw)
        return [a + _bv(k, self.vaw) for k in range(n)]

    def priv_token(self, env_mode: z3.BitVecRef, priv: str | None) -> z3.BitVecRef:
        if priv is None:
            return _bv(CURRENT, self.tok_width)
        md = self.isa.modes
        return z3.If(env_mode == md.code(priv), _bv(CURRENT, self.tok_width), _bv(1 + md.rank(priv), self.tok_width))

    def _access_token(self, env: _Env, priv: str | ir.Expr | None, model: str) -> z3.BitVecRef:
        """The token of an access `as` `priv`: a level's name, None (the current
        mode), or an expression giving a level's code, read as the instruction
        sees state; a code naming no level (or the current one) is the
        current privilege."""
        mode = env.locals["$pre_mode"]
        if priv is None or isinstance(priv, str):
            return self.priv_token(mode, priv)
        code = _as_bv(self._ev(priv, env, [], model))  # no storage read (the loader refuses one)
        tok = _bv(CURRENT, self.tok_width)
        for level, c in reversed(self.isa.modes.levels):
            tok = z3.If(code == c, _bv(1 + self.isa.modes.rank(level), self.tok_width), tok)
        return z3.If(code == mode, _bv(CURRENT, self.tok_width), tok)

    def _fault_addr(self, addr: z3.BitVecRef) -> z3.BitVecRef | None:
        """An access's address as `fault_addr` holds it: one word (None when
        the delivery does not read it)."""
        return _resize(_as_bv(addr), self.isa.word) if self.fault_addrs else None

    def _mem_read(self, env: _Env, model: str, space: str, addr, nbits: int, priv, faults: list):
        n = self._units(nbits)
        if self.unprotected:
            space = "phys"
        if model == ARRAYS:
            E = env.store["E"]
            if space == "phys":
                idx = self._phys_index(addr, n)
            else:
                legal, idx = self._translate(env, addr, n)
                if not z3.is_true(legal):
                    faults.append((z3.Not(legal), self._fault_addr(addr)))
            return self._join([z3.Select(E, i) for i in idx])
        if space == "phys":
            idx = self._phys_index(addr, n)
            W, D, base = env.store["phys.w"], env.store["phys.d"], env.store["P"]
        else:
            idx = self._view_index(addr, n)
            W, D, base = env.store["mem.w"], env.store["mem.d"], env.store["V"]
            tok = self._access_token(env, priv, model)
            faults.append((z3.Or([self.fault(_bv(READ, 1), tok, i) for i in idx]), self._fault_addr(addr)))
        return self._join([z3.If(z3.Select(W, i), z3.Select(D, i), z3.Select(base, i)) for i in idx])

    def _mem_write(self, env: _Env, model: str, space: str, addr, nbits: int, priv, value) -> None:
        n = self._units(nbits)
        if self.unprotected:
            space = "phys"
        parts = self._split(value, n)
        if model == ARRAYS:
            if space == "phys":
                idx = self._phys_index(addr, n)
            else:
                legal, idx = self._translate(env, addr, n)
                if not z3.is_true(legal):
                    self._apply_faults(env, [(z3.Not(legal), self._fault_addr(addr))])
            E = old = env.store["E"]
            for i, p in zip(idx, parts):
                E = z3.Store(E, i, p)
            env.store["E"] = _ite(z3.Not(env.done), E, old)
            return
        if space == "phys":
            idx = self._phys_index(addr, n)
            wk, dk = "phys.w", "phys.d"
        else:
            idx = self._view_index(addr, n)
            wk, dk = "mem.w", "mem.d"
            tok = self._access_token(env, priv, model)
            self._apply_faults(env, [(z3.Or([self.fault(_bv(WRITE, 1), tok, i) for i in idx]), self._fault_addr(addr))])
        W, D = env.store[wk], env.store[dk]
        W0, D0 = W, D
        for i, p in zip(idx, parts):
            W = z3.Store(W, i, z3.BoolVal(True))
            D = z3.Store(D, i, p)
        live = z3.Not(env.done)
        env.store[wk] = _ite(live, W, W0)
        env.store[dk] = _ite(live, D, D0)

    # ---- expressions --------------------------------------------------------

    def _ev(self, e: ir.Expr, env: _Env, faults: list, model: str) -> z3.ExprRef:
        return self.visit(e, env, faults, model)

    def visit_Lit(self, e: ir.Lit, env, faults, model):
        return z3.BoolVal(bool(e.value)) if e.width == ir.BOOL else _bv(e.value, e.width)

    def visit_Local(self, e: ir.Local, env, faults, model):
        try:
            return env.locals[e.name]
        except KeyError:
            raise InternalError(f"symbolic: local {e.name!r} read before its let") from None

    def visit_Operand(self, e: ir.Operand, env, faults, model):
        return env.locals["$op." + e.name]

    def visit_Reg(self, e: ir.Reg, env, faults, model):
        return env.regs[e.elem]

    def visit_FileRead(self, e: ir.FileRead, env, faults, model):
        el = self.isa.element(e.file)
        idx = self._ev(e.index, env, faults, model)
        v = z3.Select(env.regs[e.file], _resize(idx, el.index_width))
        guard = _file_guard(el, idx)
        return v if guard is None else z3.If(guard, _bv(0, el.width), v)

    def visit_Slice(self, e: ir.Slice, env, faults, model):
        return z3.Extract(e.hi, e.lo, _as_bv(self._ev(e.value, env, faults, model)))

    def visit_Mem(self, e: ir.Mem, env, faults, model):
        addr = _as_bv(self._ev(e.addr, env, faults, model))
        return self._mem_read(env, model, e.space, addr, e.nbits, e.priv, faults)

    def visit_Probe(self, e: ir.Probe, env, faults, model):
        addr = _as_bv(self._ev(e.addr, env, faults, model))
        return self._probe(env, model, e.kind, addr, e.nbits, e.priv)

    def _probe(self, env: _Env, model: str, kind: str, addr, nbits: int, priv) -> z3.BoolRef:
        """Would a `mem` access fault? Under ARRAYS the translation's legality
        (as `_mem_read` checks it), under VIEW F(kind, token, unit) for some
        unit: exactly the condition under which that access would memory-trap,
        with nothing read, written or trapped. A spec without memory
        protection (no memory cause, or its view is physical storage) never faults."""
        if self.memcode is None or self.unprotected:
            return z3.BoolVal(False)
        n = self._units(nbits)
        if model == ARRAYS:
            legal, _ = self._translate(env, addr, n)
            return z3.Not(legal)
        tok = self._access_token(env, priv, model)
        code = _bv(READ if kind == "read" else WRITE, 1)
        return z3.Or([self.fault(code, tok, i) for i in self._view_index(addr, n)])

    def visit_Un(self, e: ir.Un, env, faults, model):
        v = self._ev(e.value, env, faults, model)
        build = _Z3_UNARY.get(e.op)
        if build is None:
            raise InternalError(f"symbolic: unknown unary op {e.op!r}")
        return build(v)

    def visit_Bin(self, e: ir.Bin, env, faults, model):
        op = e.op
        build = _Z3_BINARY.get(op)
        if build is None:
            raise InternalError(f"symbolic: unknown binary op {op!r}")
        if op in ("land", "lor"):
            # short-circuit: the right side's memory faults count only when it is evaluated
            lhs = self._ev(e.left, env, faults, model)
            rf: list[Fault] = []
            rhs = self._ev(e.right, env, rf, model)
            if rf:
                f, a = _first_fault(rf, join=True)
                faults.append((z3.And(lhs, f) if op == "land" else z3.And(z3.Not(lhs), f), a))
            return build(lhs, rhs)
        lhs = self._ev(e.left, env, faults, model)
        rhs = self._ev(e.right, env, faults, model)
        return build(lhs, rhs)

    def visit_Ite(self, e: ir.Ite, env, faults, model):
        c = self._ev(e.cond, env, faults, model)
        tf: list[Fault] = []
        ef: list[Fault] = []
        a = self._ev(e.then, env, tf, model)
        b = self._ev(e.orelse, env, ef, model)
        if tf or ef:
            zero = _bv(0, self.isa.word) if self.fault_addrs else None
            tc, ta = _first_fault(tf, join=True) if tf else (_false(), zero)
            ec, ea = _first_fault(ef, join=True) if ef else (_false(), zero)
            faults.append((z3.If(c, tc, ec), None if ta is None or ea is None else _ite(c, ta, ea)))
        if e.width == ir.BOOL:
            return z3.If(c, _as_bool(a), _as_bool(b))
        return z3.If(c, a, b)

    def visit_Ext(self, e: ir.Ext, env, faults, model):
        v = self._ev(e.value, env, faults, model)
        if z3.is_bool(v):  # a boolean as a bit-vector: 1 (zext) or all ones (sext)
            return z3.If(v, _bv(ir.mask(e.width) if e.signed else 1, e.width), _bv(0, e.width))
        d = e.width - v.size()
        if d == 0:
            return v
        return z3.SignExt(d, v) if e.signed else z3.ZeroExt(d, v)

    def visit_Concat(self, e: ir.Concat, env, faults, model):
        parts = [_as_bv(self._ev(p, env, faults, model)) for p in e.parts]
        return parts[0] if len(parts) == 1 else z3.Concat(parts)


def _file_guard(el: ir.Element, idx: z3.BitVecRef) -> z3.BoolRef | None:
    """When register `idx` of file `el` reads 0 and ignores writes: the zero
    register, and an index past the file's end (as the concrete semantics)."""
    assert el.count is not None  # a register file
    w = idx.size()
    conds = []
    if el.zero is not None:
        conds.append(idx == _bv(el.zero, w))
    if (1 << w) > el.count:
        conds.append(z3.UGE(idx, _bv(el.count, w)))
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else z3.Or(conds)


def _as_bv(t: z3.ExprRef) -> z3.BitVecRef:
    return z3.If(t, _bv(1, 1), _bv(0, 1)) if z3.is_bool(t) else t


def _as_bool(t: z3.ExprRef) -> z3.BoolRef:
    return t if z3.is_bool(t) else t != 0


def replace_bits(old: z3.BitVecRef, hi: int, lo: int, v: z3.BitVecRef) -> z3.BitVecRef:
    w = old.size()
    if lo == 0 and hi == w - 1:
        return v
    parts = []
    if hi < w - 1:
        parts.append(z3.Extract(w - 1, hi + 1, old))
    parts.append(v)
    if lo > 0:
        parts.append(z3.Extract(lo - 1, 0, old))
    return z3.Concat(parts)


def _shift(op: str, v: z3.BitVecRef, amt: z3.BitVecRef) -> z3.BitVecRef:
    w, aw = v.size(), amt.size()
    if aw <= w:
        a = _resize(amt, w)
        return v << a if op == "shl" else (z3.LShR(v, a) if op == "lshr" else v >> a)
    # a wider amount: shift in its width so that large amounts are not truncated
    wide = z3.SignExt(aw - w, v) if op == "ashr" else z3.ZeroExt(aw - w, v)
    r = wide << amt if op == "shl" else (z3.LShR(wide, amt) if op == "lshr" else wide >> amt)
    return z3.Extract(w - 1, 0, r)


# The z3 builder of every operator of the operator table (`spec/operators.py`,
# checked below): the same meaning on terms as `Operator.apply` on ints.
_Z3_UNARY = {
    "neg": lambda v: -v,
    "not": lambda v: ~v,
    "lnot": z3.Not,
}

_Z3_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "shl": lambda a, b: _shift("shl", a, b),
    "lshr": lambda a, b: _shift("lshr", a, b),
    "ashr": lambda a, b: _shift("ashr", a, b),
    "udiv": z3.UDiv,
    "urem": z3.URem,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "ult": z3.ULT,
    "ule": z3.ULE,
    "ugt": z3.UGT,
    "uge": z3.UGE,
    "slt": lambda a, b: a < b,
    "sle": lambda a, b: a <= b,
    "sgt": lambda a, b: a > b,
    "sge": lambda a, b: a >= b,
    "land": lambda a, b: z3.And(a, b),
    "lor": lambda a, b: z3.Or(a, b),
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
}

operators.check_covers("symbolic", _Z3_UNARY, operators.UNARY_OPS)
operators.check_covers("symbolic", _Z3_BINARY, tuple(operators.BINARY))


@per_isa
def _view_address_width(isa: ir.Isa) -> int:
    """The view's address width, memoised per ISA (a walk over every instruction,
    and `fresh_context` rebuilds the SymIsa for every unit of work): wide
    enough for storage, the word, and every `mem[...]` address expression."""
    widths = [
        node.addr.width
        for insn in isa.instructions
        for node in walk(insn.semantics)
        if isinstance(node, (ir.Mem, ir.MemTarget)) and node.space == "mem"
    ]
    return max([isa.storage.addr_width, isa.word] + widths)


# --------------------------------------------------------------------------
# The per-process registry (memoization per ISA)
# --------------------------------------------------------------------------

_REGISTRY: dict[int, tuple[ir.Isa, SymIsa]] = {}


def sym_isa(isa: ir.Isa) -> SymIsa:
    """The (memoized) symbolic reading of `isa`."""
    hit = _REGISTRY.get(id(isa))
    if hit is not None and hit[0] is isa:
        return hit[1]
    s = SymIsa(isa)
    _REGISTRY[id(isa)] = (isa, s)
    return s


def fresh_context() -> None:
    """Start a new z3 context for what follows (and forget every memoized reading).

    z3's answers (which model a sat query gets) depend on everything the
    context has seen before; the theorem engine calls this before each unit
    of work so that a witness is the same whatever ran before it in the
    process (a pool worker, `--jobs 1`, a test suite).
    """
    _REGISTRY.clear()
    z3.z3._main_ctx = None


def execute(isa: ir.Isa, insn: str, model: str = VIEW) -> SymResult:
    """The canonical symbolic result of instruction `insn` of `isa`."""
    return sym_isa(isa).execute(insn, model)


__all__ = [
    "ARRAYS",
    "VIEW",
    "OK",
    "TRAP",
    "MEMTRAP",
    "HALT",
    "KIND_NAMES",
    "READ",
    "WRITE",
    "CURRENT",
    "SymIsa",
    "SymResult",
    "sym_isa",
    "execute",
    "fresh_context",
]


def _fit(x: z3.BitVecRef, width: int) -> z3.BitVecRef:
    """`x` zero-extended or cut to `width` bits (a word-wide length added to the pc)."""
    if x.size() == width:
        return x
    return z3.ZeroExt(width - x.size(), x) if x.size() < width else z3.Extract(width - 1, 0, x)


def _unshadowed(o: ir.OperandDef, ops: dict[str, z3.BitVecRef]) -> list[z3.BoolRef]:
    """A mode operand's instances that some program can encode: not mode k
    with field values whose bits a more specific mode j takes (x86 `[reg]`
    with r/m 100 is the SIB form). Nothing when no two modes overlap."""
    from ..spec.build_modes import mode_overlap  # (the spec layer's rule, one place)

    assert o.modes is not None
    modes = o.modes.modes
    sel_w = ops[o.name].size()
    out = []
    for k, mk in enumerate(modes):
        for mj in modes:
            if mj is mk or mode_overlap(mj.encoding, mk.encoding) != "inside":
                continue
            parts = [_bv(mk.encoding.fixed, o.modes.bits)]
            for name, hi, lo, wlo in mk.encoding.pieces:
                f = z3.Extract(hi, lo, ops[f"{o.name}_{name}"])
                parts.append(z3.ZeroExt(o.modes.bits - (hi - lo + 1), f) << wlo if o.modes.bits > hi - lo + 1 else f)
            bits = parts[0]
            for p in parts[1:]:
                bits = bits | p
            taken = bits & _bv(mj.encoding.fixed_mask, o.modes.bits) == _bv(mj.encoding.fixed, o.modes.bits)
            out.append(z3.Not(z3.And(ops[o.name] == _bv(k, sel_w), taken)))
    return out
