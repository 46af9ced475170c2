"""The dependency pre-pass (analysis/prepass.py, issue 13.2): small machines built
to break it (docs/model.md §2.4–§2.5), each of which it must decline, and the
proof that it never changes an answer: every instruction of every machine
here and of the corner-case machines gets the same classes with it and
without it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from test_analysis import ARM, MIPS, PG_EXTRA, PG_TOY, RISCV, X86

from vmcheck.analysis import NO, YES, InstructionQueries, classify, prepass
from vmcheck.cli import main
from vmcheck.semantics.symbolic import fresh_context
from vmcheck.spec.load import load_spec

# The add, load and store entries both machines here start with (YAML under `instructions:`).
ADD_LD_ST = """\
  add:
    operands: [rd: reg, rs: reg]
    semantics: r[rd] = r[rd] + r[rs]
  ld:
    operands: [rd: reg, rs: reg]
    semantics: r[rd] = mem[r[rs]]
  st:
    operands: [rd: reg, rs: reg]
    semantics: mem[r[rs]] = r[rd]
"""

# Two modes, a control bit, a timer, relocation through control registers, and
# a trap delivery that differs by mode (it saves the pc in a user-only cell).
BREAKER = (
    """
isa: breaker
word: 16
modes: [S, U]
state:
  pc: {width: 16, role: pc}
  m:  {width: 1, role: mode}
  psw: {width: 16, fields: {C: {bit: 0}, IE: {bit: 8, role: control}}}
  ctl: {width: 1, role: control}
  rl: {width: 16, role: control}
  rb: {width: 16, role: control}
  tm: {width: 16, role: timer}
  r:  {count: 4, width: 16}
storage:
  size: 256
  unit: 16
  translation: {relocation: rl, bound: rb}
traps:
  causes: {PRIV: 1, DIVZ: 2, MEM: {code: 3, memory: true}}
  memory_cause: MEM
  deliver: |
    if m == U { phys[1] = pc } else { phys[2] = pc }
    m = S
    pc = phys[0]
contexts:
  host: m == S
  guest:
    classic: {where: "ctl == 0", modes: {S: U, U: U}}
instructions:
"""
    + ADD_LD_ST
    + """  div:
    description: traps on a data condition; the delivery differs by mode, the result does not
    operands: [rd: reg, rs: reg]
    semantics: |
      require r[rs] != 0 else DIVZ
      r[rd] = r[rd] / r[rs]
  setc:
    description: writes a non-control bit of an element with a control field
    semantics: psw.C = 1
  getc:
    operands: [rd: reg]
    semantics: r[rd] = zext(psw.C, 16)
  pld:
    operands: [rd: reg, rs: reg]
    semantics: r[rd] = phys[r[rs]]
  pst:
    operands: [rd: reg, rs: reg]
    semantics: phys[r[rs]] = r[rd]
  ldu:
    operands: [rd: reg, rs: reg]
    semantics: r[rd] = mem[r[rs]] as U
  rdrl:
    operands: [rd: reg]
    semantics: r[rd] = rl
  rdpsw:
    operands: [rd: reg]
    semantics: r[rd] = psw
  stop:
    semantics: halt
  chk:
    description: traps on a control-dependent condition
    semantics: require ctl == 0 else PRIV
  rdt:
    operands: [rd: reg]
    semantics: r[rd] = tm
  clrt:
    semantics: tm = 0
  rdm:
    operands: [rd: reg]
    semantics: r[rd] = zext(m, 16)
  sie:
    semantics: psw.IE = 1
"""
)

# No memory cause and no translation: no memory protection, the view is physical storage.
UNPROTECTED = (
    """
isa: unprotected
word: 8
modes: [S, U]
state:
  pc: {width: 8, role: pc}
  m:  {width: 1, role: mode}
  r:  {count: 4, width: 8}
storage: {size: 256, unit: 8}
traps:
  causes: {PRIV: 1}
  deliver: |
    m = S
