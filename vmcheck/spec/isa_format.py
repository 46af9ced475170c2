"""The `.isa` front-end: compact spec text -> the same node tree as the YAML reader.

The grammar (`isa.lark`) covers the whole file; semantics text (instruction
bodies, `deliver`, `helpers`, and the `host`/`where`/`invariant`
conditions) is captured raw and handed on as a string scalar with an
`Origin`, exactly as the YAML reader does with a block scalar, so the
semantics parser later reports its errors at the right line and column of
the `.isa` file. `build.py` then checks the tree: this module only knows the
syntax, never what a spec may mean.

`EXAMPLE` below is a complete small spec in this syntax (the tests load it);
`tests/data/features.isa` uses every construct.
"""

from __future__ import annotations

import difflib
import os
import re
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

from ..errors import Diagnostic, Span, SpecError
from .limits import MAX_NESTING, number_problem
from .nodes import Node
from .parse import Origin

GRAMMAR = Path(__file__).with_name("isa.lark")

EXAMPLE = """\
# Popek & Goldberg's machine, cut down (isa_specs/pg-toy has all of it)
isa pg-mini
description "relocation-bounds addressing and a supervisor/user mode bit"
word 32
modes supervisor, user               # most privileged first: codes 0, 1
state {
  pc:   32 role pc "P, relative to the relocation register"
  m:    1 role mode
  rl:   32 role control
  rb:   32 role control
  r[8]: 32 "general registers"
}
reset pc = 16, rb = 4096
storage size 4096 unit 32 translation relocation rl bound rb
traps {
  cause PRIV = 1
  cause MEM = 2 memory "address outside the bound"
  memory_cause MEM
  deliver {
    phys[0] = pc
    m = phys[8][0]
    pc = phys[9]
  }
}
host m == supervisor
guest classic: supervisor -> user, user -> user where true
instruction li(rd: reg, imm: simm16) "load an immediate" { r[rd] = sext(imm, 32) }
instruction ld(rd: reg, off: simm16, rs: reg) syntax "ld {rd}, {off}({rs})" {
  r[rd] = mem[r[rs] + sext(off, 32)]
}
instruction halt labels privileged {
  require m == supervisor else PRIV
  halt
}
"""

# The declarations a file is made of, as the parser names their keywords.
DECLARATIONS = (
    "isa",
    "description",
    "references",
    "word",
    "insn_width",
    "modes",
    "mode",
    "state",
    "reset",
    "storage",
    "traps",
    "constants",
    "helpers",
    "host",
    "guest",
    "invariant",
    "instruction",
)
# Attribute keywords of a state element and of a field: a name equal to one of
# these must be written `like_this` where it could start an element or a field.
ELEMENT_ATTRIBUTES = ("role", "readonly", "zero", "names")


