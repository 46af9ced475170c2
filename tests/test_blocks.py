"""The block-compiled fast path agrees with single-stepping (issue 13.4).

For every bundled spec, random programs (the fuzzer's generator: the spec's
own instructions, pc-relative branches inside the program) run from the
reset state or from random general registers, with random data in storage:
once step by step (`run(trace=...)`, i.e. `Machine.step`, the reference),
once in block mode with blocks built on first arrival, once with the default
`hot` threshold in uneven chunks (a run resumes in the middle of what would
be a block), and once with `stop_on_trap` (each trap handed back and then
completed). Registers, storage, the reason and detail of the stop, the step
count and the timers (they are registers) must be identical.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.hypervisor.fuzz import image_of, random_program
from vmcheck.machine import TRAPPED, Machine, assemble
from vmcheck.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p.name for p in (ROOT / "isa_specs").iterdir() if p.is_dir())
_ISAS: dict[str, object] = {}


def _isa(name: str):
    if name not in _ISAS:
        _ISAS[name] = load_spec(name)
    return _ISAS[name]


def _setup(isa, seed: int, **kw) -> Machine:
    rnd = random.Random(seed)
    m = Machine(isa, **kw)
    origin = dict(isa.reset).get(isa.pc, 0)
    program = random_program(isa, rnd, rnd.randint(4, 40))
    # data near the program and low storage, so loads and stores see something
    size, unit = isa.storage.size, isa.storage.unit
    for _ in range(rnd.randint(0, 40)):
        m.storage.write(rnd.randrange(min(size, 4096)), 1, rnd.getrandbits(unit))
    m.load_image(image_of(isa, program, origin))
    m.reset()
    if rnd.random() < 0.5:  # random general registers
        v = m.state.v
        for e in isa.elements:
            if e.role != "general":
                continue
            slot = m.layout.slots[e.name]
            for i in range(e.count or 1):
                v[slot + i] = rnd.choice([0, 1, 2, 4, rnd.getrandbits(e.width), rnd.getrandbits(8)])
    return m


def _final(m: Machine, result) -> tuple:
    return (list(m.state.v), list(m.storage.cells), m.steps, m.stopped, m.detail, result)


def _stepwise(isa, seed, limit):
    m = _setup(isa, seed, blocks=False)
    r = m.run(limit, trace=lambda ev: None)
    return _final(m, (r.reason, r.steps, r.detail))


def _blocks(isa, seed, limit, hot, chunks):
    m = _setup(isa, seed, hot=hot)
    taken = 0
    r = None
    for c in chunks:
        if taken >= limit or m.stopped:
            break
        r = m.run(min(c, limit - taken))
        taken += r.steps
    if taken < limit and not m.stopped:
        taken += m.run(limit - taken).steps
    return m, taken


def _with_traps_handed_back(isa, seed, limit):
    m = _setup(isa, seed, hot=1)
    taken = 0
    while taken < limit and not m.stopped:
        r = m.run(limit - taken, stop_on_trap=True)
        taken += r.steps
        if r.reason == TRAPPED:
            assert m.stopped is None and r.trap is not None and r.trap.kind in ("trap", "memtrap")
            taken += m.complete(r.trap).steps
    return m, taken


def _compare(isa, seed, limit, chunks):
    want = _stepwise(isa, seed, limit)
    for hot, ch in ((1, ()), (8, chunks)):
        m, taken = _blocks(isa, seed, limit, hot, ch)
        got = _final(m, None)
        ctx = f"seed {seed}, limit {limit}, hot {hot}, chunks {ch}"
        assert got[2] == want[2] == taken, ctx
        assert got[:5] == want[:5], ctx + _diff(isa, m, want)
    m, taken = _with_traps_handed_back(isa, seed, limit)
    assert _final(m, None)[:5] == want[:5], f"stop_on_trap: seed {seed}, limit {limit}" + _diff(isa, m, want)


def _diff(isa, m, want) -> str:
    names = [(n, s) for n, s in m.layout.slots.items()]
    regs = [f"{n}: {m.state.v[s]} != {want[0][s]}" for n, s in names if m.state.v[s] != want[0][s]]
    cells = [a for a, (x, y) in enumerate(zip(m.storage.cells, want[1])) if x != y][:5]
    return f"\n  regs {regs}\n  cells {cells}\n  steps {m.steps} vs {want[2]}, stop {m.stopped!r} vs {want[3]!r}"


@pytest.mark.parametrize("spec", SPECS)
def test_blocks_agree_with_steps(spec):
    isa = _isa(spec)

    @settings(max_examples=12, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 2**32), st.integers(1, 400), st.lists(st.integers(1, 9), max_size=6))
    def prop(seed, limit, chunks):
        _compare(isa, seed, limit, tuple(chunks))

    prop()


LOOP = """
        .org 16
start:  li   r4, 1
        li   r3, 40
        li   r2, 0
loop:   add  r2, r2, r4
        st   r2, 200(r0)
        add  r1, r1, r2
        beq  r2, r3, done
        jmp  loop
done:   halt
"""


def test_blocks_are_built_used_and_dropped_when_their_code_is_written():
    """Not vacuous: on a loop the blocks exist and run, and a store over a
    block's instruction kills it (then it is rebuilt from the new code)."""
    isa = load_spec("pg-toy")
    m = Machine(isa, hot=2)
    m.load_image(assemble(isa, LOOP, "<loop>").image)
    m.reset()
    m.run(30)
    blocks = m.storage.decoded.blocks
    assert blocks and max(b.count for b in blocks.values()) >= 3
    some = next(iter(blocks.values()))
    m.storage.write(some.addrs[-1], 1, m.storage.read_unit(some.addrs[-1]))
    assert some.alive == [False] and some not in blocks.values()
    r = m.run(10_000)
    ref = Machine(isa, blocks=False)
    ref.load_image(assemble(isa, LOOP, "<loop>").image)
    ref.reset()
    rr = ref.run(10_000, trace=lambda ev: None)
    assert (r.reason, m.steps, m.state.v) == (rr.reason, ref.steps, ref.state.v)


SELF_MODIFYING = """
        .org 16
        li   r1, 0
        ld   r5, patch(r0)      # the word of `li r1, 7`
        st   r5, slot(r0)       # overwrite the next-but-one instruction of this block
        add  r2, r2, r2
slot:   li   r1, 1              # replaced by `li r1, 7` before it runs
        halt
patch:  li   r1, 7
"""


@pytest.mark.parametrize("hot", [1, 2])
def test_a_block_that_overwrites_its_own_code_runs_the_new_code(hot):
    isa = load_spec("pg-toy")
    prog = assemble(isa, SELF_MODIFYING, "<smc>")
    results = []
    for blocks in (False, True):
        m = Machine(isa, blocks=blocks, hot=hot)
        m.load_image(prog.image)
        m.reset()
        runs = []
        for _ in range(3):  # run it again and again from the same storage: blocks are built and reused
            m.reset()
            r = m.run(100)
            runs.append((r.reason, r.steps, list(m.state.v)))
        results.append(runs)
    assert results[0] == results[1]
    assert all(run[2][m.layout.slots["r"] + 1] == 7 for run in results[1])