contexts:
  host: m == S
  guest:
    classic: {modes: {S: U, U: U}}
instructions:
"""
    + ADD_LD_ST
)

# instruction -> (the pre-pass declines it, why, a class the solver must find yes)
BREAKS = {
    "pld": ("phys[...]", "location_sensitive"),
    "pst": ("phys[...]", "location_sensitive"),
    "ldu": ("as U", "mode_sensitive"),
    "rdrl": ("rl", "location_sensitive"),
    "rdpsw": ("psw", "location_sensitive"),
    "stop": ("halts", "control_sensitive"),
    "chk": ("ctl", "location_sensitive"),
    "rdt": ("tm", "timing_dependent"),
    "clrt": ("tm", "timing_dependent"),
    "rdm": ("m", "mode_sensitive"),
    "sie": ("psw", "control_sensitive"),
}
PASSES = ["add", "ld", "st", "div", "setc", "getc"]


@pytest.fixture(scope="module")
def breaker(tmp_path_factory):
    p = tmp_path_factory.mktemp("prepass") / "breaker.yaml"
    p.write_text(BREAKER)
    return load_spec(str(p))


def _classes(isa, insn, ctx, use_prepass: bool):
    fresh_context()
    q = InstructionQueries(isa, isa.instruction(insn), isa.context(ctx), use_prepass=use_prepass)
    classes, violates = classify(q.run_all(), isa.context(ctx))
    return {k: a.value for k, a in classes.items()}, {k: a.value for k, a in violates.items()}, classes


@pytest.mark.parametrize("insn", sorted(BREAKS))
def test_the_prepass_declines_what_can_be_sensitive(breaker, insn):
    what, cls = BREAKS[insn]
    why = prepass.why_not(breaker, breaker.instruction(insn))
    assert why is not None and what in why, why
    assert prepass.independence(breaker, breaker.instruction(insn)) is None
    values, _, _ = _classes(breaker, insn, "classic", True)
    assert values[cls] == YES  # the solver finds what the pre-pass had to leave to it


@pytest.mark.parametrize("insn", PASSES)
def test_the_prepass_decides_innocuous_instructions_by_dependency(breaker, insn):
    assert prepass.why_not(breaker, breaker.instruction(insn)) is None
    values, violates, classes = _classes(breaker, insn, "classic", True)
    assert values["sensitive"] == NO and values["unsafe"] == NO and values["timing_dependent"] == NO
    assert "dependency" in classes["control_sensitive"].reason
    assert (values, violates) == _classes(breaker, insn, "classic", False)[:2]


def test_a_machine_without_memory_protection_is_declined(tmp_path):
    """Its view is physical storage (docs/model.md §2.4): every access escapes the view."""
    p = tmp_path / "unprotected.yaml"
    p.write_text(UNPROTECTED)
    isa = load_spec(str(p))
    assert prepass.why_not(isa, isa.instruction("add")) is None
    for insn in ("ld", "st"):
        assert "no memory protection" in prepass.why_not(isa, isa.instruction(insn))


@pytest.mark.parametrize(
    "text",
    [BREAKER, PG_TOY.read_text() + PG_EXTRA, MIPS, ARM, X86, RISCV],
    ids=["breaker", "pg", "mips", "arm", "x86", "riscv"],
)
def test_the_prepass_never_changes_an_answer(tmp_path, text):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    isa = load_spec(str(p))
    for ctx in isa.contexts:
        for insn in isa.instructions:
            with_pp = _classes(isa, insn.name, ctx.name, True)[:2]
            without = _classes(isa, insn.name, ctx.name, False)[:2]
            assert with_pp == without, (ctx.name, insn.name)


def test_explain_states_the_dependency_argument():
    res = CliRunner().invoke(main, ["explain", str(PG_TOY), "add", "--no-cache"])
    assert res.exit_code == 0, res.output
    assert "proved by dependency" in res.output
