"""The reference VMM judges soundly: issue 19 (a guest leaving its context, a breach
blamed on its instruction) and issue 12 items 8–11 (traps only, real state built
from the context, fuzzing every mode and the witnesses' operands, judging against
every verdict). Each machine is a small spec on pg-toy's storage and trap delivery."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.analysis import NO, UNKNOWN, check_isa
from vmcheck.analysis.results import Answer
from vmcheck.cli import main
from vmcheck.errors import InternalError
from vmcheck.hypervisor.campaign import confirm_context
from vmcheck.hypervisor.confirm import compare_run
from vmcheck.hypervisor.fuzz import fuzz
from vmcheck.hypervisor.vmm import CLASSIC, HYBRID, VMM
from vmcheck.machine.assembler import assemble
from vmcheck.semantics.concrete import compile_condition
from vmcheck.semantics.state import Layout, State
from vmcheck.spec.load import load_spec

sys.path.insert(0, str(Path(__file__).parent))
from vmm_machines import write_machine

LI = "r[rd] = sext(imm, 32)"
PG2 = dict(modes=["supervisor", "user"], context={"supervisor": "user", "user": "user"})


def _load(tmp_path, name, **kw):
    return load_spec(str(write_machine(tmp_path, name, **kw)))


def _report(isa):
    return check_isa(isa, jobs=1, use_cache=False)


def _run(isa, source: str, kind=CLASSIC, mode: str | None = None, max_steps=100):
    """Assemble `source` and run it natively and under the VMM, from the reset state
    with the virtual mode set to `mode`."""
    prog = assemble(isa, source, "<test>")
    start = None
    if mode is not None:
        vmm = VMM(isa, isa.contexts[0], kind)
        vmm.reset()
        start = State(Layout.of(isa))
        start.v[:] = vmm.vstate.v
        start.set("m", isa.modes.code(mode))
    return compare_run(isa, isa.contexts[0], prog.image, kind=kind, start=start, max_steps=max_steps)


# ---------------------------------------------------------------------------
# Issue 19
# ---------------------------------------------------------------------------


def _gate_compress(tmp_path):
    return write_machine(
        tmp_path,
        "gate-compress",
        modes=["supervisor", "kernel", "user"],
        context={"supervisor": "kernel", "user": "user"},
        instructions={"li": LI, "gate0": "require m == supervisor else PRIV\nm = kernel\npc = 64\n"},
    )


def test_issue19_1_a_replayed_witness_that_leaves_the_context_is_reported_not_a_crash(tmp_path):
    """Theorem 1 holds; the emulation of gate0 takes the guest to virtual mode kernel,
    which the context does not map. That ends the run (a limit of the context: the VMM
    had control through the trap), the same way in replays, programs and fuzzing."""
    spec = str(_gate_compress(tmp_path))
    assert CliRunner().invoke(main, ["check", spec]).exit_code == 0
    r = CliRunner().invoke(main, ["confirm", spec, "--fuzz", "30", "--format", "json"])
    assert r.exit_code == 0, r.output
    ctx = json.loads(r.output)["contexts"][0]
    assert ctx["agrees"] and not ctx["contradictions"]
    gate = next(x for x in ctx["replays"] if x["instruction"] == "gate0")
    assert not gate["diverged"] and "left the context" in gate["note"]
    assert ctx["left_context"] > 0  # fuzzed guests that ran gate0 from virtual supervisor
    r = CliRunner().invoke(main, ["confirm", spec])
    assert r.exit_code == 0 and "a limit of the context" in r.output.replace("\n", " ")


def _setr_open(tmp_path):
    return _load(
        tmp_path,
        "setr-open",
        **PG2,
        instructions={
            "li": LI,
            "setr": "rl = r[rs]\nrb = r[rt]\n",
            "getb": "require m == supervisor else PRIV\nr[rd] = rb\n",
        },
    )


def test_issue19_2_a_breach_is_blamed_on_the_instruction_that_made_it(tmp_path):
    """The unguarded setr hands the real bounds to the guest; the register difference
    shows only at a later getb. The breach is setr's, where the run ends."""
    isa = _setr_open(tmp_path)
    c = _run(isa, "        .org 16\n        li r1, 4096\n        setr r2, r1\n        getb r4\n")
    d = c.divergence
    assert d is not None and d.insn == "setr" and d.breach is not None and d.step == 1
    assert "rl" in d.breach.elements
    conf = confirm_context(isa, _report(isa).contexts[0], fuzz_programs=100, seed=0, max_steps=200)
    assert conf.observed == ["setr"] and conf.agrees, conf.contradictions


