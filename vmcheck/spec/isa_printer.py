"""The `.isa` printer (`vmcheck fmt --to isa`); see `printer.py` for what printing keeps.

It is one class with a method per kind of the format (about 800 lines): the
`.isa` syntax of every key is then in one place, beside the others, as in
the grammar (`isa.lark`) it must read back through."""

from __future__ import annotations

import re
import textwrap

from ..errors import SpecError
from .format_keys import FORMAT
from .isa_grammar import ELEMENT_ATTRIBUTES
from .nodes import Node
from .print_common import INDENT, WIDTH, Unprintable, fail, ordered

# The order of declarations in a printed `.isa` file: the machine first, the
# instructions last (YAML keeps FORMAT's order).
ISA_ORDER = (
    "isa",
    "description",
    "references",
    "word",
    "insn_width",
    "modes",
    "mode",
    "state",
    "reset",
    "storage",
    "traps",
    "interrupts",
    "constants",
    "prefixes",
    "operand_kinds",
    "helpers",
    "contexts",
    "invariants",
    "formats",
    "instructions",
)


# Words that start a member's attribute: a member named like one is written `like_this`.
_MEMBER_WORDS = ("with", "mnemonic", "syntax", "labels", "ref", "members")


def to_isa(node: Node) -> str:
    """The spec as `.isa` text (see `isa_reader.py` for the syntax)."""
    return _Isa().spec(node)


def _isa_name(n: str, node: Node | None = None, escape: tuple[str, ...] = ()) -> str:
    """A name; backquoted when it is one of the keywords that may follow it (`escape`)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
        if node is not None:
            fail(node, f"'{n}' is not a name (letters, digits, _)")
        raise Unprintable(f"cannot print this spec: '{n}' is not a name")
    return f"`{n}`" if n in escape else n


def _isa_short_string(s: str) -> str:
    out = []
    for c in s:
        if c in '\\"':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif not c.isprintable() or c in "\x85\u2028\u2029":
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _isa_long_string(s: str, indent: int) -> str | None:
    """`\"\"\"` text over several lines, or None when it would not read back as `s`."""
    from .isa_strings import long_string_value, unescape

    if "\r" in s:
        return None
    pad = " " * indent
    body = s[:-1] if s.endswith("\n") else s
    out_lines = []
    for ln in body.split("\n"):
        esc = ln.replace("\\", "\\\\").replace('"""', '\\"""')
        esc = "".join(c if c.isprintable() or c == "\t" else f"\\u{ord(c):04x}" for c in esc)
        if esc[:1] in (" ", "\t"):
            esc = ("\\x20" if esc[0] == " " else "\\t") + esc[1:]
        if esc[-1:] in (" ", "\t"):
            esc = esc[:-1] + ("\\x20" if esc[-1] == " " else "\\t")
        if esc.endswith('"'):
            esc = esc[:-1] + '\\"'
        if len(esc) + indent > WIDTH and " " in esc:
            out_lines.extend(_wrap_continued(esc, WIDTH - indent))
        else:
            out_lines.append(esc)
    text = '"""\n' + "\n".join(pad + ln if ln else "" for ln in out_lines)
    text += ("\n" + pad + '"""') if s.endswith("\n") else '"""'
    raw = text[3:-3]
    try:
        if unescape(long_string_value(raw), "", 1, 1) != s:
            return None
    except SpecError:  # pragma: no cover - the escapes above are all valid
        return None
    return text


def _wrap_items(head: str, items: list[str], tail: str, indent: str) -> list[str]:
    """`head` + items joined by ", " + `tail`, cut after commas to stay under WIDTH."""
    lines, cur = [], head
    for i, it in enumerate(items):
        piece = it + ("," if i < len(items) - 1 else tail)
        if cur.strip() and cur != head and len(cur) + 1 + len(piece) > WIDTH:
            lines.append(cur.rstrip())
            cur = indent + piece
        else:
            cur = cur + (" " if cur != head and not cur.endswith(" ") else "") + piece
    lines.append(cur)
    return lines


