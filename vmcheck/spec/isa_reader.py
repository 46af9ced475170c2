"""The `.isa` front-end: compact spec text -> the same node tree as the YAML reader.

The grammar (`isa.lark`) covers the whole file; semantics text (instruction
bodies, `deliver`, `helpers`, and the `host`/`where`/`invariant`
conditions) is captured raw and handed on as a string scalar with an
`Origin`, exactly as the YAML reader does with a block scalar, so the
semantics parser later reports its errors at the right line and column of
the `.isa` file. `build.py` then checks the tree: this module only knows the
syntax, never what a spec may mean.

The reader is four modules: this one (the parse tree -> `Node`s, and
`read_isa`), `isa_grammar.py` (the grammar and its lexer),
`isa_syntax_errors.py` (syntax errors in words) and `isa_strings.py`
(strings, numbers and semantics text as the syntax writes them).

`EXAMPLE` below is a complete small spec in this syntax (the tests load it);
`tests/data/features.isa` uses every construct.
"""

from __future__ import annotations

from typing import cast

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError

from ..errors import Diagnostic, Span, SpecError
from .isa_grammar import parser
from .isa_strings import code_text, long_string_value, parse_number, unescape
from .isa_syntax_errors import syntax_diagnostic, tok_span
from .limits import MAX_NESTING, number_problem
from .nodes import Node
from .semantics_parser import Origin

EXAMPLE = """\
# Popek & Goldberg's machine, cut down (isa_specs/pg-toy has all of it)
isa pg-mini
description "relocation-bounds addressing and a supervisor/user mode bit"
word 32
modes supervisor, user               # most privileged first: codes 0, 1
state {
  pc:   32 role pc "P, relative to the relocation register"
  m:    1 role mode
  rl:   32 role control
  rb:   32 role control
  r[8]: 32 "general registers"
}
reset pc = 16, rb = 4096
storage size 4096 unit 32 translation relocation rl bound rb
traps {
  cause PRIV = 1
  cause MEM = 2 memory "address outside the bound"
  memory_cause MEM
  deliver {
    phys[0] = pc
    m = phys[8][0]
    pc = phys[9]
  }
}
host m == supervisor
guest classic: supervisor -> user, user -> user where true
instruction li(rd: reg, imm: simm16) "load an immediate" { r[rd] = sext(imm, 32) }
instruction ld(rd: reg, off: simm16, rs: reg) syntax "ld {rd}, {off}({rs})" {
  r[rd] = mem[r[rs] + sext(off, 32)]
}
instruction halt labels privileged {
  require m == supervisor else PRIV
  halt
}
"""


def read_isa(text: str, file: str) -> Node:
    """Parse `.isa` text into a Node tree; syntax errors become SpecError at their line."""
    if not text.strip() or _only_comments(text):
        raise SpecError(Diagnostic(Span(file, 1, 1), "the spec file is empty"))
    try:
        tree = parser().parse(text)
    except UnexpectedInput as e:
        raise SpecError(syntax_diagnostic(e, text, file)) from None
    _check_depth(tree, file)
    try:
        return _TreeToNodes(file, text).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, SpecError):
            raise e.orig_exc from None
        raise


