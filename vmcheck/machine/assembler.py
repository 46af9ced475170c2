"""A generic assembler, driven by the spec.

Each instruction's `syntax` (`"ld {rd}, {off}({rs})"`) is both the grammar
of its source line and the disassembler's format. The first word is the
mnemonic keyword; of the instructions that share one, those whose shape and
operands fit are ranked by operand kinds: an entry that reads a register
name (or a word of its own template) as a register beats one that would read
it as a symbol, so `move.w sr, d1` picks `move.w sr, {dst}` over
`move.w {src}, {dst}`; ties go to spec order.

A line is `[label:]... [statement] [# or ; comment]`, a statement one of

    MNEMONIC operands        an instruction (syntax from the spec)
    .org N                   continue at address N (storage units)
    .word v, v, ...          one storage unit per value

Register operands are written by the file's names (`Element.names`, else
`<file><i>`, e.g. `r3`; both are accepted, case-insensitively). Immediates
and `.word` values are sums of decimal/hex/binary/octal numbers, labels,
the spec's constants and `.` (this statement's address): `loop`, `buf+4`,
`-1`, `.-2`. A label's value is its absolute address in storage units; a
`pcrel` operand is written as its target and stored as target minus the
instruction's address. Values are range-checked against the operand's
width and signedness.

Every error is a `SpecError` whose diagnostics point at the offending text,
so the CLI prints `FILE:LINE:COL: error: ...` and exits 2; independent errors
are all reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Collector, Diagnostic, Span
from ..spec import ir
from ..spec.ir import mask
from ..spec.limits import number_problem, read_source
from ..spec.memo import memo, per_isa
from .decode import encode, representable

__all__ = ["Program", "assemble", "assemble_file", "disassemble", "Syntax"]

_LABEL = re.compile(r"\s*([A-Za-z_][\w.]*)\s*:")
_KEYWORD = re.compile(r"\s*([A-Za-z_.][\w.]*)")
# A numeral needs a digit after its prefix (`0x_` is not a number).
_NUMBER = re.compile(r"(?:0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[bB]_*[01][01_]*|0[oO]_*[0-7][0-7_]*|\d[\d_]*)\Z")
_NUMERIC = re.compile(r"\d")  # a term that starts with a digit must be a numeral
_SYMBOL = re.compile(r"[A-Za-z_][\w.]*\Z")
_TERM = re.compile(r"\s*([+-])?\s*([^\s+-]+)\s*")
# The characters of a program line the assembler gives a meaning of its own:
# a template may not contain them.
COMMENT_CHARS = "#;"
# What an operand is never made of: the separators templates use. Blanks only
# between terms (`end - start`): operand text never starts or ends with one.
_SEPARATORS = ",()[]{}"


@dataclass(frozen=True)
class Program:
    """An assembled program: storage contents and symbols."""

    image: tuple[tuple[int, int], ...]  # (address, unit value), in address order
    symbols: dict[str, int]
    file: str = "<program>"
    lines: dict[int, int] = field(default_factory=dict)  # address -> source line

    def words(self) -> dict[int, int]:
        return dict(self.image)


# --------------------------------------------------------------------------
# Syntax templates
# --------------------------------------------------------------------------


class Syntax:
    """One instruction's template, compiled to a regex over the operand text."""

    def __init__(self, insn: ir.Instruction):
        self.insn = insn
        m = _KEYWORD.match(insn.syntax)
        self.keyword = m.group(1).lower()
        rest = insn.syntax[m.end() :]
        self.rest = rest.strip()
        # Literal punctuation of this template never belongs to an operand: `{rn}!`
        # reads `r13!` as `r13` then `!`.
        literal = re.sub(r"\{\w+\}", " ", rest)
        excluded = set(_SEPARATORS) | {c for c in literal if not c.isalnum() and not c.isspace() and c != "_"}
        excluded -= {"+", "-"}  # signs join the terms of a sum
        parts, pos = [], 0
        for ph in re.finditer(r"\{(\w+)\}", rest):
            parts.append(_literal(rest[pos : ph.start()]))
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
def _syntaxes(isa: ir.Isa) -> dict[str, list[Syntax]]:
    cached: dict[str, list[Syntax]] = {}
    for insn in isa.instructions:
        s = Syntax(insn)
        cached.setdefault(s.keyword, []).append(s)
    return cached


def _register_names(isa: ir.Isa, file: str) -> dict[str, int]:
    """Assembler names of a file's registers, built once per ISA and file (a
    file may have 65,536 registers: not something to rebuild per operand)."""
    cache = memo(isa).setdefault("assembler.regnames", {})
    names = cache.get(file)
    if names is None:
        el = isa.element(file)
        names = {f"{el.name}{i}".lower(): i for i in range(el.count)}
        names.update({n.lower(): i for i, n in enumerate(el.names)})
        cache[file] = names
    return names


# --------------------------------------------------------------------------
# Values: numbers, symbols, `.`, and sums of them
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """An operand or `.word` value, resolved once every label is known."""

    terms: tuple[tuple[int, str], ...]  # (sign, number text or symbol)
    span: Span

    def resolve(self, symbols: dict[str, int], here: int, errors: Collector) -> int | None:
        total = 0
        for sign, term in self.terms:
            if term == ".":
                x = here
            elif _NUMBER.match(term):
                x = _number(term)
            elif term in symbols:
                x = symbols[term]
            else:
                errors.error(self.span, f"undefined label '{term}'")
                return None
            total += sign * x
        return total


def _number(text: str) -> int:
    """The value of a numeral `_parse_value` accepted (it checked the limits)."""
    text = text.replace("_", "").lower()
    base = {"0x": 16, "0b": 2, "0o": 8}.get(text[:2], 10)
    return int(text[2:] if base != 10 else text, base)


def _number_problem(term: str) -> str | None:
    if not _NUMBER.match(term):
        return f"'{term}' is neither a number nor a label"
    why = number_problem(term)
    if why is None:
        why = number_problem(term, _number(term))
    return why


def _show(x: int) -> str:
    """A value for a message: decimal when short, else hex, else its size."""
    if abs(x) < 10**30:
        return str(x)
    if x.bit_length() <= 256:
        return hex(x)
    return f"a {x.bit_length()}-bit number"


def _parse_value(text: str, span: Span) -> _Value | str:
    """A _Value, or the message saying why `text` is not one."""
    if not text.strip():
        return "expected a value"
    terms, pos = [], 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            return f"cannot read '{text}' as a value"
        sign = -1 if m.group(1) == "-" else 1
        if terms and m.group(1) is None:
            return f"cannot read '{text}' as a value"
        term = m.group(2)
        if _NUMERIC.match(term):
            why = _number_problem(term)
            if why:
                return why
        elif not (term == "." or _SYMBOL.match(term)):
            return f"'{term}' is neither a number nor a label"
        terms.append((sign, term))
        pos = m.end()
    return _Value(tuple(terms), span)


# --------------------------------------------------------------------------
# The two passes
# --------------------------------------------------------------------------


@dataclass
class _Item:
    """A statement placed at an address in pass 1, encoded in pass 2."""

    addr: int
    line: int
    span: Span  # the mnemonic or directive
    insn: ir.Instruction | None = None  # an instruction ...
    operands: list = field(default_factory=list)  # ... its (OperandDef, value or register index, span)
    words: list = field(default_factory=list)  # ... or `.word` values


class _Assembler:
    def __init__(self, isa: ir.Isa, text: str, file: str):
        self.isa = isa
        self.text = text
        self.file = file
        self.errors = Collector()
        self.unit = isa.storage.unit
        self.size = isa.storage.size
        self.syntaxes = _syntaxes(isa)
        self.symbols: dict[str, int] = {}
        self.label_spans: dict[str, Span] = {}
        self.items: list[_Item] = []
        self.addr = 0
        self._reserved: dict[str, set[str]] = {}
        self.all_register_names = {n for e in isa.elements if e.is_file for n in _register_names(isa, e.name)}

    def span(self, line: int, start: int, end: int) -> Span:
        """Columns are 1-based; `start`/`end` are 0-based offsets in the line."""
        return Span(self.file, line, start + 1, line, max(end, start + 1) + 1)

    # ---- pass 1: statements, labels, addresses --------------------------------

    def pass1(self) -> None:
        for lineno, raw in enumerate(self.text.splitlines(), 1):
            line = re.split(r"[#;]", raw, maxsplit=1)[0]
            pos = 0
            while m := _LABEL.match(line, pos):
                self.define(m.group(1), lineno, m.start(1), m.end(1))
                pos = m.end()
            if line[pos:].strip():
                self.statement(line, pos, lineno)

    def define(self, name: str, lineno: int, start: int, end: int) -> None:
        span = self.span(lineno, start, end)
        if name in self.symbols:
            first = self.label_spans[name]
            self.errors.error(span, f"label '{name}' is already defined at line {first.line}")
            return
        self.symbols[name] = self.addr
        self.label_spans[name] = span

    def statement(self, line: str, pos: int, lineno: int) -> None:
        m = _KEYWORD.match(line, pos)
        if not m:
            col = len(line) - len(line[pos:].lstrip())
            self.errors.error(
                self.span(lineno, col, col + 1),
                f"expected an instruction, a directive or a label, not '{line[col:].strip()}'",
            )
            return
        word, start, rest_at = m.group(1), m.start(1), m.end()
        if word.startswith("."):
            self.directive(word, line, start, rest_at, lineno)
        else:
            self.instruction(word, line, start, rest_at, lineno)

    def directive(self, word: str, line: str, start: int, rest_at: int, lineno: int) -> None:
        rest = line[rest_at:]
        if word == ".org":
            value = _parse_value(rest, self.span(lineno, rest_at, len(line)))
            span = self._text_span(line, rest_at, lineno)
            if isinstance(value, str):
                self.errors.error(span, f".org: {value}")
                return
            addr = value.resolve({**dict(self.isa.constants), **self.symbols}, self.addr, self.errors)
            if addr is None:
                return
            if not 0 <= addr < self.size:
                self.errors.error(span, f".org {_show(addr)} is outside storage (addresses 0..{self.size - 1})")
                return
            self.addr = addr
        elif word == ".word":
            item = _Item(self.addr, lineno, self.span(lineno, start, start + len(word)))
            for vstart, vend in _comma_fields(line, rest_at):
                span = self.span(lineno, vstart, vend)
                value = _parse_value(line[vstart:vend], span)
                if isinstance(value, str):
                    self.errors.error(span, f".word: {value}")
                    return
                item.words.append(value)
            self.place(item, len(item.words), self.span(lineno, start, start + len(word)))
        else:
            self.errors.error(
                self.span(lineno, start, start + len(word)), f"unknown directive '{word}'", "directives: .org, .word"
            )

    def instruction(self, word: str, line: str, start: int, rest_at: int, lineno: int) -> None:
        kw_span = self.span(lineno, start, start + len(word))
        candidates = self.syntaxes.get(word.lower())
        if not candidates:
            self.errors.error(kw_span, f"unknown instruction '{word}'", _suggest(word, self.syntaxes))
            return
        rest = line[rest_at:]
        failures: list[Diagnostic] = []
        fits: list[tuple[int, int, Syntax, list]] = []
        for order, syn in enumerate(candidates):
            m = syn.regex.match(rest)
            if not m:
                continue
            operands, problems = [], []
            for od in syn.insn.operands:
                o_start, o_end = m.start("o_" + od.name) + rest_at, m.end("o_" + od.name) + rest_at
                got = self.operand(od, line[o_start:o_end], self.span(lineno, o_start, o_end))
                if isinstance(got, Diagnostic):
                    problems.append(got)
                else:
                    operands.append((od, got, self.span(lineno, o_start, o_end)))
            if problems:
                failures.append(problems[0])
                continue
            fits.append((self._symbols_misread(syn, operands), order, syn, operands))
        if fits:
            _, _, syn, operands = min(fits, key=lambda f: (f[0], f[1]))
            self.place(_Item(self.addr, lineno, kw_span, syn.insn, operands), self.isa.insn_units, kw_span)
            return
        if failures:  # the shape fitted; report the first operand that did not
            self.errors.diagnostics.append(failures[0])
            return
        shapes = " or ".join(f"'{s.shape()}'" for s in candidates)
        self.errors.error(
            self._text_span(line, rest_at, lineno) if rest.strip() else kw_span,
            f"bad operands for '{word}': expected {shapes}",
        )

    def _symbols_misread(self, syn: Syntax, operands) -> int:
        """How many immediates of this reading are a bare name that is a register
        name or a word of a template of the same mnemonic: a reading that takes
        `sr` for a symbol loses to one that takes it as the register it names."""
        reserved = self._reserved_words(syn.keyword)
        n = 0
        for od, got, _ in operands:
            if od.kind != "reg" and len(got.terms) == 1:
                term = got.terms[0][1].lower()
                if term in reserved and term not in self.symbols:
                    n += 1
        return n

    def _reserved_words(self, keyword: str) -> set[str]:
        cached = self._reserved.get(keyword)
        if cached is None:
            cached = set(self.all_register_names)
            for syn in self.syntaxes.get(keyword, ()):
                cached |= syn.words
            self._reserved[keyword] = cached
        return cached

    def _text_span(self, line: str, at: int, lineno: int) -> Span:
        """The non-blank text of `line` from `at` on (or the position after it)."""
        text = line[at:]
        lead = len(text) - len(text.lstrip())
        return self.span(lineno, at + lead, at + len(text.rstrip()))

    def operand(self, od: ir.OperandDef, text: str, span: Span):
        """A register index, a _Value, or the Diagnostic saying what is wrong."""
        if od.kind == "reg":
            names = _register_names(self.isa, od.file)
            idx = names.get(text.lower())
            if idx is None:
                el = self.isa.element(od.file)
                shown = f"{el.name}0..{el.name}{el.count - 1}"
                if el.names:
                    shown = ", ".join(el.names[:4]) + (", ..." if len(el.names) > 4 else "")
                return Diagnostic(span, f"'{text}' is not a register of '{od.file}' (expected {shown})")
            return idx
        value = _parse_value(text, span)
        if isinstance(value, str):
            return Diagnostic(span, f"operand '{od.name}': {value}")
        return value

    def place(self, item: _Item, units: int, span: Span) -> None:
        if self.addr + units > self.size:
            self.errors.error(
                span,
                f"address {self.addr + units - 1} is outside storage (addresses 0..{self.size - 1})",
                "check the .org before it",
            )
            self.addr += units
            return
        self.items.append(item)
        self.addr += units

    # ---- pass 2: values, ranges, encoding -------------------------------------

    def pass2(self) -> Program:
        symbols = {**dict(self.isa.constants), **self.symbols}
        image: dict[int, int] = {}
        owner: dict[int, int] = {}  # address -> line that filled it
        lines: dict[int, int] = {}
        for item in self.items:
            units = self.instruction_units(item, symbols) if item.insn else self.word_units(item, symbols)
            if units is None:
                continue
            for k, value in enumerate(units):
                a = item.addr + k
                if a in owner:
                    self.errors.error(
                        item.span, f"address {a} is already filled by line {owner[a]}", "two .org regions overlap"
                    )
                    break
                owner[a] = item.line
                image[a] = value
            lines[item.addr] = item.line
        self.errors.raise_if_any()
        return Program(tuple(sorted(image.items())), dict(self.symbols), self.file, lines)

    def instruction_units(self, item: _Item, symbols: dict[str, int]) -> list[int] | None:
        values, ok = {}, True
        for od, got, span in item.operands:
            if od.kind == "reg":
                values[od.name] = got
                continue
            x = got.resolve(symbols, item.addr, self.errors)
            if x is None:
                ok = False
                continue
            if od.pcrel:
                x -= item.addr
            lo, hi = (-(1 << (od.width - 1)), (1 << (od.width - 1)) - 1) if od.signed else (0, mask(od.width))
            if not lo <= x <= hi:
                what = f"offset {_show(x)} to the target" if od.pcrel else _show(x)
                kind = f"{'s' if od.signed else ''}imm{od.width}"
                self.errors.error(span, f"{what} is out of range for '{od.name}' ({kind}: {lo}..{hi})")
                ok = False
                continue
            if not representable(item.insn, od.name, x & mask(od.width)):
                self.errors.error(
                    span, f"{_show(x)} cannot be encoded in '{od.name}' (the encoding drops some of its bits)"
                )
                ok = False
                continue
            values[od.name] = x
        if not ok:
            return None
        word = encode(item.insn, values)
        return _split(word, self.isa.insn_units, self.unit, self.isa.storage.endian)

    def word_units(self, item: _Item, symbols: dict[str, int]) -> list[int] | None:
        out = []
        for k, value in enumerate(item.words):
            x = value.resolve(symbols, item.addr + k, self.errors)
            if x is None:
                return None
            if not -(1 << (self.unit - 1)) <= x <= mask(self.unit):
                self.errors.error(value.span, f".word value {_show(x)} does not fit in a {self.unit}-bit unit")
                return None
            out.append(x & mask(self.unit))
        return out


def _comma_fields(line: str, at: int) -> list[tuple[int, int]]:
    """(start, end) of each comma-separated field of line[at:], blanks trimmed."""
    out, pos = [], at
    for part in line[at:].split(","):
        lead = len(part) - len(part.lstrip())
        out.append((pos + lead, pos + len(part.rstrip()) if part.strip() else pos + lead))
        pos += len(part) + 1
    return out


def _split(word: int, n: int, unit: int, endian: str) -> list[int]:
    """An instruction word as n storage units, in address order."""
    units = [(word >> (unit * k)) & mask(unit) for k in range(n)]  # least significant first
    return units if endian == "little" else units[::-1]


def _suggest(word: str, syntaxes: dict[str, list[Syntax]]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word.lower(), list(syntaxes), n=3)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def assemble(isa: ir.Isa, text: str, file: str = "<program>") -> Program:
    """Assemble `text` for `isa`; SpecError with every problem found."""
    asm = _Assembler(isa, text, file)
    asm.pass1()
    asm.errors.raise_if_any()
    return asm.pass2()


def assemble_file(isa: ir.Isa, path: str | Path) -> Program:
    """Read (bounded in size, UTF-8 checked, errors at LINE:COL) and assemble."""
    return assemble(isa, read_source(Path(path), "program"), str(path))


def disassemble(isa: ir.Isa, insn: ir.Instruction, ops: Sequence[int], address: int | None = None) -> str:
    """`insn` with operand values `ops` in its own syntax; reassembles to the
    same word (a pcrel operand is shown as its target when `address` is known)."""
    from .simulator import register_name

    vals = {}
    for od, x in zip(insn.operands, ops):
        if od.kind == "reg":
            el = isa.element(od.file)
            vals[od.name] = register_name(el, x) if x < (el.count or 0) else f"?{x}"
            continue
        if od.signed and x >> (od.width - 1):
            x -= 1 << od.width
        if od.pcrel and address is not None:
            vals[od.name] = str(address + x)
        else:
            vals[od.name] = str(x) if -1024 <= x <= 1024 else (f"{x:#x}" if x >= 0 else f"-{-x:#x}")
    return re.sub(r"\{(\w+)\}", lambda m: vals[m.group(1)], insn.syntax)