def _wrap_continued(line: str, width: int) -> list[str]:
    """Cut a long line at single spaces, ending each piece but the last with `\\`
    (which joins it to the next line again). Never cuts inside an escape."""
    pieces, cur = [], ""
    for word in re.split(r"(?<=[^ ]) (?=[^ ])", line):
        if cur and len(cur) + 1 + len(word) + 2 > width:
            pieces.append(cur + " \\")
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    pieces.append(cur)
    # A piece must not end in an odd run of backslashes before the joining one.
    return pieces if all(not re.search(r"(?<!\\)(\\\\)*\\ \\$", p) for p in pieces[:-1]) else [line]


def _isa_string(node: Node, indent: int, room: int | None = None) -> str:
    """A string: `"..."` when it is one line (and, if `room` is given, fits in it),
    else a triple-quoted string over several lines."""
    if node.kind != "text":
        fail(node, f"expected text, not {node.kind} {node.value!r}")
    s = node.value
    short = _isa_short_string(s)
    if "\n" not in s and (room is None or len(short) <= room):
        return short
    long = _isa_long_string(s, indent)
    return long if long is not None else short


def _isa_number(node: Node, hex_from: int | None = None) -> str:
    if node.kind != "integer":
        fail(node, f"expected a whole number, not {node.kind} {node.value!r}")
    v = node.value
    if v < 0:
        fail(node, f"a negative number ({v}) cannot be written in .isa")
    return hex(v) if hex_from is not None and v >= hex_from else str(v)


def _is_line_code(s: str) -> bool:
    """Can the condition sit after its keyword on one line?"""
    return bool(s.strip()) and "\n" not in s.strip() and not re.search(r"[{}#]|//", s)