class _IsaLexer(Lexer):
    """Tokens for the LALR parser, chosen by what the parser can take next.

    At each position the candidate tokens (a keyword, punctuation, a name, a
    number, a string, semantics text...) are tried in order, and the first one
    the parse table accepts wins. The test follows the table's reductions to
    the shift, so it is exact, unlike Lark's contextual lexer, whose states
    merge lookaheads from every context (after `pc: 32`, `mode` would read as
    the `mode` declaration). So a word is a keyword only where the grammar can
    take that keyword: elements may be named `state` or `mode`, and semantics
    may say `mode = mpp`. Only where a keyword and a name both fit (an element
    named `role` after another element) must the name be written `role`.
    """

    __future_interface__ = 2

    def __init__(self, conf):
        self.ignore = [re.compile(t.pattern.to_regexp()) for t in conf.terminals if t.name in conf.ignore]
        strs = [t for t in conf.terminals if t.pattern.type == "str"]
        self.keywords = {t.pattern.value: t.name for t in strs if re.fullmatch(r"[A-Za-z_]\w*", t.pattern.value)}
        self.puncts = sorted(
            ((t.pattern.value, t.name) for t in strs if t.pattern.value not in self.keywords), key=lambda p: -len(p[0])
        )
        by_name = {t.name: t for t in conf.terminals}
        order = ("LONG_STRING", "STRING", "QNAME", "NAME", "NUMBER", "ISA_NAME", "CODE_TEXT", "LINE_CODE")
        self.regexps = [(n, re.compile(by_name[n].pattern.to_regexp())) for n in order]

    @staticmethod
    def accepts(parser_state, term: str) -> bool:
        states = parser_state.parse_conf.states
        stack = list(parser_state.state_stack)
        while True:
            action = states[stack[-1]].get(term)
            if action is None:
                return False
            kind, arg = action
            if kind is Shift:
                return True
            if arg.expansion:
                del stack[-len(arg.expansion) :]
            stack.append(states[stack[-1]][arg.origin.name][1])

    _WORD = re.compile(r"[A-Za-z_]\w*")

    def candidates(self, text: str, pos: int):
        """(terminal, lazy match) pairs in priority order; a match runs only when asked."""
        if text.startswith('"""', pos):
            yield "LONG_STRING", lambda: _group(self.regexps[0][1].match(text, pos))
        m = self._WORD.match(text, pos)
        if m and m.group(0) in self.keywords:
            yield self.keywords[m.group(0)], lambda: m.group(0)
        for value, name in self.puncts:
            if text.startswith(value, pos):
                yield name, (lambda v=value: v)
        for name, rx in self.regexps[1:]:
            yield name, (lambda rx=rx: _group(rx.match(text, pos)))

    def lex(self, lexer_state, parser_state):
        text_slice = lexer_state.text
        text = getattr(text_slice, "text", text_slice)
        end = getattr(text_slice, "end", len(text))
        ctr = lexer_state.line_ctr
        while ctr.char_pos < end:
            pos = ctr.char_pos
            skipped = False
            for rx in self.ignore:
                m = rx.match(text, pos)
                if m and m.group(0):
                    ctr.feed(m.group(0))
                    skipped = True
                    break
            if skipped:
                continue
            # The first candidate the parser takes. The parse table is asked before
            # a pattern runs: patterns such as LINE_CODE match to the end of the
            # line, and trying them at every token made long lines quadratic.
            kind = value = None
            for name, match in self.candidates(text, pos):
                if self.accepts(parser_state, name):
                    value = match()
                    if value:
                        kind = name
                        break
            if kind is None:
                # None fits: take the first that matches at all, so the parser reports
                # the error with what it expected.
                found = [(n, v) for n, v in ((n, mt()) for n, mt in self.candidates(text, pos)) if v]
                if not found:
                    terms = [*self.keywords.values(), *(n for _, n in self.puncts), *(n for n, _ in self.regexps)]
                    allowed = {t for t in terms if self.accepts(parser_state, t)}
                    raise UnexpectedCharacters(text, pos, ctr.line, ctr.column, allowed=allowed, state=parser_state)
                kind, value = found[0]
            line, col = ctr.line, ctr.column
            ctr.feed(value)
            tok = Token(kind, value, pos, line, col, ctr.line, ctr.column, ctr.char_pos)
            lexer_state.last_token = tok
            yield tok


def _group(m) -> str | None:
    return m.group(0) if m else None


@cache
def parser() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", lexer=_IsaLexer, propagate_positions=True, maybe_placeholders=True)


@cache
def keywords() -> frozenset[str]:
    """Every keyword of the `.isa` grammar (names equal to one are written `name`)."""
    out = set()
    for t in parser().terminals:
        p = t.pattern
        if p.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", p.value):
            out.add(p.value)
    return frozenset(out)


def read_isa(text: str, file: str) -> Node:
    """Parse `.isa` text into a Node tree; syntax errors become SpecError at their line."""
    if not text.strip() or _only_comments(text):
        raise SpecError(Diagnostic(Span(file, 1, 1), "the spec file is empty"))
    try:
        tree = parser().parse(text)
    except UnexpectedInput as e:
        raise SpecError(_syntax_diagnostic(e, text, file)) from None
    _check_depth(tree, file)
    try:
        return _Build(file, text).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, SpecError):
            raise e.orig_exc from None
        raise


