"""The theorem engine against docs/model.md §2.8 and the brief's end-to-end cases.

Each corner-case row of docs/model.md §2.8 is a tiny machine written as a YAML
spec into a temporary directory, loaded with the real loader and decided by
the engine; the expected ✗/✓ for Theorem 1, Theorem 3 and the exact
condition are the table's. Every witness the engine shows has been replayed
on the concrete semantics (a witness that does not reproduce raises).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.analysis import NO, YES, check_isa
from vmcheck.analysis import engine as engine_mod
from vmcheck.analysis import witness_check as witness_check_mod
from vmcheck.cli import main
from vmcheck.errors import InternalError
from vmcheck.semantics.state import Outcome
from vmcheck.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
PG_TOY = ROOT / "isa_specs" / "pg-toy" / "pg-toy.yaml"

# Popek & Goldberg's machine with the two classic offenders added.
PG_EXTRA = "\n  rdm:\n    description: read the mode into a register\n    operands: [rd: reg]\n    semantics: r[rd] = zext(m, 32)\n  jrst1:\n    description: PDP-10 JRST 1, return to user mode; a plain jump in user mode\n    operands: [rs: reg]\n    semantics: |\n      if m == supervisor { m = user }\n      pc = r[rs]\n"

MIPS = '\nisa: mips-mini\nword: 32\nmodes: {K: 0, U: 1}\nstate:\n  pc: {width: 32, role: pc}\n  ksu: {width: 1, role: mode}\n  cu0: {width: 1, role: control}\n  epc: {width: 32, role: control}\n  x: {count: 8, width: 32, zero: 0}\nstorage: {size: 1024, unit: 32}\ntraps:\n  causes: {CPU: 1, ADDRERR: {code: 2, memory: true}, TLB: {code: 3, memory: true}}\n  memory_cause: TLB\n  deliver: |\n    epc = pc\n    ksu = K\n    pc = 0x80000080\ncontexts:\n  host: ksu == K\n  guest:\n    deprivileged: {where: "cu0 == 0", modes: {K: U, U: U}}\ninstructions:\n  lw:\n    operands: [rt: reg, off: simm16, base: reg]\n    semantics: |\n      let a = x[base] + sext(off, 32)\n      if a >= 0x80000000 {\n        require ksu == K else ADDRERR\n        x[rt] = phys[a & 0x1FFFFFFF]\n      } else {\n        x[rt] = mem[a]\n      }\n  sw:\n    operands: [rt: reg, off: simm16, base: reg]\n    semantics: |\n      let a = x[base] + sext(off, 32)\n      if a >= 0x80000000 {\n        require ksu == K else ADDRERR\n        phys[a & 0x1FFFFFFF] = x[rt]\n      } else {\n        mem[a] = x[rt]\n      }\n  lwk0:\n    description: a load whose absolute address lies in kseg0\n    operands: [rt: reg, off: imm16]\n    semantics: |\n      require ksu == K else ADDRERR\n      x[rt] = phys[zext(off, 32)]\n  mfc0:\n    operands: [rt: reg]\n    semantics: |\n      require ksu == K || cu0 == 1 else CPU\n      x[rt] = epc\n  mtc0:\n    operands: [rt: reg]\n    semantics: |\n      require ksu == K || cu0 == 1 else CPU\n      epc = x[rt]\n  eret:\n    semantics: |\n      require ksu == K || cu0 == 1 else CPU\n      ksu = U\n      pc = epc\n'

ARM = '\nisa: armv7-mini\nword: 32\nmodes: {SVC: 3, USR: 0}\nmode: cpsr.M\nstate:\n  pc: {width: 32, role: pc}\n  cpsr: {width: 8, fields: {M: {bits: "1:0"}, I: {bit: 7, role: control}, N: {bit: 6}}}\n  x: {count: 8, width: 32}\nstorage: {size: 1024, unit: 32}\ntraps:\n  causes: {UND: 1, ABT: {code: 2, memory: true}}\n  memory_cause: ABT\n  deliver: |\n    cpsr.M = SVC\n    pc = 8\ncontexts:\n  host: cpsr.M == SVC\n  guest:\n    deprivileged: {modes: {SVC: USR, USR: USR}}\ninstructions:\n  ldrt:\n    operands: [rt: reg, rn: reg]\n    semantics: x[rt] = mem[x[rn]] as USR\n  ldr:\n    operands: [rt: reg, rn: reg]\n    semantics: x[rt] = mem[x[rn]]\n  cpsid:\n    description: CPS, disable interrupts; no effect in USR\n    semantics: |\n      if cpsr.M == SVC { cpsr.I = 1 }\n  mrs:\n    operands: [rd: reg]\n    semantics: x[rd] = zext(cpsr, 32)\n'

X86 = '\nisa: x86-mini\nword: 32\nmodes: {r0: 0, r1: 1, r2: 2, r3: 3}\nmode: cs.rpl\nstate:\n  eip: {width: 32, role: pc}\n  cs: {width: 16, fields: {rpl: {bits: "1:0"}}}\n  eflags: {width: 32, fields: {CF: {bit: 0}, IF: {bit: 9, role: control}, IOPL: {bits: "13:12", role: control}}}\n  esp: {width: 32}\n  eax: {width: 32}\nstorage: {size: 1024, unit: 32}\ntraps:\n  causes: {GP: 13, PF: {code: 14, memory: true}}\n  memory_cause: PF\n  deliver: |\n    cs.rpl = r0\n    eip = 0x100\ncontexts:\n  host: cs.rpl == r0\n  guest:\n    ring3: {where: "eflags.IOPL == 0", modes: {r0: r3, r3: r3}}\n    ring1: {where: "eflags.IOPL == 0", modes: {r0: r1, r3: r3}}\ninstructions:\n  popf:\n    semantics: |\n      let v = mem[esp]\n      esp = esp + 1\n      if cs.rpl == r0 { eflags.IOPL = v[13:12] }\n      if cs.rpl <= eflags.IOPL { eflags.IF = v[9] }\n      eflags.CF = v[0]\n  pushf:\n    semantics: |\n      mem[esp - 1] = eflags\n      esp = esp - 1\n  cli:\n    semantics: |\n      require cs.rpl <= eflags.IOPL else GP\n      eflags.IF = 0\n  inc:\n    semantics: eax = eax + 1\n'

RISCV = '\nisa: riscv-mini\nword: 32\nmodes: {M: 3, S: 1, U: 0}\nstate:\n  pc: {width: 32, role: pc}\n  priv: {width: 2, role: mode}\n  tvm: {width: 1, role: control}\n  satp: {width: 32, role: control}\n  fcsr: {width: 32}\n  x: {count: 8, width: 32, zero: 0}\nstorage: {size: 1024, unit: 32}\ninvariants: ["priv != 2"]\ntraps:\n  causes: {ILL: 2, PF: {code: 13, memory: true}}\n  memory_cause: PF\n  deliver: |\n    priv = M\n    pc = 0x100\ncontexts:\n  host: priv == M\n  guest:\n    classic: {where: "tvm == 1", modes: {S: U, U: U}}\n    with_m: {where: "tvm == 1", modes: {M: U, S: U, U: U}}\ninstructions:\n  csrrw:\n    operands: [rd: reg, csr: imm12, rs1: reg]\n    semantics: |\n      require csr == 0x180 || csr == 0x003 else ILL\n      require csr[9:8] <= priv else ILL\n      require !(csr == 0x180 && priv == S && tvm == 1) else ILL\n      let new = x[rs1]\n      if csr == 0x180 {\n        x[rd] = satp\n        satp = new\n      } else {\n        x[rd] = fcsr\n        fcsr = new\n      }\n  lw:\n    operands: [rd: reg, off: simm12, rs1: reg]\n    semantics: |\n      let a = x[rs1] + sext(off, 32)\n      if priv == M { x[rd] = phys[a] } else { x[rd] = mem[a] }\n'


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    d = tmp_path_factory.mktemp("machines")
    texts = {"pg": PG_TOY.read_text() + PG_EXTRA, "mips": MIPS, "arm": ARM, "x86": X86, "riscv": RISCV}
    out = {}
    for name, text in texts.items():
        p = d / f"{name}.yaml"
        p.write_text(text)
        out[name] = p
    return out


_REPORTS: dict = {}


def _report(path):
    if path not in _REPORTS:
        _REPORTS[path] = check_isa(load_spec(str(path)), jobs=1, use_cache=False)
    return _REPORTS[path]


# docs/model.md §2.8: (machine, context, instance, T1, T3, exact); True = ✗ (violates)
ROWS = [
    ("pg", "classic", "rdm", True, False, True),  # read the mode into a register
    ("pg", "classic", "jrst1", True, False, True),  # JRST 1
    ("pg", "classic", "ld", False, False, False),
    ("pg", "classic", "st", False, False, False),
    ("pg", "classic", "add", False, False, False),
    ("pg", "classic", "lpsw", False, False, False),
    ("mips", "deprivileged", "lw", True, False, False),  # kseg0 physical in K, address error in U
    ("mips", "deprivileged", "sw", True, False, False),  # stores too: a phys write does not move with the state
    ("mips", "deprivileged", "lwk0", False, False, False),  # absolute kseg0 address
    ("mips", "deprivileged", "mfc0", False, False, False),
    ("mips", "deprivileged", "mtc0", False, False, False),
    ("mips", "deprivileged", "eret", False, False, False),
    ("arm", "deprivileged", "ldrt", True, False, True),  # access at a named privilege
    ("arm", "deprivileged", "cpsid", True, False, True),  # CPS: no effect in USR
    ("arm", "deprivileged", "mrs", True, True, True),  # reads the mode and the I bit
    ("x86", "ring3", "popf", True, True, True),
    ("x86", "ring1", "popf", True, True, True),
    ("x86", "ring3", "pushf", True, True, True),
    ("x86", "ring1", "pushf", True, True, True),
    ("x86", "ring3", "cli", False, False, False),  # config sensitive, traps in the context
    ("x86", "ring1", "cli", False, False, False),
    ("riscv", "classic", "csrrw", False, False, False),  # instances: satp traps in U, fcsr innocuous
    ("riscv", "classic", "lw", False, False, False),  # M is not a virtual mode
    ("riscv", "with_m", "lw", True, False, True),  # now it is
]


@pytest.mark.parametrize("machine,context,instr,t1,t3,exact", ROWS, ids=[f"{m}-{c}-{i}" for m, c, i, *_ in ROWS])
def test_corner_cases(machines, machine, context, instr, t1, t3, exact):
    r = _report(machines[machine]).context(context).instruction(instr)
    want = {"1": t1, "3": t3, "exact": exact}
    got = {t: r.violates[t].value for t in want}
    assert got == {t: YES if v else NO for t, v in want.items()}, {t: r.violates[t].reason for t in want}
    for t, v in want.items():
        a = r.violates[t]
        if v:  # a violation comes with a replayed witness naming operand values
            assert a.evidence == "witness" and a.witness is not None
            assert set(a.witness.operands) == {
                o.name for o in load_spec(str(machines[machine])).instruction(instr).operands
            }
        else:
            assert a.evidence == "proof"


def test_corner_case_classes(machines):
    """A few classes the table's 'why' column names."""
    x86 = _report(machines["x86"])
    cli = x86.context("ring3").instruction("cli")
    assert cli.classes["location_sensitive"].value == YES  # IOPL decides whether it traps
    assert cli.classes["privileged"].value == YES
    mips = _report(machines["mips"]).context("deprivileged")
    assert mips.instruction("lw").classes["location_sensitive"].value == YES
    assert mips.instruction("lw").classes["unsafe"].value == NO
    assert "lw" in mips.note  # Theorem 1 fails but the exact condition holds: said, with the cost
    assert mips.theorems["1"].holds is False and mips.theorems["exact"].holds is True
    riscv = _report(machines["riscv"]).context("classic")
    csr = riscv.instruction("csrrw")
    assert csr.classes["control_sensitive"].value == YES  # csrrw satp in S
    assert csr.classes["privileged"].value == NO  # csrrw fcsr runs in U
    assert csr.violates["1"].value == NO  # ... and no instance is both
    assert csr.classes["control_sensitive"].witness.operands["csr"] == 0x180
    pg = _report(machines["pg"]).context("classic")
    assert pg.instruction("jrst1").classes["control_sensitive"].value == YES
    assert pg.instruction("jrst1").classes["user_sensitive"].value == NO


