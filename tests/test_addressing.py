"""Operand kinds with addressing modes (`operand_kinds`).

On tests/data/m68.yaml, a 68000-like CISC: general operands in register,
indirect, post-increment, pre-decrement, displacement and immediate modes,
with extension words. The mode is part of the instance (the engine
quantifies over it and a witness names it), its address and effect become
part of the semantics (both readings agree), the simulator decodes and runs
it, the assembler reads the manual's syntax and the disassembler writes it
back, and the loader reports what cannot mean anything.
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
M68 = DATA / "m68.yaml"
PROGRAM = DATA / "m68.s"


@pytest.fixture(scope="module")
def isa():
    return load_spec(M68)


def _errors(tmp_path: Path, old: str, new: str) -> list[str]:
    text = M68.read_text()
    assert old in text
    p = tmp_path / "bad.yaml"
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    return [f"{d.span.line}: {d.message}" if d.span else d.message for d in e.value.diagnostics]


def _run(isa, text: str, **kw) -> Machine:
    m = Machine(isa, **kw)
    m.load_image(assemble(isa, text).image)
    m.reset()
    m.run(200)
    return m


# ---- the IR -------------------------------------------------------------------------


def test_an_operand_of_a_kind_is_its_mode_and_its_fields(isa):
    move = isa.instruction("move")
    assert [(o.name, o.kind, o.of) for o in move.operands] == [
        ("src", "mode", ""),
        ("src_n", "reg", "src"),
        ("src_x", "imm", "src"),
        ("src_v", "imm", "src"),
        ("dst", "mode", ""),
        ("dst_n", "reg", "dst"),
        ("dst_x", "imm", "dst"),
    ]
    src = move.operand("src")
    assert [m.name for m in src.modes.modes] == ["dn", "an", "ind", "postinc", "predec", "disp", "imm"]
    assert (src.width, src.limit) == (3, 7)  # the engine never takes mode number 7
    # two words, plus an extension word for each operand in disp or imm mode
    assert instance_units(isa, move, (0, 0, 0, 0, 0, 0, 0)) == 2
    assert instance_units(isa, move, (6, 0, 0, 0, 4, 0, 0)) == 6
    assert isa.insn_units == 6


# ---- running ----------------------------------------------------------------------------


@pytest.mark.parametrize("blocks", [False, True])
def test_the_sample_program_runs_every_mode(isa, blocks):
    m = _run(isa, PROGRAM.read_text(), blocks=blocks, hot=1)
    assert m.stopped == "halted"
    r = m.registers()
    assert (r["d1"], r["d2"], r["d3"]) == (0x5678, 0x1234, 0x68AC)
    # move.w (a0)+, (a0)+: read at 0x100, wrote at 0x102, a0 advanced twice
    assert r["a0"] == 0x104
    assert m.storage.read(0x100, 2) == 0x1234 and m.storage.read(0x102, 2) == 0x1234
    assert r["d0"] == 0x2000  # move.w sr, d0 read the S bit in supervisor mode
    assert r["pc"] == 0x2E  # 4+4+2+4+2+2+4+2+2+2+2 bytes from 0x10


def test_a_trap_discards_a_modes_effect(isa):
    # user mode, then move.w (a0)+, sr: privileged; a0 must not move
    m = Machine(isa)
    m.load_image(assemble(isa, ".org 16\nmove.w (a0)+, sr").image)
    m.reset()
    m.state.v[m.layout.slots["sr"]] = 0
    m.storage.write(6, 2, 0x300)
    m.run(1)
    assert m.registers()["a0"] == 0 and m.storage.read(4, 2) == 1  # PRIV delivered


def test_predecrement_then_displacement_address(isa):
    m = _run(isa, ".org 16\nmovea.w #0x200, sp\nmove.w #7, -(sp)\nmove.w 0(sp), d2\nmove.w -2(sp), d3\nstop")
    r = m.registers()
    assert (r["sp"], r["d2"], m.storage.read(0x1FE, 2)) == (0x1FE, 7, 7)
    assert r["d3"] == 0


@pytest.mark.parametrize("seed", range(3))
def test_blocks_agree_with_steps(seed):
    isa = load_spec(M68)
    rnd = random.Random(seed)
    _compare(isa, rnd.getrandbits(32), rnd.randint(1, 300), (2, 7))


# ---- the assembler, the decoder and the disassembler ------------------------------------


@pytest.mark.parametrize(
    "line,mode,fields",
    [
        ("move.w d1, d0", "dn", {"n": 1}),
        ("move.w a1, d0", "an", {"n": 1}),
        ("move.w (a2), d0", "ind", {"n": 2}),
        ("move.w (sp)+, d0", "postinc", {"n": 3}),
        ("move.w -(a1), d0", "predec", {"n": 1}),
        ("move.w -6(a1), d0", "disp", {"n": 1, "x": 0xFFFA}),
        ("move.w #0x2A, d0", "imm", {"v": 0x2A}),
    ],
)
def test_each_mode_is_read_in_the_manuals_syntax(isa, line, mode, fields):
    prog = assemble(isa, f".org 16\n{line}   # a comment after it\n")
    units = [v for _, v in sorted(prog.image)]
    window = units + [0] * (isa.insn_units - len(units))
    word = sum(u << (8 * (len(window) - 1 - k)) for k, u in enumerate(window))  # big-endian storage
    insn, ops = Decoder(isa).decode(word)
    vals = dict(zip((o.name for o in insn.operands), ops))
    src = insn.operand("src")
    assert src.modes.modes[vals["src"]].name == mode
    assert {k: vals[f"src_{k}"] for k in fields} == fields
    assert instance_units(isa, insn, ops) == len(units)
    assert disassemble(isa, insn, ops) == re.sub(r"\s+", " ", line).replace("#0x2A", "#42")


def test_an_immediate_mark_in_an_instruction_template(isa):
    # `trap #{v}`: with such templates a '#' before a non-blank is text, before a blank a comment
    prog = assemble(isa, ".org 16\ntrap #3 # the third vector\n")
    assert [v for _, v in sorted(prog.image)] == [0x4E, 0x43]


@pytest.mark.parametrize(
    "line,message",
    [
        ("move.w (d0)+, d1", "'d0' is not a register of 'a'"),
        ("move.w [a0], d1", "'[a0]' is in no addressing mode of 'src'"),
        ("move.w d0, #5", "'#5' is not a register of 'd'"),  # (hint: the modes of 'dst')
    ],
)
def test_the_assembler_says_what_is_wrong(isa, line, message):
    with pytest.raises(SpecError) as e:
        assemble(isa, f".org 16\n{line}\n")
    d = e.value.diagnostics[0]
    assert message in d.message and d.span.line == 2, d.message


@settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32))
def test_random_instances_encode_decode_and_reassemble(seed):
    isa = load_spec(M68)
    program = random_program(isa, random.Random(seed), 10)
    image = dict(image_of(isa, program, 16))
    addr, lines = 16, [".org 16"]
    for name, ops in program:
        insn = isa.instruction(name)
        n = instance_units(isa, insn, ops)
        units = [image.get(addr + k, 0) for k in range(isa.insn_units)]
        got = Decoder(isa).decode(sum(u << (8 * (len(units) - 1 - k)) for k, u in enumerate(units)))
        assert got is not None and got[0].name == name
        assert encode_units(isa, *got) == encode_units(isa, insn, ops)
        lines.append(disassemble(isa, insn, ops, addr))
        addr += n
    assert dict(assemble(isa, "\n".join(lines)).image) == image


# ---- the two readings ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["move", "movea", "add", "movefromsr", "movetosr", "setrl"])
def test_symbolic_equals_concrete(isa, name):
    insn = isa.instruction(name)
    sym = sym_isa(isa)
    reading = _Reading(isa, insn, sym, sym.execute(insn, ARRAYS))
    storage = _LoggingStorage(isa.storage, isa.insn_units)
    rnd = random.Random(5)
    for i in range(200):
        _check(reading, storage, _example(rnd, isa, insn), against_z3=i < 2)


# ---- both syntaxes --------------------------------------------------------------------------


def test_fmt_round_trips_both_ways(isa, tmp_path):
    isa_text = to_isa(read_yaml(M68.read_text(), str(M68)))
    assert 'mode postinc(n: reg(a)) encoding "011 0 n" syntax "({n})+" address { a[n] }' in isa_text
    assert "effect { a[n] = a[n] + 2 }" in isa_text
    p = tmp_path / "m68.isa"
    p.write_text(isa_text)
    assert load_spec(p) == isa
    q = tmp_path / "m68.yaml"
    q.write_text(to_yaml(read_isa(isa_text, str(p))))
    assert load_spec(q) == isa


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('encoding: "001 0 n"', 'encoding: "000 0 n"', "the encoding of mode 'an' overlaps that of mode 'dn'"),
        ('encoding: "111 100", extension: "v"', 'encoding: "111 100"', "field 'v' of mode 'imm' is in neither"),
        ('address: "a[n]", effect', 'value: "a[n]", address: "a[n]", effect', "gives either a value or an address"),
        ('value: "v"}', 'value: "v", effect: "a[0] = 0"}', "only a mode with an address has an effect"),
        ('syntax: "({n})+"', 'syntax: "({n}),+"', "a mode's syntax is not empty and has no ','"),
        ("operands: [src: ea, dst: dea]", "operands: [src: ea, dst: ea]", "'dst' is written, but its mode 'imm'"),
        ("  dea:\n", "  regs:\n", "operand kind 'regs' has a reserved name or starts like a built-in kind"),
        ('value: "d[n]"}', 'value: "d[n][7:0]"}', "the value of mode 'dn' is 8 bits, not 16"),
    ],
)
def test_bad_kinds_are_errors_at_their_place(tmp_path, old, new, message):
    errs = _errors(tmp_path, old, new)
    assert any(message in e for e in errs), errs


def test_an_extension_needs_a_variable_length_isa(tmp_path):
    errs = _errors(tmp_path, "insn_width: variable\n", "insn_width: 48\n")
    assert any("an extension needs insn_width: variable" in e for e in errs), errs


# ---- the engine, explain and the VMM ----------------------------------------------------------


def test_move_from_sr_is_the_violation_and_the_witness_names_its_mode(tmp_path):
    env = {"VMCHECK_CACHE_DIR": str(tmp_path / "cache")}
    r = invoke("check", M68, "--format", "json", env=env)
    assert r.exit_code == 1, r.output
    import json

    rep = json.loads(r.output)
    ctx = rep["specs"][0]["contexts"][0] if "specs" in rep else rep["contexts"][0]
    bad = sorted(i["name"] for i in ctx["instructions"] if i["violates"]["1"] == "yes")
    assert bad == ["movefromsr"]
    r = invoke("explain", M68, "movefromsr", env=env)
    assert r.exit_code == 0, r.output
    assert re.search(r"as written: move\.w sr, \S", r.output), r.output
    r = invoke("confirm", M68, PROGRAM, "--fuzz", "80", env=env)
    assert r.exit_code == 0, r.output
    assert "movefromsr" in r.output and "confirmed" in r.output


def test_paravirt_patches_the_site_with_a_hypercall_of_the_same_length(tmp_path):
    env = {"VMCHECK_CACHE_DIR": str(tmp_path / "cache")}
    r = invoke("paravirt", M68, PROGRAM, "--confirm", env=env)
    assert r.exit_code == 0, r.output
    assert "move.w sr, d0  ->  trap #8" in r.output and "equivalent" in r.output
    # vl8's svc (2 units) cannot replace getrl (3 units) without moving addresses
    r = invoke("paravirt", DATA / "vl8.yaml", DATA / "vl8.s", env=env)
    assert "not patched: svc is not as long as this instance" in r.output, r.output
