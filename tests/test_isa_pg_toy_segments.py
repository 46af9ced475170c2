"""pg-toy-segments: Popek & Goldberg's machine with an unmapped supervisor
segment, where Theorem 1 and the exact trap-and-emulate condition part
(isa_specs/pg-toy-segments/README.md, docs/model.md §2.6).

* Theorem 1 (and so 2) fails on the load and the store: they reach the
  segment's physical words in supervisor mode without relocation (location
  sensitive) and run in the guest context at addresses below the segment;
* the exact condition and Theorem 3 hold: in the guest context every segment
  access memory-traps, and below the segment the access goes through the
  view, the same for the real and the virtual machine;
* a copy without `labels` gets the same verdicts;
* the sample guest kernel runs natively and under the classic VMM with the
  same outcome, its segment accesses emulated.
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
SPEC = ROOT / "isa_specs" / "pg-toy-segments" / "pg-toy-segments.yaml"
PROGRAMS = sorted((ROOT / "isa_specs" / "pg-toy-segments" / "programs").glob("*.s"))

SEGMENT_ACCESSES = {"ld", "st"}  # the instructions the segment changes
PRIVILEGED = {"halt", "lpsw", "setr", "getr"}


def _check(spec: Path, *args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(main, ["check", str(spec), "--format", "json", *args])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.output)


def _context(report: dict, name: str = "classic") -> dict:
    return next(c for c in report["contexts"] if c["name"] == name)


def _insn(ctx: dict, name: str) -> dict:
    return next(i for i in ctx["instructions"] if i["name"] == name)


@pytest.fixture(scope="module")
def t1():
    return _check(SPEC)


def test_theorem1_fails_on_segment_accesses(t1):
    code, report = t1
    assert code == 1
    th = _context(report)["theorems"]["1"]
    assert th["holds"] is False and th["unknown"] == []
    assert set(th["violations"]) == SEGMENT_ACCESSES


def test_why_the_store_violates(t1):
    st = _insn(_context(t1[1]), "st")
    assert st["classes"]["location_sensitive"] == "yes" and st["classes"]["unsafe"] == "no"
    w = st["witnesses"]["location_sensitive"]
    # the same physical write at both states: it does not move with the relocated state
    assert all(any(x["space"] == "phys" for x in s["writes"]) for s in w["states"])


def test_why_the_load_violates(t1):
    ld = _insn(_context(t1[1]), "ld")
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
        code, report = _check(SPEC, "--theorem", theorem)
        assert code == 0, theorem
        ctx = _context(report)
        assert ctx["theorems"][theorem]["holds"] is True and ctx["theorems"][theorem]["violations"] == []
    assert "exact condition holds" in ctx["note"]


def test_theorem2_fails_like_theorem1(t1):
    code, report = _check(SPEC, "--theorem", "2")
    assert code == 1
    ctx = _context(report)
    assert set(ctx["theorems"]["2"]["violations"]) == set(ctx["theorems"]["1"]["violations"])


def test_classes(t1):
    ctx = _context(t1[1])
    for name in PRIVILEGED:
        assert _insn(ctx, name)["classes"]["privileged"] == "yes", name
    assert _insn(ctx, "svc")["classes"]["illegal"] == "yes"
    for name in ("li", "add", "sub", "addi", "beq", "jmp"):
        assert _insn(ctx, name)["classes"]["sensitive"] == "no", name
    assert t1[1]["label_findings"] == []


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads `off` and `on` as booleans (YAML 1.1); the spec means names."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def test_labels_stripped_same_verdict(tmp_path, t1):
    data = yaml.load(SPEC.read_text(), Loader=_Yaml12Loader)
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    stripped = tmp_path / "pg-toy-segments.yaml"
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
    if program.stem == "kernel_segment":
        assert out["registers"]["m"] == 0  # halted in supervisor mode
        assert out["registers"]["r1"] == 5  # the process's r1: 3, +1, +1
        assert out["storage"]["2048"] == 3  # the counter in the segment: three svc


def test_confirm_segment_accesses_emulated():
    res = CliRunner().invoke(main, ["confirm", str(SPEC), "--format", "json"])
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
