"""Instruction words: encoding (for the assembler) and decoding (for the simulator).

An `ir.Encoding` is a fixed pattern (`fixed` under `fixed_mask`) and, per
operand, pieces `(operand, op_hi, op_lo, word_lo)`: operand bits op_hi..op_lo
sit in the word from bit word_lo up.

Fixed width: the word is `insn_units` units read in the storage's byte
order; instructions are tried in spec order and the first whose pattern
matches decodes it.

Variable length (`Isa.variable_length`): `Decoder.decode` is given the
longest instruction's worth of units (`insn_units`, read in storage order as
above) and reads them first unit first: leading units that match a prefix
(at most one per group, in any order), then the entry whose pattern matches
the units after them; of several, the one with most fixed bits, which the
loader guarantees is the most specific (`spec/build_encodings.py`). The
entry must accept every group whose prefix is present. An instance's
length is `instance_units`.

An operand with addressing modes (`OperandDef.modes`) has its mode's bits
where the encoding names it; the mode is the one whose pattern they match
(the loader keeps a kind's modes apart), its fields come from those bits
(of two modes that match, the more specific: `mode_of_bits`) and from the
mode's extension units, which follow the instruction's own
units, operand by operand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..spec import ir
from ..spec.build_encodings import instance_units
from ..spec.ir import mask

__all__ = [
    "Decoder",
    "decode_operands",
    "encode",
    "encode_units",
    "instance_units",
    "mode_of_bits",
    "representable",
    "shadowed_mode",
]


def _values(insn: ir.Instruction, operands: Mapping[str, int] | Sequence[int]) -> list[int]:
    if isinstance(operands, Mapping):
        return [operands[o.name] for o in insn.operands]
    return list(operands)


def encoded_mask(insn: ir.Instruction, operand: str) -> int:
    """The bits of `operand` that its instruction's encoding keeps (all of a
    prefix group's or a mode's number; a mode's field: what any mode keeps)."""
    od = insn.operand(operand)
    if od.kind in ("prefix", "mode"):
        return mask(od.width)
    if od.of:
        kind = insn.operand(od.of).modes
        assert kind is not None
        m = 0
        fname = od.name[len(od.of) + 1 :]
        for mode in kind.modes:
            for enc in (mode.encoding, mode.extension):
                for name, hi, lo, _ in enc.pieces if enc else ():
                    if name == fname:
                        m |= mask(hi - lo + 1) << lo
        return m
    m = 0
    for name, hi, lo, _ in insn.encoding.pieces:
        if name == operand:
            m |= mask(hi - lo + 1) << lo
    return m


def representable(insn: ir.Instruction, operand: str, value: int) -> bool:
    """Does encoding `value` (already reduced to the operand's width) keep all its bits?"""
    od = insn.operand(operand)
    if od.limit and value >= od.limit:
        return False
    return value & ~encoded_mask(insn, operand) == 0


def encode(insn: ir.Instruction, operands: Mapping[str, int] | Sequence[int]) -> int:
    """The instruction word (a variable-length entry's own units, without its
    prefixes, first unit most significant); operand values are reduced to
    their widths first (so a negative immediate may be given as a negative
    int). Raises ValueError for a value with bits the encoding does not keep."""
    vals = {o.name: int(x) & mask(o.width) for o, x in zip(insn.operands, _values(insn, operands))}
    for name, value in vals.items():
        if not representable(insn, name, value):
            raise ValueError(f"{insn.name}: {name} = {value:#x} has bits the encoding does not keep")
    for o in insn.operands:  # a mode operand's bits in the word: its mode's pattern and fields
        if o.modes is not None:
            vals[o.name] = _inline(o, vals)
    word = insn.encoding.fixed
    for name, hi, lo, wlo in insn.encoding.pieces:
        word |= ((vals[name] >> lo) & mask(hi - lo + 1)) << wlo
    return word


