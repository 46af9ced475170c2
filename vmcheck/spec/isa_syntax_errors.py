"""Syntax errors in a `.isa` file, as messages a person can act on.

Lark reports the token it could not take and the terminals it expected;
`syntax_diagnostic` turns that into "unexpected X; expected Y" in words,
points an unclosed brace or an unterminated string at where it starts, and
names the likely misspelling of a keyword or an element attribute.
"""

from __future__ import annotations

import difflib
import re
from typing import cast

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import Diagnostic, Span
from .isa_grammar import DECLARATIONS, ELEMENT_ATTRIBUTES, keywords, parser

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


def syntax_diagnostic(e: UnexpectedInput, text: str, file: str) -> Diagnostic:
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
            return Diagnostic(tok_span(file, b), "syntax error: unexpected end of file; expected '}' to close this '{'")
        lines = text.split("\n")
        span = Span(file, len(lines), len(lines[-1]) + 1)
        return Diagnostic(span, f"syntax error: unexpected end of file; expected {_expected_words(expected)}")

    line, col, pos = e.line, e.column, e.pos_in_stream
    assert pos is not None, "Lark gives an unexpected token or character its position"
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
                    tok_span(file, prev),
                    f"syntax error: unexpected '{prev}'; expected an attribute "
                    f"({', '.join(ELEMENT_ATTRIBUTES)}), a description, or the next element",
                    f"did you mean '{close[0]}'?",
                )
        # `role: 2` after an element: the attribute keyword, not a name.
        if str(prev) in ELEMENT_ATTRIBUTES and prev.type != "NAME" and word == ":":
            return Diagnostic(
                tok_span(file, prev),
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


def tok_span(file: str, tok: Token) -> Span:
    # The parser's tokens always carry their positions (Lark types them optional).
    return Span(file, cast(int, tok.line), cast(int, tok.column), tok.end_line, tok.end_column)
