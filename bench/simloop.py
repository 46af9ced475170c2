"""Simulator speed against a hand-written Python loop of the same guest program.

The guest program is a compute loop (two dependent adds, a compare-and-branch
that is never taken, a jump back), assembled for the spec and run by
`Machine.run` in block mode and step by step. Beside it, in the same process,
runs a *hand-written* interpreter of the same program for the same machine:
what a person would write to simulate it in plain Python (instructions
decoded once into tuples, registers in a list, the pc in a local, an
if/elif dispatch, the relocation-bounds fetch check and 32-bit wrap-around,
the flags x86 computes). The ratio of the two rates is the figure that holds
on a loaded machine: both suffer the same load.
"""

from __future__ import annotations

import statistics
import time

from vmcheck.machine import Machine, assemble
from vmcheck.spec.load import load_spec

M32 = 0xFFFFFFFF

PG_TOY = """
        .org 16
start:  li   r4, 1
        li   r3, -1
loop:   add  r2, r2, r4
        add  r1, r1, r2
        beq  r2, r3, start
        jmp  loop
"""

X86 = """
        .org 0x1000
start:  mov  ecx, 1
        mov  ebx, -1
loop:   add  eax, ecx
        add  edx, eax
        cmp  eax, ebx
        jz   start
        jmp  loop
"""

PROGRAMS = {"pg-toy": PG_TOY, "x86-32": X86}


def _pg_toy_by_hand(steps: int) -> tuple[int, list[int]]:
    """pg-toy, hand-written: words 16.. hold li, li, add, add, beq, jmp."""
    LI, ADD, BEQ, JMP = range(4)
    code = {
        16: (LI, 4, 1, 0),
        17: (LI, 3, M32, 0),
        18: (ADD, 2, 2, 4),
        19: (ADD, 1, 1, 2),
        20: (BEQ, 2, 3, -4),
        21: (JMP, -3, 0, 0),
    }
    r = [0] * 8
    pc, base, bound = 16, 0, 4096
    n = 0
    while n < steps:
        if pc >= bound:
            raise RuntimeError("fetch outside the bound")
        op, a, b, c = code[pc + base]
        if op == ADD:
            if a:
                r[a] = (r[b] + r[c]) & M32
            pc += 1
        elif op == BEQ:
            pc = (pc + c) & M32 if r[a] == r[b] else pc + 1
        elif op == JMP:
            pc = (pc + a) & M32
        else:  # LI
            if a:
                r[a] = b
            pc += 1
        n += 1
    return pc, r


def _x86_by_hand(steps: int) -> tuple[int, list[int]]:
    """x86-32, hand-written: 8-byte instructions from 0x1000, with the ZF, SF,
    CF and OF that add and cmp compute, and the time-stamp counter."""
    MOV, ADD, CMP, JZ, JMP = range(5)
    code = {
        0x1000: (MOV, 1, 1),
        0x1008: (MOV, 3, M32),
        0x1010: (ADD, 0, 1),
        0x1018: (ADD, 2, 0),
        0x1020: (CMP, 0, 3),
        0x1028: (JZ, -0x28, 0),
        0x1030: (JMP, -0x20, 0),
    }
    r = [0] * 8
    eip, zf, tsc = 0x1000, 0, 0
    flags = (0, 0, 0)  # SF, CF, OF: computed as the spec computes them, read by no instruction here
    n = 0
    while n < steps:
        op, a, b = code[eip]
        if op == ADD:
            x, y = r[a], r[b]
            s = (x + y) & M32
            r[a] = s
            zf, flags = s == 0, (s >> 31, s < x, ((~(x ^ y) & (x ^ s)) >> 31) & 1)
            eip += 8
        elif op == CMP:
            x, y = r[a], r[b]
            s = (x - y) & M32
            zf, flags = s == 0, (s >> 31, x < y, (((x ^ y) & (x ^ s)) >> 31) & 1)  # noqa: F841
            eip += 8
        elif op == JZ:
            eip = (eip + a) & M32 if zf else eip + 8
        elif op == JMP:
            eip = (eip + a) & M32
        else:  # MOV
            r[a] = b
            eip += 8
        tsc += 1
        n += 1
    return eip, r


BY_HAND = {"pg-toy": _pg_toy_by_hand, "x86-32": _x86_by_hand}


def machine_for(spec: str, blocks: bool = True) -> Machine:
    isa = load_spec(spec)
    m = Machine(isa, blocks=blocks)
    m.load_image(assemble(isa, PROGRAMS[spec], "<bench>").image)
    m.reset()
    return m


def check_same(spec: str, steps: int = 10_000) -> None:
    """The hand-written loop computes what the spec's machine computes."""
    m = machine_for(spec)
    m.run(steps)
    pc, r = BY_HAND[spec](steps)
    file = m.isa.element("r")
    got = [m.state.get("r", i) for i in range(file.count)]
    if (m.pc, got) != (pc, r):
        raise AssertionError(f"{spec}: hand-written loop disagrees: {(pc, r)} vs {(m.pc, got)}")


def _rate(fn, steps: int) -> float:
    t0 = time.process_time()  # CPU time: steadier than wall time under load
    fn(steps)
    return steps / max(time.process_time() - t0, 1e-9)


def measure(spec: str, steps: int, repeat: int) -> dict:
    """Median guest instructions per second: blocks, single steps, by hand;
    runs interleaved so that load changes hit all three alike."""
    check_same(spec)
    fast, slow = machine_for(spec), machine_for(spec, blocks=False)
    fast.run(1000)  # warm up: decode, build the blocks
    slow.run(1000)
    hand = BY_HAND[spec]
    rates: dict[str, list[float]] = {"blocks": [], "steps": [], "by_hand": []}
    for _ in range(repeat):
        fast.reset()
        slow.reset()
        rates["blocks"].append(_rate(fast.run, steps))
        rates["steps"].append(_rate(slow.run, steps // 2))
        rates["by_hand"].append(_rate(hand, steps))
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "spec": spec,
        "steps": steps,
        "repeat": repeat,
        "blocks_ips": med["blocks"],
        "steps_ips": med["steps"],
        "by_hand_ips": med["by_hand"],
        "blocks_over_by_hand": med["blocks"] / med["by_hand"],
        "steps_over_by_hand": med["steps"] / med["by_hand"],
        "blocks_over_steps": med["blocks"] / med["steps"],
    }
