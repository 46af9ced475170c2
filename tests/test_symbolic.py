"""The symbolic reading equals the concrete one (docs/architecture.md: "two
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

import random
import sys
from pathlib import Path

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.errors import UserError
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
Z3_CHECKED = 1  # per instruction, also evaluated by z3 itself
assert EXAMPLES * BATCH >= 200

_ISAS: dict[Path, object] = {}


def _isa(path: Path):
    if path not in _ISAS:
        _ISAS[path] = load_spec(str(path))
    return _ISAS[path]


def _cases():
    out = []
    for path in SPECS:
        try:
            isa = _isa(path)
        except UserError:  # reported by the test itself, not as a collection error
            out.append(pytest.param(path, None, id=f"{path.parent.name}:loads"))
            continue
        for insn in isa.instructions:
            out.append(pytest.param(path, insn.name, id=f"{path.parent.name}:{insn.name}"))
    return out


def _value(rnd, width: int, near: list[int]) -> int:
    """Values that exercise boundaries: small, near interesting numbers, extremes, anything."""
    m = (1 << width) - 1
    k = rnd.getrandbits(2)
    if k == 0:
        return rnd.getrandbits(6) & m
    if k == 1:
        return (0, 1, m, m >> 1, (m >> 1) + 1, m - 1, 2, 4)[rnd.getrandbits(3)] & m
    if k == 2 or not near:
        return rnd.getrandbits(width)
    return (near[rnd.getrandbits(1)] + rnd.getrandbits(3) - 4) & m


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
    if kind == "wait":  # the symbolic kind is ok, with `waits` set (checked apart)
        kind = "ok"
    return kind, cause, outcome.arg


# ---------------------------------------------------------------------------
# Evaluating the symbolic result at concrete instances
#
# z3's own evaluation (substitute, then simplify) costs milliseconds per
# instance, mostly in building the substitution from Python; with ~600
# bundled instructions x 200 instances that is minutes. So the z3 terms of
# the result are evaluated by `_TermEvaluator`, which compiles each z3 term
# (the same terms the theorem engine solves over) once into Python; and on
# the first instances of every instruction the evaluator is itself checked
# against z3's substitute-and-simplify.
# ---------------------------------------------------------------------------

_OPS_N = {  # n-ary bit-vector ops, folded left
    z3.Z3_OP_BADD: "+",
    z3.Z3_OP_BMUL: "*",
    z3.Z3_OP_BAND: "&",
    z3.Z3_OP_BOR: "|",
    z3.Z3_OP_BXOR: "^",
}


class _TermEvaluator:
    """A z3 term DAG compiled to one Python function of the canonical constants."""

    def __init__(self, terms: list, names: dict):
        self.lines = []
        self.ids: dict[int, str] = {}
        self.names = names  # canonical constant name -> env key
        outs = [self._node(t) for t in terms]
        body = "\n".join("    " + ln for ln in self.lines)
        src = f"def _eval(env):\n{body}\n    return ({', '.join(outs)},)\n"
        ns = {"_sel": _sel, "_store": _store, "_sx": _sx}
        exec(compile(src, "<symbolic-terms>", "exec"), ns)
        self.fn = ns["_eval"]
        self.src = src

    def __call__(self, env):
        return self.fn(env)

    def _node(self, root) -> str:
        stack = [(root, False)]
        while stack:
            t, ready = stack.pop()
            if t.get_id() in self.ids:
                continue
            kids = t.children() if z3.is_app(t) else []
            if not ready:
                stack.append((t, True))
                stack.extend((k, False) for k in kids if k.get_id() not in self.ids)
                continue
            self.ids[t.get_id()] = self._emit(t, [self.ids[k.get_id()] for k in kids])
        return self.ids[root.get_id()]

    def _emit(self, t, a: list[str]) -> str:
        k = t.decl().kind()
        w = t.size() if z3.is_bv(t) else 0
        m = mask(w) if w else 0
        if k == z3.Z3_OP_BNUM:
            return repr(t.as_long())
        if k == z3.Z3_OP_TRUE:
            return "True"
        if k == z3.Z3_OP_FALSE:
            return "False"
        if k == z3.Z3_OP_UNINTERPRETED and not a:
            return f"env[{self.names[t.decl().name()]!r}]"
        if k in _OPS_N:
            e = f" {_OPS_N[k]} ".join(a)
            e = f"(({e}) & {m})" if k in (z3.Z3_OP_BADD, z3.Z3_OP_BMUL) else f"({e})"
        elif k == z3.Z3_OP_BSUB:
            e = f"(({a[0]} - {a[1]}) & {m})"
        elif k == z3.Z3_OP_BNEG:
            e = f"((-{a[0]}) & {m})"
        elif k == z3.Z3_OP_BNOT:
            e = f"({a[0]} ^ {m})"
        elif k == z3.Z3_OP_CONCAT:
            parts, shift = [], w
            for kid, code in zip(t.children(), a):
                shift -= kid.size()
                parts.append(f"({code} << {shift})" if shift else code)
            e = "(" + " | ".join(parts) + ")"
        elif k == z3.Z3_OP_EXTRACT:
            hi, lo = t.params()
            e = f"(({a[0]} >> {lo}) & {mask(hi - lo + 1)})"
        elif k == z3.Z3_OP_ZERO_EXT:
            e = a[0]
        elif k == z3.Z3_OP_SIGN_EXT:
            e = f"(_sx({a[0]}, {t.children()[0].size()}) & {m})"
        elif k == z3.Z3_OP_BSHL:
            e = f"((({a[0]} << {a[1]}) & {m}) if {a[1]} < {w} else 0)"
        elif k == z3.Z3_OP_BLSHR:
            e = f"(({a[0]} >> {a[1]}) if {a[1]} < {w} else 0)"
        elif k == z3.Z3_OP_BASHR:
            e = f"((_sx({a[0]}, {w}) >> min({a[1]}, {w})) & {m})"
        elif k in (z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I):
            e = f"(({a[0]} // {a[1]}) if {a[1]} else {m})"
        elif k in (z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I):
            e = f"(({a[0]} % {a[1]}) if {a[1]} else {a[0]})"
        elif k in (z3.Z3_OP_ULEQ, z3.Z3_OP_ULT, z3.Z3_OP_UGEQ, z3.Z3_OP_UGT):
            op = {z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_ULT: "<", z3.Z3_OP_UGEQ: ">=", z3.Z3_OP_UGT: ">"}[k]
            e = f"({a[0]} {op} {a[1]})"
        elif k in (z3.Z3_OP_SLEQ, z3.Z3_OP_SLT, z3.Z3_OP_SGEQ, z3.Z3_OP_SGT):
            op = {z3.Z3_OP_SLEQ: "<=", z3.Z3_OP_SLT: "<", z3.Z3_OP_SGEQ: ">=", z3.Z3_OP_SGT: ">"}[k]
            n = t.children()[0].size()
            e = f"(_sx({a[0]}, {n}) {op} _sx({a[1]}, {n}))"
        elif k == z3.Z3_OP_EQ:
            e = f"({a[0]} == {a[1]})"
        elif k == z3.Z3_OP_DISTINCT:
            e = f"(len({{{', '.join(a)}}}) == {len(a)})"
        elif k == z3.Z3_OP_ITE:
            e = f"({a[1]} if {a[0]} else {a[2]})"
        elif k == z3.Z3_OP_AND:
            e = "(" + " and ".join(a) + ")"
        elif k == z3.Z3_OP_OR:
            e = "(" + " or ".join(a) + ")"
        elif k == z3.Z3_OP_NOT:
            e = f"(not {a[0]})"
        elif k in (z3.Z3_OP_XOR, z3.Z3_OP_IFF):
            e = f"({a[0]} {'!=' if k == z3.Z3_OP_XOR else '=='} {a[1]})"
        elif k == z3.Z3_OP_IMPLIES:
            e = f"((not {a[0]}) or {a[1]})"
        elif k == z3.Z3_OP_SELECT:
            e = f"_sel({a[0]}, {a[1]})"
        elif k == z3.Z3_OP_STORE:
            e = f"_store({a[0]}, {a[1]}, {a[2]})"
        elif k == z3.Z3_OP_CONST_ARRAY:
            e = f"({a[0]}, None)"
        else:
            raise NotImplementedError(f"no evaluation rule for z3 operator {t.decl()} in {t}")
        name = f"t{len(self.lines)}"
        self.lines.append(f"{name} = {e}")
        return name


def _sx(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) else v


def _sel(arr, i):
    default, cells = arr
    return cells.get(i, default) if cells else default


def _store(arr, i, v):
    default, cells = arr
    new = dict(cells) if cells else {}
    new[i] = v
    return default, new


def _subst(t, pairs):
    """z3.substitute without its per-call checks (the pairs are well sorted)."""
    n = len(pairs)
    src, dst = (z3.Ast * n)(), (z3.Ast * n)()
    for i, (a, b) in enumerate(pairs):
        src[i], dst[i] = a.as_ast(), b.as_ast()
    return z3.z3._to_expr_ref(z3.Z3_substitute(t.ctx.ref(), t.as_ast(), n, src, dst), t.ctx)


class _Reading:
    """One instruction's symbolic result (ARRAYS), evaluable at a concrete instance."""

    def __init__(self, isa, insn, sym, res):
        self.isa, self.insn, self.sym, self.res = isa, insn, sym, res
        self.layout = Layout.of(isa)
        self.opvars = sym.operand_vars(insn)
        self.terms, self.keys = [], []
        for key, t in (("kind", res.kind), ("cause", res.cause), ("arg", res.arg)):
            self.terms.append(t)
            self.keys.append(key)
        self.terms.append(z3.If(res.waits, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)))  # ended in `wait`
        self.keys.append("waits")
        for e in isa.elements:
            self.terms.append(res.post[e.name])
            self.keys.append(e.name)
        self.terms.append(res.storage["E"])
        self.keys.append("$E")
        names = {sym.canon[e.name].decl().name(): e.name for e in isa.elements}
        names[sym.canon_storage["E"].decl().name()] = "$E"
        names.update({v.decl().name(): "$op." + k for k, v in self.opvars.items()})
        self.eval = _TermEvaluator(self.terms, names)

    def env(self, values, cells, ops) -> dict:
        env = {}
        for e in self.isa.elements:
            v = values[e.name]
            env[e.name] = (0, dict(enumerate(v))) if e.is_file else v
        env["$E"] = (0, dict(cells))
        for k, v in ops.items():
            env["$op." + k] = v
        return env

    def evaluate(self, values, cells, ops) -> dict:
        return dict(zip(self.keys, self.eval(self.env(values, cells, ops))))

    def evaluate_z3(self, values, cells, ops) -> dict:
        """The same through z3: substitute the instance, simplify (slow; checks the evaluator)."""
        sym, pairs = self.sym, []
        for e in self.isa.elements:
            var = sym.canon[e.name]
            if e.is_file:
                arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
                for i, x in enumerate(values[e.name]):
                    arr = z3.Store(arr, z3.BitVecVal(i, e.index_width), z3.BitVecVal(x, e.width))
                pairs.append((var, arr))
            else:
                pairs.append((var, z3.BitVecVal(values[e.name], e.width)))
        E = z3.K(z3.BitVecSort(sym.aw), z3.BitVecVal(0, sym.unit))
        for a, v in sorted(cells.items()):
            E = z3.Store(E, z3.BitVecVal(a, sym.aw), z3.BitVecVal(v, sym.unit))
        pairs.append((sym.canon_storage["E"], E))
        pairs += [(self.opvars[k], z3.BitVecVal(v, self.opvars[k].size())) for k, v in ops.items()]
        out = {}
        for key, t in zip(self.keys, self.terms):
            r = z3.simplify(_subst(t, pairs))
            if z3.is_array(r) and key == "$E":
                probe = sorted(set(cells) | set(_store_indices(r)))
                out[key] = {a: z3.simplify(z3.Select(r, z3.BitVecVal(a, sym.aw))).as_long() for a in probe}
            elif z3.is_array(r):
                e = self.isa.element(key)
                out[key] = [z3.simplify(z3.Select(r, z3.BitVecVal(i, e.index_width))).as_long() for i in range(e.count)]
            elif z3.is_bv(r) and not z3.is_bv_value(r):
                raise AssertionError(f"not a constant after substitution: {r}")
            else:
                out[key] = r.as_long()
        return out


