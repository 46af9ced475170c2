"""MIPS32 Release 2 without VZ: the verdicts derived from the spec's semantics
(isa_specs/mips32/README.md; docs/literature.md's MIPS32 row; docs/model.md §2.6, §2.8).

* Theorem 1 (and 2) fails in the `deprivileged` context on the loads and
  stores: in kernel mode kseg0/kseg1 reach physical memory without the TLB
  (location sensitive), and the instances run in the guest at kuseg addresses;
* every CP0 instruction (MFC0, MTC0, DI, EI, ERET, the TLB instructions,
  WAIT) and CACHE is privileged there (Coprocessor Unusable, CU0 = 0), and so
  is RDHWR (Reserved Instruction, HWREna = 0); SYSCALL and BREAK are illegal;
* the exact condition and Theorem 3 hold: every access that would behave
  differently raises an address error in user mode;
* an instance with an absolute kseg0 address always traps in the guest, so
  it does not violate Theorem 1 (docs/model.md §2.8);
* the sample kernel runs to its expected final state, natively and under
  the classic VMM with the same outcome.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import json

import pytest
from helpers import check_bundled, context, insn, invoke, run_program, spec_data, spec_path, write_spec_data

NAME = "mips32"
SPEC = spec_path(NAME)
CTX = "deprivileged"

LOADS = {"lb", "lbu", "lh", "lhu", "lw"}
STORES = {"sb", "sh", "sw"}
CP0 = {"mfc0", "mtc0", "di", "ei", "eret", "tlbr", "tlbwi", "tlbwr", "tlbp", "wait", "cache"}
INNOCUOUS = {
    "addu",
    "subu",
    "and",
    "or",
    "xor",
    "nor",
    "slt",
    "sltu",
    "sll",
    "srl",
    "sra",
    "addiu",
    "slti",
    "sltiu",
    "andi",
    "ori",
    "xori",
    "lui",
    "beq",
    "bne",
    "blez",
    "bgtz",
    "bltz",
    "bgez",
    "j",
    "jal",
    "jr",
    "jalr",
}


@pytest.mark.slow
def test_theorem1_fails_on_loads_and_stores(checked):
    code, report = checked
    assert code == 1
    th = context(report, CTX)["theorems"]["1"]
    assert th["holds"] is False and th["unknown"] == []
    assert set(th["violations"]) == LOADS | STORES


@pytest.mark.slow
def test_why_a_load_violates(checked):
    lw = insn(context(checked[1], CTX), "lw")
    assert lw["classes"]["location_sensitive"] == "yes"
    assert lw["classes"]["unsafe"] == "no"
    w = lw["witnesses"]["location_sensitive"]
    s1 = next(s for s in w["states"] if s["label"] == "s1")
    assert s1["mode"] != "user"  # kernel mode ...
    addr = (s1["pre"]["gpr"][w["operands"]["base"]] + w["operands"]["off"]) & 0xFFFFFFFF
    assert 0x80000000 <= addr < 0xC0000000 or (addr < 0x80000000 and "erl" in s1["mode"])  # ... unmapped


@pytest.mark.slow
def test_why_a_store_violates(checked):
    sw = insn(context(checked[1], CTX), "sw")
    assert sw["classes"]["location_sensitive"] == "yes" and sw["classes"]["unsafe"] == "no"
    w = sw["witnesses"]["location_sensitive"]
    s1 = next(s for s in w["states"] if s["label"] == "s1")
    assert s1["mode"] != "user"
    assert any(x["space"] == "phys" for x in s1["writes"])  # an untranslated write


@pytest.mark.slow
def test_exact_and_theorem3_hold():
    for theorem in ("exact", "3"):
        code, report = check_bundled(NAME, "--theorem", theorem)
        assert code == 0, theorem
        ctx = context(report, CTX)
        assert ctx["theorems"][theorem]["holds"] is True and ctx["theorems"][theorem]["violations"] == []
    assert "exact condition holds" in ctx["note"]


@pytest.mark.slow
def test_theorem2_fails_like_theorem1():
    code, report = check_bundled(NAME, "--theorem", "2")
    assert code == 1
    ctx = context(report, CTX)
    assert set(ctx["theorems"]["2"]["violations"]) == set(ctx["theorems"]["1"]["violations"])
    assert insn(ctx, "rdhwr")["classes"]["timing_dependent"] == "no"  # HWREna = 0 in the context


@pytest.mark.slow
def test_classes(checked):
    ctx = context(checked[1], CTX)
    for name in CP0 | {"rdhwr"}:
        cls = insn(ctx, name)["classes"]
        assert cls["privileged"] == "yes", name
        assert insn(ctx, name)["violates"]["1"] == "no", name
    for name in ("mtc0", "eret", "tlbwi", "tlbwr", "di", "ei"):
        assert insn(ctx, name)["classes"]["control_sensitive"] == "yes", name
    for name in ("syscall", "break"):
        assert insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in INNOCUOUS:
        assert insn(ctx, name)["classes"]["sensitive"] == "no", name
    assert checked[1]["label_findings"] == []


def test_absolute_kseg0_instance_always_traps(tmp_path):
    """docs/model.md §2.8: a load whose address is fixed in kseg0 is location
    sensitive but raises an address error at every guest state, so it does
    not violate Theorem 1. (A 16-bit offset from $zero cannot reach kseg0, so
    the instance is written as its own entry.)"""
    from vmcheck.analysis.engine import check_isa
    from vmcheck.spec.load import load_spec

    data = spec_data(SPEC)
    data["instructions"]["lw_kseg0"] = {
        "operands": [{"rt": "reg(gpr)"}, {"off": "uimm16"}],
        "syntax": "lw_kseg0 ${rt}, {off}",
        "semantics": "let a = 0x80000000 + zext(off, 32)\ncheck_load(a, 3)\ngpr[rt] = load32(a)\n",
    }
    path = write_spec_data(data, tmp_path / "mips32.yaml")
    report = check_isa(load_spec(str(path)), use_cache=False, jobs=1, instructions=["lw_kseg0", "lw"])
    rs = {r.name: r for r in report.contexts[0].instructions}
    k = rs["lw_kseg0"]
    assert k.classes["location_sensitive"].value == "yes"
    assert k.violates["1"].value == "no" and k.violates["exact"].value == "no"
    assert rs["lw"].violates["1"].value == "yes"


def test_the_sample_kernel_final_state():
    out = run_program(NAME, "kernel_syscall.s", "--dump-storage")
    regs = out["registers"]
    assert (regs["s0"], regs["s1"]) == (1, 2)  # answers of the two counting calls
    assert regs["c0_status"] & 0x1E == 0x12  # stopped in the handler: UM with EXL
    assert regs["c0_cause"] >> 2 & 0x1F == 8  # the last exception: Sys
    word = sum(out["storage"].get(str(0x1000 + k), 0) << (8 * k) for k in range(4))
    assert word == 3  # the kseg0 counter, physical 0x1000


@pytest.mark.slow
def test_confirm_kseg0_accesses_emulated():
    res = invoke("confirm", SPEC, "--format", "json", "--no-witnesses")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["agrees"] is True
    ctx = out["contexts"][0]
    assert ctx["judged_by"] == "exact"
    prog = next(p for p in ctx["programs"] if p["name"] == "kernel_syscall.s")
    assert prog["equivalent"] is True and prog["divergence"] is None
    # the kseg0 accesses of the deprivileged guest kernel (one sw at boot, an
    # lw and an sw per system call) raise address errors and are emulated
    assert prog["counters"]["emulated_other"] == 7
    assert prog["counters"]["resource_control_breaches"] == 0


@pytest.mark.slow
def test_confirm_fuzz_no_divergence():
    res = invoke("confirm", SPEC, "--format", "json", "--no-witnesses", "--fuzz", "300")
    out = json.loads(res.output)
    fuzz = out["contexts"][0]["fuzz"]
    assert fuzz["counters"]["resource_control_breaches"] == 0
    assert fuzz["counters"]["emulated_other"] > 0  # kernel-segment accesses, emulated
    assert res.exit_code == 0 and out["agrees"] is True, res.output
