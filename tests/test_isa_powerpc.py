"""32-bit PowerPC (OEA): the verdict derived by the engine from the spec's
semantics (isa_specs/powerpc/README.md).

* Theorem 1 holds in the `problem` context (guest kernel in the problem
  state): every supervisor-level instruction traps there, and `mfspr`/`mtspr`
  are privileged exactly for the supervisor SPR numbers (instances);
* Theorem 2 fails on `mftb` (the time base is readable in the problem state);
* Theorem 3 and the exact condition hold;
* the sample kernel runs to its expected final state.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import pytest
from helpers import check_bundled, context, insn, run_program

NAME = "powerpc"
CONTEXT = "problem"

SUPERVISOR_LEVEL = {"mfmsr", "mtmsr", "rfi", "mfsr", "mfsrin", "mtsr", "mtsrin", "tlbie", "tlbsync", "dcbi"}


@pytest.mark.slow
def test_theorem1_holds(checked):
    code, report = checked
    assert code == 0
    t = context(report, CONTEXT)["theorems"]["1"]
    assert t["holds"] is True and t["violations"] == []


@pytest.mark.slow
def test_supervisor_level_instructions_are_privileged(checked):
    ctx = context(checked[1], CONTEXT)
    for name in SUPERVISOR_LEVEL:
        assert insn(ctx, name)["classes"]["privileged"] == "yes", name
    # mfspr/mtspr: some instances (LR, CTR, XER) run in the problem state,
    # the sensitive ones (supervisor SPRs) never do.
    for name in ("mfspr", "mtspr"):
        i = insn(ctx, name)
        assert i["classes"]["privileged"] == "no"
        assert i["classes"]["sensitive"] == "yes"
        assert i["violates"]["1"] == "no"
    assert insn(ctx, "sc")["classes"]["illegal"] == "yes"


@pytest.mark.slow
def test_theorem2_fails_on_mftb():
    code, report = check_bundled(NAME, "--theorem", "2")
    assert code == 1
    assert set(context(report, CONTEXT)["theorems"]["2"]["violations"]) == {"mftb"}


@pytest.mark.slow
def test_theorem3_and_exact_hold():
    for theorem in ("3", "exact"):
        code, report = check_bundled(NAME, "--theorem", theorem)
        assert code == 0, theorem
        assert context(report, CONTEXT)["theorems"][theorem]["holds"] is True


def test_the_sample_kernel_final_state():
    regs = run_program(NAME, "syscall_kernel.s")["registers"]
    assert regs["r3"] == 123  # 23 + 100 from the system call
    assert regs["r0"] == 2  # exit
    assert regs["msr"] >> 14 & 1 == 0  # supervisor state
    assert regs["msr"] >> 18 & 1 == 1  # MSR[POW]: stopped
