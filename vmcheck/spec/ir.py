"""The elaborated ISA IR: what every reading of a spec consumes.

The loader turns a spec file (YAML or `.isa`) into this form after checking
names and widths and inlining helpers, so the symbolic and the concrete
interpreters never see a helper call, an untyped literal, a field name or a
`require`/`match` (they are lowered to `If`). Every expression carries its
width in bits; width 0 means a boolean.

Spans are kept for messages but excluded from equality, so two specs that
mean the same thing compare equal whatever syntax they were written in (the
YAML <-> `.isa` round trip relies on it).

The meaning of one instruction (the contract of both interpreters):
* expressions read the state *before* the instruction, except that reads of
  an element, register or storage cell that the instruction already wrote
  see the written value;
* `Trap` and a memory trap end the instruction and discard all its writes
  (precise traps); `Halt` ends it and keeps them. A `Trap` whose cause is
  declared `memory: true` (an address error raised by the semantics, like
  MIPS's user access to kseg0) is a memory trap, exactly like an illegal
  translated access: the outcome kind is "memtrap";
* if the instruction did not write the pc, the pc advances by
  `Isa.insn_units` storage units (in a variable-length ISA, by the value of
  the instruction's `length` for the instance).

The module is longer than most (about 540 lines) on purpose: it is the
contract between the loader and every reading, and a reader should find every
node type, and the `Isa` that holds them, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span
from . import operators
from .memo import per_isa

BOOL = 0  # the width of a boolean expression

ROLES = ("general", "pc", "mode", "control", "timer")


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


def mask(width: int) -> int:
    return (1 << width) - 1


# --------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    value: int  # already reduced modulo 2**width (0/1 for booleans)
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Local:
    """A `let`-bound value. Names are unique within one instruction."""

    name: str
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Operand:
    """The value of an instruction operand (a register number or immediate)."""

    name: str
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Reg:
    """A whole scalar state element."""

    elem: str
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class FileRead:
    """`file[index]` of a register file; a `zero` register reads as 0."""

    file: str
    index: Expr
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Slice:
    """Bits `hi..lo` of a value (fields and `x[7:0]` both become this)."""

    value: Expr
    hi: int
    lo: int
    span: Span | None = _span()

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1


@dataclass(frozen=True)
class Mem:
    """A storage read of `nbits` (a multiple of the storage unit).

    space "mem": through the translation (the guest's view, docs/model.md §2.4);
    space "phys": untranslated. `priv` names the privilege level the access
    is made at (`as usr`), or is an expression of the mode's width giving a
    level's code (`as (mstatus.mpp)`; a code that names no level is the
    current mode; it reads no storage); None is the current mode. Multi-unit accesses are
    composed in the storage's byte order.
    """

    space: str
    addr: Expr
    nbits: int
    priv: str | Expr | None = None
    span: Span | None = _span()

    @property
    def width(self) -> int:
        return self.nbits


# Unary ops: "neg" (two's complement), "not" (bitwise), "lnot" (boolean).
@dataclass(frozen=True)
class Un:
    op: str
    value: Expr
    width: int
    span: Span | None = _span()


# Binary ops.
#   bit-vector -> same width: add sub mul and or xor shl lshr ashr udiv urem
#     (shift amounts have their own width; udiv/urem by zero give all ones /
#      the dividend, as RISC-V and SMT-LIB define them)
#   bit-vector -> bool: eq ne ult ule ugt uge slt sle sgt sge
#   bool -> bool: land lor beq bne (boolean equality / inequality)
# (Their meaning on ints, arity and width rule: `spec/operators.py`.)
ARITH_OPS = operators.ARITH_OPS
COMPARE_OPS = operators.COMPARE_OPS
LOGIC_OPS = operators.LOGIC_OPS


@dataclass(frozen=True)
class Bin:
    op: str
    left: Expr
    right: Expr
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Ite:
    cond: Expr  # boolean
    then: Expr
    orelse: Expr
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Ext:
    """`zext`/`sext` of `value` to `width` bits (width >= value's width)."""

    signed: bool
    value: Expr
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Concat:
    """Concatenation, most significant part first."""

    parts: tuple[Expr, ...]
    width: int
    span: Span | None = _span()


@dataclass(frozen=True)
class Probe:
    """`probe(read|write, mem[a] as P)`: true when that access would raise a
    memory trap, with no effect (it reads nothing from storage, writes
    nothing, never traps itself). `kind` "read" or "write"; `space` is always
    "mem" (an untranslated access never faults); `addr`, `nbits` and `priv` as
    in `Mem`. With the spec's own translation it is the translation's legality
    check; through the shared view (docs/model.md §2.4) it is F(kind, token,
    unit) for some unit of the access.
    """

    kind: str
    space: str
    addr: Expr
    nbits: int
    priv: str | Expr | None = None
    span: Span | None = _span()

    @property
    def width(self) -> int:
        return BOOL


Expr = Lit | Local | Operand | Reg | FileRead | Slice | Mem | Un | Bin | Ite | Ext | Concat | Probe


# --------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RegTarget:
    """Bits hi..lo of a scalar element (the whole element when hi..lo covers it)."""

    elem: str
    hi: int
    lo: int
    span: Span | None = _span()


@dataclass(frozen=True)
class FileTarget:
    """Bits hi..lo of `file[index]`. Writes to a `zero` register are dropped."""

    file: str
    index: Expr
    hi: int
    lo: int
    span: Span | None = _span()


@dataclass(frozen=True)
class MemTarget:
    space: str  # "mem" or "phys"
    addr: Expr
    nbits: int
    priv: str | Expr | None = None  # as in `Mem`
    span: Span | None = _span()


Target = RegTarget | FileTarget | MemTarget


@dataclass(frozen=True)
class Let:
    name: str
    value: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Assign:
    target: Target
    value: Expr  # width == target width
    span: Span | None = _span()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class Trap:
    """Raise the named cause; `arg` is passed to the trap delivery as `trap_arg`."""

    cause: str
    arg: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Halt:
    span: Span | None = _span()


@dataclass(frozen=True)
class Wait:
    """Wait for an interrupt (ARM `WFI`, x86 `HLT` with interrupts enabled).

    It ends the instruction like `Halt` and keeps its writes (the pc advances
    as usual), with the outcome "wait": the machine is suspended until an
    interrupt source is pending, whether or not it is enabled. Time is outside
    equivalence, so every analysis reads it as an instruction that completes
    (docs/model.md §2.5); only the simulator and the VMM tell it apart."""

    span: Span | None = _span()


Stmt = Let | Assign | If | Trap | Halt | Wait


# --------------------------------------------------------------------------
# The machine description
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    name: str
    hi: int
    lo: int
    role: str | None = None  # None: the element's own role
    readonly: bool = False
    span: Span | None = _span()

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1


@dataclass(frozen=True)
class Element:
    """A state element: a scalar register, or a register file when `count` is set."""

    name: str
    width: int
    role: str = "general"
    count: int | None = None
    fields: tuple[FieldDef, ...] = ()
    readonly: bool = False
    zero: int | None = None  # register-file index that reads as 0 and ignores writes
    names: tuple[str, ...] = ()  # assembler names of a file's registers (default NAME0..)
    description: str = ""
    span: Span | None = _span()

    @property
    def is_file(self) -> bool:
        return self.count is not None

    @property
    def index_width(self) -> int:
        return max(1, (self.count - 1).bit_length()) if self.count else 0

    def role_mask(self, role: str) -> int:
        """The bits of this element (of each register, for a file) that play `role`."""
        m = mask(self.width) if self.role == role else 0
        for f in self.fields:
            bits = mask(f.width) << f.lo
            if f.role == role:
                m |= bits
            elif f.role is not None and self.role == role:
                m &= ~bits
        return m

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class ModeDef:
    """The privilege levels, most privileged first, and where the mode lives.

    `levels` pairs each level's name with its encoding; the mode is bits
    hi..lo of scalar element `elem` (a field, as x86's `cs.rpl`, or a whole
    element). Those bits are always control state.
    """

    levels: tuple[tuple[str, int], ...]
    elem: str
    hi: int
    lo: int

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    def code(self, level: str) -> int:
        return dict(self.levels)[level]

    def name_of(self, code: int) -> str | None:
        return next((n for n, c in self.levels if c == code), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.levels)

    def rank(self, level: str) -> int:
        """0 for the most privileged level."""
        return self.names.index(level)


@dataclass(frozen=True)
class NoTranslation:
    """`mem[a]` is `phys[a]`."""


@dataclass(frozen=True)
class RelocationBounds:
    """Popek & Goldberg's R = (l, b): legal iff a < b, then physical a + l."""

    base: str  # element holding l
    bound: str  # element holding b


Translation = NoTranslation | RelocationBounds


@dataclass(frozen=True)
class Storage:
    """Physical storage E: `size` units of `unit` bits; addresses wrap modulo size."""

    size: int  # a power of two
    unit: int
    endian: str = "little"
    translation: Translation = NoTranslation()

    @property
    def addr_width(self) -> int:
        return max(1, (self.size - 1).bit_length())


@dataclass(frozen=True)
class Cause:
    name: str
    code: int
    memory: bool = False  # a memory trap in Popek & Goldberg's sense
    span: Span | None = _span()


@dataclass(frozen=True)
class Traps:
    """Trap causes and the delivery semantics.

    `deliver` runs on the state as it was before the trapping instruction,
    with three extra locals: `cause` (the cause's code) and `trap_arg` (the
    `trap(CAUSE, arg)` argument, 0 without one), both `cause_width` bits, and
    `fault_addr` (one word: the virtual address of the access that raised a
    memory trap, the first faulting one in evaluation order; 0 for any other
    trap, `trap(MEM)` included).
    `memory_cause` is raised by an illegal translated access.
    """

    causes: tuple[Cause, ...]
    memory_cause: str
    deliver: tuple[Stmt, ...]
    cause_width: int

    def cause(self, name: str) -> Cause:
        return next(c for c in self.causes if c.name == name)

    def by_code(self, code: int) -> Cause | None:
        return next((c for c in self.causes if c.code == code), None)


@dataclass(frozen=True)
class Interrupt:
    """An interrupt source (the `interrupts` section): a timer that becomes
    pending every `period` executed instructions (None: no default period; it
    ticks only when a run sets one, `--timer N`). It is delivered between
    two instructions when `enabled` (a condition over control state) holds,
    through `traps.deliver` with `cause` = the code of `cause` and the pc of
    the next instruction, so returning from the handler resumes after the
    interrupted instruction. Delivery clears the pending state."""

    name: str
    cause: str
    enabled: Expr
    period: int | None
    description: str = ""
    span: Span | None = _span()


@dataclass(frozen=True)
class Context:
    """A guest context (docs/model.md §2.3): `where` over state, and the mode map."""

    name: str
    where: Expr
    modes: tuple[tuple[str, str], ...]  # (virtual level, real level)
    description: str = ""
    span: Span | None = _span()

    @property
    def virtual_modes(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.modes)

    @property
    def real_modes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for _, r in self.modes))

    def real_of(self, virtual: str) -> str:
        return dict(self.modes)[virtual]


