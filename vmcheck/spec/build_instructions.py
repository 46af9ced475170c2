"""Building instructions: operands, semantics, assembler syntax and encodings.

Each instruction's declaration is checked and its semantics elaborated
(`elaborate.py`); `assign_encodings` then gives an encoding to each
instruction that has none and checks that no two encodings overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import Collector, Diagnostic, Span
from . import ir
from .build_encodings import EncodingBuilder, check_variable, length_expr, prefix_operand
from .build_modes import ModeBuilder
from .elaborate import Elaborator
from .elaborate_expr import Abort
from .families import FamilyBuilder, substitute
from .format_keys import LABELS
from .node_checks import Skip
from .nodes import Node
from .scope import Scope
from .semantics_parser import parse_block

_OPERAND_RE = re.compile(
    r"^(?:(?P<reg>reg)(?:\((?P<file>\w+)\))?|(?P<kind>s?imm|uimm)(?P<w>\d{1,5}))(?P<pcrel>\s+pcrel(?P<next>\s+next)?)?$"
)


class InstructionBuilder(ModeBuilder, EncodingBuilder, FamilyBuilder):
    """The `instructions` of a spec."""

    # A variable-length ISA (`insn_width: variable`): its storage unit and
    # prefix groups. Set by the spec builder before `instructions` runs.
    variable_unit: int = 0
    prefix_decls: tuple[ir.PrefixGroup, ...] = ()

    def instructions(
        self, node: Node, el: Elaborator, elements, insn_width: int, formats=None
    ) -> tuple[ir.Instruction, ...]:
        if node.kind != "mapping" or not node.value:
            self.fail(node.span, "instructions must map each instruction's name to its declaration")
        built: list[DeclaredInstruction] = []
        seen: dict[str, Span | None] = {}
        # families and format uses expanded in place (families.py)
        for x in self.expand(node, formats or {}):
            if x.name in seen:
                first = seen[x.name]
                self.errors.error(
                    x.kspan,
                    f"instruction '{x.name}' is declared twice" + (f" (first at line {first.line})" if first else ""),
                )
                continue
            seen[x.name] = x.kspan
            try:
                built.append(self.instruction(x.name, x.node, x.kspan, el, elements, insn_width, x.values, x.family))
            except Skip:
                pass
        if self.variable_unit:
            out = [i.encoded(i.encoding) for i in built if i.encoding is not None]
            check_variable(out, self.prefix_decls, self.variable_unit, self.errors)
            return tuple(out)
        return tuple(assign_encodings(built, insn_width, self.errors))

    def accepted_prefixes(self, node: Node | None, operands: list[ir.OperandDef]) -> list[ir.PrefixGroup]:
        """The prefix groups an entry accepts (`prefixes: [seg, rep]`)."""
        if node is None:
            return []
        if not self.variable_unit:
            self.fail(node.span, "prefixes need a variable-length ISA", "declare insn_width: variable")
        if node.kind != "list":
            self.fail(node.span, "prefixes must be a list of prefix groups, like [seg, rep]")
        groups = {g.name: g for g in self.prefix_decls}
        out: list[ir.PrefixGroup] = []
        for item in node.value:
            gname = self.str_(item, "a prefix group")
            if gname not in groups:
                self.fail(item.span, f"unknown prefix group '{gname}'", f"groups: {', '.join(groups) or 'none'}")
            if any(g.name == gname for g in out):
                self.fail(item.span, f"prefix group '{gname}' is listed twice")
            if any(o.name == gname for o in operands):
                self.fail(item.span, f"prefix group '{gname}' has the name of an operand of this instruction")
            out.append(groups[gname])
        return out

    def instruction(
        self,
        name: str,
        node: Node,
        kspan: Span | None,
        el: Elaborator,
        elements: dict[str, ir.Element],
        insn_width: int,
        values: dict[str, int] | None = None,
        family: ir.Membership | None = None,
    ) -> DeclaredInstruction:
        d = self.mapping(node, "instruction", f"instruction '{name}'")
        mnemonic = self.str_(d["mnemonic"], "mnemonic") if "mnemonic" in d else name.upper()
        if not (0 < len(mnemonic) <= 80 and mnemonic.isprintable()):
            self.fail(d["mnemonic"].span, f"a mnemonic is 1-80 printable characters on one line, not {mnemonic[:80]!r}")
        operands = self.operands(d.get("operands"), elements)
        written = [o for o in operands if not o.of]  # what the syntax and the encoding name
        groups = self.accepted_prefixes(d.get("prefixes"), operands)
        operands += [prefix_operand(g, d["prefixes"].span) for g in groups]
        if any(o.name == "insn_len" for o in operands):
            self.fail(next(o.span for o in operands if o.name == "insn_len"), "'insn_len' is reserved")
        scope = Scope({o.name: ir.Operand(o.name, o.width, o.span) for o in operands})
        # `insn_len`: the instance's length in storage units, one word wide.
        if self.variable_unit:
            if "encoding" not in d:
                self.fail(kspan, f"'{name}' has no encoding; in a variable-length ISA every instruction needs one")
            enc0 = self.variable_encoding(d["encoding"], written, self.variable_unit)
            var_length = length_expr(enc0.units, groups, el.decls.word, [o for o in operands if o.modes])
            scope.bindings["insn_len"] = var_length
            length: ir.Expr | None = var_length
        else:
            length = None
            scope.bindings["insn_len"] = ir.Lit((insn_width // el.decls.unit) & ir.mask(el.decls.word), el.decls.word)
        labels: frozenset[str] = frozenset()
        if "labels" in d:
            ln = d["labels"]
            if ln.kind != "list":
                self.fail(ln.span, "labels must be a list")
            for lab in ln.value:
                t = self.str_(lab, "a label")
                if t not in LABELS:
                    self.errors.error(lab.span, f"unknown label '{t}'", f"labels: {', '.join(LABELS)}")
            labels = frozenset(lab.value for lab in ln.value if lab.value in LABELS)
        if "semantics" not in d:
            raise Skip()
        stmts = self.parsed(d["semantics"], "semantics", parse_block)
        if values:  # a family member or a format use: its parameters are numbers now
            stmts = substitute(stmts, values)
        n_before = len(self.errors.diagnostics)
        prelude: list[ir.Stmt] = []
        el.operand_writers = {}
        el.operand_addresses = {}
        for o in operands:
            if o.modes is not None:
                try:
                    before, read, write = self.mode_meaning(el, o.name, o.modes, scope, el.decls.word, o.span)
                except Abort:
                    raise Skip() from None
                prelude += before
                scope.bindings[o.name] = read
                el.operand_writers[o.name] = (read, write)
        body = tuple(prelude) + el.block(stmts, scope)
        el.operand_writers = {}
        el.operand_addresses = {}
        if len(self.errors.diagnostics) > n_before:
            if family is not None:  # an error in the family's shared text: name the member
                for i in range(n_before, len(self.errors.diagnostics)):
                    dg = self.errors.diagnostics[i]
                    self.errors.diagnostics[i] = Diagnostic(
                        dg.span, f"{dg.message} (in '{name}', {family.describe()})", dg.hint
                    )
            raise Skip()
        if self.variable_unit:
            encoding: ir.Encoding | None = enc0
        else:
            encoding = self.encoding(d["encoding"], written, insn_width) if "encoding" in d else None
        syntax = self.syntax(d.get("syntax"), name, written)
        return DeclaredInstruction(
            name,
            mnemonic,
            tuple(operands),
            body,
            encoding,
            syntax,
            labels,
            self.text_or_empty(d, "description"),
            kspan,
            self.ref(d["ref"]) if "ref" in d else "",
            tuple(g.name for g in groups),
            length,
            family,
        )

    def ref(self, node: Node) -> str:
        """The manual's reference: one line of text, since `explain` and the
        report show it on one line."""
        text = self.str_(node, "ref").strip()
        if not (0 < len(text) <= 200 and text.isprintable()):
            self.fail(
                node.span,
                f"a ref is 1-200 printable characters on one line, not {text[:80]!r}",
                'e.g. ref: "Intel SDM Vol. 2B, SMSW"',
            )
        return text

    def operands(self, node: Node | None, elements) -> list[ir.OperandDef]:
        if node is None:
            return []
        if node.kind != "list":
            self.fail(node.span, "operands must be a list like [rd: reg, imm: simm12]")
        files = [e for e in elements.values() if e.is_file]
        out: list[ir.OperandDef] = []
        for item in node.value:
            if item.kind != "mapping" or len(item.value) != 1:
                self.fail(
                    item.span,
                    "each operand is NAME: KIND (reg, reg(FILE), immN, simmN, optionally 'pcrel' or 'pcrel next')",
                )
            ((oname, knode),) = item.value.items()
            ospan = item.key_spans.get(oname, item.span)
            self.name_key(item, oname)
            if any(o.name == oname for o in out):
                self.fail(ospan, f"operand '{oname}' is listed twice")
            kind = self.str_(knode, "operand kind").strip()
            if kind in self.kind_decls:  # a declared kind with addressing modes
                for od in self.mode_operands(oname, self.kind_decls[kind], ospan):
                    if any(o.name == od.name for o in out):
                        self.fail(ospan, f"operand '{od.name}' (a field of '{oname}') clashes with another operand")
                    out.append(od)
                continue
            m = _OPERAND_RE.match(kind)
            if m is None:
                self.fail(
                    knode.span,
                    f"unknown operand kind '{kind}'",
                    "kinds: reg, reg(FILE), immN / uimmN (unsigned), simmN (signed), e.g. 'simm16 pcrel', 'simm32 pcrel next'"
                    + (f"; declared: {', '.join(self.kind_decls)}" if self.kind_decls else ""),
                )
            pcrel = bool(m.group("pcrel"))
            if m.group("reg"):
                fname = m.group("file")
                if fname is None:
                    if len(files) != 1:
                        self.fail(knode.span, f"'reg' is ambiguous with {len(files)} register files", "write reg(FILE)")
                    f = files[0]
                else:
                    f = elements.get(fname)
                    if f is None or not f.is_file:
                        self.fail(knode.span, f"'{fname}' is not a register file")
                if pcrel:
                    self.fail(knode.span, "a register operand cannot be pcrel")
                out.append(ir.OperandDef(oname, "reg", f.index_width, f.name, False, False, ospan))
            else:
                w = int(m.group("w"))
                if not 1 <= w <= 4096:
                    self.fail(knode.span, f"an immediate of {w} bits is out of range")
                od = ir.OperandDef(oname, "imm", w, None, m.group("kind") == "simm", pcrel, ospan)
                if m.group("next"):  # relative to the next instruction (x86 rel8/rel32)
                    od = replace(od, pcrel_next=True)
                out.append(od)
        return out

    def syntax(self, node: Node | None, name: str, operands) -> str:
        if node is None:
            return name + ("" if not operands else " " + ", ".join(f"{{{o.name}}}" for o in operands))
        text = self.str_(node, "syntax")
        used = re.findall(r"\{(\w+)\}", text)
        names = [o.name for o in operands]
        for u in used:
            if u not in names:
                self.fail(node.span, f"syntax names '{{{u}}}', which is not an operand")
        for n in names:
            if used.count(n) != 1:
                self.fail(node.span, f"syntax must contain {{{n}}} exactly once")
        if not re.match(r"\s*[A-Za-z_.][\w.]*", text):
            self.fail(node.span, "syntax must start with the mnemonic keyword")
        # The assembler reads '#' and ';' as the start of a comment, so a template
        # holding one could never be written in a program.
        for ch in "#;":
            # '#' just before an operand is an immediate's mark (`trap #{v}`):
            # the assembler reads a '#' followed by a non-blank as text (machine/assembler.py).
            if ch in (text.replace("#{", "") if ch == "#" else text):
                self.fail(
                    node.span,
                    f"syntax contains '{ch}', which starts a comment in a program: "
                    "the assembler could never read this form",
                    "write the operand without it",
                )
        stray = re.sub(r"\{\w+\}", "", text)
        if "{" in stray or "}" in stray:
            self.fail(node.span, "syntax has a '{' or '}' that is not part of an operand {name}")
        return text.strip()

    def encoding(self, node: Node, operands, insn_width: int) -> ir.Encoding:
        text = self.str_(node, "encoding")
        ops = {o.name: o for o in operands}
        pos, fixed, fmask, pieces = insn_width, 0, 0, []
        for tok in text.replace(",", " ").split():
            m = re.fullmatch(r"[01_]*[01][01_]*", tok)  # a run of underscores alone holds no bits
            if m:
                bits = tok.replace("_", "")
                pos -= len(bits)
                if pos < 0:
                    break
                fixed |= int(bits, 2) << pos
                fmask |= ((1 << len(bits)) - 1) << pos
                continue
            m = re.fullmatch(r"(\w+)(?:\[(\d{1,5})(?::(\d{1,5}))?\])?", tok)
            if not m or m.group(1) not in ops:
                self.fail(
                    node.span,
                    f"encoding: '{tok}' is neither bits nor an operand",
                    f"operands: {', '.join(ops) or 'none'}",
                )
            o = ops[m.group(1)]
            ow = o.modes.bits if o.modes else o.width  # a mode operand: its bits in the encoding
            hi = int(m.group(2)) if m.group(2) else ow - 1
            lo = int(m.group(3)) if m.group(3) else (hi if m.group(2) else 0)
            if not (0 <= lo <= hi < ow):
                self.fail(node.span, f"encoding: '{tok}' selects bits outside the {ow}-bit operand")
            pos -= hi - lo + 1
            if pos < 0:
                break
            pieces.append((o.name, hi, lo, pos))
        if pos != 0:
            total = insn_width - pos
            self.fail(node.span, f"encoding has {total} bits; an instruction has {insn_width}")
        return ir.Encoding(fixed, fmask, tuple(pieces))


@dataclass(frozen=True)
class DeclaredInstruction:
    """An instruction as its declaration gives it: `encoding` is None when the
    spec gives none (`assign_encodings` then picks one)."""

    name: str
    mnemonic: str
    operands: tuple[ir.OperandDef, ...]
    semantics: tuple[ir.Stmt, ...]
    encoding: ir.Encoding | None
    syntax: str
    labels: frozenset[str]
    description: str
    span: Span | None
    ref: str = ""
    prefixes: tuple[str, ...] = ()
    length: ir.Expr | None = None
    family: ir.Membership | None = None

    def encoded(self, encoding: ir.Encoding) -> ir.Instruction:
        return ir.Instruction(
            self.name,
            self.mnemonic,
            self.operands,
            self.semantics,
            encoding,
            self.syntax,
            self.labels,
            self.description,
            self.span,
            self.ref,
            self.prefixes,
            self.length,
            self.family,
        )


def assign_encodings(insns: list[DeclaredInstruction], insn_width: int, errors: Collector) -> list[ir.Instruction]:
    """Give every instruction without an encoding one, and check for overlaps.

    Assigned encodings put an opcode in the top bits and pack the operands
    below it, in order; opcodes that would overlap a given encoding are skipped.
    """
    given = [i.encoding for i in insns if i.encoding is not None]
    need = [i for i in insns if i.encoding is None]
    opbits = max(1, (len(need) + len(given)).bit_length())
    out: list[ir.Instruction] = []
    code = 0
    for insn in insns:
        enc = insn.encoding
        if enc is None:
            room = insn_width - opbits
            packed = [(o.name, o.modes.bits if o.modes else o.width) for o in insn.operands if not o.of]
            used = sum(w for _, w in packed)
            if used > room:
                errors.error(
                    insn.span,
                    f"'{insn.name}': operands need {used} bits but an instruction has {room} "
                    f"left after a {opbits}-bit opcode",
                    "raise insn_width or give an encoding",
                )
                continue
            while True:
                fixed, fmask = code << room, ((1 << opbits) - 1) << room
                code += 1
                if not any(_overlap(fixed, fmask, g.fixed, g.fixed_mask) for g in given):
                    break
                if code >= (1 << opbits):
                    errors.error(
                        insn.span,
                        "no free opcode is left for an assigned encoding",
                        "give explicit encodings or raise insn_width",
                    )
                    return out
            pieces: list[tuple[str, int, int, int]] = []
            pos = room
            for oname, ow in packed:
                pos -= ow
                pieces.append((oname, ow - 1, 0, pos))
            enc = ir.Encoding(fixed, fmask, tuple(pieces), assigned=True)
        out.append(insn.encoded(enc))
    for i, a in enumerate(out):
        for b in out[i + 1 :]:
            if not (a.encoding.assigned and b.encoding.assigned) and _overlap(
                a.encoding.fixed, a.encoding.fixed_mask, b.encoding.fixed, b.encoding.fixed_mask
            ):
                errors.error(
                    b.span,
                    f"the encoding of '{b.name}' overlaps that of '{a.name}'",
                    "some instruction word would decode as both",
                )
    return out


def _overlap(f1: int, m1: int, f2: int, m2: int) -> bool:
    return (f1 ^ f2) & m1 & m2 == 0
