"""What x86 needs of variable-length encodings: `pcrel next` (rel8/rel32
counted from the next instruction), addressing modes that overlap where one
is more specific (ModRM's rm = 100 is a SIB byte, mod = 00 rm = 101 a disp32
alone), and `addr(op)` (LEA, m16:32).

On tests/data/x86m.yaml (a few IA-32 instructions with their real bytes) and
on the bundled x86-32 spec, whose entries now carry the opcode bytes of the
Intel SDM vol. 2: real byte strings decode to the right instruction and
operands, programs assemble to the bytes an x86 assembler writes, both
readings agree, both syntaxes round-trip, and bad declarations are errors
at their place.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from test_symbolic import _check, _example, _LoggingStorage, _Reading

from vmcheck.errors import SpecError
from vmcheck.machine import Machine, assemble
from vmcheck.machine.decode import Decoder, encode_units, instance_units
from vmcheck.machine.syntax import disassemble
from vmcheck.semantics.symbolic import ARRAYS, sym_isa
from vmcheck.spec.isa_reader import read_isa
from vmcheck.spec.library import find_bundled
from vmcheck.spec.load import load_spec
from vmcheck.spec.printer import to_isa, to_yaml
from vmcheck.spec.yaml_reader import read_yaml

DATA = Path(__file__).parent / "data"
X86M = DATA / "x86m.yaml"
PROGRAM = DATA / "x86m.s"


@pytest.fixture(scope="module")
def isa():
    return load_spec(X86M)


@pytest.fixture(scope="module")
def x86():
    return load_spec(find_bundled("x86-32"))


def _decode(isa, units: list[int]):
    """(entry name, {operand: value}, length) of the instance at the start of `units`."""
    window = units + [0] * (isa.insn_units - len(units))
    got = Decoder(isa).decode(sum(u << (8 * k) for k, u in enumerate(window)))
    assert got is not None, units
    insn, ops = got
    return insn.name, dict(zip((o.name for o in insn.operands), ops)), instance_units(isa, insn, ops)


def _errors(tmp_path: Path, edit) -> list[str]:
    p = tmp_path / "x.yaml"
    p.write_text(edit(X86M.read_text()))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    return [d.message for d in e.value.diagnostics]


# ---- real byte strings from the SDM decode on the x86-32 spec ------------------------


@pytest.mark.parametrize(
    ("units", "name", "operands", "length"),
    [
        ([0x9C], "pushf", {}, 1),  # PUSHFD
        ([0x9D], "popf", {}, 1),
        ([0xCD, 0x80], "int", {"n": 0x80}, 2),  # INT imm8
        ([0xCC], "int3", {}, 1),
        ([0xCE], "into", {}, 1),
        ([0xCF], "iret", {}, 1),
        ([0xFA], "cli", {}, 1),
        # 0F 01 /0: SGDT m, ModRM 05 = mod 00 rm 101: a disp32 alone
        ([0x0F, 0x01, 0x05, 0x00, 0x20, 0x00, 0x00], "sgdt", {"m": 1, "m_d": 0x2000}, 7),
        ([0x0F, 0x01, 0x03], "sgdt", {"m": 0, "m_n": 3}, 3),  # SGDT [ebx]
        ([0x0F, 0x01, 0x0E], "sidt", {"m": 0, "m_n": 6}, 3),  # 0F 01 /1: SIDT [esi]
        ([0x0F, 0x01, 0x10], "lgdt", {"m": 0, "m_n": 0}, 3),  # 0F 01 /2
        ([0x0F, 0x01, 0xE0], "smsw", {"rd": 0}, 3),  # 0F 01 /4, mod 11: SMSW eax
        ([0x0F, 0x00, 0xC8], "str", {"rd": 0}, 3),  # 0F 00 /1: STR eax
        ([0x0F, 0x02, 0xC1], "lar", {"rd": 0, "rs": 1}, 3),  # LAR eax, ecx
        ([0x0F, 0x00, 0xE3], "verr", {"rs": 3}, 3),  # 0F 00 /4: VERR bx
        ([0xC5, 0x03], "lds", {"rd": 0, "m": 0, "m_n": 3}, 2),  # LDS eax, [ebx]
        ([0xC4, 0x4E, 0x08], "les", {"rd": 1, "m": 3, "m_n": 6, "m_e": 8}, 3),  # LES ecx, [esi+8]
        ([0x0F, 0xB2, 0x10], "lss", {"rd": 2, "m": 0, "m_n": 0}, 3),  # LSS edx, [eax]
        ([0x0F, 0xB4, 0x18], "lfs", {"rd": 3, "m": 0, "m_n": 0}, 3),
        ([0x0F, 0xB5, 0x18], "lgs", {"rd": 3, "m": 0, "m_n": 0}, 3),
        # 8B 44 24 08: MOV eax, [esp+8], a SIB byte (24: no index, base esp) then disp8
        ([0x8B, 0x44, 0x24, 0x08], "mov_load", {"rd": 0, "m": 4, "m_i": 4, "m_b": 4, "m_e": 8}, 4),
        ([0x8B, 0xC3], "mov_rr", {"rd": 0, "rs": 3}, 2),  # MOV eax, ebx (mod 11)
        ([0x8C, 0xC8], "mov_r_cs", {"rd": 0}, 2),  # 8C /r with sreg 001: MOV eax, cs
        ([0x8E, 0xD8], "mov_ds_r", {"rs": 0}, 2),  # MOV ds, eax
        ([0x0F, 0x20, 0xC0], "mov_r_cr", {"rd": 0, "crn": 0}, 3),  # MOV eax, cr0
        ([0xB8, 0x78, 0x56, 0x34, 0x12], "mov_ri", {"rd": 0, "imm": 0x12345678}, 5),
        ([0xE8, 0xFB, 0xFF, 0xFF, 0xFF], "call_rel", {"rel": 0xFFFFFFFB}, 5),  # CALL rel32 = -5
        ([0x0F, 0x84, 0x10, 0x00, 0x00, 0x00], "jz", {"rel": 0x10}, 6),
        ([0xFF, 0x1D, 0x00, 0x30, 0x00, 0x00], "call_far", {"m": 1, "m_d": 0x3000}, 6),  # FF /3 m16:32
        ([0xFF, 0xD0], "call_r", {"rs": 0, "rs_n": 0}, 2),  # FF /2: CALL eax (r/m32, mod 11)
        ([0xFF, 0x13], "call_r", {"rs": 1, "rs_n": 3}, 2),  # CALL [ebx]
        ([0xFF, 0x25, 0x00, 0x30, 0x00, 0x00], "jmp_r", {"rs": 2, "rs_d": 0x3000}, 6),  # FF /4: JMP [0x3000]
        ([0x90], "nop", {}, 1),
        ([0x0F, 0x31], "rdtsc", {}, 2),
    ],
)
def test_sdm_byte_strings_decode_on_x86_32(x86, units, name, operands, length):
    got, ops, n = _decode(x86, units)
    assert (got, n) == (name, length)
    assert {k: ops[k] for k in operands} == operands
    assert encode_units(x86, x86.instruction(got), list(ops.values())) == units


def test_x86_32_disassembles_as_it_assembles(x86):
    lines = [
        "call_far: call far [0x3000]",
        "lds eax, [ebx]",
        "mov eax, [byte esp+esp<<0+8]",
        "sgdt [0x2000]",
        "lea ecx, [ebx+esi<<2+0x100]",
        "jz 0x1000",
        "int 128",
    ]
    prog = assemble(x86, ".org 0x1000\n" + "\n".join(lines))
    w = prog.words()
    a, out = 0x1000, []
    while a in w:
        window = [w.get(a + k, 0) for k in range(x86.insn_units)]
        insn, ops = Decoder(x86).decode(sum(u << (8 * k) for k, u in enumerate(window)))
        out.append(disassemble(x86, insn, ops, a))
        a += instance_units(x86, insn, ops)
    assert out == [
        "call far [0x3000]",
        "lds eax, [ebx]",
        "mov eax, [byte esp+esp<<0+8]",
        "sgdt [0x2000]",
        "lea ecx, [ebx+esi<<2+256]",
        "jz 4096",
        "int 128",
    ]
    assert [w[0x1000 + k] for k in range(6)] == [0xFF, 0x1D, 0x00, 0x30, 0x00, 0x00]
    # 6 + 2 + 4 + 7 + 7 bytes before it: jz at 0x101a (6 bytes) back to 0x1000, rel32 = 0x1000 - 0x1020
    assert [w[0x101A + k] for k in range(6)] == [0x0F, 0x84, 0xE0, 0xFF, 0xFF, 0xFF]


def test_the_x86_32_kernel_runs(x86):
    prog = assemble(x86, (find_bundled("x86-32").parent / "programs" / "kernel_user.s").read_text())
    m = Machine(x86)
    m.load_image(prog.image)
    m.reset()
    m.run(1000)
    regs = m.registers()
    assert m.stopped == "halted"
    assert (regs["ebx"], regs["ecx"], regs["edx"], regs["cs"] & 3) == (42, 0x1B, 1, 0)
    assert regs["tsc"] == 49  # the same 49 steps as with the synthetic 8-byte encoding


# ---- pcrel next ------------------------------------------------------------------------


def test_the_program_assembles_to_real_bytes_and_runs(isa):
    prog = assemble(isa, PROGRAM.read_text())
    w = prog.words()
    code = [w[a] for a in range(0x100, 0x125)]
    assert code == [
        *(0x8B, 0x1D, 0x00, 0x20, 0x00, 0x00),  # mov ebx, [0x2000]
        *(0x8B, 0x25, 0x04, 0x20, 0x00, 0x00),  # mov esp, [0x2004]
        *(0x8D, 0x8B, 0x10, 0x00, 0x00, 0x00),  # lea ecx, [ebx+0x10]
        *(0x8B, 0x41, 0xF0),  # mov eax, [ecx-16]
        *(0x89, 0x04, 0xB3),  # mov [ebx+esi*4], eax
        *(0x8B, 0x14, 0xB3),  # mov edx, [ebx+esi*4]
        *(0xEB, 0x01),  # jmp short over: over the one-byte inc
        0x43,  # inc ebx
        *(0xE8, 0x00, 0x00, 0x00, 0x00),  # call sub: sub is the next instruction
        0x40,  # inc eax
        0xF4,  # hlt
    ]
    for blocks in (False, True):
        m = Machine(isa, blocks=blocks, hot=1)
        m.load_image(prog.image)
        m.reset()
        m.run(100)
        regs = m.registers()
        assert m.stopped == "halted"
        assert (regs["ebx"], regs["ecx"], regs["eax"], regs["edx"]) == (0x3000, 0x3010, 0x5679, 0x5678)
        assert (regs["esp"], m.storage.read(0x7FFC, 4), regs["eip"]) == (0x7FFC, 0x123, 0x125)


def test_pcrel_next_counts_from_the_end_of_the_instance(isa):
    # a backward rel8 to itself: EB FE (the classic `jmp $`)
    assert [v for _, v in assemble(isa, "here: jmp short here").image] == [0xEB, 0xFE]
    assert [v for _, v in assemble(isa, ".org 16\nx: jmp x").image] == [0xE9, 0xFB, 0xFF, 0xFF, 0xFF]
    with pytest.raises(SpecError) as e:
        assemble(isa, ".org 0\njmp short far\n.org 200\nfar: hlt")
    assert "offset 198 to the target is out of range for 'rel' (simm8: -128..127)" in str(e.value)
    jmp8 = isa.instruction("jmp8")
    assert jmp8.operand("rel").pcrel and jmp8.operand("rel").pcrel_next
    assert disassemble(isa, jmp8, (0xFE,), 0x40) == "jmp short 64"


def test_pcrel_next_in_a_fixed_width_isa(tmp_path):
    text = (DATA / "vl8.yaml").read_text()
    text = text.replace("insn_width: variable\n", "insn_width: 32\n")
    text = re.sub(r"prefixes:\n  rep:.*\n  seg:.*\n", "", text)
    text = re.sub(r"    prefixes: \[\w+\]\n", "", text)
    text = re.sub(r"    encoding: .*\n", "", text)
    text = text.replace("match seg { 1 => 0x200, 2 => 0x400, _ => 0 }", "0").replace("rep == 1 && ", "")
    text = text.replace("operands: [t: imm16]", "operands: [t: simm16 pcrel next]")
    text = text.replace("      pc = t\n", "      pc = pc + insn_len + t\n")
    p = tmp_path / "fixed.yaml"
    p.write_text(text)
    fixed = load_spec(p)
    prog = assemble(fixed, ".org 16\nldi sp, 512\ncall sub\nhlt\nsub: ret")
    call = fixed.instruction("call")
    insn, ops = Decoder(fixed).decode(
        int.from_bytes(bytes(prog.words()[20 + k] for k in range(4)), "little"),
    )
    assert insn is call and ops == (4,)  # sub at 28, the next instruction at 24
    m = Machine(fixed)
    m.load_image(prog.image)
    m.reset()
    m.run(20)
    assert m.stopped == "halted"


def test_a_register_cannot_be_pcrel_next(tmp_path):
    msgs = _errors(tmp_path, lambda t: t.replace("operands: [rd: reg]\n    encoding: \"0100_0 rd\"",
                                                 "operands: [rd: reg pcrel next]\n    encoding: \"0100_0 rd\""))  # fmt: skip
    assert any("cannot be pcrel" in m or "unknown operand kind" in m for m in msgs)
    msgs = _errors(tmp_path, lambda t: t.replace("simm8 pcrel next", "simm8 pcrel later"))
    assert any("unknown operand kind 'simm8 pcrel later'" in m for m in msgs)


# ---- modes chosen most specific first -----------------------------------------------------


def test_the_more_specific_mode_decodes(isa):
    assert _decode(isa, [0x8B, 0x04, 0x24]) [:2] == (
        "mov_rm", {"rd": 0, "src": 5, "src_n": 0, "src_d": 0, "src_e": 0, "src_s": 0, "src_i": 4, "src_b": 4},
    )  # fmt: skip
    assert _decode(isa, [0x8B, 0x05, 0x00, 0x20, 0x00, 0x00])[1]["src"] == 2  # abs, not [ebp]
    assert _decode(isa, [0x8B, 0x03])[1]["src"] == 1  # [ebx]
    assert _decode(isa, [0x8B, 0xC3])[1]["src"] == 0  # ebx


@pytest.mark.parametrize(
    ("line", "mode", "other"),
    [("mov eax, [esp]", "ind", "sib"), ("mov eax, [ebp]", "ind", "abs"), ("lea eax, [esp+8]", "d32", None)],
)
def test_the_assembler_refuses_a_shadowed_instance(isa, line, mode, other):
    if other is None:  # m32 has no SIB mode: [esp+8] is plain d32 there (10 100 would be SIB on a CPU)
        assemble(isa, line)
        return
    with pytest.raises(SpecError) as e:
        assemble(isa, line)
    (d,) = e.value.diagnostics
    assert d.message == f"this operand cannot be encoded in mode '{mode}' of 'src': its bits read as mode '{other}'"
    assert d.span.col == line.index("[") + 1


def test_modes_that_overlap_with_neither_more_specific_are_an_error(tmp_path):
    twin = '      ind: {fields: [n: reg], encoding: "00 n", syntax: "[{n}]", address: "r[n]"}\n'
    msgs = _errors(
        tmp_path, lambda t: t.replace(twin, twin + twin.replace("ind:", "ind2:").replace("[{n}]", "({n})"), 1)
    )
    assert "the encoding of mode 'ind2' overlaps that of mode 'ind' and neither is more specific" in msgs
    # 0kkk0 and 00nnn share 00xx0, and each fixes a bit the other leaves open
    part = '      odd: {fields: [k: uimm3], encoding: "0 k 0", syntax: "({k})", address: "zext(k, 32)"}\n'
    msgs = _errors(tmp_path, lambda t: t.replace(twin, twin + part, 1))
    assert any("mode 'odd' overlaps that of mode 'ind'" in m for m in msgs)


# ---- addr(op) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("x86m", ".org 0x100\nlea eax, [ebx+0x10]\nlea ecx, [eax+-1]\nhlt"),
        ("x86-32", ".org 0x1000\nlea eax, [ebx+esi<<3]\nlea ecx, [byte eax+-1]\nhlt"),
    ],
)
def test_addr_is_the_operands_address(isa, x86, spec, text):
    target = isa if spec == "x86m" else x86
    m = Machine(target)
    m.load_image(assemble(target, text).image)
    m.reset()
    m.state.v[m.layout.slots["r"] + 3] = 0x1000
    m.state.v[m.layout.slots["r"] + 6] = 2
    m.run(10)
    out = m.registers()
    assert m.stopped == "halted"
    assert (out["eax"], out["ecx"]) == (0x1010, 0x100F)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("r[rd] = addr(src)", "r[rd] = addr(rd)", "addr(OPERAND) takes one operand of this instruction that has addressing modes"),
        ("semantics: r[rd] = src\n", "semantics: r[rd] = addr(src)\n", "addr(src): mode 'reg' of 'src' gives a value, not an address"),
        ("r[rd] = addr(src)", "r[rd] = addr(src, 1)", "addr(OPERAND) takes one operand"),
    ],
)  # fmt: skip
def test_addr_errors(tmp_path, old, new, message):
    msgs = _errors(tmp_path, lambda t: t.replace(old, new, 1))
    assert any(message in m for m in msgs), msgs


def test_a_helper_named_addr_is_still_a_helper(tmp_path):
    text = X86M.read_text().replace("instructions:\n", "helpers: |\n  fn addr(x: 32) -> 32 = x + 1\ninstructions:\n", 1)
    text = text.replace("lim = mem32[addr(src) + 2]", "lim = addr(lim)")
    text = text.replace("r[rd] = addr(src)", "r[rd] = addr(r[rd])")
    p = tmp_path / "h.yaml"
    p.write_text(text)
    load_spec(p)


# ---- two readings, both syntaxes -----------------------------------------------------------


@pytest.mark.parametrize("name", ["mov_rm", "mov_mr", "lea", "lgdt", "jmp8", "jmp32", "call"])
def test_symbolic_equals_concrete(isa, name):
    """Each mode's address, the SIB index, and the pcrel next branch mean
    the same in both readings."""
    insn = isa.instruction(name)
    sym = sym_isa(isa)
    reading = _Reading(isa, insn, sym, sym.execute(insn, ARRAYS))
    storage = _LoggingStorage(isa.storage, isa.insn_units)
    rnd = random.Random(23)
    for i in range(150):
        _check(reading, storage, _example(rnd, isa, insn), against_z3=i < 2)


@pytest.mark.parametrize("name", ["lea", "lds", "lss", "mov_store8", "movzx_load8", "jz", "call_rel", "sgdt"])
def test_symbolic_equals_concrete_on_x86_32(x86, name):
    insn = x86.instruction(name)
    sym = sym_isa(x86)
    reading = _Reading(x86, insn, sym, sym.execute(insn, ARRAYS))
    storage = _LoggingStorage(x86.storage, x86.insn_units)
    rnd = random.Random(29)
    for i in range(60):
        _check(reading, storage, _example(rnd, x86, insn), against_z3=i < 2)


def test_fmt_round_trips_both_ways(isa, tmp_path):
    isa_text = to_isa(read_yaml(X86M.read_text(), str(X86M)))
    assert "instruction jmp8(rel: simm8 pcrel next)" in isa_text
    p = tmp_path / "x86m.isa"
    p.write_text(isa_text)
    assert load_spec(p) == isa
    yaml_text = to_yaml(read_isa(isa_text, str(p)))
    assert "operands: [rel: simm8 pcrel next]" in yaml_text
    q = tmp_path / "x86m.yaml"
    q.write_text(yaml_text)
    assert load_spec(q) == isa
    assert to_isa(read_yaml(yaml_text, str(q))) == isa_text


def test_x86_32_round_trips(x86, tmp_path):
    path = find_bundled("x86-32")
    isa_text = to_isa(read_yaml(path.read_text(), str(path)))
    p = tmp_path / "x86-32.isa"
    p.write_text(isa_text)
    assert load_spec(p) == x86


def test_the_engine_quantifies_over_encodable_instances_only(isa):
    """[esp] and [ebp] as the [reg] mode are no instance: their bits are the
    SIB and disp32 forms. The operand domain leaves them out."""
    import z3

    sym = sym_isa(isa)
    insn = isa.instruction("mov_rm")
    ops = sym.operand_vars(insn)
    dom = sym.operand_domain(insn, ops)

    def possible(n: int) -> bool:
        s = z3.Solver()
        s.add(*dom, ops["src"] == 1, ops["src_n"] == n)
        return s.check() == z3.sat

    assert [n for n in range(8) if not possible(n)] == [4, 5]


def test_random_programs_have_only_encodable_instances(x86):
    from vmcheck.hypervisor.fuzz import random_program
    from vmcheck.machine.decode import shadowed_mode

    program = random_program(x86, random.Random(5), 400)
    seen = 0
    for name, ops in program:
        insn = x86.instruction(name)
        vals = dict(zip((o.name for o in insn.operands), ops))
        for o in insn.operands:
            if o.modes is not None:
                seen += 1
                assert shadowed_mode(o, vals) is None
    assert seen > 20


def test_check_and_confirm(tmp_path):
    from helpers import invoke

    env = {"VMCHECK_CACHE_DIR": str(tmp_path / "cache")}
    r = invoke("check", X86M, "--format", "json", env=env)
    assert r.exit_code == 0, r.output  # lgdt is privileged, the rest innocuous
    r = invoke("confirm", X86M, PROGRAM, "--fuzz", "60", env=env)
    assert r.exit_code == 0, r.output
    assert "observation agrees with the engine: confirmed" in r.output
    assert re.search(r"x86m\.s\s+10\s.*\bsame\b", r.output)  # the sample program: 10 steps, as native
