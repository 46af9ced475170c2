"""Surface semantics -> IR: resolve names, check widths, inline helpers.

An `Elaborator` knows the machine (elements, fields, mode, constants,
causes, helpers); `Scope` holds what one instruction adds (operands, lets).
Literals are untyped until they meet a typed operand; an expression made
only of literals takes the width its context wants (the word by default).
Every error is collected, not raised, so one run reports them all.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..errors import Collector, Span
from . import ir
from . import surface as s
from .limits import MAX_ELABORATION_STEPS, MAX_EXPR_NESTING, MAX_IF_NESTING, MAX_WIDTH

BUILTINS = ("sext", "zext", "slt", "sle", "sgt", "sge", "concat")

_CMP = {"==": "eq", "!=": "ne", "<": "ult", "<=": "ule", ">": "ugt", ">=": "uge"}
_ARITH = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "udiv",
    "%": "urem",
    "&": "and",
    "|": "or",
    "^": "xor",
    "<<": "shl",
    ">>": "lshr",
    ">>>": "ashr",
}
_SHIFTS = ("shl", "lshr", "ashr")


class _Abort(Exception):
    """An error was recorded; stop elaborating this expression."""


@dataclass
class Scope:
    """Names bound inside one instruction (or block): operands, lets, params."""

    bindings: dict[str, ir.Expr] = field(default_factory=dict)
    parent: Scope | None = None

    def lookup(self, name: str) -> ir.Expr | None:
        sc: Scope | None = self
        while sc is not None:
            if name in sc.bindings:
                return sc.bindings[name]
            sc = sc.parent
        return None

    def child(self) -> Scope:
        return Scope({}, self)

    def names(self) -> set[str]:
        out, sc = set(), self
        while sc is not None:
            out |= set(sc.bindings)
            sc = sc.parent
        return out


@dataclass
class Machine:
    """What the elaborator needs to know of the ISA."""

    word: int
    elements: dict[str, ir.Element]
    modes: ir.ModeDef | None
    constants: dict[str, int]
    causes: dict[str, ir.Cause] | None  # None: the causes themselves did not load
    cause_width: int
    unit: int
    helpers: dict[str, s.Helper] = field(default_factory=dict)


class Elaborator:
    def __init__(self, machine: Machine, errors: Collector):
        self.m = machine
        self.errors = errors
        self._fresh = 0
        self._call_stack: list[str] = []
        self._steps = 0  # expressions elaborated, against MAX_ELABORATION_STEPS
        # Nesting as elaboration goes, helpers included: the text of each is
        # bounded, but a chain of helpers adds up, and this recursion must stop
        # well before Python's stack does.
        self._expr_depth = 0
        self._stmt_depth = 0

    # ---- entry points ---------------------------------------------------

    def block(self, stmts, scope: Scope) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        for st in stmts:
            try:
                out.extend(self.stmt(st, scope))
            except _Abort:
                pass
        return tuple(out)

    def condition(self, e: s.SExpr, scope: Scope) -> ir.Expr | None:
        try:
            return self.boolean(e, scope)
        except _Abort:
            return None

    # ---- errors ---------------------------------------------------------

    def fail(self, span: Span | None, message: str, hint: str | None = None):
        self.errors.error(span, message, hint)
        raise _Abort()

    def _unknown(self, name: str, span, scope: Scope, what: str = "name"):
        pool = set(self.m.elements) | set(self.m.constants) | scope.names() | set(self.m.helpers)
        if self.m.modes:
            pool |= set(self.m.modes.names) | {"mode"}
        close = difflib.get_close_matches(name, sorted(pool), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None
        self.fail(span, f"undefined {what} '{name}'", hint)

    # ---- statements ---------------------------------------------------------

    def stmt(self, st, scope: Scope) -> list[ir.Stmt]:
        if self._stmt_depth >= MAX_IF_NESTING:
            self.fail(
                getattr(st, "span", None),
                f"statements nested more than {MAX_IF_NESTING} levels deep once "
                f"helpers are inlined: the limit is {MAX_IF_NESTING}",
            )
        self._stmt_depth += 1
        try:
            return self._stmt(st, scope)
        finally:
            self._stmt_depth -= 1

    def _stmt(self, st, scope: Scope) -> list[ir.Stmt]:
        if isinstance(st, s.LetStmt):
            if st.name in self.m.elements or (st.name == "mode" and self.m.modes):
                self.fail(st.span, f"'let {st.name}' would hide the state element '{st.name}'", "choose another name")
            value = self.value(st.value, scope)
            local = self._local(st.name, value.width, st.span)
            scope.bindings[st.name] = local
            return [ir.Let(local.name, value, st.span)]
        if isinstance(st, s.AssignStmt):
            return [self.assign(st, scope)]
        if isinstance(st, s.IfStmt):
            cond = self.boolean(st.cond, scope)
            return [ir.If(cond, self.block(st.then, scope.child()), self.block(st.orelse, scope.child()), st.span)]
        if isinstance(st, s.TrapStmt):
            return [self.trap(st.cause, st.arg, scope, st.span)]
        if isinstance(st, s.RequireStmt):
            cond = self.boolean(st.cond, scope)
            trap = self.trap(st.cause, st.arg, scope, st.span)
            return [ir.If(ir.Un("lnot", cond, ir.BOOL, st.span), (trap,), (), st.span)]
        if isinstance(st, s.HaltStmt):
            return [ir.Halt(st.span)]
        if isinstance(st, s.CallStmt):
            return self.call_proc(st, scope)
        if isinstance(st, s.MatchStmt):
            return self.match_stmt(st, scope)
        raise AssertionError(f"unknown statement {st!r}")  # pragma: no cover

    def _local(self, name: str, width: int, span) -> ir.Local:
        self._fresh += 1
        return ir.Local(f"{name}_{self._fresh}", width, span)

    def trap(self, cause: str, arg, scope: Scope, span) -> ir.Trap:
        if self.m.causes is not None and cause not in self.m.causes:
            close = difflib.get_close_matches(cause, sorted(self.m.causes), n=3)
            self.fail(
                span,
                f"unknown trap cause '{cause}'",
                f"declared causes: {', '.join(sorted(self.m.causes)) or 'none'}"
                + (f"; did you mean '{close[0]}'?" if close else ""),
            )
        value = None
        if arg is not None:
            value = self.value(arg, scope, want=self.m.cause_width)
            if value.width > self.m.cause_width:
                self.fail(arg.span, f"trap argument is {value.width} bits; the cause width is {self.m.cause_width}")
            if value.width < self.m.cause_width:
                value = ir.Ext(False, value, self.m.cause_width, arg.span)
        return ir.Trap(cause, value, span)

    def assign(self, st: s.AssignStmt, scope: Scope) -> ir.Assign:
        target = self.target(st.target, scope)
        w = _target_width(target)
        value = self.value(st.value, scope, want=w, bool_to_bit=w == 1)
        if value.width != w:
            self.fail(
                st.value.span or st.span,
                f"width mismatch: the target is {w} bits, the value {value.width} bits",
                "use zext(x, N), sext(x, N) or a slice x[hi:lo]",
            )
        return ir.Assign(target, value, st.span)

    def target(self, t, scope: Scope) -> ir.Target:
        if isinstance(t, s.Name):
            if scope.lookup(t.name) is not None:
                self.fail(t.span, f"'{t.name}' is a let-bound value or operand and cannot be assigned")
            if t.name == "mode" and self.m.modes and "mode" not in self.m.elements:
                md = self.m.modes
                self._writable(self.m.elements[md.elem], None, t.span)
                return ir.RegTarget(md.elem, md.hi, md.lo, t.span)
            e = self._element(t.name, t.span, scope)
            if e.is_file:
                self.fail(t.span, f"register file '{e.name}' needs an index: {e.name}[i]")
            self._writable(e, None, t.span)
            return ir.RegTarget(e.name, e.width - 1, 0, t.span)
        if isinstance(t, s.FieldAccess):
            base = self.target(t.base, scope)
            if isinstance(base, ir.MemTarget):
                self.fail(t.span, "storage has no fields")
            e = self.m.elements[base.elem if isinstance(base, ir.RegTarget) else base.file]
            f = e.field(t.name)
            if f is None or base.lo != 0 or base.hi != e.width - 1:
                self._no_field(e, t.name, t.span)
            self._writable(e, f, t.span)
            return _narrow(base, f.hi, f.lo, t.span)
        if isinstance(t, s.Index):
            if isinstance(t.base, s.Name) and t.base.name in self.m.elements and self.m.elements[t.base.name].is_file:
                e = self.m.elements[t.base.name]
                self._writable(e, None, t.span)
                idx = self._file_index(e, t.index, scope)
                return ir.FileTarget(e.name, idx, e.width - 1, 0, t.span)
            base = self.target(t.base, scope)
            bit = self._const(t.index, scope)
            return self._bits(base, bit, bit, t.span)
        if isinstance(t, s.SliceOf):
            base = self.target(t.base, scope)
            return self._bits(base, self._const(t.hi, scope), self._const(t.lo, scope), t.span)
        if isinstance(t, s.MemAccess):
            addr, nbits, priv = self._mem_parts(t, scope)
            return ir.MemTarget(t.space, addr, nbits, priv, t.span)
        self.fail(
            getattr(t, "span", None),
            "this cannot be assigned to",
            "a target is an element, a field, a register x[i], a slice or mem[...]",
        )

    def _bits(self, base, hi: int, lo: int, span):
        if isinstance(base, ir.MemTarget):
            self.fail(span, "slice the value, not the storage access")
        w = base.hi - base.lo + 1
        if not (0 <= lo <= hi < w):
            self.fail(span, f"bits {hi}:{lo} are outside a {w}-bit value")
        return _narrow(base, base.lo + hi, base.lo + lo, span)

    def _writable(self, e: ir.Element, f: ir.FieldDef | None, span) -> None:
        if e.readonly or (f is not None and f.readonly):
            what = f"{e.name}.{f.name}" if f is not None and f.readonly else e.name
            self.fail(span, f"'{what}' is read-only and cannot be written")

    def call_proc(self, st: s.CallStmt, scope: Scope) -> list[ir.Stmt]:
        h = self.m.helpers.get(st.func)
        if h is None:
            if st.func in BUILTINS:
                self.fail(st.span, f"'{st.func}(...)' computes a value; it is not a statement")
            self._unknown(st.func, st.span, scope, "procedure")
        if isinstance(h, s.FnDef):
            self.fail(st.span, f"'{st.func}' is a fn (it returns a value); only a proc can be a statement")
        inner = self._bind_params(h, st.args, st.span, scope)
        with self._calling(h.name, st.span):
            return list(self.block(h.body, inner))

    def _bind_params(self, h, args, span, scope: Scope) -> Scope:
        if len(args) != len(h.params):
            self.fail(span, f"'{h.name}' takes {len(h.params)} argument(s), {len(args)} given")
        inner = Scope({})  # helpers see only their parameters, not the caller's names
        for p, a in zip(h.params, args):
            v = self.value(a, scope, want=p.width)
            if v.width != p.width:
                self.fail(
                    a.span,
                    f"argument '{p.name}' of '{h.name}' is {p.width} bits, this value {v.width} bits",
                    "use zext/sext or a slice",
                )
            inner.bindings[p.name] = v
        return inner

    class _CallGuard:
        def __init__(self, el: Elaborator, name: str, span):
            self.el, self.name, self.span = el, name, span

        def __enter__(self):
            if self.name in self.el._call_stack:
                cycle = " -> ".join(self.el._call_stack[self.el._call_stack.index(self.name) :] + [self.name])
                self.el.fail(
                    self.span,
                    f"recursion between helpers: {cycle}",
                    "helpers are inlined, so they may not call themselves",
                )
            self.el._call_stack.append(self.name)

        def __exit__(self, *exc):
            self.el._call_stack.pop()
            return False

    def _calling(self, name: str, span):
        return Elaborator._CallGuard(self, name, span)

    def match_stmt(self, st: s.MatchStmt, scope: Scope) -> list[ir.Stmt]:
        subject = self.value(st.subject, scope)
        default: tuple[ir.Stmt, ...] = ()
        arms: list[tuple[ir.Expr, tuple[ir.Stmt, ...]]] = []
        for pats, body in st.arms:
            stmts = self.block(body, scope.child())
            if not pats:
                default = stmts
                continue
            arms.append((self._pattern_cond(subject, pats, scope), stmts))
        out: tuple[ir.Stmt, ...] = default
        for cond, stmts in reversed(arms):
            out = (ir.If(cond, stmts, out, st.span),)
        return list(out)

    def _pattern_cond(self, subject: ir.Expr, pats, scope: Scope) -> ir.Expr:
        cond = None
        for p in pats:
            v = self.value(p, scope, want=subject.width)
            if v.width != subject.width:
                self.fail(p.span, f"pattern is {v.width} bits, the subject {subject.width} bits")
            c = ir.Bin("eq", subject, v, ir.BOOL, p.span)
            cond = c if cond is None else ir.Bin("lor", cond, c, ir.BOOL, p.span)
        return cond

    # ---- expressions ----------------------------------------------------

    def boolean(self, e: s.SExpr, scope: Scope) -> ir.Expr:
        v = self.value(e, scope)
        if v.width == ir.BOOL:
            return v
        if v.width == 1:  # a one-bit flag reads as a condition
            return ir.Bin("ne", v, ir.Lit(0, 1), ir.BOOL, getattr(e, "span", None))
        self.fail(e.span, f"a condition is needed here, but this is a {v.width}-bit value", "compare it, e.g. x != 0")

    def value(self, e: s.SExpr, scope: Scope, want: int | None = None, bool_to_bit: bool = False) -> ir.Expr:
        """Elaborate `e`; untyped literals take `want` bits (the word if None)."""
        v = self._expr(e, scope, want)
        if bool_to_bit and v.width == ir.BOOL:
            return ir.Ite(v, ir.Lit(1, 1), ir.Lit(0, 1), 1, e.span)
        return v

    def natural(self, e: s.SExpr, scope: Scope) -> int | None:
        """The width `e` has by itself, or None when it is made of untyped literals."""
        if isinstance(e, s.Num):
            return None
        if isinstance(e, s.Name):
            if scope.lookup(e.name) is None and e.name in self.m.constants:
                return None
        if isinstance(e, s.Unary) and e.op != "!":
            return self.natural(e.value, scope)
        if isinstance(e, s.Binary) and e.op in _ARITH:
            if _ARITH[e.op] in _SHIFTS:
                return self.natural(e.left, scope)
            return self.natural(e.left, scope) or self.natural(e.right, scope)
        if isinstance(e, s.Ternary):
            return self.natural(e.then, scope) or self.natural(e.orelse, scope)
        if isinstance(e, s.MatchExpr):
            for _, v in e.arms:
                w = self.natural(v, scope)
                if w is not None:
                    return w
            return None
        # The widths below are known without elaborating the operands. Elaborating
        # them here and again in the caller doubled the work per level: nested
        # `(x ^ 1)[31:0]` took 2^depth steps.
        try:
            if isinstance(e, s.Binary) and (e.op in _CMP or e.op in ("&&", "||")):
                return ir.BOOL
            if isinstance(e, s.Unary) and e.op == "!":
                return ir.BOOL
            if isinstance(e, s.SliceOf):
                w = self._const(e.hi, scope) - self._const(e.lo, scope) + 1
                return w if 1 <= w <= MAX_WIDTH else None  # a bad slice is reported where it is elaborated
            if isinstance(e, s.Index):
                if isinstance(e.base, s.Name) and scope.lookup(e.base.name) is None:
                    el = self.m.elements.get(e.base.name)
                    if el is not None and el.is_file:
                        return el.width
                return 1
            if isinstance(e, s.MemAccess):
                return e.nbits if e.nbits is not None else self.m.unit
            if isinstance(e, s.Call):
                if e.func in ("slt", "sle", "sgt", "sge"):
                    return ir.BOOL
                if e.func in ("sext", "zext") and len(e.args) == 2:
                    w = self._const(e.args[1], scope)
                    return w if 1 <= w <= MAX_WIDTH else None
                if e.func == "concat" and len(e.args) >= 2:
                    parts = [self.natural(a, scope) for a in e.args]
                    return None if None in parts or 0 in parts else sum(parts)
            return self._expr(e, scope, None).width
        except _Abort:
            return None

    def _expr(self, e: s.SExpr, scope: Scope, want: int | None) -> ir.Expr:
        if self._expr_depth >= MAX_EXPR_NESTING:
            self.fail(
                getattr(e, "span", None),
                f"expressions nested more than {MAX_EXPR_NESTING} levels deep once "
                f"helpers are inlined: the limit is {MAX_EXPR_NESTING}",
                "name parts of it with let",
            )
        self._expr_depth += 1
        try:
            v = self._expr_inner(e, scope, want)
        finally:
            self._expr_depth -= 1
        if v.width > MAX_WIDTH:  # a concat of wide parts, a sext to 2^40 bits...
            self.fail(
                getattr(e, "span", None), f"a value of {v.width:,} bits: the widest allowed is {MAX_WIDTH:,} bits"
            )
        return v

    def _expr_inner(self, e: s.SExpr, scope: Scope, want: int | None) -> ir.Expr:
        sp = getattr(e, "span", None)
        self._steps += 1
        if self._steps > MAX_ELABORATION_STEPS:
            # Inlined helpers can grow exponentially (each calling the last twice):
            # stop with one error, at the expression being elaborated.
            if self._steps == MAX_ELABORATION_STEPS + 1:
                self.fail(
                    sp,
                    f"the semantics expands to more than {MAX_ELABORATION_STEPS:,} expressions once "
                    f"helpers are inlined: the limit is {MAX_ELABORATION_STEPS:,}",
                    "a helper that calls another several times multiplies its size",
                )  # noqa: E501
            raise _Abort()
        if isinstance(e, s.Num):
            return self._lit(e.value, want, sp)
        if isinstance(e, s.BoolLit):
            return ir.Lit(int(e.value), ir.BOOL, sp)
        if isinstance(e, s.Name):
            return self.name(e, scope, want)
        if isinstance(e, s.FieldAccess):
            base = self._expr(e.base, scope, None)
            ename = _element_of(base)
            el = self.m.elements.get(ename) if ename else None
            f = el.field(e.name) if el else None
            if el is None or f is None:
                if el is None:
                    self.fail(sp, f"'.{e.name}': only state elements have fields")
                self._no_field(el, e.name, sp)
            return ir.Slice(base, f.hi, f.lo, sp)
        if isinstance(e, s.Index):
            if isinstance(e.base, s.Name) and scope.lookup(e.base.name) is None:
                el = self.m.elements.get(e.base.name)
                if el is not None and el.is_file:
                    idx = self._file_index(el, e.index, scope)
                    return ir.FileRead(el.name, idx, el.width, sp)
            base = self._expr(e.base, scope, None)
            bit = self._const(e.index, scope)
            return self._slice(base, bit, bit, sp)
        if isinstance(e, s.SliceOf):
            base = self._expr(e.base, scope, None)
            return self._slice(base, self._const(e.hi, scope), self._const(e.lo, scope), sp)
        if isinstance(e, s.MemAccess):
            addr, nbits, priv = self._mem_parts(e, scope)
            return ir.Mem(e.space, addr, nbits, priv, sp)
        if isinstance(e, s.Unary):
            if e.op == "!":
                return ir.Un("lnot", self.boolean(e.value, scope), ir.BOOL, sp)
            v = self._expr(e.value, scope, want)
            if v.width == ir.BOOL:
                self.fail(sp, f"'{e.op}' needs a bit-vector, not a condition", "use '!' for a condition")
            if isinstance(v, ir.Lit):  # fold, so `-1` is a literal
                val = -v.value if e.op == "-" else ~v.value
                return ir.Lit(val & ir.mask(v.width), v.width, sp)
            return ir.Un("neg" if e.op == "-" else "not", v, v.width, sp)
        if isinstance(e, s.Binary):
            return self.binary(e, scope, want)
        if isinstance(e, s.Ternary):
            cond = self.boolean(e.cond, scope)
            w = self.natural(e.then, scope) or self.natural(e.orelse, scope) or want
            a = self.value(e.then, scope, w)
            b = self.value(e.orelse, scope, w)
            if a.width != b.width:
                self.fail(sp, f"the two branches have different widths ({a.width} and {b.width})")
            return ir.Ite(cond, a, b, a.width, sp)
        if isinstance(e, s.Call):
            return self.call(e, scope, want)
        if isinstance(e, s.MatchExpr):
            return self.match_expr(e, scope, want)
        raise AssertionError(f"unknown expression {e!r}")  # pragma: no cover

    def _lit(self, value: int, want: int | None, span) -> ir.Lit:
        w = want if want else self.m.word
        if value >= (1 << w):
            self.fail(span, f"the literal {value:#x} does not fit in {w} bits")
        return ir.Lit(value, w, span)

    def name(self, e: s.Name, scope: Scope, want: int | None) -> ir.Expr:
        bound = scope.lookup(e.name)
        if bound is not None:
            return bound
        if e.name in self.m.elements:
            el = self.m.elements[e.name]
            if el.is_file:
                self.fail(e.span, f"register file '{el.name}' needs an index: {el.name}[i]")
            return ir.Reg(el.name, el.width, e.span)
        md = self.m.modes
        if md is not None:
            if e.name == "mode":
                el = self.m.elements[md.elem]
                whole = ir.Reg(md.elem, el.width, e.span)
                return whole if (md.lo, md.hi) == (0, el.width - 1) else ir.Slice(whole, md.hi, md.lo, e.span)
            if e.name in md.names:
                return ir.Lit(md.code(e.name), md.width, e.span)
        if e.name in self.m.constants:
            return self._lit(self.m.constants[e.name], want, e.span)
        if e.name in self.m.helpers:
            self.fail(e.span, f"'{e.name}' is a helper; call it as {e.name}(...)")
        self._unknown(e.name, e.span, scope)

    def binary(self, e: s.Binary, scope: Scope, want: int | None) -> ir.Expr:
        sp = e.span
        if e.op in ("&&", "||"):
            a, b = self.boolean(e.left, scope), self.boolean(e.right, scope)
            return ir.Bin("land" if e.op == "&&" else "lor", a, b, ir.BOOL, sp)
        if e.op in _CMP:
            w = self.natural(e.left, scope) or self.natural(e.right, scope)
            a = self.value(e.left, scope, w)
            b = self.value(e.right, scope, w if w is not None else a.width)
            if a.width == ir.BOOL and b.width == ir.BOOL and e.op in ("==", "!="):
                return ir.Bin("beq" if e.op == "==" else "bne", a, b, ir.BOOL, sp)
            self._same(a, b, sp, e.op)
            return ir.Bin(_CMP[e.op], a, b, ir.BOOL, sp)
        op = _ARITH[e.op]
        if op in _SHIFTS:
            a = self.value(e.left, scope, self.natural(e.left, scope) or want)
            b = self.value(e.right, scope, self.natural(e.right, scope) or a.width)
            for v, side in ((a, e.left), (b, e.right)):
                if v.width == ir.BOOL:
                    self.fail(side.span, f"'{e.op}' needs bit-vectors, not conditions")
            return ir.Bin(op, a, b, a.width, sp)
        w = self.natural(e.left, scope) or self.natural(e.right, scope) or want
        a = self.value(e.left, scope, w)
        b = self.value(e.right, scope, w if w is not None else a.width)
        self._same(a, b, sp, e.op)
        if a.width == ir.BOOL:
            self.fail(sp, f"'{e.op}' needs bit-vectors, not conditions", "use && and || for conditions")
        if isinstance(a, ir.Lit) and isinstance(b, ir.Lit):
            return _fold(op, a, b, sp)
        return ir.Bin(op, a, b, a.width, sp)

    def _same(self, a: ir.Expr, b: ir.Expr, span, op: str) -> None:
        if a.width != b.width:

            def kind(x):
                return "a condition" if x.width == ir.BOOL else f"{x.width} bits"

            self.fail(
                span,
                f"width mismatch in '{op}': {kind(a)} vs {kind(b)}",
                "use zext(x, N), sext(x, N) or a slice x[hi:lo] to make them agree",
            )

    def call(self, e: s.Call, scope: Scope, want: int | None) -> ir.Expr:
        sp, args = e.span, e.args
        if e.func in ("sext", "zext"):
            if len(args) not in (1, 2):
                self.fail(sp, f"{e.func}(x, N) takes a value and a width")
            v = self._expr(args[0], scope, None)
            if v.width == ir.BOOL:
                self.fail(args[0].span, f"{e.func} needs a bit-vector, not a condition")
            w = self._const(args[1], scope) if len(args) == 2 else (want or self.m.word)
            if w > MAX_WIDTH:
                self.fail(args[1].span, f"{e.func} to {w:,} bits: the widest allowed is {MAX_WIDTH:,} bits")
            if w < v.width:
                self.fail(sp, f"{e.func} to {w} bits would shrink a {v.width}-bit value", "use a slice x[hi:lo]")
            return v if w == v.width else ir.Ext(e.func == "sext", v, w, sp)
        if e.func in ("slt", "sle", "sgt", "sge"):
            if len(args) != 2:
                self.fail(sp, f"{e.func}(a, b) takes two values")
            w = self.natural(args[0], scope) or self.natural(args[1], scope)
            a, b = self.value(args[0], scope, w), self.value(args[1], scope, w)
            self._same(a, b, sp, e.func)
            return ir.Bin(e.func, a, b, ir.BOOL, sp)
        if e.func == "concat":
            if len(args) < 2:
                self.fail(sp, "concat(a, b, ...) takes two or more values")
            parts = []
            for a in args:
                if self.natural(a, scope) is None:
                    self.fail(a.span, "a literal in concat needs a width", "write zext(5, 8) or a slice")
                parts.append(self._expr(a, scope, None))
            return ir.Concat(tuple(parts), sum(p.width for p in parts), sp)
        h = self.m.helpers.get(e.func)
        if h is None:
            self._unknown(e.func, sp, scope, "function")
        if isinstance(h, s.ProcDef):
            self.fail(sp, f"'{e.func}' is a proc (a statement); only a fn returns a value")
        inner = self._bind_params(h, args, sp, scope)
        with self._calling(h.name, sp):
            for let in h.lets:
                inner.bindings[let.name] = self.value(let.value, inner)
            v = self.value(h.result, inner, h.width, bool_to_bit=h.width == 1)
        if v.width != h.width:
            self.fail(h.result.span, f"'{h.name}' is declared -> {h.width} but its value is {v.width} bits")
        return v

    def match_expr(self, e: s.MatchExpr, scope: Scope, want: int | None) -> ir.Expr:
        subject = self.value(e.subject, scope)
        default = None
        arms = []
        w = None
        for _, v in e.arms:
            w = w or self.natural(v, scope)
        w = w or want
        for pats, v in e.arms:
            val = self.value(v, scope, w)
            if not pats:
                default = val
            else:
                arms.append((self._pattern_cond(subject, pats, scope), val))
        if default is None:
            self.fail(e.span, "a match that gives a value needs a default arm '_ => ...'")
        out = default
        for cond, val in reversed(arms):
            if val.width != out.width:
                self.fail(e.span, f"match arms have different widths ({val.width} and {out.width})")
            out = ir.Ite(cond, val, out, val.width, e.span)
        return out

    # ---- pieces ---------------------------------------------------------

    def _element(self, name: str, span, scope: Scope) -> ir.Element:
        el = self.m.elements.get(name)
        if el is None:
            self._unknown(name, span, scope, "state element")
        return el

    def _no_field(self, el: ir.Element, name: str, span):
        have = ", ".join(f.name for f in el.fields) or "none"
        self.fail(span, f"'{el.name}' has no field '{name}'", f"its fields: {have}")

    def _file_index(self, el: ir.Element, index: s.SExpr, scope: Scope) -> ir.Expr:
        idx = self.value(index, scope, want=el.index_width)
        if idx.width != el.index_width:
            self.fail(
                index.span,
                f"a register number of '{el.name}' is {el.index_width} bits, this one {idx.width}",
                "use a register operand or a slice",
            )
        return idx

    def _const(self, e: s.SExpr, scope: Scope) -> int:
        if isinstance(e, s.Num):
            return e.value
        if isinstance(e, s.Name) and scope.lookup(e.name) is None and e.name in self.m.constants:
            return self.m.constants[e.name]
        self.fail(getattr(e, "span", None), "a constant number is needed here (bit positions and widths are fixed)")

    def _slice(self, base: ir.Expr, hi: int, lo: int, span) -> ir.Expr:
        if base.width == ir.BOOL:
            self.fail(span, "a condition cannot be sliced")
        if not (0 <= lo <= hi < base.width):
            self.fail(span, f"bits {hi}:{lo} are outside a {base.width}-bit value")
        if isinstance(base, ir.Slice):  # a slice of a slice is one slice
            return ir.Slice(base.value, base.lo + hi, base.lo + lo, span)
        return ir.Slice(base, hi, lo, span)

    def _mem_parts(self, m: s.MemAccess, scope: Scope):
        nbits = m.nbits or self.m.unit
        if nbits % self.m.unit:
            self.fail(m.span, f"{m.space}{nbits} is not a whole number of {self.m.unit}-bit storage units")
        addr = self.value(m.addr, scope, want=self.m.word)
        if addr.width != self.m.word:
            self.fail(
                m.addr.span, f"an address is {self.m.word} bits (the word), this one {addr.width}", "use zext(a, WORD)"
            )
        priv = m.priv
        if priv is not None:
            if self.m.modes is None or priv not in self.m.modes.names:
                self.fail(m.span, f"'as {priv}': no privilege level of that name")
            if m.space == "phys":
                self.fail(m.span, "phys[...] is untranslated; 'as LEVEL' applies only to mem[...]")
        return addr, nbits, priv


def _target_width(t: ir.Target) -> int:
    if isinstance(t, ir.MemTarget):
        return t.nbits
    return t.hi - t.lo + 1


def _narrow(base, hi: int, lo: int, span):
    if isinstance(base, ir.RegTarget):
        return ir.RegTarget(base.elem, hi, lo, span)
    return ir.FileTarget(base.file, base.index, hi, lo, span)


def _element_of(e: ir.Expr) -> str | None:
    """The element whose fields a value has: a whole element, or one register."""
    if isinstance(e, ir.Reg):
        return e.elem
    if isinstance(e, ir.FileRead):
        return e.file
    return None


def _fold(op: str, a: ir.Lit, b: ir.Lit, span) -> ir.Lit:
    w, x, y = a.width, a.value, b.value
    m = ir.mask(w)
    val = {
        "add": x + y,
        "sub": x - y,
        "mul": x * y,
        "and": x & y,
        "or": x | y,
        "xor": x ^ y,
        "udiv": (x // y) if y else m,
        "urem": (x % y) if y else x,
    }[op]
    return ir.Lit(val & m, w, span)
