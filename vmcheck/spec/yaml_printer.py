"""The YAML printer (`vmcheck fmt --to yaml`); see `printer.py` for what printing keeps."""

from __future__ import annotations

import json
import re
import textwrap
from functools import lru_cache

import yaml

from .format_keys import FORMAT
from .nodes import Node
from .print_common import CODE_KEYS, INDENT, WIDTH, fail, ordered
from .yaml_reader import SpecYamlLoader  # the loader `read_yaml` uses: the same YAML 1.2 booleans


def to_yaml(node: Node) -> str:
    """The spec as YAML: block style for structure, flow style for short mappings,
    `|` blocks for multi-line semantics, keys in FORMAT order."""
    if node.kind != "mapping":
        fail(node, "the spec must be a mapping")
    out: list[str] = []
    prev_multi = False
    for i, (key, value) in enumerate(ordered(node.value, "spec")):
        lines = _Yaml().entry(key, value, 0, "spec")
        multi = len(lines) > 1
        if i and (multi or prev_multi):
            out.append("")
        out.extend(lines)
        prev_multi = multi
    return "\n".join(out) + "\n"


_NOT_YAML = object()


@lru_cache(maxsize=4096)
def _loads(text: str):
    """What `read_yaml`'s loader makes of a small document (to test a candidate style)."""
    try:
        return yaml.load(text, Loader=SpecYamlLoader)
    except yaml.YAMLError:
        return _NOT_YAML


