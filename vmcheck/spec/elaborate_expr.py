"""Elaborating semantics expressions: names resolved, widths checked, helpers inlined.

`ExprElaborator` turns a surface expression (`surface.py`) into an IR
expression (`ir.py`) of a known width, within a `Scope` and the ISA's
`Declarations`. Literals are untyped until they meet a typed operand; an
expression made only of literals takes the width its context wants (the
word by default). A `fn` helper is inlined at each call. An error is
recorded in the `Collector` and raises `Abort`, which the statement level
(`elaborate.py`) catches, so one run reports every independent error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from ..errors import Collector, Span
from . import ir
from . import surface as s
from .families import instantiate, width_params
from .ir_walk import walk
from .limits import MAX_ELABORATION_STEPS, MAX_EXPR_NESTING, MAX_WIDTH
from .scope import Declarations, Scope

PROBE_KINDS = ("read", "write")  # what `probe(KIND, ...)` may ask about

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


class Abort(Exception):
    """An error was recorded; stop elaborating this expression."""


class ExprElaborator:
    """Expressions (and what statements share with them: errors, helper calls,
    patterns, the pieces of a target); `Elaborator` adds the statements."""

    def __init__(self, decls: Declarations, errors: Collector):
        self.decls = decls
        self.errors = errors
        self.call_stack: list[str] = []  # the helpers being inlined, outermost first
        self._steps = 0  # expressions elaborated, against MAX_ELABORATION_STEPS
        # Nesting as elaboration goes, helpers included: the text of each is
        # bounded, but a chain of helpers adds up, and this recursion must stop
        # well before Python's stack does.
        self._expr_depth = 0

    # ---- errors ---------------------------------------------------------

    def fail(self, span: Span | None, message: str, hint: str | None = None) -> NoReturn:
        self.errors.error(span, message, hint)
        raise Abort()

    def unknown(self, name: str, span: Span | None, scope: Scope, what: str = "name") -> NoReturn:
        pool = set(self.decls.elements) | set(self.decls.constants) | scope.names() | set(self.decls.helpers)
        if self.decls.modes:
            pool |= set(self.decls.modes.names) | {"mode"}
        close = difflib.get_close_matches(name, sorted(pool), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None
        self.fail(span, f"undefined {what} '{name}'", hint)

    def bind_params(self, h, args, span, scope: Scope) -> Scope:
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

    def instantiated(self, h, args, span, scope: Scope):
        """A width-generic helper (families.py) made concrete for this call: each
        width argument must be a constant; the rest of the arguments are returned."""
        wparams = width_params(h)
        if not wparams:
            return h, args
        if len(args) != len(h.params):
            self.fail(span, f"'{h.name}' takes {len(h.params)} argument(s), {len(args)} given")
        widths: dict[str, int] = {}
        rest = []
        for p, a in zip(h.params, args):
            if p.width != "width":
                rest.append(a)
                continue
            w = self.const(a, scope)
            if not 1 <= w <= MAX_WIDTH:
                self.fail(a.span, f"width argument '{p.name}' of '{h.name}' is {w}: widths are 1 to {MAX_WIDTH:,}")
            widths[p.name] = w
        return instantiate(h, widths), tuple(rest)

    @contextmanager
    def calling(self, name: str, span: Span | None) -> Iterator[None]:
        """Inline helper `name` inside this block; a helper already being inlined
        is recursion, an error (helpers are inlined, so it would never end)."""
        if name in self.call_stack:
            cycle = " -> ".join(self.call_stack[self.call_stack.index(name) :] + [name])
            self.fail(
                span,
                f"recursion between helpers: {cycle}",
                "helpers are inlined, so they may not call themselves",
            )
        self.call_stack.append(name)
        try:
            yield
        finally:
            self.call_stack.pop()

    def pattern_cond(self, subject: ir.Expr, pats, scope: Scope) -> ir.Expr:
        """`subject` equals one of `pats` (a non-empty arm's patterns)."""
        cond: ir.Expr | None = None
        for p in pats:
            v = self.value(p, scope, want=subject.width)
            if v.width != subject.width:
                self.fail(p.span, f"pattern is {v.width} bits, the subject {subject.width} bits")
            c = ir.Bin("eq", subject, v, ir.BOOL, p.span)
            cond = c if cond is None else ir.Bin("lor", cond, c, ir.BOOL, p.span)
        assert cond is not None, "an arm with no pattern is the default arm"
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
        v = self.expr(e, scope, want)
        if bool_to_bit and v.width == ir.BOOL:
            return ir.Ite(v, ir.Lit(1, 1), ir.Lit(0, 1), 1, e.span)
        return v

    def natural(self, e: s.SExpr, scope: Scope) -> int | None:
        """The width `e` has by itself, or None when it is made of untyped literals."""
        if isinstance(e, s.Num):
            return None
        if isinstance(e, s.Name):
            if scope.lookup(e.name) is None and e.name in self.decls.constants:
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
            if isinstance(e, s.Probe):
                return ir.BOOL
            if isinstance(e, s.SliceOf):
                w = self.const(e.hi, scope) - self.const(e.lo, scope) + 1
                return w if 1 <= w <= MAX_WIDTH else None  # a bad slice is reported where it is elaborated
            if isinstance(e, s.Index):
                if isinstance(e.base, s.Name) and scope.lookup(e.base.name) is None:
                    el = self.decls.elements.get(e.base.name)
                    if el is not None and el.is_file:
                        return el.width
                return 1
            if isinstance(e, s.MemAccess):
                return e.nbits if e.nbits is not None else self.decls.unit
            if isinstance(e, s.Call):
                if e.func in ("slt", "sle", "sgt", "sge"):
                    return ir.BOOL
                if e.func in ("sext", "zext") and len(e.args) == 2:
                    w = self.const(e.args[1], scope)
                    return w if 1 <= w <= MAX_WIDTH else None
                if e.func == "concat" and len(e.args) >= 2:
                    parts = [self.natural(a, scope) for a in e.args]
                    known = [w for w in parts if w]  # every part, unless one is untyped or a condition
                    return None if len(known) != len(parts) else sum(known)
            return self.expr(e, scope, None).width
        except Abort:
            return None

    def expr(self, e: s.SExpr, scope: Scope, want: int | None) -> ir.Expr:
        if self._expr_depth >= MAX_EXPR_NESTING:
            self.fail(
                getattr(e, "span", None),
                f"expressions nested more than {MAX_EXPR_NESTING} levels deep once "
                f"helpers are inlined: the limit is {MAX_EXPR_NESTING}",
                "name parts of it with let",
            )
        self._expr_depth += 1
        try:
            v = self.expr_node(e, scope, want)
        finally:
            self._expr_depth -= 1
        if v.width > MAX_WIDTH:  # a concat of wide parts, a sext to 2^40 bits...
            self.fail(
                getattr(e, "span", None), f"a value of {v.width:,} bits: the widest allowed is {MAX_WIDTH:,} bits"
            )
        return v

    def expr_node(self, e: s.SExpr, scope: Scope, want: int | None) -> ir.Expr:
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
            raise Abort()
        if isinstance(e, s.Num):
            return self.lit(e.value, want, sp)
        if isinstance(e, s.BoolLit):
            return ir.Lit(int(e.value), ir.BOOL, sp)
        if isinstance(e, s.Name):
            return self.name(e, scope, want)
        if isinstance(e, s.FieldAccess):
            base = self.expr(e.base, scope, None)
            ename = _element_of(base)
            el = self.decls.elements.get(ename) if ename else None
            f = el.field(e.name) if el else None
            if el is None or f is None:
                if el is None:
                    self.fail(sp, f"'.{e.name}': only state elements have fields")
                self.no_field(el, e.name, sp)
            return ir.Slice(base, f.hi, f.lo, sp)
        if isinstance(e, s.Index):
            if isinstance(e.base, s.Name) and scope.lookup(e.base.name) is None:
                el = self.decls.elements.get(e.base.name)
                if el is not None and el.is_file:
                    idx = self.file_index(el, e.index, scope)
                    return ir.FileRead(el.name, idx, el.width, sp)
            base = self.expr(e.base, scope, None)
            bit = self.const(e.index, scope)
            return self.slice(base, bit, bit, sp)
        if isinstance(e, s.SliceOf):
            base = self.expr(e.base, scope, None)
            return self.slice(base, self.const(e.hi, scope), self.const(e.lo, scope), sp)
        if isinstance(e, s.MemAccess):
            addr, nbits, priv = self.mem_parts(e, scope)
            return ir.Mem(e.space, addr, nbits, priv, sp)
        if isinstance(e, s.Probe):
            return self.probe(e, scope)
        if isinstance(e, s.Unary):
            if e.op == "!":
                return ir.Un("lnot", self.boolean(e.value, scope), ir.BOOL, sp)
            v = self.expr(e.value, scope, want)
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

    def lit(self, value: int, want: int | None, span) -> ir.Lit:
        w = want if want else self.decls.word
        if value >= (1 << w):
            self.fail(span, f"the literal {value:#x} does not fit in {w} bits")
        return ir.Lit(value, w, span)

    def name(self, e: s.Name, scope: Scope, want: int | None) -> ir.Expr:
        bound = scope.lookup(e.name)
        if bound is not None:
            return bound
        if e.name in self.decls.elements:
            el = self.decls.elements[e.name]
            if el.is_file:
                self.fail(e.span, f"register file '{el.name}' needs an index: {el.name}[i]")
            return ir.Reg(el.name, el.width, e.span)
        md = self.decls.modes
        if md is not None:
            if e.name == "mode":
                el = self.decls.elements[md.elem]
                whole = ir.Reg(md.elem, el.width, e.span)
                return whole if (md.lo, md.hi) == (0, el.width - 1) else ir.Slice(whole, md.hi, md.lo, e.span)
            if e.name in md.names:
                return ir.Lit(md.code(e.name), md.width, e.span)
        if e.name in self.decls.constants:
            return self.lit(self.decls.constants[e.name], want, e.span)
        if e.name in self.decls.helpers:
            self.fail(e.span, f"'{e.name}' is a helper; call it as {e.name}(...)")
        self.unknown(e.name, e.span, scope)

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
            self.same(a, b, sp, e.op)
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
        self.same(a, b, sp, e.op)
        if a.width == ir.BOOL:
            self.fail(sp, f"'{e.op}' needs bit-vectors, not conditions", "use && and || for conditions")
        if isinstance(a, ir.Lit) and isinstance(b, ir.Lit):
            return _fold(op, a, b, sp)
        return ir.Bin(op, a, b, a.width, sp)

    def same(self, a: ir.Expr, b: ir.Expr, span, op: str) -> None:
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
        if e.func == "addr" and "addr" not in self.decls.helpers:
            return self.operand_address(e, scope)
        if e.func in ("sext", "zext"):
            if len(args) not in (1, 2):
                self.fail(sp, f"{e.func}(x, N) takes a value and a width")
            v = self.expr(args[0], scope, None)
            if v.width == ir.BOOL:
                self.fail(args[0].span, f"{e.func} needs a bit-vector, not a condition")
            w = self.const(args[1], scope) if len(args) == 2 else (want or self.decls.word)
            if w > MAX_WIDTH:
                self.fail(args[1].span, f"{e.func} to {w:,} bits: the widest allowed is {MAX_WIDTH:,} bits")
            if w < v.width:
                self.fail(sp, f"{e.func} to {w} bits would shrink a {v.width}-bit value", "use a slice x[hi:lo]")
            return v if w == v.width else ir.Ext(e.func == "sext", v, w, sp)
        if e.func in ("slt", "sle", "sgt", "sge"):
            if len(args) != 2:
                self.fail(sp, f"{e.func}(a, b) takes two values")
            width = self.natural(args[0], scope) or self.natural(args[1], scope)
            a, b = self.value(args[0], scope, width), self.value(args[1], scope, width)
            self.same(a, b, sp, e.func)
            return ir.Bin(e.func, a, b, ir.BOOL, sp)
        if e.func == "concat":
            if len(args) < 2:
                self.fail(sp, "concat(a, b, ...) takes two or more values")
            parts = []
            for arg in args:
                if self.natural(arg, scope) is None:
                    self.fail(arg.span, "a literal in concat needs a width", "write zext(5, 8) or a slice")
                parts.append(self.expr(arg, scope, None))
            return ir.Concat(tuple(parts), sum(p.width for p in parts), sp)
        h = self.decls.helpers.get(e.func)
        if h is None:
            self.unknown(e.func, sp, scope, "function")
        if isinstance(h, s.ProcDef):
            self.fail(sp, f"'{e.func}' is a proc (a statement); only a fn returns a value")
        h, args = self.instantiated(h, args, sp, scope)
        inner = self.bind_params(h, args, sp, scope)
        with self.calling(h.name, sp):
            for let in h.lets:
                inner.bindings[let.name] = self.value(let.value, inner)
            v = self.value(h.result, inner, h.width, bool_to_bit=h.width == 1)
        if v.width != h.width:
            self.fail(h.result.span, f"'{h.name}' is declared -> {h.width} but its value is {v.width} bits")
        return v

    def operand_address(self, e: s.Call, scope: Scope) -> ir.Expr:
        """`addr(op)`: the address of an instruction operand with addressing
        modes (x86 LEA, the m16:32 of LDS): the one its mode computed before
        the body, word wide. Every mode of its kind must have an address."""
        table = getattr(self, "operand_addresses", {})
        arg = e.args[0] if len(e.args) == 1 else None
        name = arg.name if isinstance(arg, s.Name) else None
        got = table.get(name) if name is not None else None
        if got is None or scope.lookup(name or "") is not got[0]:
            self.fail(
                e.span,
                "addr(OPERAND) takes one operand of this instruction that has addressing modes",
                f"operands with modes here: {', '.join(table) or 'none'}",
            )
        _, address, valued = got
        if valued:
            self.fail(
                e.span,
                f"addr({name}): mode '{valued[0]}' of '{name}' gives a value, not an address",
                "give the operand a kind whose modes all have an address (x86: m rather than r/m32)",
            )
        return address

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
                arms.append((self.pattern_cond(subject, pats, scope), val))
        if default is None:
            self.fail(e.span, "a match that gives a value needs a default arm '_ => ...'")
        out = default
        for cond, val in reversed(arms):
            if val.width != out.width:
                self.fail(e.span, f"match arms have different widths ({val.width} and {out.width})")
            out = ir.Ite(cond, val, out, val.width, e.span)
        return out

    # ---- pieces ---------------------------------------------------------

    def element(self, name: str, span, scope: Scope) -> ir.Element:
        el = self.decls.elements.get(name)
        if el is None:
            self.unknown(name, span, scope, "state element")
        return el

    def no_field(self, el: ir.Element, name: str, span: Span | None) -> NoReturn:
        have = ", ".join(f.name for f in el.fields) or "none"
        self.fail(span, f"'{el.name}' has no field '{name}'", f"its fields: {have}")

    def file_index(self, el: ir.Element, index: s.SExpr, scope: Scope) -> ir.Expr:
        idx = self.value(index, scope, want=el.index_width)
        if idx.width != el.index_width:
            self.fail(
                index.span,
                f"a register number of '{el.name}' is {el.index_width} bits, this one {idx.width}",
                "use a register operand or a slice",
            )
        return idx

    def const(self, e: s.SExpr, scope: Scope) -> int:
        if isinstance(e, s.Num):
            return e.value
        if isinstance(e, s.Name) and scope.lookup(e.name) is None and e.name in self.decls.constants:
            return self.decls.constants[e.name]
        self.fail(getattr(e, "span", None), "a constant number is needed here (bit positions and widths are fixed)")

    def slice(self, base: ir.Expr, hi: int, lo: int, span) -> ir.Expr:
        if base.width == ir.BOOL:
            self.fail(span, "a condition cannot be sliced")
        if not (0 <= lo <= hi < base.width):
            self.fail(span, f"bits {hi}:{lo} are outside a {base.width}-bit value")
        if isinstance(base, ir.Slice):  # a slice of a slice is one slice
            return ir.Slice(base.value, base.lo + hi, base.lo + lo, span)
        return ir.Slice(base, hi, lo, span)

    def mem_parts(self, m: s.MemAccess, scope: Scope):
        if m.nbits_name is not None:  # not replaced: no width parameter of that name here (families.py)
            self.fail(
                m.span,
                f"{m.space}{{{m.nbits_name}}}: '{m.nbits_name}' is not a width parameter here",
                "mem{W}[...] is for width-generic helpers and families with a parameter W: width",
            )
        nbits = m.nbits or self.decls.unit
        if nbits % self.decls.unit:
            self.fail(m.span, f"{m.space}{nbits} is not a whole number of {self.decls.unit}-bit storage units")
        addr = self.value(m.addr, scope, want=self.decls.word)
        if addr.width != self.decls.word:
            self.fail(
                m.addr.span,
                f"an address is {self.decls.word} bits (the word), this one {addr.width}",
                "use zext(a, WORD)",
            )
        priv = m.priv
        if priv is None:
            return addr, nbits, None
        modes = self.decls.modes
        if isinstance(priv, str):
            known = priv in self.decls.elements or priv in self.decls.constants or scope.lookup(priv) is not None
            if modes is None or (priv not in modes.names and not known):
                self.fail(m.span, f"'as {priv}': no privilege level of that name")
        elif modes is None:
            self.fail(m.span, "'as (...)': the spec's privilege levels did not load")
        if m.space == "phys":
            self.fail(m.span, "phys[...] is untranslated; 'as LEVEL' applies only to mem[...]")
        if isinstance(priv, str) and priv in modes.names:
            return addr, nbits, priv
        return addr, nbits, self.privilege(priv, m, scope, modes.width)

    def privilege(self, priv: str | s.SExpr, m: s.MemAccess, scope: Scope, width: int) -> ir.Expr:
        """`as NAME` (a value) or `as (EXPR)`: an expression of the mode's width,
        read as a level's code; it may not read storage (the access it
        qualifies is itself a storage access)."""
        sx = s.Name(priv, m.span) if isinstance(priv, str) else priv
        v = self.value(sx, scope, want=width)
        if v.width != width:
            self.fail(
                sx.span or m.span,
                f"a privilege is a level's code of {width} bits (the mode's width), this one {v.width}",
                "take the field or slice that holds the level",
            )
        if any(isinstance(n, ir.Mem) for n in walk(v)):
            self.fail(sx.span or m.span, "a privilege expression cannot read storage", "read it into a let first")
        if any(isinstance(n, ir.Probe) for n in walk(v)):
            self.fail(sx.span or m.span, "a privilege expression cannot probe storage", "probe into a let first")
        return v

    def probe(self, e: s.Probe, scope: Scope) -> ir.Expr:
        """`probe(KIND, mem[a] as P)`: a condition; the access is checked as a
        `mem[...]` access is (width, address, privilege), and must be translated."""
        if e.kind not in PROBE_KINDS:
            self.fail(
                e.kind_span or e.span,
                f"'probe({e.kind}, ...)': the access kind is read or write, not '{e.kind}'",
                "probe(read, mem32[a]) or probe(write, mem32[a] as user)",
            )
        if e.access.space != "mem":
            self.fail(
                e.access.span or e.span,
                "probe of phys[...]: an untranslated access never faults; probe a mem[...] access",
            )
        addr, nbits, priv = self.mem_parts(e.access, scope)
        return ir.Probe(e.kind, "mem", addr, nbits, priv, e.span)


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
