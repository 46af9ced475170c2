"""Instruction families, shared operand formats and compile-time parameters.

A *format* (`formats:`) is an operand list, an encoding template and an
assembler syntax declared once, with *parameters* (`params:`) for what
differs between the instructions that use it (RISC-V's R/I/S/B/U types:
funct3, funct7, the opcode). An instruction names it (`format: R`) and gives
its parameters' values (`with: {funct3: 0, ...}`).

A *family* is an entry of `instructions` with `members:`: one description
(operands or a format, syntax, encoding, semantics, labels, ref) whose
members differ only by parameter values (RISC-V LB/LH/LW/LD/LBU/LHU/LWU as
one `load` family with W, U and funct3).

Parameters are compile-time values, substituted before elaboration. Two
kinds: `width` (a whole number 1..MAX_WIDTH: a width in `sext(x, W)`,
`x[W-1:0]`, a width-generic helper's argument) and `bitsN` (an N-bit value:
its N bits where the encoding names it, a number in semantics). In
semantics a parameter's name reads as the number; arithmetic on numbers
only is folded, and a condition (`if`, `?:`) made of numbers only is
decided at expansion, so a member keeps only the branch it takes.

Expansion happens here, in the loader: each member (and each instruction
using a format) becomes an ordinary `ir.Instruction` whose `family` field
remembers where it came from. The guarantees: a member gives exactly the
parameters its family and the family's format leave open, each value fits
its kind, and every error is reported at the member (or, for an error in
the shared text, at the text with the member named).

Width-generic helpers (`fn ld(a: 64, W: width) -> W`) are instantiated the
same way at each call: `instantiate` substitutes the width arguments (which
must be constants) into a copy of the helper.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..errors import Diagnostic, Span
from . import ir
from . import surface as s
from .limits import MAX_WIDTH
from .node_checks import NodeChecks, Skip
from .nodes import Node

_KIND_RE = re.compile(r"^\s*(?:(?P<width>width)|bits(?P<n>\d{1,4}))\s*$")
# The keys a format gives the instructions that use it.
FORMAT_GIVES = ("operands", "encoding", "syntax")
# The keys a family gives each member (a member may override those in MEMBER_KEYS).
FAMILY_GIVES = ("operands", "encoding", "syntax", "semantics", "labels", "ref", "description")


@dataclass(frozen=True)
class ParamDef:
    """A compile-time parameter: `bits` is None for a width, else the value's bits."""

    name: str
    bits: int | None
    span: Span | None = None

    @property
    def kind(self) -> str:
        return "width" if self.bits is None else f"bits{self.bits}"

    def problem(self, value: int) -> str | None:
        """Why `value` does not fit this parameter, or None."""
        if self.bits is None:
            return None if 1 <= value <= MAX_WIDTH else f"a width is 1 to {MAX_WIDTH}"
        return None if 0 <= value < (1 << self.bits) else f"a bits{self.bits} value is 0 to {(1 << self.bits) - 1}"


@dataclass(frozen=True)
class Template:
    """A format or a family as declared: its own parameters, the values it fixes
    for its format's parameters, and the keys it gives."""

    name: str
    what: str  # "format" or "family"
    params: dict[str, ParamDef]
    gives: dict[str, Node]
    span: Span | None
    format: Template | None = None
    fixed: dict[str, int] = dataclasses.field(default_factory=dict)

    def open_params(self) -> dict[str, ParamDef]:
        """The parameters a user of this template must give."""
        out = {} if self.format is None else {k: v for k, v in self.format.open_params().items() if k not in self.fixed}
        out.update(self.params)
        return out

    def all_params(self) -> dict[str, ParamDef]:
        out = {} if self.format is None else dict(self.format.all_params())
        out.update(self.params)
        return out

    def key(self, key: str) -> tuple[Node | None, bool]:
        """The node this template (or its format) gives for `key`, and whether
        it came from a template at all."""
        if key in self.gives:
            return self.gives[key], True
        if self.format is not None:
            return self.format.key(key)
        return None, False


@dataclass(frozen=True)
class Expanded:
    """One instruction to build: its merged declaration (instruction keys only,
    encoding and syntax already instantiated), its parameter values, and its
    family (None for a plain instruction)."""

    name: str
    node: Node
    kspan: Span | None
    values: dict[str, int]
    family: ir.Membership | None


