"""The bare machine: storage, translation, fetch/decode/execute, traps, timers,
the `run` verb, and the bundled sample programs run end to end."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.machine import (
    DOUBLE_FAULT,
    HALTED,
    STEP_LIMIT,
    UNDECODABLE,
    Decoder,
    Machine,
    Storage,
    assemble,
    assemble_file,
    encode,
    make_port,
)
from vmcheck.machine.decode import decode_operands
from vmcheck.semantics.state import MemoryTrap
from vmcheck.spec import ir
from vmcheck.spec.library import bundled, programs
from vmcheck.spec.load import load_spec

PG = load_spec("pg-toy")
PROGRAMS = Path(__file__).resolve().parents[1] / "isa_specs" / "pg-toy" / "programs"

# A byte machine with 4-byte instructions, a timer, and a delivery that goes
# through `mem` (so it can fault): for multi-unit, endian and double-fault cases.
TINY = """\
isa: tiny
word: 8
modes: [s, u]
state:
  pc: {{width: 8, role: pc}}
  m:  {{width: 1, role: mode}}
  rl: {{width: 8, role: control}}
  rb: {{width: 8, role: control}}
  clk: {{width: 16, role: timer}}
  f:  {{width: 8, fields: {{cnt: {{bits: "7:4", role: timer}}}}}}
  r:  {{count: 4, width: 8}}
reset: {{rb: {bound}}}
insn_width: 32
storage: {{size: 256, unit: 8, endian: {endian}, translation: {{relocation: rl, bound: rb}}}}
traps:
  causes: {{BAD: 1, MEM: {{code: 2, memory: true}}}}
  memory_cause: MEM
  cause_width: 8
  deliver: |
    mem[0] = pc
    mem[1] = cause
    pc = 64
contexts:
  host: m == s
  guest: {{g: {{modes: {{s: u, u: u}}}}}}
instructions:
  li:   {{operands: [rd: reg, imm: imm8], semantics: "r[rd] = imm"}}
  add:  {{operands: [rd: reg, rs: reg, rt: reg], semantics: "r[rd] = r[rs] + r[rt]"}}
  ldw:
    operands: [rd: reg, rs: reg]
    syntax: "ldw {{rd}}, [{{rs}}]"
    semantics: "r[rd] = mem[r[rs]][7:0] + mem32[r[rs]][31:24]"
  st:   {{operands: [rt: reg, rs: reg], syntax: "st {{rt}}, [{{rs}}]", semantics: "mem[r[rs]] = r[rt]"}}
  rdclk: {{operands: [rd: reg], semantics: "r[rd] = clk[7:0]"}}
  bad:  {{semantics: "trap(BAD)"}}
  jmp:  {{operands: [off: simm8 pcrel], semantics: "pc = pc + sext(off, 8)"}}
  halt: {{semantics: halt}}
