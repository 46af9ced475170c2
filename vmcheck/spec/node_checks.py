"""Checks of one node of a spec's tree: the builder's vocabulary.

`NodeChecks` reads a node as what the format says it is (a mapping with
known keys, a whole number in a range, text, a name...) or records an error
at the node and raises `Skip`, so the builder abandons that part of the
spec, carries on with the rest and reports every independent error in one
run. The builder's parts (`build_state.py`, `build_instructions.py`,
`build.py`) are mixins over it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any, NoReturn

from ..errors import Collector, Span, SpecError
from .format_keys import FORMAT
from .nodes import Node
from .semantics_parser import Origin


class Skip(Exception):
    """A structural error was recorded; skip the rest of this part."""


class NodeChecks:
    """Reading nodes as the format's kinds; errors go to `errors`."""

    def __init__(self, errors: Collector):
        self.errors = errors

    def fail(self, span: Span | None, message: str, hint: str | None = None) -> NoReturn:
        """Record an error at `span` and skip the rest of this part."""
        self.errors.error(span, message, hint)
        raise Skip()

    def mapping(self, node: Node, kind: str, what: str) -> dict[str, Node]:
        if node.kind != "mapping":
            self.fail(node.span, f"{what} must be a mapping, not {node.kind}")
        spec = FORMAT[kind]
        for key, child in node.value.items():
            if key not in spec:
                close = difflib.get_close_matches(key, list(spec), n=1)
                self.errors.error(
                    node.key_spans.get(key, child.span),
                    f"unknown key '{key}' in {what}",
                    (f"did you mean '{close[0]}'? " if close else "") + f"allowed: {', '.join(spec)}",
                )
        for key, required in spec.items():
            if required and key not in node.value:
                self.errors.error(node.span, f"{what} is missing the required key '{key}'")
        return node.value

    def int_(self, node: Node, what: str, lo: int = 0, hi: int | None = None) -> int:
        if node.kind != "integer":
            self.fail(node.span, f"{what} must be a whole number, not {node.kind} {node.value!r}")
        v = node.value
        if v < lo or (hi is not None and v > hi):
            rng = f"at least {lo}" if hi is None else f"from {lo} to {hi}"
            self.fail(node.span, f"{what} must be {rng}, not {v}")
        return v

    def str_(self, node: Node, what: str) -> str:
        if node.kind != "text":
            self.fail(node.span, f"{what} must be text, not {node.kind} {node.value!r}")
        return node.value

    def bool_(self, node: Node, what: str) -> bool:
        if node.kind != "boolean":
            self.fail(node.span, f"{what} must be true or false, not {node.value!r}")
        return node.value

    def name_(self, node: Node, what: str) -> str:
        v = self.str_(node, what)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            self.fail(node.span, f"{what} must be a name (letters, digits, _), not {v!r}")
        return v

    def text_or_empty(self, d: dict[str, Node], key: str) -> str:
        n = d.get(key)
        if n is None or n.value is None:
            return ""
        return self.str_(n, key)

    def guard(self, fn: Callable[..., Any], *args: Any, default: Any = None) -> Any:
        """`fn(*args)`, or `default` when it skipped (its error is recorded)."""
        try:
            return fn(*args)
        except Skip:
            return default

    def source_text(self, node: Node, what: str) -> tuple[str, Origin]:
        if node.kind == "integer" or node.kind == "boolean":
            return str(node.value).lower(), Origin(node.span.file, node.span.line, node.span.col - 1, 0)
        text = self.str_(node, what)
        return text, node.origin or Origin(node.span.file, node.span.line, node.span.col - 1, 0)

    def parsed(self, node: Node, what: str, how):
        text, origin = self.source_text(node, what)
        try:
            return how(text, origin)
        except SpecError as e:
            self.errors.diagnostics.extend(e.diagnostics)
            raise Skip() from None

    def name_key(self, node: Node, key: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            self.fail(node.key_spans.get(key, node.span), f"'{key}' is not a name")
        return key