class FamilyBuilder(NodeChecks):
    """`formats:` and the families and format uses in `instructions:`."""

    # Names a parameter may not take (state elements, constants, levels, helpers):
    # in semantics it would hide them. Set by the spec builder before expansion.
    reserved_names: frozenset[str] = frozenset()

    def param_defs(self, node: Node, owner: str, taken: set[str]) -> dict[str, ParamDef]:
        if node.kind != "mapping":
            self.fail(node.span, f"params of {owner} must map each parameter to its kind (width or bitsN)")
        out: dict[str, ParamDef] = {}
        for pname, knode in node.value.items():
            pspan = node.key_spans.get(pname, knode.span)
            self.name_key(node, pname)
            kind = self.str_(knode, "a parameter kind")
            m = _KIND_RE.match(kind)
            if m is None or (m.group("n") is not None and not 1 <= int(m.group("n")) <= MAX_WIDTH):
                self.fail(knode.span, f"unknown parameter kind '{kind}'", "kinds: width, bitsN (an N-bit value)")
            if pname in taken:
                self.fail(pspan, f"parameter '{pname}' of {owner} is also an operand or a parameter of its format")
            if pname in self.reserved_names:
                self.fail(
                    pspan,
                    f"parameter '{pname}' of {owner} would hide the spec's '{pname}' in semantics",
                    "choose another name",
                )
            bits = None if m.group("width") else int(m.group("n"))
            out[pname] = ParamDef(pname, bits, pspan)
        return out

    def formats(self, node: Node | None) -> dict[str, Template]:
        if node is None:
            return {}
        if node.kind != "mapping" or not node.value:
            self.fail(node.span, "formats must map each format's name to {params, operands, encoding, syntax}")
        out: dict[str, Template] = {}
        for name, fnode in node.value.items():
            try:
                self.name_key(node, name)
                d = self.mapping(fnode, "format", f"format '{name}'")
                ops = _operand_names(d.get("operands"))
                params = self.param_defs(d["params"], f"format '{name}'", ops) if "params" in d else {}
                gives = {k: d[k] for k in FORMAT_GIVES if k in d}
                out[name] = Template(name, "format", params, gives, node.key_spans.get(name, fnode.span))
            except Skip:
                pass
        return out

    def values(self, node: Node | None, owner: str, want: dict[str, ParamDef], at: Span | None) -> dict[str, int]:
        """`with: {P: value, ...}` checked against the parameters `want` (exactly those)."""
        got: dict[str, int] = {}
        if node is not None:
            if node.kind != "mapping":
                self.fail(node.span, f"with of {owner} must map parameters to numbers")
            for pname, vnode in node.value.items():
                pspan = node.key_spans.get(pname, vnode.span)
                p = want.get(pname)
                if p is None:
                    self.errors.error(
                        pspan,
                        f"{owner} has no parameter '{pname}' to give",
                        f"it gives: {', '.join(want) or 'none'}",
                    )
                    continue
                v = self.guard(self.int_, vnode, f"parameter '{pname}'", 0, default=None)
                if v is None:
                    continue
                if (why := p.problem(v)) is not None:
                    self.errors.error(vnode.span, f"{pname} = {v} does not fit parameter '{pname}' ({p.kind}): {why}")
                    continue
                got[pname] = v
        missing = [p for p in want if p not in got and (node is None or p not in node.value)]
        if missing:
            self.fail(
                at,
                f"{owner} does not give parameter{'s' if len(missing) > 1 else ''} "
                + ", ".join(f"'{p}' ({want[p].kind})" for p in missing),
                "write them under with: {" + ", ".join(f"{p}: ..." for p in missing) + "}",
            )
        if len(got) != len(want):
            raise Skip()  # an error about a value was recorded
        return got

    def format_of(self, d: dict[str, Node], formats: dict[str, Template], owner: str) -> Template | None:
        if "format" not in d:
            return None
        fname = self.str_(d["format"], "format")
        f = formats.get(fname)
        if f is None:
            self.fail(
                d["format"].span,
                f"{owner} names format '{fname}', which is not declared",
                f"formats: {', '.join(formats) or 'none'}",
            )
        for k in FORMAT_GIVES:
            if k in d and k != "syntax":
                self.fail(d[k].span, f"{owner} uses format '{fname}', which gives its {k}")
        return f

    def expand(self, node: Node, formats: dict[str, Template]) -> list[Expanded]:
        """The `instructions` mapping with families and format uses expanded, in order."""
        out: list[Expanded] = []
        for name, inode in node.value.items():
            try:
                self.name_key(node, name)
                kspan = node.key_spans.get(name, inode.span)
                if inode.kind == "mapping" and "members" in inode.value:
                    out.extend(self.family(name, inode, kspan, formats))
                else:
                    out.append(self.plain(name, inode, kspan, formats))
            except Skip:
                pass
        return out

    def plain(self, name: str, inode: Node, kspan: Span | None, formats: dict[str, Template]) -> Expanded:
        if inode.kind != "mapping" or ("format" not in inode.value and "with" not in inode.value):
            return Expanded(name, inode, kspan, {}, None)
        d = self.mapping(inode, "instruction", f"instruction '{name}'")
        fmt = self.format_of(d, formats, f"instruction '{name}'")
        if fmt is None:
            self.fail(d["with"].span, f"instruction '{name}' gives parameter values but uses no format")
        values = self.values(d.get("with"), f"instruction '{name}'", fmt.open_params(), kspan)
        own = {k: v for k, v in d.items() if k not in ("format", "with")}
        return Expanded(name, self.merged(name, inode, own, fmt, values), kspan, values, None)

    def family(self, fam: str, inode: Node, kspan: Span | None, formats: dict[str, Template]) -> list[Expanded]:
        d = self.mapping(inode, "family", f"family '{fam}'")
        fmt = self.format_of(d, formats, f"family '{fam}'")
        ops = _operand_names(d.get("operands") if fmt is None else fmt.key("operands")[0])
        taken = ops | (set(fmt.all_params()) if fmt is not None else set())
        params = self.param_defs(d["params"], f"family '{fam}'", taken) if "params" in d else {}
        fixed: dict[str, int] = {}
        if fmt is not None:
            want = fmt.open_params()
            given = d["with"].value if "with" in d and d["with"].kind == "mapping" else {}
            fixed = self.values(d.get("with"), f"family '{fam}'", {k: v for k, v in want.items() if k in given}, kspan)
        elif "with" in d:
            self.fail(d["with"].span, f"family '{fam}' fixes parameter values but uses no format")
        gives = {k: d[k] for k in FAMILY_GIVES if k in d}
        t = Template(fam, "family", params, gives, kspan, fmt, fixed)
        members = d["members"]
        if members.kind != "mapping" or not members.value:
            self.fail(members.span, f"members of family '{fam}' must map each member's name to {{with: {{...}}}}")
        out: list[Expanded] = []
        seen: dict[tuple, str] = {}  # the values each member gives -> the member
        for mname, mnode in members.value.items():
            try:
                self.name_key(members, mname)
                mspan = members.key_spans.get(mname, mnode.span)
                md = self.mapping(mnode, "member", f"member '{mname}' of family '{fam}'")
                own_vals = self.values(md.get("with"), f"member '{mname}' of family '{fam}'", t.open_params(), mspan)
                key = tuple(sorted(own_vals.items()))
                if key in seen:  # the same instruction twice (and a member's guard could not tell them apart)
                    self.fail(
                        mspan, f"member '{mname}' of family '{fam}' gives the same values as member '{seen[key]}'"
                    )
                seen[key] = mname
                values = {**fixed, **own_vals}
                own = {k: v for k, v in md.items() if k != "with"}
                merged = self.merged(mname, mnode, own, t, values)
                order = list(params) + [p for p in t.all_params() if p not in params]  # its own first
                membership = ir.Membership(fam, tuple((p, values[p]) for p in order if p in values), kspan)
                out.append(Expanded(mname, merged, mspan, values, membership))
            except Skip:
                pass
        return out

    def merged(self, name: str, at: Node, own: dict[str, Node], t: Template, values: dict[str, int]) -> Node:
        """The instruction declaration `own` completed from template `t`: the
        encoding's parameter tokens replaced by their bits, a template's syntax
        (the operand part) preceded by the instruction's name."""
        out: dict[str, Node] = {}
        keys: dict[str, Span] = {}
        kinds = t.all_params()
        for key in ("mnemonic", "operands", "syntax", "encoding", "semantics", "labels", "ref", "description"):
            if key in own:
                out[key] = own[key]
                keys[key] = at.key_spans.get(key, own[key].span)
                continue
            n, _ = t.key(key)
            if n is None:
                continue
            if key == "syntax":
                text = self.str_(n, "syntax")
                n = Node(f"{name} {text.strip()}".strip() if text.strip() else name, n.span, n.origin)
            elif key == "encoding":
                n = Node(self.encoding_text(n, kinds, values), n.span, n.origin)
            out[key] = n
            keys[key] = n.span
        return Node(out, at.span, at.origin, keys)

    def encoding_text(self, n: Node, kinds: dict[str, ParamDef], values: dict[str, int]) -> str:
        text = self.str_(n, "encoding")

        def bits(m: re.Match) -> str:
            p = kinds[m.group(0)]
            if p.bits is None:
                self.fail(n.span, f"encoding: parameter '{p.name}' is a width; an encoding takes bitsN parameters")
            return format(values[p.name], f"0{p.bits}b")

        if not kinds:
            return text
        names = "|".join(re.escape(k) for k in sorted(kinds, key=len, reverse=True))
        return re.sub(rf"(?<![\w\[])(?:{names})(?![\w\[])", bits, text)


