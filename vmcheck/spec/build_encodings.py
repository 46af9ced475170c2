"""Variable-length encodings: prefix groups, each entry's own length, the
length expression the semantics advance the pc by, and the ambiguity check.

With `insn_width: variable` an entry's `encoding` may be any whole number
of storage units; it is written first unit first (each unit most
significant bit first), so the text reads as the bytes do in memory. A
spec may declare `prefixes`: groups of optional leading patterns, of which
an instance carries at most one per group, in any order. An entry names the
groups it accepts; each becomes a hidden operand of the entry (kind
"prefix": 0 absent, k the group's k-th prefix) that the semantics read by the
group's name, and that the engine quantifies over like any operand.

The decoder (`machine/decode.py`) strips prefixes, then takes the entry
whose pattern matches the units that follow; when several match it takes
the most specific: the one whose set of matching unit strings lies strictly
inside every other's. Two entries are therefore *ambiguous* when some unit
string matches both and neither set lies strictly inside the other; the
loader reports every such pair, with both encodings' places.
"""

from __future__ import annotations

import re

from ..errors import Collector
from . import ir
from .node_checks import NodeChecks, Skip
from .nodes import Node

MAX_UNITS = 64  # units in one entry's encoding or one prefix: a bound on decode work

_BITS = re.compile(r"[01_]*[01][01_]*")


def encoding_bits(text: str, operands: dict[str, ir.OperandDef]) -> int:
    """Bits an encoding text spells (tokens that are neither bits nor an
    operand slice count 0: the full parse reports them)."""
    total = 0
    for tok in text.replace(",", " ").split():
        if _BITS.fullmatch(tok):
            total += len(tok.replace("_", ""))
            continue
        m = re.fullmatch(r"(\w+)(?:\[(\d{1,5})(?::(\d{1,5}))?\])?", tok)
        if m and m.group(1) in operands:
            o = operands[m.group(1)]
            ow = o.modes.bits if o.modes else o.width
            hi = int(m.group(2)) if m.group(2) else ow - 1
            lo = int(m.group(3)) if m.group(3) else (hi if m.group(2) else 0)
            total += max(0, hi - lo + 1)
    return total


def length_expr(
    units: int, groups: list[ir.PrefixGroup], word: int, mode_ops: list[ir.OperandDef] | None = None
) -> ir.Expr:
    """The instance's length in units (word wide): the entry's units plus the
    units of each prefix present and each mode operand's extension. The
    semantics' pc advance and `insn_len`."""
    expr: ir.Expr = ir.Lit(units & ir.mask(word), word)
    for o in mode_ops or []:
        assert o.modes is not None
        lens = [m.extension.units if m.extension else 0 for m in o.modes.modes]
        if not any(lens):
            continue
        ext: ir.Expr = ir.Lit(lens[-1], word)
        for i in range(len(lens) - 2, -1, -1):
            ext = ir.Ite(
                ir.Bin("eq", ir.Operand(o.name, o.width), ir.Lit(i, o.width), ir.BOOL),
                ir.Lit(lens[i], word),
                ext,
                word,
            )
        expr = ir.Bin("add", expr, ext, word)
    for g in groups:
        w = prefix_operand_width(g)
        part: ir.Expr = ir.Lit(0, word)
        # Innermost first, so the chain reads prefix 1, 2, ... from the outside.
        for k in range(len(g.prefixes), 0, -1):
            p = g.prefixes[k - 1]
            part = ir.Ite(ir.Bin("eq", ir.Operand(g.name, w), ir.Lit(k, w), ir.BOOL), ir.Lit(p.units, word), part, word)
        expr = ir.Bin("add", expr, part, word)
    return expr


def prefix_operand_width(g: ir.PrefixGroup) -> int:
    return max(1, len(g.prefixes).bit_length())


def prefix_operand(g: ir.PrefixGroup, span) -> ir.OperandDef:
    """The hidden operand of an entry that accepts group `g`."""
    w = prefix_operand_width(g)
    n = len(g.prefixes) + 1
    return ir.OperandDef(g.name, "prefix", w, None, False, False, span, n if n < (1 << w) else 0)


