"""Hypercall servicing in the reference VMM, `paravirt --confirm`, and the
translation cost `confirm --vmm translate` shows (issue 18, items 3 and 4).

A paravirtualised guest replaces each violating instance by a hypercall (the
spec's trap instruction with a code); the VMM, given the table code -> original
instance, runs the original on the virtual state. The patched program must
then run under the classic VMM exactly as the original runs natively."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from vmcheck import schemas
from vmcheck.analysis import check_isas
from vmcheck.cli import main
from vmcheck.hypervisor.hypercalls import Hypercall, HypercallTable
from vmcheck.hypervisor.lockstep import compare_run
from vmcheck.hypervisor.vmm import CLASSIC, HYBRID
from vmcheck.machine.assembler import assemble
from vmcheck.remedy.paravirt import hypercall_table, load_program, patched, sites
from vmcheck.spec.library import find_bundled
from vmcheck.spec.load import load_spec

BROKEN = find_bundled("pg-toy-broken")
GETM = BROKEN.parent / "programs" / "getm.s"


def run(args: list[str], codes: tuple[int, ...]):
    r = CliRunner().invoke(main, args)
    assert r.exit_code in codes, (r.exit_code, r.output[-3000:])
    return r


def valid(name: str, doc: dict) -> None:
    errors = list(jsonschema.Draft202012Validator(schemas.load(name)).iter_errors(doc))
    assert not errors, [e.message[:200] for e in errors[:5]]


@pytest.fixture(scope="module")
def getm():
    """pg-toy-broken, its getm program, the patched program and its hypercall table."""
    isa = load_spec(BROKEN)
    prog, text = load_program(isa, GETM)
    rep = check_isas([isa], context="classic")[0]
    report = sites(isa, rep, prog, text, "classic", "1")
    table = hypercall_table(isa, report)
    assert table is not None and table.entry == "svc"
    guest = assemble(isa, patched(text, report), str(GETM))
    return isa, prog, guest, table


# ---- servicing -------------------------------------------------------------------


def test_the_table_is_explicit_code_to_original_instance(getm):
    isa, _, _, table = getm
    (code, call), *rest = table.calls.items()
    assert not rest and code == 0x8000 and call == Hypercall("getm", (1,))
    assert table.lookup("svc", (code,)) == call
    assert table.lookup("svc", (code + 1,)) is None  # no code is guessed
    assert table.lookup("getm", (code,)) is None


@pytest.mark.parametrize("kind", [CLASSIC, HYBRID])
def test_the_vmm_services_a_known_hypercall_with_the_original_instance(getm, kind):
    isa, prog, guest, table = getm
    c = compare_run(isa, isa.context("classic"), prog.image, kind=kind, guest_image=guest.image, hypercalls=table)
    assert c.equivalent, c.divergence
    assert c.counters.hypercalls == 1 and c.native_stop == c.virtual_stop == "halted"


def test_without_servicing_the_patched_program_diverges(getm):
    """The same patched program, its hypercall reflected to the guest as any trap."""
    isa, prog, guest, table = getm
    ctx = isa.context("classic")
    c = compare_run(isa, ctx, prog.image, guest_image=guest.image)
    assert not c.equivalent and c.counters.hypercalls == 0
    unknown = HypercallTable(table.entry, table.operand, {0x8001: Hypercall("getm", (1,))})
    c = compare_run(isa, ctx, prog.image, guest_image=guest.image, hypercalls=unknown)
    assert not c.equivalent and c.counters.hypercalls == 0 and c.counters.reflected >= 1


def test_the_unpatched_program_diverges_under_the_classic_vmm(getm):
    isa, prog, _, _ = getm
    c = compare_run(isa, isa.context("classic"), prog.image)
    assert not c.equivalent and c.divergence is not None and c.divergence.insn == "getm"


# ---- paravirt --confirm ------------------------------------------------------------


def test_paravirt_confirm_shows_the_patched_program_equivalent():
    r = run(["paravirt", "pg-toy-broken", str(GETM), "--confirm"], (0,))
    assert "(1 hypercall(s) serviced) against the original natively: equivalent" in r.stdout
    assert "the original program under the classic VMM: diverged at step 0" in r.stdout
    doc = json.loads(run(["paravirt", "pg-toy-broken", str(GETM), "--confirm", "--format", "json"], (0,)).stdout)
    valid("paravirt", doc)
    conf = doc["confirmation"]
    assert conf["equivalent"] and conf["patched"]["hypercalls"] == 1 and conf["patched"]["divergence"] is None
    assert conf["original"]["equivalent"] is False and "getm" in conf["original"]["divergence"]


def test_paravirt_without_confirm_keeps_its_json_shape():
    doc = json.loads(run(["paravirt", "pg-toy-broken", str(GETM), "--format", "json"], (1,)).stdout)
    assert "confirmation" not in doc


def test_paravirt_confirm_says_when_there_is_no_hypercall_instruction():
    prog = find_bundled("pdp10").parent / "programs" / "monitor_uuo.s"
    r = run(["paravirt", "pdp10", str(prog), "--confirm"], (1,))
    assert "pdp10 has no trap instruction with an immediate operand" in r.stdout
    assert "no patched program to run (pdp10 has no hypercall instruction)" in r.stdout
    doc = json.loads(run(["paravirt", "pdp10", str(prog), "--confirm", "--format", "json"], (1,)).stdout)
    valid("paravirt", doc)
    assert doc["confirmation"]["patched"] is None


# ---- confirm --vmm translate: the cost table --------------------------------------------


def test_confirm_translate_shows_its_cost_against_the_classic_vmm():
    r = run(["confirm", "pg-toy-broken", "--vmm", "translate", "--no-witnesses"], (0, 4))
    text = r.stdout
    assert "translation cost (2 sample program(s), each VMM alone)" in text
    lines = {ln.split()[0]: ln.split() for ln in text.splitlines() if ln.split()[:1] in (["translate"], ["classic"])}
    assert lines["translate"][1:5] == ["27", "1", "7", "0"] and lines["classic"][1:5] == ["27", "-", "6", "-"]
    assert any(ln.startswith("ratio") and "1.17x" in ln for ln in text.splitlines())
    doc = json.loads(
        run(["confirm", "pg-toy-broken", "--vmm", "translate", "--no-witnesses", "--format", "json"], (0, 4)).stdout
    )
    valid("confirm", doc)
    cost = doc["contexts"][0]["cost"]
    assert cost["programs"] == 2
    assert cost["translate"]["translated"] == 1 and cost["translate"]["vmm_entries"] == 7
    assert cost["classic"]["vmm_entries"] == 6 and cost["classic"]["steps"] == cost["translate"]["steps"] == 27
    assert cost["time_ratio"] is not None and cost["time_ratio"] > 0


def test_confirm_classic_has_no_cost_table():
    r = run(["confirm", "pg-toy-broken", "--no-witnesses"], (0, 1, 4))
    assert "translation cost" not in r.stdout
    doc = json.loads(run(["confirm", "pg-toy-broken", "--no-witnesses", "--format", "json"], (0, 1, 4)).stdout)
    assert "cost" not in doc["contexts"][0]


def test_cost_figures_other_than_time_are_the_same_run_to_run():
    def figures() -> dict:
        doc = json.loads(
            run(["confirm", "pg-toy-broken", "--vmm", "translate", "--no-witnesses", "--format", "json"], (0, 4)).stdout
        )
        cost = doc["contexts"][0]["cost"]
        for k in ("translate", "classic"):
            cost[k].pop("seconds")
        cost.pop("time_ratio")
        return cost

    assert figures() == figures()
