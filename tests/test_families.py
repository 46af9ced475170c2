"""Instruction families, shared formats and width-generic helpers (families.py).

A spec written with them must mean exactly the spec written out by hand
(the IR compares equal; the `family` field is provenance, like a span), in
both syntaxes, through `fmt` both ways; every misuse is an error at its
place, exit 2.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.errors import SpecError
from vmcheck.spec import ir
from vmcheck.spec.build import build_isa
from vmcheck.spec.isa_reader import read_isa
from vmcheck.spec.load import load_spec
from vmcheck.spec.printer import to_isa, to_yaml
from vmcheck.spec.yaml_reader import read_yaml

# A byte-addressed machine with two privilege levels; `ldx` and `stx` reach
# storage untranslated in S mode, like RISC-V's M mode.
HEAD = """\
isa: fam
word: 32
insn_width: 32
modes: [S, U]
state:
  pc: {width: 32, role: pc}
  m: {width: 1, role: mode}
  r: {count: 16, width: 32}
storage: {size: 256, unit: 8}
traps:
  causes: {ILL: 1, MEM: {code: 2, memory: true}}
  deliver: "pc = 0"
contexts:
  host: m == S
  guest:
    g: {modes: {S: U, U: U}}
"""

FAMILY = (
    HEAD
    + """\
helpers: |
  fn ldx(a: 32, W: width) -> W = mode == S ? phys{W}[a] : mem{W}[a]
  proc stx(a: 32, v: W, W: width) {
    if mode == S { phys{W}[a] = v } else { mem{W}[a] = v }
  }
formats:
  R:
    params: {op: bits8}
    operands: [rd: reg, rs: reg, rt: reg]
    encoding: "op 0000 rd rs rt 00000000"
  M:
    params: {op: bits4, sz: bits4}
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "{rd}, {off}({rs})"
    encoding: "op sz rd rs off 0000"
instructions:
  add: {format: R, with: {op: 1}, semantics: "r[rd] = r[rs] + r[rt]", labels: [innocuous]}
  load:
    params: {W: width, Z: bits1}
    format: M
    with: {op: 1}
    ref: "Fam manual, Loads"
    semantics: |
      let a = r[rs] + sext(off, 32)
      if Z == 1 { r[rd] = zext(ldx(a, W), 32) } else { r[rd] = sext(ldx(a, W), 32) }
    members:
      lb: {with: {W: 8, Z: 0, sz: 0}}
      lh: {with: {W: 16, Z: 0, sz: 1}}
      lw: {with: {W: 32, Z: 0, sz: 2}, ref: "Fam manual, LW"}
      lbu: {with: {W: 8, Z: 1, sz: 4}, description: zero-extending}
  store:
    params: {W: width}
    format: M
    with: {op: 2}
    syntax: "{rd}, [{rs}{off}]"
    semantics: "stx(r[rs] + sext(off, 32), W == 32 ? r[rd] : r[rd][W - 1:0], W)"
    members:
      sb: {with: {W: 8, sz: 0}}
      sw: {with: {W: 32, sz: 2}, mnemonic: STORE.W, syntax: "sw.long {rd}, {off}({rs})"}
"""
)

# The same machine written out, one entry per instruction, one helper per width.
FLAT = (
    HEAD
    + """\
helpers: |
  fn ldx8(a: 32) -> 8 = mode == S ? phys8[a] : mem8[a]
  fn ldx16(a: 32) -> 16 = mode == S ? phys16[a] : mem16[a]
  fn ldx32(a: 32) -> 32 = mode == S ? phys32[a] : mem32[a]
  proc stx8(a: 32, v: 8) {
    if mode == S { phys8[a] = v } else { mem8[a] = v }
  }
  proc stx32(a: 32, v: 32) {
    if mode == S { phys32[a] = v } else { mem32[a] = v }
  }
