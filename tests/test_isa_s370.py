"""IBM System/370: the verdicts the literature gives, derived by the engine
from the spec's semantics (isa_specs/s370/README.md).

* Theorem 1 holds in the `cp` context (CP's problem-state deprivileging with
  the PSW-key mask and extraction authority cleared and every monitor class
  enabled); in `cp_open`, without those settings, the semi-privileged SPKA and
  IPK and MONITOR CALL violate it;
* Theorem 2 fails on STCK (the TOD clock is readable in the problem state);
* Theorem 3 and the exact condition hold in `cp`;
* a copy of the spec without `labels` gets the same verdicts;
* the sample supervisor assembles and runs to its expected final state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "s370" / "s370.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "s370" / "programs").glob("*.s"))

PRIVILEGED = {
    "lpsw",
    "ssm",
    "stnsm",
    "stosm",
    "ssk",
    "isk",
    "rrb",
    "lctl",
    "stctl",
    "ptlb",
    "sck",
    "sckc",
    "stckc",
    "stidp",
    "sio",
    "tio",
    "hio",
    "tch",
}
SEMI = {"spka", "ipk", "mc"}  # trapping decided by control registers


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _context(report: dict, name: str) -> dict:
    spec = report["specs"][0] if "specs" in report else report
    return next(c for c in spec["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


@pytest.fixture(scope="module")
def t1():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_holds_in_cp(t1):
    code, report = t1
    assert code == 0
    cp = _context(report, "cp")
    assert cp["theorems"]["1"]["holds"] is True and cp["theorems"]["1"]["violations"] == []


@pytest.mark.slow
def test_privileged_and_semi_privileged_trap_in_cp(t1):
    cp = _context(t1[1], "cp")
    for name in PRIVILEGED | SEMI:
        assert _insn(cp, name)["classes"]["privileged"] == "yes", name
    for name in SEMI:  # sensitive through the control registers, made to trap by the context
        assert _insn(cp, name)["classes"]["sensitive"] == "yes", name
    assert _insn(cp, "stck")["classes"]["privileged"] == "no"
    assert _insn(cp, "svc")["classes"]["illegal"] == "yes"


@pytest.mark.slow
def test_without_the_where_the_semi_privileged_violate(t1):
    ctx = _context(t1[1], "cp_open")
    assert ctx["theorems"]["1"]["holds"] is False
    assert set(ctx["theorems"]["1"]["violations"]) == SEMI


@pytest.mark.slow
def test_theorem2_fails_on_stck():
    code, report = _check(SPEC, "--theorem", "2")
    assert code == 1
    assert set(_context(report, "cp")["theorems"]["2"]["violations"]) == {"stck"}


@pytest.mark.slow
def test_theorem3_and_exact_hold():
    for theorem in ("3", "exact"):
        code, report = _check(SPEC, "--theorem", theorem)
        assert code == 0, theorem
        assert _context(report, "cp")["theorems"][theorem]["holds"] is True


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, t1):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "s370.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == t1[0] == 0
    for name in ("cp", "cp_open"):
        for t in ("1", "2", "3", "exact"):
            got, want = _context(report, name)["theorems"][t], _context(t1[1], name)["theorems"][t]
            assert (got["holds"], set(got["violations"])) == (want["holds"], set(want["violations"])), (name, t)


def test_lint():
    res = CliRunner().invoke(main, ["lint", str(SPEC)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs(program):
    res = CliRunner().invoke(main, ["run", str(SPEC), str(program), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["stop"] == "halted"
    if program.stem == "svc_supervisor":
        regs = out["registers"]
        assert regs["r1"] == 42  # computed in the problem state
        assert regs["r3"] == 3  # the last SVC number: exit
        assert regs["psw"] >> 16 & 1 == 0  # supervisor state
        assert regs["psw"] >> 17 & 1 == 1  # the wait PSW
