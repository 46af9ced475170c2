"""ARMv8-A (AArch64, EL0-EL2): the verdicts the engine derives from the spec's
semantics (isa_specs/armv8-a/README.md).

* `el2_traps` (guest kernel at EL1, its processes at EL0, HCR_EL2 with VM,
  IMO/FMO/AMO, TVM, TRVM, TSC, TWI, TWE, TID1-3): every instruction the HCR
  traps exist for traps, Theorem 3 holds, and the only Theorem 1 / exact
  violation is ERET (EL1 to EL0), which ARMv8.0 cannot trap. Whether a mode
  change inside an identity-mapped guest world is a resource change is an
  open question of docs/model.md (README, "ERET and the mode"); the literature's
  verdict (Theorem 1 holds, `vmcheck check armv8-a` exits 0) is an expected
  failure until it is settled.
* `el2_notraps` (the same world, trap controls clear) shows what the traps
  are for: MRS/MSR of the stage-1 and identification registers, WFI, WFE.
* CNTVCT_EL0 is readable at EL1 in both contexts: Theorem 2 fails on MRS.
* A copy without labels gets the same verdicts; the sample guest kernel
  assembles and runs to its expected final state; `confirm` agrees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "armv8-a" / "armv8-a.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "armv8-a" / "programs").glob("*.s"))
THEOREMS = ("1", "2", "3", "exact")
MODE_CHANGE = {"eret"}  # see the module docstring

NOTRAPS = {  # theorem -> violating entries in el2_notraps, besides ERET's mode change
    "1": {"mrs", "msr", "wfi", "wfe"},
    "2": {"mrs", "msr", "wfi", "wfe"},
    "3": {"mrs", "wfi", "wfe"},
    "exact": {"mrs", "msr", "wfi", "wfe"},
}


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    # A generous per-query timeout: the answers take a second or two of CPU, but
    # a shared CI machine can stretch that well past the default 20 s of wall time.
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", "--timeout", "120", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _spec(report: dict) -> dict:
    return report["specs"][0] if "specs" in report else report


def _context(report: dict, name: str) -> dict:
    return next(c for c in _spec(report)["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


def _verdicts(report: dict, name: str) -> dict:
    return {
        t: (v["holds"], set(v["violations"]), set(v["unknown"])) for t, v in _context(report, name)["theorems"].items()
    }


@pytest.fixture(scope="module")
def checked():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_holds(checked):
    code, report = checked
    assert code == 0
    assert _spec(report)["verdict"]["1"]["holds"] is True


@pytest.mark.slow
def test_el2_traps_only_the_mode_change_remains(checked):
    v = _verdicts(checked[1], "el2_traps")
    for t in ("1", "exact"):
        holds, viol, unknown = v[t]
        assert viol <= MODE_CHANGE and not unknown, (t, viol, unknown)
    holds, viol, unknown = v["2"]
    assert viol - MODE_CHANGE == {"mrs"} and not unknown  # CNTVCT_EL0: ARMv8.0 cannot trap it at EL1
    assert v["3"] == (True, set(), set())


@pytest.mark.slow
def test_el2_traps_classes(checked):
    ctx = _context(checked[1], "el2_traps")
    for name in ("mrs", "msr"):
        i = _insn(ctx, name)
        # config sensitive (TVM/TRVM/TID*) and reading control, but every such instance traps
        assert i["classes"]["location_sensitive"] == "yes", name
        assert i["classes"]["privileged"] == "no", name  # TPIDR_EL0, ELR_EL1, DAIF ... run at EL1/EL0
        assert i["violates"]["1"] == "no", name
    for name in ("wfi", "wfe"):
        assert _insn(ctx, name)["classes"]["privileged"] == "yes", name  # TWI / TWE
    for name in ("svc", "hvc", "smc"):
        assert _insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in ("ldtr", "sttr", "msr_daifset", "msr_daifclr", "ldr", "str", "add_imm", "b", "ret", "nop"):
        assert _insn(ctx, name)["classes"]["sensitive"] == "no", name
    eret = _insn(ctx, "eret")
    # EL1 -> EL0 between modes the context maps one-to-one: the guest's own level, no resource
    assert eret["classes"]["control_sensitive"] == "no"
    assert eret["classes"]["unsafe"] == "no"
    assert eret["classes"]["location_sensitive"] == "no"


@pytest.mark.slow
def test_el2_notraps_shows_what_the_traps_are_for(checked):
    v = _verdicts(checked[1], "el2_notraps")
    for t in THEOREMS:
        holds, viol, unknown = v[t]
        assert holds is False and not unknown, t
        assert viol - MODE_CHANGE == NOTRAPS[t], (t, viol)
    ctx = _context(checked[1], "el2_notraps")
    for name in ("wfi", "wfe"):
        assert _insn(ctx, name)["classes"]["privileged"] == "no", name


@pytest.mark.slow
def test_labels_agree_with_the_semantics(checked):
    assert _spec(checked[1])["label_findings"] == []


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, checked):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "armv8-a.yaml"
    stripped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, report = _check(stripped)
    assert code == checked[0]
    for ctx in ("el2_traps", "el2_notraps"):
        assert _verdicts(report, ctx) == _verdicts(checked[1], ctx)


def test_lint():
    res = CliRunner().invoke(main, ["lint", str(SPEC)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs(program):
    from vmcheck.machine import Machine, assemble
    from vmcheck.spec.load import load_spec

    isa = load_spec(SPEC)
    m = Machine(isa)
    m.load_image(assemble(isa, program.read_text(), str(program)).image)
    result = m.run(max_steps=1000)
    assert result.reason == "halted", result
    st = m.state
    assert st.get("x", 0) == 42 and st.get("x", 4) == 42  # x8 = 1 added 20 + 22
    assert (st.get("pstate") >> 2) & 3 == 1  # halted in the guest kernel, EL1
    assert st.get("esr_el1") >> 26 == 0x15  # the last exception was an SVC
    assert m.storage.read(0x100, 8) == 42  # the exit call stored x4


@pytest.mark.slow
def test_confirm_agrees_with_the_engine():
    """No contradiction in any context; el2_traps (exact condition holds) is confirmed. In
    el2_notraps the sample program shows WFI's breach, but without witness replays
    (--no-witnesses) no run shows MRS, MSR, WFE: confirm exits 4, each with its reason."""
    res = CliRunner().invoke(main, ["confirm", str(SPEC), "--no-witnesses", "--format", "json"])
    assert res.exit_code == 4, res.output
    ctxs = {c["context"]: c for c in json.loads(res.output)["contexts"]}
    for ctx in ctxs.values():
        assert ctx["agrees"] and ctx["contradictions"] == [], ctx["contradictions"]
        assert set(ctx["observed"]) <= set(ctx["engine_violations"])
        assert ctx["unconfirmed"] == [n for n in ctx["engine_violations"] if n not in ctx["observed"]]
        assert set(ctx["unconfirmed_reasons"].values()) <= {"no witness replay and no run showed it"}
    assert ctxs["el2_traps"]["engine_violations"] == [] and ctxs["el2_traps"]["unconfirmed"] == []
    assert ctxs["el2_notraps"]["observed"] == ["wfi"] and ctxs["el2_notraps"]["unconfirmed"]