class EncodingBuilder(NodeChecks):
    """The `prefixes` block and the checks of a variable-length ISA."""

    def prefix_groups(self, node: Node, unit: int, reserved: set[str]) -> tuple[ir.PrefixGroup, ...]:
        if node.kind != "mapping" or not node.value:
            self.fail(node.span, 'prefixes must map each group to its prefixes, like {seg: {es: "00100110"}}')
        out: list[ir.PrefixGroup] = []
        spelled: dict[str, str] = {}
        for gname, gnode in node.value.items():
            gspan = node.key_spans.get(gname, gnode.span)
            try:
                self.name_key(node, gname)
                if gname in reserved:
                    self.fail(gspan, f"prefix group '{gname}' has the name of a state element or a reserved name")
                if gnode.kind != "mapping" or not gnode.value:
                    self.fail(gnode.span, f"prefix group '{gname}' must map each prefix's name to its bits")
                prefixes = []
                for pname, pnode in gnode.value.items():
                    pspan = gnode.key_spans.get(pname, pnode.span)
                    self.name_key(gnode, pname)
                    if pname in spelled:
                        self.fail(pspan, f"prefix '{pname}' is declared twice (also in group '{spelled[pname]}')")
                    spelled[pname] = gname
                    prefixes.append(self.prefix(pname, pnode, unit, pspan))
                out.append(ir.PrefixGroup(gname, tuple(prefixes), gspan))
            except Skip:
                pass
        return tuple(out)

    def prefix(self, name: str, node: Node, unit: int, span) -> ir.Prefix:
        text = self.str_(node, f"prefix '{name}'")
        toks = text.replace(",", " ").split()
        if not toks or not all(_BITS.fullmatch(t) for t in toks):
            self.fail(node.span, f"prefix '{name}': {text!r} is not a pattern of fixed bits", 'e.g. es: "0010_0110"')
        bits = "".join(toks).replace("_", "")
        if len(bits) % unit or not 0 < len(bits) // unit <= MAX_UNITS:
            self.fail(
                node.span,
                f"prefix '{name}' has {len(bits)} bits; a prefix is 1 to {MAX_UNITS} whole storage units of {unit} bits",
            )
        return ir.Prefix(name, int(bits, 2), len(bits) // unit, span)

    def variable_encoding(self, node: Node, operands: list[ir.OperandDef], unit: int) -> ir.Encoding:
        """An entry's encoding in a variable-length ISA: its own whole number of units."""
        text = self.str_(node, "encoding")
        ops = {o.name: o for o in operands}
        bits = encoding_bits(text, ops)
        if bits == 0 or bits % unit or bits // unit > MAX_UNITS:
            self.fail(
                node.span,
                f"encoding has {bits} bits; in a variable-length ISA an encoding is 1 to {MAX_UNITS} "
                f"whole storage units of {unit} bits",
            )
        enc = self.encoding(node, operands, bits)  # type: ignore[attr-defined]  # InstructionBuilder's
        return ir.Encoding(enc.fixed, enc.fixed_mask, enc.pieces, False, bits // unit, node.span)


def check_variable(insns: list[ir.Instruction], groups: tuple[ir.PrefixGroup, ...], unit: int, errors: Collector):
    """Every ambiguous pair of entries, and every prefix that could be read as
    the start of an entry or of another prefix: the decoder could not tell."""
    for i, a in enumerate(insns):
        for b in insns[i + 1 :]:
            ea, eb = a.encoding, b.encoding
            rel = relation(ea.fixed, ea.fixed_mask, ea.units, eb.fixed, eb.fixed_mask, eb.units, unit)
            if rel == "ambiguous":
                errors.error(
                    eb.span or b.span,
                    f"the encoding of '{b.name}' overlaps that of '{a.name}' ({_where(ea.span or a.span)}) "
                    "and neither is more specific",
                    "some unit string matches both; make one pattern's fixed bits a strict superset "
                    "of the other's, or make them differ in a fixed bit",
                )
    pats = [
        (f"prefix '{p.name}'", p.fixed, ir.mask(p.units * unit), p.units, p.span) for g in groups for p in g.prefixes
    ]
    for k, (what, f, m, n, span) in enumerate(pats):
        for what2, f2, m2, n2, span2 in pats[k + 1 :]:
            if relation(f, m, n, f2, m2, n2, unit) != "disjoint":
                errors.error(span2, f"{what2} overlaps {what} ({_where(span)})", "prefixes must differ in a fixed bit")
        for insn in insns:
            e = insn.encoding
            if relation(f, m, n, e.fixed, e.fixed_mask, e.units, unit) != "disjoint":
                errors.error(
                    e.span or insn.span,
                    f"the encoding of '{insn.name}' can begin like {what} ({_where(span)})",
                    "the decoder reads such units as the prefix: make the entry's first units differ from it",
                )


def relation(f1: int, m1: int, n1: int, f2: int, m2: int, n2: int, unit: int) -> str:
    """How the unit strings two patterns match relate: "disjoint", "inside"
    (the first's strictly inside the second's), "contains" (the reverse), or
    "ambiguous" (they share a string and neither is strictly inside)."""
    n = min(n1, n2)
    s1, s2 = (n1 - n) * unit, (n2 - n) * unit
    p1, q1, p2, q2 = f1 >> s1, m1 >> s1, f2 >> s2, m2 >> s2
    if (p1 ^ p2) & q1 & q2:
        return "disjoint"
    in_2 = n1 >= n2 and q2 & ~q1 == 0  # every string matching 1 matches 2
    in_1 = n2 >= n1 and q1 & ~q2 == 0
    if in_2 and not in_1:
        return "inside"
    if in_1 and not in_2:
        return "contains"
    return "ambiguous"


def _where(span) -> str:
    return f"line {span.line}, column {span.col}" if span is not None else "elsewhere"


def instance_units(isa: ir.Isa, insn: ir.Instruction, ops: tuple[int, ...] | list[int]) -> int:
    """Storage units of one instance (operand values in declaration order):
    the concrete value of `insn.length`; `isa.insn_units` in a fixed-width ISA."""
    if not isa.variable_length:
        return isa.insn_units
    n = insn.encoding.units
    for o, x in zip(insn.operands, ops):
        if o.modes is not None:
            m = o.modes.modes[min(x, len(o.modes.modes) - 1)]  # (an out-of-range number reads as the last mode)
            n += m.extension.units if m.extension else 0
    if insn.prefixes:
        groups = {g.name: g for g in isa.prefixes}
        values = dict(zip((o.name for o in insn.operands), ops))
        for gname in insn.prefixes:
            k = values.get(gname, 0)
            if 0 < k <= len(groups[gname].prefixes):
                n += groups[gname].prefixes[k - 1].units
    return n