def _check_depth(tree: Tree, file: str) -> None:
    """Braces nested past MAX_NESTING are an error here, before the (recursive)
    transformer walks the tree."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            m = node.meta
            span = Span(file, m.line, m.column) if not getattr(m, "empty", True) else Span(file, 1, 1)
            raise SpecError(
                Diagnostic(span, f"nested more than {MAX_NESTING} levels deep: the limit is {MAX_NESTING} levels")
            )
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))


def _only_comments(text: str) -> bool:
    return all(not ln.strip() or ln.lstrip().startswith(("#", "//")) for ln in text.splitlines())


# ---- syntax errors -----------------------------------------------------------------

_TERMINAL_WORDS = {
    "NAME": "a name",
    "QNAME": "a name",
    "ISA_NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "LONG_STRING": "a string",
    "LINE_CODE": "a condition",
    "CODE_TEXT": "semantics",
    "$END": "the end of the file",
}


def _terminal_word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        p = parser().get_terminal(name).pattern
    except KeyError:  # pragma: no cover - Lark names every terminal it expects
        return name.lower()
    return f"'{p.value}'" if p.type == "str" else name.lower()


def _expected_words(expected: set[str]) -> str:
    words = {_terminal_word(t) for t in expected}
    decls = {f"'{d}'" for d in DECLARATIONS}
    out = []
    if decls <= words:
        words -= decls
        words.discard("the end of the file")
        out.append("a declaration (isa, word, modes, state, storage, traps, host, guest, instruction, ...)")
    if "semantics" in words:
        words -= {"semantics", "'{'"}
    out.extend(sorted(words, key=lambda w: (not w.startswith("'"), w)))
    return ", ".join(out) if len(out) <= 10 else ", ".join(out[:10]) + ", ..."


def _word_at(text: str, pos: int) -> str:
    m = re.compile(r'"""|"[^"\n]*"?|`\w*`?|\w+|\S').match(text, pos)
    return m.group(0) if m else text[pos : pos + 1]


def _syntax_diagnostic(e: UnexpectedInput, text: str, file: str) -> Diagnostic:
    expected = set(getattr(e, "expected", None) or getattr(e, "allowed", None) or ())
    stack: list = []
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        stack = list(ip.parser_state.value_stack)
        try:
            expected = set(ip.accepts())  # exact; LALR's lookahead sets merge contexts
        except Exception:  # pragma: no cover - keep Lark's own set
            pass
    at_end = isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END")

    if at_end:
        # An unclosed brace is the usual cause: point at it, not at the end.
        opened = [t for t in stack if isinstance(t, Token) and t.type == "LBRACE"]
        if opened and "RBRACE" in expected:
            b = opened[-1]
            return Diagnostic(
                _tok_span(file, b), "syntax error: unexpected end of file; expected '}' to close this '{'"
            )
        lines = text.split("\n")
        span = Span(file, len(lines), len(lines[-1]) + 1)
        return Diagnostic(span, f"syntax error: unexpected end of file; expected {_expected_words(expected)}")

    line, col, pos = e.line, e.column, e.pos_in_stream
    word = _word_at(text, pos)
    if word.startswith('"') and text[max(0, pos - 2) : pos] == '""':  # `"""` read as `""` then `"`
        return Diagnostic(Span(file, line, col - 2), 'syntax error: unterminated string; expected a closing \'"""\'')
    if word.startswith('"') and (len(word) == 1 or not word.endswith('"')):
        return Diagnostic(
            Span(file, line, col),
            "syntax error: unterminated string; expected a closing '\"' on the same line",
            'a string that spans lines is written """like this"""',
        )

    prev = stack[-1] if stack else None
    if isinstance(prev, Tree) and prev.data == "name" and prev.children:
        prev = prev.children[0]
    if isinstance(prev, Token):
        # `pc: 32 rol pc`: a misspelt attribute reads as the next element's name,
        # and the error surfaces one token later. Point at the misspelling.
        if prev.type == "NAME" and expected <= {"COLON", "LSQB"}:
            close = difflib.get_close_matches(str(prev), ELEMENT_ATTRIBUTES, n=1)
            if close:
                return Diagnostic(
                    _tok_span(file, prev),
                    f"syntax error: unexpected '{prev}'; expected an attribute "
                    f"({', '.join(ELEMENT_ATTRIBUTES)}), a description, or the next element",
                    f"did you mean '{close[0]}'?",
                )
        # `role: 2` after an element: the attribute keyword, not a name.
        if str(prev) in ELEMENT_ATTRIBUTES and prev.type != "NAME" and word == ":":
            return Diagnostic(
                _tok_span(file, prev),
                f"syntax error: unexpected ':' after the keyword '{prev}'; expected a name",
                f"to name an element or a field '{prev}', write `{prev}`",
            )

    hint = None
    kw = [w.strip("'") for w in (_terminal_word(t) for t in expected) if w.startswith("'")]
    close = difflib.get_close_matches(word, [k for k in kw if k.isidentifier()], n=1, cutoff=0.7)
    if close:
        hint = f"did you mean '{close[0]}'?"
    if re.fullmatch(r"[A-Za-z_]\w*", word) and word in keywords() and expected & {"NAME", "QNAME"}:
        hint = f"'{word}' is a keyword here; write the name as `{word}`"
    what = f"'{word}'"
    if isinstance(e, UnexpectedCharacters) and not re.fullmatch(r"\w+", word):
        what = f"character '{word}'"
    return Diagnostic(
        Span(file, line, col, line, col + len(word)),
        f"syntax error: unexpected {what}; expected {_expected_words(expected)}",
        hint,
    )


