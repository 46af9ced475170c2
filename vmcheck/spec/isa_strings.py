"""Strings, numbers and semantics text as the `.isa` syntax writes them.

`unescape` and `long_string_value` give a string's text (the printer uses
them to check that what it writes reads back); `code_text` cuts semantics
captured between braces the way a YAML block scalar would, with the
`Origin` that maps it back to the file.
"""

from __future__ import annotations

import os
import re

from ..errors import Diagnostic, Span, SpecError
from .limits import number_problem
from .semantics_parser import Origin

_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0", "\n": ""}


def unescape(body: str, file: str, line: int, col: int) -> str:
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
