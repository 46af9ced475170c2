"""Instruction words: encoding (for the assembler) and decoding (for the simulator).

An `ir.Encoding` is a fixed pattern (`fixed` under `fixed_mask`) and, per
operand, pieces `(operand, op_hi, op_lo, word_lo)`: operand bits op_hi..op_lo
sit in the word from bit word_lo up. Instructions are tried in spec order;
the first whose pattern matches decodes the word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..spec import ir
from ..spec.ir import mask

__all__ = ["Decoder", "encode", "decode_operands", "representable"]


def _values(insn: ir.Instruction, operands: Mapping[str, int] | Sequence[int]) -> list[int]:
    if isinstance(operands, Mapping):
        return [operands[o.name] for o in insn.operands]
    return list(operands)


def encoded_mask(insn: ir.Instruction, operand: str) -> int:
    """The bits of `operand` that its instruction's encoding keeps."""
    m = 0
    for name, hi, lo, _ in insn.encoding.pieces:
        if name == operand:
            m |= mask(hi - lo + 1) << lo
    return m


def representable(insn: ir.Instruction, operand: str, value: int) -> bool:
    """Does encoding `value` (already reduced to the operand's width) keep all its bits?"""
    return value & ~encoded_mask(insn, operand) == 0


def encode(insn: ir.Instruction, operands: Mapping[str, int] | Sequence[int]) -> int:
    """The instruction word; operand values are reduced to their widths first
    (so a negative immediate may be given as a negative int). Raises
    ValueError for a value with bits the encoding does not keep."""
    vals = {o.name: int(x) & mask(o.width) for o, x in zip(insn.operands, _values(insn, operands))}
    for name, value in vals.items():
        if not representable(insn, name, value):
            raise ValueError(f"{insn.name}: {name} = {value:#x} has bits the encoding does not keep")
    word = insn.encoding.fixed
    for name, hi, lo, wlo in insn.encoding.pieces:
        word |= ((vals[name] >> lo) & mask(hi - lo + 1)) << wlo
    return word


def decode_operands(insn: ir.Instruction, word: int) -> tuple[int, ...]:
    """Operand values in declaration order."""
    vals = {o.name: 0 for o in insn.operands}
    for name, hi, lo, wlo in insn.encoding.pieces:
        vals[name] |= ((word >> wlo) & mask(hi - lo + 1)) << lo
    return tuple(vals[o.name] for o in insn.operands)


class Decoder:
    """Word -> (instruction, operand tuple), first match in spec order."""

    __slots__ = ("isa", "_table")

    def __init__(self, isa: ir.Isa):
        self.isa = isa
        self._table = [(i.encoding.fixed, i.encoding.fixed_mask, i) for i in isa.instructions]

    def decode(self, word: int) -> tuple[ir.Instruction, tuple[int, ...]] | None:
        for fixed, fmask, insn in self._table:
            if word & fmask == fixed:
                return insn, decode_operands(insn, word)
        return None
