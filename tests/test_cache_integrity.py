"""The result cache trusts nothing it reads (issue 15.5): a damaged entry is a
miss, recomputed and rewritten, never served and never a crash."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.analysis import cache
from vmcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]


def check(cache_dir: Path, *extra: str) -> tuple[int, str, str]:
    r = CliRunner(env={"VMCHECK_CACHE_DIR": str(cache_dir)}).invoke(
        main, ["check", "pg-toy", "--format", "json", "--jobs", "1", *extra]
    )
    return r.exit_code, r.stdout, r.stderr


def answers(stdout: str) -> list:
    """The verdicts and every class of every instruction (timings aside)."""
    d = json.loads(stdout)
    out = [d["verdict"]]
    for c in d["contexts"]:
        for i in c["instructions"]:
            out.append((c["name"], i["name"], i["classes"], i["violates"]))
    return out


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A cold run: its answers, and the cache it filled."""
    d = tmp_path_factory.mktemp("cache")
    code, out, err = check(d)
    assert code == 0, err
    return answers(out), d


def entries(d: Path) -> list[Path]:
    """The result cache's entries (`<2 hex>/<key>.json`); the directory also holds
    `verdicts/`, the whole-spec verdicts `vmcheck specs` shows (cli/verdicts.py)."""
    found = sorted(d.glob("[0-9a-f][0-9a-f]/*.json"))
    assert found or not d.exists() or not any(d.iterdir()), f"no result cache entries in {d}"
    return found


def copy_cache(src: Path, dst: Path) -> Path:
    for p in entries(src):
        q = dst / p.parent.name / p.name
        q.parent.mkdir(parents=True, exist_ok=True)
        q.write_bytes(p.read_bytes())
    return dst


def test_a_warm_run_gives_the_fresh_answer(fresh, tmp_path):
    want, d = fresh
    code, out, _ = check(copy_cache(d, tmp_path))
    assert code == 0 and answers(out) == want


def test_a_yes_flipped_to_no_is_not_served(fresh, tmp_path, monkeypatch):
    want, d = fresh
    d2 = copy_cache(d, tmp_path)
    flipped = 0
    for p in entries(d2):
        text = p.read_text()
        if '"value": "yes"' in text:
            p.write_text(text.replace('"value": "yes"', '"value": "no"', 1))
            flipped += 1
    assert flipped
    code, out, _ = check(d2)
    assert code == 0 and answers(out) == want
    # ... and the damaged entries were rewritten with the right answer.
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(d2))
    assert all(cache.load(p.stem) is not None for p in entries(d2))


def test_random_bit_flips_are_never_served_as_something_else(fresh, tmp_path, monkeypatch):
    _, d = fresh
    d2 = copy_cache(d, tmp_path)
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(d2))
    rng = random.Random(15)
    served_changed = 0
    for p in entries(d2):
        original = p.read_bytes()
        good = cache.load(p.stem)
        assert good is not None
        for _ in range(25):
            b = bytearray(original)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            p.write_bytes(bytes(b))
            got = cache.load(p.stem)
            if got is not None and got != good:
                served_changed += 1
        p.write_bytes(original)
    assert served_changed == 0


@pytest.mark.parametrize(
    "damage",
    [
        "truncate",
        "garbage",
        "empty",
        "class missing",
        "list for dict",
        "unknown value",
        "wrong schema",
        "old format",
        "wrong key",
        "checksum recomputed but bad shape",
        "nan",
    ],
)
def test_damaged_entries_are_misses_and_the_run_is_right(fresh, tmp_path, monkeypatch, damage):
    want, d = fresh
    d2 = copy_cache(d, tmp_path)
    monkeypatch.setenv("VMCHECK_CACHE_DIR", str(d2))
    for p in entries(d2):
        _damage(p, damage)
        assert cache.load(p.stem) is None, damage
    code, out, err = check(d2)
    assert code == 0, err
    assert answers(out) == want
    assert "Traceback" not in err


def _damage(p: Path, how: str) -> None:
    text = p.read_text()
    entry = json.loads(text)
    v = entry["value"]
    if how == "truncate":
        p.write_text(text[: len(text) // 2])
    elif how == "garbage":
        p.write_bytes(os.urandom(200))
    elif how == "empty":
        p.write_text("")
    elif how == "class missing":
        v["classes"].pop(next(iter(v["classes"])))
        p.write_text(json.dumps(entry))
    elif how == "list for dict":
        v["classes"] = list(v["classes"].values())
        p.write_text(json.dumps(entry))
    elif how == "unknown value":
        next(iter(v["violates"].values()))["value"] = "maybe"
        p.write_text(json.dumps(entry))
    elif how == "wrong schema":
        entry["schema"] = cache.SCHEMA + 1
        p.write_text(json.dumps(entry))
    elif how == "old format":
        p.write_text(json.dumps(v))  # schema 1 stored the bare value
    elif how == "wrong key":
        entry["key"] = "0" * 64
        p.write_text(json.dumps(entry))
    elif how == "checksum recomputed but bad shape":
        v["line"] = "seven"
        entry["sha256"] = cache._digest(v)
        p.write_text(json.dumps(entry))
    elif how == "nan":
        p.write_text(text.replace('"seconds": ', '"seconds": NaN, "x": ', 1))


def test_an_unusable_cache_directory_degrades_with_one_warning(fresh, tmp_path):
    want, _ = fresh
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out, err = check(blocker / "cache")  # cannot be created, even by root
    assert code == 0 and answers(out) == want
    assert err.count("warning: cannot write the result cache") == 1


def test_concurrent_runs_and_a_killed_writer_leave_a_trustworthy_cache(fresh, tmp_path):
    want, _ = fresh
    d = tmp_path / "shared"
    env = {**os.environ, "VMCHECK_CACHE_DIR": str(d)}
    cmd = [sys.executable, "-m", "vmcheck", "check", "pg-toy", "--format", "json", "--jobs", "1"]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    assert all(answers(o) == want for o, _ in outs)
    # A writer killed mid-write leaves its temporary file (never read) and at
    # worst a torn entry under a key (a miss): both are harmless.
    p = entries(d)[0]
    (p.parent / "abc123.tmp").write_text('{"format": "vmcheck-res')
    p.write_text(p.read_text()[:100])
    code, out, _ = check(d)
    assert code == 0 and answers(out) == want
