"""Syntax templates: each instruction's `syntax`, read both ways.

An instruction's `syntax` (`"ld {rd}, {off}({rs})"`) is a mnemonic keyword
and a template of its operands. `Syntax` compiles it into the regex the
assembler (`assembler.py`) matches a source line's operand text with, one
named group per operand; `disassemble` fills the same template with operand
values, so what it prints assembles back to the same word. The assembler's
names of registers (`register_name`, `register_names`) live here too: both
directions spell them the same way.

Spaces in a template are optional in the source; any other character of it
is literal. An operand's text is signed terms joined by `+` or `-`, never
containing a blank or the template's own punctuation, and the regexes are
built so that they never backtrack through a term (see `_operand_pattern`):
matching is linear in the line's length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..spec import ir
from ..spec.build_encodings import instance_units
from ..spec.memo import memo, per_isa

_MODE_CACHE: dict[ir.OperandKind, list] = {}


def memo_modes(fn):
    """Cache per operand kind (a frozen, hashable dataclass)."""

    def cached(kind: ir.OperandKind):
        got = _MODE_CACHE.get(kind)
        if got is None:
            got = _MODE_CACHE[kind] = fn(kind)
        return got

    return cached


__all__ = [
    "COMMENT_CHARS",
    "KEYWORD",
    "Syntax",
    "disassemble",
    "register_name",
    "register_names",
    "syntaxes",
]

# A mnemonic keyword or a directive: the first word of a statement.
KEYWORD = re.compile(r"\s*([A-Za-z_.][\w.]*)")
# The characters of a program line the assembler gives a meaning of its own:
# a template may not contain them.
COMMENT_CHARS = "#;"
# What an operand is never made of: the separators templates use. Blanks only
# between terms (`end - start`): operand text never starts or ends with one.
_SEPARATORS = ",()[]{}"


class Syntax:
    """One instruction's template, compiled to a regex over the operand text."""

    def __init__(self, insn: ir.Instruction):
        self.insn = insn
        m = KEYWORD.match(insn.syntax)
        assert m is not None  # the loader checked: a syntax starts with its mnemonic keyword
        self.keyword = m.group(1).lower()
        rest = insn.syntax[m.end() :]
        self.rest = rest.strip()
        # Literal punctuation of this template never belongs to an operand: `{rn}!`
        # reads `r13!` as `r13` then `!`.
        literal = re.sub(r"\{\w+\}", " ", rest)
        excluded = set(_SEPARATORS) | {c for c in literal if not c.isalnum() and not c.isspace() and c != "_"}
        excluded -= {"+", "-"}  # signs join the terms of a sum
        parts, pos = [], 0
        modal = {o.name for o in insn.operands if o.modes is not None}
        for ph in re.finditer(r"\{(\w+)\}", rest):
            parts.append(_literal(rest[pos : ph.start()]))
            if ph.group(1) in modal:
                parts.append(_MODAL.format(name=ph.group(1)))
            else:
                parts.append(_operand_pattern(ph.group(1), excluded))
            pos = ph.end()
        parts.append(_literal(rest[pos:]))
        # Runs of `\s*` collapse into one: two optional-blank runs side by side
        # let the regex split a long run of blanks every possible way.
        pattern = re.sub(r"(?:\\s\*){2,}", lambda m: r"\s*", r"\s*" + "".join(parts) + r"\s*")
        self.regex = re.compile(pattern + r"\Z")
        # The words of the template itself (`sr` in `move.w sr, {dst}`).
        self.words = {w.lower() for w in re.findall(r"[A-Za-z_][\w.]*", literal)}

    def shape(self) -> str:
        """The template as a user would read it: `ld RD, OFF(RS)`."""
        text = re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), self.rest)
        return f"{self.keyword} {text}".strip()


# An operand with addressing modes (`(a0)+`, `[eax+8]`, `#5`): its text runs
# to the next comma or the end of the line, and `ModeSyntax` reads it.
_MODAL = r"(?P<o_{name}>[^,\s](?:[^,]*[^,\s])?)"


class ModeSyntax:
    """One addressing mode's template (`({n})+`), compiled to a regex over
    an operand's text, one named group per field."""

    def __init__(self, mode: ir.AddressingMode):
        self.mode = mode
        literal = re.sub(r"\{\w+\}", " ", mode.syntax)
        excluded = set(_SEPARATORS) | {c for c in literal if not c.isalnum() and not c.isspace() and c != "_"}
        excluded -= {"+", "-"}
        parts, pos = [], 0
        for ph in re.finditer(r"\{(\w+)\}", mode.syntax):
            parts.append(_literal(mode.syntax[pos : ph.start()]))
            parts.append(_operand_pattern(ph.group(1), excluded))
            pos = ph.end()
        parts.append(_literal(mode.syntax[pos:]))
        pattern = re.sub(r"(?:\\s\*){2,}", lambda m: r"\s*", r"\s*" + "".join(parts) + r"\s*")
        self.regex = re.compile(pattern + r"\Z")


@memo_modes
def mode_syntaxes(kind: ir.OperandKind) -> list[ModeSyntax]:
    """Each mode of `kind`, compiled (once per kind)."""
    return [ModeSyntax(m) for m in kind.modes]