def guard_member(instructions: Node, name: str, line: str) -> bool:
    """Put statement `line` in front of family member `name`'s semantics only
    (a remedy's guard, `remedy/specedit.py`): the family's semantics gain
    `if P1 == v1 && ... { line }` over the values the member gives, a condition
    of parameters alone, so it is decided at expansion and every other member
    (which differs in one of them, or its encoding would overlap) drops it.
    False when no family has a member `name`."""
    for fnode in instructions.value.values():
        members = fnode.value.get("members") if fnode.kind == "mapping" else None
        if members is None or members.kind != "mapping" or name not in members.value:
            continue
        m = members.value[name]
        w = m.value.get("with") if m.kind == "mapping" else None
        vals = [(k, v.value) for k, v in (w.value.items() if w is not None and w.kind == "mapping" else [])]
        cond = " && ".join(f"{k} == {v}" for k, v in vals) or "true"
        sem = fnode.value["semantics"]
        body = str(sem.value).rstrip("\n")
        sem.value = f"if {cond} {{ {line} }}\n{body}\n"
        return True
    return False


def _operand_names(node: Node | None) -> set[str]:
    if node is None or node.kind != "list":
        return set()
    return {k for item in node.value if item.kind == "mapping" for k in item.value}


# ---- substitution and compile-time folding -------------------------------------


