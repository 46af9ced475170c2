"""The limits vmcheck puts on its input, and reading input text within them.

Specs and programs come from users and CI pipelines; a reader that recurses,
allocates or backtracks without bound turns a typo (or a hostile file) into a
crash, a hang or an exhausted machine. Each limit is far above anything a
real ISA needs (the bundled specs use under a tenth of each) and each is
enforced with a FILE:LINE:COL error that names the limit (exit 2).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import Diagnostic, Span, SpecError

# A spec or program file, in bytes (the largest bundled spec is 64 KB).
MAX_FILE_BYTES = 4 << 20
# One line, in characters (the longest bundled line is ~520).
MAX_LINE_CHARS = 10_000
# Nesting as written: YAML collections inside each other, braces inside
# braces in a `.isa` file, levels of the semantics' syntax tree (an `if` in
# an `if` is two levels; `a + b + c` is two). Bounded so that no reader
# recurses past Python's stack.
MAX_NESTING = 100
# Nesting after helpers are inlined and `match`/`require` lowered to `if`:
# the compiled form of an instruction nests one Python block per `if` (Python
# allows 100) and about one parenthesis per operator (Python allows 200).
MAX_IF_NESTING = 80
MAX_EXPR_NESTING = 100
# Elaboration steps for a whole spec (helpers are inlined, so a chain of
# helpers each calling the last twice doubles per link). The largest
# bundled spec takes ~21,000.
MAX_ELABORATION_STEPS = 1_000_000
# Nodes of one semantics text (an instruction body, `deliver`, a condition).
MAX_SEMANTICS_NODES = 20_000
# YAML nodes of a spec, and nodes produced by expanding aliases (a "billion
# laughs" file is small but expands to billions of nodes). The largest
# bundled spec has ~1,600 nodes and no alias.
MAX_YAML_NODES = 100_000
MAX_ALIAS_NODES = 10_000
# Characters of one numeral (decimal, hex or binary) in a spec or a program
# (checked before conversion: Python refuses decimal strings over 4,300
# digits), and bits of its value (the widest element allowed is 4,096 bits).
MAX_NUMBER_DIGITS = 4300
MAX_NUMBER_BITS = 4096
# The widest value anywhere: an element, an operand, a helper's parameter or
# result, a sext/zext or a concat.
MAX_WIDTH = 4096
# Storage units: the simulator holds storage in full (a list of units).
MAX_STORAGE_UNITS = 1 << 22


def limit_error(span: Span, what: str, limit: str) -> SpecError:
    return SpecError(Diagnostic(span, f"{what}: the limit is {limit}"))


def decode(data: bytes, file: str) -> str:
    """UTF-8 text, or a SpecError at the LINE:COL of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        bad = data[e.start : e.end].hex(" ")
        raise SpecError(
            Diagnostic(Span(file, line, col), f"not UTF-8 text: byte(s) {bad} ({e.reason})", "save the file as UTF-8")
        ) from None


def check_text(text: str, file: str) -> None:
    """Reject a line longer than MAX_LINE_CHARS (checked before any parser sees it)."""
    start = 0
    line = 1
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if end - start > MAX_LINE_CHARS:
            raise limit_error(
                Span(file, line, MAX_LINE_CHARS + 1),
                f"line {line} is {end - start:,} characters long",
                f"{MAX_LINE_CHARS:,} characters per line",
            )
        start = end + 1
        line += 1


def read_source(path: Path, what: str = "spec") -> str:
    """A spec or program file's text: bounded in size, UTF-8, lines bounded.

    Reads at most MAX_FILE_BYTES + 1 bytes, so `/dev/zero` or a huge file ends
    in an error rather than in memory exhaustion.
    """
    file = str(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise SpecError(Diagnostic(None, f"cannot read {what} '{file}': it is a directory"))
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            # Opening a FIFO blocks until someone writes to it: never wait.
            raise SpecError(Diagnostic(None, f"cannot read {what} '{file}': it is a FIFO or socket, not a file"))
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise SpecError(Diagnostic(None, f"cannot read {what} '{file}': {e.strerror or e}")) from None
    if len(data) > MAX_FILE_BYTES:
        raise limit_error(
            Span(file, 1, 1), f"the {what} file is larger than {MAX_FILE_BYTES:,} bytes", f"{MAX_FILE_BYTES:,} bytes"
        )
    text = decode(data, file)
    check_text(text, file)
    return text


def number_problem(text: str, value: int | None = None) -> str | None:
    """Why numeral `text` (value `value`, if converted) is over the limits, or None."""
    digits = text.lstrip("+-").replace("_", "")
    if len(digits) > MAX_NUMBER_DIGITS:
        return f"a number of {len(digits):,} digits: the limit is {MAX_NUMBER_DIGITS:,} digits"
    if value is not None and abs(value).bit_length() > MAX_NUMBER_BITS:
        return f"a number of {abs(value).bit_length():,} bits: the limit is {MAX_NUMBER_BITS:,} bits"
    return None


LIMITS = {
    "file size (bytes)": MAX_FILE_BYTES,
    "line length (characters)": MAX_LINE_CHARS,
    "nesting depth as written": MAX_NESTING,
    "if nesting after inlining": MAX_IF_NESTING,
    "expression nesting after inlining": MAX_EXPR_NESTING,
    "elaboration steps per spec": MAX_ELABORATION_STEPS,
    "semantics nodes per text": MAX_SEMANTICS_NODES,
    "YAML nodes": MAX_YAML_NODES,
    "YAML nodes produced by aliases": MAX_ALIAS_NODES,
    "digits per number": MAX_NUMBER_DIGITS,
    "bits per number": MAX_NUMBER_BITS,
    "bits per value (width)": MAX_WIDTH,
    "storage units": MAX_STORAGE_UNITS,
}


def nesting(root) -> tuple[int, int, object]:
    """(statement depth, expression depth, the node deepest in either) of IR
    `root` (a statement, an expression, or a tuple of either), walked without
    recursion. Statement depth counts `If`s inside `If`s; expression depth
    counts expression nodes inside expression nodes."""
    from dataclasses import fields, is_dataclass

    from . import ir

    best_s, best_e, deepest = 0, 0, root
    stack = [(root, 0, 0)]
    while stack:
        node, ds, de = stack.pop()
        if isinstance(node, tuple):
            stack.extend((x, ds, de) for x in node)
            continue
        if not is_dataclass(node):
            continue
        if isinstance(node, ir.If):
            ds += 1
        elif not isinstance(node, (ir.Let, ir.Assign, ir.Trap, ir.Halt, ir.Wait)):
            de += 1
        if ds > best_s or de > best_e:
            best_s, best_e, deepest = max(ds, best_s), max(de, best_e), node
        for f in fields(node):
            if f.name != "span":
                child = getattr(node, f.name)
                if isinstance(child, tuple) or is_dataclass(child):
                    # an expression inside a statement starts a new expression
                    stack.append((child, ds, de if not isinstance(node, (ir.If, ir.Let, ir.Assign, ir.Trap)) else 0))
    return best_s, best_e, deepest
