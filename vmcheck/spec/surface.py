"""The surface AST: semantics text as written, before names and widths are checked.

One frozen dataclass per construct, each with the span of its text in the
spec file. `elaborate.py` turns these into `ir` nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


# ---- expressions ----------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: int
    span: Span | None = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span | None = _span()


@dataclass(frozen=True)
class Name:
    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class FieldAccess:
    base: SExpr
    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Index:
    """`base[index]`: a register of a file, or one bit of a value."""

    base: SExpr
    index: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class SliceOf:
    base: SExpr
    hi: SExpr
    lo: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class MemAccess:
    space: str  # "mem" or "phys"
    nbits: int | None  # None: one storage unit
    addr: SExpr
    priv: str | SExpr | None = None  # `as NAME` (a level or a value) or `as (EXPR)`
    span: Span | None = _span()
    nbits_name: str | None = None  # `mem{W}[...]`: the width parameter W of a width-generic helper


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "~", "!"
    value: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class Binary:
    op: str  # the operator as written: "+", "==", "&&", ...
    left: SExpr
    right: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class Ternary:
    cond: SExpr
    then: SExpr
    orelse: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[SExpr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class MatchExpr:
    subject: SExpr
    arms: tuple[tuple[tuple[SExpr, ...], SExpr], ...]  # (patterns, value); () = default
    span: Span | None = _span()


@dataclass(frozen=True)
class Probe:
    """`probe(KIND, mem[a] as P)`: would that access raise a memory trap? (KIND: read, write)"""

    kind: str
    access: MemAccess
    kind_span: Span | None = None
    span: Span | None = _span()


SExpr = (
    Num
    | BoolLit
    | Name
    | FieldAccess
    | Index
    | SliceOf
    | MemAccess
    | Unary
    | Binary
    | Ternary
    | Call
    | MatchExpr
    | Probe
)


# ---- statements -----------------------------------------------------------


@dataclass(frozen=True)
class LetStmt:
    name: str
    value: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class AssignStmt:
    target: SExpr  # Name, FieldAccess, Index, SliceOf or MemAccess
    value: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class IfStmt:
    cond: SExpr
    then: tuple[SStmt, ...]
    orelse: tuple[SStmt, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class TrapStmt:
    cause: str
    arg: SExpr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class RequireStmt:
    cond: SExpr
    cause: str
    arg: SExpr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class HaltStmt:
    span: Span | None = _span()


@dataclass(frozen=True)
class CallStmt:
    func: str
    args: tuple[SExpr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class MatchStmt:
    subject: SExpr
    arms: tuple[tuple[tuple[SExpr, ...], tuple[SStmt, ...]], ...]  # () patterns = default
    span: Span | None = _span()


SStmt = LetStmt | AssignStmt | IfStmt | TrapStmt | RequireStmt | HaltStmt | CallStmt | MatchStmt


# ---- helpers ------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    width: int | str  # str: "width" (a width parameter) or the name of one (families.py)
    span: Span | None = _span()


@dataclass(frozen=True)
class FnDef:
    """`fn name(p: w, ...) -> w { let ...; expr }`: an inlined pure function."""

    name: str
    params: tuple[Param, ...]
    width: int | str  # str: the name of a width parameter (families.py)
    lets: tuple[LetStmt, ...]
    result: SExpr
    span: Span | None = _span()


@dataclass(frozen=True)
class ProcDef:
    """`proc name(p: w, ...) { stmts }`: an inlined statement block."""

    name: str
    params: tuple[Param, ...]
    body: tuple[SStmt, ...]
    span: Span | None = _span()


Helper = FnDef | ProcDef
