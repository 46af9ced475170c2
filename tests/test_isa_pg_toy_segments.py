"""pg-toy-segments: Popek & Goldberg's machine with an unmapped supervisor
segment, where Theorem 1 and the exact trap-and-emulate condition part
(isa_specs/pg-toy-segments/README.md, docs/model.md §2.6).

* Theorem 1 (and so 2) fails on the load and the store: they reach the
  segment's physical words in supervisor mode without relocation (location
  sensitive) and run in the guest context at addresses below the segment;
* the exact condition and Theorem 3 hold: in the guest context every segment
  access memory-traps, and below the segment the access goes through the
  view, the same for the real and the virtual machine;
* the sample guest kernel runs to its expected final state, natively and
  under the classic VMM with the same outcome, its segment accesses emulated.

Lint, programs halting and "labels stripped, same verdicts" are checked for
every bundled spec in tests/test_library.py.
"""

from __future__ import annotations

import json

from helpers import check_bundled, context, insn, invoke, run_program, spec_path

NAME = "pg-toy-segments"
CONTEXT = "classic"

SEGMENT_ACCESSES = {"ld", "st"}  # the instructions the segment changes
PRIVILEGED = {"halt", "lpsw", "setr", "getr"}


def test_theorem1_fails_on_segment_accesses(checked):
    code, report = checked
    assert code == 1
    th = context(report, CONTEXT)["theorems"]["1"]
    assert th["holds"] is False and th["unknown"] == []
    assert set(th["violations"]) == SEGMENT_ACCESSES


def test_why_the_store_violates(checked):
    st = insn(context(checked[1], CONTEXT), "st")
    assert st["classes"]["location_sensitive"] == "yes" and st["classes"]["unsafe"] == "no"
    w = st["witnesses"]["location_sensitive"]
    # the same physical write at both states: it does not move with the relocated state
    assert all(any(x["space"] == "phys" for x in s["writes"]) for s in w["states"])


def test_why_the_load_violates(checked):
    ld = insn(context(checked[1], CONTEXT), "ld")
    assert ld["classes"]["location_sensitive"] == "yes"
    assert ld["classes"]["privileged"] == "no"
    assert ld["classes"]["unsafe"] == "no"  # safe under the exact condition
    w = ld["witnesses"]["location_sensitive"]
    s1 = next(s for s in w["states"] if s["label"] == "s1")
    assert s1["mode"] == "supervisor"  # the segment is reached in supervisor mode
    addr = (s1["pre"]["r"][w["operands"]["rs"]] + w["operands"]["off"]) & 0xFFFFFFFF
    assert addr >= 0x800  # ... at a segment address


def test_exact_and_theorem3_hold():
    for theorem in ("exact", "3"):
        code, report = check_bundled(NAME, "--theorem", theorem)
        assert code == 0, theorem
        ctx = context(report, CONTEXT)
        assert ctx["theorems"][theorem]["holds"] is True and ctx["theorems"][theorem]["violations"] == []
    assert "exact condition holds" in ctx["note"]


def test_theorem2_fails_like_theorem1(checked):
    code, report = check_bundled(NAME, "--theorem", "2")
    assert code == 1
    ctx = context(report, CONTEXT)
    assert set(ctx["theorems"]["2"]["violations"]) == set(ctx["theorems"]["1"]["violations"])


def test_classes(checked):
    ctx = context(checked[1], CONTEXT)
    for name in PRIVILEGED:
        assert insn(ctx, name)["classes"]["privileged"] == "yes", name
    assert insn(ctx, "svc")["classes"]["illegal"] == "yes"
    for name in ("li", "add", "sub", "addi", "beq", "jmp"):
        assert insn(ctx, name)["classes"]["sensitive"] == "no", name
    assert checked[1]["label_findings"] == []


def test_the_sample_guest_kernel_final_state():
    out = run_program(NAME, "kernel_segment.s", "--dump-storage")
    assert out["registers"]["m"] == 0  # halted in supervisor mode
    assert out["registers"]["r1"] == 5  # the process's r1: 3, +1, +1
    assert out["storage"]["2048"] == 3  # the counter in the segment: three svc


def test_confirm_segment_accesses_emulated():
    res = invoke("confirm", spec_path(NAME), "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["agrees"] is True
    ctx = out["contexts"][0]
    assert ctx["judged_by"] == "exact"
    prog = next(p for p in ctx["programs"] if p["name"] == "kernel_segment.s")
    assert prog["equivalent"] is True and prog["divergence"] is None
    # every ld/st at a segment address by the deprivileged guest kernel traps
    # and is emulated: 6 per system call (3 calls) = 18
    assert prog["counters"]["emulated_other"] == 18
    assert prog["counters"]["resource_control_breaches"] == 0
