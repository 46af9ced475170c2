"""Physical storage E: a power-of-two number of units, addresses wrap.

A multi-unit access composes units in the storage's byte order: little
endian puts unit k of an access at bits [unit*(k+1)-1 : unit*k], big endian
puts the first unit in the most significant bits.

Storage also keeps the simulator's decode cache (`decoded`, keyed by the
physical address of an instruction's first unit), because storage is the one
place every write passes through: a store by the semantics, by trap delivery
or by loading a program all invalidate what they overwrite.
"""
from __future__ import annotations

from typing import Iterable

from ..spec import ir

__all__ = ["Storage"]


class Storage:
    __slots__ = ("size", "unit", "little", "cells", "amask", "umask", "decoded", "code_units")

    def __init__(self, spec: ir.Storage, code_units: int = 1):
        if spec.size <= 0 or spec.size & (spec.size - 1):
            raise ValueError(f"storage size {spec.size} is not a power of two")
        self.size = spec.size
        self.unit = spec.unit
        self.little = spec.endian == "little"
        self.cells = [0] * spec.size
        self.amask = spec.size - 1
        self.umask = (1 << spec.unit) - 1
        # physical address -> decoded instruction; see the module docstring
        self.decoded: dict[int, object] = {}
        self.code_units = code_units  # units per instruction: how far back a write invalidates

    def clear(self) -> None:
        self.cells = [0] * self.size
        self.decoded.clear()

    # ---- whole units -------------------------------------------------------

    def read_unit(self, addr: int) -> int:
        return self.cells[addr & self.amask]

    def write_unit(self, addr: int, value: int) -> None:
        self.write(addr, 1, value)

    # ---- accesses of n units -----------------------------------------------

    def read(self, addr: int, n: int) -> int:
        cells, amask, unit = self.cells, self.amask, self.unit
        if n == 1:
            return cells[addr & amask]
        value = 0
        if self.little:
            for k in range(n - 1, -1, -1):
                value = (value << unit) | cells[(addr + k) & amask]
        else:
            for k in range(n):
                value = (value << unit) | cells[(addr + k) & amask]
        return value

    def write(self, addr: int, n: int, value: int) -> None:
        cells, amask, unit, umask = self.cells, self.amask, self.unit, self.umask
        if n == 1:
            cells[addr & amask] = value & umask
        else:
            order = range(n) if self.little else range(n - 1, -1, -1)
            for k in order:
                cells[(addr + k) & amask] = value & umask
                value >>= unit
        if self.decoded:
            self._invalidate(addr, n)

    def _invalidate(self, addr: int, n: int) -> None:
        # An instruction starting up to code_units-1 units before the write overlaps it.
        pop, amask = self.decoded.pop, self.amask
        for a in range(addr - self.code_units + 1, addr + n):
            pop(a & amask, None)

    # ---- programs and dumps ------------------------------------------------

    def load_image(self, image: Iterable[tuple[int, int]]) -> None:
        """Write (address, unit value) pairs."""
        for addr, value in image:
            self.write(addr, 1, value)

    def nonzero(self) -> list[tuple[int, int]]:
        return [(a, x) for a, x in enumerate(self.cells) if x]