def test_pg_toy_passes_theorem_1():
    r = check_isa(load_spec(str(PG_TOY)), jobs=1, use_cache=False)
    assert r.holds("1") is True and r.verdicts["1"].context == "classic"
    assert r.exit_code("1") == 0
    assert r.labels == []  # every declared label agrees with the semantics
    c = r.context("classic")
    for name in ("lpsw", "setr", "getr"):
        assert c.instruction(name).classes["sensitive"].value == YES
        assert c.instruction(name).classes["privileged"].value == YES


def test_unprivileged_mode_read_fails_theorem_1(machines):
    r = _report(machines["pg"])
    assert r.holds("1") is False and r.exit_code("1") == 1
    c = r.context("classic")
    assert "rdm" in c.theorems["1"].violations
    w = c.instruction("rdm").violates["1"].witness
    assert w is not None and "rd" in w.operands
    modes = {s.mode for s in w.states}
    assert modes == {"user", "supervisor"}  # s in G and s' in the virtual supervisor mode
    assert any("r[" in d for d in w.differs)


def test_jrst1_fails_theorem_1_passes_theorem_3(tmp_path):
    text = PG_TOY.read_text() + PG_EXTRA.split("  rdm:")[0] + "  jrst1:" + PG_EXTRA.split("  jrst1:")[1]
    p = tmp_path / "pdp.yaml"
    p.write_text(text)
    r = check_isa(load_spec(str(p)), jobs=1, use_cache=False)
    assert r.holds("1") is False and r.holds("3") is True
    assert r.context("classic").theorems["1"].violations == ["jrst1"]
    assert r.verdicts["3"].context == "classic"