def _tok_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line, tok.end_column)


# ---- strings and numbers --------------------------------------------------------------

_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0", "\n": ""}


def _unescape(body: str, file: str, line: int, col: int) -> str:
    """Resolve backslash escapes: \\\\ \\" \\n \\t \\r \\0 \\xHH \\uHHHH \\UHHHHHHHH, and a
    backslash at the end of a line, which joins it to the next."""
    out, i = [], 0
    while True:
        j = body.find("\\", i)
        if j < 0:
            out.append(body[i:])
            return "".join(out)
        out.append(body[i:j])
        c = body[j + 1 : j + 2]
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            i = j + 2
            continue
        n = {"x": 2, "u": 4, "U": 8}.get(c)
        digits = body[j + 2 : j + 2 + n] if n else ""
        if n and re.fullmatch(r"[0-9A-Fa-f]+", digits) and len(digits) == n and int(digits, 16) <= 0x10FFFF:
            out.append(chr(int(digits, 16)))
            i = j + 2 + n
            continue
        before = body[:j]
        ln = line + before.count("\n")
        cl = (len(before) - before.rfind("\n")) if "\n" in before else col + len(before)
        raise SpecError(
            Diagnostic(
                Span(file, ln, cl),
                f"syntax error: unknown escape '\\{c}' in a string",
                'escapes: \\\\ \\" \\n \\t \\r \\0 \\xHH \\uHHHH, and \\ at the end of a line',
            )
        )


def long_string_value(raw: str) -> str:
    """The text of a `\"\"\"...\"\"\"` string, without its delimiters (before escapes).

    After the opening quotes, a line break starts the text; the common indentation
    of its lines (and of the line holding the closing quotes) is removed; the text
    ends with a line break when the closing quotes sit on a line of their own.
    """
    if not raw.startswith("\n") and not raw.startswith("\r\n"):
        return raw
    lines = raw.split("\n")[1:]
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    significant = [ln for ln in lines[:-1] if ln.strip()] + [lines[-1]]
    indent = os.path.commonprefix([ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in significant])
    out = [ln[len(indent) :] if ln.startswith(indent) else ln.lstrip(" \t") for ln in lines]
    if not lines[-1].strip():
        out[-1] = ""
    return "\n".join(out)


def parse_number(text: str) -> int | None:
    t = text.replace("_", "")
    if number_problem(t):
        return None
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", t):
            return int(t, 16)
        if re.fullmatch(r"0[bB][01]+", t):
            return int(t, 2)
        if re.fullmatch(r"[0-9]+", t):
            return int(t, 10)
    except ValueError:  # pragma: no cover
        pass
    return None