instructions:
  add:
    operands: [rd: reg, rs: reg, rt: reg]
    encoding: "00000001 0000 rd rs rt 00000000"
    semantics: "r[rd] = r[rs] + r[rt]"
    labels: [innocuous]
  lb:
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "lb {rd}, {off}({rs})"
    encoding: "0001 0000 rd rs off 0000"
    ref: "Fam manual, Loads"
    semantics: |
      let a = r[rs] + sext(off, 32)
      r[rd] = sext(ldx8(a), 32)
  lh:
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "lh {rd}, {off}({rs})"
    encoding: "0001 0001 rd rs off 0000"
    ref: "Fam manual, Loads"
    semantics: |
      let a = r[rs] + sext(off, 32)
      r[rd] = sext(ldx16(a), 32)
  lw:
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "lw {rd}, {off}({rs})"
    encoding: "0001 0010 rd rs off 0000"
    ref: "Fam manual, LW"
    semantics: |
      let a = r[rs] + sext(off, 32)
      r[rd] = sext(ldx32(a), 32)
  lbu:
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "lbu {rd}, {off}({rs})"
    encoding: "0001 0100 rd rs off 0000"
    ref: "Fam manual, Loads"
    description: zero-extending
    semantics: |
      let a = r[rs] + sext(off, 32)
      r[rd] = zext(ldx8(a), 32)
  sb:
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "sb {rd}, [{rs}{off}]"
    encoding: "0010 0000 rd rs off 0000"
    semantics: "stx8(r[rs] + sext(off, 32), r[rd][7:0])"
  sw:
    mnemonic: STORE.W
    operands: [rd: reg, "off": simm12, rs: reg]
    syntax: "sw.long {rd}, {off}({rs})"
    encoding: "0010 0010 rd rs off 0000"
    semantics: "stx32(r[rs] + sext(off, 32), r[rd])"
