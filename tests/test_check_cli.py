"""`vmcheck check` and `vmcheck explain`: exit codes, the JSON shape, the text."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import z3
from click.testing import CliRunner

from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
PG_TOY = ROOT / "isa_specs" / "pg-toy" / "pg-toy.yaml"

RDM = """
  rdm:
    description: read the mode into a register
    operands: [rd: reg]
    semantics: r[rd] = zext(m, 32)
"""

YNU = {"enum": ["yes", "no", "unknown"]}
HOLDS = {"type": ["boolean", "null"]}
CLASSES = [
    "illegal",
    "privileged",
    "control_sensitive",
    "mode_sensitive",
    "location_sensitive",
    "sensitive",
    "user_sensitive",
    "timing_dependent",
    "unsafe",
]
THEOREM = {
    "type": "object",
    "required": ["holds", "violations"],
    "properties": {
        "holds": HOLDS,
        "violations": {"type": "array", "items": {"type": "string"}},
        "unknown": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": "string"},
    },
}
WITNESS = {
    "type": "object",
    "required": ["query", "operands", "states"],
    "properties": {
        "operands": {"type": "object", "additionalProperties": {"type": "integer"}},
        "states": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["label", "mode", "pre", "outcome"],
                "properties": {
                    "pre": {"type": "object"},
                    "outcome": {"type": "string"},
                    "post": {"type": ["object", "null"]},
                },
            },
        },
        "differs": {"type": "array", "items": {"type": "string"}},
    },
}
SCHEMA = {
    "type": "object",
    "required": ["isa", "contexts", "verdict", "label_findings"],
    "properties": {
        "isa": {"type": "string"},
        "verdict": {
            "type": "object",
            "required": ["1", "2", "3", "exact"],
            "additionalProperties": {
                "type": "object",
                "required": ["holds", "context"],
                "properties": {"holds": HOLDS},
            },
        },
        "contexts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "theorems", "instructions"],
                "properties": {
                    "name": {"type": "string"},
                    "theorems": {
                        "type": "object",
                        "required": ["1", "2", "3", "exact"],
                        "additionalProperties": THEOREM,
                    },
                    "instructions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "mnemonic", "line", "classes", "witnesses"],
                            "properties": {
                                "name": {"type": "string"},
                                "mnemonic": {"type": "string"},
                                "line": {"type": ["integer", "null"]},
                                "classes": {"type": "object", "required": CLASSES, "additionalProperties": YNU},
                                "violates": {
                                    "type": "object",
                                    "required": ["1", "2", "3", "exact"],
                                    "additionalProperties": YNU,
                                },
                                "witnesses": {"type": "object", "additionalProperties": WITNESS},
                            },
                        },
                    },
                },
            },
        },
        "label_findings": {
            "type": "array",
            "items": {"type": "object", "required": ["instruction", "label", "context", "derived", "reason"]},
        },
    },
}


def run(*args):
    return CliRunner().invoke(main, ["check", *args, "--jobs", "1", "--no-cache"])


@pytest.fixture
def broken(tmp_path):
    p = tmp_path / "pg-rdm.yaml"
    p.write_text(PG_TOY.read_text() + RDM)
    return p


def test_exit_0_and_json_shape():
    res = run(str(PG_TOY), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["isa"] == "pg-toy"
    assert doc["contexts"][0]["theorems"]["1"] == {
        **doc["contexts"][0]["theorems"]["1"],
        "holds": True,
        "violations": [],
    }
    lpsw = next(i for i in doc["contexts"][0]["instructions"] if i["name"] == "lpsw")
    assert lpsw["classes"]["privileged"] == "yes" and lpsw["classes"]["control_sensitive"] == "yes"
    assert "control_sensitive" in lpsw["witnesses"]
    assert isinstance(lpsw["line"], int)


def test_json_is_deterministic():
    a, b = run(str(PG_TOY), "--format", "json"), run(str(PG_TOY), "--format", "json")
    assert a.output == b.output


def test_bundled_short_name():
    assert run("pg-toy", "--format", "json").exit_code == 0


def test_exit_1_names_the_offender(broken):
    res = run(str(broken), "--format", "json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["contexts"][0]["theorems"]["1"]["violations"] == ["rdm"]
    assert doc["contexts"][0]["theorems"]["3"]["holds"] is True
    rdm = next(i for i in doc["contexts"][0]["instructions"] if i["name"] == "rdm")
    assert rdm["witnesses"]["mode_sensitive"]["operands"].keys() == {"rd"}


def test_theorem_option_picks_the_exit_code(broken):
    assert run(str(broken), "--theorem", "3").exit_code == 0
    assert run(str(broken), "--theorem", "exact").exit_code == 1


def test_text_output(broken):
    res = run(str(broken))
    assert res.exit_code == 1
    out = res.output
    assert "Theorem 1 (VMM): ✗ fails" in out
    assert "Theorem 3 (hybrid VMM): ✓ holds" in out
    assert "offending instructions" in out and "rdm [mode sensitive; violates 1, 2, exact]" in out
    assert "verdict: pg-toy: Theorem 1 (VMM) ✗ fails" in out


def test_several_specs(broken):
    res = run(str(PG_TOY), str(broken), "--format", "json")
    assert res.exit_code == 1
    docs = json.loads(res.stdout)
    assert [d["isa"] for d in docs] == ["pg-toy", "pg-toy"]
    for d in docs:
        jsonschema.validate(d, SCHEMA)


@pytest.mark.parametrize(
    "args",
    [
        ["/nonexistent/spec.yaml"],
        [str(PG_TOY), "--context", "nosuch"],
        [str(PG_TOY), "--timeout", "0"],
        [str(PG_TOY), "--theorem", "4"],
    ],
)
def test_exit_2_for_bad_spec_or_call(args):
    res = run(*args)
    assert res.exit_code == 2, res.output


def test_exit_2_for_a_spec_with_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(PG_TOY.read_text().replace("semantics: r[rd] = r[rs] + r[rt]", "semantics: r[rd] = r[rs] +"))
    res = run(str(p))
    assert res.exit_code == 2
    assert "bad.yaml" in res.output


def test_exit_3_when_undecided(monkeypatch):
    """A solver that gives up (a timeout) makes the verdict undecided, never guessed."""
    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    res = run(str(PG_TOY), "--format", "json")
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["verdict"]["1"]["holds"] is None
    assert doc["contexts"][0]["theorems"]["1"]["unknown"]


def test_context_option(broken):
    res = run(str(broken), "--context", "classic", "--format", "json")
    assert res.exit_code == 1
    assert [c["name"] for c in json.loads(res.stdout)["contexts"]] == ["classic"]


def test_explain(broken):
    res = CliRunner().invoke(main, ["explain", str(broken), "rdm", "--no-cache"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "r[rd] = zext(m, 32)" in out  # the semantics, from the spec
    assert "mode sensitive: yes" in out and "differs" in out
    assert "s' (supervisor)" in out  # the pair, side by side
    assert "control sensitive: no" in out and "unsat" in out  # a proof


def test_explain_safe_under_the_exact_condition(tmp_path):
    """An instance that violates Theorem 1 but is safe under the exact condition
    (docs/model.md §2.6: MIPS loads through kseg0) says so, next to the proof."""
    from test_analysis import MIPS

    p = tmp_path / "mips.yaml"
    p.write_text(MIPS)
    res = CliRunner().invoke(main, ["explain", str(p), "lw", "--no-cache"])
    assert res.exit_code == 0, res.output
    assert "violates Theorem 1 but is safe under the exact condition" in res.output
    assert "unsat" in res.output


def test_explain_unknown_instruction():
    res = CliRunner().invoke(main, ["explain", str(PG_TOY), "nosuch", "--no-cache"])
    assert res.exit_code == 2
