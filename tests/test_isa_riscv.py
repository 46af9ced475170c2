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
* The sample kernel runs to its expected final state.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import pytest
from helpers import THEOREMS, check_bundled, context, insn, run_program, verdicts

NAME = "riscv"

CSR_READERS = {"csrrs", "csrrc", "csrrsi", "csrrci"}  # the forms that can read without writing
LOADS_STORES = {"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "sb", "sh", "sw", "sd"}
COUNTERS = {0xC00, 0xC01, 0xC02}  # cycle, time, instret


@pytest.mark.slow
def test_trap_and_emulate_satisfies_every_theorem(checked):
    # The literature: classically virtualizable, no sensitive unprivileged instruction.
    assert verdicts(checked[1], "trap_and_emulate") == {t: (True, set()) for t in THEOREMS}


@pytest.mark.slow
def test_csr_instructions_are_judged_per_instance(checked):
    ctx = context(checked[1], "trap_and_emulate")
    for name in ("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"):
        i = insn(ctx, name)
        # Some instances run in U-mode (fcsr), so the entry is not privileged;
        # some instances are sensitive (satp, sstatus, ...): they all trap there.
        assert i["classes"]["privileged"] == "no", name
        assert i["classes"]["sensitive"] == "yes", name
        assert i["violates"]["1"] == "no", name
        assert i["witnesses"]["privileged"]["operands"]["csr"] in {0x001, 0x002, 0x003}, name
    for name in ("sret", "mret", "wfi", "sfence_vma", "halt"):
        assert insn(ctx, name)["classes"]["privileged"] == "yes", name
    assert insn(ctx, "sret")["classes"]["control_sensitive"] == "yes"
    for name in ("ecall", "ebreak"):
        assert insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in ("lw", "sd", "jal", "auipc", "add"):
        assert insn(ctx, name)["classes"]["sensitive"] == "no", name


@pytest.mark.slow
def test_counters_enabled_fails_theorems_1_and_2(checked):
    v = verdicts(checked[1], "counters_enabled")
    assert v["1"] == (False, CSR_READERS)
    assert v["2"] == (False, CSR_READERS)
    assert v["exact"] == (False, CSR_READERS)
    ctx = context(checked[1], "counters_enabled")
    for name in CSR_READERS:
        i = insn(ctx, name)
        assert i["classes"]["timing_dependent"] == "yes", name
        w = i["witnesses"]["timing_dependent"]
        assert w["operands"]["csr"] in COUNTERS, name
        # the config dependence: the same instance traps when a counter-enable bit is clear
        w1 = i["witnesses"]["violates_1"]
        assert w1["operands"]["csr"] in COUNTERS, name
        assert {s["outcome"] for s in w1["states"]} >= {"ok", "trap ILLEGAL"}, name


@pytest.mark.slow
def test_theorem2_exit_codes():
    assert check_bundled(NAME, "--theorem", "2")[0] == 0  # trap_and_emulate satisfies it
    code, report = check_bundled(NAME, "--theorem", "2", "--context", "counters_enabled")
    assert code == 1
    assert set(context(report, "counters_enabled")["theorems"]["2"]["violations"]) == CSR_READERS


@pytest.mark.slow
def test_m_guest_loads_and_stores_escape_the_view(checked):
    v = verdicts(checked[1], "m_guest")
    assert v["1"] == (False, LOADS_STORES)
    assert v["exact"] == (False, LOADS_STORES)
    assert v["3"] == (True, set())
    ctx = context(checked[1], "m_guest")
    assert insn(ctx, "lw")["classes"]["mode_sensitive"] == "yes"


def test_the_sample_kernel_final_state():
    regs = run_program(NAME, "kernel_user.s")["registers"]
    assert regs["a0"] == 42  # 20 + 22 from the system call
    assert regs["a1"] == 42  # stored by the process, loaded by the kernel
    assert regs["priv"] == 1  # halted by the S-mode kernel
    assert regs["scause"] == 8  # environment call from U-mode, delegated to S
    assert regs["medeleg"] == 0xB3FF  # every exception from S and U goes to S