def code_text(raw: str, file: str, line: int, col: int) -> tuple[str, Origin]:
    """Semantics text captured between braces, re-cut as a YAML block scalar would be.

    `line`/`col` (1-based) is where `raw` starts. A body that starts on the brace's
    line keeps that line; otherwise it starts on the next line. The lines after the
    first lose their common indentation; a body of several lines whose closing brace
    sits on a line of its own ends with a line break. The Origin maps the text back
    to the file.
    """
    lines = raw.split("\n")
    first, rest = lines[0], lines[1:]
    final_newline = bool(rest) and not rest[-1].strip()
    if final_newline:
        rest = rest[:-1]
    if not first.strip() and not any(ln.strip() for ln in rest):
        return "", Origin(file, line, col - 1, col - 1)
    head: list[str] = []
    if first.strip():
        lead = len(first) - len(first.lstrip(" \t"))
        head, first_col, start_line = [first[lead:]], col - 1 + lead, line
    else:
        first_col, start_line = None, line + 1
    if not final_newline:
        if rest:
            rest[-1] = rest[-1].rstrip(" \t")
        else:
            head[0] = head[0].rstrip(" \t")
    indent = os.path.commonprefix([ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in rest if ln.strip()])
    tail = [ln[len(indent) :] if ln.strip() else "" for ln in rest]
    if first_col is None:
        first_col = len(indent)
    text_lines = head + tail
    # One line needs no line break (YAML would write it plain); several end with one, like `|`.
    text = "\n".join(text_lines) + ("\n" if final_newline and len(text_lines) > 1 else "")
    return text, Origin(file, start_line, first_col, len(indent))


# ---- the tree -> Node transformer -------------------------------------------------------


class _Named:
    """A name as written: its text and span."""

    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span):
        self.text, self.span = text, span


class _Entry:
    """One `key value` of a mapping being built: `value` a Node, `kspan` where the key is."""

    __slots__ = ("key", "value", "kspan")

    def __init__(self, key: str, value: Node, kspan: Span):
        self.key, self.value, self.kspan = key, value, kspan


