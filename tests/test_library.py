"""Every bundled spec, one table: what each spec in isa_specs/ must do whatever
its ISA.

For each spec: it lints clean; each of its sample programs assembles and runs
to a halt; a copy with every `labels` key removed gets the same verdicts
(the answers come from the semantics, never from the labels: the engine is
never shown them, and the cheap specs' copies are decided afresh); the
labels it carries agree with what the engine derives; and
`vmcheck check NAME --format json` says what the README's library table says
(the verdict word of Theorem 1, Theorem 3 and the exact condition, the context
a "holds (context `X`)" names, and every instruction a "fails: `x`, `y`" cell
names), with the exit code that goes with its Theorem 1 verdict. What the literature says of one ISA in particular is checked in its
tests/test_isa_<name>.py.

The checks go through the session's caches (tests/helpers.py): each spec is
decided once, labelled and stripped, whichever test asks first.
"""

from __future__ import annotations

import pytest
from helpers import (
    MAY_BE_UNKNOWN,
    THEOREMS,
    check_bundled,
    check_stripped,
    has_labels,
    invoke,
    parse_cell,
    programs,
    readme_table,
    run_program,
    spec_names,
    spec_path,
    spec_report,
)

NAMES = spec_names()
PROGRAMS = [(name, p.name) for name in NAMES for p in programs(name)]
COLUMNS = {"Theorem 1": "1", "Theorem 3": "3", "exact": "exact"}
WORD = {True: "holds", False: "fails", None: "undecided"}
EXIT = {True: 0, False: 1, None: 3}


def test_every_spec_has_sample_programs():
    assert {name for name, _ in PROGRAMS} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_lints_clean(name):
    res = invoke("lint", spec_path(name))
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("name,program", PROGRAMS, ids=[f"{n}:{p}" for n, p in PROGRAMS])
def test_sample_program_runs_to_a_halt(name, program):
    assert run_program(name, program)["stop"] == "halted"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_labels_stripped_same_verdicts(name):
    """Every context, every theorem: the same answer, the same violations. Where a
    solver timeout is documented as acceptable (MAY_BE_UNKNOWN), an instruction may
    be undecided in either run, but only one the other run finds violating too."""
    if not has_labels(name):
        pytest.skip("the spec labels no instruction: its stripped copy is itself")
    code, report = check_bundled(name)
    bare_code, bare = check_stripped(name)
    assert bare_code == code
    tolerated = MAY_BE_UNKNOWN.get(name, frozenset())
    want = {c["name"]: c["theorems"] for c in spec_report(report)["contexts"]}
    got = {c["name"]: c["theorems"] for c in spec_report(bare)["contexts"]}
    assert set(got) == set(want)
    for ctx in want:
        assert set(got[ctx]) == set(want[ctx]) >= set(THEOREMS), ctx
        for t in want[ctx]:
            w, g = want[ctx][t], got[ctx][t]
            assert set(w["unknown"]) <= tolerated and set(g["unknown"]) <= tolerated, (ctx, t)
            if not w["unknown"] and not g["unknown"]:
                assert (g["holds"], set(g["violations"])) == (w["holds"], set(w["violations"])), (ctx, t)
            else:
                assert set(g["violations"]) | set(g["unknown"]) == set(w["violations"]) | set(w["unknown"]), (ctx, t)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_labels_agree_with_the_semantics(name):
    assert spec_report(check_bundled(name)[1])["label_findings"] == []


def test_the_readme_table_lists_every_bundled_spec():
    assert set(readme_table()) == set(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_readme_row_matches_vmcheck_check(name):
    row = readme_table()[name]
    code, report = check_bundled(name)
    # the exit code reports on Theorem 1 (check's default --theorem)
    assert code == EXIT[report["verdict"]["1"]["holds"]], (name, code)
    for column, theorem in COLUMNS.items():
        word, ctx, named = parse_cell(row[column])
        verdict = report["verdict"][theorem]
        assert word == WORD[verdict["holds"]], (
            f"README says {name} {column} '{word}', vmcheck check says '{WORD[verdict['holds']]}'"
        )
        if ctx is not None:
            assert verdict["context"] == ctx, (name, column, verdict["context"])
        violating = {v.lower() for c in report["contexts"] for v in c["theorems"][theorem]["violations"]}
        for n in named:
            assert n.lower() in violating, (name, column, n, sorted(violating))
