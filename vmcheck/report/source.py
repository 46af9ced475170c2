"""The spec's own text, as the report quotes it.

The IR keeps meaning, not wording: a condition or a semantics block is
parsed and its source text dropped. The report quotes the spec as written
(an instruction's semantics, a context's `where`, the trap delivery, the
helpers, invariants, references), so it reads them from the spec's node
tree (`spec.nodes.Node`, the structure both file formats load into).
Every accessor returns None or an empty list for what the spec lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec.nodes import Node


@dataclass(frozen=True)
class SpecSource:
    """Read access to one spec's node tree (None: no tree, every lookup is empty)."""

    nodes: Node | None

    def node(self, *path: str) -> Node | None:
        """The node at a path of mapping keys, or None where the path leaves the tree."""
        n = self.nodes
        for p in path:
            if n is None or n.kind != "mapping":
                return None
            n = n.value.get(p)
        return n

    def text(self, *path: str) -> str | None:
        """The scalar at `path` as the spec wrote it (booleans as `true`/`false`); None for a mapping or list."""
        n = self.node(*path)
        if n is None or n.value is None or isinstance(n.value, (dict, list)):
            return None
        v = n.value
        return str(v).lower() if isinstance(v, bool) else str(v)

    def semantics(self, insn: str) -> str | None:
        """An instruction's semantics block, without leading or trailing newlines."""
        t = self.text("instructions", insn, "semantics")
        if t is None:  # a family member (spec/families.py): its family's semantics, parameters as written
            insns = self.node("instructions")
            for name, f in insns.value.items() if insns is not None and insns.kind == "mapping" else ():
                members = f.value.get("members") if f.kind == "mapping" else None
                if members is not None and members.kind == "mapping" and insn in members.value:
                    t = self.text("instructions", name, "semantics")
                    break
        return t.strip("\n") if t is not None else None

    def references(self) -> list[str]:
        n = self.node("references")
        if n is None or n.kind != "list":
            return []
        return [str(x.value) for x in n.value if x.value is not None]

    def invariants(self) -> list[str]:
        n = self.node("invariants")
        if n is None or n.kind != "list":
            return []
        return [str(x.value) for x in n.value]


__all__ = ["SpecSource"]
