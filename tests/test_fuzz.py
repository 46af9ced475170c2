"""Fuzzing (issue 15.3): mutated specs and programs, and grammar-aware
generated semantics and programs, never crash or hang the tool.

`test_ci_campaign` runs the seeded harness (fuzz/) for 2,000 cases in a
subprocess under an address-space limit; the long run is documented in
fuzz/__init__.py (`VMCHECK_FUZZ_CASES=100000 python -m fuzz --seed 1`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import generate, mutate
from fuzz.runner import CLEAN, FAILURES, LOADED, make_case
from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
PG_TOY = ROOT / "isa_specs" / "pg-toy" / "pg-toy.yaml"
LOCATED = re.compile(r"^\S+:\d+:\d+: error: ", re.M)
CI_CASES = 2000


def test_ci_campaign(tmp_path):
    """2,000 seeded cases: zero internal errors, zero hangs, zero out-of-memory."""
    report = tmp_path / "fuzz.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fuzz",
            "--cases",
            str(CI_CASES),
            "--seed",
            "0",
            "--quiet",
            "--out",
            str(report),
            "--save",
            str(tmp_path / "failing"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert report.exists(), f"the campaign wrote no report (exit {r.returncode}):\n{r.stderr[-3000:]}"
    summary = json.loads(report.read_text())
    assert summary["cases"] == CI_CASES
    assert not summary["failures"], json.dumps(summary["failures"][:5], indent=1)
    assert r.returncode == 0, r.stdout + r.stderr
    # The campaign reaches both sides: specs that load and specs that are rejected.
    assert summary["outcomes"].get(LOADED, 0) > 100 and summary["outcomes"].get(CLEAN, 0) > 100


def test_cases_are_deterministic():
    assert make_case(3, 17) == make_case(3, 17)
    assert make_case(3, 17).data != make_case(3, 18).data or make_case(3, 17).category != make_case(3, 18).category


def test_every_mutator_runs_on_every_kind_of_file():
    import random

    data = PG_TOY.read_bytes()
    for name, fn in mutate.MUTATORS.items():
        out = fn(data, random.Random(name))
        assert isinstance(out, bytes)


# ---- grammar-aware generation with hypothesis ------------------------------------------

ATOMS = st.sampled_from(generate.ATOMS)


def _expr(children):
    return st.one_of(
        st.tuples(st.sampled_from(generate.UNARY), children).map(lambda t: f"{t[0]}{t[1]}"),
        st.tuples(children, st.sampled_from(generate.BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(generate.CALLS), children, children).map(
            lambda t: t[0].format(*([t[1], t[2]][: t[0].count("{}")]))
        ),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}"),
    )


EXPRS = st.recursive(ATOMS, _expr, max_leaves=12)
STMTS = st.one_of(
    EXPRS.map(lambda e: f"r[rd] = {e}"),
    EXPRS.map(lambda e: f"require {e} else PRIV"),
    st.tuples(EXPRS, EXPRS).map(lambda t: f"if {t[0]} {{ rl = {t[1]} }} else {{ halt }}"),
    EXPRS.map(lambda e: f"mem[r[rs]] = {e}"),
    EXPRS.map(lambda e: f"match {e} {{ 0 => halt, _ => trap(SVC) }}"),
)


def _outcome(args: list[str]) -> tuple[int, str]:
    r = CliRunner().invoke(main, args)
    return r.exit_code, r.stderr


def _assert_clean(code: int, err: str) -> None:
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (0, 1, 2), err
    if code == 2:
        assert LOCATED.search(err), err


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(body=st.lists(STMTS, min_size=1, max_size=3))
def test_generated_semantics_lint_cleanly_and_what_loads_runs(tmp_path_factory, body):
    d = tmp_path_factory.mktemp("gen")
    spec = d / "g.yaml"
    spec.write_bytes(generate.pg_toy_with("\n".join(body), PG_TOY))
    code, err = _outcome(["lint", "--no-programs", str(spec)])
    _assert_clean(code, err)
    if code == 0:
        prog = d / "p.s"
        prog.write_text(".org 16\n  li r2, 5\n  fz r1, r2, 3\n  halt\n")
        _assert_clean(*_outcome(["run", str(spec), str(prog), "--max-steps", "100"]))


OPERAND = st.one_of(
    st.sampled_from(generate.OPERAND_VALUES),
    st.integers(-(2**70), 2**70).map(str),
    st.text(alphabet="r0123456789x_+-. ,()", max_size=12),
)
LINE = st.one_of(
    st.tuples(
        st.sampled_from(
            ["li", "ld", "st", "add", "sub", "addi", "beq", "jmp", "svc", "halt", "lpsw", "setr", "getr", "nope"]
        ),
        st.lists(OPERAND, max_size=4),
    ).map(lambda t: f"{t[0]} {', '.join(t[1])}"),
    st.lists(OPERAND, max_size=3).map(lambda ops: ".word " + ", ".join(ops)),
    OPERAND.map(lambda o: f".org {o}"),
    st.sampled_from(["loop:", "x: y: halt", "  # comment", "; comment", ""]),
)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(LINE, min_size=1, max_size=10))
def test_generated_programs_assemble_or_fail_cleanly(tmp_path_factory, lines):
    d = tmp_path_factory.mktemp("prog")
    prog = d / "p.s"
    prog.write_text(".org 16\n" + "\n".join(lines) + "\nloop: halt\n")
    _assert_clean(*_outcome(["run", "pg-toy", str(prog), "--max-steps", "500"]))


@pytest.mark.parametrize("kind", ["yaml", "isa"])
def test_alias_bombs_and_deep_nesting_mutants_fail_cleanly(tmp_path, kind):
    import random

    from fuzz.runner import seeds

    s = next(x for x in seeds() if x.name == "pg-toy")
    data = s.yaml if kind == "yaml" else s.isa
    for k, fn in enumerate(
        [mutate.deep_nesting, mutate.long_line, mutate.non_utf8]
        + ([mutate.alias_bomb, mutate.yaml_tag] if kind == "yaml" else [])
    ):
        for seed in range(4):
            p = tmp_path / f"m{k}{seed}.{kind}"
            p.write_bytes(fn(data, random.Random(seed)))
            _assert_clean(*_outcome(["lint", "--no-programs", str(p)]))


def test_failure_kinds_are_the_ones_ci_rejects():
    assert set(FAILURES) == {"internal_error", "hang", "memory"}