# ---------------------------------------------------------------------------
# Issue 12, item 8: the VMM learns of the guest only at traps
# ---------------------------------------------------------------------------


def _gate_identity(tmp_path):
    """Issue 12 hole 2: identity map with a pinned hypervisor bit, an unprivileged gate
    from user to supervisor, and setr guarded by the mode alone."""
    return _load(
        tmp_path,
        "gate-identity",
        modes=["supervisor", "user"],
        context={"supervisor": "supervisor", "user": "user"},
        where="hv == 1",
        control={"hv": 1},
        host="m == supervisor && hv == 0",
        instructions={
            "li": LI,
            "gate1": "if m == user {\n  m = supervisor\n  pc = 64\n}\n",
            "setr": "require m == supervisor else PRIV\nrl = r[rs]\nrb = r[rt]\n",
        },
    )


GATE_PROGRAM = "        .org 16\n        gate1\n        .org 64\n        li r1, 0\n        setr r1, r1\n"


def test_item8_hybrid_vmm_does_not_follow_a_mode_change_it_was_not_told_of(tmp_path):
    """gate1 leaves virtual user mode without a trap: a hybrid VMM that only learns at
    traps cannot notice, so the breach shows at gate1 (before: the VMM read the real
    mode and followed it, and the run looked equivalent)."""
    isa = _gate_identity(tmp_path)
    c = _run(isa, GATE_PROGRAM, HYBRID, mode="user")
    d = c.divergence
    assert d is not None and d.insn == "gate1" and d.breach is not None, c
    assert d.breach.elements == ("m (mode user -> supervisor)",)


def test_item8_classic_vmm_lets_the_guest_change_between_self_mapped_modes(tmp_path):
    """Under the classic rules gate1's change is the guest's own (both modes map to
    themselves): not a breach; setr, then run directly in real supervisor, is."""
    isa = _gate_identity(tmp_path)
    c = _run(isa, GATE_PROGRAM, CLASSIC, mode="user")
    d = c.divergence
    assert d is not None and d.insn == "setr" and d.breach is not None, c


def test_item8_no_follow_mode_left_in_the_vmm():
    from vmcheck.hypervisor import allocator, vmm

    assert not hasattr(allocator.ControlMap, "follow_mode")
    assert "follow_mode" not in Path(vmm.__file__).read_text()


# ---------------------------------------------------------------------------
# Issue 12, item 9: the real state is the VMM's, and satisfies the invariants
# ---------------------------------------------------------------------------


def _vax_like(tmp_path, invariant="m == kernel || ipl == 0"):
    return _load(
        tmp_path,
        "vax-like",
        modes=["kernel", "user"],
        context={"kernel": "user", "user": "user"},
        control={"ipl": 5},
        invariants=[invariant],
        reset={"ipl": 31},
        instructions={"li": LI, "mfipl": "r[rd] = zext(ipl, 32)"},
    )


def test_item9_real_state_satisfies_the_invariants_and_is_not_the_guests(tmp_path):
    """The guest kernel boots at IPL 31; its real mode is user, where IPL must be 0.
    Copying the guest's IPL broke the invariant and hid mfipl's divergence."""
    isa = _vax_like(tmp_path)
    vmm = VMM(isa, isa.contexts[0])
    vmm.reset()
    assert vmm.vstate.get("ipl") == 31 and vmm.machine.state.get("ipl") == 0
    assert all(compile_condition(isa, inv)(vmm.machine.state) for inv in isa.invariants)
    c = _run(isa, "        .org 16\n        mfipl r1\n")
    assert c.divergence is not None and c.divergence.insn == "mfipl"
    assert [(x.what, x.native, x.virtual) for x in c.divergence.differences] == [("r1", 31, 0)]


def test_item9_a_real_state_that_breaks_an_invariant_is_an_internal_error(tmp_path):
    isa = _vax_like(tmp_path, invariant="m == kernel || ipl == 7")  # no value the VMM may choose fits
    vmm = VMM(isa, isa.contexts[0])
    with pytest.raises(InternalError, match="invariants"):
        vmm.reset()


# ---------------------------------------------------------------------------
# Issue 12, item 10: fuzzing reaches user mode and the witnesses' operand values
# ---------------------------------------------------------------------------


def test_item10_fuzzed_guests_start_in_user_mode_too(tmp_path):
    """A relocation write made only from user mode: the hybrid VMM runs user mode
    directly, so only a guest that is in user mode can show it."""
    isa = _load(
        tmp_path,
        "user-setr",
        **PG2,
        instructions={
            "li": LI,
            "usetr": "if m == user { rl = r[rs] }\n",
            "lpsw": "require m == supervisor else PRIV\nm = user\n",
        },
    )
    report = fuzz(isa, isa.contexts[0], kind=HYBRID, programs=40, seed=0)
    assert report.diverging == {"usetr"}
    assert report.counters["direct"] > 0


