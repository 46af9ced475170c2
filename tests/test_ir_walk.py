"""The IR read one way (issue 16): one traversal, checked visitors, one
operator table that every reading agrees with, one memoisation per Isa, and
the VMM's conditions read by the compiled semantics."""

from __future__ import annotations

import dataclasses
import gc
import random

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from vmcheck.errors import InternalError
from vmcheck.semantics.concrete import compile_condition, compile_isa
from vmcheck.semantics.state import State
from vmcheck.semantics.symbolic import SymIsa
from vmcheck.spec import ir, operators
from vmcheck.spec.ir_walk import EXPR_TYPES, STMT_TYPES, ExprVisitor, StmtVisitor, children, walk
from vmcheck.spec.load import load_spec
from vmcheck.spec.memo import memo, per_isa

# Specs cheap to load and compile (their conditions cover eq, ne, uge, land, lor, slices).
CHEAP = ("pg-toy", "pg-toy-hybrid", "pdp10", "mips32", "powerpc")


# --------------------------------------------------------------------------
# Visitors: a missing rule stops the class from being created
# --------------------------------------------------------------------------


def _rules(types, body=lambda self, node, *a: type(node).__name__):
    return {"visit_" + t.__name__: body for t in types}


def test_a_visitor_missing_a_node_type_cannot_be_created():
    rules = _rules(EXPR_TYPES)
    del rules["visit_Concat"]
    with pytest.raises(TypeError, match="no rule for Concat"):
        type("Partial", (ExprVisitor,), rules)


def test_a_visitor_of_expressions_and_statements_needs_both():
    with pytest.raises(TypeError, match="Let"):
        type("OnlyExprs", (ExprVisitor, StmtVisitor), _rules(EXPR_TYPES))
    both = type("Both", (ExprVisitor, StmtVisitor), _rules(EXPR_TYPES + STMT_TYPES))
    assert both().visit(ir.Halt()) == "Halt"
    assert both().visit(ir.Lit(1, 8)) == "Lit"


def test_an_abstract_visitor_may_be_partial_and_an_unknown_node_is_an_internal_error():
    class Base(ExprVisitor, abstract=True):
        def visit_Lit(self, e):
            return e.value

    full = type("Full", (Base,), {k: v for k, v in _rules(EXPR_TYPES).items() if k != "visit_Lit"})
    assert full().visit(ir.Lit(7, 8)) == 7
    with pytest.raises(InternalError):
        full().visit(ir.Halt())


def test_every_reading_of_the_ir_is_a_complete_visitor():
    from vmcheck.analysis.prepass import _Walker
    from vmcheck.semantics.compiler import FunctionCompiler

    for cls in (SymIsa, FunctionCompiler, _Walker):
        assert set(EXPR_TYPES) | set(STMT_TYPES) <= set(cls._rules), cls


# --------------------------------------------------------------------------
# The traversal
# --------------------------------------------------------------------------


def test_children_and_walk_in_program_order():
    a, b = ir.Reg("a", 8), ir.Lit(1, 8)
    add = ir.Bin("add", a, b, 8)
    stmts = (
        ir.Let("x", add),
        ir.If(ir.Bin("eq", a, b, 0), (ir.Assign(ir.RegTarget("a", 7, 0), ir.Local("x", 8)),), (ir.Halt(),)),
        ir.Trap("c", None),
    )
    assert children(add) == [a, b]
    assert children(stmts[2]) == []
    names = [type(n).__name__ for n in walk(stmts)]
    assert names == [
        "Let",
        "Bin",
        "Reg",
        "Lit",
        "If",
        "Bin",
        "Reg",
        "Lit",
        "Assign",
        "RegTarget",
        "Local",
        "Halt",
        "Trap",
    ]
    assert [type(n).__name__ for n in walk(add)] == ["Bin", "Reg", "Lit"]


