"""Deterministic solver budgets (issue 13.1): the limit is z3's resource count,
so a query that exhausts a budget is unknown on every run at any load, an
unknown is cached only for its budget, and the CLI says which budget ran out."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from test_analysis import PG_TOY

from vmcheck.analysis import UNKNOWN, check_isa
from vmcheck.analysis.engine import analyze_instruction
from vmcheck.cli import main
from vmcheck.spec.load import load_spec

TINY = 1_000  # enough for the simplest queries of pg-toy, not for all


def _unknowns(res):
    return sorted(k for k, a in list(res.classes.items()) + list(res.violates.items()) if a.value == UNKNOWN)


def _run(isa, name):
    res, _ = analyze_instruction(isa, isa.instruction(name), isa.contexts[0], budget=TINY)
    return json.dumps(
        {
            "classes": {k: a.to_json() for k, a in res.classes.items()},
            "violates": {k: a.to_json() for k, a in res.violates.items()},
        },
        sort_keys=True,
    ), res


def test_a_tiny_budget_gives_the_same_unknowns_twice_and_under_load():
    isa = load_spec(str(PG_TOY))
    first, res = _run(isa, "lpsw")
    assert _unknowns(res), "the tiny budget should leave something undecided"
    unk = next(a for a in res.classes.values() if a.value == UNKNOWN)
    assert unk.evidence == "budget" and f"budget {TINY:,} exhausted" in unk.reason
    assert _run(isa, "lpsw")[0] == first
    # the same answer with the machine busy: the budget counts work, not seconds
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        assert _run(isa, "lpsw")[0] == first
    finally:
        for p in burners:
            p.kill()
            p.wait()


def test_unknowns_are_cached_per_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    isa = load_spec(str(PG_TOY))
    small = check_isa(isa, jobs=1, budget=TINY)
    undecided = [r.name for c in small.contexts for r in c.instructions if _unknowns(r)]
    assert undecided
    again = check_isa(isa, jobs=1, budget=TINY)
    assert again.stats["cached"] == again.stats["units"]  # the same budget: served from the cache
    assert json.dumps(again.to_json()["contexts"]) == json.dumps(small.to_json()["contexts"])
    full = check_isa(isa, jobs=1)  # the default budget tries the undecided units again
    assert full.stats["cached"] == full.stats["units"] - len(undecided)
    assert not [r.name for c in full.contexts for r in c.instructions if _unknowns(r)]


def test_cli_budget_option(tmp_path, monkeypatch):
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    res = CliRunner().invoke(main, ["check", str(PG_TOY), "--budget", "1", "--format", "json"])
    assert res.exit_code == 3, res.output  # undecided, never guessed
    doc = json.loads(res.output)
    assert "budget 1 exhausted" in doc["contexts"][0]["theorems"]["1"]["reason"]
    res = CliRunner().invoke(main, ["check", str(PG_TOY), "--budget", "0"])
    assert res.exit_code == 2 and "--budget" in res.output
    res = CliRunner().invoke(main, ["explain", str(PG_TOY), "lpsw", "--budget", str(TINY), "--no-cache"])
    assert res.exit_code == 0, res.output
    assert "budget exhausted" in res.output
