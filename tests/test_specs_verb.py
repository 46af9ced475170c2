"""`vmcheck specs` lists the library at once: verdicts only where `check` has
recorded them for the spec as it is, and how to get the others."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.library import bundled


def row(out: str, name: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [name])


def test_specs_decides_nothing_and_says_how(monkeypatch, tmp_path):
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(tmp_path / "empty"))
    import vmcheck.analysis

    def no_solving(*a, **k):
        raise AssertionError("specs must not decide anything")

    monkeypatch.setattr(vmcheck.analysis, "check_isas", no_solving)
    r = CliRunner().invoke(main, ["specs"])
    assert r.exit_code == 0, r.output
    assert row(r.output, "x86-32")[-4:] == ["·"] * 4
    assert "vmcheck check NAME" in r.output
    assert row(r.output, "pg-toy")[1] == "13"


def test_specs_shows_the_verdicts_check_recorded(monkeypatch, tmp_path):
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    assert CliRunner().invoke(main, ["check", "pg-toy-broken", "-q"]).exit_code == 1
    out = CliRunner().invoke(main, ["specs"]).output
    assert row(out, "pg-toy-broken")[-4:] == ["fails", "fails", "holds", "fails"]
    assert row(out, "pg-toy")[-4:] == ["·"] * 4


def test_an_edited_spec_shows_no_stale_verdict(monkeypatch, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(bundled()["pg-toy"].parent, lib / "pg-toy")
    monkeypatch.setenv("VMCHECK_SPECS", str(lib))
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    assert CliRunner().invoke(main, ["check", "pg-toy", "-q"]).exit_code == 0
    assert row(CliRunner().invoke(main, ["specs"]).output, "pg-toy")[-4:] == ["holds"] * 4
    spec = lib / "pg-toy" / "pg-toy.yaml"
    spec.write_text(spec.read_text() + "\n# edited\n")
    assert row(CliRunner().invoke(main, ["specs"]).output, "pg-toy")[-4:] == ["·"] * 4