def substitute(x, values: dict[str, int]):
    """`x` (surface statements, expressions or a helper) with each parameter
    name replaced by its number, parameter widths made numbers, arithmetic on
    numbers folded and conditions on numbers decided."""
    if not values:
        return x
    return _Subst(values).any(x)


class _Subst:
    def __init__(self, values: dict[str, int]):
        self.values = values

    def any(self, x):
        if isinstance(x, tuple):
            out = []
            for item in x:
                if isinstance(item, s.IfStmt):
                    out.extend(self.if_stmt(item))
                else:
                    out.append(self.any(item))
            return tuple(out)
        if isinstance(x, s.Name) and x.name in self.values:
            return s.Num(self.values[x.name], x.span)
        if isinstance(x, s.Param) and isinstance(x.width, str) and x.width in self.values:
            return dataclasses.replace(x, width=self.values[x.width])
        if isinstance(x, s.FnDef):
            w = self.values.get(x.width, x.width) if isinstance(x.width, str) else x.width
            return dataclasses.replace(
                x, params=self.any(x.params), width=w, lets=self.any(x.lets), result=self.any(x.result)
            )
        if isinstance(x, s.MemAccess) and x.nbits_name is not None and x.nbits_name in self.values:
            return dataclasses.replace(
                x, nbits=self.values[x.nbits_name], nbits_name=None, addr=self.any(x.addr), priv=self.any(x.priv)
            )
        if isinstance(x, s.Ternary):
            c = static(self.any(x.cond))
            if c is not None:
                return self.any(x.then if c else x.orelse)
        if isinstance(x, s.IfStmt):  # a lone if (not in a block): keep its form
            return dataclasses.replace(x, cond=self.any(x.cond), then=self.any(x.then), orelse=self.any(x.orelse))
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            changes = {}
            for f in dataclasses.fields(x):
                if f.name == "span":
                    continue
                v = getattr(x, f.name)
                nv = self.any(v) if isinstance(v, tuple) or dataclasses.is_dataclass(v) else v
                if nv is not v:
                    changes[f.name] = nv
            y = dataclasses.replace(x, **changes) if changes else x
            if isinstance(y, s.Binary) and y.op in _ARITH and isinstance(y.left, s.Num) and isinstance(y.right, s.Num):
                v = _ARITH[y.op](y.left.value, y.right.value)
                if v is not None and v >= 0:
                    return s.Num(v, y.span)
            return y
        return x

    def if_stmt(self, st: s.IfStmt) -> list:
        c = static(self.any(st.cond))
        if c is None:
            return [dataclasses.replace(st, cond=self.any(st.cond), then=self.any(st.then), orelse=self.any(st.orelse))]
        branch = self.any(st.then if c else st.orelse)
        if any(isinstance(x, s.LetStmt) for x in branch):
            # its lets must stay local to it (spliced, one could replace an outer name):
            # keep it a block of its own, under a condition that is true
            return [s.IfStmt(s.BoolLit(True, st.span), branch, (), st.span)]
        return list(branch)


