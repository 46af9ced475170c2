"""PDP-10 (KA10): the verdicts the literature gives, derived by the engine
from the spec's semantics (isa_specs/pdp10/README.md).

* Theorem 1 fails, and `jrst` violates it through its AC = 1, 2, 3 instances
  (JRST 1, Popek & Goldberg's example, and JRSTF); `jsr`, `jsp`, `pushj` and
  `luuo` violate it too, by storing the USER flag in the PC word (the
  documented, witnessed difference from the literature's single example);
* Theorem 3 holds (Galley's hybrid VMM), Theorem 2 and the exact condition fail;
* the in-out instructions are privileged;
* the sample monitor runs to its expected final state.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import pytest
from helpers import check_bundled, context, insn, load_bundled, run_program

NAME = "pdp10"
CONTEXT = "classic"

# Popek & Goldberg 1974: JRST 1. The README documents the rest with witnesses.
T1_VIOLATIONS = {"jrst", "jsr", "jsp", "pushj", "luuo"}
IN_OUT = ("datai", "datao", "cono", "coni", "consz", "conso")


@pytest.mark.slow
def test_theorem1_fails_on_jrst_and_the_pc_word_savers(checked):
    code, report = checked
    assert code == 1
    ctx = context(report, CONTEXT)
    assert ctx["theorems"]["1"]["holds"] is False
    assert set(ctx["theorems"]["1"]["violations"]) == T1_VIOLATIONS
    assert insn(ctx, "jrst")["mnemonic"] == "JRST"


@pytest.mark.slow
def test_jrst_violates_through_its_mode_changing_instances(checked):
    # The witness names the AC field: 1 (enter user mode), 2 (JRSTF) or 3 (both).
    w = insn(context(checked[1], CONTEXT), "jrst")["witnesses"]["violates_1"]
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

    isa = load_bundled(NAME)
    ctx = isa.contexts[0]
    q = InstructionQueries(isa, isa.instruction("jrst"), ctx)
    # In place: the queries' solver holds this list (analysis/solving.py), and
    # operand_domain builds a fresh one per InstructionQueries.
    q.dom.append(q.ops["f"] == f)
    classes, verdicts = classify(q.run_all(), ctx)
    assert verdicts["1"].value == violates
    assert verdicts["3"].value == "no"
    assert classes["privileged"].value == privileged


@pytest.mark.slow
def test_theorem3_holds():
    code, report = check_bundled(NAME, "--theorem", "3")
    assert code == 0
    t3 = context(report, CONTEXT)["theorems"]["3"]
    assert t3["holds"] is True and t3["violations"] == []


@pytest.mark.slow
def test_theorem2_and_exact_fail(checked):
    ctx = context(checked[1], CONTEXT)
    assert ctx["theorems"]["2"]["holds"] is False
    assert ctx["theorems"]["exact"]["holds"] is False
    assert set(ctx["theorems"]["exact"]["violations"]) <= set(ctx["theorems"]["1"]["violations"])


@pytest.mark.slow
def test_in_out_instructions_are_privileged(checked):
    ctx = context(checked[1], CONTEXT)
    for name in IN_OUT:
        assert insn(ctx, name)["classes"]["privileged"] == "yes", name
    muuo = insn(ctx, "muuo")  # a monitor UUO always traps: never sensitive
    assert muuo["classes"]["sensitive"] == "no" and muuo["violates"]["1"] == "no"


def test_the_sample_monitor_final_state():
    regs = run_program(NAME, "monitor_uuo.s")["registers"]
    assert regs["tty"] == ord("D")  # the last character the user typed
    assert regs["ac2"] == 0o12  # halted on CALLI 12 (EXIT)
    assert regs["flags"] >> 6 & 3 == 0  # in executive mode
    assert regs["bnd"] == 1 << 18  # unrelocated again
