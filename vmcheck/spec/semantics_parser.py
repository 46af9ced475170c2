"""Parse semantics text (Lark) into the surface AST, with spans in the spec file.

Semantics text usually sits inside a YAML block scalar, so its own line 1
column 1 is somewhere else in the file: an `Origin` maps one to the other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ..errors import Diagnostic, Span, SpecError
from . import surface as s
from .limits import MAX_NESTING, MAX_SEMANTICS_NODES, number_problem

GRAMMAR = Path(__file__).with_name("semantics.lark")


@dataclass(frozen=True)
class Origin:
    """Where a piece of embedded text starts in its file.

    Line k (1-based) of the text is file line `line + k - 1`; its columns are
    shifted by `first_col` on the first line and by `indent` on the others
    (a YAML block scalar strips a uniform indentation).
    """

    file: str
    line: int = 1
    first_col: int = 0
    indent: int = 0

    def at(self, line: int, col: int) -> tuple[int, int]:
        shift = self.first_col if line == 1 else self.indent
        return self.line + line - 1, col + shift

    def span(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> Span:
        fl, fc = self.at(line, col)
        if end_line is None or end_col is None:
            return Span(self.file, fl, fc)
        el, ec = self.at(end_line, end_col)
        return Span(self.file, fl, fc, el, ec)


@cache
def parser() -> Lark:
    return Lark(
        GRAMMAR.read_text(),
        start=["block", "expr", "helpers"],
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
    )


# Friendlier words for the terminals Lark reports as expected.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "EQUAL": "'='",
    "COMMA": "','",
    "COLON": "':'",
    "SEMICOLON": "';'",
    "MEMSPACE": "mem[...]/phys[...]",
    "CMP_OP": "a comparison",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "BANG": "'!'",
    "TILDE": "'~'",
    "SHIFT_OP": "a shift",
}


def _expected_words(expected: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(t, t.lower().strip("_") if t.isupper() else repr(t)) for t in expected})
    if len(words) > 8:
        return "a statement or an expression" if "a name" in words else ", ".join(words[:8]) + ", ..."
    return ", ".join(words)


def parse(text: str, origin: Origin, start: str = "block"):
    """Parse `text` as `start` ('block', 'expr' or 'helpers'); raise SpecError."""
    try:
        tree = parser().parse(text, start=start)
    except UnexpectedInput as e:
        raise SpecError(_syntax_diagnostic(e, text, origin)) from None
    _check_size(tree, origin)
    try:
        return _TreeToSurface(origin).transform(tree)
    except VisitError as e:  # Lark wraps what a builder method raises
        if isinstance(e.orig_exc, SpecError):
            raise e.orig_exc from None
        raise


def _check_size(tree: Tree, origin: Origin) -> None:
    """Bound the tree before the (recursive) transformer walks it: depth and
    node count, each with an error at the node that passed the limit."""
    count = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_NESTING or count > MAX_SEMANTICS_NODES:
            meta = node.meta
            span = origin.span(meta.line, meta.column) if not getattr(meta, "empty", True) else origin.span(1, 1)
            if depth > MAX_NESTING:
                raise SpecError(
                    Diagnostic(
                        span,
                        f"semantics nested more than {MAX_NESTING} levels deep: the limit is {MAX_NESTING} levels",
                        "split the expression with let, or the block into helpers",
                    )
                )
            raise SpecError(
                Diagnostic(
                    span,
                    f"semantics text of more than {MAX_SEMANTICS_NODES:,} syntax nodes: "
                    f"the limit is {MAX_SEMANTICS_NODES:,} nodes",
                )
            )
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))


def _syntax_diagnostic(e: UnexpectedInput, text: str, origin: Origin) -> Diagnostic:
    line, col = getattr(e, "line", None), getattr(e, "column", None)
    if isinstance(e, UnexpectedEOF) or line is None or line < 1:
        lines = text.rstrip("\n").split("\n") or [""]
        line, col = len(lines), len(lines[-1]) + 1
        what = "the text ended early"
    elif isinstance(e, UnexpectedToken):
        tok = e.token
        what = "unexpected end of text" if tok.type == "$END" else f"unexpected {tok.value!r}"
    elif isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        assert pos is not None, "Lark gives every unexpected character its position"
        what = f"unexpected character {text[pos]!r}"
    else:
        what = "syntax error"
    expected = getattr(e, "expected", None) or getattr(e, "allowed", None) or set()
    assert col is not None, "Lark gives a column with every line"
    msg = f"syntax error in semantics: {what}"
    if expected:
        msg += f"; expected {_expected_words(set(expected))}"
    return Diagnostic(origin.span(line, col), msg)


def _number(tok: str) -> int:
    """The value of a numeral; ValueError (with the reason) when it is bad or too big."""
    why = number_problem(tok)
    if why:
        raise ValueError(why)
    value = int(tok.replace("_", ""), 0)
    why = number_problem(tok, value)
    if why:
        raise ValueError(why)
    return value


@v_args(meta=True)
class _TreeToSurface(Transformer):
    """Lark tree -> surface AST. Method names follow the grammar's rules."""

    def __init__(self, origin: Origin):
        super().__init__()
        self.origin = origin

    def _sp(self, meta) -> Span | None:
        if getattr(meta, "empty", True):
            return None
        return self.origin.span(meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        # The parser's tokens always carry their positions (Lark types them optional).
        return self.origin.span(cast(int, tok.line), cast(int, tok.column), tok.end_line, tok.end_column)

    # statements
    def block(self, meta, items):
        return tuple(i for i in items if i is not None and not isinstance(i, Token))

    def body(self, meta, items):
        return self.block(meta, items)

    def let_stmt(self, meta, items):
        return s.LetStmt(str(items[0]), items[1], self._sp(meta))

    def assign_stmt(self, meta, items):
        return s.AssignStmt(items[0], items[1], self._sp(meta))

    def if_stmt(self, meta, items):
        cond, then, orelse = items
        if orelse is None:
            orelse = ()
        elif isinstance(orelse, s.IfStmt):
            orelse = (orelse,)
        return s.IfStmt(cond, then, orelse, self._sp(meta))

    def trap_stmt(self, meta, items):
        return s.TrapStmt(str(items[0]), items[1], self._sp(meta))

    def require_stmt(self, meta, items):
        return s.RequireStmt(items[0], str(items[1]), items[2], self._sp(meta))

    def halt_stmt(self, meta, items):
        return s.HaltStmt(self._sp(meta))

    def call_stmt(self, meta, items):
        return s.CallStmt(str(items[0]), tuple(a for a in items[1:] if a is not None), self._sp(meta))

    def match_stmt(self, meta, items):
        return s.MatchStmt(items[0], tuple(items[1:]), self._sp(meta))

    def stmt_arm(self, meta, items):
        pats, action = items[0], items[1]
        if not isinstance(action, tuple):
            action = (action,)
        return (pats, action)

    def patterns(self, meta, items):
        return tuple(items)

    def default_pattern(self, meta, items):
        return ()

    # expressions
    def number(self, meta, items):
        return s.Num(self._num(items[0]), self._sp(meta))

    def _num(self, tok: Token) -> int:
        try:
            return _number(tok)
        except ValueError:
            why = number_problem(str(tok))
            if why:
                raise SpecError(Diagnostic(self._tok_span(tok), why)) from None
            try:
                value = int(str(tok).replace("_", ""), 0)
            except ValueError:
                value = None
            why = number_problem(str(tok), value) if value is not None else None
            if why:
                raise SpecError(Diagnostic(self._tok_span(tok), why)) from None
            raise SpecError(
                Diagnostic(
                    self._tok_span(tok), f"bad number '{tok}'", "numbers: 42, 0x2a, 0b101010 (with _ between digits)"
                )
            ) from None

    def true(self, meta, items):
        return s.BoolLit(True, self._sp(meta))

    def false(self, meta, items):
        return s.BoolLit(False, self._sp(meta))

    def name(self, meta, items):
        return s.Name(str(items[0]), self._sp(meta))

    def field(self, meta, items):
        return s.FieldAccess(items[0], str(items[1]), self._sp(meta))

    def index(self, meta, items):
        return s.Index(items[0], items[1], self._sp(meta))

    def slice(self, meta, items):
        return s.SliceOf(items[0], items[1], items[2], self._sp(meta))

    def mem(self, meta, items):
        space_tok, addr, *rest = items  # `as ...` is optional (no placeholder: it is a choice)
        priv = rest[0] if rest else None
        word = str(space_tok)
        space = "mem" if word.startswith("mem") else "phys"
        digits = word[len(space) :]
        if isinstance(priv, Token):  # `as NAME`: a level, or a value (resolved by the elaborator)
            priv = str(priv)
        return s.MemAccess(space, int(digits) if digits else None, addr, priv, self._sp(meta))

    def mem_generic(self, meta, items):
        """`mem{W}[a]`: an access whose width is helper parameter W (families.py)."""
        space_tok, wname, addr, *rest = items
        if str(space_tok) not in ("mem", "phys"):
            raise SpecError(
                Diagnostic(
                    self._sp(meta),
                    f"'{space_tok}{{{wname}}}' gives the width twice",
                    f"write {str(space_tok).rstrip('0123456789')}{{{wname}}}[...]",
                )
            )
        m = self.mem(meta, [space_tok, addr, *rest])
        return dataclasses.replace(m, nbits_name=str(wname))

    def probe(self, meta, items):
        kind_tok, space_tok, addr, *rest = items
        return self._probe(meta, kind_tok, space_tok, self.mem(meta, [space_tok, addr, *rest]))

    def probe_generic(self, meta, items):
        kind_tok, space_tok, wname, addr, *rest = items
        return self._probe(meta, kind_tok, space_tok, self.mem_generic(meta, [space_tok, wname, addr, *rest]))

    def _probe(self, meta, kind_tok, space_tok, access):
        # The access's own span starts at its `mem[`, not at `probe(`.
        start = self._tok_span(space_tok)
        whole = self._sp(meta)
        if whole is not None:
            start = Span(start.file, start.line, start.col, whole.end_line, whole.end_col)
        access = dataclasses.replace(access, span=start)
        return s.Probe(str(kind_tok), access, self._tok_span(kind_tok), whole)

    def call(self, meta, items):
        return s.Call(str(items[0]), tuple(a for a in items[1:] if a is not None), self._sp(meta))

    def ternary(self, meta, items):
        return s.Ternary(items[0], items[1], items[2], self._sp(meta))

    def _bin(self, meta, op, left, right):
        return s.Binary(op, left, right, self._sp(meta))

    def lor(self, meta, items):
        return self._bin(meta, "||", items[0], items[1])

    def land(self, meta, items):
        return self._bin(meta, "&&", items[0], items[1])

    def bor(self, meta, items):
        return self._bin(meta, "|", items[0], items[1])

    def bxor(self, meta, items):
        return self._bin(meta, "^", items[0], items[1])

    def band(self, meta, items):
        return self._bin(meta, "&", items[0], items[1])

    def compare(self, meta, items):
        return self._bin(meta, str(items[1]), items[0], items[2])

    def shift(self, meta, items):
        return self._bin(meta, str(items[1]), items[0], items[2])

    def add(self, meta, items):
        return self._bin(meta, "+", *items)

    def sub(self, meta, items):
        return self._bin(meta, "-", *items)

    def mul(self, meta, items):
        return self._bin(meta, "*", *items)

    def div(self, meta, items):
        return self._bin(meta, "/", *items)

    def rem(self, meta, items):
        return self._bin(meta, "%", *items)

    def neg(self, meta, items):
        return s.Unary("-", items[0], self._sp(meta))

    def inv(self, meta, items):
        return s.Unary("~", items[0], self._sp(meta))

    def lnot(self, meta, items):
        return s.Unary("!", items[0], self._sp(meta))

    def match_expr(self, meta, items):
        return s.MatchExpr(items[0], tuple(items[1:]), self._sp(meta))

    def expr_arm(self, meta, items):
        return (items[0], items[1])

    # helpers
    def helpers(self, meta, items):
        return tuple(items)

    def params(self, meta, items):
        return tuple(p for p in items if p is not None)

    def param(self, meta, items):
        return s.Param(str(items[0]), self._width(items[1]), self._sp(meta))

    def _width(self, tok):
        """A width as written: a number, or the name of a width parameter."""
        return str(tok) if tok.type == "NAME" else self._num(tok)

    def fn_def(self, meta, items):
        name, params, width, *rest = items
        for x in rest[:-1]:
            if isinstance(x, (s.TrapStmt, s.RequireStmt)):
                word = "trap" if isinstance(x, s.TrapStmt) else "require"
                raise SpecError(
                    Diagnostic(
                        x.span,
                        f"fn '{name}' cannot {word}: a fn gives a value inside an expression",
                        f"write a proc that does the '{word}' and call it as a statement before using the value",
                    )
                )
        lets = tuple(x for x in rest[:-1] if isinstance(x, s.LetStmt))
        return s.FnDef(str(name), params, self._width(width), lets, rest[-1], self._sp(meta))

    def proc_def(self, meta, items):
        return s.ProcDef(str(items[0]), items[1], items[2], self._sp(meta))

    def __default__(self, data, children, meta):  # pragma: no cover - grammar and builder out of step
        raise AssertionError(f"no builder for grammar rule {data!r}")


def parse_block(text: str, origin: Origin) -> tuple[s.SStmt, ...]:
    return parse(text, origin, "block")


def parse_expr(text: str, origin: Origin) -> s.SExpr:
    return parse(text, origin, "expr")


def parse_helpers(text: str, origin: Origin) -> tuple[s.Helper, ...]:
    return parse(text, origin, "helpers")


__all__ = ["Origin", "parse_block", "parse_expr", "parse_helpers", "parser", "Tree"]
