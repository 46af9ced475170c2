"""CLI misuse gets a clean error and exit 2 (never a traceback, never a hang), a bug
in vmcheck gets exit 70, and no output overwrites what the user did not name."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import vmcheck_process

from vmcheck.cli import main
from vmcheck.cli.output import write_text
from vmcheck.errors import UserError
from vmcheck.spec.library import bundled

ROOT = Path(__file__).resolve().parents[1]
PG_TOY = bundled()["pg-toy"]


def assert_clean_exit_2(r) -> None:
    err = r.stderr if hasattr(r, "stderr") and r.stderr is not None else r.output
    assert r.returncode == 2, (r.returncode, r.stdout, err)
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "1e999", "abc", ""])
@pytest.mark.parametrize("verb", ["check", "explain", "diff", "confirm", "report"])
def test_bad_timeouts_are_refused(verb, value):
    args = {
        "check": ["pg-toy"],
        "explain": ["pg-toy", "ld"],
        "diff": ["pg-toy", "pg-toy"],
        "confirm": ["pg-toy"],
        "report": ["pg-toy", "-o", "-"],
    }[verb]
    r = CliRunner().invoke(main, [verb, *args, "--timeout", value])
    assert r.exit_code == 2, r.output
    assert "positive, finite number of seconds" in r.output or "not a number" in r.output


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "prog.s"
    os.mkfifo(fifo)
    r = vmcheck_process("run", "pg-toy", str(fifo), timeout=20)
    assert_clean_exit_2(r)
    assert "not a regular file" in r.stderr
    spec = tmp_path / "spec.yaml"
    os.mkfifo(spec)
    assert_clean_exit_2(vmcheck_process("check", str(spec), timeout=20))
    assert_clean_exit_2(vmcheck_process("lint", str(spec), timeout=20))


def test_run_on_dev_zero_is_refused_without_reading(tmp_path):
    r = vmcheck_process("run", "pg-toy", "/dev/zero", timeout=20)
    assert_clean_exit_2(r)


def test_a_name_over_255_bytes_is_refused(tmp_path):
    long = str(tmp_path / ("x" * 300 + ".yaml"))
    for args in (["check", long], ["lint", long], ["run", "pg-toy", long], ["fmt", "pg-toy", "-o", long]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        assert "255 bytes" in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_spec_is_refused(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_bytes(PG_TOY.read_bytes())
    spec.chmod(0)
    assert_clean_exit_2(vmcheck_process("check", str(spec)))


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs /proc/self/mem, a file whose read fails")
def test_a_spec_whose_read_fails_is_refused(tmp_path):
    # /proc/self/mem is a regular file that fails to read at offset 0 (EIO): a device that fails.
    spec = tmp_path / "s.yaml"
    spec.symlink_to("/proc/self/mem")
    r = vmcheck_process("lint", str(spec))
    assert_clean_exit_2(r)
    assert "cannot read" in r.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_to_a_full_disk_is_a_clean_error():
    with open("/dev/full", "w") as full:
        r = vmcheck_process("check", "pg-toy", "--format", "json", stdout=full, stderr=subprocess.PIPE)
    r.stdout = ""
    assert_clean_exit_2(r)
    assert "No space left on device" in r.stderr
    r = vmcheck_process("report", "pg-toy", "-o", "/dev/full", "--format", "md")
    assert_clean_exit_2(r)
    assert "No space left on device" in r.stderr
    r = vmcheck_process("fmt", "pg-toy", "--to", "isa", "-o", "/dev/full")
    assert_clean_exit_2(r)


# --------------------------------------------------------------------------
# Nothing overwritten by surprise
# --------------------------------------------------------------------------


@pytest.fixture
def spec(tmp_path) -> Path:
    p = tmp_path / "mine.yaml"
    p.write_bytes(PG_TOY.read_bytes())
    return p


def test_report_refuses_to_overwrite_its_spec(spec, tmp_path):
    before = spec.read_bytes()
    for target in (str(spec), str(tmp_path / "." / "mine.yaml")):
        r = CliRunner().invoke(main, ["report", str(spec), "-o", target, "--format", "md"])
        assert r.exit_code == 2 and "refusing" in r.output, r.output
    link = tmp_path / "link.md"
    link.symlink_to(spec)
    r = CliRunner().invoke(main, ["report", str(spec), "-o", str(link)])
    assert r.exit_code == 2 and "it is the input" in r.output, r.output
    assert spec.read_bytes() == before


@pytest.mark.parametrize("verb", ["configure", "repair"])
def test_write_refuses_to_overwrite_its_spec(spec, verb):
    before = spec.read_bytes()
    r = CliRunner().invoke(main, [verb, str(spec), "--write", str(spec)])
    assert r.exit_code == 2 and "it is the input" in r.output, r.output
    assert spec.read_bytes() == before


def test_report_refuses_a_spec_suffix(spec, tmp_path):
    r = CliRunner().invoke(main, ["report", str(spec), "-o", str(tmp_path / "other.yaml"), "--format", "md"])
    assert r.exit_code == 2 and "spec's" in r.output
    assert not (tmp_path / "other.yaml").exists()


def test_fmt_refuses_its_input_and_the_wrong_syntax(spec, tmp_path):
    before = spec.read_bytes()
    r = CliRunner().invoke(main, ["fmt", str(spec), "-o", str(spec)])
    assert r.exit_code == 2 and "it is the input" in r.output
    r = CliRunner().invoke(main, ["fmt", str(spec), "--to", "isa", "-o", str(spec)])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["fmt", str(spec), "--to", "isa", "-o", str(tmp_path / "x.yaml")])
    assert r.exit_code == 2 and "the name says yaml" in r.output
    r = CliRunner().invoke(main, ["fmt", str(spec), "--to", "yaml", "-o", str(tmp_path / "x.isa")])
    assert r.exit_code == 2 and "the name says isa" in r.output
    assert spec.read_bytes() == before and not (tmp_path / "x.yaml").exists()


def test_fmt_warns_when_comments_are_dropped(spec, tmp_path):
    r = CliRunner().invoke(main, ["fmt", str(spec), "-o", str(tmp_path / "x.isa")])
    assert r.exit_code == 0, r.output
    assert "comment(s)" in r.output and (tmp_path / "x.isa").is_file()


def test_output_is_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "r.md"
    out.write_text("old")
    out.chmod(0o640)
    write_text(str(out), "new")
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]  # no temp file left

    def torn(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", torn)
    with pytest.raises(UserError, match="No space left"):
        write_text(str(out), "newer")
    assert out.read_text() == "new"  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


# --------------------------------------------------------------------------
# Internal errors
# --------------------------------------------------------------------------


def test_an_internal_error_exits_70_and_asks_for_a_report(monkeypatch, tmp_path):
    import vmcheck.analysis

    def boom(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(vmcheck.analysis, "check_isas", boom)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    r = CliRunner().invoke(main, ["check", "pg-toy-broken"])
    assert r.exit_code == 70, r.output
    assert "internal error" in r.output and "bug in vmcheck" in r.output
    assert "pg-toy-broken" in r.output or "check" in r.output  # names the input
    assert "report it" in r.output


def test_every_verb_documents_its_exit_codes_and_an_example():
    from vmcheck.cli import VERBS

    for v in VERBS:
        r = CliRunner().invoke(main, [v.name, "--help"])
        assert r.exit_code == 0
        assert "Exit codes:" in r.output and "Example" in r.output, v.name
        for code in ("2 ", "70", "130"):
            assert f"  {code}" in r.output, (v.name, code)
    top = CliRunner().invoke(main, ["--help"]).output
    for code in ("0", "1", "2", "3", "70", "130"):
        assert f"  {code} " in top


def test_shared_options_are_spelled_the_same_in_every_verb():
    from vmcheck.cli import VERBS

    spellings: dict[str, set[tuple[str, ...]]] = {}
    for v in VERBS:
        for p in v.params:
            if p.name in ("jobs", "timeout", "fmt", "context", "quiet", "no_cache"):
                spellings.setdefault(p.name, set()).add(tuple(sorted(p.opts)))
    assert all(len(s) == 1 for s in spellings.values()), spellings
    solving = [v.name for v in VERBS if any(p.name == "timeout" for p in v.params)]
    assert set(solving) == {"check", "explain", "confirm", "report", "diff"}
    for v in VERBS:
        if v.name in solving:
            assert {"jobs", "quiet", "no_cache"} <= {p.name for p in v.params}, v.name
