"""The spec-driven assembler: what it accepts, what it rejects and where it points."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmcheck.errors import SpecError
from vmcheck.machine import Decoder, assemble, disassemble, encode
from vmcheck.spec import ir
from vmcheck.spec.load import load_spec

PG = load_spec("pg-toy")

# What the 16-bit machines here share after their state, up to their
# instructions: storage, a memory trap and a guest context (the assembler reads
# none of it, but a spec must have it).
WORLD_16 = """\
storage: {size: 1024, unit: 16}
traps:
  causes: {MEM: {code: 1, memory: true}}
  deliver: "pc = 0"
contexts:
  host: m == s
  guest: {g: {modes: {s: u, u: u}}}
instructions:
"""

# Two instructions per keyword, register names, a constant, a narrow pcrel operand.
MULTI = (
    """\
isa: multi
word: 16
modes: [s, u]
constants: {CSR_X: 7}
state:
  pc: {width: 16, role: pc}
  m:  {width: 1, role: mode}
  x:  {count: 4, width: 16, zero: 0, names: [zero, ra, sp, t0]}
"""
    + WORLD_16
    + """  ld:   {operands: [rd: reg, off: simm4, rs: reg], syntax: "ld {rd}, {off}({rs})", semantics: "x[rd] = mem[x[rs] + sext(off, 16)]"}
  lda:  {operands: [rd: reg, addr: imm8], syntax: "ld {rd}, {addr}", semantics: "x[rd] = mem[zext(addr, 16)]"}
  add:  {operands: [rd: reg, rs: reg, rt: reg], semantics: "x[rd] = x[rs] + x[rt]"}
  addi: {operands: [rd: reg, rs: reg, imm: simm6], syntax: "add {rd}, {rs}, {imm}", semantics: "x[rd] = x[rs] + sext(imm, 16)"}
  br:   {operands: [off: simm8 pcrel], semantics: "pc = pc + sext(off, 16)"}
