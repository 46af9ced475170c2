"""32-bit PowerPC (OEA): the verdict derived by the engine from the spec's
semantics (isa_specs/powerpc/README.md).

* Theorem 1 holds in the `problem` context (guest kernel in the problem
  state): every supervisor-level instruction traps there, and `mfspr`/`mtspr`
  are privileged exactly for the supervisor SPR numbers (instances);
* Theorem 2 fails on `mftb` (the time base is readable in the problem state);
* Theorem 3 and the exact condition hold;
* a copy of the spec without `labels` gets the same verdicts;
* the sample kernel assembles and runs to its expected final state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "powerpc" / "powerpc.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "powerpc" / "programs").glob("*.s"))
CONTEXT = "problem"

SUPERVISOR_LEVEL = {"mfmsr", "mtmsr", "rfi", "mfsr", "mfsrin", "mtsr", "mtsrin", "tlbie", "tlbsync", "dcbi"}


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _context(report: dict, name: str = CONTEXT) -> dict:
    spec = report["specs"][0] if "specs" in report else report
    return next(c for c in spec["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


@pytest.fixture(scope="module")
def t1():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_holds(t1):
    code, report = t1
    assert code == 0
    t = _context(report)["theorems"]["1"]
    assert t["holds"] is True and t["violations"] == []


@pytest.mark.slow
def test_supervisor_level_instructions_are_privileged(t1):
    ctx = _context(t1[1])
    for name in SUPERVISOR_LEVEL:
        assert _insn(ctx, name)["classes"]["privileged"] == "yes", name
    # mfspr/mtspr: some instances (LR, CTR, XER) run in the problem state,
    # the sensitive ones (supervisor SPRs) never do.
    for name in ("mfspr", "mtspr"):
        i = _insn(ctx, name)
        assert i["classes"]["privileged"] == "no"
        assert i["classes"]["sensitive"] == "yes"
        assert i["violates"]["1"] == "no"
    assert _insn(ctx, "sc")["classes"]["illegal"] == "yes"


@pytest.mark.slow
def test_theorem2_fails_on_mftb():
    code, report = _check(SPEC, "--theorem", "2")
    assert code == 1
    assert set(_context(report)["theorems"]["2"]["violations"]) == {"mftb"}


@pytest.mark.slow
def test_theorem3_and_exact_hold():
    for theorem in ("3", "exact"):
        code, report = _check(SPEC, "--theorem", theorem)
        assert code == 0, theorem
        assert _context(report)["theorems"][theorem]["holds"] is True


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, t1):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "powerpc.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == t1[0] == 0
    for t in ("1", "2", "3", "exact"):
        got, want = _context(report)["theorems"][t], _context(t1[1])["theorems"][t]
        assert (got["holds"], set(got["violations"])) == (want["holds"], set(want["violations"])), t


def test_lint():
    res = CliRunner().invoke(main, ["lint", str(SPEC)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs(program):
    res = CliRunner().invoke(main, ["run", str(SPEC), str(program), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["stop"] == "halted"
    if program.stem == "syscall_kernel":
        regs = out["registers"]
        assert regs["r3"] == 123  # 23 + 100 from the system call
        assert regs["r0"] == 2  # exit
        assert regs["msr"] >> 14 & 1 == 0  # supervisor state
        assert regs["msr"] >> 18 & 1 == 1  # MSR[POW]: stopped