def _plain_ok(s: str, flow: bool) -> bool:
    """`s` can be written without quotes (in a flow collection when `flow`)."""
    if not s or s != s.strip() or "\n" in s or "\t" in s:
        return False
    if s[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in s or " #" in s or s.endswith(":"):
        return False
    if flow and any(c in s for c in ",[]{}"):
        return False
    if any(not c.isprintable() for c in s):
        return False
    doc = f"[{s}]" if flow else f"k: {s}"
    got = _loads(doc)
    want = [s] if flow else {"k": s}
    return got == want


def _double_quoted(s: str) -> str:
    q = json.dumps(s, ensure_ascii=False)
    return "".join(
        c if c.isprintable() or c in "\n" else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in q
    )


def _key(k: str) -> str:
    return k if _plain_ok(k, True) and re.fullmatch(r"[A-Za-z_][\w.-]*", k) else _double_quoted(k)


def _scalar(node: Node, flow: bool) -> str:
    v = node.value
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v is None:
        return "null"
    if isinstance(v, float):  # pragma: no cover - a spec has no floats, but keep them
        return repr(v)
    s = str(v)
    return s if _plain_ok(s, flow) else _double_quoted(s)


def _block_scalar(s: str, indent: int, code: bool) -> list[str] | None:
    """`|` (or, for long prose, `>`) block lines for `s`, or None if no block style
    reads back as exactly `s`. The first line is the indicator."""
    if not s.strip() or "\r" in s or any(not (c.isprintable() or c in "\n\t") for c in s):
        return None
    pad = " " * indent
    candidates = []
    body = s.rstrip("\n")
    trail = len(s) - len(body)
    chomp = {0: "-", 1: ""}.get(trail, "+")
    if "\n" not in body and not code and "  " not in body:
        wrapped = textwrap.wrap(body, width=max(40, WIDTH - indent), break_long_words=False, break_on_hyphens=False)
        if chomp != "+":
            candidates.append([">" + chomp] + [pad + ln for ln in wrapped])
    lines = body.split("\n") + [""] * (trail - 1 if trail > 1 else 0)
    ind = str(len(INDENT)) if lines[0][:1] in (" ", "\t") else ""
    candidates.append(["|" + ind + chomp] + [pad + ln if ln else "" for ln in lines])
    for cand in candidates:
        doc = "k: " + cand[0] + "\n" + "\n".join(ln[indent - len(INDENT) :] if ln else "" for ln in cand[1:]) + "\n"
        if _loads(doc) == {"k": s}:
            return cand
    return None


class _Yaml:
    def entry(self, key: str, node: Node, indent: int, parent: str) -> list[str]:
        """`key: value` at `indent`, as lines."""
        pad = " " * indent
        head = f"{pad}{_key(key)}:"
        kind = self.kind_of(parent, key)
        if kind == "instruction" and node.kind == "mapping" and "members" in node.value:
            kind = "family"  # an entry of instructions with members (families.py)
        if node.kind == "text":
            code = (parent, key) in CODE_KEYS or (parent in ("instruction", "family") and key == "semantics")
            s = node.value
            one = _scalar(node, False)
            if "\n" not in s and len(head) + 1 + len(one) <= WIDTH:
                return [f"{head} {one}"]
            block = _block_scalar(s, indent + len(INDENT), code)
            if block is not None:
                return [f"{head} {block[0]}"] + block[1:]
            return [f"{head} {_double_quoted(s)}"]
        if node.kind not in ("mapping", "list"):
            if parent == "constants" and node.kind == "integer" and node.value >= 256:
                return [f"{head} {node.value:#x}"]  # as .isa prints them
            return [f"{head} {_scalar(node, False)}"]
        if kind not in _BLOCK_KINDS:
            flow = self.flow(node, kind)
            if flow is not None and len(head) + 1 + len(flow) <= WIDTH:
                return [f"{head} {flow}"]
        if node.kind == "list":
            if not node.value:
                return [f"{head} []"]
            out = [head]
            for item in node.value:
                out.extend(self.item(item, indent + len(INDENT), kind))
            return out
        if not node.value:
            return [f"{head} {{}}"]
        out = [head]
        items = ordered(node.value, kind) if kind in FORMAT else list(node.value.items())
        for k, v in items:
            out.extend(self.entry(k, v, indent + len(INDENT), kind))
        return out

    def item(self, node: Node, indent: int, kind: str) -> list[str]:
        """`- value` at `indent`."""
        pad = " " * indent
        if node.kind == "text":
            code = kind == "invariants"
            s = node.value
            one = _scalar(node, False)
            if "\n" not in s and len(pad) + 2 + len(one) <= WIDTH:
                return [f"{pad}- {one}"]
            block = _block_scalar(s, indent + len(INDENT), code)
            if block is not None:
                return [f"{pad}- {block[0]}"] + block[1:]
            return [f"{pad}- {_double_quoted(s)}"]
        if node.kind in ("mapping", "list"):
            flow = self.flow(node, kind)
            if flow is not None and len(pad) + 2 + len(flow) <= WIDTH:
                return [f"{pad}- {flow}"]
            if node.kind == "mapping" and node.value:
                lines: list[str] = []
                for k, v in node.value.items():
                    lines.extend(self.entry(k, v, indent + len(INDENT), kind))
                return [f"{pad}- " + lines[0].lstrip()] + lines[1:]
            fail(node, "a nested list is not part of the spec format")
        return [f"{pad}- {_scalar(node, False)}"]

    def flow(self, node: Node, kind: str) -> str | None:
        """The node in flow style, or None when it holds multi-line text."""
        if node.kind == "list":
            parts = []
            for item in node.value:
                if item.kind == "mapping" and len(item.value) == 1:
                    ((k, v),) = item.value.items()
                    inner = self.flow(v, k)
                    if inner is None:
                        return None
                    parts.append(f"{_key(k)}: {inner}")  # `[rd: reg]`: a one-pair mapping
                else:
                    inner = self.flow(item, kind)
                    if inner is None:
                        return None
                    parts.append(inner)
            return "[" + ", ".join(parts) + "]"
        if node.kind == "mapping":
            parts = []
            items = ordered(node.value, kind) if kind in FORMAT else list(node.value.items())
            for k, v in items:
                inner = self.flow(v, self.kind_of(kind, k))
                if inner is None:
                    return None
                parts.append(f"{_key(k)}: {inner}")
            return "{" + ", ".join(parts) + "}"
        if node.kind == "text" and "\n" in node.value:
            return None
        return _scalar(node, True)

    @staticmethod
    def kind_of(parent: str, key: str) -> str:
        """The kind of the value under `key` in a mapping of kind `parent`."""
        return _KIND_BY_KEY.get((parent, key)) or _KIND_BY_PARENT.get(parent) or key


_KIND_BY_KEY = {
    ("spec", "state"): "state",
    ("spec", "storage"): "storage",
    ("spec", "traps"): "traps",
    ("spec", "contexts"): "contexts",
    ("spec", "instructions"): "instructions",
    ("spec", "invariants"): "invariants",
    ("spec", "constants"): "constants",
    ("spec", "references"): "references",
    ("element", "fields"): "fields",
    ("storage", "translation"): "translation",
    ("traps", "causes"): "causes",
    ("contexts", "guest"): "guests",
    # families and formats (families.py)
    ("spec", "formats"): "formats",
    ("family", "members"): "members",
}
_KIND_BY_PARENT = {
    "state": "element",
    "fields": "field",
    "causes": "cause",
    "guests": "guest",
    "instructions": "instruction",
    "formats": "format",
    "members": "member",
}


# Mappings always written in block style (one entry a line).
_BLOCK_KINDS = {
    "state",
    "storage",
    "traps",
    "causes",
    "contexts",
    "guests",
    "guest",
    "invariants",
    "constants",
    "instructions",
    "instruction",
    "references",
    # families and formats (families.py): a member stays on one line where it fits
    "formats",
    "format",
    "family",
    "members",
}