def _store_indices(t):
    while z3.is_app_of(t, z3.Z3_OP_STORE):
        idx = z3.simplify(t.arg(1))
        if z3.is_bv_value(idx):
            yield idx.as_long()
        t = t.arg(0)


class _LoggingStorage(Storage):
    """Physical storage that remembers which cells were written."""

    __slots__ = ("log",)

    def write(self, addr, n, value):
        self.log.append((addr, n))
        Storage.write(self, addr, n, value)


def _check(reading: _Reading, storage: _LoggingStorage, inst, against_z3: bool = False) -> None:
    isa, insn = reading.isa, reading.insn
    values, cells, ops = inst
    flat = []
    for e in isa.elements:
        v = values[e.name]
        if e.is_file:
            flat.extend(v)
        else:
            flat.append(v)
    state = State(reading.layout, flat)
    storage.log = []
    for a, v in cells.items():
        storage.cells[a] = v
    port = make_port(isa, storage, state, reading.layout)
    out = compile_isa(isa).execute(insn.name, state, port, ops)
    touched = set(cells)
    for a, n in storage.log:
        touched.update((a + k) & storage.amask for k in range(n))
    after = {a: storage.cells[a] for a in touched}
    for a in touched:  # back to all zero for the next instance
        storage.cells[a] = 0

    sv = reading.evaluate(values, cells, ops)
    ctx = f"{insn.name} ops={ops} state={values} cells={cells}"
    if against_z3:
        zv = reading.evaluate_z3(values, cells, ops)
        for key in reading.keys:
            got = sv[key]
            if key == "$E":
                got = {a: _sel(got, a) for a in zv[key]}
            elif isinstance(got, tuple):  # a register file
                got = [_sel(got, i) for i in range(len(zv[key]))]
            assert got == zv[key], f"evaluator vs z3 on {key}: {got} != {zv[key]}: {ctx}"
    kind = KIND_NAMES[sv["kind"]]
    ckind, ccause, carg = _kind(isa, out)
    assert kind == ckind, f"outcome kind: symbolic {kind}, concrete {ckind} ({ccause}): {ctx}"
    assert sv["waits"] == (out.kind == "wait"), f"wait: symbolic {sv['waits']}, concrete {out.kind}: {ctx}"
    if kind in ("trap", "memtrap"):
        assert isa.traps.by_code(sv["cause"]).name == ccause, ctx
        assert sv["arg"] == carg, ctx
    for e in isa.elements:
        if e.is_file:
            got = [_sel(sv[e.name], i) for i in range(e.count)]
            want = [state.get(e.name, i) for i in range(e.count)]
        else:
            got, want = sv[e.name], state.get(e.name)
        assert got == want, f"{e.name}: symbolic {got}, concrete {want}: {ctx}"
    E = sv["$E"]
    for a in sorted(touched | set(E[1] or {})):
        got, want = _sel(E, a), after.get(a, 0)
        assert got == want, f"storage[{a:#x}]: symbolic {got:#x}, concrete {want:#x}: {ctx}"


@pytest.mark.skipif(not SPECS, reason="no bundled specs")
@pytest.mark.parametrize("path,name", _cases())
def test_symbolic_equals_concrete(path, name):
    isa = _isa(path)  # a spec that does not load fails here
    assert name is not None
    insn = isa.instruction(name)
    sym = sym_isa(isa)
    reading = _Reading(isa, insn, sym, sym.execute(insn, ARRAYS))
    storage = _LoggingStorage(isa.storage, isa.insn_units)
    first = [True]

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(st.integers(0, 2**64 - 1))
    def prop(seed):
        rnd = random.Random(seed)
        for i in range(BATCH):
            # the first instances also through z3's own substitute-and-simplify
            _check(reading, storage, _example(rnd, isa, insn), against_z3=first[0] and i < Z3_CHECKED)
        first[0] = False

    prop()


def test_trap_delivery_equals_concrete():
    """The symbolic trap delivery (ARRAYS) equals the concrete one, for every cause."""
    for path in SPECS:
        try:
            isa = _isa(path)
        except UserError:
            continue  # test_symbolic_equals_concrete[...:loads] reports it
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