def _mode(o: ir.OperandDef, number: int) -> ir.AddressingMode:
    assert o.modes is not None
    return o.modes.modes[min(number, len(o.modes.modes) - 1)]  # (out of range reads as the last, as the semantics do)


def _fill(enc: ir.Encoding, o: ir.OperandDef, vals: Mapping[str, int]) -> int:
    """`enc` (a mode's encoding or extension) with the fields of operand `o` in it."""
    v = enc.fixed
    for name, hi, lo, wlo in enc.pieces:
        v |= ((vals[f"{o.name}_{name}"] >> lo) & mask(hi - lo + 1)) << wlo
    return v


def _inline(o: ir.OperandDef, vals: Mapping[str, int]) -> int:
    return _fill(_mode(o, vals[o.name]).encoding, o, vals)


def encode_units(isa: ir.Isa, insn: ir.Instruction, operands: Mapping[str, int] | Sequence[int]) -> list[int]:
    """A variable-length instance as storage units, first unit first: its
    prefixes (in the order the entry lists their groups), then its encoding."""
    unit = isa.storage.unit
    vals = dict(zip((o.name for o in insn.operands), _values(insn, operands)))
    word = encode(insn, operands)
    out: list[int] = []
    groups = {g.name: g for g in isa.prefixes}
    for gname in insn.prefixes:
        k = int(vals[gname]) & mask(insn.operand(gname).width)
        if k:
            p = groups[gname].prefixes[k - 1]
            out += _units(p.fixed, p.units, unit)
    out += _units(word, insn.encoding.units, unit)
    full = {o.name: int(x) & mask(o.width) for o, x in zip(insn.operands, _values(insn, operands))}
    for o in insn.operands:  # each mode operand's extension, in operand order
        if o.modes is not None:
            ext = _mode(o, full[o.name]).extension
            if ext is not None:
                out += _units(_fill(ext, o, full), ext.units, unit)
    return out


def _units(value: int, n: int, unit: int) -> list[int]:
    return [(value >> ((n - 1 - k) * unit)) & mask(unit) for k in range(n)]


def decode_operands(insn: ir.Instruction, word: int) -> tuple[int, ...]:
    """Operand values in declaration order (a prefix group's operand 0);
    ValueError when a mode operand's bits match none of its modes."""
    got = _decode_entry(insn, word, None)
    if got is None:
        raise ValueError(f"{insn.name}: {word:#x} has an operand in no addressing mode")
    return got[0]


def _decode_entry(
    insn: ir.Instruction, word: int, rest: tuple[list[int], int] | None
) -> tuple[tuple[int, ...], int] | None:
    """(operand values, extension units read) of `insn` from its `word` and,
    for a mode's extension, the units after it (`rest`: those units, first
    first, and the unit's bits); None when a mode operand matches no mode or
    its extension lies beyond `rest`."""
    vals = {o.name: 0 for o in insn.operands}
    for name, hi, lo, wlo in insn.encoding.pieces:
        vals[name] |= ((word >> wlo) & mask(hi - lo + 1)) << lo
    used = 0
    for o in insn.operands:
        if o.modes is None:
            continue
        inline = vals[o.name]
        k = mode_of_bits(o.modes, inline)
        if k is None:
            return None
        mode = o.modes.modes[k]
        vals[o.name] = k
        parts = [(mode.encoding, inline)]
        if mode.extension is not None:
            n = mode.extension.units
            if rest is None or used + n > len(rest[0]):
                return None
            parts.append((mode.extension, _value(rest[0], used, n, rest[1])))
            used += n
        for enc, v in parts:
            for name, hi, lo, wlo in enc.pieces:
                vals[f"{o.name}_{name}"] |= ((v >> wlo) & mask(hi - lo + 1)) << lo
    return tuple(vals[o.name] for o in insn.operands), used


