"""Physical storage E: a power-of-two number of units, addresses wrap.

A multi-unit access composes units in the storage's byte order: little
endian puts unit k of an access at bits [unit*(k+1)-1 : unit*k], big endian
puts the first unit in the most significant bits.

Storage also keeps the simulator's decode cache (`decoded`, keyed by the
physical address of an instruction's first unit), because storage is the one
place every write passes through: a store by the semantics, by trap delivery
or by loading a program all invalidate what they overwrite. The cache also
holds the compiled basic blocks (`DecodeCache.blocks`), each built from
decoded instructions: dropping a decoded instruction drops every block that
contains it, whoever drops it (a VMM's window onto this storage pops
entries of `decoded` directly).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..spec import ir

__all__ = ["Storage", "DecodeCache", "Block"]


class Block:
    """A compiled basic block at a physical address: `fn(state, port, alive)`
    (see `CompiledIsa.block`), how many instructions and storage units it
    spans, and `alive`, a one-element list the block's code reads after each
    store: it becomes false when any of its instructions is overwritten."""

    __slots__ = ("fn", "count", "units", "alive", "addrs")

    def __init__(self, fn, count: int, units: int, addrs: tuple[int, ...]):
        self.fn = fn
        self.count = count
        self.units = units
        self.alive = [True]
        self.addrs = addrs  # physical address of each instruction


class DecodeCache(dict):
    """physical address -> decoded instruction, plus the blocks built on them.

    Reading is a plain dict's `get` (the simulator's hot path); dropping an
    entry with `pop` or `clear` also kills the blocks that contain it."""

    __slots__ = ("blocks", "_covers")

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[int, Block] = {}  # start address -> block
        self._covers: dict[int, list[int]] = {}  # instruction address -> starts of the blocks holding it

    def add_block(self, start: int, block: Block) -> None:
        self.blocks[start] = block
        for a in block.addrs:
            self._covers.setdefault(a, []).append(start)

    def pop(self, key, default=None):
        entry = dict.pop(self, key, default)
        if self._covers:
            self.drop_blocks_at(key)
        return entry

    def drop_blocks_at(self, addr: int) -> None:
        starts = self._covers.pop(addr, None)
        if not starts:
            return
        for start in starts:
            block = self.blocks.pop(start, None)
            if block is None:
                continue
            block.alive[0] = False
            for a in block.addrs:  # forget it everywhere else too
                others = self._covers.get(a)
                if others and start in others:
                    others.remove(start)
                    if not others:
                        del self._covers[a]

    def clear(self) -> None:
        for block in self.blocks.values():
            block.alive[0] = False
        self.blocks.clear()
        self._covers.clear()
        dict.clear(self)


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
        self.decoded = DecodeCache()
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
        decoded, amask = self.decoded, self.amask
        pop = dict.pop  # the plain dict's: blocks are checked below only when there are some
        for a in range(addr - self.code_units + 1, addr + n):
            if pop(decoded, a & amask, None) is not None and decoded.blocks:
                decoded.drop_blocks_at(a & amask)

    # ---- programs and dumps ------------------------------------------------

    def load_image(self, image: Iterable[tuple[int, int]]) -> None:
        """Write (address, unit value) pairs."""
        for addr, value in image:
            self.write(addr, 1, value)

    def nonzero(self) -> list[tuple[int, int]]:
        return [(a, x) for a, x in enumerate(self.cells) if x]