"""


def tiny(tmp_path: Path, endian: str = "little", bound: int = 255) -> ir.Isa:
    p = tmp_path / f"tiny-{endian}-{bound}.yaml"
    p.write_text(TINY.format(endian=endian, bound=bound))
    return load_spec(str(p))


def boot(isa: ir.Isa, source: str) -> tuple[Machine, object]:
    prog = assemble(isa, textwrap.dedent(source))
    m = Machine(isa)
    m.load_image(prog.image)
    m.reset()
    return m, prog


# --------------------------------------------------------------------------
# Storage and translation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("endian,cells", [("little", [0x44, 0x33, 0x22, 0x11]), ("big", [0x11, 0x22, 0x33, 0x44])])
def test_storage_composes_units_in_byte_order(endian, cells):
    s = Storage(ir.Storage(16, 8, endian))
    s.write(14, 4, 0x11223344)  # wraps: units 14, 15, 0, 1
    assert [s.cells[a] for a in (14, 15, 0, 1)] == cells
    assert s.read(14, 4) == 0x11223344
    assert s.read(14 + 16, 4) == 0x11223344  # addresses wrap modulo the size


def test_storage_write_drops_decoded_words_it_overlaps():
    s = Storage(ir.Storage(16, 8), code_units=4)
    s.decoded.update({a: "insn" for a in range(16)})
    s.write(8, 1, 1)
    assert sorted(set(range(16)) - set(s.decoded)) == [5, 6, 7, 8]  # instructions covering unit 8


@pytest.mark.parametrize(
    "base,bound,addr,n,phys",
    [
        (100, 10, 0, 1, 100),
        (100, 10, 9, 1, 109),
        (100, 10, 10, 1, None),  # a == b: out of bounds
        (100, 10, 7, 4, None),  # the last unit (10) is out
        (100, 10, 6, 4, 106),
        (0, 0, 0, 1, None),  # bound 0: nothing is legal
        (4000, 4096, 4095, 1, (4095 + 4000) % 4096),  # physical addresses wrap
        (0, 0xFFFFFFFF, 0xFFFFFFFE, 1, 0xFFFFFFFE % 4096),
        (0, 0xFFFFFFFF, 0xFFFFFFFE, 2, None),  # no wrap in the virtual space
    ],
)
def test_relocation_bounds(base, bound, addr, n, phys):
    isa = PG
    s = Storage(ir.Storage(4096, 32))
    for k in range(n):
        s.write((addr + base + k) % 4096, 1, 1000 + k)
    m = Machine(isa)
    m.state.set("rl", base)
    m.state.set("rb", bound)
    port = make_port(isa, s, m.state)
    if phys is None:
        with pytest.raises(MemoryTrap) as e:
            port.load("mem", addr, 32 * n, None)
        assert e.value.cause == "MEM"
        with pytest.raises(MemoryTrap):
            port.check_store("mem", addr, 32 * n, None)
    else:
        assert port.load("mem", addr, 32, None) == 1000
        assert port.translate(addr, n) % 4096 == phys
    assert port.load("phys", (addr + base) % 4096, 32, None) == 1000  # phys never traps


def test_as_priv_does_not_change_the_translation():
    m = Machine(PG)
    m.state.set("rb", 4)
    with pytest.raises(MemoryTrap):
        m.port.load("mem", 4, 32, "user")
    assert m.port.load("mem", 3, 32, "supervisor") == 0


# --------------------------------------------------------------------------
# Decode and encode
# --------------------------------------------------------------------------


def test_encode_decode_round_trip():
    d = Decoder(PG)
    for insn in PG.instructions:
        ops = {o.name: (o.width and (0x5A5A & ((1 << o.width) - 1))) for o in insn.operands}
        word = encode(insn, ops)
        got = d.decode(word)
        assert got is not None and got[0].name == insn.name
        assert got[1] == tuple(ops[o.name] for o in insn.operands)
        assert decode_operands(insn, word) == got[1]
    assert d.decode(0xF0000000) is None  # an opcode pg-toy leaves free


# --------------------------------------------------------------------------
# The machine on pg-toy
# --------------------------------------------------------------------------


def test_reset_uses_the_specs_values():
    m = Machine(PG)
    assert (m.pc, m.state.get("rb"), m.state.get("m")) == (16, 4096, 0)
    m.state.set("r", 5, 3)
    m.reset()
    assert m.state.get("r", 3) == 0 and m.steps == 0 and m.stopped is None


def test_svc_program():
    m = Machine(PG)
    prog = assemble_file(PG, PROGRAMS / "svc.s")
    m.load_image(prog.image)
    result = m.run(1000)
    assert (result.reason, result.steps) == (HALTED, 25)
    regs = m.registers()
    assert (regs["r1"], regs["r3"], regs["m"]) == (42, 43, 0)
    assert m.storage.read_unit(prog.symbols["calls"]) == 2
    # The last trap saved the user's PSW: user mode, pc of `svc 0` (virtual 4), R = (1024, 256).
    assert [m.storage.read_unit(a) for a in range(6)] == [1, 4, 1024, 256, 3, 0]


def test_faults_program_sees_every_cause():
    m = Machine(PG)
    prog = assemble_file(PG, PROGRAMS / "faults.s")
    m.load_image(prog.image)
    assert m.run(1000).reason == HALTED
    log = prog.symbols["log"]
    causes = {c.name: c.code for c in PG.traps.causes}
    assert [m.storage.read_unit(log + i) for i in range(4)] == [causes[c] for c in ("PRIV", "MEM", "PRIV", "SVC")]
    assert m.storage.read_unit(prog.symbols["nfault"]) == 4
    assert m.registers()["r2"] == 7  # the user ran on after the memory trap was skipped


def test_sum_program():
    m = Machine(PG)
    m.load_image(assemble_file(PG, PROGRAMS / "sum.s").image)
    result = m.run(100_000)
    assert result.reason == HALTED and m.registers()["r1"] == 500500


def test_step_limit_and_resume():
    m = Machine(PG)
    m.load_image(assemble_file(PG, PROGRAMS / "sum.s").image)
    first = m.run(100)
    assert (first.reason, first.steps) == (STEP_LIMIT, 100)
    rest = m.run(100_000)
    assert rest.reason == HALTED and m.steps == 100 + rest.steps and m.registers()["r1"] == 500500
    assert m.run(10).steps == 0  # a stopped machine stays stopped until reset
    with pytest.raises(RuntimeError):
        m.step()


def _final(m: Machine):
    return m.state.v[:], m.storage.cells[:], m.steps, m.stopped


@pytest.mark.parametrize("name", ["svc.s", "faults.s", "sum.s"])
def test_fast_loop_agrees_with_step(name):
    image = assemble_file(PG, PROGRAMS / name).image
    fast, slow = Machine(PG), Machine(PG)
    fast.load_image(image)
    slow.load_image(image)
    fast.run(100_000)
    events = []
    slow.run(100_000, trace=events.append)
    assert _final(fast) == _final(slow)
    assert len(events) == slow.steps and events[-1].stop == HALTED


def test_fetch_fault_is_a_memory_trap():
    m, prog = boot(
        PG,
        """
        .org 8
        .word 0, handler, 0, 4096
        .org 16
        li   r7, upsw
        lpsw r7
    upsw: .word 1, 5, 1024, 5     # user, pc 5 == bound: the fetch faults
    handler: halt
    """,
    )
    events = []
    m.run(10, trace=events.append)
    ev = events[2]
    assert (ev.pc, ev.word, ev.insn, ev.outcome.kind, ev.outcome.cause) == (5, None, None, "memtrap", "MEM")
    assert m.stopped == HALTED and m.storage.read_unit(4) == PG.traps.cause("MEM").code


def test_undecodable_word_stops_the_machine():
    m, _ = boot(
        PG,
        """
        .org 16
        li r1, 1
        .word 0xF0000000
    """,
    )
    r = m.run(10)
    assert (r.reason, r.steps) == (UNDECODABLE, 1) and "0xf0000000" in r.detail


def test_self_modifying_code_is_re_decoded():
    # The second pass through `slot` runs the `li r2, 9` stored over it.
    m, prog = boot(
        PG,
        """
        .org 16
        li   r0, 0
        li   r3, 1
    slot: li  r2, 5
        beq  r4, r3, done
        ld   r5, new(r0)
        st   r5, slot(r0)
        li   r4, 1
        jmp  slot
    done: halt
    new:  li  r2, 9
    """,
    )
    assert m.run(100).reason == HALTED
    assert m.registers()["r2"] == 9


# --------------------------------------------------------------------------
# A byte machine: multi-unit instructions, byte order, timers, double faults
# --------------------------------------------------------------------------


@pytest.mark.parametrize("endian", ["little", "big"])
def test_multi_unit_instructions(tmp_path, endian):
    isa = tiny(tmp_path, endian)
    assert isa.insn_units == 4
    m, prog = boot(
        isa,
        """
        li  r1, 40
        li  r2, 2
        add r3, r1, r2
        st  r3, [r1]
        ldw r0, [r1]
        jmp done
        .word 1, 2, 3, 4
    done: halt
    """,
    )
    r = m.run(100)
    assert r.reason == HALTED and r.steps == 7
    regs = m.registers()
    assert regs["r3"] == 42
    # mem[40] (1 unit) plus the top byte of the 4-unit value at 40
    top = m.storage.read(40, 4) >> 24
    assert regs["r0"] == (42 + top) & 0xFF
    assert top == (42 if endian == "big" else 0)


def test_timers_tick_once_per_step(tmp_path):
    isa = tiny(tmp_path)
    m, _ = boot(
        isa,
        """
        li    r1, 1
        rdclk r2
        bad
        .org 64
        rdclk r3
        halt
    """,
    )
    m.state.set("f", 0x05)
    r = m.run(100)
    assert r.reason == HALTED and r.steps == 5
    regs = m.registers()
    assert (regs["r2"], regs["r3"], regs["clk"]) == (1, 3, 5)
    assert regs["f"] == 0x55  # only the timer field counts; bits 3..0 are kept


def test_double_fault_stops_the_machine(tmp_path):
    isa = tiny(tmp_path, bound=4)  # the delivery's mem[0] is legal, ...
    m, _ = boot(isa, "bad\n")
    m.step()
    assert m.stopped is None and m.pc == 64  # delivered
    m.reset()
    m.state.set("rb", 0)  # ... until the bound is 0
    m.storage.write(0, 4, encode(isa.instruction("bad"), {}))
    events = []
    r = m.run(10, trace=events.append)
    assert r.reason == DOUBLE_FAULT and "MEM" in r.detail
    assert events[-1].outcome.kind == "memtrap"  # the fetch itself faulted first
    assert m.pc == 0 and m.state.get("clk") == 1


# --------------------------------------------------------------------------
# The `run` verb
# --------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_run_verb_text():
    r = invoke("run", "pg-toy", str(PROGRAMS / "svc.s"))
    assert r.exit_code == 0, r.output
    assert "halted after 25 step(s)" in r.stdout
    assert "r1  0x0000002a  42" in r.stdout


def test_run_verb_trace_and_json():
    r = invoke("run", "pg-toy", str(PROGRAMS / "svc.s"), "--trace", "--format", "json", "--dump-storage")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["stop"] == HALTED and out["steps"] == 25 and out["registers"]["r3"] == 43
    assert out["trace"][3]["text"] == "svc 1" and out["trace"][3]["outcome"]["kind"] == "trap"
    assert out["storage"]["9"] > 0
    r = invoke("run", "pg-toy", str(PROGRAMS / "svc.s"), "--trace")
    lines = r.stdout.splitlines()
    assert "lpsw r7" in lines[1] and "trap SVC (arg 1)" in lines[3] and "-> halted" in lines[24]


def test_run_verb_step_limit_exits_1():
    r = invoke("run", "pg-toy", str(PROGRAMS / "sum.s"), "--max-steps", "10")
    assert r.exit_code == 1 and "step limit after 10 step(s)" in r.stdout
    # the message says which limit stopped it and how to raise it
    assert "--max-steps 10" in r.stderr and "did not halt" in r.stderr


def test_run_verb_endless_loop_stops_at_the_step_limit(tmp_path):
    """A program that never halts ends at --max-steps (block mode: the loop
    runs inside one compiled block), exit 1, never a hang."""
    p = tmp_path / "forever.s"
    p.write_text("        .org 16\nloop:   addi r1, r1, 1\n        jmp loop\n")
    r = invoke("run", "pg-toy", str(p), "--max-steps", "100001", "--format", "json")
    assert r.exit_code == 1
    import json

    out = json.loads(r.stdout)
    assert out["stop"] == "step limit" and out["steps"] == 100001
    assert out["registers"]["r1"] == 50001


def test_run_verb_bad_program_exits_2(tmp_path):
    p = tmp_path / "bad.s"
    p.write_text("start: li r1, 5\n        jmp nowhere\n")
    r = invoke("run", "pg-toy", str(p))
    assert r.exit_code == 2
    assert f"{p}:2:13: error: undefined label 'nowhere'" in r.stderr
    r = invoke("run", "pg-toy", str(tmp_path / "missing.s"))
    assert r.exit_code == 2 and "missing.s: No such file or directory" in r.stderr


# --------------------------------------------------------------------------
# Every bundled sample program assembles and runs
# --------------------------------------------------------------------------

SAMPLES = [(name, p) for name in bundled() for p in programs(name)]


@pytest.mark.parametrize("spec,path", SAMPLES, ids=[f"{n}/{p.name}" for n, p in SAMPLES])
def test_bundled_sample_programs_run(spec, path):
    isa = load_spec(spec)
    m = Machine(isa)
    m.load_image(assemble_file(isa, path).image)
    r = m.run(200_000)
    assert r.reason in (HALTED, STEP_LIMIT, DOUBLE_FAULT, UNDECODABLE, "waiting forever")  # (an idle WFI end)
    if spec == "pg-toy":
        assert r.reason == HALTED
