"""RISC-V (RV64I, privileged architecture M/S/U): the verdicts the engine
derives from the spec's semantics (isa_specs/riscv/README.md).

* `trap_and_emulate` (guest kernel in U-mode, TVM/TW/TSR set, counters
  disabled below M): Theorems 1, 2, 3 and the exact condition hold, so
  `vmcheck check riscv` exits 0. The literature lists no sensitive
  unprivileged instruction: the engine finds none. `csrrw` and friends are
  judged per CSR number: some instances are sensitive (satp, sstatus...), and
  those all trap in U-mode, while the instances that run there (fcsr) are
  innocuous.
* `counters_enabled` (the same with cycle, time, instret readable in U-mode):
  reading a counter (`csrrs rd, time, x0`...) is a timing dependency
  (Theorem 2) and is config sensitive, the real scounteren deciding what the
  guest kernel's virtual scounteren should (Theorem 1).
* `m_guest` (a guest that also believes it is in M-mode): loads and stores
  fail Theorem 1 and the exact condition (untranslated in M-mode) and pass
  Theorem 3: docs/model.md §2.8, last row.
* A copy of the spec without labels gets the same verdicts; the sample
  kernel assembles and runs to its expected final state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "riscv" / "riscv.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "riscv" / "programs").glob("*.s"))

CSR_READERS = {"csrrs", "csrrc", "csrrsi", "csrrci"}  # the forms that can read without writing
LOADS_STORES = {"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "sb", "sh", "sw", "sd"}
COUNTERS = {0xC00, 0xC01, 0xC02}  # cycle, time, instret
THEOREMS = ("1", "2", "3", "exact")


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _spec(report: dict) -> dict:
    return report["specs"][0] if "specs" in report else report


def _context(report: dict, name: str) -> dict:
    return next(c for c in _spec(report)["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


def _verdicts(report: dict, name: str) -> dict:
    return {t: (v["holds"], set(v["violations"])) for t, v in _context(report, name)["theorems"].items()}


@pytest.fixture(scope="module")
def checked():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_holds(checked):
    code, report = checked
    assert code == 0
    assert _spec(report)["verdict"]["1"]["holds"] is True


@pytest.mark.slow
def test_trap_and_emulate_satisfies_every_theorem(checked):
    # The literature: classically virtualizable, no sensitive unprivileged instruction.
    assert _verdicts(checked[1], "trap_and_emulate") == {t: (True, set()) for t in THEOREMS}


@pytest.mark.slow
def test_csr_instructions_are_judged_per_instance(checked):
    ctx = _context(checked[1], "trap_and_emulate")
    for name in ("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"):
        i = _insn(ctx, name)
        # Some instances run in U-mode (fcsr), so the entry is not privileged;
        # some instances are sensitive (satp, sstatus, ...): they all trap there.
        assert i["classes"]["privileged"] == "no", name
        assert i["classes"]["sensitive"] == "yes", name
        assert i["violates"]["1"] == "no", name
        assert i["witnesses"]["privileged"]["operands"]["csr"] in {0x001, 0x002, 0x003}, name
    for name in ("sret", "mret", "wfi", "sfence_vma", "halt"):
        assert _insn(ctx, name)["classes"]["privileged"] == "yes", name
    assert _insn(ctx, "sret")["classes"]["control_sensitive"] == "yes"
    for name in ("ecall", "ebreak"):
        assert _insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in ("lw", "sd", "jal", "auipc", "add"):
        assert _insn(ctx, name)["classes"]["sensitive"] == "no", name


@pytest.mark.slow
def test_counters_enabled_fails_theorems_1_and_2(checked):
    v = _verdicts(checked[1], "counters_enabled")
    assert v["1"] == (False, CSR_READERS)
    assert v["2"] == (False, CSR_READERS)
    assert v["exact"] == (False, CSR_READERS)
    ctx = _context(checked[1], "counters_enabled")
    for name in CSR_READERS:
        i = _insn(ctx, name)
        assert i["classes"]["timing_dependent"] == "yes", name
        w = i["witnesses"]["timing_dependent"]
        assert w["operands"]["csr"] in COUNTERS, name
        # the config dependence: the same instance traps when a counter-enable bit is clear
        w1 = i["witnesses"]["violates_1"]
        assert w1["operands"]["csr"] in COUNTERS, name
        assert {s["outcome"] for s in w1["states"]} >= {"ok", "trap ILLEGAL"}, name


@pytest.mark.slow
def test_theorem2_exit_codes():
    assert _check(SPEC, "--theorem", "2")[0] == 0  # trap_and_emulate satisfies it
    code, report = _check(SPEC, "--theorem", "2", "--context", "counters_enabled")
    assert code == 1
    assert set(_context(report, "counters_enabled")["theorems"]["2"]["violations"]) == CSR_READERS


@pytest.mark.slow
def test_m_guest_loads_and_stores_escape_the_view(checked):
    v = _verdicts(checked[1], "m_guest")
    assert v["1"] == (False, LOADS_STORES)
    assert v["exact"] == (False, LOADS_STORES)
    assert v["3"] == (True, set())
    ctx = _context(checked[1], "m_guest")
    assert _insn(ctx, "lw")["classes"]["mode_sensitive"] == "yes"


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, checked):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "riscv.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == checked[0] == 0
    for ctx in ("trap_and_emulate", "counters_enabled", "m_guest"):
        assert _verdicts(report, ctx) == _verdicts(checked[1], ctx), ctx


@pytest.mark.slow
def test_labels_agree_with_the_semantics(checked):
    assert _spec(checked[1])["label_findings"] == []


def test_lint():
    res = CliRunner().invoke(main, ["lint", str(SPEC)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs(program):
    res = CliRunner().invoke(main, ["run", str(SPEC), str(program), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["stop"] == "halted"
    if program.stem == "kernel_user":
        regs = out["registers"]
        assert regs["a0"] == 42  # 20 + 22 from the system call
        assert regs["a1"] == 42  # stored by the process, loaded by the kernel
        assert regs["priv"] == 1  # halted by the S-mode kernel
        assert regs["scause"] == 8  # environment call from U-mode, delegated to S
        assert regs["medeleg"] == 0xB3FF  # every exception from S and U goes to S