def _without_guard(text: str, instr: str) -> str:
    """pg-toy's text with the `require m == supervisor else PRIV` line of `instr` removed."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"  {instr}:"))
    for i in range(start + 1, len(lines)):
        if re.match(r"^  \S", lines[i]):
            break
        if "require m == supervisor else PRIV" in lines[i]:
            del lines[i]
            return "".join(lines)
    raise AssertionError(f"{instr} has no guard")


PRIVILEGED_SENSITIVE = ["lpsw", "setr", "getr"]


@pytest.mark.parametrize("instr", PRIVILEGED_SENSITIVE)
def test_mutation_removing_the_guard_fails_theorem_1(tmp_path, instr):
    p = tmp_path / f"pg-{instr}.yaml"
    p.write_text(_without_guard(PG_TOY.read_text(), instr))
    res = CliRunner().invoke(main, ["check", str(p), "--format", "json", "--jobs", "1", "--no-cache"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    assert doc["contexts"][0]["theorems"]["1"]["violations"] == [instr]
    assert doc["verdict"]["1"]["holds"] is False
    # and the declared label 'privileged' is now contradicted, with a witness
    found = [f for f in doc["label_findings"] if f["instruction"] == instr and f["label"] == "privileged"]
    assert found and found[0]["witness"] is not None


def test_contradicted_label_is_reported_with_witness(tmp_path):
    text = PG_TOY.read_text() + PG_EXTRA.replace(
        "    description: read the mode into a register\n",
        "    description: read the mode into a register\n    labels: [innocuous]\n",
    )
    text = text.replace("  add:\n", "  add:\n    labels: [privileged]\n")
    p = tmp_path / "labels.yaml"
    p.write_text(text)
    r = check_isa(load_spec(str(p)), jobs=1, use_cache=False)
    by = {(f.instruction, f.label): f for f in r.labels}
    assert set(by) == {("rdm", "innocuous"), ("add", "privileged")}
    assert by[("rdm", "innocuous")].derived == "sensitive: yes"
    assert by[("rdm", "innocuous")].witness is not None
    assert by[("add", "privileged")].derived == "privileged: no"
    assert by[("add", "privileged")].witness.states[0].mode == "user"  # it runs in G
    assert by[("add", "privileged")].line is not None


def test_a_witness_that_does_not_reproduce_raises(machines, monkeypatch):
    """Replay is not decoration: a concrete run that disagrees with the model is an InternalError."""

    class Wrong:
        def execute(self, insn, state, port, operands):
            return Outcome("trap", "PRIV")

    monkeypatch.setattr(witness_check_mod, "compile_isa", lambda isa: Wrong())
    isa = load_spec(str(machines["pg"]))
    with pytest.raises(InternalError, match="does not reproduce"):
        engine_mod.analyze_instruction(isa, isa.instruction("rdm"), isa.contexts[0])


def test_cache_and_jobs_give_the_same_report(machines, tmp_path, monkeypatch):
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    isa = load_spec(str(machines["arm"]))
    cold = check_isa(isa, jobs=2, use_cache=True)
    warm = check_isa(isa, jobs=1, use_cache=True)
    assert cold.stats["cached"] == 0 and warm.stats["cached"] == warm.stats["units"] > 0
    assert warm.stats["solver_calls"] == 0
    assert json.dumps(cold.to_json()) == json.dumps(warm.to_json())
    assert any((tmp_path / "cache").rglob("*.json"))


ONE_TO_ONE = """
isa: one-to-one
word: 8
modes: [H, K, U]
state:
  pc: {width: 8, role: pc}
  m:  {width: 2, role: mode}
  r:  {count: 4, width: 8}
