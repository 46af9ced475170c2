"""A spec file as a tree of nodes with spans: what both front-ends produce.

The YAML reader (here) and the `.isa` reader (`isa_format.py`) each turn a
file into the same `Node` tree; `build.py` then checks it against the
format and elaborates it into the IR. So the two syntaxes cannot drift
apart: there is one place that knows what a spec may say.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Diagnostic, Span, SpecError
from .parse import Origin


@dataclass
class Node:
    """`value` is a dict[str, Node], a list[Node], or a str/int/bool/None scalar.

    `span` is where the node starts (for a mapping entry's value, the value);
    `key_spans` gives each mapping key's own span; `origin` tells where the
    text of a string scalar starts, so semantics inside it can be located.
    """

    value: Any
    span: Span
    origin: Origin | None = None
    key_spans: dict[str, Span] = field(default_factory=dict)

    def get(self, key: str) -> "Node | None":
        return self.value.get(key) if isinstance(self.value, dict) else None

    @property
    def kind(self) -> str:
        v = self.value
        if isinstance(v, dict):
            return "mapping"
        if isinstance(v, list):
            return "list"
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, int):
            return "integer"
        if v is None:
            return "nothing"
        return "text"


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. Under YAML 1.1, `off`, `on`, `yes`,
    `no`, `y` and `n` are booleans, and `off` is a common operand name."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:bool"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _span(file: str, mark) -> Span:
    return Span(file, mark.line + 1, mark.column + 1)


def _block_indent(lines: list[str], first: int) -> int:
    for line in lines[first:]:
        if line.strip():
            return len(line) - len(line.lstrip(" "))
    return 0


def read_yaml(text: str, file: str) -> Node:
    """Parse YAML text into a Node tree; YAML errors become SpecError at their line."""
    lines = text.splitlines()
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise SpecError(Diagnostic(Span(file, 1, 1), "the spec file is empty"))
            return _convert(root, file, lines, loader)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        span = _span(file, mark) if mark else Span(file, 1, 1)
        problem = e.problem or "invalid YAML"
        ctx = f" ({e.context})" if e.context else ""
        raise SpecError(Diagnostic(span, f"YAML syntax error: {problem}{ctx}")) from None
    except yaml.YAMLError as e:  # pragma: no cover - unmarked YAML errors are rare
        raise SpecError(Diagnostic(Span(file, 1, 1), f"YAML error: {e}")) from None


def _convert(node: yaml.Node, file: str, lines: list[str], loader: _Loader) -> Node:
    span = _span(file, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        keys: dict[str, Span] = {}
        for k, v in node.value:
            key = loader.construct_object(k)
            kspan = _span(file, k.start_mark)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise SpecError(Diagnostic(kspan, f"a key must be a name, not {key!r}"))
            key = str(key)
            if key in out:
                raise SpecError(Diagnostic(kspan, f"duplicate key '{key}' (first at line {keys[key].line})"))
            out[key] = _convert(v, file, lines, loader)
            keys[key] = kspan
        return Node(out, span, key_spans=keys)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(v, file, lines, loader) for v in node.value], span)
    value = loader.construct_object(node)
    origin = None
    if isinstance(value, str):
        m = node.start_mark
        if node.style in ("|", ">"):
            indent = _block_indent(lines, m.line + 1)
            origin = Origin(file, m.line + 2, indent, indent)
        elif node.style in ("'", '"'):
            origin = Origin(file, m.line + 1, m.column + 1, m.column + 1)
        else:
            origin = Origin(file, m.line + 1, m.column, m.column)
    elif not isinstance(value, (int, bool, type(None), float)):
        value = str(value)  # dates and the like: keep as text
    return Node(value, span, origin)