"""
)


def _load(tmp_path_factory, name: str, text: str) -> ir.Isa:
    """The spec `text`, written to a fresh folder as NAME.yaml and loaded."""
    p = tmp_path_factory.mktemp(name) / f"{name}.yaml"
    p.write_text(text)
    return load_spec(str(p))


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> ir.Isa:
    return _load(tmp_path_factory, "multi", MULTI)


def asm(isa, text):
    return assemble(isa, textwrap.dedent(text), "prog.s")


def words(isa, text):
    return asm(isa, text).words()


def insn_at(isa, prog, addr):
    found = Decoder(isa).decode(prog.words()[addr])
    assert found is not None
    return found[0].name, found[1]


# --------------------------------------------------------------------------
# What it accepts
# --------------------------------------------------------------------------


def test_numbers_labels_comments_and_directives():
    prog = asm(
        PG,
        """
        # a comment
        .org 0x10            ; another
    start:                   # a label on its own line
        li r1, 0x7fff
        li R2, -0b101        # registers and mnemonics ignore case
        LI r3, 0o17
        li r4, 1_000
    a: b: li r5, end - start
        .word start, end+1, -1, 0xFFFF_FFFF
    end:
    """,
    )
    assert prog.symbols == {"start": 16, "a": 20, "b": 20, "end": 25}
    assert [insn_at(PG, prog, a)[1] for a in range(16, 21)] == [
        (1, 0x7FFF),
        (2, 0x10000 - 5),
        (3, 15),
        (4, 1000),
        (5, 9),
    ]
    assert [prog.words()[a] for a in range(21, 25)] == [16, 26, 0xFFFFFFFF, 0xFFFFFFFF]
    assert prog.lines[16] == 5  # the text starts with an empty line


def test_pcrel_operands_store_target_minus_address():
    prog = asm(
        PG,
        """
        .org 100
    top: jmp down
        beq r1, r2, top
        jmp .
    down: jmp top
    """,
    )
    off = lambda a: insn_at(PG, prog, a)[1][-1]  # noqa: E731
    assert off(100) == 3
    assert off(101) == 0x10000 - 1
    assert off(102) == 0
    assert off(103) == 0x10000 - 3


def test_shared_keywords_are_tried_in_order(multi):
    prog = asm(
        multi,
        """
        ld  ra, -2(sp)
        ld  t0, 200
        add x1, x2, x3
        add sp, zero, -5
    """,
    )
    assert insn_at(multi, prog, 0) == ("ld", (1, 14, 2))
    assert insn_at(multi, prog, 1) == ("lda", (3, 200))
    assert insn_at(multi, prog, 2) == ("add", (1, 2, 3))
    assert insn_at(multi, prog, 3) == ("addi", (2, 0, 64 - 5))


def test_register_names_and_constants(multi):
    prog = asm(multi, "add zero, RA, x3\nld t0, CSR_X\n")
    assert insn_at(multi, prog, 0) == ("add", (0, 1, 3))
    assert insn_at(multi, prog, 1) == ("lda", (3, 7))
    name, ops = insn_at(multi, prog, 0)
    assert disassemble(multi, multi.instruction(name), ops) == "add zero, ra, t0"


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_disassembly_reassembles_to_the_same_word(data):
    insn = data.draw(st.sampled_from(PG.instructions))
    addr = data.draw(st.integers(0, PG.storage.size - 1))
    ops = []
    for o in insn.operands:
        if o.kind == "reg":
            ops.append(data.draw(st.integers(0, PG.element(o.file).count - 1)))
        elif o.pcrel:  # keep the target inside storage
            ops.append(data.draw(st.integers(-addr, PG.storage.size - 1 - addr)) & 0xFFFF)
        else:
            ops.append(data.draw(st.integers(0, (1 << o.width) - 1)))
    text = f".org {addr}\n{disassemble(PG, insn, ops, addr)}\n"
    assert asm(PG, text).words()[addr] == encode(insn, ops)


# --------------------------------------------------------------------------
# What it rejects, and where it points
# --------------------------------------------------------------------------


def error_of(isa, text):
    with pytest.raises(SpecError) as e:
        assemble(isa, textwrap.dedent(text).lstrip("\n"), "prog.s")
    return e.value.diagnostics


BAD = [
    ("unknown-mnemonic", "li r1, 1\n  lx r1, 5\n", (2, 3), "unknown instruction 'lx'"),
    ("bad-register", "li r8, 5\n", (1, 4), "'r8' is not a register of 'r' (expected r0..r7)"),
    ("immediate-too-big", "li r1,  40000\n", (1, 9), "40000 is out of range for 'imm' (simm16: -32768..32767)"),
    ("negative-unsigned", "svc -1\n", (1, 5), "-1 is out of range for 'code' (imm16: 0..65535)"),
    ("undefined-label", "x: jmp nowhere\n", (1, 8), "undefined label 'nowhere'"),
    ("duplicate-label", "a: li r1, 1\nb: li r1, 2\n  a: halt\n", (3, 3), "label 'a' is already defined at line 1"),
    ("bad-shape", "ld r1, 5, r2\n", (1, 4), "bad operands for 'ld': expected 'ld RD, OFF(RS)'"),
    ("missing-operands", "add r1, r2\n", (1, 5), "bad operands for 'add': expected 'add RD, RS, RT'"),
    ("operands-on-halt", "halt r1\n", (1, 6), "bad operands for 'halt': expected 'halt'"),
    ("not-a-number", "li r1, 5x\n", (1, 8), "operand 'imm': '5x' is neither a number nor a label"),
    ("unknown-directive", ".byte 1\n", (1, 1), "unknown directive '.byte'"),
    ("org-outside", ".org 5000\n", (1, 6), ".org 5000 is outside storage (addresses 0..4095)"),
    ("word-too-wide", ".word 1, 0x1_0000_0000\n", (1, 10), ".word value 4294967296 does not fit in a 32-bit unit"),
    ("overlap", ".org 16\nli r1, 1\n.org 16\n  halt\n", (4, 3), "address 16 is already filled by line 2"),
    ("past-the-end", ".org 4095\nhalt\nhalt\n", (3, 1), "address 4096 is outside storage (addresses 0..4095)"),
    ("garbage", "li r1, 1\n  = 5\n", (2, 3), "expected an instruction, a directive or a label, not '= 5'"),
]


@pytest.mark.parametrize("text,where,message", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_points_at_the_text(text, where, message):
    diags = error_of(PG, text)
    assert [(d.span.line, d.span.col) for d in diags] == [where]
    assert diags[0].message == message
    assert diags[0].span.file == "prog.s"


def test_pcrel_range_uses_the_offset(multi):
    diags = error_of(multi, "br far\n.org 200\nfar: .word 0\n")
    assert diags[0].message == "offset 200 to the target is out of range for 'off' (simm8: -128..127)"
    assert (diags[0].span.line, diags[0].span.col) == (1, 4)


def test_every_error_is_reported_with_a_caret(tmp_path: Path):
    diags = error_of(PG, "li r9, 1\nli r1, 2\njmp nowhere\nfoo\n")
    assert [(d.span.line, d.span.col) for d in diags] == [(1, 4), (4, 1)]  # pass 1 errors stop before labels
    rendered = SpecError(diags).render({"prog.s": "li r9, 1\nli r1, 2\njmp nowhere\nfoo\n"})
    assert "prog.s:1:4: error: 'r9' is not a register" in rendered
    assert "    li r9, 1\n       ^^" in rendered
    assert "prog.s:4:1: error: unknown instruction 'foo'" in rendered


def test_unknown_mnemonic_suggests_close_ones():
    (d,) = error_of(PG, "lsw r1\n")
    assert d.hint == "did you mean 'lpsw'?"


# --------------------------------------------------------------------------
# Hostile input (issue 15) and entries that share a mnemonic (issue 14.11)
# --------------------------------------------------------------------------

# Two entries share `move.w`: one names the status register in its template,
# one takes an immediate; and `jmp` takes a register or a target.
SHARED = (
    """\
