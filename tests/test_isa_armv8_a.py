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
* The sample guest kernel runs to its expected final state; `confirm` agrees.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import json

import pytest
from helpers import THEOREMS, context, insn, invoke, load_bundled, spec_path, verdicts

NAME = "armv8-a"

MODE_CHANGE = {"eret"}  # see the module docstring

NOTRAPS = {  # theorem -> violating entries in el2_notraps, besides ERET's mode change
    "1": {"mrs", "msr", "wfi", "wfe"},
    "2": {"mrs", "msr", "wfi", "wfe"},
    "3": {"mrs", "wfi", "wfe"},
    "exact": {"mrs", "msr", "wfi", "wfe"},
}


@pytest.mark.slow
def test_el2_traps_only_the_mode_change_remains(checked):
    v = verdicts(checked[1], "el2_traps", unknown=True)
    for t in ("1", "exact"):
        holds, viol, unknown = v[t]
        assert viol <= MODE_CHANGE and not unknown, (t, viol, unknown)
    holds, viol, unknown = v["2"]
    assert viol - MODE_CHANGE == {"mrs"} and not unknown  # CNTVCT_EL0: ARMv8.0 cannot trap it at EL1
    assert v["3"] == (True, set(), set())


@pytest.mark.slow
def test_el2_traps_classes(checked):
    ctx = context(checked[1], "el2_traps")
    for name in ("mrs", "msr"):
        i = insn(ctx, name)
        # config sensitive (TVM/TRVM/TID*) and reading control, but every such instance traps
        assert i["classes"]["location_sensitive"] == "yes", name
        assert i["classes"]["privileged"] == "no", name  # TPIDR_EL0, ELR_EL1, DAIF ... run at EL1/EL0
        assert i["violates"]["1"] == "no", name
    for name in ("wfi", "wfe"):
        assert insn(ctx, name)["classes"]["privileged"] == "yes", name  # TWI / TWE
    for name in ("svc", "hvc", "smc"):
        assert insn(ctx, name)["classes"]["illegal"] == "yes", name
    for name in ("ldtr", "sttr", "msr_daifset", "msr_daifclr", "ldr", "str", "add_imm", "b", "ret", "nop"):
        assert insn(ctx, name)["classes"]["sensitive"] == "no", name
    eret = insn(ctx, "eret")
    # EL1 -> EL0 between modes the context maps one-to-one: the guest's own level, no resource
    assert eret["classes"]["control_sensitive"] == "no"
    assert eret["classes"]["unsafe"] == "no"
    assert eret["classes"]["location_sensitive"] == "no"


@pytest.mark.slow
def test_el2_notraps_shows_what_the_traps_are_for(checked):
    v = verdicts(checked[1], "el2_notraps", unknown=True)
    for t in THEOREMS:
        holds, viol, unknown = v[t]
        assert holds is False and not unknown, t
        assert viol - MODE_CHANGE == NOTRAPS[t], (t, viol)
    ctx = context(checked[1], "el2_notraps")
    for name in ("wfi", "wfe"):
        assert insn(ctx, name)["classes"]["privileged"] == "no", name


def test_the_sample_guest_kernel_final_state():
    from vmcheck.machine import Machine, assemble

    isa = load_bundled(NAME)
    program = spec_path(NAME).parent / "programs" / "guest_kernel.s"
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
    res = invoke("confirm", spec_path(NAME), "--no-witnesses", "--format", "json")
    assert res.exit_code == 4, res.output
    ctxs = {c["context"]: c for c in json.loads(res.output)["contexts"]}
    for ctx in ctxs.values():
        assert ctx["agrees"] and ctx["contradictions"] == [], ctx["contradictions"]
        assert set(ctx["observed"]) <= set(ctx["engine_violations"])
        assert ctx["unconfirmed"] == [n for n in ctx["engine_violations"] if n not in ctx["observed"]]
        assert set(ctx["unconfirmed_reasons"].values()) <= {"no witness replay and no run showed it"}
    assert ctxs["el2_traps"]["engine_violations"] == [] and ctxs["el2_traps"]["unconfirmed"] == []
    assert ctxs["el2_notraps"]["observed"] == ["wfi"] and ctxs["el2_notraps"]["unconfirmed"]