_ARITH = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a // b if b else None,
    "%": lambda a, b: a % b if b else None,
    "<<": lambda a, b: a << b if b <= MAX_WIDTH else None,
    ">>": lambda a, b: a >> b,
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
}
_CMP = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def static(e) -> bool | None:
    """The truth of a condition made of numbers only, or None when it reads anything else."""
    if isinstance(e, s.BoolLit):
        return e.value
    if isinstance(e, s.Unary) and e.op == "!":
        v = static(e.value)
        return None if v is None else not v
    if isinstance(e, s.Binary):
        if e.op in ("&&", "||"):
            a, b = static(e.left), static(e.right)
            if a is None or b is None:
                return None
            return (a and b) if e.op == "&&" else (a or b)
        if e.op in _CMP and isinstance(e.left, s.Num) and isinstance(e.right, s.Num):
            return _CMP[e.op](e.left.value, e.right.value)
    return None


# ---- width-generic helpers -------------------------------------------------------


def width_params(h: s.Helper) -> list[s.Param]:
    """The parameters of `h` that are widths (`W: width`)."""
    return [p for p in h.params if p.width == "width"]


def check_generic(h: s.Helper) -> list[Diagnostic]:
    """The problems of a helper's width parameters: every width written as a
    name must name one of them."""
    names = {p.name for p in width_params(h)}
    out = []
    uses: list[tuple[str, Span | None, str]] = [
        (p.width, p.span, f"parameter '{p.name}'") for p in h.params if isinstance(p.width, str) and p.width != "width"
    ]
    if isinstance(h, s.FnDef) and isinstance(h.width, str):
        uses.append((h.width, h.span, "the result"))
    for w, sp, what in uses:
        if w not in names:
            out.append(
                Diagnostic(
                    sp or h.span,
                    f"{what} of '{h.name}' is '{w}' bits, which is not a width parameter of '{h.name}'",
                    f"declare it as {w}: width" if not names else f"width parameters: {', '.join(sorted(names))}",
                )
            )
    for m in _mem_names(h):
        if m.nbits_name not in names:
            out.append(
                Diagnostic(
                    m.span or h.span,
                    f"{m.space}{{{m.nbits_name}}}: '{m.nbits_name}' is not a width parameter of '{h.name}'",
                    f"declare it as {m.nbits_name}: width",
                )
            )
    return out


def _mem_names(x):
    if isinstance(x, s.MemAccess) and x.nbits_name is not None:
        yield x
    if isinstance(x, tuple):
        for i in x:
            yield from _mem_names(i)
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            v = getattr(x, f.name)
            if isinstance(v, tuple) or dataclasses.is_dataclass(v):
                yield from _mem_names(v)


def instantiate(h: s.Helper, widths: dict[str, int]) -> s.Helper:
    """`h` with its width parameters replaced by `widths` (one value each) and
    removed from its parameter list."""
    inst = _Subst(widths).any(h)
    return dataclasses.replace(inst, params=tuple(p for p in inst.params if p.name not in widths))
