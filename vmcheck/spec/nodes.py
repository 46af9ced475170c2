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
from .limits import MAX_ALIAS_NODES, MAX_NESTING, MAX_YAML_NODES, limit_error, number_problem
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


def _compose_node(self, parent, index):
    """PyYAML's composer recurses once per level of nesting: stop at MAX_NESTING
    with an error at the node, before Python's own recursion limit is reached."""
    depth = getattr(self, "_vmcheck_depth", 0)
    if depth >= MAX_NESTING:
        mark = self.peek_event().start_mark
        raise limit_error(
            Span(self._vmcheck_file, mark.line + 1, mark.column + 1),
            f"YAML nested more than {MAX_NESTING} levels deep",
            f"{MAX_NESTING} levels",
        )
    self._vmcheck_depth = depth + 1
    try:
        return yaml.SafeLoader.compose_node(self, parent, index)
    finally:
        self._vmcheck_depth = depth


_Loader.compose_node = _compose_node

# The tags a spec's scalars may carry (explicitly or by resolution); anything
# else (`!!binary`, `!!timestamp`, `!!python/...`, a local `!tag`) is refused.
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null", "float")}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


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
        loader._vmcheck_file = file
        try:
            root = loader.get_single_node()
            if root is None:
                raise SpecError(Diagnostic(Span(file, 1, 1), "the spec file is empty"))
            return _Converter(file, lines, loader).convert(root)
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


class _Converter:
    """yaml.Node graph -> Node tree.

    Aliases make the graph a DAG (or, with a recursive alias, a cycle): each
    alias is expanded, so the nodes produced are counted against
    MAX_YAML_NODES (a "billion laughs" file stops there at once), and a node
    met again inside itself is a recursive alias. Depth is bounded by the
    composer (MAX_NESTING), so the recursion here is too.
    """

    def __init__(self, file: str, lines: list[str], loader: _Loader):
        self.file, self.lines, self.loader = file, lines, loader
        self.count = 0
        self.open: set[int] = set()  # ids of the collections being converted
        self.done: set[int] = set()  # ids of the collections converted once
        self.aliased = 0  # > 0 while expanding a collection met before (an alias)
        self.alias_count = 0

    def convert(self, node: yaml.Node) -> Node:
        span = _span(self.file, node.start_mark)
        self.count += 1
        if self.count > MAX_YAML_NODES:
            raise limit_error(
                span,
                f"the YAML expands to more than {MAX_YAML_NODES:,} nodes (aliases included)",
                f"{MAX_YAML_NODES:,} nodes",
            )
        if self.aliased:
            self.alias_count += 1
            if self.alias_count > MAX_ALIAS_NODES:
                raise limit_error(
                    span, f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes", f"{MAX_ALIAS_NODES:,} nodes"
                )
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, span)
        if node.tag not in _COLLECTION_TAGS:
            raise SpecError(
                Diagnostic(
                    span,
                    f"unsupported YAML tag '{_short_tag(node.tag)}'",
                    "a spec uses plain mappings, lists, text, numbers and true/false",
                )
            )
        if id(node) in self.open:
            raise SpecError(Diagnostic(span, "recursive YAML alias: this node contains itself"))
        again = id(node) in self.done
        self.aliased += again
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, span)
            return Node([self.convert(v) for v in node.value], span)
        finally:
            self.open.discard(id(node))
            self.done.add(id(node))
            self.aliased -= again

    def mapping(self, node: yaml.MappingNode, span: Span) -> Node:
        out: dict[str, Node] = {}
        keys: dict[str, Span] = {}
        for k, v in node.value:
            kspan = _span(self.file, k.start_mark)
            if not isinstance(k, yaml.ScalarNode):
                raise SpecError(
                    Diagnostic(
                        kspan,
                        "a key must be a name, not a " + ("mapping" if isinstance(k, yaml.MappingNode) else "list"),
                    )
                )
            key = self.scalar(k, kspan).value
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise SpecError(Diagnostic(kspan, f"a key must be a name, not {key!r}"))
            key = str(key)
            if key in out:
                raise SpecError(Diagnostic(kspan, f"duplicate key '{key}' (first at line {keys[key].line})"))
            out[key] = self.convert(v)
            keys[key] = kspan
        return Node(out, span, key_spans=keys)

    def scalar(self, node: yaml.ScalarNode, span: Span) -> Node:
        if node.tag not in _SCALAR_TAGS:
            raise SpecError(
                Diagnostic(
                    span,
                    f"unsupported YAML tag '{_short_tag(node.tag)}'",
                    "a spec uses plain mappings, lists, text, numbers and true/false",
                )
            )
        numeric = node.tag.endswith((":int", ":float"))
        if numeric and (why := number_problem(node.value)):
            raise SpecError(Diagnostic(span, why))
        try:
            value = self.loader.construct_object(node)
        except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
            what = _short_tag(node.tag).lstrip("!")
            raise SpecError(Diagnostic(span, f"cannot read {node.value[:40]!r} as {what}")) from None
        if isinstance(value, int) and not isinstance(value, bool) and (why := number_problem(node.value, value)):
            raise SpecError(Diagnostic(span, why))
        origin = None
        if isinstance(value, str):
            m = node.start_mark
            if node.style in ("|", ">"):
                indent = _block_indent(self.lines, m.line + 1)
                origin = Origin(self.file, m.line + 2, indent, indent)
            elif node.style in ("'", '"'):
                origin = Origin(self.file, m.line + 1, m.column + 1, m.column + 1)
            else:
                origin = Origin(self.file, m.line + 1, m.column, m.column)
        return Node(value, span, origin)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag
