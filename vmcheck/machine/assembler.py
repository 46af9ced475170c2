"""A generic assembler, driven by the spec.

Each instruction's `syntax` (`"ld {rd}, {off}({rs})"`) is both the grammar
of its source line and the disassembler's format (`syntax.py` compiles the
templates and disassembles; this module reads programs). The first word is the
mnemonic keyword; of the instructions that share one, those whose shape and
operands fit are ranked by operand kinds: an entry that reads a register
name (or a word of its own template) as a register beats one that would read
it as a symbol, so `move.w sr, d1` picks `move.w sr, {dst}` over
`move.w {src}, {dst}`; ties go to spec order.

A line is `[label:]... [statement] [# or ; comment]`, a statement one of

    MNEMONIC operands        an instruction (syntax from the spec)
    .org N                   continue at address N (storage units)
    .word v, v, ...          one storage unit per value

An operand with addressing modes is written in one of its modes' syntax
(`(a0)+`, `#5`); where templates write `#{v}`, a `#` followed by a
non-blank is text, not a comment.

In a variable-length ISA an instruction may be preceded by prefixes, by
their names (`rep inc c`), one per group, of groups the entry accepts.

Register operands are written by the file's names (`Element.names`, else
`<file><i>`, e.g. `r3`; both are accepted, case-insensitively). Immediates
and `.word` values are sums of decimal/hex/binary/octal numbers, labels,
the spec's constants and `.` (this statement's address): `loop`, `buf+4`,
`-1`, `.-2`. A label's value is its absolute address in storage units; a
`pcrel` operand is written as its target and stored as target minus the
instruction's address (`pcrel next`: minus the next instruction's address,
this one's plus its instance length). Values are range-checked against the operand's
width and signedness.

Every error is a `SpecError` whose diagnostics point at the offending text,
so the CLI prints `FILE:LINE:COL: error: ...` and exits 2; independent errors
are all reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Collector, Diagnostic, Span
from ..spec import ir
from ..spec.ir import mask
from ..spec.limits import number_problem, read_source
from .decode import encode, encode_units, instance_units, representable, shadowed_mode
from .syntax import (
    KEYWORD,
    Syntax,
    file_size,
    mode_syntaxes,
    operand_file,
    register_names,
    syntaxes,
    uses_immediate_marks,
)

__all__ = ["Program", "assemble", "assemble_file"]

_LABEL = re.compile(r"\s*([A-Za-z_][\w.]*)\s*:")
# A numeral needs a digit after its prefix (`0x_` is not a number).
_NUMBER = re.compile(r"(?:0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[bB]_*[01][01_]*|0[oO]_*[0-7][0-7_]*|\d[\d_]*)\Z")
_NUMERIC = re.compile(r"\d")  # a term that starts with a digit must be a numeral
_SYMBOL = re.compile(r"[A-Za-z_][\w.]*\Z")
_TERM = re.compile(r"\s*([+-])?\s*([^\s+-]+)\s*")


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
    terms: list[tuple[int, str]] = []
    pos = 0
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
    prefixes: dict = field(default_factory=dict)  # ... its prefixes: group -> number (variable length)


class _Assembler:
    def __init__(self, isa: ir.Isa, text: str, file: str):
        self.isa = isa
        self.text = text
        self.file = file
        self.errors = Collector()
        self.unit = isa.storage.unit
        self.size = isa.storage.size
        self.syntaxes = syntaxes(isa)
        self.symbols: dict[str, int] = {}
        self.label_spans: dict[str, Span] = {}
        self.items: list[_Item] = []
        self.addr = 0
        self._reserved: dict[str, set[str]] = {}
        self.all_register_names = {n for e in isa.elements if e.is_file for n in register_names(isa, e.name)}
        # `#5` is an immediate, not a comment, where templates write `#{v}`
        self.comment = re.compile(r";|#(?!\S)") if uses_immediate_marks(isa) else re.compile(r"[#;]")
        # prefix name (lower case) -> (its group, its number in the group)
        self.prefix_names = {p.name.lower(): (g.name, k + 1) for g in isa.prefixes for k, p in enumerate(g.prefixes)}

    def span(self, line: int, start: int, end: int) -> Span:
        """Columns are 1-based; `start`/`end` are 0-based offsets in the line."""
        return Span(self.file, line, start + 1, line, max(end, start + 1) + 1)

    # ---- pass 1: statements, labels, addresses --------------------------------

    def pass1(self) -> None:
        for lineno, raw in enumerate(self.text.splitlines(), 1):
            line = self.comment.split(raw, maxsplit=1)[0]
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
        m = KEYWORD.match(line, pos)
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
            return
        # Variable length: prefixes are written before the mnemonic (`rep inc c`).
        prefixes: dict[str, tuple[int, Span]] = {}
        while word.lower() in self.prefix_names and word.lower() not in self.syntaxes:
            group, k = self.prefix_names[word.lower()]
            span = self.span(lineno, start, start + len(word))
            if group in prefixes:
                self.errors.error(span, f"a second prefix of group '{group}'", "an instruction has one per group")
                return
            prefixes[group] = (k, span)
            m = KEYWORD.match(line, rest_at)
            if not m:
                self.errors.error(span, f"prefix '{word}' must be followed by an instruction")
                return
            word, start, rest_at = m.group(1), m.start(1), m.end()
        self.instruction(word, line, start, rest_at, lineno, prefixes)

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

    def instruction(
        self, word: str, line: str, start: int, rest_at: int, lineno: int, prefixes: dict | None = None
    ) -> None:
        kw_span = self.span(lineno, start, start + len(word))
        candidates = self.syntaxes.get(word.lower())
        if candidates and prefixes:
            accepting = [c for c in candidates if all(g in c.insn.prefixes for g in prefixes)]
            if not accepting:
                # Blame a group no reading accepts, else the first (no reading accepts them together).
                refused = [g for g in prefixes if not any(g in c.insn.prefixes for c in candidates)]
                group = (refused or list(prefixes))[0]
                together = "" if refused else " together with the others written"
                self.errors.error(prefixes[group][1], f"'{word}' does not accept a prefix of group '{group}'{together}")
                return
            candidates = accepting
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
                if od.kind == "prefix" or od.of:
                    continue  # written before the mnemonic, or inside its mode operand's text
                o_start, o_end = m.start("o_" + od.name) + rest_at, m.end("o_" + od.name) + rest_at
                if od.modes is not None:
                    read = self.mode_operand(syn, od, line, o_start, o_end, lineno)
                    if isinstance(read, Diagnostic):
                        problems.append(read)
                    else:
                        operands += read
                    continue
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
            item = _Item(self.addr, lineno, kw_span, syn.insn, operands)
            units = self.isa.insn_units
            if self.isa.variable_length:
                item.prefixes = {g: k for g, (k, _) in (prefixes or {}).items()}
                modes = {od.name: got for od, got, _ in operands if od.kind == "mode"}
                # the length needs only the prefixes and the modes
                ops = [item.prefixes.get(o.name, modes.get(o.name, 0)) for o in syn.insn.operands]
                units = instance_units(self.isa, syn.insn, ops)
            self.place(item, units, kw_span)
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
            if od.kind not in ("reg", "mode"):  # any term of a sum: `[ebx+8]` is no symbol sum
                for _, term in got.terms:
                    term = term.lower()
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
            el = operand_file(self.isa, od)
            names = register_names(self.isa, el.name)
            idx = names.get(text.lower())
            if idx is None:
                shown = f"{el.name}0..{el.name}{file_size(el) - 1}"
                if el.names:
                    shown = ", ".join(el.names[:4]) + (", ..." if len(el.names) > 4 else "")
                return Diagnostic(span, f"'{text}' is not a register of '{od.file}' (expected {shown})")
            return idx
        value = _parse_value(text, span)
        if isinstance(value, str):
            return Diagnostic(span, f"operand '{od.name}': {value}")
        return value

    def mode_operand(self, syn: Syntax, od: ir.OperandDef, line: str, start: int, end: int, lineno: int):
        """An operand with addressing modes: [(the mode operand, its number,
        span), (each field's operand, its value, span)...] for the first mode
        whose syntax the text fits and whose fields read (one that reads a
        register name as a symbol only if no other does), or a Diagnostic."""
        assert od.modes is not None
        text, span = line[start:end], self.span(lineno, start, end)
        fits = []
        first_problem: Diagnostic | None = None
        for k, ms in enumerate(mode_syntaxes(od.modes)):
            m = ms.regex.match(text)
            if not m:
                continue
            read: list = [(od, k, span)]
            for f in ms.mode.fields:
                f_start, f_end = start + m.start("o_" + f.name), start + m.end("o_" + f.name)
                flat = syn.insn.operand(f"{od.name}_{f.name}")
                # the mode's own field (its register file), under the instruction operand's name
                fod = ir.OperandDef(flat.name, f.kind, f.width, f.file, f.signed, False, flat.span, 0, None, od.name)
                got = self.operand(fod, line[f_start:f_end], self.span(lineno, f_start, f_end))
                if isinstance(got, Diagnostic):
                    first_problem = first_problem or got
                    break
                read.append((fod, got, self.span(lineno, f_start, f_end)))
            else:
                fits.append((_numbers_out_of_range(read[1:]), self._symbols_misread(syn, read[1:]), k, read))
        if fits:
            # a mode whose numbers fit its fields beats one whose do not: `[ebx+esi<<2+8]`
            # is the SIB-and-disp32 form, not the SIB form with a scale of 10
            return min(fits, key=lambda f: (f[0], f[1], f[2]))[3]
        shapes = ", ".join(f"'{m.syntax}'" for m in od.modes.modes)
        if first_problem is not None:  # the shape of a mode fitted, a field did not
            return Diagnostic(first_problem.span, first_problem.message, f"the modes of '{od.name}': {shapes}")
        return Diagnostic(span, f"'{text}' is in no addressing mode of '{od.name}' (modes: {shapes})")

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
        insn = item.insn
        assert insn is not None  # called for instruction items only
        values, ok = {}, True
        for od, got, span in item.operands:
            if od.kind in ("reg", "mode"):
                values[od.name] = got
                continue
            x = got.resolve(symbols, item.addr, self.errors)
            if x is None:
                ok = False
                continue
            if od.pcrel:
                x -= item.addr + (self.next_offset(item) if od.pcrel_next else 0)
            lo, hi = (-(1 << (od.width - 1)), (1 << (od.width - 1)) - 1) if od.signed else (0, mask(od.width))
            if not lo <= x <= hi:
                what = f"offset {_show(x)} to the target" if od.pcrel else _show(x)
                kind = f"{'s' if od.signed else ''}imm{od.width}"
                self.errors.error(span, f"{what} is out of range for '{od.name}' ({kind}: {lo}..{hi})")
                ok = False
                continue
            if not representable(insn, od.name, x & mask(od.width)):
                self.errors.error(
                    span, f"{_show(x)} cannot be encoded in '{od.name}' (the encoding drops some of its bits)"
                )
                ok = False
                continue
            values[od.name] = x
        if not ok:
            return None
        for o in insn.operands:  # the fields of modes not taken
            values.setdefault(o.name, 0)
        for od, got, span in item.operands:  # a mode whose bits a more specific mode takes
            if od.kind == "mode":
                other = shadowed_mode(od, values)
                if other is not None:
                    assert od.modes is not None
                    self.errors.error(
                        span,
                        f"this operand cannot be encoded in mode '{od.modes.modes[got].name}' of '{od.name}': "
                        f"its bits read as mode '{other.name}'",
                        f"write it in another mode (the form of '{other.name}': '{other.syntax}')",
                    )
                    ok = False
        if not ok:
            return None
        if self.isa.variable_length:
            values.update({o.name: item.prefixes.get(o.name, 0) for o in insn.operands if o.kind == "prefix"})
            return encode_units(self.isa, insn, values)
        word = encode(insn, values)
        return _split(word, self.isa.insn_units, self.unit, self.isa.storage.endian)

    def next_offset(self, item: _Item) -> int:
        """The instance's length in units: where a `pcrel next` operand
        counts from. Only modes and prefixes set it, never an immediate."""
        insn = item.insn
        assert insn is not None
        got = {od.name: x for od, x, _ in item.operands if od.kind == "mode"}
        got.update(item.prefixes)
        return instance_units(self.isa, insn, [got.get(o.name, 0) for o in insn.operands])

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


def _numbers_out_of_range(read) -> int:
    """How many immediates of a reading are sums of numerals alone (no
    label: known before pass 2) whose value does not fit their field."""
    n = 0
    for od, got, _ in read:
        if od.kind in ("reg", "mode") or not all(_NUMBER.match(t) for _, t in got.terms):
            continue
        x = sum(sign * _number(t) for sign, t in got.terms)
        lo, hi = (-(1 << (od.width - 1)), (1 << (od.width - 1)) - 1) if od.signed else (0, mask(od.width))
        n += not lo <= x <= hi
    return n


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


def _suggest(word: str, table: dict[str, list[Syntax]]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word.lower(), list(table), n=3)
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