def test_item10_fuzzing_samples_the_operand_values_the_witnesses_name(tmp_path):
    isa = _load(tmp_path, "csr-hole", **PG2, instructions={"li": LI, "wcr": "if csr == 0x5a3 { rb = r[rs] }\n"})
    rep = _report(isa)
    assert rep.contexts[0].theorems["exact"].violations == ["wcr"]
    conf = confirm_context(isa, rep.contexts[0], fuzz_programs=40, seed=0, max_steps=100, witnesses=False)
    assert conf.observed == ["wcr"] and conf.agrees


# ---------------------------------------------------------------------------
# Issue 12, item 11: judged against every verdict; exit codes
# ---------------------------------------------------------------------------


def _pretend(ctx, insn: str, theorem: str, value: str):
    """Make the engine's answer for `insn` and `theorem` `value` (a fault injected into the verdict)."""
    r = ctx.instruction(insn)
    r.violates[theorem] = Answer(value, "injected by the test", "proof" if value == NO else "timeout")
    t = ctx.theorems[theorem]
    t.violations = [v for v in t.violations if v != insn]
    if value == UNKNOWN:
        t.unknown = sorted({*t.unknown, insn})
        t.holds = None
    elif not t.violations:
        t.holds = True


def test_item11_a_breach_where_theorem_1_holds_is_a_contradiction(tmp_path):
    isa = _setr_open(tmp_path)
    ctx = _report(isa).contexts[0]
    _pretend(ctx, "setr", "1", NO)  # the exact condition still says setr is unsafe
    conf = confirm_context(isa, ctx, fuzz_programs=20, seed=0, max_steps=100)
    assert not conf.agrees
    assert any("setr" in c and "Theorem 1" in c for c in conf.contradictions), conf.contradictions


def test_item11_a_divergence_at_an_unknown_class_decides_it(tmp_path):
    isa = _setr_open(tmp_path)
    ctx = _report(isa).contexts[0]
    _pretend(ctx, "setr", "exact", UNKNOWN)
    conf = confirm_context(isa, ctx, fuzz_programs=20, seed=0, max_steps=100)
    assert conf.agrees, conf.contradictions
    assert any(d.startswith("setr violates the exact condition") for d in conf.decided)
    assert not any("proved" in c for c in conf.contradictions)


def test_item11_exit_codes_tell_confirmed_from_not_reproduced(tmp_path):
    """A violation whose witness needs real control state the VMM never gives a guest
    (a debug flag that only the host sets; only virtual supervisor mode is run, so the
    virtual side never takes the branch) is not reproduced: exit 4, with the reason."""
    confirmed = str(
        write_machine(tmp_path, "setr-open2", **PG2, instructions={"li": LI, "setr": "rl = r[rs]\nrb = r[rt]\n"})
    )
    r = CliRunner().invoke(main, ["confirm", confirmed, "--fuzz", "20"])
    assert r.exit_code == 0, r.output
    hidden = str(
        write_machine(
            tmp_path,
            "dbg",
            modes=["supervisor", "user"],
            context={"supervisor": "user"},
            control={"dbg": 1},
            instructions={"li": LI, "rdx": "if m == user && dbg == 1 { rl = r[rs] }"},
        )
    )
    r = CliRunner().invoke(main, ["confirm", hidden, "--format", "json"])
    assert r.exit_code == 4, r.output
    ctx = json.loads(r.output)["contexts"][0]
    assert ctx["agrees"] and ctx["unconfirmed"] == ["rdx"]
    assert "control state this VMM does not give the guest" in ctx["unconfirmed_reasons"]["rdx"]
    help_text = CliRunner().invoke(main, ["confirm", "--help"]).output
    assert re.search(r"\b4\s+no contradiction, but some violations were not reproduced", help_text)


# ---------------------------------------------------------------------------
# Stretch (issue 13.5): fuzz sharded over processes, same results
# ---------------------------------------------------------------------------


def test_fuzz_jobs_give_identical_results():
    r1 = CliRunner().invoke(main, ["confirm", "pg-toy-broken", "--fuzz", "60", "--jobs", "1", "--format", "json"])
    r3 = CliRunner().invoke(main, ["confirm", "pg-toy-broken", "--fuzz", "60", "--jobs", "3", "--format", "json"])
    assert r1.exit_code == r3.exit_code == 0, (r1.output, r3.output)
    f1, f3 = (json.loads(r.output)["contexts"][0]["fuzz"] for r in (r1, r3))
    assert f1 == f3 and f1["findings"]