@dataclass(frozen=True)
class OperandDef:
    """An instruction operand.

    kind "reg": a register number of register file `file` (width = the
    file's index width); kind "imm": an immediate of `width` bits, `signed`
    for how the assembler reads it; `pcrel`: the assembler stores
    `target - address of the instruction`.
    """

    name: str
    kind: str
    width: int
    file: str | None = None
    signed: bool = False
    pcrel: bool = False
    span: Span | None = _span()
    # Values must be below `limit` (0: any value of the width). A prefix
    # group's hidden operand (kind "prefix") numbers its prefixes 1..n and
    # takes 0 when none is present, so only 0..n are instances.
    limit: int = 0
    # Operand kinds with addressing modes: an operand of such a kind is kind
    # "mode" (its value: the mode's number, below `limit`), with `modes` the
    # kind; each field of its modes is an operand of its own, named
    # OPERAND_FIELD, with `of` the mode operand's name.
    modes: OperandKind | None = None
    of: str = ""
    # `pcrel next` (x86 rel8/rel32): the assembler stores the target minus
    # the address of the *next* instruction (this one's address plus its
    # instance length) instead of this one's.
    pcrel_next: bool = False


@dataclass(frozen=True)
class Encoding:
    """A fixed-width bit pattern: `fixed` bits under `fixed_mask`, and where each
    operand's bits go: (operand, operand_hi, operand_lo, word_lo) pieces."""

    fixed: int
    fixed_mask: int
    pieces: tuple[tuple[str, int, int, int], ...]
    assigned: bool = False  # vmcheck chose it (the spec gave none)
    # In a variable-length ISA (`insn_width: variable`): the entry's own length
    # in storage units; the pattern then spans units*unit bits, the first unit
    # the most significant (0: the ISA's fixed width, read in storage order).
    units: int = 0
    span: Span | None = _span()  # the `encoding` text, for overlap messages


