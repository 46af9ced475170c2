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
* A copy of the spec without labels gets the same verdicts; the sample
  hypervisor/guest program assembles and runs to its expected final state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "riscv-h" / "riscv-h.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "riscv-h" / "programs").glob("*.s"))
CONTEXT = "guest_vs"
THEOREMS = ("1", "2", "3", "exact")

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


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _spec(report: dict) -> dict:
    return report["specs"][0] if "specs" in report else report


def _context(report: dict, name: str = CONTEXT) -> dict:
    return next(c for c in _spec(report)["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


def _verdicts(report: dict, name: str = CONTEXT) -> dict:
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
def test_guest_vs_satisfies_every_theorem(checked):
    assert _verdicts(checked[1]) == {t: (True, set()) for t in THEOREMS}


@pytest.mark.slow
def test_classes(checked):
    ctx = _context(checked[1])
    for name in HYPERVISOR | {"mret", "sret", "wfi", "sfence_vma"}:
        assert _insn(ctx, name)["classes"]["privileged"] == "yes", name
    # SRET in VS-mode returns to VU-mode, a change between two modes the context
    # maps to themselves: the guest's own, not control sensitive. Whether it traps
    # is the hypervisor's choice (VTSR): config sensitive, so the context sets VTSR.
    sret = _insn(ctx, "sret")["classes"]
    assert (sret["control_sensitive"], sret["location_sensitive"]) == ("no", "yes")
    for name in ("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"):
        i = _insn(ctx, name)
        # sstatus, sepc, ... reach the VS CSRs and run in VS-mode; satp (VTVM)
        # and the counters (hcounteren) depend on the hypervisor's controls and trap.
        assert i["classes"]["privileged"] == "no", name
        assert i["classes"]["control_sensitive"] == "no", name
        assert i["classes"]["location_sensitive"] == "yes", name
        assert i["violates"]["1"] == "no", name
    for name in ("ecall", "ebreak"):
        assert _insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in ("lw", "sd", "jalr", "halt"):
        assert _insn(ctx, name)["classes"]["sensitive"] == "no", name


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, checked):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "riscv-h.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == checked[0] == 0
    assert _verdicts(report) == _verdicts(checked[1])


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
    if program.stem == "guest_kernel_user":
        regs = out["registers"]
        assert regs["a0"] == 42  # 20 + the 22 the hypervisor stored with HSV.D
        assert regs["a1"] == 42  # stored by the process, loaded by the guest kernel
        assert regs["priv"] == 1  # halted by the hypervisor in HS-mode (V = 0, S)
        assert regs["vscause"] == 8  # the process's ecalls went to the guest (hedeleg)
        assert regs["scause"] == 10  # the guest kernel's went to the hypervisor
