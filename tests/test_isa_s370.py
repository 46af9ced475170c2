"""IBM System/370: the verdicts the literature gives, derived by the engine
from the spec's semantics (isa_specs/s370/README.md).

* Theorem 1 holds in the `cp` context (CP's problem-state deprivileging with
  the PSW-key mask and extraction authority cleared and every monitor class
  enabled); in `cp_open`, without those settings, the semi-privileged SPKA and
  IPK and MONITOR CALL violate it;
* Theorem 2 fails on STCK (the TOD clock is readable in the problem state);
* Theorem 3 and the exact condition hold in `cp`;
* the sample supervisor runs to its expected final state.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import pytest
from helpers import check_bundled, context, insn, run_program

NAME = "s370"

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


@pytest.mark.slow
def test_theorem1_holds_in_cp(checked):
    code, report = checked
    assert code == 0
    cp = context(report, "cp")
    assert cp["theorems"]["1"]["holds"] is True and cp["theorems"]["1"]["violations"] == []


@pytest.mark.slow
def test_privileged_and_semi_privileged_trap_in_cp(checked):
    cp = context(checked[1], "cp")
    for name in PRIVILEGED | SEMI:
        assert insn(cp, name)["classes"]["privileged"] == "yes", name
    for name in SEMI:  # sensitive through the control registers, made to trap by the context
        assert insn(cp, name)["classes"]["sensitive"] == "yes", name
    assert insn(cp, "stck")["classes"]["privileged"] == "no"
    assert insn(cp, "svc")["classes"]["illegal"] == "yes"


@pytest.mark.slow
def test_without_the_where_the_semi_privileged_violate(checked):
    ctx = context(checked[1], "cp_open")
    assert ctx["theorems"]["1"]["holds"] is False
    assert set(ctx["theorems"]["1"]["violations"]) == SEMI


@pytest.mark.slow
def test_theorem2_fails_on_stck():
    code, report = check_bundled(NAME, "--theorem", "2")
    assert code == 1
    assert set(context(report, "cp")["theorems"]["2"]["violations"]) == {"stck"}


@pytest.mark.slow
def test_theorem3_and_exact_hold():
    for theorem in ("3", "exact"):
        code, report = check_bundled(NAME, "--theorem", theorem)
        assert code == 0, theorem
        assert context(report, "cp")["theorems"][theorem]["holds"] is True


def test_the_sample_supervisor_final_state():
    regs = run_program(NAME, "svc_supervisor.s")["registers"]
    assert regs["r1"] == 42  # computed in the problem state
    assert regs["r3"] == 3  # the last SVC number: exit
    assert regs["psw"] >> 16 & 1 == 0  # supervisor state
    assert regs["psw"] >> 17 & 1 == 1  # the wait PSW
