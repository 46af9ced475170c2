"""x86-32 (Pentium-era protected mode): the verdicts the literature gives,
derived by the engine from the spec's semantics.

* Theorem 1 fails in both guest contexts (`ring3`, `ring1`), and the
  violating mnemonics are Robin & Irvine's eighteen plus IRET, the one
  documented, witnessed disagreement (isa_specs/x86-32/README.md);
* the exact trap-and-emulate condition fails too (issue 9);
* a copy of the spec with every `labels` key removed gets the same verdicts;
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
SPEC = ROOT / "isa_specs" / "x86-32" / "x86-32.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "x86-32" / "programs").glob("*.s"))

# Robin & Irvine (USENIX Security 2000): "seventeen" instructions, eighteen
# mnemonics (PUSH/POP/MOV in their segment-register forms, CALL/JMP/RET far).
ROBIN_IRVINE = {
    "SGDT",
    "SIDT",
    "SLDT",
    "SMSW",
    "PUSHF",
    "POPF",
    "LAR",
    "LSL",
    "VERR",
    "VERW",
    "POP",
    "PUSH",
    "CALL",
    "JMP",
    "INT",
    "RET",
    "STR",
    "MOV",
}
# Documented in the README with its witness: IRET loads IF/IOPL under the
# POPF rule (SDM vol. 2, IRET), so it is sensitive and unprivileged as well.
DOCUMENTED_EXTRA = {"IRET"}
EXPECTED = ROBIN_IRVINE | DOCUMENTED_EXTRA

# Entries that must be innocuous or trap in the guest contexts: the
# non-segment forms of the shared mnemonics, and the privileged and
# IOPL-guarded instructions.
MUST_NOT_VIOLATE = {
    "push_ds",
    "push_es",
    "push_fs",
    "push_gs",
    "push_r",
    "pop_r",
    "mov_r_ds",
    "mov_rr",
    "mov_load",
    "mov_store",
    "call_rel",
    "call_r",
    "ret",
    "jmp_rel",
    "jmp_r",
    "cli",
    "sti",
    "in",
    "out",
    "insd",
    "outsd",
    "hlt",
    "lgdt",
    "lidt",
    "lldt",
    "ltr",
    "mov_r_cr",
    "mov_cr_r",
    "mov_r_dr",
    "mov_dr_r",
    "lmsw",
    "clts",
    "invd",
    "wbinvd",
    "invlpg",
    "rdmsr",
    "wrmsr",
    "rdtsc",
    "rdpmc",
}
CONTEXTS = ("ring3", "ring1")


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _context(report: dict, name: str) -> dict:
    spec = report["specs"][0] if "specs" in report else report
    return next(c for c in spec["contexts"] if c["name"] == name)


def _violating_mnemonics(ctx: dict, theorem: str) -> set[str]:
    mnemonic = {i["name"]: i["mnemonic"] for i in ctx["instructions"]}
    return {mnemonic[v] for v in ctx["theorems"][theorem]["violations"]}


@pytest.fixture(scope="module")
def t1():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_fails(t1):
    code, report = t1
    assert code == 1
    for name in CONTEXTS:
        assert _context(report, name)["theorems"]["1"]["holds"] is False


@pytest.mark.slow
@pytest.mark.parametrize("name", CONTEXTS)
def test_violations_are_robin_and_irvine(t1, name):
    ctx = _context(t1[1], name)
    assert _violating_mnemonics(ctx, "1") == EXPECTED
    assert not (set(ctx["theorems"]["1"]["violations"]) & MUST_NOT_VIOLATE)


@pytest.mark.slow
def test_exact_condition_fails():
    code, report = _check(SPEC, "--theorem", "exact")
    assert code == 1
    for name in CONTEXTS:
        ctx = _context(report, name)
        assert ctx["theorems"]["exact"]["holds"] is False
        # Theorem 1 implies the exact condition: every unsafe instance violates Theorem 1.
        assert set(ctx["theorems"]["exact"]["violations"]) <= set(ctx["theorems"]["1"]["violations"])


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, t1):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "x86-32.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == t1[0] == 1
    for name in CONTEXTS:
        assert _violating_mnemonics(_context(report, name), "1") == _violating_mnemonics(_context(t1[1], name), "1")


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
        assert regs["ebx"] == 42  # the system call doubled it
        assert regs["ecx"] == 0x1B  # CS read at CPL 3
        assert regs["cs"] & 3 == 0  # halted in the kernel
