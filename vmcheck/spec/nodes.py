"""A spec file as a tree of nodes with spans: what both front-ends produce.

The YAML reader (`yaml_reader.py`) and the `.isa` reader (`isa_reader.py`)
each turn a file into the same `Node` tree; `build.py` then checks it against the
format and elaborates it into the IR. So the two syntaxes cannot drift
apart: there is one place that knows what a spec may say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Span
from .semantics_parser import Origin


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

    def get(self, key: str) -> Node | None:
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
        if isinstance(v, float):
            return "fraction"
        if v is None:
            return "nothing"
        return "text"