class _Isa:
    def spec(self, node: Node) -> str:
        if node.kind != "mapping":
            fail(node, "the spec must be a mapping")
        d = node.value
        for k in d:
            if k not in FORMAT["spec"]:
                fail(d[k], f"unknown key '{k}'")
        sections: list[list[str]] = []
        for key in ISA_ORDER:
            if key in d:
                lines = getattr(self, "s_" + key)(d[key])
                if lines:
                    sections.append(lines)
        # Short one-line declarations sit together; a block gets blank lines around it.
        out: list[str] = []
        prev_multi = False
        for lines in sections:
            multi = len(lines) > 1
            if out and (multi or prev_multi):
                out.append("")
            out.extend(lines)
            prev_multi = multi
        return "\n".join(out) + "\n"

    # ---- header ----

    def s_isa(self, n: Node) -> list[str]:
        if n.kind == "text" and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*", n.value):
            return [f"isa {n.value}"]
        return [f"isa {_isa_string(n, 2)}"]

    def s_description(self, n: Node) -> list[str]:
        if n.value is None:
            return []
        return f"description {_isa_string(n, 2, WIDTH - 12)}".split("\n")

    def s_references(self, n: Node) -> list[str]:
        if n.kind != "list":
            fail(n, "references must be a list of text")
        if not n.value:
            return []
        items = [_isa_string(r, 4) for r in n.value]
        one = "references " + ", ".join(items)
        if len(one) <= WIDTH and "\n" not in one:
            return [one]
        lines = ["references"]
        for i, it in enumerate(items):
            sep = "," if i < len(items) - 1 else ""
            it_lines = it.split("\n")
            lines.append("  " + it_lines[0])
            lines.extend(it_lines[1:])
            lines[-1] += sep
        return lines

    def s_word(self, n: Node) -> list[str]:
        return [f"word {_isa_number(n)}"]

    def s_insn_width(self, n: Node) -> list[str]:
        if n.kind == "text" and n.value == "variable":
            return ["insn_width variable"]
        return [f"insn_width {_isa_number(n)}"]

    def s_operand_kinds(self, n: Node) -> list[str]:
        """One `operand_kind NAME width W bits B { mode ... }` per kind."""
        if n.kind != "mapping":
            fail(n, "operand_kinds must map each kind's name to its declaration")
        out: list[str] = []
        for kname, k in n.value.items():
            if k.kind != "mapping":
                fail(k, f"operand kind '{kname}' must be a mapping")
            d = k.value
            for key in d:
                if key not in FORMAT["operand_kind"]:
                    fail(d[key], f"unknown key '{key}' in operand kind '{kname}'")
            head = f"operand_kind {_isa_name(kname, k)}"
            for key in ("width", "bits"):
                if key in d:
                    head += f" {key} {_isa_number(d[key])}"
            if d.get("description") is not None and d["description"].value is not None:
                head += " " + _isa_short_string(str(d["description"].value))
            if out:
                out.append("")
            out.append(head + " {")
            modes = d.get("modes")
            if modes is None or modes.kind != "mapping":
                fail(modes or k, f"the modes of '{kname}' must be a mapping")
            for mname, m in modes.value.items():
                out.extend(self.addressing_mode(mname, m))
            out.append("}")
        return out

    def addressing_mode(self, name: str, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, f"mode '{name}' must be a mapping")
        d = n.value
        for key in d:
            if key not in FORMAT["addressing_mode"]:
                fail(d[key], f"unknown key '{key}' in mode '{name}'")
        line = f"{INDENT}mode {_isa_name(name, n)}"
        if "fields" in d:
            line += "(" + ", ".join(self.operand(o) for o in self._list(d["fields"], "fields")) + ")"
        attrs = []
        for key in ("encoding", "extension", "syntax"):
            if key in d:
                attrs.append(f"{key} {_isa_string(d[key], 4)}")
        if d.get("description") is not None and d["description"].value is not None:
            attrs.append(_isa_string(d["description"], 4))
        for key in ("value", "address", "effect"):
            if key in d:
                code = d[key]
                if code.kind != "text":
                    fail(code, f"the {key} of mode '{name}' must be text")
                # one line in braces: statements of an effect joined by ';'
                text = "; ".join(x.strip() for x in str(code.value).strip().splitlines() if x.strip())
                attrs.append(f"{key} {{ {text} }}")
        lines, cur = [], line
        for a in attrs:
            if len(cur) + 1 + len(a) <= WIDTH or cur == line:
                cur += " " + a
            else:
                lines.append(cur)
                cur = 3 * INDENT + a
        return lines + [cur]

    def s_prefixes(self, n: Node) -> list[str]:
        """`prefixes { GROUP: NAME = "BITS", ... }` (variable-length encodings)."""
        if n.kind != "mapping":
            fail(n, "prefixes must map each group to its prefixes")
        lines = ["prefixes {"]
        for gname, g in n.value.items():
            if g.kind != "mapping" or not g.value:
                fail(g, f"prefix group '{gname}' must map each prefix's name to its bits")
            defs = [f"{_isa_name(k, v)} = {_isa_string(v, 4)}" for k, v in g.value.items()]
            lines.extend(_wrap_items(f"{INDENT}{_isa_name(gname, g)}: ", defs, "", 2 * INDENT))
        return lines + ["}"]

    def s_modes(self, n: Node) -> list[str]:
        if n.kind == "list":
            return _wrap_items("modes ", [_isa_name(x.value, x) for x in n.value], "", "  ")
        if n.kind == "mapping":
            codes = [f"{_isa_name(k, v)} = {_isa_number(v)}" for k, v in n.value.items()]
            return _wrap_items("modes ", codes, "", "  ")
        fail(n, "modes must be a list or a mapping")

    def s_mode(self, n: Node) -> list[str]:
        if n.kind != "text" or not re.fullmatch(r"\s*\w+(\.\w+)?\s*", n.value):
            fail(n, "mode must be ELEMENT or ELEMENT.FIELD")
        parts = n.value.strip().split(".")
        return ["mode " + ".".join(_isa_name(p, n) for p in parts)]

    def _assignments(self, word: str, n: Node, hex_from: int | None = None) -> list[str]:
        if n.kind != "mapping":
            fail(n, f"{word} must be a mapping")
        if not n.value:
            return []
        items = [f"{_isa_name(k, v)} = {_isa_number(v, hex_from)}" for k, v in n.value.items()]
        return _wrap_items(f"{word} ", items, "", "  ")

    def s_reset(self, n: Node) -> list[str]:
        return self._assignments("reset", n)

    def s_constants(self, n: Node) -> list[str]:
        return self._assignments("constants", n, hex_from=256)

    # ---- state ----

    def s_state(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "state must be a mapping")
        heads = {}
        for name, el in n.value.items():
            if el.kind != "mapping":
                fail(el, f"state element '{name}' must be a mapping")
            count = el.value.get("count")
            index = f"[{_isa_number(count)}]" if count is not None else ""
            heads[name] = _isa_name(name, el, ELEMENT_ATTRIBUTES) + index + ":"
        col = max((len(h) for h in heads.values()), default=0)
        lines = ["state {"]
        for name, el in n.value.items():
            lines.extend(self.element(heads[name].ljust(col), el))
        lines.append("}")
        return lines

    def element(self, head: str, n: Node) -> list[str]:
        d = n.value
        for k in d:
            if k not in FORMAT["element"]:
                fail(d[k], f"unknown key '{k}' in a state element")
        if "width" not in d:
            fail(n, "a state element needs a width")
        parts = [f"{INDENT}{head} {_isa_number(d['width'])}"]
        if "role" in d:
            parts.append(f"role {_isa_name(d['role'].value, d['role'])}")
        if "zero" in d:
            parts.append(f"zero {_isa_number(d['zero'])}")
        if "names" in d:
            nn = d["names"]
            if nn.kind != "list":
                fail(nn, "names must be a list")
            names = [_isa_name(x.value, x) for x in nn.value]
        if self._flag(d, "readonly"):
            parts.append("readonly")
        line = " ".join(parts)
        if "names" in d:
            wrapped = _wrap_items(line + " names (", names, ")", " " * (len(line) + 8))
            line = wrapped[-1]
            pre = wrapped[:-1]
        else:
            pre = []
        desc = d.get("description")
        if desc is not None and desc.value is not None:
            s = _isa_string(desc, 2 * len(INDENT))
            line += " " + s.split("\n")[0]
            extra = s.split("\n")[1:]
        else:
            extra = []
        lines = pre + [line] + extra
        if "fields" in d and d["fields"].value is not None:
            f = d["fields"]
            if f.kind != "mapping":
                fail(f, "fields must be a mapping")
            if f.value:
                fl = [self.field(k, v) for k, v in f.value.items()]
                one = "{ " + "; ".join(fl) + " }"
                if all("\n" not in x for x in fl) and len(lines[-1]) + 1 + len(one) <= WIDTH:
                    lines[-1] += " " + one
                else:
                    lines[-1] += " {"
                    for x in fl:
                        lines.extend(2 * INDENT + y if i == 0 else y for i, y in enumerate(x.split("\n")))
                    lines.append(INDENT + "}")
        return lines

    @staticmethod
    def _flag(d: dict[str, Node], key: str) -> bool:
        v = d.get(key)
        if v is None:
            return False
        if v.kind != "boolean":
            fail(v, f"{key} must be true or false")
        return v.value

    def field(self, name: str, n: Node) -> str:
        head = f"{_isa_name(name, n, ELEMENT_ATTRIBUTES)}: "
        if n.kind != "mapping":
            return head + self.bits(n)
        d = n.value
        for k in d:
            if k not in FORMAT["field"]:
                fail(d[k], f"unknown key '{k}' in field '{name}'")
        where = d.get("bit") or d.get("bits")
        if where is None:
            fail(n, f"field '{name}' needs bit or bits")
        parts = [head + self.bits(where)]
        if "role" in d:
            parts.append(f"role {_isa_name(d['role'].value, d['role'])}")
        if self._flag(d, "readonly"):
            parts.append("readonly")
        if d.get("description") is not None and d["description"].value is not None:
            parts.append(_isa_string(d["description"], 3 * len(INDENT)))
        return " ".join(parts)

    @staticmethod
    def bits(n: Node) -> str:
        if n.kind == "integer":
            return str(n.value)
        m = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", str(n.value)) if n.kind == "text" else None
        if m is None:
            fail(n, f'bits must be N or "HI:LO", not {n.value!r}')
        hi, lo = int(m.group(1)), int(m.group(2))
        return f"{hi}:{lo}"

    # ---- storage and traps ----

    def s_storage(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "storage must be a mapping")
        parts = ["storage"]
        for k, v in ordered(n.value, "storage"):
            if k in ("size", "unit"):
                parts.append(f"{k} {_isa_number(v)}")
            elif k == "endian":
                parts.append(f"endian {_isa_name(v.value, v)}")
            elif k == "translation":
                if v.kind == "text" and v.value == "none":
                    parts.append("translation none")
                elif v.kind == "mapping" and set(v.value) == {"relocation", "bound"}:
                    r, b = v.value["relocation"], v.value["bound"]
                    parts.append(f"translation relocation {_isa_name(r.value, r)} bound {_isa_name(b.value, b)}")
                else:
                    fail(v, "translation must be none or {relocation, bound}")
            else:
                fail(v, f"unknown key '{k}' in storage")
        return [" ".join(parts)]

    def s_traps(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "traps must be a mapping")
        d = n.value
        lines = ["traps {"]
        for k in d:
            if k not in FORMAT["traps"]:
                fail(d[k], f"unknown key '{k}' in traps")
        if "cause_width" in d:
            lines.append(f"{INDENT}cause_width {_isa_number(d['cause_width'])}")
        if "causes" in d:
            c = d["causes"]
            if c.kind != "mapping":
                fail(c, "causes must be a mapping")
            for name, v in c.value.items():
                lines.append(INDENT + self.cause(name, v))
        if "memory_cause" in d:
            mc = d["memory_cause"]
            lines.append(f"{INDENT}memory_cause {_isa_name(mc.value, mc)}")
        if "deliver" in d:
            lines.extend(self.code_block(f"{INDENT}deliver", d["deliver"], INDENT))
        lines.append("}")
        return lines

    def cause(self, name: str, n: Node) -> str:
        head = f"cause {_isa_name(name, n)} = "
        if n.kind != "mapping":
            return head + _isa_number(n)
        d = n.value
        for k in d:
            if k not in FORMAT["cause"]:
                fail(d[k], f"unknown key '{k}' in cause '{name}'")
        if "code" not in d:
            fail(n, f"cause '{name}' needs a code")
        parts = [head + _isa_number(d["code"])]
        if self._flag(d, "memory"):
            parts.append("memory")
        if d.get("description") is not None and d["description"].value is not None:
            parts.append(_isa_string(d["description"], 2 * len(INDENT)))
        return " ".join(parts)

    # ---- semantics text ----

    def code_block(self, head: str, n: Node, indent: str, inline_ok: bool = True) -> list[str]:
        """`head { text }`, on one line when the text is one short line without comments."""
        s = self.code_text(n)
        stripped = s.strip()
        if (
            inline_ok
            and "\n" not in stripped
            and not re.search(r"#|//", stripped)
            and len(head) + len(stripped) + 5 <= WIDTH
        ):
            return [f"{head} {{ {stripped} }}" if stripped else f"{head} {{}}"]
        body = textwrap.dedent(s.strip("\n"))
        lines = [f"{head} {{"]
        lines.extend((indent + INDENT + ln).rstrip() if ln.strip() else "" for ln in body.split("\n"))
        lines.append(f"{indent}}}")
        return lines

    @staticmethod
    def code_text(n: Node) -> str:
        if n.kind in ("integer", "boolean"):  # `where: true` read by YAML as a boolean
            return str(n.value).lower()
        if n.kind != "text":
            fail(n, f"expected semantics text, not {n.kind}")
        return n.value

    def code(self, head: str, n: Node, indent: str = "") -> list[str]:
        """A condition: `head TEXT` on one line, or in braces."""
        s = self.code_text(n)
        if _is_line_code(s):
            return [f"{head} {s.strip()}"]
        return self.code_block(head, n, indent)

    def s_helpers(self, n: Node) -> list[str]:
        return self.code_block("helpers", n, "", inline_ok=False)

    def s_contexts(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "contexts must be a mapping")
        d = n.value
        for k in d:
            if k not in FORMAT["contexts"]:
                fail(d[k], f"unknown key '{k}' in contexts")
        lines = []
        if "host" in d:
            lines.extend(self.code("host", d["host"]))
        g = d.get("guest")
        if g is not None:
            if g.kind != "mapping":
                fail(g, "guest must be a mapping")
            for name, c in g.value.items():
                lines.extend(self.guest(name, c))
        return lines

    def guest(self, name: str, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, f"guest context '{name}' must be a mapping")
        d = n.value
        for k in d:
            if k not in FORMAT["guest"]:
                fail(d[k], f"unknown key '{k}' in guest context '{name}'")
        mm = d.get("modes")
        if mm is None or mm.kind != "mapping" or not mm.value:
            fail(n, f"guest context '{name}' needs modes: a mapping virtual -> real")
        pairs = ", ".join(f"{_isa_name(v, r)} -> {self.name_of(r, 'a real level')}" for v, r in mm.value.items())
        parts = [f"guest {_isa_name(name, n)}: {pairs}"]
        if d.get("description") is not None and d["description"].value is not None:
            parts.append(_isa_string(d["description"], 2 * len(INDENT)))
        where = None
        if "where" in d:
            where = self.code("where", d["where"], 2 * INDENT)
        one = " ".join(parts + ([where[0]] if where and len(where) == 1 else []))
        if "\n" not in one and len(one) <= WIDTH and (where is None or len(where) == 1):
            return [one]
        lines = [parts[0]]
        for p in parts[1:]:
            p_lines = p.split("\n")
            lines.append(2 * INDENT + p_lines[0])
            lines.extend(p_lines[1:])
        if where:
            lines.append(2 * INDENT + where[0])
            lines.extend(where[1:])
        return lines

    def s_interrupts(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "interrupts must be a mapping")
        lines: list[str] = []
        for name, src in n.value.items():
            lines.extend(self.interrupt(name, src))
        return lines

    def interrupt(self, name: str, n: Node) -> list[str]:
        """`interrupt NAME cause C period N ["description"] [enabled CONDITION]`."""
        if n.kind != "mapping":
            fail(n, f"interrupt source '{name}' must be a mapping")
        d = n.value
        for k in d:
            if k not in FORMAT["interrupt"]:
                fail(d[k], f"unknown key '{k}' in interrupt source '{name}'")
        if "cause" not in d:
            fail(n, f"interrupt source '{name}' needs 'cause'")
        parts = [f"interrupt {_isa_name(name, n)}"]
        parts.append(f"cause {self.name_of(d['cause'], 'a cause')}")
        if "period" in d:
            parts.append(f"period {_isa_number(d['period'])}")
        if d.get("description") is not None and d["description"].value is not None:
            parts.append(_isa_string(d["description"], 2 * len(INDENT)))
        enabled = self.code("enabled", d["enabled"], 2 * INDENT) if "enabled" in d else None
        one = " ".join(parts + ([enabled[0]] if enabled and len(enabled) == 1 else []))
        if "\n" not in one and len(one) <= WIDTH and (enabled is None or len(enabled) == 1):
            return [one]
        head = 3 if "period" in d else 2
        lines = [" ".join(parts[:head])]
        for p in parts[head:]:
            p_lines = p.split("\n")
            lines.append(2 * INDENT + p_lines[0])
            lines.extend(p_lines[1:])
        if enabled:
            lines.append(2 * INDENT + enabled[0])
            lines.extend(enabled[1:])
        return lines

    def s_invariants(self, n: Node) -> list[str]:
        if n.kind != "list":
            fail(n, "invariants must be a list")
        lines = []
        for inv in n.value:
            lines.extend(self.code("invariant", inv))
        return lines

    # ---- instructions ----

    def s_instructions(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "instructions must be a mapping")
        out: list[str] = []
        prev_multi = False
        for name, insn in n.value.items():
            if insn.kind == "mapping" and "members" in insn.value:
                lines = self.family(name, insn)  # families.py
            else:
                lines = self.instruction(name, insn)
            multi = len(lines) > 1
            if out and (multi or prev_multi):
                out.append("")
            out.extend(lines)
            prev_multi = multi
        return out

    def instruction(self, name: str, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, f"instruction '{name}' must be a mapping")
        d = n.value
        for k in d:
            if k not in FORMAT["instruction"]:
                fail(d[k], f"unknown key '{k}' in instruction '{name}'")
        head = f"instruction {_isa_name(name, n)}"
        if "operands" in d:
            head += "(" + ", ".join(self.operand(o) for o in self._list(d["operands"], "operands")) + ")"
        attrs = self.template_attrs(d) + self.text_attrs(d)
        if "semantics" not in d:
            fail(n, f"instruction '{name}' has no semantics")
        lines, last = self.header(head, attrs)
        lines.extend(self.code_block(last, d["semantics"], ""))
        return lines

    @staticmethod
    def header(head: str, attrs: list[str], indent: str = "") -> tuple[list[str], str]:
        """The header: as many attributes a line as fit; the lines before the last, and the last."""
        lines: list[str] = []
        cur = head
        for a in attrs:
            if "\n" in a:
                a_lines = a.split("\n")
                lines.append(cur)
                lines.append(indent + 2 * INDENT + a_lines[0])
                lines.extend(a_lines[1:-1])
                cur = a_lines[-1]
            elif len(cur) + 1 + len(a) <= WIDTH - 2:
                cur += " " + a
            else:
                lines.append(cur)
                cur = indent + 2 * INDENT + a
        return lines, cur

    # ---- formats and families (families.py) ----

    def template_attrs(self, d: dict[str, Node]) -> list[str]:
        """`params(...)`, `format NAME` and `with(...)`, as a declaration has them."""
        attrs = []
        if "params" in d:
            p = d["params"]
            if p.kind != "mapping" or not p.value:
                fail(p, "params must map parameters to their kinds")
            items = [f"{_isa_name(k, v)}: {self.name_of(v, 'a parameter kind')}" for k, v in p.value.items()]
            attrs.append("params(" + ", ".join(items) + ")")
        if "format" in d:
            attrs.append(f"format {self.name_of(d['format'], 'a format')}")
        if "with" in d:
            w = d["with"]
            if w.kind != "mapping":
                fail(w, "with must map parameters to numbers")
            items = []
            for k, v in w.value.items():
                if v.kind != "integer":
                    fail(v, f"parameter '{k}' must be a number")
                items.append(f"{_isa_name(k, v)} = {_isa_number(v)}")
            attrs.append("with(" + ", ".join(items) + ")")
        return attrs

    def text_attrs(self, d: dict[str, Node], indent: int = 4) -> list[str]:
        attrs = []
        if "mnemonic" in d:
            m = d["mnemonic"]
            if m.kind == "text" and re.fullmatch(r"[A-Za-z_]\w*", m.value):
                attrs.append(f"mnemonic {_isa_name(m.value, m)}")
            else:
                attrs.append(f"mnemonic {_isa_string(m, indent)}")
        if "prefixes" in d:  # variable-length encodings: the prefix groups it accepts
            groups = self._list(d["prefixes"], "prefixes")
            if not groups:
                fail(d["prefixes"], "prefixes must name at least one group in .isa")
            attrs.append("prefixes " + ", ".join(self.name_of(x, "a prefix group") for x in groups))
        if "syntax" in d:
            attrs.append(f"syntax {_isa_string(d['syntax'], indent)}")
        if "encoding" in d:
            attrs.append(f"encoding {_isa_string(d['encoding'], indent)}")
        if "labels" in d:
            labels = self._list(d["labels"], "labels")
            if labels:
                attrs.append("labels " + ", ".join(self.name_of(x, "a label") for x in labels))
        if "ref" in d:
            attrs.append(f"ref {_isa_string(d['ref'], indent)}")
        if d.get("description") is not None and d["description"].value is not None:
            attrs.append(_isa_string(d["description"], indent))
        return attrs

    def s_formats(self, n: Node) -> list[str]:
        if n.kind != "mapping":
            fail(n, "formats must be a mapping")
        out: list[str] = []
        for name, f in n.value.items():
            if f.kind != "mapping":
                fail(f, f"format '{name}' must be a mapping")
            d = f.value
            for k in d:
                if k not in FORMAT["format"]:
                    fail(d[k], f"unknown key '{k}' in format '{name}'")
            head = f"format {_isa_name(name, f)}"
            if "operands" in d:
                head += "(" + ", ".join(self.operand(o) for o in self._list(d["operands"], "operands")) + ")"
            lines, last = self.header(head, self.template_attrs(d) + self.text_attrs(d))
            out.extend(lines + [last])
        return out

    def family(self, name: str, n: Node) -> list[str]:
        d = n.value
        for k in d:
            if k not in FORMAT["family"]:
                fail(d[k], f"unknown key '{k}' in family '{name}'")
        if "semantics" not in d:
            fail(n, f"family '{name}' has no semantics")
        head = f"family {_isa_name(name, n)}"
        if "operands" in d:
            head += "(" + ", ".join(self.operand(o) for o in self._list(d["operands"], "operands")) + ")"
        lines, last = self.header(head, self.template_attrs(d) + self.text_attrs(d))
        lines.extend(self.code_block(last, d["semantics"], ""))
        members = d["members"]
        if members.kind != "mapping":
            fail(members, f"members of family '{name}' must be a mapping")
        lines[-1] += " members {"
        for mname, m in members.value.items():
            if m.kind != "mapping":
                fail(m, f"member '{mname}' must be a mapping")
            for k in m.value:
                if k not in FORMAT["member"]:
                    fail(m.value[k], f"unknown key '{k}' in member '{mname}'")
            mlines, mlast = self.header(
                INDENT + _isa_name(mname, m, escape=_MEMBER_WORDS),
                self.template_attrs(m.value) + self.text_attrs(m.value, 6),
                INDENT,
            )
            lines.extend(mlines + [mlast])
        lines.append("}")
        return lines

    @staticmethod
    def name_of(n: Node, what: str) -> str:
        if n.kind != "text":
            fail(n, f"{what} must be a name, not {n.kind} {n.value!r}")
        return _isa_name(n.value, n)

    @staticmethod
    def _list(n: Node, what: str) -> list[Node]:
        if n.kind != "list":
            fail(n, f"{what} must be a list")
        return n.value

    def operand(self, n: Node) -> str:
        if n.kind != "mapping" or len(n.value) != 1:
            fail(n, "an operand must be NAME: KIND")
        ((name, kind),) = n.value.items()
        if kind.kind != "text":
            fail(kind, "an operand kind must be text")
        m = re.fullmatch(r"\s*(\w+)\s*(?:\(\s*(\w+)\s*\))?(?:\s+(\w+(?:\s+\w+)?))?\s*", kind.value)
        if m is None:
            fail(kind, f"unknown operand kind '{kind.value}'")
        k = m.group(1)
        if m.group(2):
            k += f"({_isa_name(m.group(2), kind)})"
        if m.group(3):
            k += " " + " ".join(m.group(3).split())  # `pcrel` or `pcrel next`
        return f"{_isa_name(name, n)}: {k}"
