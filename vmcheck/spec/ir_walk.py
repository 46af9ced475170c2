"""Walking the IR one way: its children, a traversal, and a checked visitor base.

Every reading of the IR (the symbolic and the concrete interpreters, the
dependency pre-pass, the compiler's analyses) goes through this module
instead of spelling out the node types itself:

* `children(node)`: the IR nodes directly below an expression, statement or
  target, in field order (an `If`'s condition, then its `then` statements,
  then its `else` statements); `None` and non-IR fields are skipped.
* `walk(roots)`: every node below `roots`, depth first in program order,
  without recursion (the IR may be nested deeper than Python's stack; the
  front end bounds it, but iteration costs nothing here).
* `Visitor`: a base class whose subclasses name a rule `visit_<Type>` for
  every node type they declare to handle. A subclass of `ExprVisitor` that
  misses a member of `ir.Expr` (likewise `StmtVisitor` / `ir.Stmt`,
  `TargetVisitor` / `ir.Target`) *cannot be created*: the class statement
  raises TypeError, so adding a node type to the IR fails at import of every
  reader that does not handle it, not at run time on the first spec using
  it. `visit(node, *args)` dispatches on the exact type through a table
  built once per class.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from typing import Any, ClassVar, cast

from ..errors import InternalError
from . import ir

EXPR_TYPES: tuple[type, ...] = typing.get_args(ir.Expr)
STMT_TYPES: tuple[type, ...] = typing.get_args(ir.Stmt)
TARGET_TYPES: tuple[type, ...] = typing.get_args(ir.Target)
NODE_TYPES: tuple[type, ...] = EXPR_TYPES + TARGET_TYPES + STMT_TYPES

Node = ir.Expr | ir.Target | ir.Stmt

# Per node type, its fields but the span, in declaration order (`children`
# keeps the values that are IR nodes).
_NODE_FIELDS: dict[type, tuple[str, ...]] = {
    t: tuple(f.name for f in fields(t) if f.name != "span") for t in NODE_TYPES
}


def children(node: Node) -> list[Node]:
    """The IR nodes directly below `node`, in field order."""
    out: list[Node] = []
    for name in _NODE_FIELDS[type(node)]:
        x = getattr(node, name)
        if isinstance(x, tuple):
            out.extend(y for y in x if type(y) in _NODE_FIELDS)
        elif type(x) in _NODE_FIELDS:
            out.append(x)
    return out


def walk(roots: Node | Iterable[Node]) -> Iterator[Node]:
    """Every node of `roots` and below, depth first, parents before their
    children and siblings in program order. A node shared by two parents
    (the IR is a tree of values, equal subtrees may be one object) is
    yielded once per occurrence."""
    if type(roots) in _NODE_FIELDS:
        stack: list[Node] = [cast(Node, roots)]
    else:
        stack = list(cast(Iterable[Node], roots))[::-1]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


# --------------------------------------------------------------------------
# Visitors
# --------------------------------------------------------------------------


class Visitor:
    """A rule per IR node type, checked complete when the class is created.

    A base lists the node types it covers in `handles`; a concrete subclass
    (any class not created with `abstract=True`) must define `visit_<Type>`
    for every type that any of its bases handles. `visit(node, *args)` calls
    the rule for `type(node)`; a node of a type no base handles goes to
    `unknown`, which raises an internal error unless overridden.
    """

    handles: ClassVar[tuple[type, ...]] = ()
    _rules: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        types: list[type] = []
        for base in reversed(cls.__mro__):
            for t in base.__dict__.get("handles", ()):
                if t not in types:
                    types.append(t)
        if abstract:
            return
        missing = [t.__name__ for t in types if not callable(getattr(cls, "visit_" + t.__name__, None))]
        if missing:
            raise TypeError(f"{cls.__name__} has no rule for {', '.join(missing)} (define visit_{missing[0]} ...)")
        cls._rules = {t: getattr(cls, "visit_" + t.__name__) for t in types}

    def visit(self, node: Any, *args: Any) -> Any:
        """The rule for `node`'s type applied to `node` (and `args`)."""
        rule = self._rules.get(type(node))
        if rule is None:
            return self.unknown(node, *args)
        return rule(self, node, *args)

    def rule(self, node: Any) -> Callable[..., Any]:
        """The bound rule for `node`'s type (for callers that wrap the call)."""
        rule = self._rules.get(type(node))
        if rule is None:
            return lambda *args: self.unknown(node, *args)
        return rule.__get__(self)

    def unknown(self, node: Any, *args: Any) -> Any:
        raise InternalError(f"{type(self).__name__}: no rule for {type(node).__name__}")


class ExprVisitor(Visitor, abstract=True):
    """Must define `visit_<T>` for every expression type of `ir.Expr`."""

    handles = EXPR_TYPES


class StmtVisitor(Visitor, abstract=True):
    """Must define `visit_<T>` for every statement type of `ir.Stmt`."""

    handles = STMT_TYPES


class TargetVisitor(Visitor, abstract=True):
    """Must define `visit_<T>` for every assignment target type of `ir.Target`."""

    handles = TARGET_TYPES


__all__ = [
    "EXPR_TYPES",
    "STMT_TYPES",
    "TARGET_TYPES",
    "NODE_TYPES",
    "children",
    "walk",
    "Visitor",
    "ExprVisitor",
    "StmtVisitor",
    "TargetVisitor",
]