def _check_depth(tree: Tree, file: str) -> None:
    """Braces nested past MAX_NESTING are an error here, before the (recursive)
    transformer walks the tree."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            m = node.meta
            span = Span(file, m.line, m.column) if not getattr(m, "empty", True) else Span(file, 1, 1)
            raise SpecError(
                Diagnostic(span, f"nested more than {MAX_NESTING} levels deep: the limit is {MAX_NESTING} levels")
            )
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))


def _only_comments(text: str) -> bool:
    return all(not ln.strip() or ln.lstrip().startswith(("#", "//")) for ln in text.splitlines())


# ---- the tree -> Node transformer -------------------------------------------------------


class _Named:
    """A name as written: its text and span."""

    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span):
        self.text, self.span = text, span


class _Entry:
    """One `key value` of a mapping being built: `value` a Node, `kspan` where the key is."""

    __slots__ = ("key", "value", "kspan")

    def __init__(self, key: str, value: Node, kspan: Span):
        self.key, self.value, self.kspan = key, value, kspan


@v_args(meta=True)
class _TreeToNodes(Transformer):
    """Lark tree -> Node tree. Method names follow the grammar's rules."""

    def __init__(self, file: str, text: str):
        super().__init__()
        self.file = file
        self.text = text

    # ---- helpers ----

    def _span(self, meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, tok: Token) -> Span:
        return tok_span(self.file, tok)

    def _kw(self, meta, word: str) -> Span:
        """The span of the keyword a rule starts with."""
        return Span(self.file, meta.line, meta.column, meta.line, meta.column + len(word))

    def _mapping(self, entries, span: Span, what: str) -> Node:
        out: dict[str, Node] = {}
        keys: dict[str, Span] = {}
        for en in entries:
            if en.key in out:
                first = keys[en.key].line
                raise SpecError(Diagnostic(en.kspan, f"duplicate {what.format(key=en.key)} (first at line {first})"))
            out[en.key] = en.value
            keys[en.key] = en.kspan
        return Node(out, span, key_spans=keys)

    def _text(self, n: _Named) -> Node:
        return Node(n.text, n.span)

    # ---- tokens ----

    def name(self, meta, items):
        tok = items[0]
        text = str(tok)[1:-1] if tok.type == "QNAME" else str(tok)
        return _Named(text, self._tspan(tok))

    def number(self, meta, items):
        tok = items[0]
        v = parse_number(str(tok))
        if v is not None and (why := number_problem(str(tok), v)):
            raise SpecError(Diagnostic(self._tspan(tok), why))
        if v is None and (why := number_problem(str(tok))):
            raise SpecError(Diagnostic(self._tspan(tok), why))
        if v is None:
            raise SpecError(
                Diagnostic(
                    self._tspan(tok),
                    f"syntax error: bad number '{tok}'; expected a decimal, 0x hexadecimal or 0b binary number",
                )
            )
        return Node(v, self._tspan(tok))

    def string(self, meta, items):
        tok = items[0]
        if tok.type == "LONG_STRING":
            raw = long_string_value(str(tok)[3:-3])
            value = unescape(raw, self.file, tok.line, tok.column + 3)
        else:
            value = unescape(str(tok)[1:-1], self.file, tok.line, tok.column + 1)
        return Node(value, self._tspan(tok))

    def code_block(self, meta, items):
        lbrace = meta.start_pos + 1
        raw = self.text[lbrace : meta.end_pos - 1]
        text, origin = code_text(raw, self.file, meta.line, meta.column + 1)
        return Node(text, self._span(meta), origin)

    def _code(self, item, keyword_line: int, keyword: str) -> Node:
        if isinstance(item, Node):
            return item
        tok: Token = item  # LINE_CODE
        if tok.line != keyword_line:
            raise SpecError(
                Diagnostic(
                    self._tspan(tok),
                    f"syntax error: the condition after '{keyword}' must start on the same line (line {keyword_line})",
                    "or write it in braces: { ... }",
                )
            )
        text = str(tok).rstrip()
        line, col = tok.line, cast(int, tok.column)  # the lexer sets the column
        span = Span(self.file, line, col, line, col + len(text))
        return Node(text, span, Origin(self.file, line, col - 1, col - 1))

    # ---- the file ----

    def start(self, meta, items):
        if not items:  # pragma: no cover - read_isa rejects an empty file first
            raise SpecError(Diagnostic(Span(self.file, 1, 1), "the spec file is empty"))
        top: list[_Entry] = []
        host = None
        guests: list[_Entry] = []
        invariants: list[tuple[Node, Span]] = []
        insns: list[_Entry] = []
        okinds: list[_Entry] = []
        formats: list[_Entry] = []
        irqs: list[_Entry] = []
        for kind, payload in items:
            if kind == "host":
                if host is not None:
                    raise SpecError(Diagnostic(payload.kspan, f"duplicate 'host' (first at line {host.kspan.line})"))
                host = payload
            elif kind == "guest":
                guests.append(payload)
            elif kind == "invariant":
                invariants.append(payload)
            elif kind == "instruction":
                insns.append(payload)
            elif kind == "operand_kind":
                okinds.append(payload)
            elif kind == "format":  # families.py
                formats.append(payload)
            elif kind == "interrupt":
                irqs.append(payload)
            else:
                top.append(payload)
        if host is not None or guests:
            first = min([e.kspan for e in ([host] if host else []) + guests], key=lambda s: (s.line, s.col))
            ctx: list[_Entry] = []
            if host is not None:
                ctx.append(host)
            if guests:
                gnode = self._mapping(guests, guests[0].kspan, "guest context '{key}'")
                ctx.append(_Entry("guest", gnode, guests[0].kspan))
            top.append(_Entry("contexts", self._mapping(ctx, first, "'{key}'"), first))
        if invariants:
            top.append(_Entry("invariants", Node([n for n, _ in invariants], invariants[0][1]), invariants[0][1]))
        if okinds:
            knode = self._mapping(okinds, okinds[0].kspan, "operand kind '{key}'")
            top.append(_Entry("operand_kinds", knode, okinds[0].kspan))
        if formats:
            fnode = self._mapping(formats, formats[0].kspan, "format '{key}'")
            top.append(_Entry("formats", fnode, formats[0].kspan))
        if irqs:
            qnode = self._mapping(irqs, irqs[0].kspan, "interrupt source '{key}'")
            top.append(_Entry("interrupts", qnode, irqs[0].kspan))
        if insns:
            inode = self._mapping(insns, insns[0].kspan, "instruction '{key}'")
            top.append(_Entry("instructions", inode, insns[0].kspan))
        root_span = Span(self.file, meta.line, meta.column)
        return self._mapping(_in_file_order(top), root_span, "'{key}'")

    # ---- simple declarations ----

    def _decl(self, meta, word: str, value: Node):
        return ("top", _Entry(word, value, self._kw(meta, word)))

    def isa_decl(self, meta, items):
        v = items[0]
        if isinstance(v, Token):
            v = Node(str(v), self._tspan(v))
        return self._decl(meta, "isa", v)

    def description_decl(self, meta, items):
        return self._decl(meta, "description", items[0])

    def references_decl(self, meta, items):
        return self._decl(meta, "references", Node(list(items), items[0].span))

    def word_decl(self, meta, items):
        return self._decl(meta, "word", items[0])

    def insn_width_decl(self, meta, items):
        return self._decl(meta, "insn_width", items[0])

    def insn_width_variable(self, meta, items):
        span = self._span(meta)
        return ("top", _Entry("insn_width", Node("variable", span), self._kw(meta, "insn_width")))

    # ---- variable-length encodings: prefix groups ----

    def prefixes_decl(self, meta, items):
        span = self._kw(meta, "prefixes")
        return self._decl(
            meta, "prefixes", self._mapping(items, items[0].kspan if items else span, "prefix group '{key}'")
        )

    def prefix_group(self, meta, items):
        n, *defs = items
        return _Entry(n.text, self._mapping(defs, defs[0].kspan, f"prefix '{{key}}' of group '{n.text}'"), n.span)

    def prefix_def(self, meta, items):
        n, v = items
        return _Entry(n.text, v, n.span)

    # ---- operand kinds with addressing modes ----

    def operand_kind_decl(self, meta, items):
        n, *rest = items
        attrs = [i for i in rest if i.key != "mode"]
        modes = [i.value for i in rest if i.key == "mode"]
        entries = list(attrs)
        if modes:
            entries.append(
                _Entry("modes", self._mapping(modes, modes[0].kspan, f"mode '{{key}}' of '{n.text}'"), modes[0].kspan)
            )
        node = self._mapping(entries, n.span, f"'{{key}}' of operand kind '{n.text}'")
        return ("operand_kind", _Entry(n.text, node, n.span))

    def okind_width(self, meta, items):
        return self._attr(meta, "width", items[0])

    def okind_bits(self, meta, items):
        return self._attr(meta, "bits", items[0])

    def addr_mode(self, meta, items):
        n, fields, *attrs = items
        entries = []
        if fields is not None:
            entries.append(_Entry("fields", fields.value, fields.kspan))
        entries += attrs
        node = self._mapping(entries, n.span, f"'{{key}}' of mode '{n.text}'")
        return _Entry("mode", _Entry(n.text, node, n.span), n.span)

    def mode_extension(self, meta, items):
        return self._attr(meta, "extension", items[0])

    def mode_value(self, meta, items):
        return self._attr(meta, "value", items[0])

    def mode_address(self, meta, items):
        return self._attr(meta, "address", items[0])

    def mode_effect(self, meta, items):
        return self._attr(meta, "effect", items[0])

    def insn_prefixes(self, meta, items):
        return self._attr(meta, "prefixes", Node([self._text(n) for n in items], items[0].span))

    def modes_list(self, meta, items):
        return self._decl(meta, "modes", Node([self._text(n) for n in items], items[0].span))

    def modes_map(self, meta, items):
        return self._decl(meta, "modes", self._mapping(items, items[0].kspan, "level '{key}'"))

    def level(self, meta, items):
        n, v = items
        return _Entry(n.text, v, n.span)

    def assignment(self, meta, items):
        return self.level(meta, items)

    def mode_decl(self, meta, items):
        e, f = items
        text = e.text + (f".{f.text}" if f is not None else "")
        return self._decl(meta, "mode", Node(text, e.span))

    def reset_decl(self, meta, items):
        return self._decl(meta, "reset", self._mapping(items, items[0].kspan, "reset of '{key}'"))

    def constants_decl(self, meta, items):
        return self._decl(meta, "constants", self._mapping(items, items[0].kspan, "constant '{key}'"))

    def helpers_decl(self, meta, items):
        return self._decl(meta, "helpers", items[0])

    # ---- state ----

    def state_decl(self, meta, items):
        span = self._kw(meta, "state")
        node = self._mapping(items, span, "state element '{key}'")
        return self._decl(meta, "state", node)

    def element(self, meta, items):
        n, count, width, *attrs = items
        entries = [_Entry("width", width, width.span)]
        if count is not None:
            entries.append(_Entry("count", count, count.span))
        entries += attrs
        return _Entry(n.text, self._mapping(entries, n.span, f"'{{key}}' of state element '{n.text}'"), n.span)

    def role(self, meta, items):
        return _Entry("role", self._text(items[0]), self._kw(meta, "role"))

    def readonly(self, meta, items):
        span = self._kw(meta, "readonly")
        return _Entry("readonly", Node(True, span), span)

    def zero(self, meta, items):
        return _Entry("zero", items[0], self._kw(meta, "zero"))

    def names(self, meta, items):
        return _Entry("names", Node([self._text(n) for n in items], items[0].span), self._kw(meta, "names"))

    def description(self, meta, items):
        return _Entry("description", items[0], items[0].span)

    def fields(self, meta, items):
        span = self._span(meta)
        return _Entry("fields", self._mapping(items, span, "field '{key}'"), span)

    def field(self, meta, items):
        n, hi, lo, *attrs = items
        if lo is None:
            where = _Entry("bit", hi, hi.span)
        else:
            text = f"{hi.value}:{lo.value}"
            span = Span(self.file, hi.span.line, hi.span.col, lo.span.end_line, lo.span.end_col)
            where = _Entry("bits", Node(text, span), hi.span)
        if not attrs:
            return _Entry(n.text, where.value, n.span)
        node = self._mapping([where] + attrs, n.span, f"'{{key}}' of field '{n.text}'")
        return _Entry(n.text, node, n.span)

    # ---- storage and traps ----

    def storage_decl(self, meta, items):
        return self._decl(meta, "storage", self._mapping(items, self._kw(meta, "storage"), "storage '{key}'"))

    def _attr(self, meta, word: str, value: Node) -> _Entry:
        return _Entry(word, value, self._kw(meta, word))

    def size(self, meta, items):
        return self._attr(meta, "size", items[0])

    def unit(self, meta, items):
        return self._attr(meta, "unit", items[0])

    def endian(self, meta, items):
        return self._attr(meta, "endian", self._text(items[0]))

    def no_translation(self, meta, items):
        span = self._kw(meta, "translation")
        none = Span(self.file, meta.end_line, meta.end_column - 4, meta.end_line, meta.end_column)
        return _Entry("translation", Node("none", none), span)

    def translation(self, meta, items):
        rel, bound = items
        span = self._kw(meta, "translation")
        node = Node(
            {"relocation": self._text(rel), "bound": self._text(bound)},
            span,
            key_spans={"relocation": rel.span, "bound": bound.span},
        )
        return _Entry("translation", node, span)

    def traps_decl(self, meta, items):
        span = self._kw(meta, "traps")
        causes = [i[1] for i in items if isinstance(i, tuple)]
        rest = [i for i in items if not isinstance(i, tuple)]
        entries = []
        if causes:
            first = next(i[2] for i in items if isinstance(i, tuple))
            entries.append(_Entry("causes", self._mapping(causes, causes[0].kspan, "cause '{key}'"), first))
        entries += rest
        return self._decl(meta, "traps", self._mapping(entries, span, "'{key}' in traps"))

    def cause(self, meta, items):
        n, code, *attrs = items
        if attrs:
            value = self._mapping([_Entry("code", code, code.span)] + attrs, n.span, f"'{{key}}' of cause '{n.text}'")
        else:
            value = code
        return ("cause", _Entry(n.text, value, n.span), self._kw(meta, "cause"))

    def memory(self, meta, items):
        span = self._kw(meta, "memory")
        return _Entry("memory", Node(True, span), span)

    def memory_cause(self, meta, items):
        return self._attr(meta, "memory_cause", self._text(items[0]))

    def cause_width(self, meta, items):
        return self._attr(meta, "cause_width", items[0])

    def deliver(self, meta, items):
        return self._attr(meta, "deliver", items[0])

    # ---- contexts and invariants ----

    def host_decl(self, meta, items):
        return ("host", _Entry("host", self._code(items[0], meta.line, "host"), self._kw(meta, "host")))

    def guest_decl(self, meta, items):
        n = items[0]
        pairs = [i for i in items[1:-2]]
        desc, where = items[-2], items[-1]
        modes = self._mapping(pairs, pairs[0].kspan, "virtual level '{key}'")
        entries = []
        if desc is not None:
            entries.append(_Entry("description", desc, desc.span))
        if where is not None:
            entries.append(where)
        entries.append(_Entry("modes", modes, pairs[0].kspan))
        node = self._mapping(entries, n.span, f"'{{key}}' of guest context '{n.text}'")
        return ("guest", _Entry(n.text, node, n.span))

    def where(self, meta, items):
        return _Entry("where", self._code(items[0], meta.line, "where"), self._kw(meta, "where"))

    def mode_pair(self, meta, items):
        v, r = items
        return _Entry(v.text, self._text(r), v.span)

    def invariant_decl(self, meta, items):
        node = self._code(items[0], meta.line, "invariant")
        return ("invariant", (node, self._kw(meta, "invariant")))

    # ---- interrupt sources ----

    def interrupt_decl(self, meta, items):
        n, *attrs, enabled = items
        entries = list(attrs) + ([enabled] if enabled is not None else [])
        node = self._mapping(entries, n.span, f"'{{key}}' of interrupt source '{n.text}'")
        return ("interrupt", _Entry(n.text, node, n.span))

    def irq_cause(self, meta, items):
        return self._attr(meta, "cause", self._text(items[0]))

    def irq_period(self, meta, items):
        return self._attr(meta, "period", items[0])

    def irq_enabled(self, meta, items):
        return _Entry("enabled", self._code(items[0], meta.line, "enabled"), self._kw(meta, "enabled"))

    # ---- instructions ----

    def instruction_decl(self, meta, items):
        n, ops, *attrs, body = items
        entries = []
        if ops is not None:
            entries.append(ops)
        entries += attrs
        entries.append(_Entry("semantics", body, body.span))
        node = self._mapping(entries, n.span, f"'{{key}}' of instruction '{n.text}'")
        return ("instruction", _Entry(n.text, node, n.span))

    def operands(self, meta, items):
        ops = [o for o in items if o is not None]
        span = self._span(meta)
        return _Entry("operands", Node(ops, span), span)

    def operand(self, meta, items):
        n, kind, file, pcrel, rel_to = items  # `pcrel next`: rel_to is the second word
        text = str(kind) + (f"({file.text})" if file is not None else "") + (f" {pcrel}" if pcrel is not None else "")
        text += f" {rel_to}" if rel_to is not None else ""
        end = rel_to if rel_to is not None else pcrel
        kspan = Span(
            self.file,
            kind.line,
            kind.column,
            *((end.end_line, end.end_column) if end is not None else (meta.end_line, meta.end_column)),
        )
        return Node({n.text: Node(text, kspan)}, n.span, key_spans={n.text: n.span})

    def mnemonic(self, meta, items):
        v = items[0]
        return self._attr(meta, "mnemonic", self._text(v) if isinstance(v, _Named) else v)

    def syntax(self, meta, items):
        return self._attr(meta, "syntax", items[0])

    def encoding(self, meta, items):
        return self._attr(meta, "encoding", items[0])

    def labels(self, meta, items):
        return self._attr(meta, "labels", Node([self._text(n) for n in items], items[0].span))

    def ref(self, meta, items):
        return self._attr(meta, "ref", items[0])

    # ---- formats and families (families.py) ----

    def format_decl(self, meta, items):
        n, ops, *attrs = items
        entries = ([ops] if ops is not None else []) + attrs
        node = self._mapping(entries, n.span, f"'{{key}}' of format '{n.text}'")
        return ("format", _Entry(n.text, node, n.span))

    def params(self, meta, items):
        node = self._mapping(items, items[0].kspan, "parameter '{key}'")
        return self._attr(meta, "params", node)

    def param_def(self, meta, items):
        n, kind = items
        return _Entry(n.text, Node(str(kind), self._tspan(kind)), n.span)

    def format_use(self, meta, items):
        return self._attr(meta, "format", self._text(items[0]))

    def with_values(self, meta, items):
        vals = [v for v in items if v is not None]
        span = self._span(meta)
        return self._attr(meta, "with", self._mapping(vals, vals[0].kspan if vals else span, "parameter '{key}'"))

    def family_decl(self, meta, items):
        n, ops, *rest = items
        members = [m for m in rest if isinstance(m, _Member)]
        attrs = [a for a in rest if isinstance(a, _Entry) and not isinstance(a, _Member)]
        body = next(x for x in rest if isinstance(x, Node))
        entries = ([ops] if ops is not None else []) + attrs + [_Entry("semantics", body, body.span)]
        mspan = members[0].kspan if members else body.span
        entries.append(
            _Entry("members", self._mapping(members, mspan, f"member '{{key}}' of family '{n.text}'"), mspan)
        )
        node = self._mapping(entries, n.span, f"'{{key}}' of family '{n.text}'")
        return ("instruction", _Entry(n.text, node, n.span))

    def member(self, meta, items):
        n, *attrs = items
        node = self._mapping(attrs, n.span, f"'{{key}}' of member '{n.text}'")
        return _Member(n.text, node, n.span)

    def __default__(self, data, children, meta):  # pragma: no cover - grammar and builder out of step
        raise AssertionError(f"no builder for grammar rule {data!r}")


class _Member(_Entry):
    """A member of a family: an entry whose key is the member's name."""

    __slots__ = ()


def _in_file_order(entries: list[_Entry]) -> list[_Entry]:
    return sorted(entries, key=lambda e: (e.kspan.line, e.kspan.col))


__all__ = ["EXAMPLE", "read_isa"]
