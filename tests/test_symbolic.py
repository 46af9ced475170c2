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

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(ROOT.glob("isa_specs/*/*.yaml"))
EXAMPLES = 25
BATCH = 8
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


def _value(width: int, near: list[int]):
    """Values that exercise boundaries: small, near interesting numbers, extremes, anything."""
    m = mask(width)
    parts = [
        st.integers(0, min(m, 40)),
        st.sampled_from([0, 1, m, m >> 1, (m >> 1) + 1]),
        st.integers(0, m),
    ]
    if near:
        parts.append(st.builds(lambda b, d: (b + d) & m, st.sampled_from(near), st.integers(-4, 4)))
    return st.one_of(parts)


@st.composite
def _example(draw, isa, insn):
    """One concrete instance: (element values, storage cells, operand values)."""
    size = isa.storage.size
    near = [size, size // 2]
    md = isa.modes
    values: dict[str, int | list[int]] = {}
    for e in isa.elements:
        if e.is_file:
            values[e.name] = [draw(_value(e.width, near)) for _ in range(e.count)]
        else:
            values[e.name] = draw(_value(e.width, near))
    # the mode: a valid level most of the time
    if draw(st.integers(0, 9)) < 9:
        code = draw(st.sampled_from([c for _, c in md.levels]))
        keep = mask(isa.element(md.elem).width) & ~(mask(md.width) << md.lo)
        values[md.elem] = (values[md.elem] & keep) | (code << md.lo)
    ops = {}
    for o in insn.operands:
        if o.kind == "reg" and o.file is not None:
            ops[o.name] = draw(st.integers(0, isa.element(o.file).count - 1))
        else:
            ops[o.name] = draw(_value(o.width, []))
    # storage: zero, except cells near what registers and operands point at
    hot = [v for v in values.values() if isinstance(v, int)]
    for v in values.values():
        if isinstance(v, list):
            hot.extend(v)
    hot.extend(ops.values())
    cells = {}
    for _ in range(draw(st.integers(0, 12))):
        base = draw(st.sampled_from(hot + [0, 8, 9, 10, 11]))
        addr = (base + draw(st.integers(-2, 4))) % size
        cells[addr] = draw(_value(isa.storage.unit, []))
    return values, cells, ops


def _kind(isa, outcome) -> tuple[str, str | None, int]:
    """The concrete outcome with a trap of a memory cause counted as a memory trap."""
    kind, cause = outcome.kind, outcome.cause
    if kind == "trap" and isa.traps.cause(cause).memory:
        kind = "memtrap"
    return kind, cause, outcome.arg


def _check_one(isa, insn, sym, res, values, cells, ops):
    layout = Layout.of(isa)
    state = State(layout)
    for name, v in values.items():
        if isinstance(v, list):
            for i, x in enumerate(v):
                state.set(name, x, i)
        else:
            state.set(name, v)
    storage = Storage(isa.storage, isa.insn_units)
    for a, v in cells.items():
        storage.write(a, 1, v)
    before = list(storage.cells)
    port = make_port(isa, storage, state, layout)
    out = compile_isa(isa).execute(insn.name, state, port, ops)

    # the same instance, symbolically
    pairs = []
    for e in isa.elements:
        var = sym.canon[e.name]
        if e.is_file:
            arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
            for i, x in enumerate(values[e.name]):
                arr = z3.Store(arr, i, x)
            pairs.append((var, arr))
        else:
            pairs.append((var, z3.BitVecVal(values[e.name], e.width)))
    E = z3.K(z3.BitVecSort(sym.aw), z3.BitVecVal(0, sym.unit))
    for a, v in sorted(cells.items()):
        E = z3.Store(E, a, v)
    pairs.append((sym.canon_storage["E"], E))
    opvars = sym.operand_vars(insn)
    pairs += [(opvars[k], z3.BitVecVal(v, opvars[k].size())) for k, v in ops.items()]
    inst = res.substitute(pairs)

    def val(t):
        r = z3.simplify(t)
        assert z3.is_bv_value(r), f"not a constant after substitution: {r}"
        return r.as_long()

    kind = KIND_NAMES[val(inst.kind)]
    ckind, ccause, carg = _kind(isa, out)
    ctx = f"{insn.name} ops={ops} state={values} cells={cells}"
    assert kind == ckind, f"outcome kind: symbolic {kind}, concrete {ckind}: {ctx}"
    if kind in ("trap", "memtrap"):
        code = val(inst.cause)
        assert isa.traps.by_code(code).name == ccause, ctx
        assert val(inst.arg) == carg, ctx
    for e in isa.elements:
        post = inst.post[e.name]
        if e.is_file:
            got = [val(z3.Select(post, i)) for i in range(e.count)]
            assert got == [state.get(e.name, i) for i in range(e.count)], f"{e.name}: {ctx}"
        else:
            assert val(post) == state.get(e.name), f"{e.name}: symbolic {val(post)}, concrete {state.get(e.name)}: {ctx}"
    # storage: every cell either side may have changed
    Epost = z3.simplify(inst.storage["E"])
    touched = set(_store_indices(Epost)) | {a for a, (x, y) in enumerate(zip(before, storage.cells)) if x != y}
    for a in sorted(touched):
        assert val(z3.Select(Epost, a)) == storage.cells[a], f"storage[{a}]: {ctx}"


def _store_indices(t):
    while z3.is_app_of(t, z3.Z3_OP_STORE):
        idx = z3.simplify(t.arg(1))
        if z3.is_bv_value(idx):
            yield idx.as_long()
        t = t.arg(0)


@pytest.mark.skipif(not SPECS, reason="no bundled specs")
@pytest.mark.parametrize("path,name", _cases())
def test_symbolic_equals_concrete(path, name):
    isa = _isa(path)
    insn = isa.instruction(name)
    sym = sym_isa(isa)
    res = sym.execute(insn, ARRAYS)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(_example(isa, insn), min_size=BATCH, max_size=BATCH))
    def prop(batch):
        for values, cells, ops in batch:
            _check_one(isa, insn, sym, res, values, cells, ops)

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