@dataclass(frozen=True)
class AddressingMode:
    """One alternative of an operand kind (68k `(An)+`, x86 `[reg+disp8]`):
    its fields (operands of their own), its bits in the instruction's
    encoding (`encoding`, over the kind's `bits`; pieces name fields), the
    units it appends after the instruction (`extension`, variable-length
    ISAs; None: none), its assembler syntax, and whether the semantics give
    it a `value` or an `address` (their text is elaborated per instruction
    operand into the instruction's semantics, so no reading needs them)."""

    name: str
    fields: tuple[OperandDef, ...]
    encoding: Encoding
    extension: Encoding | None
    syntax: str
    reads: str  # "value" or "address"
    span: Span | None = _span()


@dataclass(frozen=True)
class OperandKind:
    """A declared operand kind with addressing modes: `width` bits read or
    written through it, `bits` of it in an instruction's encoding."""

    name: str
    width: int
    bits: int
    modes: tuple[AddressingMode, ...]
    span: Span | None = _span()

    def mode(self, name: str) -> AddressingMode:
        return next(m for m in self.modes if m.name == name)


@dataclass(frozen=True)
class Prefix:
    """One optional leading pattern of a variable-length ISA (x86's 66, F3):
    `name` is how the assembler writes it, `fixed` its bits over `units`
    storage units (first unit most significant)."""

    name: str
    fixed: int
    units: int
    span: Span | None = _span()


