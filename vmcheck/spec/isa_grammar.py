"""The `.isa` grammar (`isa.lark`) and its lexer: which word is which token.

`parser()` is the LALR parser of a whole `.isa` file; `IsaLexer` picks each
token by what the parser can take next (see its docstring), so a word is a
keyword only where the grammar can take that keyword. `keywords()`,
`DECLARATIONS` and `ELEMENT_ATTRIBUTES` name the grammar's words for the
error messages (`isa_syntax_errors.py`) and the printer.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

GRAMMAR = Path(__file__).with_name("isa.lark")

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
    "prefixes",
    "operand_kind",
    "format",
    "family",
)
# Attribute keywords of a state element and of a field: a name equal to one of
# these must be written `like_this` where it could start an element or a field.
ELEMENT_ATTRIBUTES = ("role", "readonly", "zero", "names")


class IsaLexer(Lexer):
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
    return Lark(GRAMMAR.read_text(), parser="lalr", lexer=IsaLexer, propagate_positions=True, maybe_placeholders=True)


@cache
def keywords() -> frozenset[str]:
    """Every keyword of the `.isa` grammar (names equal to one are written `name`)."""
    out = set()
    for t in parser().terminals:
        p = t.pattern
        if p.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", p.value):
            out.add(p.value)
    return frozenset(out)
