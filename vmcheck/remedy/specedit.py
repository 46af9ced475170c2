"""Writing a changed copy of a spec: a guest context added, a guard put in
front of an instruction's semantics. The edit is made on the spec's node tree
and printed in the syntax OUT's suffix names (`spec.printer`), then loaded
again, so a remedy is only ever reported for a spec that loads."""

from __future__ import annotations

import copy
from pathlib import Path

from ..errors import Diagnostic, InternalError, SpecError, UserError
from ..spec import ir
from ..spec.families import guard_member
from ..spec.load import load_spec, read_nodes, resolve
from ..spec.nodes import Node
from ..spec.printer import to_isa, to_yaml
from ..spec.semantics_parser import Origin


def read_spec(spec: str) -> tuple[Path, Node]:
    path = resolve(spec)
    return path, read_nodes(path)


def _text(value: str, near: Node) -> Node:
    return Node(value, near.span, Origin(near.span.file, near.span.line))


def _guest(node: Node) -> Node:
    return node.value["contexts"].value["guest"]


def add_context(node: Node, base: str, name: str, where: str, description: str) -> Node:
    """A copy of `node` with guest context `name`: `base`'s mode map, `where`."""
    out = copy.deepcopy(node)
    guest = _guest(out)
    if name in guest.value:
        raise UserError(f"the spec already has a guest context named '{name}'")
    cnode = copy.deepcopy(guest.value[base])
    cnode.value["where"] = _text(where, cnode)
    cnode.value["description"] = _text(description, cnode)
    guest.value[name] = cnode
    guest.key_spans[name] = guest.key_spans.get(base, cnode.span)
    return out


def guard_semantics(node: Node, guards: dict[str, str]) -> Node:
    """A copy of `node` with each instruction of `guards` starting with its line."""
    out = copy.deepcopy(node)
    insns = out.value["instructions"].value
    for name, line in guards.items():
        if name not in insns:  # a member of a family (spec/families.py): guard that member only
            if not guard_member(out.value["instructions"], name, line):
                raise InternalError(f"no instruction or family member named '{name}' in the spec")
            continue
        sem = insns[name].value["semantics"]
        body = sem.value.rstrip("\n")
        sem.value = f"{line}\n{body}\n"
    return out


def base_where(node: Node, context: str) -> str:
    """The text of `context`'s where (\"true\" when it has none)."""
    w = _guest(node).value[context].value.get("where")
    return " ".join(str(w.value).split()) if w is not None else "true"


def write_spec(node: Node, out: Path, like: Path) -> ir.Isa:
    """Print `node` to `out` (YAML or .isa by `out`'s suffix, else `like`'s) and load it back."""
    suffix = out.suffix if out.suffix in (".yaml", ".yml", ".isa") else like.suffix
    text = to_isa(node) if suffix == ".isa" else to_yaml(node)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise SpecError(Diagnostic(None, f"cannot write {out}: {e.strerror}")) from None
    try:
        return load_spec(out)
    except SpecError as e:
        raise InternalError(f"the spec written to {out} does not load: {e}") from None