@v_args(meta=True)
class _Build(Transformer):
    """Lark tree -> Node tree. Method names follow the grammar's rules."""

    def __init__(self, file: str, text: str):
        super().__init__()
        self.file = file
        self.text = text

    # ---- helpers ----

    def _span(self, meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, tok: Token) -> Span:
        return _tok_span(self.file, tok)

    def _kw(self, meta, word: str) -> Span:
        """The span of the keyword a rule starts with."""
        return Span(self.file, meta.line, meta.column, meta.line, meta.column + len(word))

    def _mapping(self, entries, span: Span, what: str) -> Node:
        out: dict[str, Node] = {}
        keys: dict[str, Span] = {}
        for en in entries:
            if en.key in out:
                first = keys[en.key].line
                raise SpecError(Diagnostic(en.kspan, f"duplicate {what.format(key=en.key)} (first at line {first})"))
            out[en.key] = en.value
            keys[en.key] = en.kspan
        return Node(out, span, key_spans=keys)

    def _text(self, n: _Named) -> Node:
        return Node(n.text, n.span)

    # ---- tokens ----

    def name(self, meta, items):
        tok = items[0]
        text = str(tok)[1:-1] if tok.type == "QNAME" else str(tok)
        return _Named(text, self._tspan(tok))

    def number(self, meta, items):
        tok = items[0]
        v = parse_number(str(tok))
        if v is not None and (why := number_problem(str(tok), v)):
            raise SpecError(Diagnostic(self._tspan(tok), why))
        if v is None and (why := number_problem(str(tok))):
            raise SpecError(Diagnostic(self._tspan(tok), why))
        if v is None:
            raise SpecError(
                Diagnostic(
                    self._tspan(tok),
                    f"syntax error: bad number '{tok}'; expected a decimal, 0x hexadecimal or 0b binary number",
                )
            )
        return Node(v, self._tspan(tok))

    def string(self, meta, items):
        tok = items[0]
        if tok.type == "LONG_STRING":
            raw = long_string_value(str(tok)[3:-3])
            value = _unescape(raw, self.file, tok.line, tok.column + 3)
        else:
            value = _unescape(str(tok)[1:-1], self.file, tok.line, tok.column + 1)
        return Node(value, self._tspan(tok))

    def code_block(self, meta, items):
        lbrace = meta.start_pos + 1
        raw = self.text[lbrace : meta.end_pos - 1]
        text, origin = code_text(raw, self.file, meta.line, meta.column + 1)
        return Node(text, self._span(meta), origin)

    def _code(self, item, keyword_line: int, keyword: str) -> Node:
        if isinstance(item, Node):
            return item
        tok: Token = item  # LINE_CODE
        if tok.line != keyword_line:
            raise SpecError(
                Diagnostic(
                    self._tspan(tok),
                    f"syntax error: the condition after '{keyword}' must start on the same line (line {keyword_line})",
                    "or write it in braces: { ... }",
                )
            )
        text = str(tok).rstrip()
        span = Span(self.file, tok.line, tok.column, tok.line, tok.column + len(text))
        return Node(text, span, Origin(self.file, tok.line, tok.column - 1, tok.column - 1))

    # ---- the file ----

    def start(self, meta, items):
        if not items:  # pragma: no cover - read_isa rejects an empty file first
            raise SpecError(Diagnostic(Span(self.file, 1, 1), "the spec file is empty"))
        top: list[_Entry] = []
        host = None
        guests: list[_Entry] = []
        invariants: list[tuple[Node, Span]] = []
        insns: list[_Entry] = []
        for kind, payload in items:
            if kind == "host":
                if host is not None:
                    raise SpecError(Diagnostic(payload.kspan, f"duplicate 'host' (first at line {host.kspan.line})"))
                host = payload
            elif kind == "guest":
                guests.append(payload)
            elif kind == "invariant":
                invariants.append(payload)
            elif kind == "instruction":
                insns.append(payload)
            else:
                top.append(payload)
        if host is not None or guests:
            first = min([e.kspan for e in ([host] if host else []) + guests], key=lambda s: (s.line, s.col))
            ctx: list[_Entry] = []
            if host is not None:
                ctx.append(host)
            if guests:
                gnode = self._mapping(guests, guests[0].kspan, "guest context '{key}'")
                ctx.append(_Entry("guest", gnode, guests[0].kspan))
            top.append(_Entry("contexts", self._mapping(ctx, first, "'{key}'"), first))
        if invariants:
            top.append(_Entry("invariants", Node([n for n, _ in invariants], invariants[0][1]), invariants[0][1]))
        if insns:
            inode = self._mapping(insns, insns[0].kspan, "instruction '{key}'")
            top.append(_Entry("instructions", inode, insns[0].kspan))
        root_span = Span(self.file, meta.line, meta.column)
        return self._mapping(_in_file_order(top), root_span, "'{key}'")

    # ---- simple declarations ----

    def _decl(self, meta, word: str, value: Node):
        return ("top", _Entry(word, value, self._kw(meta, word)))

    def isa_decl(self, meta, items):
        v = items[0]
        if isinstance(v, Token):
            v = Node(str(v), self._tspan(v))
        return self._decl(meta, "isa", v)

    def description_decl(self, meta, items):
        return self._decl(meta, "description", items[0])

    def references_decl(self, meta, items):
        return self._decl(meta, "references", Node(list(items), items[0].span))

    def word_decl(self, meta, items):
        return self._decl(meta, "word", items[0])

    def insn_width_decl(self, meta, items):
        return self._decl(meta, "insn_width", items[0])

    def modes_list(self, meta, items):
        return self._decl(meta, "modes", Node([self._text(n) for n in items], items[0].span))

    def modes_map(self, meta, items):
        return self._decl(meta, "modes", self._mapping(items, items[0].kspan, "level '{key}'"))

    def level(self, meta, items):
        n, v = items
        return _Entry(n.text, v, n.span)

    def assignment(self, meta, items):
        return self.level(meta, items)

    def mode_decl(self, meta, items):
        e, f = items
        text = e.text + (f".{f.text}" if f is not None else "")
        return self._decl(meta, "mode", Node(text, e.span))

    def reset_decl(self, meta, items):
        return self._decl(meta, "reset", self._mapping(items, items[0].kspan, "reset of '{key}'"))

    def constants_decl(self, meta, items):
        return self._decl(meta, "constants", self._mapping(items, items[0].kspan, "constant '{key}'"))

    def helpers_decl(self, meta, items):
        return self._decl(meta, "helpers", items[0])

    # ---- state ----

    def state_decl(self, meta, items):
        span = self._kw(meta, "state")
        node = self._mapping(items, span, "state element '{key}'")
        return self._decl(meta, "state", node)

    def element(self, meta, items):
        n, count, width, *attrs = items
        entries = [_Entry("width", width, width.span)]
        if count is not None:
            entries.append(_Entry("count", count, count.span))
        entries += attrs
        return _Entry(n.text, self._mapping(entries, n.span, f"'{{key}}' of state element '{n.text}'"), n.span)

    def role(self, meta, items):
        return _Entry("role", self._text(items[0]), self._kw(meta, "role"))

    def readonly(self, meta, items):
        span = self._kw(meta, "readonly")
        return _Entry("readonly", Node(True, span), span)

    def zero(self, meta, items):
        return _Entry("zero", items[0], self._kw(meta, "zero"))

    def names(self, meta, items):
        return _Entry("names", Node([self._text(n) for n in items], items[0].span), self._kw(meta, "names"))

    def description(self, meta, items):
        return _Entry("description", items[0], items[0].span)

    def fields(self, meta, items):
        span = self._span(meta)
        return _Entry("fields", self._mapping(items, span, "field '{key}'"), span)

    def field(self, meta, items):
        n, hi, lo, *attrs = items
        if lo is None:
            where = _Entry("bit", hi, hi.span)
        else:
            text = f"{hi.value}:{lo.value}"
            span = Span(self.file, hi.span.line, hi.span.col, lo.span.end_line, lo.span.end_col)
            where = _Entry("bits", Node(text, span), hi.span)
        if not attrs:
            return _Entry(n.text, where.value, n.span)
        node = self._mapping([where] + attrs, n.span, f"'{{key}}' of field '{n.text}'")
        return _Entry(n.text, node, n.span)

    # ---- storage and traps ----

    def storage_decl(self, meta, items):
        return self._decl(meta, "storage", self._mapping(items, self._kw(meta, "storage"), "storage '{key}'"))

    def _attr(self, meta, word: str, value: Node) -> _Entry:
        return _Entry(word, value, self._kw(meta, word))

    def size(self, meta, items):
        return self._attr(meta, "size", items[0])

    def unit(self, meta, items):
        return self._attr(meta, "unit", items[0])

    def endian(self, meta, items):
        return self._attr(meta, "endian", self._text(items[0]))

    def no_translation(self, meta, items):
        span = self._kw(meta, "translation")
        none = Span(self.file, meta.end_line, meta.end_column - 4, meta.end_line, meta.end_column)
        return _Entry("translation", Node("none", none), span)

    def translation(self, meta, items):
        rel, bound = items
        span = self._kw(meta, "translation")
        node = Node(
            {"relocation": self._text(rel), "bound": self._text(bound)},
            span,
            key_spans={"relocation": rel.span, "bound": bound.span},
        )
        return _Entry("translation", node, span)

    def traps_decl(self, meta, items):
        span = self._kw(meta, "traps")
        causes = [i[1] for i in items if isinstance(i, tuple)]
        rest = [i for i in items if not isinstance(i, tuple)]
        entries = []
        if causes:
            first = next(i[2] for i in items if isinstance(i, tuple))
            entries.append(_Entry("causes", self._mapping(causes, causes[0].kspan, "cause '{key}'"), first))
        entries += rest
        return self._decl(meta, "traps", self._mapping(entries, span, "'{key}' in traps"))

    def cause(self, meta, items):
        n, code, *attrs = items
        if attrs:
            value = self._mapping([_Entry("code", code, code.span)] + attrs, n.span, f"'{{key}}' of cause '{n.text}'")
        else:
            value = code
        return ("cause", _Entry(n.text, value, n.span), self._kw(meta, "cause"))

    def memory(self, meta, items):
        span = self._kw(meta, "memory")
        return _Entry("memory", Node(True, span), span)

    def memory_cause(self, meta, items):
        return self._attr(meta, "memory_cause", self._text(items[0]))

    def cause_width(self, meta, items):
        return self._attr(meta, "cause_width", items[0])

    def deliver(self, meta, items):
        return self._attr(meta, "deliver", items[0])

    # ---- contexts and invariants ----

    def host_decl(self, meta, items):
        return ("host", _Entry("host", self._code(items[0], meta.line, "host"), self._kw(meta, "host")))

    def guest_decl(self, meta, items):
        n = items[0]
        pairs = [i for i in items[1:-2]]
        desc, where = items[-2], items[-1]
        modes = self._mapping(pairs, pairs[0].kspan, "virtual level '{key}'")
        entries = []
        if desc is not None:
            entries.append(_Entry("description", desc, desc.span))
        if where is not None:
            entries.append(where)
        entries.append(_Entry("modes", modes, pairs[0].kspan))
        node = self._mapping(entries, n.span, f"'{{key}}' of guest context '{n.text}'")
        return ("guest", _Entry(n.text, node, n.span))

    def where(self, meta, items):
        return _Entry("where", self._code(items[0], meta.line, "where"), self._kw(meta, "where"))

    def mode_pair(self, meta, items):
        v, r = items
        return _Entry(v.text, self._text(r), v.span)

    def invariant_decl(self, meta, items):
        node = self._code(items[0], meta.line, "invariant")
        return ("invariant", (node, self._kw(meta, "invariant")))

    # ---- instructions ----

    def instruction_decl(self, meta, items):
        n, ops, *attrs, body = items
        entries = []
        if ops is not None:
            entries.append(ops)
        entries += attrs
        entries.append(_Entry("semantics", body, body.span))
        node = self._mapping(entries, n.span, f"'{{key}}' of instruction '{n.text}'")
        return ("instruction", _Entry(n.text, node, n.span))

    def operands(self, meta, items):
        ops = [o for o in items if o is not None]
        span = self._span(meta)
        return _Entry("operands", Node(ops, span), span)

    def operand(self, meta, items):
        n, kind, file, pcrel = items
        text = str(kind) + (f"({file.text})" if file is not None else "") + (f" {pcrel}" if pcrel is not None else "")
        end = pcrel if pcrel is not None else None
        kspan = Span(
            self.file,
            kind.line,
            kind.column,
            *((end.end_line, end.end_column) if end is not None else (meta.end_line, meta.end_column)),
        )
        return Node({n.text: Node(text, kspan)}, n.span, key_spans={n.text: n.span})

    def mnemonic(self, meta, items):
        v = items[0]
        return self._attr(meta, "mnemonic", self._text(v) if isinstance(v, _Named) else v)

    def syntax(self, meta, items):
        return self._attr(meta, "syntax", items[0])

    def encoding(self, meta, items):
        return self._attr(meta, "encoding", items[0])

    def labels(self, meta, items):
        return self._attr(meta, "labels", Node([self._text(n) for n in items], items[0].span))

    def __default__(self, data, children, meta):  # pragma: no cover - grammar and builder out of step
        raise AssertionError(f"no builder for grammar rule {data!r}")


def _in_file_order(entries: list[_Entry]) -> list[_Entry]:
    return sorted(entries, key=lambda e: (e.kspan.line, e.kspan.col))


__all__ = [
    "EXAMPLE",
    "DECLARATIONS",
    "read_isa",
    "keywords",
    "parser",
    "code_text",
    "long_string_value",
    "parse_number",
]
