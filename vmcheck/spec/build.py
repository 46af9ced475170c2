"""Check a spec's node tree against the format and build the IR.

This is the one place that knows the spec format's keys (FORMAT below is
also what the `.isa` printer and the docs follow). Unknown keys are errors:
nothing the user wrote is silently dropped. Independent errors are
collected so one run reports them all.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..errors import Collector, Span, SpecError
from . import ir
from . import surface as s
from .elaborate import Elaborator
from .limits import MAX_EXPR_NESTING, MAX_IF_NESTING, MAX_STORAGE_UNITS, MAX_WIDTH, nesting
from .nodes import Node
from .scope import Declarations, Scope
from .semantics_parser import Origin, parse_block, parse_expr, parse_helpers

# key -> required?  (per mapping kind)
FORMAT: dict[str, dict[str, bool]] = {
    "spec": {
        "isa": True,
        "description": False,
        "references": False,
        "word": True,
        "modes": True,
        "mode": False,
        "state": True,
        "storage": True,
        "traps": True,
        "contexts": True,
        "invariants": False,
        "constants": False,
        "helpers": False,
        "instructions": True,
        "insn_width": False,
        "reset": False,
    },
    "element": {
        "width": True,
        "role": False,
        "count": False,
        "fields": False,
        "readonly": False,
        "zero": False,
        "names": False,
        "description": False,
    },
    "field": {"bit": False, "bits": False, "role": False, "readonly": False, "description": False},
    "storage": {"size": True, "unit": True, "endian": False, "translation": False},
    "translation": {"relocation": True, "bound": True},
    "traps": {"causes": True, "memory_cause": False, "deliver": True, "cause_width": False},
    "cause": {"code": True, "memory": False, "description": False},
    "contexts": {"host": True, "guest": True},
    "guest": {"where": False, "modes": True, "description": False},
    "instruction": {
        "mnemonic": False,
        "operands": False,
        "encoding": False,
        "syntax": False,
        "semantics": True,
        "labels": False,
        "description": False,
    },
}

LABELS = (
    "privileged",
    "sensitive",
    "innocuous",
    "control_sensitive",
    "mode_sensitive",
    "location_sensitive",
    "behaviour_sensitive",
    "user_sensitive",
    "timing_dependent",
    "illegal",
    "unsafe",
    "safe",
)

_OPERAND_RE = re.compile(
    r"^(?:(?P<reg>reg)(?:\((?P<file>\w+)\))?|(?P<kind>s?imm|uimm)(?P<w>\d{1,5}))(?P<pcrel>\s+pcrel)?$"
)


def _state_reads(expr: ir.Expr):
    """(element, bits read, span) for each state read in `expr`; element None
    for a storage read. Walked without recursion."""
    stack = [expr]
    while stack:
        x = stack.pop()
        if isinstance(x, (ir.Slice, ir.Reg)):
            lo, hi, base = 0, None, x
            while isinstance(base, ir.Slice):  # slices of slices: compose the windows
                lo, hi = base.lo + lo, base.lo + (hi if hi is not None else base.hi - base.lo)
                base = base.value
            if isinstance(base, ir.Reg):
                hi = base.width - 1 if hi is None else hi
                yield base.elem, ir.mask(hi - lo + 1) << lo, x.span or base.span
                continue
            stack.append(base)
            continue
        if isinstance(x, ir.FileRead):
            yield x.file, ir.mask(x.width), x.span
            stack.append(x.index)
            continue
        if isinstance(x, ir.Mem):
            yield None, 0, x.span
            stack.append(x.addr)
            continue
        for name in getattr(x, "__dataclass_fields__", {}):
            child = getattr(x, name)
            if isinstance(child, tuple):
                stack.extend(c for c in child if hasattr(c, "__dataclass_fields__"))
            elif hasattr(child, "__dataclass_fields__"):
                stack.append(child)


class _Skip(Exception):
    """A structural error was recorded; skip the rest of this part."""


@dataclass
class _Ctx:
    errors: Collector

    def fail(self, span: Span | None, message: str, hint: str | None = None):
        self.errors.error(span, message, hint)
        raise _Skip()


def build_isa(root: Node, source: str | None = None) -> ir.Isa:
    """Node tree -> Isa, or SpecError listing every problem found."""
    errors = Collector()
    b = _Builder(_Ctx(errors))
    isa = None
    try:
        isa = b.spec(root, source)
    except _Skip:
        pass
    errors.raise_if_any()
    if isa is None:  # pragma: no cover - every _Skip records an error
        raise SpecError("the spec could not be built")
    return isa


class _Builder:
    def __init__(self, ctx: _Ctx):
        self.ctx = ctx
        self.errors = ctx.errors

    # ---- generic checks ---------------------------------------------------

    def mapping(self, node: Node, kind: str, what: str) -> dict[str, Node]:
        if node.kind != "mapping":
            self.ctx.fail(node.span, f"{what} must be a mapping, not {node.kind}")
        spec = FORMAT[kind]
        for key, child in node.value.items():
            if key not in spec:
                close = difflib.get_close_matches(key, list(spec), n=1)
                self.errors.error(
                    node.key_spans.get(key, child.span),
                    f"unknown key '{key}' in {what}",
                    (f"did you mean '{close[0]}'? " if close else "") + f"allowed: {', '.join(spec)}",
                )
        for key, required in spec.items():
            if required and key not in node.value:
                self.errors.error(node.span, f"{what} is missing the required key '{key}'")
        return node.value

    def int_(self, node: Node, what: str, lo: int = 0, hi: int | None = None) -> int:
        if node.kind != "integer":
            self.ctx.fail(node.span, f"{what} must be a whole number, not {node.kind} {node.value!r}")
        v = node.value
        if v < lo or (hi is not None and v > hi):
            rng = f"at least {lo}" if hi is None else f"from {lo} to {hi}"
            self.ctx.fail(node.span, f"{what} must be {rng}, not {v}")
        return v

    def str_(self, node: Node, what: str) -> str:
        if node.kind != "text":
            self.ctx.fail(node.span, f"{what} must be text, not {node.kind} {node.value!r}")
        return node.value

    def bool_(self, node: Node, what: str) -> bool:
        if node.kind != "boolean":
            self.ctx.fail(node.span, f"{what} must be true or false, not {node.value!r}")
        return node.value

    def name_(self, node: Node, what: str) -> str:
        v = self.str_(node, what)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            self.ctx.fail(node.span, f"{what} must be a name (letters, digits, _), not {v!r}")
        return v

    def text_or_empty(self, d: dict[str, Node], key: str) -> str:
        n = d.get(key)
        if n is None or n.value is None:
            return ""
        return self.str_(n, key)

    def _guard(self, fn, *args, default=None):
        try:
            return fn(*args)
        except _Skip:
            return default

    def source_text(self, node: Node, what: str) -> tuple[str, Origin]:
        if node.kind == "integer" or node.kind == "boolean":
            return str(node.value).lower(), Origin(node.span.file, node.span.line, node.span.col - 1, 0)
        text = self.str_(node, what)
        return text, node.origin or Origin(node.span.file, node.span.line, node.span.col - 1, 0)

    def parsed(self, node: Node, what: str, how):
        text, origin = self.source_text(node, what)
        try:
            return how(text, origin)
        except SpecError as e:
            self.errors.diagnostics.extend(e.diagnostics)
            raise _Skip() from None

    # ---- the spec ---------------------------------------------------------

    def spec(self, root: Node, source: str | None) -> ir.Isa:
        d = self.mapping(root, "spec", "the spec")
        for key in ("isa", "word", "modes", "state", "storage", "traps", "instructions"):
            if key not in d:
                raise _Skip()
        name = self.str_(d["isa"], "isa")
        # The name reaches file names (generated-code dumps, reports) and every
        # output: letters, digits and _ . + - only, as the `.isa` syntax has it.
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}", name):
            self.errors.error(
                d["isa"].span,
                f"the isa name must be 1-64 letters, digits, _ . + or - "
                f"(starting with a letter, digit or _), not {name[:80]!r}",
            )
        word = self.int_(d["word"], "word", 1, 4096)
        description = self.text_or_empty(d, "description")
        if "references" in d:
            refs = d["references"]
            if refs.kind != "list" or any(r.kind != "text" for r in refs.value):
                self.errors.error(refs.span, "references must be a list of text")
        levels = self._guard(self.levels, d["modes"], default=())
        elements = self._guard(self.elements, d["state"], default={})
        modes = self._guard(self.mode_def, d, levels, elements)
        pcs = [e.name for e in elements.values() if e.role == "pc"]
        if len(pcs) != 1 and elements:
            self.errors.error(d["state"].span, f"exactly one state element must have role: pc (found {len(pcs)})")
        storage = self._guard(self.storage, d["storage"], elements, word)
        constants = self._guard(self.constants, d.get("constants"), default={}) if "constants" in d else {}
        unit = storage.unit if storage else word
        causes, memory_cause, deliver_node, cause_width = self._guard(
            self.causes, d["traps"], storage, word, default=(None, "", None, word)
        )
        helpers = self._guard(self.helpers, d.get("helpers"), default={}) if "helpers" in d else {}
        decls = Declarations(word, elements, modes, constants, causes, cause_width, unit, helpers)
        el = Elaborator(decls, self.errors)

        deliver: tuple[ir.Stmt, ...] = ()
        if deliver_node is not None:
            stmts = self._guard(self.parsed, deliver_node, "deliver", parse_block, default=())
            scope = Scope(
                {
                    "cause": ir.Local("cause", cause_width),
                    "trap_arg": ir.Local("trap_arg", cause_width),
                }
            )
            deliver = el.block(stmts, scope)

        host, contexts = self._guard(self.contexts, d.get("contexts"), el, modes, default=(None, ()))
        invariants = self._guard(self.invariants, d.get("invariants"), el, default=()) if "invariants" in d else ()
        if modes is not None and len(modes.levels) < (1 << modes.width):
            # The mode bits can hold codes that name no level: rule those states out.
            mode_expr = el.name(s.Name("mode"), Scope(), None)
            valid = None
            for _, code in modes.levels:
                c = ir.Bin("eq", mode_expr, ir.Lit(code, modes.width), ir.BOOL)
                valid = c if valid is None else ir.Bin("lor", valid, c, ir.BOOL)
            invariants = (valid,) + tuple(invariants)
        insn_width = self.int_(d["insn_width"], "insn_width", 1, MAX_WIDTH) if "insn_width" in d else word
        if storage and insn_width % storage.unit:
            self.errors.error(
                d.get("insn_width", d["word"]).span,
                f"an instruction ({insn_width} bits) must be a whole number of storage units ({storage.unit} bits)",
            )
        instructions = self._guard(self.instructions, d["instructions"], el, elements, insn_width, default=())
        reset = self._guard(self.reset, d.get("reset"), elements, default=()) if "reset" in d else ()

        self.errors.raise_if_any()
        self.check_nesting(deliver, d["traps"].span, "deliver")
        for insn in instructions:
            self.check_nesting(insn.semantics, insn.span, f"instruction '{insn.name}'")
        for c in contexts:
            self.check_nesting(c.where, c.span, f"the 'where' of context '{c.name}'")
        for inv in invariants:
            self.check_nesting(inv, root.span, "an invariant")
        if host is not None:
            self.check_nesting(host, root.span, "host")
        self.errors.raise_if_any()
        return ir.Isa(
            name=name,
            word=word,
            modes=modes,
            elements=tuple(elements.values()),
            pc=pcs[0],
            storage=storage,
            traps=ir.Traps(tuple((causes or {}).values()), memory_cause, deliver, cause_width),
            host=host,
            contexts=contexts,
            invariants=tuple(invariants),
            instructions=instructions,
            insn_width=insn_width,
            constants=tuple(constants.items()),
            description=description,
            source=source,
            reset=reset,
            span=root.span,
        )

    def check_nesting(self, code, span: Span | None, what: str) -> None:
        """What `lint` accepts must compile: bound the nesting the compiled form
        inherits, now that helpers are inlined and `match`/`require` are `if`s."""
        ds, de, deepest = nesting(code)
        where = getattr(deepest, "span", None) or span
        if ds > MAX_IF_NESTING:
            self.errors.error(
                where,
                f"{what} nests {ds} if/match/require levels once helpers are inlined "
                f"and match arms become if/else: the limit is {MAX_IF_NESTING}",
                "split it into separate instructions or flatten the conditions",
            )
        if de > MAX_EXPR_NESTING:
            self.errors.error(
                where,
                f"{what} nests expressions {de} levels deep once helpers are inlined: the limit is {MAX_EXPR_NESTING}",
                "name parts of it with let",
            )

    # ---- modes and state ------------------------------------------------

    def levels(self, node: Node) -> tuple[tuple[str, int], ...]:
        if node.kind == "list":
            names = [self.name_(n, "a privilege level") for n in node.value]
            out = tuple((n, i) for i, n in enumerate(names))
        elif node.kind == "mapping":
            out = tuple(
                (self._name_key(node, k), self.int_(v, f"the code of level '{k}'")) for k, v in node.value.items()
            )
        else:
            self.ctx.fail(node.span, "modes must be a list of levels (most privileged first) or a mapping level: code")
        if not out:
            self.ctx.fail(node.span, "at least one privilege level is needed")
        names = [n for n, _ in out]
        codes = [c for _, c in out]
        for n in set(names):
            if names.count(n) > 1:
                self.ctx.fail(node.span, f"privilege level '{n}' is listed twice")
        if len(set(codes)) != len(codes):
            self.ctx.fail(node.span, "two privilege levels have the same code")
        return out

    def _name_key(self, node: Node, key: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            self.ctx.fail(node.key_spans.get(key, node.span), f"'{key}' is not a name")
        return key

    def elements(self, node: Node) -> dict[str, ir.Element]:
        if node.kind != "mapping":
            self.ctx.fail(node.span, "state must be a mapping from element names to their declarations")
        out: dict[str, ir.Element] = {}
        for key, child in node.value.items():
            e = self._guard(self.element, node, key, child)
            if e is not None:
                out[key] = e
        return out

    def element(self, parent: Node, name: str, node: Node) -> ir.Element:
        kspan = parent.key_spans.get(name, node.span)
        self._name_key(parent, name)
        if name in ("mem", "phys", "mode", "cause", "trap_arg") or re.fullmatch(r"(mem|phys)\d+", name):
            self.ctx.fail(kspan, f"'{name}' is reserved and cannot name a state element")
        d = self.mapping(node, "element", f"state element '{name}'")
        if "width" not in d:
            raise _Skip()
        width = self.int_(d["width"], f"the width of '{name}'", 1, 4096)
        role = "general"
        if "role" in d:
            role = self.str_(d["role"], "role")
            if role not in ir.ROLES:
                self.ctx.fail(d["role"].span, f"unknown role '{role}'", f"roles: {', '.join(ir.ROLES)}")
        count = None
        if "count" in d:
            count = self.int_(d["count"], "count", 1, 1 << 16)
            if count & (count - 1):
                self.ctx.fail(d["count"].span, f"a register file's count must be a power of two, not {count}")
            if role in ("pc", "mode"):
                self.ctx.fail(d["role"].span, f"a register file cannot have role {role}")
        fields = tuple(self._guard(self.fields, d["fields"], width, default=())) if "fields" in d else ()
        readonly = self.bool_(d["readonly"], "readonly") if "readonly" in d else False
        zero = None
        if "zero" in d:
            if count is None:
                self.ctx.fail(d["zero"].span, "'zero' applies to a register file (one with a count)")
            zero = self.int_(d["zero"], "zero", 0, count - 1)
        names: tuple[str, ...] = ()
        if "names" in d:
            nn = d["names"]
            if nn.kind != "list" or count is None or len(nn.value) != count:
                self.ctx.fail(nn.span, f"names must list one assembler name per register ({count} here)")
            names = tuple(self.name_(n, "a register name") for n in nn.value)
        return ir.Element(
            name, width, role, count, fields, readonly, zero, names, self.text_or_empty(d, "description"), kspan
        )

    def fields(self, node: Node, width: int) -> list[ir.FieldDef]:
        if node.kind != "mapping":
            self.ctx.fail(node.span, "fields must be a mapping from field names to bit positions")
        out = []
        for key, fnode in node.value.items():
            kspan = node.key_spans.get(key, fnode.span)
            try:
                self._name_key(node, key)
                role, readonly, where = None, False, fnode
                if fnode.kind == "mapping":
                    fd = self.mapping(fnode, "field", f"field '{key}'")
                    if ("bit" in fd) == ("bits" in fd):
                        self.ctx.fail(fnode.span, f"field '{key}' needs exactly one of bit: N or bits: \"HI:LO\"")
                    where = fd.get("bit") or fd.get("bits")
                    if "role" in fd:
                        role = self.str_(fd["role"], "role")
                        if role not in ir.ROLES or role in ("pc",):
                            self.ctx.fail(
                                fd["role"].span,
                                f"a field cannot have role '{role}'",
                                "field roles: general, mode, control, timer",
                            )
                    readonly = self.bool_(fd["readonly"], "readonly") if "readonly" in fd else False
                hi, lo = self.bit_range(where, key)
                if hi >= width:
                    self.ctx.fail(where.span, f"field '{key}' (bits {hi}:{lo}) lies outside the {width}-bit element")
                out.append(ir.FieldDef(key, hi, lo, role, readonly, kspan))
            except _Skip:
                pass
        return out

    def bit_range(self, node: Node, what: str) -> tuple[int, int]:
        if node.kind == "integer":
            # A negative bit passed here and crashed the simulator (fuzz seed 2, case 4735).
            b = self.int_(node, f"the bit of '{what}'", 0, MAX_WIDTH - 1)
            return b, b
        m = re.fullmatch(r"\s*(\d{1,5})\s*:\s*(\d{1,5})\s*", str(node.value))
        if not m or int(m.group(1)) < int(m.group(2)):
            self.ctx.fail(node.span, f"bits of '{what}' must be N or \"HI:LO\" with HI >= LO, not {node.value!r}")
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
            if e is None or e.is_file:
                self.ctx.fail(d["mode"].span, f"mode: {text!r} must name a scalar state element or one of its fields")
            if m.group(2):
                f = e.field(m.group(2))
                if f is None:
                    self.ctx.fail(d["mode"].span, f"'{e.name}' has no field '{m.group(2)}'")
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
            self.ctx.fail(
                where,
                "say where the mode lives: one element (or field) with role: mode, or a top-level mode: ELEMENT.FIELD",
                f"found {len(holders) + len(holders_f)} candidates",
            )
        width = hi - lo + 1
        for lv, code in levels:
            if code >= (1 << width):
                self.ctx.fail(d["modes"].span, f"the code {code} of level '{lv}' does not fit in the {width}-bit mode")
        return ir.ModeDef(tuple(levels), e.name, hi, lo)

    def storage(self, node: Node, elements: dict[str, ir.Element], word: int) -> ir.Storage:
        d = self.mapping(node, "storage", "storage")
        if "size" not in d or "unit" not in d:
            raise _Skip()
        # The simulator holds storage in full: bound it (2^40 units passed lint and
        # then ran out of memory).
        size = self.int_(d["size"], "storage size", 1, MAX_STORAGE_UNITS)
        if size & (size - 1):
            self.ctx.fail(d["size"].span, f"storage size must be a power of two, not {size}")
        unit = self.int_(d["unit"], "storage unit", 1, 4096)
        endian = "little"
        if "endian" in d:
            endian = self.str_(d["endian"], "endian")
            if endian not in ("little", "big"):
                self.ctx.fail(d["endian"].span, f"endian must be little or big, not {endian!r}")
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
                        raise _Skip()
                    n = self.str_(td[key], key)
                    e = elements.get(n)
                    if e is None or e.is_file:
                        self.ctx.fail(td[key].span, f"{key}: '{n}' must name a scalar state element")
                    if e.width != word:
                        self.ctx.fail(td[key].span, f"{key}: '{n}' must be a word ({word} bits) wide")
                    names.append(n)
                tr = ir.RelocationBounds(*names)
        return ir.Storage(size, unit, endian, tr)

    def constants(self, node: Node) -> dict[str, int]:
        if node.kind != "mapping":
            self.ctx.fail(node.span, "constants must be a mapping NAME: number")
        out = {}
        for k, v in node.value.items():
            try:
                self._name_key(node, k)
                out[k] = self.int_(v, f"constant '{k}'")
            except _Skip:
                pass
        return out

    def causes(self, node: Node, storage: ir.Storage | None, word: int):
        d = self.mapping(node, "traps", "traps")
        if "causes" not in d or "deliver" not in d:
            raise _Skip()
        cw = self.int_(d["cause_width"], "cause_width", 1, 4096) if "cause_width" in d else word
        cn = d["causes"]
        if cn.kind != "mapping" or not cn.value:
            self.ctx.fail(cn.span, "causes must be a mapping NAME: code (or NAME: {code: N, memory: true})")
        causes: dict[str, ir.Cause] = {}
        for k, v in cn.value.items():
            try:
                self._name_key(cn, k)
                if v.kind == "mapping":
                    cd = self.mapping(v, "cause", f"cause '{k}'")
                    code = self.int_(cd["code"], "code") if "code" in cd else 0
                    memory = self.bool_(cd["memory"], "memory") if "memory" in cd else False
                else:
                    code, memory = self.int_(v, f"the code of cause '{k}'"), False
                if code >= (1 << cw):
                    self.ctx.fail(v.span, f"cause code {code} does not fit in cause_width {cw}")
                if any(c.code == code for c in causes.values()):
                    self.ctx.fail(v.span, f"cause code {code} is used twice")
                causes[k] = ir.Cause(k, code, memory, cn.key_spans.get(k))
            except _Skip:
                pass
        memory_cause = ""
        if "memory_cause" in d:
            memory_cause = self.str_(d["memory_cause"], "memory_cause")
            c = causes.get(memory_cause)
            if c is None or not c.memory:
                self.ctx.fail(
                    d["memory_cause"].span, f"memory_cause '{memory_cause}' must be a declared cause with memory: true"
                )
        elif storage is not None and not isinstance(storage.translation, ir.NoTranslation):
            self.ctx.fail(node.span, "traps needs memory_cause: the cause an illegal translated access raises")
        else:
            mem = [c.name for c in causes.values() if c.memory]
            memory_cause = mem[0] if mem else ""
        return causes, memory_cause, d["deliver"], cw

    def helpers(self, node: Node) -> dict[str, s.Helper]:
        defs = self.parsed(node, "helpers", parse_helpers)
        out: dict[str, s.Helper] = {}
        for h in defs:
            widths = [(p.width, p.span, f"parameter '{p.name}'") for p in h.params]
            if isinstance(h, s.FnDef):
                widths.append((h.width, h.span, "the result"))
            bad = [(w, sp, what) for w, sp, what in widths if not 1 <= w <= MAX_WIDTH]
            for w, sp, what in bad:
                self.errors.error(sp or h.span, f"{what} of '{h.name}' is {w:,} bits: widths are 1 to {MAX_WIDTH:,}")
            if bad:
                continue
            if h.name in out:
                self.errors.error(h.span, f"helper '{h.name}' is defined twice")
            out[h.name] = h
        return out

    def contexts(self, node: Node | None, el: Elaborator, modes: ir.ModeDef | None):
        if node is None:
            raise _Skip()
        d = self.mapping(node, "contexts", "contexts")
        if "host" not in d or "guest" not in d:
            raise _Skip()
        host = self.condition(d["host"], el, "host")
        g = d["guest"]
        if g.kind != "mapping" or not g.value:
            self.ctx.fail(g.span, "guest must map each guest context's name to {where, modes}")
        out = []
        for name, cnode in g.value.items():
            try:
                self._name_key(g, name)
                cd = self.mapping(cnode, "guest", f"guest context '{name}'")
                where = self.condition(cd["where"], el, "where") if "where" in cd else ir.Lit(1, ir.BOOL)
                if "where" in cd:
                    self.where_reads_control_only(where, cd["where"], el.decls.elements, modes, name)
                if "modes" not in cd:
                    raise _Skip()
                mm = cd["modes"]
                if mm.kind != "mapping" or not mm.value:
                    self.ctx.fail(mm.span, "modes must map each virtual level to the real level it runs in")
                pairs = []
                for v, r in mm.value.items():
                    real = self.str_(r, "a real level")
                    for lv, sp in ((v, mm.key_spans.get(v, mm.span)), (real, r.span)):
                        if modes is not None and lv not in modes.names:
                            self.ctx.fail(sp, f"'{lv}' is not a privilege level", f"levels: {', '.join(modes.names)}")
                    pairs.append((v, real))
                out.append(
                    ir.Context(name, where, tuple(pairs), self.text_or_empty(cd, "description"), g.key_spans.get(name))
                )
            except _Skip:
                pass
        return host, tuple(out)

    def where_reads_control_only(
        self, where: ir.Expr, node: Node, elements: dict[str, ir.Element], modes: ir.ModeDef | None, ctx: str
    ) -> None:
        """docs/model.md §2.3: `where` is what the VMM sets up, so it may read control
        state (and the mode) only; a condition on guest state (a general
        register, the pc, a timer, storage) is not the VMM's to promise."""
        for elem, bits, span in _state_reads(where):
            where = span or node.span
            if elem is None:
                self.errors.error(
                    where,
                    f"the 'where' of guest context '{ctx}' reads storage; it may read "
                    "control state only (what the VMM sets up)",
                )
                continue
            e = elements[elem]
            allowed = e.role_mask("control")
            if modes is not None and modes.elem == elem:
                allowed |= ir.mask(modes.hi - modes.lo + 1) << modes.lo
            if bits & ~allowed:
                role = next(
                    (f.role or e.role for f in e.fields if (ir.mask(f.width) << f.lo) & bits & ~allowed), e.role
                )
                self.errors.error(
                    where,
                    f"the 'where' of guest context '{ctx}' constrains '{elem}', which is "
                    f"{role} state, not control state: a guest context may constrain only what "
                    "the VMM sets up (elements or fields with role: control)",
                )

    def condition(self, node: Node, el: Elaborator, what: str) -> ir.Expr:
        tree = self.parsed(node, what, parse_expr)
        cond = el.condition(tree, Scope())
        if cond is None:
            raise _Skip()
        return cond

    def invariants(self, node: Node | None, el: Elaborator):
        if node is None:
            return ()
        if node.kind != "list":
            self.ctx.fail(node.span, "invariants must be a list of conditions")
        return tuple(c for c in (self._guard(self.condition, n, el, "invariant") for n in node.value) if c is not None)

    def reset(self, node: Node | None, elements: dict[str, ir.Element]):
        if node is None:
            return ()
        if node.kind != "mapping":
            self.ctx.fail(node.span, "reset must map element names to their initial values")
        out = []
        for k, v in node.value.items():
            e = elements.get(k)
            if e is None or e.is_file:
                self.errors.error(node.key_spans.get(k), f"reset: '{k}' is not a scalar state element")
                continue
            val = self._guard(self.int_, v, f"reset value of '{k}'", 0, (1 << e.width) - 1)
            if val is not None:
                out.append((k, val))
        return tuple(out)

    # ---- instructions -------------------------------------------------------

    def instructions(self, node: Node, el: Elaborator, elements, insn_width: int) -> tuple[ir.Instruction, ...]:
        if node.kind != "mapping" or not node.value:
            self.ctx.fail(node.span, "instructions must map each instruction's name to its declaration")
        built = []
        for name, inode in node.value.items():
            try:
                self._name_key(node, name)
                built.append(
                    self.instruction(name, inode, node.key_spans.get(name, inode.span), el, elements, insn_width)
                )
            except _Skip:
                pass
        return tuple(_assign_encodings(built, insn_width, self.errors))

    def instruction(self, name, node: Node, kspan, el: Elaborator, elements, insn_width):
        d = self.mapping(node, "instruction", f"instruction '{name}'")
        mnemonic = self.str_(d["mnemonic"], "mnemonic") if "mnemonic" in d else name.upper()
        if not (0 < len(mnemonic) <= 80 and mnemonic.isprintable()):
            self.ctx.fail(
                d["mnemonic"].span, f"a mnemonic is 1-80 printable characters on one line, not {mnemonic[:80]!r}"
            )
        operands = self.operands(d.get("operands"), elements)
        scope = Scope({o.name: ir.Operand(o.name, o.width, o.span) for o in operands})
        labels = frozenset()
        if "labels" in d:
            ln = d["labels"]
            if ln.kind != "list":
                self.ctx.fail(ln.span, "labels must be a list")
            for lab in ln.value:
                t = self.str_(lab, "a label")
                if t not in LABELS:
                    self.errors.error(lab.span, f"unknown label '{t}'", f"labels: {', '.join(LABELS)}")
            labels = frozenset(lab.value for lab in ln.value if lab.value in LABELS)
        if "semantics" not in d:
            raise _Skip()
        stmts = self.parsed(d["semantics"], "semantics", parse_block)
        n_before = len(self.errors.diagnostics)
        body = el.block(stmts, scope)
        if len(self.errors.diagnostics) > n_before:
            raise _Skip()
        encoding = self.encoding(d["encoding"], operands, insn_width) if "encoding" in d else None
        syntax = self.syntax(d.get("syntax"), name, operands)
        return ir.Instruction(
            name, mnemonic, tuple(operands), body, encoding, syntax, labels, self.text_or_empty(d, "description"), kspan
        )

    def operands(self, node: Node | None, elements) -> list[ir.OperandDef]:
        if node is None:
            return []
        if node.kind != "list":
            self.ctx.fail(node.span, "operands must be a list like [rd: reg, imm: simm12]")
        files = [e for e in elements.values() if e.is_file]
        out: list[ir.OperandDef] = []
        for item in node.value:
            if item.kind != "mapping" or len(item.value) != 1:
                self.ctx.fail(item.span, "each operand is NAME: KIND (reg, reg(FILE), immN, simmN, optionally 'pcrel')")
            ((oname, knode),) = item.value.items()
            ospan = item.key_spans.get(oname, item.span)
            self._name_key(item, oname)
            if any(o.name == oname for o in out):
                self.ctx.fail(ospan, f"operand '{oname}' is listed twice")
            kind = self.str_(knode, "operand kind").strip()
            m = _OPERAND_RE.match(kind)
            if m is None:
                self.ctx.fail(
                    knode.span,
                    f"unknown operand kind '{kind}'",
                    "kinds: reg, reg(FILE), immN / uimmN (unsigned), simmN (signed), e.g. 'simm16 pcrel'",
                )
            pcrel = bool(m.group("pcrel"))
            if m.group("reg"):
                fname = m.group("file")
                if fname is None:
                    if len(files) != 1:
                        self.ctx.fail(
                            knode.span, f"'reg' is ambiguous with {len(files)} register files", "write reg(FILE)"
                        )
                    f = files[0]
                else:
                    f = elements.get(fname)
                    if f is None or not f.is_file:
                        self.ctx.fail(knode.span, f"'{fname}' is not a register file")
                if pcrel:
                    self.ctx.fail(knode.span, "a register operand cannot be pcrel")
                out.append(ir.OperandDef(oname, "reg", f.index_width, f.name, False, False, ospan))
            else:
                w = int(m.group("w"))
                if not 1 <= w <= 4096:
                    self.ctx.fail(knode.span, f"an immediate of {w} bits is out of range")
                out.append(ir.OperandDef(oname, "imm", w, None, m.group("kind") == "simm", pcrel, ospan))
        return out

    def syntax(self, node: Node | None, name: str, operands) -> str:
        if node is None:
            return name + ("" if not operands else " " + ", ".join(f"{{{o.name}}}" for o in operands))
        text = self.str_(node, "syntax")
        used = re.findall(r"\{(\w+)\}", text)
        names = [o.name for o in operands]
        for u in used:
            if u not in names:
                self.ctx.fail(node.span, f"syntax names '{{{u}}}', which is not an operand")
        for n in names:
            if used.count(n) != 1:
                self.ctx.fail(node.span, f"syntax must contain {{{n}}} exactly once")
        if not re.match(r"\s*[A-Za-z_.][\w.]*", text):
            self.ctx.fail(node.span, "syntax must start with the mnemonic keyword")
        # The assembler reads '#' and ';' as the start of a comment, so a template
        # holding one could never be written in a program.
        for ch in "#;":
            if ch in text:
                self.ctx.fail(
                    node.span,
                    f"syntax contains '{ch}', which starts a comment in a program: "
                    "the assembler could never read this form",
                    "write the operand without it",
                )
        stray = re.sub(r"\{\w+\}", "", text)
        if "{" in stray or "}" in stray:
            self.ctx.fail(node.span, "syntax has a '{' or '}' that is not part of an operand {name}")
        return text.strip()

    def encoding(self, node: Node, operands, insn_width: int) -> ir.Encoding:
        text = self.str_(node, "encoding")
        ops = {o.name: o for o in operands}
        pos, fixed, fmask, pieces = insn_width, 0, 0, []
        for tok in text.replace(",", " ").split():
            m = re.fullmatch(r"[01_]+", tok)
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
                self.ctx.fail(
                    node.span,
                    f"encoding: '{tok}' is neither bits nor an operand",
                    f"operands: {', '.join(ops) or 'none'}",
                )
            o = ops[m.group(1)]
            hi = int(m.group(2)) if m.group(2) else o.width - 1
            lo = int(m.group(3)) if m.group(3) else (hi if m.group(2) else 0)
            if not (0 <= lo <= hi < o.width):
                self.ctx.fail(node.span, f"encoding: '{tok}' selects bits outside the {o.width}-bit operand")
            pos -= hi - lo + 1
            if pos < 0:
                break
            pieces.append((o.name, hi, lo, pos))
        if pos != 0:
            total = insn_width - pos
            self.ctx.fail(node.span, f"encoding has {total} bits; an instruction has {insn_width}")
        return ir.Encoding(fixed, fmask, tuple(pieces))


def _assign_encodings(insns: list[ir.Instruction], insn_width: int, errors: Collector) -> list[ir.Instruction]:
    """Give every instruction without an encoding one, and check for overlaps.

    Assigned encodings put an opcode in the top bits and pack the operands
    below it, in order; opcodes that would overlap a given encoding are skipped.
    """
    given = [i.encoding for i in insns if i.encoding is not None]
    need = [i for i in insns if i.encoding is None]
    opbits = max(1, (len(need) + len(given)).bit_length())
    out, code = [], 0
    for insn in insns:
        enc = insn.encoding
        if enc is None:
            room = insn_width - opbits
            used = sum(o.width for o in insn.operands)
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
            pieces, pos = [], room
            for o in insn.operands:
                pos -= o.width
                pieces.append((o.name, o.width - 1, 0, pos))
            enc = ir.Encoding(fixed, fmask, tuple(pieces), assigned=True)
            insn = ir.Instruction(
                insn.name,
                insn.mnemonic,
                insn.operands,
                insn.semantics,
                enc,
                insn.syntax,
                insn.labels,
                insn.description,
                insn.span,
            )
        out.append(insn)
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
