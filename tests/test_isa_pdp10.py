"""PDP-10 (KA10): the verdicts the literature gives, derived by the engine
from the spec's semantics (isa_specs/pdp10/README.md).

* Theorem 1 fails, and `jrst` violates it through its AC = 1, 2, 3 instances
  (JRST 1, Popek & Goldberg's example, and JRSTF); `jsr`, `jsp`, `pushj` and
  `luuo` violate it too, by storing the USER flag in the PC word (the
  documented, witnessed difference from the literature's single example);
* Theorem 3 holds (Galley's hybrid VMM), Theorem 2 and the exact condition fail;
* the in-out instructions are privileged;
* a copy of the spec without `labels` gets the same verdicts;
* the sample monitor assembles and runs to its expected final state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "isa_specs" / "pdp10" / "pdp10.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "pdp10" / "programs").glob("*.s"))
CONTEXT = "classic"

# Popek & Goldberg 1974: JRST 1. The README documents the rest with witnesses.
T1_VIOLATIONS = {"jrst", "jsr", "jsp", "pushj", "luuo"}
IN_OUT = ("datai", "datao", "cono", "coni", "consz", "conso")


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _context(report: dict, name: str = CONTEXT) -> dict:
    spec = report["specs"][0] if "specs" in report else report
    return next(c for c in spec["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


@pytest.fixture(scope="module")
def t1():
    return _check(SPEC)


@pytest.mark.slow
def test_theorem1_fails_on_jrst_and_the_pc_word_savers(t1):
    code, report = t1
    assert code == 1
    ctx = _context(report)
    assert ctx["theorems"]["1"]["holds"] is False
    assert set(ctx["theorems"]["1"]["violations"]) == T1_VIOLATIONS
    assert _insn(ctx, "jrst")["mnemonic"] == "JRST"


@pytest.mark.slow
def test_jrst_violates_through_its_mode_changing_instances(t1):
    # The witness names the AC field: 1 (enter user mode), 2 (JRSTF) or 3 (both).
    w = _insn(_context(t1[1]), "jrst")["witnesses"]["violates_1"]
    assert w["operands"]["f"] in (1, 2, 3)


@pytest.mark.slow
@pytest.mark.parametrize(
    "f,violates,privileged",
    [
        (0, "no", "no"),  # JRST: a jump
        (1, "yes", "no"),  # JRST 1: Popek & Goldberg's example
        (2, "yes", "no"),  # JRSTF
        (3, "yes", "no"),
        (4, "no", "yes"),  # halt: illegal in user mode
        (8, "no", "yes"),  # dismiss: illegal in user mode
    ],
)
def test_jrst_instances(f, violates, privileged):
    # One instance of the entry: the AC field fixed, everything else free.
    from vmcheck.analysis import InstructionQueries, classify
    from vmcheck.spec.load import load_spec

    isa = load_spec(SPEC)
    ctx = isa.contexts[0]
    q = InstructionQueries(isa, isa.instruction("jrst"), ctx)
    q.dom = list(q.dom) + [q.ops["f"] == f]
    classes, verdicts = classify(q.run_all(), ctx)
    assert verdicts["1"].value == violates
    assert verdicts["3"].value == "no"
    assert classes["privileged"].value == privileged


@pytest.mark.slow
def test_theorem3_holds():
    code, report = _check(SPEC, "--theorem", "3")
    assert code == 0
    t3 = _context(report)["theorems"]["3"]
    assert t3["holds"] is True and t3["violations"] == []


@pytest.mark.slow
def test_theorem2_and_exact_fail(t1):
    ctx = _context(t1[1])
    assert ctx["theorems"]["2"]["holds"] is False
    assert ctx["theorems"]["exact"]["holds"] is False
    assert set(ctx["theorems"]["exact"]["violations"]) <= set(ctx["theorems"]["1"]["violations"])


@pytest.mark.slow
def test_in_out_instructions_are_privileged(t1):
    ctx = _context(t1[1])
    for name in IN_OUT:
        assert _insn(ctx, name)["classes"]["privileged"] == "yes", name
    muuo = _insn(ctx, "muuo")  # a monitor UUO always traps: never sensitive
    assert muuo["classes"]["sensitive"] == "no" and muuo["violates"]["1"] == "no"


@pytest.mark.slow
def test_labels_stripped_same_verdict(tmp_path, t1):
    data = yaml.safe_load(SPEC.read_text())
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "pdp10.yaml"
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
    res = CliRunner().invoke(main, ["run", str(SPEC), str(program), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["stop"] == "halted"
    if program.stem == "monitor_uuo":
        regs = out["registers"]
        assert regs["tty"] == ord("D")  # the last character the user typed
        assert regs["ac2"] == 0o12  # halted on CALLI 12 (EXIT)
        assert regs["flags"] >> 6 & 3 == 0  # in executive mode
        assert regs["bnd"] == 1 << 18  # unrelocated again
