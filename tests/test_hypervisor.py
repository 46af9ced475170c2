"""The reference VMM: equivalence where the engine says so, divergence where it does not."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.analysis.engine import check_isa
from vmcheck.cli import main
from vmcheck.hypervisor.campaign import confirm_context
from vmcheck.hypervisor.fuzz import fuzz, image_of, random_program
from vmcheck.hypervisor.lockstep import compare_run
from vmcheck.hypervisor.vmm import CLASSIC, HYBRID, VMM
from vmcheck.machine.assembler import assemble_file
from vmcheck.spec.library import bundled, programs
from vmcheck.spec.load import load_spec


@pytest.fixture(scope="module")
def specs():
    return {n: load_spec(n) for n in ("pg-toy", "pg-toy-broken", "pg-toy-hybrid")}


def run_program(isa, name, kind=CLASSIC):
    prog = assemble_file(isa, next(p for p in programs(isa.name) if p.name == name))
    return compare_run(isa, isa.contexts[0], prog.image, kind=kind)


def test_kernel_user_round_trip_is_equivalent(specs):
    isa = specs["pg-toy"]
    c = run_program(isa, "svc.s")
    assert c.equivalent and c.native_stop == c.virtual_stop == "halted"
    k = c.counters
    assert k.direct > k.emulated_privileged + k.reflected  # most instructions run directly
    assert k.reflected == 2  # the two supervisor calls of the user process reach the guest kernel
    assert k.emulated_privileged == 3  # lpsw x2 and halt, from virtual supervisor mode
    assert not k.breaches


def test_allocator_composes_relocation(specs):
    isa = specs["pg-toy"]
    vmm = VMM(isa, isa.contexts[0])
    vmm.reset()
    real = vmm.machine.state
    assert vmm.alloc.base == isa.storage.size  # guest-physical 0 is real 4096
    assert real.get("rl") == 4096 and real.get("rb") == 4096
    assert real.get("m") == 1  # virtual supervisor runs in real user mode
    assert vmm.vstate.get("m") == 0


def test_getm_diverges_at_the_instruction(specs):
    c = run_program(specs["pg-toy-broken"], "getm.s")
    d = c.divergence
    assert d is not None and d.insn == "getm" and d.step == 0 and d.how == "direct"
    assert [(x.what, x.native, x.virtual) for x in d.differences] == [("r1", 0, 1)]


def test_jrst1_classic_diverges_hybrid_does_not(specs):
    isa = specs["pg-toy-hybrid"]
    assert run_program(isa, "jrst1.s").divergence.insn == "jrst1"
    c = run_program(isa, "jrst1.s", HYBRID)
    assert c.equivalent and c.counters.interpreted >= 2


def test_fuzz_finds_exactly_the_violation_without_being_told(specs):
    report = fuzz(specs["pg-toy-broken"], specs["pg-toy-broken"].contexts[0], kind=CLASSIC, programs=300, seed=7)
    assert report.diverging == {"getm"}
    finding = report.findings[0]
    assert "getm" in finding.listing.splitlines()[-1]


def test_fuzz_is_reproducible(specs):
    isa = specs["pg-toy-hybrid"]
    a = fuzz(isa, isa.contexts[0], kind=CLASSIC, programs=60, seed=3)
    b = fuzz(isa, isa.contexts[0], kind=CLASSIC, programs=60, seed=3)
    assert (a.steps, [f.listing for f in a.findings]) == (b.steps, [f.listing for f in b.findings])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 40))
def test_virtualizable_isa_never_diverges(specs, seed, length):
    import random

    isa = specs["pg-toy"]
    program = random_program(isa, random.Random(seed), length)
    c = compare_run(isa, isa.contexts[0], image_of(isa, program, 16), max_steps=300)
    assert c.equivalent, c.divergence.summary(isa)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 40))
def test_hybrid_vmm_never_diverges_where_theorem_3_holds(specs, seed, length):
    import random

    isa = specs["pg-toy-hybrid"]
    program = random_program(isa, random.Random(seed), length)
    c = compare_run(isa, isa.contexts[0], image_of(isa, program, 16), kind=HYBRID, max_steps=300)
    assert c.equivalent, c.divergence.summary(isa)


def observed_and_engine(name, kind=CLASSIC, fuzz_n=40):
    isa = load_spec(name)
    report = check_isa(isa)
    for ctx in report.contexts:
        conf = confirm_context(
            isa, ctx, kind=kind, programs=programs(name), fuzz_programs=fuzz_n, seed=1, max_steps=2000
        )
        yield ctx.name, conf


@pytest.mark.parametrize("name", sorted(bundled()))
def test_observed_divergences_are_engine_violations(name):
    """Soundness across the library: nothing diverges that the engine proved safe; an
    instruction the engine left unknown (a solver timeout) that diverges is decided so."""
    for ctx, conf in observed_and_engine(name):
        assert conf.agrees, (ctx, conf.contradictions)
        for insn in set(conf.observed) - set(conf.engine_violations):
            assert any(d.startswith(f"{insn} violates") for d in conf.decided), (ctx, insn, conf.decided)


def test_observed_equals_engine_on_pg_toy_broken():
    for _, conf in observed_and_engine("pg-toy-broken", fuzz_n=200):
        assert conf.observed == conf.engine_violations == ["getm"]


def test_confirm_cli_exit_codes_and_json():
    r = CliRunner().invoke(main, ["confirm", "pg-toy", "--fuzz", "50", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    ctx = data["contexts"][0]
    assert ctx["agrees"] and ctx["observed"] == [] and ctx["fuzz"]["programs"] == 50
    assert all(p["equivalent"] for p in ctx["programs"])
    r = CliRunner().invoke(main, ["confirm", "pg-toy-hybrid", "--vmm", "hybrid"])
    assert r.exit_code == 0 and "observation agrees with the engine" in r.output
    r = CliRunner().invoke(main, ["confirm", "pg-toy-broken"])
    assert r.exit_code == 0 and "getm" in r.output


def test_confirm_cli_bad_input(tmp_path):
    bad = tmp_path / "bad.s"
    bad.write_text("        frobnicate r1\n")
    r = CliRunner().invoke(main, ["confirm", "pg-toy", str(bad)])
    assert r.exit_code == 2
    assert f"{bad}:1:9: error:" in r.output and "Traceback" not in r.output
