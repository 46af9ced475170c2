"""The symbolic reading equals the concrete one (ARCHITECTURE.md: "two
interpretations, one meaning").

For every instruction of every bundled spec, random concrete pre-states,
storage contents and operand values are run through the concrete executor
(`vmcheck.semantics.concrete`, over the simulator's translating port) and
through the symbolic reading with the spec's own translation over arrays
(memory model ARRAYS of `vmcheck.semantics.symbolic`), evaluated by
substituting the concrete values and simplifying. The outcome kind, cause and
trap argument, every element of the post-state and every storage cell must be
equal. Each hypothesis example is a batch of states for one instruction, so
that the whole run stays fast; per instruction it checks
`EXAMPLES * BATCH` >= 200 states.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.machine.storage import Storage
from vmcheck.machine.translation import make_port
from vmcheck.semantics.concrete import compile_isa
from vmcheck.semantics.state import Layout, State
from vmcheck.semantics.symbolic import ARRAYS, KIND_NAMES, sym_isa
from vmcheck.spec.ir import mask
from vmcheck.spec.load import load_spec

sys.set_int_max_str_digits(0)  # batches are evaluated as one wide numeral

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(ROOT.glob("isa_specs/*/*.yaml"))
EXAMPLES = 2
BATCH = 100
assert EXAMPLES * BATCH >= 200

_ISAS: dict[Path, object] = {}


def _isa(path: Path):
    if path not in _ISAS:
        _ISAS[path] = load_spec(str(path))
    return _ISAS[path]


def _cases():
    out = []
    for path in SPECS:
        for insn in _isa(path).instructions:
            out.append(pytest.param(path, insn.name, id=f"{path.parent.name}:{insn.name}"))
    return out


def _value(rnd, width: int, near: list[int]) -> int:
    """Values that exercise boundaries: small, near interesting numbers, extremes, anything."""
    m = mask(width)
    k = rnd.randrange(4 if near else 3)
    if k == 0:
        return rnd.randint(0, min(m, 40))
    if k == 1:
        return rnd.choice([0, 1, m, m >> 1, (m >> 1) + 1])
    if k == 2:
        return rnd.randint(0, m)
    return (rnd.choice(near) + rnd.randint(-4, 4)) & m


def _example(rnd, isa, insn):
    """One concrete instance: (element values, storage cells, operand values)."""
    size = isa.storage.size
    near = [size, size // 2]
    md = isa.modes
    values: dict[str, int | list[int]] = {}
    for e in isa.elements:
        if e.is_file:
            values[e.name] = [_value(rnd, e.width, near) for _ in range(e.count)]
        else:
            values[e.name] = _value(rnd, e.width, near)
    # the mode: a valid level most of the time
    if rnd.randrange(10) < 9:
        code = rnd.choice([c for _, c in md.levels])
        keep = mask(isa.element(md.elem).width) & ~(mask(md.width) << md.lo)
        values[md.elem] = (values[md.elem] & keep) | (code << md.lo)
    ops = {}
    for o in insn.operands:
        if o.kind == "reg" and o.file is not None:
            ops[o.name] = rnd.randrange(isa.element(o.file).count)
        else:
            ops[o.name] = _value(rnd, o.width, [])
    # storage: zero, except cells near what registers and operands point at
    hot = [v for v in values.values() if isinstance(v, int)]
    for v in values.values():
        if isinstance(v, list):
            hot.extend(v)
    hot.extend(ops.values())
    hot.extend([0, 8, 9, 10, 11])
    cells = {}
    for _ in range(rnd.randrange(13)):
        addr = (rnd.choice(hot) + rnd.randint(-2, 4)) % size
        cells[addr] = _value(rnd, isa.storage.unit, [])
    return values, cells, ops


def _kind(isa, outcome) -> tuple[str, str | None, int]:
    """The concrete outcome with a trap of a memory cause counted as a memory trap."""
    kind, cause = outcome.kind, outcome.cause
    if kind == "trap" and isa.traps.cause(cause).memory:
        kind = "memtrap"
    return kind, cause, outcome.arg


class _Batch:
    """Evaluates an instruction's symbolic result at a batch of concrete
    instances with a handful of z3 calls.

    Each canonical constant x of width w is replaced, once per batch, by
    `Extract(w-1, 0, LShR(X, j * w))`, where the numeral X holds the batch's
    values of x side by side and j is a free index; one substitution per
    instance then sets j, and one simplification of the concatenated copies
    evaluates them all. Storage is the constant-zero array with each
    instance's seeded cells stored into it (padded to the same count with
    stores of 0 to address 0 innermost, which change nothing).
    """

    def __init__(self, isa, insn, sym, res):
        self.isa, self.insn, self.sym, self.res = isa, insn, sym, res
        self.opvars = sym.operand_vars(insn)
        parts, self.fields = [], []

        def add(name, t):
            parts.append(t)
            self.fields.append((name, t.size()))

        add(("kind",), res.kind)
        add(("cause",), res.cause)
        add(("arg",), res.arg)
        for e in isa.elements:
            post = res.post[e.name]
            if e.is_file:
                for i in range(e.count):
                    add((e.name, i), z3.Select(post, z3.BitVecVal(i, e.index_width)))
            else:
                add((e.name, 0), post)
        # every address the symbolic reading may store to (taken branch or not)
        self.store_idx = list(_store_index_terms(res.storage["E"]))
        for k, t in enumerate(self.store_idx):
            add(("store", k), t)
        self.term = z3.simplify(z3.Concat(parts)) if len(parts) > 1 else parts[0]
        self.j = z3.BitVec("batch.j", 32)

    def _lane(self, values: list[int], w: int, n: int) -> z3.BitVecRef:
        big = 0
        for v in reversed(values):
            big = (big << w) | (v & mask(w))
        total = max(w * n, 32)
        shift = z3.ZeroExt(total - 32, self.j) * z3.BitVecVal(w, total) if total > 32 else self.j * w
        return z3.Extract(w - 1, 0, z3.LShR(z3.BitVecVal(big, total), shift))

    def evaluate(self, terms: z3.ExprRef, insts: list) -> list[int]:
        """The value of the bit-vector `terms` at each (values, cells, ops) of `insts`."""
        isa, sym, n = self.isa, self.sym, len(insts)
        pairs = []
        for e in isa.elements:
            var = sym.canon[e.name]
            if e.is_file:
                arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
                for i in range(e.count):
                    arr = z3.Store(arr, z3.BitVecVal(i, e.index_width),
                                   self._lane([v[e.name][i] for v, _, _ in insts], e.width, n))
                pairs.append((var, arr))
            else:
                pairs.append((var, self._lane([v[e.name] for v, _, _ in insts], e.width, n)))
        for k, var in self.opvars.items():
            pairs.append((var, self._lane([o[k] for _, _, o in insts], var.size(), n)))
        most = max(len(c) for _, c, _ in insts)
        E = z3.K(z3.BitVecSort(sym.aw), z3.BitVecVal(0, sym.unit))
        for slot in range(most):
            addrs, vals = [], []
            for _, c, _ in insts:
                items = sorted(c.items())
                pad = most - len(items)
                a, v = items[slot - pad] if slot >= pad else (0, 0)
                addrs.append(a)
                vals.append(v)
            E = z3.Store(E, self._lane(addrs, sym.aw, n), self._lane(vals, sym.unit, n))
        pairs.append((sym.canon_storage["E"], E))
        general = _subst(terms, pairs)
        copies = [_subst(general, [(self.j, z3.BitVecVal(i, 32))]) for i in range(n)]
        got = z3.simplify(z3.Concat(copies) if n > 1 else copies[0])
        assert z3.is_bv_value(got), f"not a constant after substitution: {got}"
        # (binary: a decimal string of a numeral this wide takes quadratic time)
        big, w = int(z3.Z3_get_numeral_binary_string(got.ctx.ref(), got.as_ast()) or "0", 2), terms.size()
        return [(big >> (w * (n - 1 - i))) & mask(w) for i in range(n)]

    def unpack(self, value: int) -> dict:
        out = {}
        for name, w in reversed(self.fields):
            out[name] = value & mask(w)
            value >>= w
        return out


def _store_index_terms(t):
    seen, stack = set(), [t]
    while stack:
        x = stack.pop()
        if x.get_id() in seen or not z3.is_app(x):
            continue
        seen.add(x.get_id())
        if z3.is_app_of(x, z3.Z3_OP_STORE):
            yield x.arg(1)
        stack.extend(x.children())


def _subst(t, pairs):
    """z3.substitute without its per-call checks (the pairs are well sorted)."""
    n = len(pairs)
    src, dst = (z3.Ast * n)(), (z3.Ast * n)()
    for i, (a, b) in enumerate(pairs):
        src[i], dst[i] = a.as_ast(), b.as_ast()
    return z3.z3._to_expr_ref(z3.Z3_substitute(t.ctx.ref(), t.as_ast(), n, src, dst), t.ctx)


class _LoggingStorage(Storage):
    """Physical storage that remembers which cells were written."""

    __slots__ = ("log",)

    def write(self, addr, n, value):
        self.log.append((addr, n))
        Storage.write(self, addr, n, value)


def _check_batch(b: _Batch, storage, insts):
    isa, insn, sym = b.isa, b.insn, b.sym
    layout = Layout.of(isa)
    ex = compile_isa(isa)
    concrete = []
    for values, cells, ops in insts:
        state = State(layout)
        for name, v in values.items():
            if isinstance(v, list):
                for i, x in enumerate(v):
                    state.set(name, x, i)
            else:
                state.set(name, v)
        storage.log = []
        for a, v in cells.items():
            storage.cells[a] = v
        port = make_port(isa, storage, state, layout)
        o = ex.execute(insn.name, state, port, ops)
        touched = set(cells)
        for a, n in storage.log:
            touched.update((a + k) & storage.amask for k in range(n))
        after = {a: storage.cells[a] for a in touched}
        for a in touched:  # back to all zero for the next instance
            storage.cells[a] = 0
        concrete.append((o, state, after))

    values = b.evaluate(b.term, insts)
    probes = []
    for (vals, cells, ops), (o, state, after), packed in zip(insts, concrete, values):
        sv = b.unpack(packed)
        ctx = f"{insn.name} ops={ops} state={vals} cells={cells}"
        kind = KIND_NAMES[sv[("kind",)]]
        ckind, ccause, carg = _kind(isa, o)
        assert kind == ckind, f"outcome kind: symbolic {kind}, concrete {ckind} ({ccause}): {ctx}"
        if kind in ("trap", "memtrap"):
            assert isa.traps.by_code(sv[("cause",)]).name == ccause, ctx
            assert sv[("arg",)] == carg, ctx
        for e in isa.elements:
            for i in range(e.count or 1):
                got, want = sv[(e.name, i)], state.get(e.name, i)
                assert got == want, f"{e.name}[{i}]: symbolic {got:#x}, concrete {want:#x}: {ctx}"
        cand = {sv[("store", k)] & storage.amask for k in range(len(b.store_idx))}
        probes.append(sorted(set(after) | cand))

    # storage: every cell seeded, written concretely, or possibly stored symbolically
    most = max((len(p) for p in probes), default=0)
    if most == 0:
        return
    Epost = b.res.storage["E"]
    k = z3.BitVec("batch.probe", sym.aw)
    sel = z3.Select(Epost, k)
    # probe slot s of instance i reads the address in lane i of slot s
    slots = []
    for s in range(most):
        addrs = [p[s] if s < len(p) else 0 for p in probes]
        slots.append(z3.substitute(sel, (k, b._lane(addrs, sym.aw, len(insts)))))
    term = z3.Concat(slots) if len(slots) > 1 else slots[0]
    got = b.evaluate(term, insts)
    for (vals, cells, ops), (o, state, after), p, g in zip(insts, concrete, probes, got):
        for s in range(len(p)):
            v = (g >> (sym.unit * (most - 1 - s))) & mask(sym.unit)
            want = after.get(p[s], 0)
            assert v == want, f"storage[{p[s]:#x}]: symbolic {v:#x}, concrete {want:#x}: {insn.name} ops={ops} state={vals} cells={cells}"


@pytest.mark.skipif(not SPECS, reason="no bundled specs")
@pytest.mark.parametrize("path,name", _cases())
def test_symbolic_equals_concrete(path, name):
    isa = _isa(path)
    insn = isa.instruction(name)
    sym = sym_isa(isa)
    batch = _Batch(isa, insn, sym, sym.execute(insn, ARRAYS))
    storage = _LoggingStorage(isa.storage, isa.insn_units)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.randoms(use_true_random=False))
    def prop(rnd):
        _check_batch(batch, storage, [_example(rnd, isa, insn) for _ in range(BATCH)])

    prop()


def test_trap_delivery_equals_concrete():
    """The symbolic trap delivery (ARRAYS) equals the concrete one, for every cause."""
    for path in SPECS:
        isa = _isa(path)
        sym = sym_isa(isa)
        layout = Layout.of(isa)
        for cause in isa.traps.causes:
            state = State(layout)
            for e in isa.elements:
                for i in range(e.count or 1):
                    state.set(e.name, (7 * (layout.slots[e.name] + i) + 3) & mask(e.width), i)
            storage = Storage(isa.storage, isa.insn_units)
            for a in range(16):
                storage.write(a, 1, (a * 37 + 5) & mask(isa.storage.unit))
            port = make_port(isa, storage, state, layout)
            regs = {}
            for e in isa.elements:
                if e.is_file:
                    arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
                    for i in range(e.count):
                        arr = z3.Store(arr, i, state.get(e.name, i))
                    regs[e.name] = arr
                else:
                    regs[e.name] = z3.BitVecVal(state.get(e.name), e.width)
            E = z3.K(z3.BitVecSort(sym.aw), z3.BitVecVal(0, sym.unit))
            for a in range(16):
                E = z3.Store(E, a, storage.cells[a])
            post, Epost = sym.deliver(regs, E, z3.BitVecVal(cause.code, sym.cw), z3.BitVecVal(5, sym.cw))
            out = compile_isa(isa).deliver(state, port, cause.name, 5)
            assert out.kind == "ok"
            for e in isa.elements:
                if e.is_file:
                    got = [z3.simplify(z3.Select(post[e.name], i)).as_long() for i in range(e.count)]
                    assert got == [state.get(e.name, i) for i in range(e.count)]
                else:
                    assert z3.simplify(post[e.name]).as_long() == state.get(e.name), (cause.name, e.name)
            for a in range(64):
                assert z3.simplify(z3.Select(Epost, a)).as_long() == storage.cells[a], (cause.name, a)
