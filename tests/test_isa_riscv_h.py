"""RISC-V with the hypervisor extension: the verdicts the engine derives from
the spec's semantics (isa_specs/riscv-h/README.md).

* `guest_vs` (guest kernel in VS-mode, its processes in VU-mode, hstatus.VTSR,
  VTW, VTVM set, hcounteren clear): Theorems 1, 2, 3 and the exact condition
  hold, so `vmcheck check riscv-h` exits 0, as the literature says.
* The S-mode CSR numbers reach the guest's own VS CSRs, so most CSR instances
  run in VS-mode and are innocuous; the sensitive ones (satp under VTVM, the
  counters under hcounteren) trap. SRET, WFI and SFENCE.VMA trap or not as
  VTSR, VTW, VTVM say (config sensitive): the context sets them; the
  hypervisor instructions raise virtual-instruction exceptions.
* The sample hypervisor/guest program runs to its expected final state.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import pytest
from helpers import THEOREMS, context, insn, run_program, verdicts

NAME = "riscv-h"
CONTEXT = "guest_vs"

HYPERVISOR = {
    "hfence_vvma",
    "hfence_gvma",
    "hlv_b",
    "hlv_bu",
    "hlv_h",
    "hlv_hu",
    "hlv_w",
    "hlv_wu",
    "hlv_d",
    "hsv_b",
    "hsv_h",
    "hsv_w",
    "hsv_d",
}


@pytest.mark.slow
def test_guest_vs_satisfies_every_theorem(checked):
    assert verdicts(checked[1], CONTEXT) == {t: (True, set()) for t in THEOREMS}


@pytest.mark.slow
def test_classes(checked):
    ctx = context(checked[1], CONTEXT)
    for name in HYPERVISOR | {"mret", "sret", "wfi", "sfence_vma"}:
        assert insn(ctx, name)["classes"]["privileged"] == "yes", name
    # SRET in VS-mode returns to VU-mode, a change between two modes the context
    # maps to themselves: the guest's own, not control sensitive. Whether it traps
    # is the hypervisor's choice (VTSR): config sensitive, so the context sets VTSR.
    sret = insn(ctx, "sret")["classes"]
    assert (sret["control_sensitive"], sret["location_sensitive"]) == ("no", "yes")
    for name in ("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"):
        i = insn(ctx, name)
        # sstatus, sepc, ... reach the VS CSRs and run in VS-mode; satp (VTVM)
        # and the counters (hcounteren) depend on the hypervisor's controls and trap.
        assert i["classes"]["privileged"] == "no", name
        assert i["classes"]["control_sensitive"] == "no", name
        assert i["classes"]["location_sensitive"] == "yes", name
        assert i["violates"]["1"] == "no", name
    for name in ("ecall", "ebreak"):
        assert insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in ("lw", "sd", "jalr", "halt"):
        assert insn(ctx, name)["classes"]["sensitive"] == "no", name


def test_the_sample_program_final_state():
    regs = run_program(NAME, "guest_kernel_user.s")["registers"]
    assert regs["a0"] == 42  # 20 + the 22 the hypervisor stored with HSV.D
    assert regs["a1"] == 42  # stored by the process, loaded by the guest kernel
    assert regs["priv"] == 1  # halted by the hypervisor in HS-mode (V = 0, S)
    assert regs["vscause"] == 8  # the process's ecalls went to the guest (hedeleg)
    assert regs["scause"] == 10  # the guest kernel's went to the hypervisor