"""
)


def _yaml(text: str, name: str = "fam.yaml"):
    return build_isa(read_yaml(text, name), name)


def _errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as e:
        _yaml(text)
    return [f"{d.span.line}:{d.span.col}: {d.message}" if d.span else d.message for d in e.value.diagnostics]


def test_a_family_spec_means_the_spec_written_out():
    fam, flat = _yaml(FAMILY), _yaml(FLAT)
    assert [i.name for i in fam.instructions] == ["add", "lb", "lh", "lw", "lbu", "sb", "sw"]
    assert fam == flat


def test_members_remember_their_family():
    isa = _yaml(FAMILY)
    lbu = isa.instruction("lbu")
    assert lbu.family is not None and lbu.family.family == "load"
    assert lbu.family.describe() == "member of load (W = 8, Z = 1, op = 1, sz = 4)"
    assert isa.instruction("sw").family.describe() == "member of store (W = 32, op = 2, sz = 2)"
    assert isa.instruction("add").family is None  # a format use is not a family


def test_member_overrides_and_family_keys():
    isa = _yaml(FAMILY)
    assert isa.instruction("lw").ref == "Fam manual, LW"
    assert isa.instruction("lh").ref == "Fam manual, Loads"
    assert isa.instruction("lbu").description == "zero-extending"
    assert isa.instruction("sw").mnemonic == "STORE.W"
    assert isa.instruction("sw").syntax == "sw.long {rd}, {off}({rs})"
    assert isa.instruction("sb").syntax == "sb {rd}, [{rs}{off}]"  # the family's over the format's
    assert isa.instruction("add").labels == frozenset({"innocuous"})


def test_both_syntaxes_and_fmt_round_trip():
    node = read_yaml(FAMILY, "fam.yaml")
    ir = build_isa(node, "fam.yaml")
    isa_text = to_isa(node)
    assert "family load params(W: width, Z: bits1) format M" in isa_text
    assert re.search(r"^format R\(rd: reg, rs: reg, rt: reg\) params\(op: bits8\)", isa_text, re.M)
    assert "  lb with(W = 8, Z = 0, sz = 0)" in isa_text
    isa_node = read_isa(isa_text, "fam.isa")
    assert build_isa(isa_node, "fam.isa") == ir
    yaml_text = to_yaml(isa_node)
    assert build_isa(read_yaml(yaml_text, "fam2.yaml"), "fam2.yaml") == ir
    # families and formats stay as written: nothing is expanded by printing
    assert "members:" in yaml_text and "formats:" in yaml_text and "lb: {with: {W: 8, Z: 0, sz: 0}}" in yaml_text
    # fixpoints
    assert to_isa(isa_node) == isa_text
    assert to_yaml(read_yaml(yaml_text, "again.yaml")) == yaml_text
    assert to_yaml(node) == yaml_text


def test_fmt_cli_both_ways_is_byte_stable(tmp_path):
    src = tmp_path / "fam.yaml"
    src.write_text(FAMILY)
    r = CliRunner()
    a, b, c = tmp_path / "a.isa", tmp_path / "b.yaml", tmp_path / "c.isa"
    for args in (
        ["fmt", str(src), "--to", "isa", "-o", str(a)],
        ["fmt", str(a), "--to", "yaml", "-o", str(b)],
        ["fmt", str(b), "--to", "isa", "-o", str(c)],
    ):
        res = r.invoke(main, args)
        assert res.exit_code == 0, res.output
    assert a.read_text() == c.read_text()
    assert load_spec(str(a)) == load_spec(str(src)) == load_spec(str(b))


def test_compile_time_conditions_keep_only_the_branch_taken():
    isa = _yaml(FAMILY)
    for name in ("lb", "lbu"):  # `if Z == 1 {...} else {...}` is decided at expansion
        assert not any(isinstance(st, ir.If) for st in isa.instruction(name).semantics)
    # a condition that reads state stays, even where the parameter part decides it
    # (an access in it could fault: only conditions of numbers alone are decided)
    text = FAMILY.replace("if Z == 1 {", "if Z == 1 && r[rs] == 0 {")
    assert any(isinstance(st, ir.If) for st in _yaml(text).instruction("lbu").semantics)
    assert any(isinstance(st, ir.If) for st in _yaml(text).instruction("lb").semantics)


def test_riscv_is_written_with_families_and_formats():
    isa = load_spec("riscv")
    members = {i.name: i.family for i in isa.instructions if i.family is not None}
    assert {m.family for m in members.values()} == {"load", "store", "csr", "csri"}
    assert sorted(members) == sorted(
        "lb lh lw ld lbu lhu lwu sb sh sw sd csrrw csrrs csrrc csrrwi csrrsi csrrci".split()
    )
    # the manual's encodings: LW is funct3 010, opcode 0000011; SD funct3 011, opcode 0100011
    lw, sd = isa.instruction("lw").encoding, isa.instruction("sd").encoding
    assert (lw.fixed, lw.fixed_mask) == (0b010_00000_0000011, 0b111_00000_1111111)
    assert (sd.fixed, sd.fixed_mask) == (0b011_00000_0100011, 0b111_00000_1111111)
    assert isa.instruction("lbu").syntax == "lbu {rd}, {offset}({rs1})"
    assert members["csrrs"].describe() == "member of csr (OP = 1, funct3 = 2)"


def test_a_decided_branch_keeps_its_lets_local():
    text = FAMILY.replace(
        "      let a = r[rs] + sext(off, 32)\n      if Z == 1 {",
        "      let a = r[rs] + sext(off, 32)\n      if Z == 1 { let a = 0 }\n      if Z == 1 {",
    )
    isa = _yaml(text)
    # lbu: the branch `let a = 0` is kept as a block of its own; the load still uses the outer a
    lbu_flat = _yaml(FAMILY).instruction("lbu").semantics
    got = isa.instruction("lbu").semantics
    assert len(got) == len(lbu_flat) + 1 and isinstance(got[1], ir.If)
    assert got[0] == lbu_flat[0] and got[-1] == lbu_flat[-1]  # same let a, same load through the outer a
    assert isa.instruction("lb") == _yaml(FAMILY).instruction("lb")  # Z = 0: the branch is gone


# ---- errors at their place ----------------------------------------------------------


def _member(values: str) -> str:
    return FAMILY.replace("lh: {with: {W: 16, Z: 0, sz: 1}}", "lh: {with: " + values + "}")


def test_member_missing_a_parameter():
    (msg,) = _errors(_member("{W: 16, sz: 1}"))
    assert msg.startswith("44:7: member 'lh' of family 'load' does not give parameter 'Z' (bits1)")


def test_member_adding_a_parameter():
    (msg,) = _errors(_member("{W: 16, Z: 0, sz: 1, X: 1}"))
    assert msg.startswith("44:39: member 'lh' of family 'load' has no parameter 'X' to give")


@pytest.mark.parametrize(
    "values,want",
    [
        ("{W: 16, Z: 2, sz: 1}", "44:29: Z = 2 does not fit parameter 'Z' (bits1): a bits1 value is 0 to 1"),
        ("{W: 0, Z: 0, sz: 1}", "44:22: W = 0 does not fit parameter 'W' (width): a width is 1 to 4096"),
        ("{W: 16, Z: 0, sz: 16}", "44:36: sz = 16 does not fit parameter 'sz' (bits4)"),
        ("{W: 16, Z: 0, sz: 1, op: 3}", "44:39: member 'lh' of family 'load' has no parameter 'op' to give"),
    ],
)
def test_a_value_that_does_not_fit(values, want):
    (msg,) = _errors(_member(values))
    assert msg.startswith(want)


def test_an_error_in_the_shared_text_names_the_member():
    # W = 64 is wider than the 32-bit register: sext would shrink it
    msgs = _errors(FAMILY.replace("lw: {with: {W: 32,", "lw: {with: {W: 64,"))
    assert any("(in 'lw', member of load (W = 64, Z = 0, op = 1, sz = 2))" in m for m in msgs), msgs


def test_a_width_parameter_in_an_encoding():
    text = FAMILY.replace('encoding: "op sz rd rs off 0000"', 'encoding: "op sz rd rs off W"')
    msgs = _errors(text)
    assert any("encoding: parameter 'W' is a width; an encoding takes bitsN parameters" in m for m in msgs), msgs


def test_unknown_format_and_format_keys():
    msgs = _errors(FAMILY.replace("add: {format: R,", "add: {format: Q,"))
    assert any(m.startswith("33:17: instruction 'add' names format 'Q', which is not declared") for m in msgs), msgs
    msgs = _errors(FAMILY.replace("add: {format: R,", "add: {format: R, operands: [rd: reg],"))
    assert any("uses format 'R', which gives its operands" in m for m in msgs), msgs
    msgs = _errors(FAMILY.replace("add: {format: R, with: {op: 1},", "add: {with: {op: 1},"))
    assert any("gives parameter values but uses no format" in m for m in msgs), msgs


def test_parameter_kind_and_clash():
    msgs = _errors(FAMILY.replace("params: {W: width, Z: bits1}", "params: {W: width, Z: bool}"))
    assert any(m.startswith("35:27: unknown parameter kind 'bool'") for m in msgs), msgs
    msgs = _errors(FAMILY.replace("params: {W: width, Z: bits1}", "params: {W: width, Z: bits1, rd: bits1}"))
    assert any("parameter 'rd' of family 'load' is also an operand" in m for m in msgs), msgs
    msgs = _errors(FAMILY.replace("params: {W: width, Z: bits1}", "params: {W: width, Z: bits1, pc: bits1}"))
    assert any("parameter 'pc' of family 'load' would hide the spec's 'pc' in semantics" in m for m in msgs), msgs


def test_unknown_keys_in_family_member_and_format():
    msgs = _errors(FAMILY.replace("lb: {with:", "lb: {encoding: '0', with:"))
    assert any("unknown key 'encoding' in member 'lb' of family 'load'" in m for m in msgs), msgs
    msgs = _errors(
        FAMILY.replace(
            "    params: {op: bits8}\n    operands: [rd: reg, rs: reg, rt: reg]",
            "    params: {op: bits8}\n    semantics: x\n    operands: [rd: reg, rs: reg, rt: reg]",
        )
    )
    assert any("unknown key 'semantics' in format 'R'" in m for m in msgs), msgs


def test_a_member_named_like_an_instruction():
    msgs = _errors(FAMILY.replace("sb: {with: {W: 8, sz: 0}}", "add: {with: {W: 8, sz: 0}}"))
    assert any(m.startswith("54:7: instruction 'add' is declared twice (first at line 33)") for m in msgs), msgs


def test_member_overlap_is_reported():
    # the overlap check sees members like any instruction
    msgs = _errors(FAMILY.replace("sw: {with: {W: 32, sz: 2}", "sw: {with: {W: 32, sz: 0}"))
    assert any("the encoding of 'sw' overlaps that of 'sb'" in m for m in msgs), msgs


def test_two_members_with_the_same_values():
    msgs = _errors(FAMILY.replace("lh: {with: {W: 16, Z: 0, sz: 1}}", "lh: {with: {W: 8, Z: 0, sz: 0}}"))
    assert any(m.startswith("44:7: member 'lh' of family 'load' gives the same values as member 'lb'") for m in msgs)


def test_a_remedy_guard_on_a_member_guards_that_member_only(tmp_path):
    from vmcheck.remedy.specedit import guard_semantics, write_spec

    node = read_yaml(FAMILY, "fam.yaml")
    line = "require m == S else ILL"
    out = write_spec(guard_semantics(node, {"lbu": line, "add": line}), tmp_path / "g.yaml", tmp_path / "x.yaml")
    before = _yaml(FAMILY)
    for i in before.instructions:
        after = out.instruction(i.name)
        if i.name in ("lbu", "add"):
            assert len(after.semantics) == len(i.semantics) + 1 and after.semantics[1:] == i.semantics
        else:
            assert after == i, i.name


# ---- width-generic helpers -------------------------------------------------------------


def test_generic_helper_errors():
    msgs = _errors(FAMILY.replace("fn ldx(a: 32, W: width) -> W =", "fn ldx(a: 32, W: width) -> V ="))
    assert any("the result of 'ldx' is 'V' bits, which is not a width parameter of 'ldx'" in m for m in msgs), msgs
    msgs = _errors(FAMILY.replace("mode == S ? phys{W}[a] : mem{W}[a]", "mode == S ? phys{W}[a] : mem{V}[a]"))
    assert any("mem{V}: 'V' is not a width parameter of 'ldx'" in m for m in msgs), msgs
    msgs = _errors(FAMILY.replace("r[rd] = zext(ldx(a, W), 32)", "r[rd] = zext(ldx(a, r[rs]), 32)"))
    assert any("a constant number is needed here" in m for m in msgs), msgs
    msgs = _errors(FAMILY.replace("mode == S ? phys{W}[a]", "mode == S ? phys8{W}[a]"))
    assert any("'phys8{W}' gives the width twice" in m for m in msgs), msgs


def test_a_width_name_outside_a_generic_helper_or_family():
    msgs = _errors(FAMILY.replace('semantics: "r[rd] = r[rs] + r[rt]"', 'semantics: "r[rd] = mem{W}[r[rs]]"'))
    assert any(m.startswith("33:") and "mem{W}: 'W' is not a width parameter here" in m for m in msgs), msgs


def test_mem_width_in_a_family():
    text = FAMILY.replace("zext(ldx(a, W), 32)", "zext(mem{W}[a], 32)")
    assert _yaml(text).instruction("lbu").semantics != _yaml(FAMILY).instruction("lbu").semantics
    flat = FLAT.replace("r[rd] = zext(ldx8(a), 32)", "r[rd] = zext(mem8[a], 32)")
    assert _yaml(text) == _yaml(flat)


def test_the_schema_accepts_families_and_flags_a_bad_member_key():
    import jsonschema
    import yaml

    from vmcheck import schemas
    from vmcheck.spec.yaml_reader import SpecYamlLoader

    v = jsonschema.Draft202012Validator(schemas.load("spec"))
    doc = yaml.load(FAMILY, Loader=SpecYamlLoader)
    assert not list(v.iter_errors(doc))
    doc["instructions"]["load"]["members"]["lb"]["encoding"] = "0"
    paths = [list(e.absolute_path) for e in v.iter_errors(doc)]
    assert ["instructions", "load", "members", "lb"] in paths, paths


def test_generic_helper_call_with_a_constant_width():
    text = FAMILY.replace("r[rd] = zext(ldx(a, W), 32)", "r[rd] = zext(ldx(a, 8), 32)")
    assert _yaml(text) == _yaml(FAMILY)  # lbu: W is 8 there anyway


# ---- the CLI -------------------------------------------------------------------------------


def test_lint_error_is_file_line_col_exit_2(tmp_path):
    p = tmp_path / "fam.yaml"
    p.write_text(_member("{W: 16, sz: 1}"))
    res = CliRunner().invoke(main, ["lint", str(p)])
    assert res.exit_code == 2
    assert f"{p}:44:7: error: member 'lh' of family 'load' does not give parameter 'Z' (bits1)" in res.output
    assert "Traceback" not in res.output


def test_explain_names_the_family(tmp_path):
    p = tmp_path / "fam.yaml"
    p.write_text(FAMILY)
    res = CliRunner().invoke(main, ["explain", str(p), "lbu", "--no-cache"])
    assert res.exit_code in (0, 1), res.output
    assert "member of load (W = 8, Z = 1, op = 1, sz = 4)" in res.output
    assert "zext(ldx(a, W), 32)" in res.output and "members:" in res.output  # the family's text
    res = CliRunner().invoke(main, ["explain", str(p), "add", "--no-cache"])
    assert "member of" not in res.output


def test_report_names_the_family(tmp_path):
    p = tmp_path / "fam.yaml"
    p.write_text(FAMILY)
    out = tmp_path / "r.md"
    res = CliRunner().invoke(main, ["report", str(p), "-o", str(out), "--no-cache"])
    assert res.exit_code in (0, 1), res.output
    text = out.read_text()
    assert "Member of load (W = 8, Z = 1, op = 1, sz = 4)." in text
    assert "Member of store (W = 32, op = 2, sz = 2)." in text
    assert "stx(r[rs] + sext(off, 32), W == 32 ? r[rd] : r[rd][W - 1:0], W)" in text  # a member's semantics


def test_the_report_source_gives_a_member_its_familys_semantics():
    from vmcheck.report.source import SpecSource

    src = SpecSource(read_yaml(FAMILY, "fam.yaml"))
    assert (
        src.semantics("sw")
        == src.semantics("store")
        == "stx(r[rs] + sext(off, 32), W == 32 ? r[rd] : r[rd][W - 1:0], W)"
    )
    assert src.semantics("add") == "r[rd] = r[rs] + r[rt]"
    assert src.semantics("nothing") is None
