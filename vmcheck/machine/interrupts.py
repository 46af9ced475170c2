"""Interrupt sources on concrete state: the timers of a spec's `interrupts`.

`Interrupts(isa, period)` follows every source of the spec on one clock,
the count of executed instructions plus the cycles skipped while waiting.
The bare machine (`simulator.Machine`) keeps one for its real state; the
reference VMM keeps one for the guest's virtual state, driven by the
guest's own instruction count, so that a guest under the VMM sees its
timer fire at exactly the instructions where it fires natively.

The rules (docs/format.md, "Interrupts"):
* a source with period N becomes pending at clock N, 2N, 3N...; pending is
  one bit (a tick while already pending is lost, as a level-triggered
  interrupt line that is still raised);
* between two instructions, the first source in spec order that is pending
  and whose `enabled` condition holds on the state is delivered: the spec's
  trap delivery with `cause` = its cause's code, trap argument 0, on the state
  as it is (its pc is the next instruction's), and its pending bit cleared;
* `wait` suspends until some source is pending, enabled or not (ARM WFI;
  x86 HLT, which only an enabled interrupt ends, is written by the spec as
  `wait` when IF is set and `halt` otherwise): the clock jumps to the next
  tick. With no source running, nothing can end the wait.
"""

from __future__ import annotations

from collections.abc import Callable

from ..semantics.concrete import compile_condition
from ..semantics.state import State
from ..spec import ir


class Interrupts:
    """The interrupt sources of one machine (real or virtual) and their clock state.

    `period` None: each source's own period from the spec (a source without
    one does not run); 0: every source off (nothing is ever pending); N: every
    source ticks every N."""

    __slots__ = ("names", "codes", "causes", "enabled", "periods", "next", "pending", "delivered")

    def __init__(self, isa: ir.Isa, period: int | None = None):
        srcs = tuple(s for s in isa.interrupts if period or s.period) if period != 0 else ()
        self.names = tuple(s.name for s in srcs)
        self.causes = tuple(s.cause for s in srcs)
        self.codes = tuple(isa.traps.cause(s.cause).code for s in srcs)
        self.enabled: tuple[Callable[[State], bool], ...] = tuple(compile_condition(isa, s.enabled) for s in srcs)
        self.periods: tuple[int, ...] = tuple(period or s.period or 0 for s in srcs)
        self.next = list(self.periods)  # the clock value of each source's next tick
        self.pending = [False] * len(srcs)
        self.delivered = 0  # interrupts delivered so far

    @property
    def active(self) -> bool:
        """Some source is running (a wait can end)."""
        return bool(self.names)

    def reset(self) -> None:
        self.next = list(self.periods)
        self.pending = [False] * len(self.names)
        self.delivered = 0

    def advance(self, clock: int) -> bool:
        """Raise every source whose tick is due at `clock`; is any source pending?"""
        nxt, pend = self.next, self.pending
        for i, t in enumerate(nxt):
            if t <= clock:
                pend[i] = True
                p = self.periods[i]
                nxt[i] = t + ((clock - t) // p + 1) * p
        return True in pend

    def next_tick(self) -> int | None:
        """The clock value of the next tick of any source (None: no source)."""
        return min(self.next) if self.next else None

    def take(self, state: State) -> int | None:
        """The index of the source to deliver now (pending and enabled on
        `state`), its pending bit cleared; None when there is none."""
        for i, p in enumerate(self.pending):
            if p and self.enabled[i](state):
                self.pending[i] = False
                self.delivered += 1
                return i
        return None

    def any_pending(self) -> bool:
        return True in self.pending

    def all_pending(self) -> bool:
        """Every source is pending: no tick can change anything until one is delivered."""
        return False not in self.pending


def control_writers(isa: ir.Isa) -> frozenset[str]:
    """The instructions that may write a bit of control state (the mode
    included): only they can make a masked pending source deliverable, since an
    enable condition reads control state only (`build_interrupts.py`). Bit
    precise, like `blocks.block_kind`: x86's arithmetic writes EFLAGS.ZF, not IF."""
    from ..spec.ir_walk import walk

    bits = {e.name: m for e, m in isa.role_elements("control")}
    out = set()
    for insn in isa.instructions:
        for node in walk(insn.semantics):
            t = getattr(node, "target", None) if isinstance(node, ir.Assign) else None
            if isinstance(t, ir.RegTarget) and bits.get(t.elem, 0) & (ir.mask(t.hi - t.lo + 1) << t.lo):
                out.add(insn.name)
                break
            if isinstance(t, ir.FileTarget) and bits.get(t.file, 0) & (ir.mask(t.hi - t.lo + 1) << t.lo):
                out.add(insn.name)
                break
    return frozenset(out)