def mode_of_bits(kind: ir.OperandKind, bits: int) -> int | None:
    """The number of the mode whose pattern `bits` (the kind's bits in an
    instruction) match; of several, the most specific (most fixed bits: the
    loader allows two modes to overlap only when one fixes every bit the
    other does, and more, as x86's SIB form rm = 100 within [reg])."""
    best: tuple[int, int] | None = None
    for i, m in enumerate(kind.modes):
        if bits & m.encoding.fixed_mask == m.encoding.fixed:
            n = bin(m.encoding.fixed_mask).count("1")
            if best is None or n > best[0]:
                best = (n, i)
    return None if best is None else best[1]


def shadowed_mode(o: ir.OperandDef, vals: Mapping[str, int]) -> ir.AddressingMode | None:
    """The mode a decoder would read instead of the one operand `o` is in,
    with field values `vals` (flat operand names), when a more specific mode
    takes its bits (x86 [esp] in the [reg] mode reads as the SIB form); None
    when it reads back as itself."""
    assert o.modes is not None
    k = min(vals[o.name], len(o.modes.modes) - 1)
    got = mode_of_bits(o.modes, _inline(o, vals))
    return None if got == k or got is None else o.modes.modes[got]


class Decoder:
    """Word -> (instruction, operand tuple): the first match in spec order
    (fixed width), or prefixes and the most specific entry (variable length)."""

    __slots__ = ("isa", "_table", "_prefixes", "_n", "_unit", "_little")

    def __init__(self, isa: ir.Isa):
        self.isa = isa
        if not isa.variable_length:
            self._table = [(i.encoding.fixed, i.encoding.fixed_mask, i) for i in isa.instructions]
            return
        # Most fixed bits first (stable: spec order among equals, which the
        # loader allows only for entries no unit string matches both of).
        ranked = sorted(isa.instructions, key=lambda i: -bin(i.encoding.fixed_mask).count("1"))
        self._table = [(i.encoding.fixed, i.encoding.fixed_mask, i) for i in ranked]
        self._prefixes = [(g.name, k + 1, p) for g in isa.prefixes for k, p in enumerate(g.prefixes)]
        self._n = isa.insn_units
        self._unit = isa.storage.unit
        self._little = isa.storage.endian == "little"

    def decode(self, word: int) -> tuple[ir.Instruction, tuple[int, ...]] | None:
        if self.isa.variable_length:
            return self._decode_variable(word)
        for fixed, fmask, insn in self._table:
            if word & fmask == fixed:
                got = _decode_entry(insn, word, None)
                if got is not None:
                    return insn, got[0]
        return None

    def _decode_variable(self, word: int) -> tuple[ir.Instruction, tuple[int, ...]] | None:
        n, unit = self._n, self._unit
        um = mask(unit)
        if self._little:
            units = [(word >> (k * unit)) & um for k in range(n)]
        else:
            units = [(word >> ((n - 1 - k) * unit)) & um for k in range(n)]
        at = 0
        present: dict[str, int] = {}
        while True:  # leading prefixes, at most one per group
            hit = next(
                (
                    h
                    for h in self._prefixes
                    if at + h[2].units <= n and _value(units, at, h[2].units, unit) == h[2].fixed
                ),
                None,
            )
            if hit is None:
                break
            gname, k, p = hit
            if gname in present:
                return None  # two prefixes of one group: no instance has them
            present[gname] = k
            at += p.units
        for fixed, fmask, insn in self._table:
            e = insn.encoding.units
            if at + e > n:
                continue
            v = _value(units, at, e, unit)
            if v & fmask == fixed:
                if any(g not in insn.prefixes for g in present):
                    return None  # a prefix this entry does not accept
                got = _decode_entry(insn, v, (units[at + e :], unit))
                if got is None:
                    return None  # an operand in no mode, or cut short
                ops = got[0]
                if present:
                    ops = tuple(present.get(o.name, x) if o.kind == "prefix" else x for o, x in zip(insn.operands, ops))
                return insn, ops
        return None


def _value(units: list[int], at: int, n: int, unit: int) -> int:
    v = 0
    for k in range(at, at + n):
        v = (v << unit) | units[k]
    return v
