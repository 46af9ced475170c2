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
* a copy without `labels` gets the same verdicts; the sample kernel runs
  natively and under the classic VMM with the same outcome.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "mips32" / "mips32.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "mips32" / "programs").glob("*.s"))
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


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads `off` and `on` as booleans (YAML 1.1); the spec means names."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _spec_data() -> dict:
    return yaml.load(SPEC.read_text(), Loader=_Yaml12Loader)


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _context(report: dict, name: str = CTX) -> dict:
    return next(c for c in report["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


@pytest.fixture(scope="module")
def t1():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_fails_on_loads_and_stores(t1):
    code, report = t1
    assert code == 1
    th = _context(report)["theorems"]["1"]
    assert th["holds"] is False and th["unknown"] == []
    assert set(th["violations"]) == LOADS | STORES


@pytest.mark.slow
def test_why_a_load_violates(t1):
    lw = _insn(_context(t1[1]), "lw")
    assert lw["classes"]["location_sensitive"] == "yes"
    assert lw["classes"]["unsafe"] == "no"
    w = lw["witnesses"]["location_sensitive"]
    s1 = next(s for s in w["states"] if s["label"] == "s1")
    assert s1["mode"] != "user"  # kernel mode ...
    addr = (s1["pre"]["gpr"][w["operands"]["base"]] + w["operands"]["off"]) & 0xFFFFFFFF
    assert 0x80000000 <= addr < 0xC0000000 or (addr < 0x80000000 and "erl" in s1["mode"])  # ... unmapped


@pytest.mark.slow
def test_why_a_store_violates(t1):
    sw = _insn(_context(t1[1]), "sw")
    assert sw["classes"]["location_sensitive"] == "yes" and sw["classes"]["unsafe"] == "no"
    w = sw["witnesses"]["location_sensitive"]
    s1 = next(s for s in w["states"] if s["label"] == "s1")
    assert s1["mode"] != "user"
    assert any(x["space"] == "phys" for x in s1["writes"])  # an untranslated write


@pytest.mark.slow
def test_exact_and_theorem3_hold():
    for theorem in ("exact", "3"):
        code, report = _check(SPEC, "--theorem", theorem)
        assert code == 0, theorem
        ctx = _context(report)
        assert ctx["theorems"][theorem]["holds"] is True and ctx["theorems"][theorem]["violations"] == []
    assert "exact condition holds" in ctx["note"]


@pytest.mark.slow
def test_theorem2_fails_like_theorem1():
    code, report = _check(SPEC, "--theorem", "2")
    assert code == 1
    ctx = _context(report)
    assert set(ctx["theorems"]["2"]["violations"]) == set(ctx["theorems"]["1"]["violations"])
    assert _insn(ctx, "rdhwr")["classes"]["timing_dependent"] == "no"  # HWREna = 0 in the context


@pytest.mark.slow
def test_classes(t1):
    ctx = _context(t1[1])
    for name in CP0 | {"rdhwr"}:
        cls = _insn(ctx, name)["classes"]
        assert cls["privileged"] == "yes", name
        assert _insn(ctx, name)["violates"]["1"] == "no", name
    for name in ("mtc0", "eret", "tlbwi", "tlbwr", "di", "ei"):
        assert _insn(ctx, name)["classes"]["control_sensitive"] == "yes", name
    for name in ("syscall", "break"):
        assert _insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in INNOCUOUS:
        assert _insn(ctx, name)["classes"]["sensitive"] == "no", name
    assert t1[1]["label_findings"] == []


def test_absolute_kseg0_instance_always_traps(tmp_path):
    """docs/model.md §2.8: a load whose address is fixed in kseg0 is location
    sensitive but raises an address error at every guest state, so it does
    not violate Theorem 1. (A 16-bit offset from $zero cannot reach kseg0, so
    the instance is written as its own entry.)"""
    from vmcheck.analysis.engine import check_isa
    from vmcheck.spec.load import load_spec

    data = _spec_data()
    data["instructions"]["lw_kseg0"] = {
        "operands": [{"rt": "reg(gpr)"}, {"off": "uimm16"}],
        "syntax": "lw_kseg0 ${rt}, {off}",
        "semantics": "let a = 0x80000000 + zext(off, 32)\ncheck_load(a, 3)\ngpr[rt] = load32(a)\n",
    }
    path = tmp_path / "mips32.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    report = check_isa(load_spec(str(path)), use_cache=False, jobs=1, instructions=["lw_kseg0", "lw"])
    rs = {r.name: r for r in report.contexts[0].instructions}
    k = rs["lw_kseg0"]
    assert k.classes["location_sensitive"].value == "yes"
    assert k.violates["1"].value == "no" and k.violates["exact"].value == "no"
    assert rs["lw"].violates["1"].value == "yes"


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, t1):
    data = _spec_data()
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "mips32.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == t1[0] == 1
    for t in ("1", "2", "3", "exact"):
        got, want = _context(report)["theorems"][t], _context(t1[1])["theorems"][t]
        assert (got["holds"], set(got["violations"])) == (want["holds"], set(want["violations"])), t


def test_lint():
    res = CliRunner().invoke(main, ["lint", str(SPEC)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs(program):
    res = CliRunner().invoke(main, ["run", str(SPEC), str(program), "--format", "json", "--dump-storage"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["stop"] == "halted"
    if program.stem == "kernel_syscall":
        regs = out["registers"]
        assert (regs["s0"], regs["s1"]) == (1, 2)  # answers of the two counting calls
        assert regs["c0_status"] & 0x1E == 0x12  # stopped in the handler: UM with EXL
        assert regs["c0_cause"] >> 2 & 0x1F == 8  # the last exception: Sys
        word = sum(out["storage"].get(str(0x1000 + k), 0) << (8 * k) for k in range(4))
        assert word == 3  # the kseg0 counter, physical 0x1000


@pytest.mark.slow
def test_confirm_kseg0_accesses_emulated():
    res = CliRunner().invoke(main, ["confirm", str(SPEC), "--format", "json", "--no-witnesses"])
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
    res = CliRunner().invoke(main, ["confirm", str(SPEC), "--format", "json", "--no-witnesses", "--fuzz", "300"])
    out = json.loads(res.output)
    fuzz = out["contexts"][0]["fuzz"]
    assert fuzz["counters"]["resource_control_breaches"] == 0
    assert fuzz["counters"]["emulated_other"] > 0  # kernel-segment accesses, emulated
    assert res.exit_code == 0 and out["agrees"] is True, res.output
