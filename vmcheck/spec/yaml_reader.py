"""The YAML reader: spec text in YAML -> the `Node` tree (`nodes.py`).

YAML is read with `SpecYamlLoader`, PyYAML's `SafeLoader` with YAML 1.2
booleans and bounded nesting; the composed graph is converted to `Node`s
with spans, aliases expanded and counted, unsupported tags refused. Every
problem is a SpecError at its line.
"""

from __future__ import annotations

import re

import yaml

from ..errors import Diagnostic, Span, SpecError
from .limits import MAX_ALIAS_NODES, MAX_NESTING, MAX_YAML_NODES, limit_error, number_problem
from .nodes import Node
from .semantics_parser import Origin


class SpecYamlLoader(yaml.SafeLoader):
    """The loader specs are read with: PyYAML's `SafeLoader` with YAML 1.2
    booleans, only true/false (under YAML 1.1, `off`, `on`, `yes`, `no`, `y`
    and `n` are booleans, and `off` is a common operand name), and nesting
    bounded by MAX_NESTING. `file` names the file in errors."""

    def __init__(self, stream, file: str = "<yaml>"):
        super().__init__(stream)
        self.spec_file = file
        self.nesting_depth = 0  # collections being composed, against MAX_NESTING

    def compose_node(self, parent, index):
        """PyYAML's composer recurses once per level of nesting: stop at MAX_NESTING
        with an error at the node, before Python's own recursion limit is reached."""
        if self.nesting_depth >= MAX_NESTING:
            mark = self.peek_event().start_mark
            raise limit_error(
                Span(self.spec_file, mark.line + 1, mark.column + 1),
                f"YAML nested more than {MAX_NESTING} levels deep",
                f"{MAX_NESTING} levels",
            )
        self.nesting_depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.nesting_depth -= 1


SpecYamlLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:bool"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

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
        loader = SpecYamlLoader(text, file)
        try:
            root = loader.get_single_node()
            if root is None:
                raise SpecError(Diagnostic(Span(file, 1, 1), "the spec file is empty"))
            return YamlToNodes(file, lines, loader).convert(root)
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


class YamlToNodes:
    """yaml.Node graph -> Node tree.

    Aliases make the graph a DAG (or, with a recursive alias, a cycle): each
    alias is expanded, so the nodes produced are counted against
    MAX_YAML_NODES (a "billion laughs" file stops there at once), and a node
    met again inside itself is a recursive alias. Depth is bounded by the
    composer (MAX_NESTING), so the recursion here is too.
    """

    def __init__(self, file: str, lines: list[str], loader: SpecYamlLoader):
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