def test_walk_does_not_recurse():
    e: ir.Expr = ir.Reg("a", 8)
    for _ in range(20_000):
        e = ir.Un("not", e, 8)
    assert sum(1 for _ in walk(e)) == 20_001


# --------------------------------------------------------------------------
# One operator table, three readings
# --------------------------------------------------------------------------


def test_the_operator_table_is_the_irs_vocabulary():
    assert set(operators.BINARY) == set(ir.ARITH_OPS + ir.COMPARE_OPS + ir.LOGIC_OPS)
    assert set(operators.UNARY) == {"neg", "not", "lnot"}
    for op in operators.BINARY.values():
        assert op.arity == 2 and op.result in ("operand", "bool")


WIDTHS = (1, 3, 8, 16, 33, 64)
_LABS: dict[int, ir.Isa] = {}


def _lab(width: int) -> ir.Isa:
    """pg-toy with registers x, y (width bits), b1, b2 (booleans as one bit) and z."""
    if width not in _LABS:
        base = load_spec("pg-toy")
        extra = tuple(ir.Element(n, width) for n in ("x", "y", "z")) + (ir.Element("k", 8),)
        _LABS[width] = dataclasses.replace(base, elements=base.elements + extra)
    return _LABS[width]


def _expected(op: operators.Operator, a: int, b: int, w: int) -> int:
    if op.kind == "logic":
        return op.apply(a & 1, b & 1, 0)
    return op.apply(a, b, w)


def _expr(op: operators.Operator, w: int) -> tuple[ir.Expr, int]:
    """`op` over x and y (or their low bits for a logic operator; y's low 8 bits
    for a shift amount, widened), compared with z: (expression, result width)."""
    x, y = ir.Reg("x", w), ir.Reg("y", w)
    if op.kind == "logic":
        bx, by = ir.Bin("ne", ir.Slice(x, 0, 0), ir.Lit(0, 1), 0), ir.Bin("ne", ir.Slice(y, 0, 0), ir.Lit(0, 1), 0)
        return ir.Bin(op.name, bx, by, 0), 0
    if op.kind == "shift":
        return ir.Bin(op.name, x, ir.Reg("k", 8), w), w
    return ir.Bin(op.name, x, y, 0 if op.result == "bool" else w), 0 if op.result == "bool" else w


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(sorted(operators.BINARY)),
    w=st.sampled_from(WIDTHS),
    data=st.data(),
)
def test_compiled_and_symbolic_operators_mean_what_the_table_says(name, w, data):
    op = operators.BINARY[name]
    special = st.sampled_from([0, 1, (1 << w) - 1, 1 << (w - 1)])
    a = data.draw(st.one_of(special, st.integers(0, (1 << w) - 1)))
    b = data.draw(st.one_of(special, st.integers(0, (1 << w) - 1)))
    k = data.draw(st.one_of(st.sampled_from([0, 1, w - 1, w, w + 1, 255]), st.integers(0, 255)))
    isa = _lab(w)
    e, rw = _expr(op, w)
    want = op.apply(a, k, w) if op.kind == "shift" else _expected(op, a, b, w)
    z = ir.Reg("z", w)
    cond = ir.Bin("beq", e, ir.Lit(1, 0), 0) if rw == 0 else ir.Bin("eq", e, ir.Slice(z, rw - 1, 0), 0)
    if rw == 0:
        cond = e if want else ir.Un("lnot", e, 0)
    st_ = State(compile_isa(isa).layout)
    for reg, val in (("x", a), ("y", b), ("z", want), ("k", k)):
        st_.set(reg, val)
    assert compile_condition(isa, cond)(st_), (name, w, a, b, k, want)
    sym = SymIsa(isa)
    regs = dict(sym.canon)
    for reg, val, width in (("x", a, w), ("y", b, w), ("z", want, w), ("k", k, 8)):
        regs[reg] = z3.BitVecVal(val, width)
    assert z3.is_true(z3.simplify(sym.predicate(cond, regs))), (name, w, a, b, k, want)


@pytest.mark.parametrize("name", sorted(operators.UNARY))
@pytest.mark.parametrize("w", WIDTHS)
def test_unary_operators_mean_what_the_table_says(name, w):
    op, isa = operators.UNARY[name], _lab(w)
    rng = random.Random(w)
    for a in [0, 1, (1 << w) - 1, 1 << (w - 1)] + [rng.getrandbits(w) for _ in range(20)]:
        st_ = State(compile_isa(isa).layout)
        if name == "lnot":
            x = ir.Bin("ne", ir.Slice(ir.Reg("x", w), 0, 0), ir.Lit(0, 1), 0)
            cond = ir.Bin("beq", ir.Un("lnot", x, 0), ir.Lit(op.apply(a & 1, 0), 0), 0)
        else:
            cond = ir.Bin("eq", ir.Un(name, ir.Reg("x", w), w), ir.Reg("z", w), 0)
            st_.set("z", op.apply(a, w))
        st_.set("x", a)
        assert compile_condition(isa, cond)(st_), (name, w, a)
        sym = SymIsa(isa)
        regs = dict(sym.canon)
        regs["x"], regs["z"] = z3.BitVecVal(a, w), z3.BitVecVal(st_.get("z"), w)
        assert z3.is_true(z3.simplify(sym.predicate(cond, regs))), (name, w, a)


# --------------------------------------------------------------------------
# The VMM's conditions: compiled, and equal to the symbolic reading
# --------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CHEAP)
def test_conditions_compiled_and_symbolic_agree(spec):
    isa = load_spec(spec)
    layout = compile_isa(isa).layout
    sym = SymIsa(isa)
    rng = random.Random(spec)
    conds = list(isa.invariants) + [c.where for c in isa.contexts] + [isa.host]
    for cond in conds:
        fn = compile_condition(isa, cond)
        assert compile_condition(isa, cond) is fn  # built once
        for _ in range(60):
            state = State(layout)
            regs = dict(sym.canon)
            for e in isa.elements:
                vals = [rng.choice([0, 1, ir.mask(e.width), rng.getrandbits(e.width)]) for _ in range(e.count or 1)]
                for i, v in enumerate(vals):
                    state.set(e.name, v, i)
                if e.is_file:
                    arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
                    for i, v in enumerate(vals):
                        arr = z3.Store(arr, z3.BitVecVal(i, e.index_width), z3.BitVecVal(v, e.width))
                    regs[e.name] = arr
                else:
                    regs[e.name] = z3.BitVecVal(vals[0], e.width)
            want = z3.is_true(z3.simplify(sym.predicate(cond, regs)))
            assert fn(state) == want, (spec, cond, state.as_dict())


def test_a_condition_may_not_read_storage():
    isa = load_spec("pg-toy")
    with pytest.raises(InternalError, match="Mem cannot appear in a condition"):
        compile_condition(isa, ir.Bin("eq", ir.Mem("mem", ir.Lit(0, 8), 8), ir.Lit(0, 8), 0))


# --------------------------------------------------------------------------
# One memoisation
# --------------------------------------------------------------------------


def test_per_isa_is_once_per_object_and_dies_with_it():
    calls = []

    @per_isa
    def count(isa):
        calls.append(isa.name)
        return len(calls)

    a = load_spec("pg-toy")
    b = load_spec("pg-toy")
    assert a == b and a is not b
    assert (count(a), count(a), count(b)) == (1, 1, 2)
    count.forget(a)
    assert count(a) == 3
    memo(b)["x"] = 1
    from vmcheck.spec import memo as memo_module

    before = len(memo_module._TABLE)
    del b
    gc.collect()
    assert len(memo_module._TABLE) == before - 1
    assert "_vmcheck_compiled" not in vars(a) and not any(k.startswith("_") for k in vars(a))
