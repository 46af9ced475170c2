"""Operand kinds with addressing modes (68k `(An)+`, VAX specifiers, x86 ModRM).

`operand_kinds` declares a kind: the width of what it reads or writes, the
bits it takes in an instruction's encoding, and its modes. A mode has
fields (operands of their own), its bits (`encoding`, filling the kind's
`bits`), optionally units it appends after the instruction (`extension`,
variable-length ISAs only), its assembler `syntax`, and either a `value`
(`d[n]`, `v`) or an `address` (`a[n] + sext(d, 16)`) with an optional
`effect` (`a[n] = a[n] + 2`).

An instruction operand of the kind (`src: ea`) becomes, in the IR, an
operand `src` holding the mode's number (0, 1, ... in declaration order)
and one operand `src_F` per field F of any mode, so the engine quantifies
over the mode like over any operand. Its meaning is written into the
instruction's semantics when it is elaborated:

* before the body, for each such operand in order, its address is computed
  (`let`) and its mode's effect runs, so a later operand and the body see
  the effect (`move.w (a0)+, (a0)+` reads at a0 and writes at a0 + 2);
* reading `src` in the body is the mode's value, or storage at the address;
* `src = e` writes the mode's value (which must then be a place: a register,
  a field, a slice) or storage at the address.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import ir
from . import surface as s
from .build_encodings import encoding_bits
from .elaborate import Elaborator
from .node_checks import NodeChecks, Skip
from .nodes import Node
from .scope import Scope
from .semantics_parser import parse_block, parse_expr


class ModeBuilder(NodeChecks):
    """The `operand_kinds` block, and what an operand of a kind means."""

    kind_decls: dict[str, ir.OperandKind] = {}  # noqa: RUF012 - replaced per spec (see operand_kinds)
    # kind -> mode -> (value or address text node, effect node or None)
    kind_texts: dict[str, dict[str, tuple[Node, Node | None]]] = {}  # noqa: RUF012
    kind_unit: int = 8
    kind_counts: dict[str, int] = {}  # noqa: RUF012 - register file sizes, replaced per spec

    def operand_kinds(self, node: Node, elements, variable_unit: int, unit: int, reserved: set[str]) -> None:
        self.kind_unit = unit
        self.kind_counts = {e.name: e.count or 0 for e in elements.values()}
        if node.kind != "mapping" or not node.value:
            self.fail(node.span, "operand_kinds must map each kind's name to its declaration")
        self.kind_decls, self.kind_texts = {}, {}
        for kname, knode in node.value.items():
            kspan = node.key_spans.get(kname, knode.span)
            try:
                self.name_key(node, kname)
                if kname in reserved or kname.startswith(("reg", "imm", "simm", "uimm")):
                    self.fail(
                        kspan,
                        f"operand kind '{kname}' has a reserved name or starts like a built-in kind",
                        "a kind's name does not start with reg, imm, simm or uimm",
                    )
                self.kind_decls[kname] = self.operand_kind(kname, knode, kspan, elements, variable_unit)
            except Skip:
                pass

    def operand_kind(self, name: str, node: Node, span, elements, variable_unit: int) -> ir.OperandKind:
        d = self.mapping(node, "operand_kind", f"operand kind '{name}'")
        for key in ("width", "bits", "modes"):
            if key not in d:
                self.fail(span, f"operand kind '{name}' needs '{key}'")
        width = self.int_(d["width"], f"the width of '{name}'", 1, 4096)
        bits = self.int_(d["bits"], f"the bits of '{name}'", 1, 64)
        mnode = d["modes"]
        if mnode.kind != "mapping" or not mnode.value:
            self.fail(mnode.span, f"the modes of '{name}' must map each mode's name to its declaration")
        modes: list[ir.AddressingMode] = []
        texts: dict[str, tuple[Node, Node | None]] = {}
        for mname, mn in mnode.value.items():
            try:
                self.name_key(mnode, mname)
                mode, text = self.addressing_mode(
                    name, mname, mn, mnode.key_spans.get(mname, mn.span), elements, bits, variable_unit
                )
                modes.append(mode)
                texts[mname] = text
            except Skip:
                pass
        if not modes:
            raise Skip()
        # A field named twice must mean the same operand in every mode.
        # (Register fields may name different files of one size: 68k `n` is Dn or An.)
        seen: dict[str, ir.OperandDef] = {}
        for m in modes:
            for f in m.fields:
                g = seen.setdefault(f.name, f)
                if (g.kind, g.width, g.signed, self._count(g)) != (f.kind, f.width, f.signed, self._count(f)):
                    self.fail(
                        f.span,
                        f"field '{f.name}' of mode '{m.name}' differs from the field of that name in another mode",
                    )
        for i, a in enumerate(modes):
            for b in modes[i + 1 :]:
                ea, eb = a.encoding, b.encoding
                if mode_overlap(ea, eb) == "ambiguous":
                    self.errors.error(
                        b.span, f"the encoding of mode '{b.name}' overlaps that of mode '{a.name}' and neither is more specific",
                        "the modes of a kind differ in a fixed bit, or one fixes every bit the other fixes "
                        "and more (x86: rm = 100 is the SIB form, not [esp])",
                    )  # fmt: skip
        if variable_unit == 0 and any(m.extension for m in modes):
            self.fail(span, f"operand kind '{name}' has extension units, which need insn_width: variable")
        if any(m.reads == "address" for m in modes) and width % self.kind_unit:
            self.fail(d["width"].span, f"the width of '{name}' is not a whole number of storage units")
        self.kind_texts[name] = texts
        return ir.OperandKind(name, width, bits, tuple(modes), span)

    def _count(self, f: ir.OperandDef) -> int:
        return self.kind_counts.get(f.file or "", 0)

    def addressing_mode(self, kind: str, name: str, node: Node, span, elements, bits: int, variable_unit: int):
        d = self.mapping(node, "addressing_mode", f"mode '{name}' of '{kind}'")
        if "fields" in d and d["fields"].kind != "list":
            self.fail(d["fields"].span, "fields must be a list like [n: reg(a), d: simm16]")
        fields = self.operands(d.get("fields"), elements)  # type: ignore[attr-defined]  # InstructionBuilder's
        for f in fields:
            if f.pcrel:
                self.fail(f.span, "a field of an addressing mode cannot be pcrel")
        if "encoding" not in d or "syntax" not in d:
            self.fail(span, f"mode '{name}' of '{kind}' needs 'encoding' and 'syntax'")
        got = encoding_bits(self.str_(d["encoding"], "encoding"), {f.name: f for f in fields})
        if got != bits:
            self.fail(
                d["encoding"].span, f"the encoding of mode '{name}' has {got} bits; kind '{kind}' has bits: {bits}"
            )
        encoding = self.encoding(d["encoding"], fields, bits)  # type: ignore[attr-defined]
        extension = None
        if "extension" in d:
            if not variable_unit:
                self.fail(d["extension"].span, "an extension needs insn_width: variable")
            extension = self.variable_encoding(d["extension"], fields, variable_unit)  # type: ignore[attr-defined]
        used = {p[0] for p in encoding.pieces} | ({p[0] for p in extension.pieces} if extension else set())
        for f in fields:
            if f.name not in used:
                self.fail(f.span, f"field '{f.name}' of mode '{name}' is in neither its encoding nor its extension")
        syntax = self.mode_syntax(d["syntax"], fields)
        if ("value" in d) == ("address" in d):
            self.fail(span, f"mode '{name}' of '{kind}' gives either a value or an address (exactly one)")
        reads = "value" if "value" in d else "address"
        if "effect" in d and reads == "value":
            self.fail(d["effect"].span, "only a mode with an address has an effect")
        mode = ir.AddressingMode(name, tuple(fields), encoding, extension, syntax, reads, span)
        return mode, (d[reads], d.get("effect"))

    def mode_syntax(self, node: Node, fields: list[ir.OperandDef]) -> str:
        text = self.str_(node, "syntax").strip()
        used = re.findall(r"\{(\w+)\}", text)
        names = [f.name for f in fields]
        for u in used:
            if u not in names:
                self.fail(node.span, f"syntax names '{{{u}}}', which is not a field of the mode")
        for n in names:
            if used.count(n) != 1:
                self.fail(node.span, f"syntax must contain {{{n}}} exactly once")
        # An operand of a mode is delimited by commas in a program line, and
        # ';' starts a comment there; '#' does too, except as an immediate's mark.
        if not text or "," in text or ";" in text or "#" in text[1:]:
            self.fail(
                node.span, "a mode's syntax is not empty and has no ',' or ';', and '#' only as its first character"
            )
        stray = re.sub(r"\{\w+\}", "", text)
        if "{" in stray or "}" in stray:
            self.fail(node.span, "syntax has a '{' or '}' that is not part of a field {name}")
        return text

    # ---- an instruction's operand of a kind ----------------------------------------

    def mode_operands(self, oname: str, kind: ir.OperandKind, span) -> list[ir.OperandDef]:
        """The IR operands of instruction operand `oname` of `kind`: the mode's
        number, then one per field name (first appearance order)."""
        k = len(kind.modes)
        w = max(1, (k - 1).bit_length())
        out = [ir.OperandDef(oname, "mode", w, None, False, False, span, k if k < (1 << w) else 0, kind)]
        seen: set[str] = set()
        for m in kind.modes:
            for f in m.fields:
                if f.name not in seen:
                    seen.add(f.name)
                    out.append(
                        ir.OperandDef(
                            f"{oname}_{f.name}", f.kind, f.width, f.file, f.signed, False, span, 0, None, oname
                        )
                    )
        return out

    def mode_meaning(
        self, el: Elaborator, oname: str, kind: ir.OperandKind, scope: Scope, word: int, span
    ) -> tuple[list[ir.Stmt], ir.Expr, Callable[[s.AssignStmt, Scope], list[ir.Stmt]]]:
        """For operand `oname` of `kind`: the statements run before the body
        (its address, its effect), the expression that reads it, and the
        writer of `oname = e`."""
        texts = self.kind_texts[kind.name]
        sel = ir.Operand(oname, max(1, (len(kind.modes) - 1).bit_length()))

        def field_scope(m: ir.AddressingMode) -> Scope:
            sc = scope.child()
            for f in m.fields:
                sc.bindings[f.name] = ir.Operand(f"{oname}_{f.name}", f.width, span)
            return sc

        def is_mode(i: int) -> ir.Expr:
            return ir.Bin("eq", sel, ir.Lit(i, sel.width), ir.BOOL)

        def chain(parts: list[ir.Expr], width: int) -> ir.Expr:
            out = parts[-1]
            for i in range(len(parts) - 2, -1, -1):
                out = ir.Ite(is_mode(i), parts[i], out, width)
            return out

        def expr_of(m: ir.AddressingMode, want: int) -> ir.Expr:
            node = texts[m.name][0]
            e = self.parsed(node, m.reads, parse_expr)
            v = el.value(e, field_scope(m), want=want)
            if v.width != want:
                self.fail(node.span, f"the {m.reads} of mode '{m.name}' is {v.width} bits, not {want}")
            return v

        addrs = [expr_of(m, word) if m.reads == "address" else ir.Lit(0, word) for m in kind.modes]
        prelude: list[ir.Stmt] = []
        addr: ir.Expr = ir.Lit(0, word)
        if any(m.reads == "address" for m in kind.modes):
            local = el._local(f"{oname}_addr", word, span)
            prelude.append(ir.Let(local.name, chain(addrs, word), span))
            addr = local
        for i, m in enumerate(kind.modes):
            eff = texts[m.name][1]
            if eff is not None:
                body = el.block(self.parsed(eff, "effect", parse_block), field_scope(m))
                prelude.append(ir.If(is_mode(i), body, (), span))
        values = [
            expr_of(m, kind.width) if m.reads == "value" else ir.Mem("mem", addr, kind.width, None, span)
            for m in kind.modes
        ]
        read = chain(values, kind.width)
        # `addr(oname)` in the body: where the operand is (LEA, x86's m16:32).
        el.operand_addresses[oname] = (read, addr, [m.name for m in kind.modes if m.reads != "address"])

        def write(st: s.AssignStmt, sc: Scope) -> list[ir.Stmt]:
            v = el.value(st.value, sc, want=kind.width, bool_to_bit=kind.width == 1)
            if v.width != kind.width:
                el.fail(
                    st.value.span or st.span, f"width mismatch: '{oname}' is {kind.width} bits, the value {v.width}"
                )
            tmp = el._local(f"{oname}_new", kind.width, st.span)
            branches: list[tuple[ir.Stmt, ...]] = []
            for m in kind.modes:
                if m.reads == "address":
                    target: ir.Target = ir.MemTarget("mem", addr, kind.width, None, st.span)
                else:
                    node = texts[m.name][0]
                    e = self.parsed(node, "value", parse_expr)
                    if isinstance(e, s.Name) and e.name in {f.name for f in m.fields}:
                        el.fail(
                            st.span,
                            f"'{oname}' is written, but its mode '{m.name}' gives a value, not a place",
                            f"give written operands a kind without mode '{m.name}'",
                        )
                    target = el.target(e, field_scope(m))
                branches.append((ir.Assign(target, ir.Local(tmp.name, kind.width), st.span),))
            out: tuple[ir.Stmt, ...] = branches[-1]
            for i in range(len(branches) - 2, -1, -1):
                out = (ir.If(is_mode(i), branches[i], out, st.span),)
            return [ir.Let(tmp.name, v, st.span), *out]

        return prelude, read, write


def mode_overlap(a: ir.Encoding, b: ir.Encoding) -> str:
    """How two modes' bit patterns (within a kind's bits) relate: "disjoint"
    (they differ in a fixed bit), "inside" (every pattern `a` matches, `b`
    matches too, and `a` fixes more bits: `a` is the more specific and is
    taken where both match), "contains" (the reverse) or "ambiguous"."""
    if (a.fixed ^ b.fixed) & a.fixed_mask & b.fixed_mask:
        return "disjoint"
    if a.fixed_mask != b.fixed_mask and b.fixed_mask & ~a.fixed_mask == 0:
        return "inside"
    if a.fixed_mask != b.fixed_mask and a.fixed_mask & ~b.fixed_mask == 0:
        return "contains"
    return "ambiguous"
