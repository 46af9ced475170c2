"""Building the ISA's declarations: privilege levels, state, storage, traps.

The parts of a spec that semantics refers to, checked and turned into IR
records (`ir.Element`, `ir.ModeDef`, `ir.Storage`, `ir.Cause`) and the
helpers' surface definitions; `build.py` puts them together.
"""

from __future__ import annotations

import re

from . import ir
from . import surface as s
from .families import check_generic
from .limits import MAX_STORAGE_UNITS, MAX_WIDTH
from .node_checks import NodeChecks, Skip
from .nodes import Node
from .semantics_parser import parse_helpers


class StateBuilder(NodeChecks):
    """The declarations of a spec (`modes`, `state`, `storage`, `traps`, ...)."""

    def levels(self, node: Node) -> tuple[tuple[str, int], ...]:
        if node.kind == "list":
            names = [self.name_(n, "a privilege level") for n in node.value]
            out = tuple((n, i) for i, n in enumerate(names))
        elif node.kind == "mapping":
            out = tuple(
                (self.name_key(node, k), self.int_(v, f"the code of level '{k}'")) for k, v in node.value.items()
            )
        else:
            self.fail(node.span, "modes must be a list of levels (most privileged first) or a mapping level: code")
        if not out:
            self.fail(node.span, "at least one privilege level is needed")
        names = [n for n, _ in out]
        codes = [c for _, c in out]
        for n in set(names):
            if names.count(n) > 1:
                self.fail(node.span, f"privilege level '{n}' is listed twice")
        if len(set(codes)) != len(codes):
            self.fail(node.span, "two privilege levels have the same code")
        return out

    def elements(self, node: Node) -> dict[str, ir.Element]:
        if node.kind != "mapping":
            self.fail(node.span, "state must be a mapping from element names to their declarations")
        out: dict[str, ir.Element] = {}
        for key, child in node.value.items():
            e = self.guard(self.element, node, key, child)
            if e is not None:
                out[key] = e
        return out

    def element(self, parent: Node, name: str, node: Node) -> ir.Element:
        kspan = parent.key_spans.get(name, node.span)
        self.name_key(parent, name)
        if name in ("mem", "phys", "mode", "cause", "trap_arg", "fault_addr", "insn_len") or re.fullmatch(
            r"(mem|phys)\d+", name
        ):
            self.fail(kspan, f"'{name}' is reserved and cannot name a state element")
        d = self.mapping(node, "element", f"state element '{name}'")
        if "width" not in d:
            raise Skip()
        width = self.int_(d["width"], f"the width of '{name}'", 1, 4096)
        role = "general"
        if "role" in d:
            role = self.str_(d["role"], "role")
            if role not in ir.ROLES:
                self.fail(d["role"].span, f"unknown role '{role}'", f"roles: {', '.join(ir.ROLES)}")
        count = None
        if "count" in d:
            count = self.int_(d["count"], "count", 1, 1 << 16)
            if count & (count - 1):
                self.fail(d["count"].span, f"a register file's count must be a power of two, not {count}")
            if role in ("pc", "mode"):
                self.fail(d["role"].span, f"a register file cannot have role {role}")
        fields = tuple(self.guard(self.fields, d["fields"], width, default=())) if "fields" in d else ()
        readonly = self.bool_(d["readonly"], "readonly") if "readonly" in d else False
        zero = None
        if "zero" in d:
            if count is None:
                self.fail(d["zero"].span, "'zero' applies to a register file (one with a count)")
            zero = self.int_(d["zero"], "zero", 0, count - 1)
        names: tuple[str, ...] = ()
        if "names" in d:
            nn = d["names"]
            if nn.kind != "list" or count is None or len(nn.value) != count:
                self.fail(nn.span, f"names must list one assembler name per register ({count} here)")
            names = tuple(self.name_(n, "a register name") for n in nn.value)
        return ir.Element(
            name, width, role, count, fields, readonly, zero, names, self.text_or_empty(d, "description"), kspan
        )

    def fields(self, node: Node, width: int) -> list[ir.FieldDef]:
        if node.kind != "mapping":
            self.fail(node.span, "fields must be a mapping from field names to bit positions")
        out = []
        for key, fnode in node.value.items():
            kspan = node.key_spans.get(key, fnode.span)
            try:
                self.name_key(node, key)
                role, readonly, where = None, False, fnode
                if fnode.kind == "mapping":
                    fd = self.mapping(fnode, "field", f"field '{key}'")
                    if ("bit" in fd) == ("bits" in fd):
                        self.fail(fnode.span, f"field '{key}' needs exactly one of bit: N or bits: \"HI:LO\"")
                    where = fd.get("bit") or fd.get("bits")
                    if "role" in fd:
                        role = self.str_(fd["role"], "role")
                        if role not in ir.ROLES or role in ("pc",):
                            self.fail(
                                fd["role"].span,
                                f"a field cannot have role '{role}'",
                                "field roles: general, mode, control, timer",
                            )
                    readonly = self.bool_(fd["readonly"], "readonly") if "readonly" in fd else False
                hi, lo = self.bit_range(where, key)
                if hi >= width:
                    self.fail(where.span, f"field '{key}' (bits {hi}:{lo}) lies outside the {width}-bit element")
                out.append(ir.FieldDef(key, hi, lo, role, readonly, kspan))
            except Skip:
                pass
        return out

    def bit_range(self, node: Node, what: str) -> tuple[int, int]:
        if node.kind == "integer":
            # A negative bit passed here and crashed the simulator (fuzz seed 2, case 4735).
            b = self.int_(node, f"the bit of '{what}'", 0, MAX_WIDTH - 1)
            return b, b
        m = re.fullmatch(r"\s*(\d{1,5})\s*:\s*(\d{1,5})\s*", str(node.value))
        if not m or int(m.group(1)) < int(m.group(2)):
            self.fail(node.span, f"bits of '{what}' must be N or \"HI:LO\" with HI >= LO, not {node.value!r}")
        return int(m.group(1)), int(m.group(2))

    def mode_def(self, d: dict[str, Node], levels, elements: dict[str, ir.Element]) -> ir.ModeDef | None:
        if not levels:
            return None
        holders = [e for e in elements.values() if e.role == "mode"]
        holders_f = [(e, f) for e in elements.values() for f in e.fields if f.role == "mode"]
        if "mode" in d:
            text = self.str_(d["mode"], "mode")
            m = re.fullmatch(r"(\w+)(?:\.(\w+))?", text.strip())
            e = elements.get(m.group(1)) if m else None
            if m is None or e is None or e.is_file:
                self.fail(d["mode"].span, f"mode: {text!r} must name a scalar state element or one of its fields")
            if m.group(2):
                f = e.field(m.group(2))
                if f is None:
                    self.fail(d["mode"].span, f"'{e.name}' has no field '{m.group(2)}'")
                hi, lo = f.hi, f.lo
            else:
                hi, lo = e.width - 1, 0
        elif len(holders) + len(holders_f) == 1:
            if holders:
                e = holders[0]
                hi, lo = e.width - 1, 0
            else:
                e, f = holders_f[0]
                hi, lo = f.hi, f.lo
        else:
            where = d["state"].span
            self.fail(
                where,
                "say where the mode lives: one element (or field) with role: mode, or a top-level mode: ELEMENT.FIELD",
                f"found {len(holders) + len(holders_f)} candidates",
            )
        width = hi - lo + 1
        for lv, code in levels:
            if code >= (1 << width):
                self.fail(d["modes"].span, f"the code {code} of level '{lv}' does not fit in the {width}-bit mode")
        return ir.ModeDef(tuple(levels), e.name, hi, lo)

    def storage(self, node: Node, elements: dict[str, ir.Element], word: int) -> ir.Storage:
        d = self.mapping(node, "storage", "storage")
        if "size" not in d or "unit" not in d:
            raise Skip()
        # The simulator holds storage in full: bound it (2^40 units passed lint and
        # then ran out of memory).
        size = self.int_(d["size"], "storage size", 1, MAX_STORAGE_UNITS)
        if size & (size - 1):
            self.fail(d["size"].span, f"storage size must be a power of two, not {size}")
        unit = self.int_(d["unit"], "storage unit", 1, 4096)
        endian = "little"
        if "endian" in d:
            endian = self.str_(d["endian"], "endian")
            if endian not in ("little", "big"):
                self.fail(d["endian"].span, f"endian must be little or big, not {endian!r}")
        tr: ir.Translation = ir.NoTranslation()
        if "translation" in d:
            t = d["translation"]
            if t.kind == "text" and t.value == "none":
                pass
            else:
                td = self.mapping(t, "translation", "translation")
                names = []
                for key in ("relocation", "bound"):
                    if key not in td:
                        raise Skip()
                    n = self.str_(td[key], key)
                    e = elements.get(n)
                    if e is None or e.is_file:
                        self.fail(td[key].span, f"{key}: '{n}' must name a scalar state element")
                    if e.width != word:
                        self.fail(td[key].span, f"{key}: '{n}' must be a word ({word} bits) wide")
                    names.append(n)
                tr = ir.RelocationBounds(*names)
        return ir.Storage(size, unit, endian, tr)

    def constants(self, node: Node) -> dict[str, int]:
        if node.kind != "mapping":
            self.fail(node.span, "constants must be a mapping NAME: number")
        out = {}
        for k, v in node.value.items():
            try:
                self.name_key(node, k)
                out[k] = self.int_(v, f"constant '{k}'")
            except Skip:
                pass
        return out

    def causes(self, node: Node, storage: ir.Storage | None, word: int):
        d = self.mapping(node, "traps", "traps")
        if "causes" not in d or "deliver" not in d:
            raise Skip()
        cw = self.int_(d["cause_width"], "cause_width", 1, 4096) if "cause_width" in d else word
        cn = d["causes"]
        if cn.kind != "mapping" or not cn.value:
            self.fail(cn.span, "causes must be a mapping NAME: code (or NAME: {code: N, memory: true})")
        causes: dict[str, ir.Cause] = {}
        for k, v in cn.value.items():
            try:
                self.name_key(cn, k)
                if v.kind == "mapping":
                    cd = self.mapping(v, "cause", f"cause '{k}'")
                    code = self.int_(cd["code"], "code") if "code" in cd else 0
                    memory = self.bool_(cd["memory"], "memory") if "memory" in cd else False
                else:
                    code, memory = self.int_(v, f"the code of cause '{k}'"), False
                if code >= (1 << cw):
                    self.fail(v.span, f"cause code {code} does not fit in cause_width {cw}")
                if any(c.code == code for c in causes.values()):
                    self.fail(v.span, f"cause code {code} is used twice")
                causes[k] = ir.Cause(k, code, memory, cn.key_spans.get(k))
            except Skip:
                pass
        memory_cause = ""
        if "memory_cause" in d:
            memory_cause = self.str_(d["memory_cause"], "memory_cause")
            c = causes.get(memory_cause)
            if c is None or not c.memory:
                self.fail(
                    d["memory_cause"].span, f"memory_cause '{memory_cause}' must be a declared cause with memory: true"
                )
        elif storage is not None and not isinstance(storage.translation, ir.NoTranslation):
            self.fail(node.span, "traps needs memory_cause: the cause an illegal translated access raises")
        else:
            mem = [c.name for c in causes.values() if c.memory]
            memory_cause = mem[0] if mem else ""
        return causes, memory_cause, d["deliver"], cw

    def helpers(self, node: Node) -> dict[str, s.Helper]:
        defs = self.parsed(node, "helpers", parse_helpers)
        out: dict[str, s.Helper] = {}
        for h in defs:
            # width-generic helpers (families.py): widths written as names are checked there
            generic = check_generic(h)
            self.errors.diagnostics.extend(generic)
            widths = [(p.width, p.span, f"parameter '{p.name}'") for p in h.params if isinstance(p.width, int)]
            if isinstance(h, s.FnDef) and isinstance(h.width, int):
                widths.append((h.width, h.span, "the result"))
            bad = [(w, sp, what) for w, sp, what in widths if not 1 <= w <= MAX_WIDTH]
            if generic:
                continue
            for w, sp, what in bad:
                self.errors.error(sp or h.span, f"{what} of '{h.name}' is {w:,} bits: widths are 1 to {MAX_WIDTH:,}")
            if bad:
                continue
            if h.name in out:
                self.errors.error(h.span, f"helper '{h.name}' is defined twice")
            out[h.name] = h
        return out
