"""A binary-translating reference VMM (issue 18, item 3), as VMware ran x86.

It is the classic VMM (`vmm.VMM`) with a translator in front of direct
execution. Before guest code runs, the translator scans it a basic block at a
time (up to an instruction that may change the pc, trap or stop, or
`MAX_BLOCK` instructions) and marks every instance of an entry the engine
finds unsafe in the context (docs/model.md §2.6: the exact condition) or
could not decide. A marked instance is never run on the real machine: it
becomes a call into the VMM, which runs it on the virtual state (the
interpreter routine the dispatcher uses) and reflects a trap it raises there.
Everything else runs directly, and traps reach the dispatcher as before.

Translations are kept per physical address with the word they were made
from; a word that no longer matches (self-modifying code, code the guest
wrote or loaded) is scanned again, so a guest cannot run an instruction the
translator has not seen. The counters say what translation cost: blocks
scanned, rescans, instances replaced, VMM entries; `measure_cost` holds them
against the classic VMM's on the same programs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..analysis import NO, check_isas
from ..machine.decode import Decoder, instance_units
from ..semantics.state import MemoryTrap
from ..spec import ir
from ..spec.ir_walk import walk
from .hypercalls import HypercallTable
from .vmm import CLASSIC, VMM, Counters, GuestStep

TRANSLATE = "translate"
MAX_BLOCK = 64  # instructions per scanned block: a bound on straight-line code

_UNSAFE: dict[tuple[int, str], frozenset[str]] = {}


def unsafe_entries(isa: ir.Isa, context: ir.Context) -> frozenset[str]:
    """The entries the translator replaces: unsafe in `context`, or undecided
    (running an undecided entry directly would be a guess). From the engine,
    through its cache; memoised per loaded ISA."""
    key = (id(isa), context.name)
    hit = _UNSAFE.get(key)
    if hit is None:
        rep = check_isas([isa], context=context.name, jobs=1)[0]
        hit = frozenset(r.name for r in rep.context(context.name).instructions if r.violates["exact"].value != NO)
        _UNSAFE[key] = hit
    return hit


def _ends_block(stmts, pc: str) -> bool:
    """May these statements change the pc, trap or stop (so the next word is not
    necessarily the next instruction)?"""
    for s in walk(stmts):
        if isinstance(s, (ir.Trap, ir.Halt)):
            return True
        if isinstance(s, ir.Assign) and isinstance(s.target, ir.RegTarget) and s.target.elem == pc:
            return True
    return False


@dataclass
class TranslationCounters(Counters):
    """The classic VMM's counters and what translation cost."""

    blocks: int = 0  # basic blocks scanned
    scanned: int = 0  # instructions scanned
    rescans: int = 0  # translations dropped because the guest changed the word
    replaced: int = 0  # instances marked for the VMM in scanned blocks
    vmm_calls: int = 0  # marked instances executed: each one an entry into the VMM

    def as_dict(self) -> dict:
        return {
            **super().as_dict(),
            "blocks_scanned": self.blocks,
            "instructions_scanned": self.scanned,
            "rescans": self.rescans,
            "translated": self.replaced,
            "vmm_calls": self.vmm_calls,
        }


@dataclass(frozen=True)
class _Entry:
    word: int
    insn: ir.Instruction
    ops: tuple[int, ...]
    marked: bool


class TranslatingVMM(VMM):
    """The classic VMM, running only translated code (see the module doc)."""

    def __init__(
        self,
        isa: ir.Isa,
        context: ir.Context,
        kind: str = TRANSLATE,
        unsafe: frozenset[str] | None = None,
        hypercalls: HypercallTable | None = None,
    ):
        # `kind` stays CLASSIC: what runs directly runs under the classic VMM, and the
        # test harness judges its mode changes by the classic rules.
        super().__init__(isa, context, CLASSIC, hypercalls)
        self.unsafe = unsafe_entries(isa, context) if unsafe is None else unsafe
        self.code: dict[int, _Entry] = {}  # physical address -> its translation
        self.counters = self.stats = TranslationCounters()
        self._dec = Decoder(isa)
        self._enders = {insn.name: _ends_block(insn.semantics, isa.pc) for insn in isa.instructions}

    def reset(self) -> None:
        super().reset()
        self.code.clear()
        self.counters = self.stats = TranslationCounters()

    # ---- the translator --------------------------------------------------------

    def _word_at(self, phys: int) -> int | None:
        try:
            return self.machine.storage.read(phys, self.isa.insn_units)
        except (IndexError, ValueError):
            return None

    def _scan(self, phys: int) -> None:
        """Translate the basic block that starts at `phys`."""
        self.stats.blocks += 1
        for _ in range(MAX_BLOCK):
            word = self._word_at(phys)
            found = self._dec.decode(word) if word is not None else None
            if word is None or found is None:
                return  # undecodable: the machine stops there, as it would natively
            insn, ops = found
            marked = insn.name in self.unsafe
            self.code[phys] = _Entry(word, insn, ops, marked)
            self.stats.scanned += 1
            self.stats.replaced += marked
            if self._enders[insn.name]:
                return
            phys += instance_units(self.isa, insn, ops)

    def _translated(self, pc: int) -> _Entry | None:
        """The translation of the instruction at guest address `pc` (None: the
        fetch faults, left to the classic path, which reflects or emulates it)."""
        try:
            phys = self.machine.fetch(pc)
        except MemoryTrap:
            return None
        e = self.code.get(phys)
        word = self._word_at(phys)
        if e is not None and e.word != word:
            self.stats.rescans += 1  # the guest wrote over translated code: its translation goes
            del self.code[phys]
            e = None
        if e is None:
            self._scan(phys)
            e = self.code.get(phys)
        return e

    # ---- running -----------------------------------------------------------------

    def _step(self) -> GuestStep:
        pc = self.machine.state.v[self._pc]
        e = self._translated(pc)
        if e is None or not e.marked:
            return super()._step()
        return self._call(e.insn, e.ops)

    def execute(self, insn: ir.Instruction, ops: tuple[int, ...]) -> GuestStep:
        """One given instance (witness replays): translated like fetched code."""
        if insn.name in self.unsafe:
            self.stats.replaced += 1
            return self._call(insn, ops)
        return super().execute(insn, ops)

    def _call(self, insn: ir.Instruction, ops: tuple[int, ...]) -> GuestStep:
        """A replaced instance: the VMM runs it on the virtual state."""
        self.stats.vmm_calls += 1
        return self._interpret((insn, ops))