storage: {size: 256, unit: 8}
traps:
  causes: {PRIV: 1}
  deliver: |
    m = H
contexts:
  host: m == H
  guest:
    own_world: {modes: {K: K, U: U}}        # EL2 / VT-x style: the guest's levels are its own
    merged: {modes: {K: U, U: U}}           # Popek & Goldberg style: both run in U
instructions:
  ret0:
    description: drop to U (like JRST 1, it never traps)
    semantics: m = U
  add:
    operands: [rd: reg, rs: reg]
    semantics: r[rd] = r[rd] + r[rs]
"""


def test_mode_change_between_one_to_one_modes_is_not_a_control_change(tmp_path):
    """A return to user mode is the guest's own business where the map is one-to-one
    (the VMM reads the virtual mode off the real one), and a breach where it merges modes."""
    p = tmp_path / "one.yaml"
    p.write_text(ONE_TO_ONE)
    rep = check_isa(load_spec(str(p)), jobs=1, use_cache=False)
    own, merged = rep.context("own_world"), rep.context("merged")
    assert own.theorems["1"].holds and own.theorems["exact"].holds
    assert own.instruction("ret0").classes["control_sensitive"].value == NO
    assert merged.theorems["1"].violations == ["ret0"] and merged.theorems["exact"].violations == ["ret0"]
    assert merged.instruction("ret0").classes["control_sensitive"].value == YES


def test_the_theory_vocabulary_is_consistent():
    """Every record of vmcheck.theory names classes that exist, so a theorem or a
    class added there is added everywhere that derives from it."""
    from vmcheck import theory
    from vmcheck.analysis.queries import ASK_ORDER, QUERIES, TABLE

    for t in theory.THEOREM_RECORDS:
        assert set(t.judged_on) <= set(theory.CONTEXT_CLASSES), t.key
    for c in theory.LABEL_CLAIM_RECORDS:
        assert c.cls in theory.CLASSES or c.cls == theory.BEHAVIOUR_SENSITIVE, c.label
    assert theory.CONTEXT_FREE_CLASSES <= set(theory.CLASSES) | {theory.BEHAVIOUR_SENSITIVE}
    assert theory.class_table_legend().startswith("ill illegal · priv privileged")
    assert {"yes": 1}[theory.YES] == 1 and f"{theory.NO}" == "no" and json.dumps(theory.UNKNOWN) == '"unknown"'
    # the query table: every query once, asked once, its statement cited by name
    assert [q.name for q in TABLE] == list(QUERIES) and sorted(q.name for q in ASK_ORDER) == sorted(QUERIES)


def test_the_engine_never_sees_labels_or_prose(monkeypatch):
    """The queries get the instruction without its labels, description and ref,
    so no claim a spec makes can steer a verdict (tests/helpers.py relies on it
    to read the big specs' stripped copies from the labelled ones' cache)."""
    seen = []

    class Spy(engine_mod.InstructionQueries):
        def __init__(self, isa, insn, *rest):
            seen.append(insn)
            super().__init__(isa, insn, *rest)

    monkeypatch.setattr(engine_mod, "InstructionQueries", Spy)
    isa = load_spec(PG_TOY)
    labelled = [i for i in isa.instructions if i.labels]
    assert labelled  # pg-toy carries labels, so the test can fail
    for insn in labelled:
        engine_mod.analyze_instruction(isa, insn, isa.contexts[0])
    assert [i.name for i in seen] == [i.name for i in labelled]
    assert all(not i.labels and not i.description and not i.ref for i in seen)
    assert all(i.semantics == j.semantics for i, j in zip(seen, labelled, strict=True))
