"""Surface semantics -> IR: statements lowered, helpers inlined (the elaborator).

An `Elaborator` knows the ISA's `Declarations` (elements, fields, mode,
constants, causes, helpers); a `Scope` holds what one instruction adds
(operands, lets). Statements are elaborated here (`require` and `match`
lowered to `if`, `proc` helpers inlined); expressions in `elaborate_expr.py`.
Every error is collected, not raised, so one run reports them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from ..errors import Collector
from . import ir
from . import surface as s
from .elaborate_expr import BUILTINS, Abort, ExprElaborator
from .limits import MAX_IF_NESTING
from .scope import Declarations, Scope

__all__ = ["BUILTINS", "Elaborator"]


class Elaborator(ExprElaborator):
    """Semantics of one ISA -> IR: `block` for statements, `condition` for a
    condition; errors go to the `Collector`, and what failed is left out."""

    def __init__(self, decls: Declarations, errors: Collector):
        super().__init__(decls, errors)
        self._fresh = 0  # locals made, so each `let` gets a name of its own
        self._stmt_depth = 0  # statements nested as elaboration goes, helpers included
        # The instruction's operands with addressing modes: `op = e` -> statements (build_modes.py).
        self.operand_writers: dict[str, tuple[ir.Expr, Callable[[s.AssignStmt, Scope], list[ir.Stmt]]]] = {}
        # ... and `addr(op)`: op's read expression, its address, its modes that have none.
        self.operand_addresses: dict[str, tuple[ir.Expr, ir.Expr, list[str]]] = {}

    # ---- entry points ---------------------------------------------------

    def block(self, stmts, scope: Scope) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        for st in stmts:
            try:
                out.extend(self.stmt(st, scope))
            except Abort:
                pass
        return tuple(out)

    def condition(self, e: s.SExpr, scope: Scope) -> ir.Expr | None:
        try:
            return self.boolean(e, scope)
        except Abort:
            return None

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
            if st.name in self.decls.elements or (st.name == "mode" and self.decls.modes):
                self.fail(st.span, f"'let {st.name}' would hide the state element '{st.name}'", "choose another name")
            value = self.value(st.value, scope)
            local = self._local(st.name, value.width, st.span)
            scope.bindings[st.name] = local
            return [ir.Let(local.name, value, st.span)]
        if isinstance(st, s.AssignStmt):
            t = st.target
            w = self.operand_writers.get(t.name) if isinstance(t, s.Name) else None
            if w is not None and isinstance(t, s.Name) and scope.lookup(t.name) is w[0]:  # not a helper's parameter
                return w[1](st, scope)  # an operand with addressing modes
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
        if isinstance(st, s.WaitStmt):
            return [ir.Wait(st.span)]
        if isinstance(st, s.CallStmt):
            return self.call_proc(st, scope)
        if isinstance(st, s.MatchStmt):
            return self.match_stmt(st, scope)
        raise AssertionError(f"unknown statement {st!r}")  # pragma: no cover

    def _local(self, name: str, width: int, span) -> ir.Local:
        self._fresh += 1
        return ir.Local(f"{name}_{self._fresh}", width, span)

    def trap(self, cause: str, arg, scope: Scope, span) -> ir.Trap:
        if self.decls.causes is not None and cause not in self.decls.causes:
            close = difflib.get_close_matches(cause, sorted(self.decls.causes), n=3)
            self.fail(
                span,
                f"unknown trap cause '{cause}'",
                f"declared causes: {', '.join(sorted(self.decls.causes)) or 'none'}"
                + (f"; did you mean '{close[0]}'?" if close else ""),
            )
        value = None
        if arg is not None:
            value = self.value(arg, scope, want=self.decls.cause_width)
            if value.width > self.decls.cause_width:
                self.fail(arg.span, f"trap argument is {value.width} bits; the cause width is {self.decls.cause_width}")
            if value.width < self.decls.cause_width:
                value = ir.Ext(False, value, self.decls.cause_width, arg.span)
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
            if t.name == "mode" and self.decls.modes and "mode" not in self.decls.elements:
                md = self.decls.modes
                self._writable(self.decls.elements[md.elem], None, t.span)
                return ir.RegTarget(md.elem, md.hi, md.lo, t.span)
            e = self.element(t.name, t.span, scope)
            if e.is_file:
                self.fail(t.span, f"register file '{e.name}' needs an index: {e.name}[i]")
            self._writable(e, None, t.span)
            return ir.RegTarget(e.name, e.width - 1, 0, t.span)
        if isinstance(t, s.FieldAccess):
            base = self.target(t.base, scope)
            if isinstance(base, ir.MemTarget):
                self.fail(t.span, "storage has no fields")
            e = self.decls.elements[base.elem if isinstance(base, ir.RegTarget) else base.file]
            f = e.field(t.name)
            if f is None or base.lo != 0 or base.hi != e.width - 1:
                self.no_field(e, t.name, t.span)
            self._writable(e, f, t.span)
            return _narrow(base, f.hi, f.lo, t.span)
        if isinstance(t, s.Index):
            if (
                isinstance(t.base, s.Name)
                and t.base.name in self.decls.elements
                and self.decls.elements[t.base.name].is_file
            ):
                e = self.decls.elements[t.base.name]
                self._writable(e, None, t.span)
                idx = self.file_index(e, t.index, scope)
                return ir.FileTarget(e.name, idx, e.width - 1, 0, t.span)
            base = self.target(t.base, scope)
            bit = self.const(t.index, scope)
            return self._bits(base, bit, bit, t.span)
        if isinstance(t, s.SliceOf):
            base = self.target(t.base, scope)
            return self._bits(base, self.const(t.hi, scope), self.const(t.lo, scope), t.span)
        if isinstance(t, s.MemAccess):
            addr, nbits, priv = self.mem_parts(t, scope)
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
        h = self.decls.helpers.get(st.func)
        if h is None:
            if st.func in BUILTINS:
                self.fail(st.span, f"'{st.func}(...)' computes a value; it is not a statement")
            self.unknown(st.func, st.span, scope, "procedure")
        if isinstance(h, s.FnDef):
            self.fail(st.span, f"'{st.func}' is a fn (it returns a value); only a proc can be a statement")
        h, args = self.instantiated(h, st.args, st.span, scope)
        inner = self.bind_params(h, args, st.span, scope)
        with self.calling(h.name, st.span):
            return list(self.block(h.body, inner))

    def match_stmt(self, st: s.MatchStmt, scope: Scope) -> list[ir.Stmt]:
        subject = self.value(st.subject, scope)
        default: tuple[ir.Stmt, ...] = ()
        arms: list[tuple[ir.Expr, tuple[ir.Stmt, ...]]] = []
        for pats, body in st.arms:
            stmts = self.block(body, scope.child())
            if not pats:
                default = stmts
                continue
            arms.append((self.pattern_cond(subject, pats, scope), stmts))
        out: tuple[ir.Stmt, ...] = default
        for cond, stmts in reversed(arms):
            out = (ir.If(cond, stmts, out, st.span),)
        return list(out)


def _target_width(t: ir.Target) -> int:
    if isinstance(t, ir.MemTarget):
        return t.nbits
    return t.hi - t.lo + 1


def _narrow(base, hi: int, lo: int, span):
    if isinstance(base, ir.RegTarget):
        return ir.RegTarget(base.elem, hi, lo, span)
    return ir.FileTarget(base.file, base.index, hi, lo, span)