def uses_immediate_marks(isa: ir.Isa) -> bool:
    """Does some template write an operand after `#` (`#{v}`)? Then a `#`
    followed by a non-blank is text in a program line, not a comment."""
    return any("#{" in i.syntax for i in isa.instructions) or any(
        m.syntax.startswith("#") for k in isa.operand_kinds for m in k.modes
    )


def _literal(text: str) -> str:
    # Spaces in a template are optional in the source; everything else is literal.
    return r"\s*" + "".join(re.escape(t) + r"\s*" for t in text.split())


def _operand_pattern(name: str, excluded: set[str]) -> str:
    """An operand: signed terms joined by + or -, blanks only around the signs.

    A term is possessive (`++`) and cannot contain a blank, a sign or the
    template's punctuation, so the regex never backtracks through a term: a
    line of 1,500 blanks took 24 s with the earlier lazy `[^,()]+?`.
    """
    chars = "".join(re.escape(c) for c in sorted(excluded))
    term = rf"[^\s+\-{chars}]++"
    # Blanks only after a sign: `[+-]?\s*` beside the template's own `\s*` would
    # be two blank runs side by side, which split a long run every possible way.
    return rf"(?P<o_{name}>(?:[+-]\s*)?{term}(?:\s*[+-]\s*{term})*)"


@per_isa
def syntaxes(isa: ir.Isa) -> dict[str, list[Syntax]]:
    """Every instruction's compiled template, by mnemonic keyword (lower
    case), in spec order; built once per ISA."""
    cached: dict[str, list[Syntax]] = {}
    for insn in isa.instructions:
        s = Syntax(insn)
        cached.setdefault(s.keyword, []).append(s)
    return cached


def register_names(isa: ir.Isa, file: str) -> dict[str, int]:
    """Assembler names of a file's registers (lower case) -> index: both
    `<file><i>` and the file's own names. Built once per ISA and file (a
    file may have 65,536 registers: not something to rebuild per operand)."""
    cache = memo(isa).setdefault("assembler.regnames", {})
    names = cache.get(file)
    if names is None:
        el = isa.element(file)
        names = {f"{el.name}{i}".lower(): i for i in range(file_size(el))}
        names.update({n.lower(): i for i, n in enumerate(el.names)})
        cache[file] = names
    return names


def file_size(file: ir.Element) -> int:
    """How many registers the register file `file` has (a scalar element
    is no file: an internal error to ask)."""
    assert file.count is not None, f"{file.name} is not a register file"
    return file.count


def operand_file(isa: ir.Isa, od: ir.OperandDef) -> ir.Element:
    """The register file a register operand (`kind` "reg") names."""
    assert od.file is not None, f"operand {od.name} is not a register"
    return isa.element(od.file)


def register_name(file: ir.Element, i: int) -> str:
    """Register i of a file as the assembler writes it."""
    if file.names and i < len(file.names):
        return file.names[i]
    return f"{file.name}{i}"


def disassemble(isa: ir.Isa, insn: ir.Instruction, ops: Sequence[int], address: int | None = None) -> str:
    """`insn` with operand values `ops` in its own syntax; reassembles to the
    same word (a pcrel operand is shown as its target when `address` is known)."""
    vals = {}
    lead = []  # a variable-length instance's prefixes, written before the mnemonic
    by_name = dict(zip((o.name for o in insn.operands), ops))
    for od, x in zip(insn.operands, ops):
        if od.of:
            continue  # a mode's field: written in its mode's syntax
        if od.modes is not None:
            mode = od.modes.modes[min(x, len(od.modes.modes) - 1)]
            fields = {f.name: _shown(isa, f, by_name[f"{od.name}_{f.name}"], None) for f in mode.fields}
            vals[od.name] = _filled(mode.syntax, fields)
            continue
        if od.kind == "prefix":
            group = next(g for g in isa.prefixes if g.name == od.name)
            if 0 < x <= len(group.prefixes):
                lead.append(group.prefixes[x - 1].name)
            continue
        if od.pcrel_next and address is not None:  # counts from the next instruction
            vals[od.name] = _shown(isa, od, x, address + instance_units(isa, insn, list(ops)))
            continue
        vals[od.name] = _shown(isa, od, x, address)
    return " ".join(lead + [re.sub(r"\{(\w+)\}", lambda m: vals[m.group(1)], insn.syntax)])


def _shown(isa: ir.Isa, od: ir.OperandDef, x: int, address: int | None) -> str:
    """One operand value as the assembler reads it back."""
    if od.kind == "reg":
        el = operand_file(isa, od)
        return register_name(el, x) if x < (el.count or 0) else f"?{x}"
    if od.signed and x >> (od.width - 1):
        x -= 1 << od.width
    if od.pcrel and address is not None:
        return str(address + x)
    return str(x) if -1024 <= x <= 1024 else (f"{x:#x}" if x >= 0 else f"-{-x:#x}")


def _filled(template: str, values: dict[str, str]) -> str:
    """`template` with each `{name}` replaced by its value's text."""
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
