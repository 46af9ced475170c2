"""The JSON Schemas shipped in `vmcheck/schemas/`: every `--format json`
output validates against its schema and is deterministic (the same input
gives byte-identical JSON), and every bundled spec validates against the
spec format's schema, which rejects unknown keys as the loader does."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from vmcheck import schemas
from vmcheck.cli import main
from vmcheck.spec.build import FORMAT
from vmcheck.spec.library import bundled, find_bundled
from vmcheck.spec.yaml_reader import SpecYamlLoader  # the loader specs are read with (YAML 1.2 booleans)

PG_TOY = find_bundled("pg-toy")
SUM = str(PG_TOY.parent / "programs" / "sum.s")


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schemas.load(name), format_checker=jsonschema.FormatChecker())


def assert_valid(name: str, doc) -> None:
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


def run_json(args: list[str], codes: tuple[int, ...]) -> str:
    r = CliRunner().invoke(main, args)
    assert r.exit_code in codes, (r.exit_code, r.output[-2000:])
    return r.stdout


@pytest.mark.parametrize("name", schemas.NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema(name):
    s = schemas.load(name)
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schemas.path(name).is_file()


# One case per command that prints JSON: (schema, arguments, accepted exit codes).
CASES = {
    "check-broken": ("check", ["check", "pg-toy-broken", "--format", "json"], (1,)),
    "check-two": ("check", ["check", "pg-toy", "pg-toy-broken", "--format", "json"], (1,)),
    "confirm": ("confirm", ["confirm", "pg-toy-broken", "--fuzz", "8", "--seed", "3", "--format", "json"], (0,)),
    "diff": ("diff", ["diff", "pg-toy", "pg-toy-broken", "--format", "json"], (0, 1)),
    "run": ("run", ["run", "pg-toy", SUM, "--format", "json", "--trace", "--dump-storage"], (0,)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_json_output_follows_its_schema_and_is_deterministic(case):
    schema, args, codes = CASES[case]
    first = run_json(args, codes)
    second = run_json(args, codes)
    assert first == second, f"{' '.join(args)} printed different JSON on a second run"
    assert_valid(schema, json.loads(first))


def test_check_json_of_one_spec_is_a_report_and_of_several_an_array():
    one = json.loads(run_json(CASES["check-broken"][1], (1,)))
    two = json.loads(run_json(CASES["check-two"][1], (1,)))
    assert one["isa"] == "pg-toy-broken" and one["verdict"]["1"]["holds"] is False
    assert [r["isa"] for r in two] == ["pg-toy", "pg-toy-broken"]


def test_the_check_schema_rejects_what_check_never_prints():
    doc = json.loads(run_json(CASES["check-broken"][1], (1,)))
    bad = json.loads(json.dumps(doc))
    bad["verdict"]["1"]["holds"] = "no"
    assert list(validator("check").iter_errors(bad))
    bad = json.loads(json.dumps(doc))
    bad["contexts"][0]["instructions"][0]["classes"]["privileged"] = "maybe"
    assert list(validator("check").iter_errors(bad))
    bad = json.loads(json.dumps(doc))
    bad["surprise"] = 1
    assert list(validator("check").iter_errors(bad))


# --------------------------------------------------------------------------
# The spec format
# --------------------------------------------------------------------------


def load_yaml(path: Path):
    """A spec as the YAML language server sees it: mapping keys are strings."""

    def keys(x):
        if isinstance(x, dict):
            return {str(k): keys(v) for k, v in x.items()}
        if isinstance(x, list):
            return [keys(v) for v in x]
        return x

    return keys(yaml.load(path.read_text(encoding="utf-8"), Loader=SpecYamlLoader))


YAML_SPECS = {name: p for name, p in bundled().items() if p.suffix in (".yaml", ".yml")}


@pytest.mark.parametrize("name", sorted(YAML_SPECS))
def test_every_bundled_spec_validates_against_the_spec_schema(name):
    assert_valid("spec", load_yaml(YAML_SPECS[name]))


def test_some_bundled_specs_are_yaml():
    assert "pg-toy" in YAML_SPECS and "x86-32" in YAML_SPECS


def _spec_kinds(s: dict) -> dict[str, dict]:
    """The schema object that describes each mapping kind of build.FORMAT."""
    d = s["$defs"]
    props = s["properties"]
    return {
        "spec": s,
        "element": d["element"],
        "field": next(x for x in d["field"]["oneOf"] if x.get("type") == "object"),
        "storage": props["storage"],
        "translation": next(
            x for x in props["storage"]["properties"]["translation"]["oneOf"] if x.get("type") == "object"
        ),
        "traps": props["traps"],
        "cause": next(x for x in d["cause"]["oneOf"] if x.get("type") == "object"),
        "contexts": props["contexts"],
        "guest": d["guest"],
        "instruction": d["instruction"],
        "operand_kind": d["operand_kind"],
        "addressing_mode": d["addressing_mode"],
        # families.py
        "format": d["format"],
        "family": d["family"],
        "member": d["member"],
    }


@pytest.mark.parametrize("kind", list(FORMAT))
def test_the_spec_schema_has_exactly_the_keys_of_the_format(kind):
    node = _spec_kinds(schemas.load("spec"))[kind]
    assert node["additionalProperties"] is False
    assert set(node["properties"]) == set(FORMAT[kind]), kind
    required = {k for k, req in FORMAT[kind].items() if req}
    assert required <= set(node.get("required", [])), kind


@pytest.mark.parametrize(
    "where, key",
    [
        ((), "isas"),
        (("instructions", "getm"), "semantic"),
        (("state", "rl"), "rolle"),
        (("contexts", "guest", "classic"), "mode"),
        (("storage",), "units"),
    ],
)
def test_the_spec_schema_rejects_unknown_keys(where, key):
    doc = load_yaml(find_bundled("pg-toy-broken"))
    node = doc
    for k in where:
        node = node[k]
    node[key] = "x"
    errors = list(validator("spec").iter_errors(doc))
    assert errors and any("Additional properties" in e.message or "additional" in e.message.lower() for e in errors), [
        e.message for e in errors
    ]


def test_the_spec_schema_checks_values():
    doc = load_yaml(find_bundled("pg-toy"))
    doc["instructions"]["ld"]["labels"] = ["privilegd"]
    doc["state"]["r"]["count"] = 6
    doc["instructions"]["ld"]["operands"] = [{"rd": "register"}]
    messages = [list(e.absolute_path) for e in validator("spec").iter_errors(doc)]
    assert ["instructions", "ld", "labels", 0] in messages
    assert ["state", "r", "count"] in messages
    assert ["instructions", "ld", "operands", 0, "rd"] in messages


def test_the_schemas_ship_as_package_data():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    conf = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["vmcheck"]
    assert "**/*.json" in patterns
    for name in schemas.NAMES:
        assert schemas.path(name).parent == root / "vmcheck" / "schemas"


@pytest.mark.parametrize("name", sorted(YAML_SPECS))
def test_every_bundled_spec_is_portable_yaml_that_the_shipped_schema_accepts(name):
    """A standard YAML 1.1 reader (PyYAML's safe_load) reads `off:` as the boolean false, so the
    bundled specs quote such keys ("off":); read plainly, each validates against the schema."""
    doc = yaml.safe_load(YAML_SPECS[name].read_text(encoding="utf-8"))
    assert_valid("spec", doc)


def test_the_loader_still_accepts_unquoted_yaml_1_1_booleans_as_names(tmp_path):
    from vmcheck.spec.load import load_spec

    text = PG_TOY.read_text(encoding="utf-8")
    assert '"off":' in text
    unquoted = tmp_path / "pg-toy.yaml"
    unquoted.write_text(text.replace('"off":', "off:"), encoding="utf-8")
    a, b = load_spec(PG_TOY), load_spec(unquoted)
    assert [i.operands for i in a.instructions] == [i.operands for i in b.instructions]
    assert any(o.name == "off" for i in b.instructions for o in i.operands)
