"""Random guest programs, run natively and under the VMM.

Programs are drawn from the spec's own instructions and operand kinds,
seeded so that a campaign is reproducible; a program that diverges is
shrunk (instructions dropped while the divergence, at the same instruction,
persists) and printed as assembly. Immediates favour the values that find
corner cases: 0, ±1, small numbers, the extremes of the field, and the
operand values the engine's witnesses name (a CSR number, a control
register number), which uniform sampling would hardly ever reach.

Program n starts in the context's n-th virtual mode (round robin, least
privileged included), so that a hybrid VMM's direct execution and every
mode's instructions are exercised, not only the reset mode's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..machine.decode import encode, encode_units, instance_units, representable, shadowed_mode
from ..machine.syntax import disassemble, file_size, operand_file
from ..semantics.concrete import compile_condition
from ..semantics.state import State
from ..spec import ir
from ..spec.ir import mask
from .lockstep import Comparison, Divergence, compare_run
from .vmm import LEFT_CONTEXT, guest_reset

Program = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class FuzzFinding:
    seed: int
    divergence: Divergence
    program: Program  # the shrunk program
    listing: str
    start_mode: str = ""  # the virtual mode the program starts in


@dataclass
class FuzzReport:
    programs: int
    steps: int
    findings: list[FuzzFinding]
    counters: dict[str, int]
    left_context: int = 0  # runs that ended because the guest entered a mode the context does not map

    @property
    def diverging(self) -> set[str]:
        return {f.divergence.insn for f in self.findings if f.divergence.insn}


def _immediate(rng: random.Random, op: ir.OperandDef, length: int, units: int) -> int:
    if op.pcrel:
        return rng.randint(-2, length) * units
    w = op.width
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if op.signed else (0, mask(w))
    pick = rng.random()
    if pick < 0.5:
        x = rng.choice([0, 1, 2, 3, 4, 8, 16, -1 if op.signed else hi])
    elif pick < 0.8:
        x = rng.randint(max(lo, -64), min(hi, 255))
    else:
        x = rng.randint(lo, hi)
    return x & mask(w)


OperandValues = dict[str, dict[str, list[int]]]  # instruction -> operand -> values the engine named
WITNESS_VALUE_RATE = 0.4  # how often an operand with named values takes one of them


def random_program(isa: ir.Isa, rng: random.Random, length: int, named: OperandValues | None = None) -> Program:
    out = []
    for _ in range(length):
        insn = rng.choice(isa.instructions)
        ops = []
        pool = (named or {}).get(insn.name, {})
        for op in insn.operands:
            for _try in range(8):
                if pool.get(op.name) and rng.random() < WITNESS_VALUE_RATE:
                    x = rng.choice(pool[op.name])
                elif op.kind == "reg":
                    x = rng.randrange(file_size(operand_file(isa, op)))
                elif op.kind in ("prefix", "mode"):  # none or one of its group's prefixes; a mode's number
                    x = rng.randrange(op.limit or (1 << op.width))
                else:
                    x = _immediate(rng, op, length, isa.insn_units)
                if representable(insn, op.name, x):
                    break
            else:
                x = 0
            ops.append(x)
        out.append((insn.name, _encodable(insn, ops)))
    return tuple(out)


def _encodable(insn: ir.Instruction, ops: list[int]) -> tuple[int, ...]:
    """`ops` with each mode operand whose bits a more specific mode takes
    (x86 `[reg]` with r/m 100) moved to that mode: the instance its bytes are."""
    vals = dict(zip((o.name for o in insn.operands), ops))
    for i, o in enumerate(insn.operands):
        if o.modes is not None:
            other = shadowed_mode(o, vals)
            if other is not None:
                ops[i] = vals[o.name] = o.modes.modes.index(other)
    return tuple(ops)


def image_of(isa: ir.Isa, program: Program, origin: int) -> list[tuple[int, int]]:
    """Storage units for `program` placed at `origin` (in the storage's byte order)."""
    n, unit = isa.insn_units, isa.storage.unit
    image = []
    if isa.variable_length:  # each instance its own length, first unit first
        addr = origin
        for name, ops in program:
            for part in encode_units(isa, isa.instruction(name), ops):
                image.append((addr, part))
                addr += 1
        return image
    for k, (name, ops) in enumerate(program):
        word = encode(isa.instruction(name), ops)
        for u in range(n):
            part = (word >> (unit * u)) & mask(unit)
            pos = u if isa.storage.endian == "little" else n - 1 - u
            image.append((origin + k * n + pos, part))
    return image


def listing(isa: ir.Isa, program: Program, origin: int, start_mode: str = "") -> str:
    lines = [f"        # starts in virtual mode {start_mode}"] if start_mode else []
    lines.append(f"        .org {origin}")
    addr = origin
    for name, ops in program:
        insn = isa.instruction(name)
        lines.append(f"        {disassemble(isa, insn, ops, addr)}")
        addr += instance_units(isa, insn, ops)
    return "\n".join(lines)


def _origin(isa: ir.Isa) -> int:
    return dict(isa.reset).get(isa.pc, 0)


def start_states(isa: ir.Isa, context: ir.Context) -> list[tuple[str, State]]:
    """The guest's reset state in each of the context's virtual modes, most privileged first
    (one whose state breaks the spec's invariants is left out: no guest can be there)."""
    md = isa.modes
    out = []
    for name in sorted(context.virtual_modes, key=md.rank):
        st = guest_reset(isa, context)
        bits = mask(md.width) << md.lo
        st.set(md.elem, (st.get(md.elem) & ~bits) | (md.code(name) << md.lo))
        if all(compile_condition(isa, inv)(st) for inv in isa.invariants):
            out.append((name, st))
    return out


def _run(isa, context, kind, program: Program, max_steps: int, start: State | None = None) -> Comparison:
    return compare_run(isa, context, image_of(isa, program, _origin(isa)), kind=kind, max_steps=max_steps, start=start)


def shrink(
    isa, context, kind, program: Program, insn: str | None, max_steps: int, start: State | None = None
) -> Program:
    """Drop instructions while the run still diverges first at `insn`."""
    changed = True
    while changed and len(program) > 1:
        changed = False
        for i in range(len(program) - 1, -1, -1):
            candidate = program[:i] + program[i + 1 :]
            c = _run(isa, context, kind, candidate, max_steps, start)
            if c.divergence is not None and c.divergence.insn == insn:
                program, changed = candidate, True
    return program


def fuzz(
    isa: ir.Isa,
    context: ir.Context,
    *,
    kind: str,
    programs: int,
    seed: int = 0,
    length: int = 24,
    max_steps: int = 200,
    shrink_findings: bool = True,
    named: OperandValues | None = None,
    only: range | None = None,
) -> FuzzReport:
    """Run `programs` random programs (or the slice `only` of them: a shard; program n is
    the same program whichever shard runs it)."""
    findings: list[FuzzFinding] = []
    seen: set[str | None] = set()
    steps = left = 0
    totals: dict[str, int] = {}
    starts = start_states(isa, context)
    for n in only if only is not None else range(programs):
        rng = random.Random(f"{seed}:{n}")
        program = random_program(isa, rng, length, named)
        mode, start = starts[n % len(starts)] if starts else ("", None)
        c = _run(isa, context, kind, program, max_steps, start)
        steps += c.steps
        left += str(c.virtual_stop).startswith(LEFT_CONTEXT)
        for k, v in c.counters.as_dict().items():
            totals[k] = totals.get(k, 0) + v
        d = c.divergence
        if d is None or d.insn in seen:
            continue
        seen.add(d.insn)
        if shrink_findings:
            program = shrink(isa, context, kind, program, d.insn, max_steps, start)
            d = _run(isa, context, kind, program, max_steps, start).divergence or d
        findings.append(FuzzFinding(n, d, program, listing(isa, program, _origin(isa), mode), mode))
    return FuzzReport(programs, steps, findings, totals, left)
