"""The README's table of the bundled library says what `vmcheck check` says.

Each row is compared with `vmcheck check NAME --format json`: the verdict word
of Theorem 1, Theorem 3 and the exact condition, the context a "holds (context
`X`)" names, and every instruction a "fails: `x`, `y`" cell names. The checks
run through the session's result cache (tests/conftest.py), so after the
per-ISA tests this costs no solving.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.library import bundled

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"Theorem 1": "1", "Theorem 3": "3", "exact": "exact"}
WORD = {True: "holds", False: "fails", None: "undecided"}


def readme_table() -> dict[str, dict[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The bundled library", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        row = dict(zip(header, cells))
        rows[row["spec"].strip("`")] = row
    return rows


TABLE = readme_table()


def test_the_table_lists_every_bundled_spec():
    assert set(TABLE) == set(bundled())


def parse_cell(cell: str) -> tuple[str, str | None, list[str]]:
    """(verdict word, the context named, the instructions named in backticks)."""
    plain = cell.replace("*", "")
    word = plain.split(":")[0].split("(")[0].strip()
    ctx = re.search(r"context `([^`]+)`", plain)
    # only backticked instruction names: `getm`, `ld` (not notation such as LDM/STM `^`)
    named = re.findall(r"`([A-Za-z][A-Za-z0-9_.]*)`", plain.split(":", 1)[1]) if ":" in plain else []
    return word, ctx.group(1) if ctx else None, named


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_readme_row_matches_vmcheck_check(name):
    r = CliRunner().invoke(main, ["check", name, "--format", "json", "--quiet"])
    assert r.exit_code in (0, 1, 3), r.output
    report = json.loads(r.stdout)
    for column, theorem in COLUMNS.items():
        word, ctx, named = parse_cell(TABLE[name][column])
        verdict = report["verdict"][theorem]
        assert word == WORD[verdict["holds"]], (
            f"README says {name} {column} '{word}', vmcheck check says '{WORD[verdict['holds']]}'"
        )
        if ctx is not None:
            assert verdict["context"] == ctx, (name, column, verdict["context"])
        violating = {v.lower() for c in report["contexts"] for v in c["theorems"][theorem]["violations"]}
        for n in named:
            assert n.lower() in violating, (name, column, n, sorted(violating))
