"""Variable-length encodings and prefixes (`insn_width: variable`, `prefixes`).

On tests/data/vl8.yaml, a byte-coded machine of one- to four-byte
instructions with two prefix groups: the loader's checks (lengths,
ambiguous overlaps with both places, prefixes that read like an entry),
decoding to the most specific entry, the assembler and disassembler both
ways, the pc advancing by each instance's own length (and `insn_len`),
fetch faults on the instance's last unit, the two readings agreeing, both
syntaxes and the `fmt` round trip, blocks agreeing with steps, and the
engine's verdict confirmed by the reference VMM.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from helpers import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_blocks import _compare
from test_symbolic import _check, _example, _LoggingStorage, _Reading

from vmcheck.errors import SpecError
from vmcheck.hypervisor.fuzz import image_of, random_program
from vmcheck.machine import Machine, assemble
from vmcheck.machine.decode import Decoder, encode_units, instance_units
from vmcheck.machine.syntax import disassemble
from vmcheck.semantics.symbolic import ARRAYS, sym_isa
from vmcheck.spec.isa_reader import read_isa
from vmcheck.spec.load import load_spec
from vmcheck.spec.printer import to_isa, to_yaml
from vmcheck.spec.yaml_reader import read_yaml

DATA = Path(__file__).parent / "data"
VL8 = DATA / "vl8.yaml"
PROGRAM = DATA / "vl8.s"


@pytest.fixture(scope="module")
def isa():
    return load_spec(VL8)


def _spec(tmp_path: Path, edit) -> Path:
    text = edit(VL8.read_text())
    p = tmp_path / "v.yaml"
    p.write_text(text)
    return p


def _errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_spec(path)
    return [f"{d.span.line}:{d.span.col}: {d.message}" if d.span else d.message for d in e.value.diagnostics]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ---- what the loader builds ---------------------------------------------------


def test_each_entry_has_its_own_length_and_prefix_operands(isa):
    assert isa.variable_length
    units = {i.name: i.encoding.units for i in isa.instructions}
    assert units == {
        "nop": 1, "xchg": 1, "ldi": 3, "ld": 2, "st": 2, "inc": 1, "call": 3,
        "ret": 1, "jnz": 4, "setrl": 3, "getrl": 3, "svc": 2, "hlt": 1,
    }  # fmt: skip
    ld = isa.instruction("ld")
    assert ld.prefixes == ("seg",)
    seg = ld.operand("seg")
    assert (seg.kind, seg.width, seg.limit) == ("prefix", 2, 3)  # none, ds2, ds4
    # the longest instance: jnz (4 units); ld with a prefix is 3
    assert isa.insn_units == 4
    assert instance_units(isa, ld, (0, 1, 0)) == 2
    assert instance_units(isa, ld, (0, 1, 2)) == 3


def test_the_most_specific_entry_decodes_and_prefixes_are_stripped(isa):
    dec = Decoder(isa)

    def word(units):  # little-endian storage: the first unit is the least significant
        units = units + [0] * (isa.insn_units - len(units))
        return sum(u << (8 * k) for k, u in enumerate(units))

    # 90 is both `nop` and `xchg a, a`: nop has more fixed bits and wins
    assert dec.decode(word([0x90]))[0].name == "nop"
    insn, ops = dec.decode(word([0x91]))
    assert (insn.name, ops) == ("xchg", (1,))
    # 2E 8B 06: ds4 ld b, (c)
    insn, ops = dec.decode(word([0x2E, 0x8B, 0x06]))
    assert (insn.name, dict(zip((o.name for o in insn.operands), ops))) == ("ld", {"rd": 1, "rs": 2, "seg": 2})
    # F3 41: rep inc b
    insn, ops = dec.decode(word([0xF3, 0x41]))
    assert (insn.name, ops) == ("inc", (1, 1))
    # a prefix the entry does not accept, or two of one group: no instance
    assert dec.decode(word([0xF3, 0x8B, 0x06])) is None
    assert dec.decode(word([0x26, 0x2E, 0x8B, 0x06])) is None
    # jnz's immediate is stored low byte first
    insn, ops = dec.decode(word([0x75, 0x03, 0x34, 0x12]))
    assert (insn.name, ops) == ("jnz", (3, 0x1234))


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32))
def test_encode_decode_disassemble_assemble_agree(seed):
    isa = load_spec(VL8)
    rnd = random.Random(seed)
    program = random_program(isa, rnd, 12)
    image = dict(image_of(isa, program, 16))
    dec = Decoder(isa)
    addr = 16
    lines = [".org 16"]
    for name, ops in program:
        insn = isa.instruction(name)
        n = instance_units(isa, insn, ops)
        assert [image[addr + k] for k in range(n)] == encode_units(isa, insn, ops)
        window = [image.get(addr + k, 0) for k in range(isa.insn_units)]
        got = dec.decode(sum(u << (8 * k) for k, u in enumerate(window)))
        assert got is not None
        # the decoder may pick a more specific entry for the same units (nop for xchg a, a)
        assert encode_units(isa, got[0], got[1]) == encode_units(isa, insn, ops)
        lines.append(disassemble(isa, insn, ops, addr))
        addr += n
    prog = assemble(isa, "\n".join(lines))
    assert dict(prog.image) == image


# ---- running ---------------------------------------------------------------------


def _run(isa, text: str, max_steps: int = 100, **kw) -> Machine:
    m = Machine(isa, **kw)
    m.load_image(assemble(isa, text).image)
    m.reset()
    m.run(max_steps)
    return m


def test_the_sample_program_runs_with_each_instance_its_own_length(isa):
    for blocks in (False, True):
        m = _run(isa, PROGRAM.read_text(), blocks=blocks, hot=1)
        regs = m.registers()
        assert m.stopped == "halted"
        # call at 0x23 (3 units) pushed 0x26: `ret` came back to `xchg`
        assert m.storage.read(regs["sp"] - 2, 2) == 0x26
        assert (regs["a"], regs["b"], regs["c"], regs["pc"]) == (100, 0, 0, 0x29)  # getrl a = 0, then swapped
        assert m.steps == 16  # `rep inc a` ran four times in place


def test_a_prefix_changes_the_length_and_the_semantics(isa):
    text = """
        .org 16
        ldi  b, 8
        ldi  a, 0x55AA
        ds2  st a, (b)       # 0x208
        ds2  ld c, (b)
        ld   a, (b)          # 8: nothing there
        hlt
    """
    m = _run(isa, text)
    assert m.stopped == "halted"
    assert m.storage.read(0x208, 2) == 0x55AA
    assert (m.registers()["c"], m.registers()["a"]) == (0x55AA, 0)
    # 3 + 3 + 3 + 3 + 2 units before hlt: hlt at 0x1e, the pc after it 0x1f
    assert m.registers()["pc"] == 0x1F


def test_a_fetch_faults_when_the_instance_crosses_the_bound(isa):
    # ldi (3 units) at 14..16 with bound 16: its first unit is legal, its last is not
    for blocks in (False, True):
        m = Machine(isa, blocks=blocks, hot=1)
        m.load_image(assemble(isa, ".org 14\nldi a, 7").image)
        m.reset()
        m.state.v[m.layout.slots["pc"]] = 14
        m.state.v[m.layout.slots["rb"]] = 16
        m.storage.write(4, 2, 0x300)  # the trap vector
        m.run(1)
        assert m.storage.read(3, 1) == 2  # MEM delivered
        assert m.storage.read(0, 2) == 14  # at the instruction's pc
        assert m.registers()["a"] == 0


@pytest.mark.parametrize("seed", range(4))
def test_blocks_agree_with_steps(seed):
    isa = load_spec(VL8)
    rnd = random.Random(seed)
    _compare(isa, rnd.getrandbits(32), rnd.randint(1, 300), (3, 5))


# ---- the two readings --------------------------------------------------------------


@pytest.mark.parametrize("name", ["ld", "st", "inc", "call", "jnz", "ldi", "hlt"])
def test_symbolic_equals_concrete(isa, name):
    """The pc advance (by the instance's length, prefixes included) and
    `insn_len` mean the same in both readings."""
    insn = isa.instruction(name)
    sym = sym_isa(isa)
    reading = _Reading(isa, insn, sym, sym.execute(insn, ARRAYS))
    storage = _LoggingStorage(isa.storage, isa.insn_units)
    rnd = random.Random(17)
    for i in range(150):
        _check(reading, storage, _example(rnd, isa, insn), against_z3=i < 2)


def test_insn_len_is_the_instance_length_in_a_fixed_width_isa_too(tmp_path):
    # vl8 without its encodings and prefixes: 32-bit instructions of 4 units
    text = VL8.read_text().replace("insn_width: variable\n", "insn_width: 32\n")
    text = re.sub(r"prefixes:\n  rep:.*\n  seg:.*\n", "", text)
    text = re.sub(r"    prefixes: \[\w+\]\n", "", text)
    text = re.sub(r"    encoding: .*\n", "", text)
    text = text.replace("match seg { 1 => 0x200, 2 => 0x400, _ => 0 }", "0").replace("rep == 1 && ", "")
    p = tmp_path / "fixed.yaml"
    p.write_text(text)
    fixed = load_spec(p)
    assert not fixed.variable_length and fixed.insn_units == 4
    m = _run(fixed, ".org 16\nldi sp, 512\ncall sub\nhlt\nsub: ret")
    assert m.stopped == "halted"
    assert m.storage.read(510, 2) == 24  # call at 20 pushed 20 + insn_len


# ---- both syntaxes ----------------------------------------------------------------------


def test_fmt_round_trips_both_ways(isa, tmp_path):
    isa_text = to_isa(read_yaml(VL8.read_text(), str(VL8)))
    assert "insn_width variable" in isa_text
    assert 'seg: ds2 = "0010_0110", ds4 = "0010_1110"' in isa_text
    assert re.search(r"instruction ld\(rd: reg, rs: reg\) prefixes seg ", isa_text)
    p = tmp_path / "vl8.isa"
    p.write_text(isa_text)
    assert load_spec(p) == isa
    yaml_text = to_yaml(read_isa(isa_text, str(p)))
    q = tmp_path / "vl8.yaml"
    q.write_text(yaml_text)
    assert load_spec(q) == isa
    assert to_isa(read_yaml(yaml_text, str(q))) == isa_text


# ---- errors -------------------------------------------------------------------------------


def test_ambiguous_encodings_are_reported_with_both_places(tmp_path):
    # `nop2` (90 xx) and `xchg` (1001_00 rd): some units match both, neither is more specific
    text = VL8.read_text().replace(
        "  ldi:\n",
        '  nop2:\n    operands: [v: imm8]\n    encoding: "1001 v[3:0] v[7:0]"\n    semantics: r[0] = r[0]\n  ldi:\n',
    )
    p = tmp_path / "amb.yaml"
    p.write_text(text)
    errs = _errors(p)
    xchg_line = _line_of(text, '"1001_00 rd"')
    assert any(
        e.startswith(f"{_line_of(text, '1001 v[3:0]')}:")
        and "'nop2' overlaps that of 'xchg'" in e
        and f"line {xchg_line}" in e
        for e in errs
    ), errs
    assert any("'nop2' overlaps that of 'nop'" in e for e in errs), errs
    # through lint: exit 2 with FILE:LINE:COL
    r = invoke("lint", p, "--no-programs")
    assert r.exit_code == 2
    assert re.search(rf"amb\.yaml:{_line_of(text, '1001 v[3:0]')}:\d+: error: the encoding of 'nop2'", r.output)


def test_the_same_pattern_twice_is_ambiguous(tmp_path):
    p = _spec(tmp_path, lambda t: t.replace('encoding: "1100_0011"', 'encoding: "1111_0100"'))
    assert any("the encoding of 'hlt' overlaps that of 'ret'" in e for e in _errors(p))


def test_a_prefix_that_reads_like_an_entry_is_an_error(tmp_path):
    p = _spec(tmp_path, lambda t: t.replace('rep: {rep: "1111_0011"}', 'rep: {rep: "1001_0000"}'))
    errs = _errors(p)
    assert any("the encoding of 'nop' can begin like prefix 'rep'" in e for e in errs), errs


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('encoding: "1001_0000"', 'encoding: "1001_000"', "encoding has 7 bits; in a variable-length ISA"),
        ("insn_width: variable", "insn_width: varying", "insn_width must be a number of bits or 'variable'"),
        ("prefixes: [seg]", "prefixes: [segs]", "unknown prefix group 'segs'"),
        ("prefixes: [seg]", "prefixes: [seg, seg]", "prefix group 'seg' is listed twice"),
        ('ds4: "0010_1110"', 'ds4: "0010_111"', "prefix 'ds4' has 7 bits"),
        ('ds4: "0010_1110"', 'rep: "0010_1110"', "prefix 'rep' is declared twice"),
        ("  seg: {", "  pc: {", "prefix group 'pc' has the name of a state element"),
        (
            '    encoding: "1100_0011"\n',
            "",
            "'ret' has no encoding; in a variable-length ISA every instruction needs one",
        ),
        (
            "  rb: {width: 16, role: control}",
            "  rb: {width: 16, role: control}\n  insn_len: {width: 8}",
            "'insn_len' is reserved",
        ),
    ],
)
def test_bad_declarations_are_errors_at_their_place(tmp_path, old, new, message):
    p = _spec(tmp_path, lambda t: t.replace(old, new, 1))
    errs = _errors(p)
    assert any(message in e for e in errs), errs


def test_prefixes_need_a_variable_length_isa(tmp_path):
    p = _spec(tmp_path, lambda t: t.replace("insn_width: variable\n", ""))
    assert any("prefixes need a variable-length ISA" in e for e in _errors(p))


@pytest.mark.parametrize(
    "line,message",
    [
        ("rep ld a, (b)", "'ld' does not accept a prefix of group 'rep'"),
        ("ds2 ds4 ld a, (b)", "a second prefix of group 'seg'"),
        ("rep", "prefix 'rep' must be followed by an instruction"),
    ],
)
def test_the_assembler_checks_prefixes(isa, line, message):
    with pytest.raises(SpecError) as e:
        assemble(isa, f".org 16\n{line}\n")
    d = e.value.diagnostics[0]
    assert message in d.message and d.span.line == 2


# ---- the engine and the VMM -----------------------------------------------------------------


def test_check_and_confirm(tmp_path):
    env = {"VMCHECK_CACHE_DIR": str(tmp_path / "cache")}
    r = invoke("check", VL8, "--format", "json", env=env)
    assert r.exit_code == 1, r.output  # getrl reads rl without trapping
    assert '"getrl"' in r.output
    r = invoke("confirm", VL8, PROGRAM, "--fuzz", "60", env=env)
    assert r.exit_code == 0, r.output
    assert "observation agrees with the engine: confirmed" in r.output
    # the prefix operand is part of the instance: `explain` names it
    r = invoke("explain", VL8, "ld", env=env)
    assert r.exit_code == 0, r.output