@dataclass(frozen=True)
class VmmCost:
    """What running some programs cost one VMM."""

    vmm: str
    steps: int  # guest instructions run
    translated: int  # instances the translator replaced (0 for the classic VMM)
    entries: int  # VMM entries: every guest instruction not run directly (traps and calls)
    rescans: int  # translations dropped because the guest wrote over their word
    seconds: float  # wall-clock time of the runs: the only figure that differs run to run

    def to_json(self) -> dict:
        return {
            "vmm": self.vmm,
            "steps": self.steps,
            "translated": self.translated,
            "vmm_entries": self.entries,
            "rescans": self.rescans,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class CostComparison:
    """The translating VMM against the classic one on the same programs."""

    programs: int
    translate: VmmCost
    classic: VmmCost

    @staticmethod
    def _ratio(a: float, b: float) -> float | None:
        return a / b if b else None

    @property
    def entries_ratio(self) -> float | None:
        return self._ratio(self.translate.entries, self.classic.entries)

    @property
    def time_ratio(self) -> float | None:
        return self._ratio(self.translate.seconds, self.classic.seconds)

    def to_json(self) -> dict:
        return {
            "programs": self.programs,
            "translate": self.translate.to_json(),
            "classic": self.classic.to_json(),
            "entries_ratio": self.entries_ratio,
            "time_ratio": self.time_ratio,
        }


def _cost(isa: ir.Isa, context: ir.Context, kind: str, images, max_steps: int) -> VmmCost:
    steps = translated = entries = rescans = 0
    seconds = 0.0
    for image in images:
        vmm = make_vmm(isa, context, kind)
        vmm.load_image(image)
        vmm.reset()
        # One `step()` at a time for both VMMs (not `VMM.run`'s compiled blocks, which
        # the translator has no counterpart of): the ratio is the translator's own cost.
        t0 = time.perf_counter()
        n = 0
        while not vmm.stopped and n < max_steps:
            vmm.step()
            n += 1
        seconds += time.perf_counter() - t0
        c = vmm.counters
        steps += c.guest_steps
        entries += c.guest_steps - c.direct
        if isinstance(c, TranslationCounters):
            translated += c.replaced
            rescans += c.rescans
    return VmmCost(kind, steps, translated, entries, rescans, seconds)


def measure_cost(isa: ir.Isa, context: ir.Context, images, max_steps: int) -> CostComparison:
    """Run each program image under the translating VMM and under the classic VMM,
    alone (no native run, no comparison), and count what each cost."""
    images = list(images)
    return CostComparison(
        len(images),
        _cost(isa, context, TRANSLATE, images, max_steps),
        _cost(isa, context, CLASSIC, images, max_steps),
    )


def judge_translated(out) -> None:
    """A confirmation (`campaign.Confirmation`) under the translating VMM: every
    unsafe instance is translated, so any divergence or breach is the
    translator's fault, and the engine's violations are meant to stay unseen."""
    for name in out.observed:
        out.contradictions.append(
            f"{name} diverged or changed real control under the translate VMM, which "
            "replaces every unsafe instance: the translation is wrong"
        )
    out.unconfirmed, out.unconfirmed_reasons = [], {}


def make_vmm(isa: ir.Isa, context: ir.Context, kind: str, hypercalls: HypercallTable | None = None) -> VMM:
    """The reference VMM of `kind`: classic, hybrid or translate; `hypercalls`: the
    table of a paravirtualised guest (`hypercalls.py`), serviced by any kind."""
    if kind == TRANSLATE:
        return TranslatingVMM(isa, context, hypercalls=hypercalls)
    return VMM(isa, context, kind, hypercalls)


__all__ = [
    "TRANSLATE",
    "CostComparison",
    "TranslatingVMM",
    "TranslationCounters",
    "VmmCost",
    "judge_translated",
    "make_vmm",
    "measure_cost",
    "unsafe_entries",
]
