"""Every text output reads well at 80 columns (a pipe, a CI log, a default
terminal): no line wider than 80, no header or name cut to `…`, tables that
keep their rows on one line each."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.library import bundled

WIDTH = 80


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", str(WIDTH))


def text_of(*args: str, codes=(0, 1)) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code in codes, r.output
    return r.stdout


def assert_fits(text: str) -> None:
    for line in text.splitlines():
        assert len(line.rstrip()) <= WIDTH, f"{len(line.rstrip())} columns: {line!r}"
    assert "…" not in text, "something was cut to fit"


def test_specs_lists_every_name_whole():
    out = text_of("specs")
    assert_fits(out)
    for name in bundled():
        assert re.search(rf"^{re.escape(name)}\s", out, re.MULTILINE), name
    for head in ("Thm 1", "Thm 2", "Thm 3", "exact", "guest contexts"):
        assert head in out


@pytest.mark.parametrize("spec", ["pg-toy-broken", "pg-toy-hybrid", "pdp10"])
def test_check_text_fits_with_whole_headers_and_one_row_per_instruction(spec):
    out = text_of("check", spec)
    assert_fits(out)
    header = next(line for line in out.splitlines() if line.startswith("instruction"))
    assert header.split() == [
        "instruction",
        "ill",
        "priv",
        "ctl",
        "mode",
        "loc",
        "sens",
        "user",
        "time",
        "unsf",
        "T1",
        "T2",
        "T3",
        "exact",
    ]
    from vmcheck.spec.load import load_spec

    for insn in load_spec(spec).instructions:  # each instruction's row is one line: name then 13 cells
        row = next(line for line in out.splitlines() if line.split()[:1] == [insn.name])
        assert len(row.split()) == 14, row


def test_explain_fits():
    assert_fits(text_of("explain", "pg-toy-broken", "getm"))


def test_confirm_program_table_keeps_one_row_per_program():
    out = text_of("confirm", "pg-toy-broken")
    assert_fits(out)
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("program"))
    assert lines[head].split() == [
        "program",
        "steps",
        "direct",
        "emul.",
        "other",
        "refl.",
        "interp.",
        "breach",
        "result",
    ]
    rows = lines[head + 1 : head + 3]
    assert [r.split()[0] for r in rows] == ["getm.s", "svc.s"] and all(len(r.split()) == 10 for r in rows)


def test_help_fits():
    from vmcheck.cli import VERBS

    for args in [["--help"]] + [[v.name, "--help"] for v in VERBS]:
        out = text_of(*args, codes=(0,))
        assert all(len(line) <= WIDTH for line in out.splitlines()), args