@dataclass(frozen=True)
class PrefixGroup:
    """Prefixes of which an instruction carries at most one (x86's segment
    overrides). An entry that accepts the group has a hidden operand of the
    group's name: 0 when none is present, k for the k-th prefix listed."""

    name: str
    prefixes: tuple[Prefix, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Instruction:
    name: str
    mnemonic: str
    operands: tuple[OperandDef, ...]
    semantics: tuple[Stmt, ...]
    encoding: Encoding
    syntax: str  # assembler template, e.g. "lw {rt}, {off}({base})"
    labels: frozenset[str] = frozenset()
    description: str = ""
    span: Span | None = _span()
    ref: str = ""  # the manual's reference for it (prose, like the description)
    # Variable-length ISAs: the prefix groups the entry accepts (each also a
    # hidden operand, kind "prefix"), and the instance's length in storage
    # units as an expression over its operands (word wide). None: the ISA's
    # fixed `insn_units`.
    prefixes: tuple[str, ...] = ()
    length: Expr | None = None
    # The family it is a member of (families.py); provenance like the span, so
    # not part of its meaning: a member equals the same instruction written out.
    family: Membership | None = field(default=None, compare=False)

    def operand(self, name: str) -> OperandDef:
        return next(o for o in self.operands if o.name == name)


@dataclass(frozen=True)
class Membership:
    """An instruction's family and the parameter values it was expanded with."""

    family: str
    params: tuple[tuple[str, int], ...] = ()
    span: Span | None = _span()  # the family's declaration

    def describe(self) -> str:
        """`member of load (W = 8, U = 0, funct3 = 0)`."""
        vals = ", ".join(f"{k} = {v}" for k, v in self.params)
        return f"member of {self.family}" + (f" ({vals})" if vals else "")


@dataclass(frozen=True)
class Isa:
    name: str
    word: int
    modes: ModeDef
    elements: tuple[Element, ...]
    pc: str
    storage: Storage
    traps: Traps
    host: Expr
    contexts: tuple[Context, ...]
    invariants: tuple[Expr, ...]
    instructions: tuple[Instruction, ...]
    insn_width: int  # bits of one encoded instruction, a multiple of storage.unit
    constants: tuple[tuple[str, int], ...] = ()
    description: str = ""
    reset: tuple[tuple[str, int], ...] = ()  # initial values of scalar elements (others 0)
    source: str | None = field(default=None, compare=False)  # the spec file's path
    span: Span | None = _span()
    # `insn_width: variable`: each encoding has its own length (`Encoding.units`)
    # and `insn_width` is then the longest instance, prefixes included.
    variable_length: bool = False
    prefixes: tuple[PrefixGroup, ...] = ()
    operand_kinds: tuple[OperandKind, ...] = ()
    interrupts: tuple[Interrupt, ...] = ()  # interrupt sources, in spec order

    @property
    def insn_units(self) -> int:
        """Units of one instruction; in a variable-length ISA, of the longest."""
        return self.insn_width // self.storage.unit

    def element(self, name: str) -> Element:
        return _element_index(self)[name]

    def instruction(self, name: str) -> Instruction:
        return _instruction_index(self)[name]

    def context(self, name: str) -> Context:
        return next(c for c in self.contexts if c.name == name)

    def role_elements(self, role: str) -> list[tuple[Element, int]]:
        """(element, bit mask) for every element with some bits in `role`."""
        out = [(e, e.role_mask(role)) for e in self.elements]
        if role == "control":
            md = self.modes
            out = [(e, m | ((mask(md.width) << md.lo) if e.name == md.elem else 0)) for e, m in out]
        return [(e, m) for e, m in out if m]


@per_isa
def _element_index(isa: Isa) -> dict[str, Element]:
    return {e.name: e for e in isa.elements}


@per_isa
def _instruction_index(isa: Isa) -> dict[str, Instruction]:
    return {i.name: i for i in isa.instructions}