isa: shared
word: 16
modes: [s, u]
state:
  pc: {width: 16, role: pc}
  m:  {width: 1, role: mode}
  sr: {width: 16, role: control}
  d:  {count: 4, width: 16}
"""
    + WORLD_16
    + """  movei: {operands: [imm: imm8, rd: reg], syntax: "move.w {imm}, {rd}", semantics: "d[rd] = zext(imm, 16)"}
  movesr: {operands: [rd: reg], syntax: "move.w sr, {rd}", semantics: "d[rd] = sr"}
  jmpa: {operands: [target: imm8], syntax: "jmp {target}", semantics: "pc = zext(target, 16)"}
  jmpr: {operands: [rs: reg], syntax: "jmp {rs}", semantics: "pc = d[rs]"}
"""
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> ir.Isa:
    return _load(tmp_path_factory, "shared", SHARED)


def test_shared_mnemonic_prefers_registers_over_symbols(shared):
    prog = asm(
        shared,
        """
        move.w sr, d1
        move.w 5, d2
        jmp d3
        jmp here
    here: move.w here, d0
    """,
    )
    names = [insn_at(shared, prog, a)[0] for a in range(5)]
    assert names == ["movesr", "movei", "jmpr", "jmpa", "movei"]


def test_a_label_named_like_a_template_word_is_still_a_symbol(shared):
    prog = asm(
        shared,
        """
        move.w sr, d1
    sr: jmp sr
    """,
    )
    assert [insn_at(shared, prog, a)[0] for a in range(2)] == ["movesr", "jmpa"]


# (`#{imm}`, an immediate's mark, is readable: tests/test_addressing.py; a `#` before a blank is a comment)
@pytest.mark.parametrize("template", ["li {rd}, # {imm}", "li {rd}; {imm}", "li {rd}, {imm} }"])
def test_lint_rejects_templates_the_assembler_cannot_read(tmp_path, template):
    text = (Path(__file__).resolve().parents[1] / "isa_specs/pg-toy/pg-toy.yaml").read_text()
    text = text.replace(
        "    operands: [rd: reg, imm: simm16]\n", f'    operands: [rd: reg, imm: simm16]\n    syntax: "{template}"\n', 1
    )
    p = tmp_path / "t.yaml"
    p.write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(str(p))
    msg = e.value.diagnostics[0].message
    assert "starts a comment" in msg or "not part of an operand" in msg


@pytest.mark.parametrize(
    "text,message",
    [
        ("li r1, 0x_", "operand 'imm': '0x_' is neither a number nor a label"),
        ("li r1, 0b", "operand 'imm': '0b' is neither a number nor a label"),
        ("li r1, " + "9" * 4301, "operand 'imm': a number of 4,301 digits: the limit is 4,300 digits"),
        ("li r1, 0x" + "f" * 2000, "operand 'imm': a number of 8,000 bits: the limit is 4,096 bits"),
        (".word 0x" + "f" * 1100, ".word: a number of 4,400 bits: the limit is 4,096 bits"),
        (".org " + "1" * 5000, ".org: a number of 5,000 digits: the limit is 4,300 digits"),
    ],
)
def test_bad_and_huge_numbers_are_clean_errors(text, message):
    (d,) = error_of(PG, text + "\n")
    assert d.message.startswith(message)
    assert d.span.line == 1


def test_huge_values_in_range_errors_print_without_crashing():
    (d,) = error_of(PG, "li r1, 0x" + "f" * 1000 + "\n")
    assert "out of range" in d.message and len(d.message) < 300


@pytest.mark.parametrize(
    "line",
    [
        "add r1," + " " * 1500 + "x",
        "ld r1, " + " " * 1500 + "(r2",
        "add " + " " * 1500 + "r1 r2",
        "add r1, r2, " + "r3 " * 2000,
        " " * 1500,
    ],
)
def test_long_blank_runs_do_not_backtrack(line, monkeypatch):
    """A line of 1,500 blanks took 24 s (a backtracking regex). The operand
    pattern now has no two blank runs side by side (checked below); this
    runs the lines that were slow under a generous hang guard."""
    import signal

    def fire(*_):
        raise TimeoutError("the assembler hung on a long line")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(20)  # a hang guard, not a timing test
    try:
        try:
            assemble(PG, line + "\n", "prog.s")
        except SpecError:
            pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_operand_patterns_have_no_adjacent_blank_runs():
    from vmcheck.machine.syntax import syntaxes

    for isa_name in ("pg-toy", "armv7-a", "x86-32", "riscv"):
        for syns in syntaxes(load_spec(isa_name)).values():
            for syn in syns:
                assert r"\s*\s*" not in syn.regex.pattern
                assert "+?" not in syn.regex.pattern  # no lazy operand that can grow over blanks
