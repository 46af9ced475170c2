"""What the two spec printers (`yaml_printer.py`, `isa_printer.py`) share: the
line width, the keys whose values are code, and the error a tree that cannot
be printed raises."""

from __future__ import annotations

from typing import NoReturn

from ..errors import Diagnostic, SpecError
from .format_keys import FORMAT
from .nodes import Node

WIDTH = 100  # lines are kept under this where the text allows
INDENT = "  "

# Strings that hold semantics or conditions (printed as code, kept verbatim).
CODE_KEYS = {("traps", "deliver"), ("spec", "helpers"), ("contexts", "host"), ("guest", "where")}
CODE_KEYS |= {("interrupt", "enabled")}  # an interrupt source's enable condition


class Unprintable(SpecError):
    """A node tree the printers cannot write (one that `build_isa` would reject)."""


def fail(node: Node, message: str) -> NoReturn:
    raise Unprintable(Diagnostic(node.span, f"cannot print this spec: {message}"))


def ordered(d: dict[str, Node], kind: str) -> list[tuple[str, Node]]:
    """The entries of a FORMAT mapping in FORMAT order (unknown keys last, as written)."""
    order = list(FORMAT[kind])
    known = [(k, d[k]) for k in order if k in d]
    return known + [(k, v) for k, v in d.items() if k not in FORMAT[kind]]
