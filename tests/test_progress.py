"""Progress on stderr for every long verb: a plain line every few seconds when
stderr is not a terminal (CI logs), a bar on a terminal, nothing with --quiet;
stdout stays exactly the verb's output."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from helpers import vmcheck_process


def run(*args: str, interval: str = "0", stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    return vmcheck_process(
        *args, env={"VMCHECK_PROGRESS_SECONDS": interval}, stdout=subprocess.PIPE, stderr=stderr, timeout=600
    )


VERBS = {
    "check": ["check", "pg-toy-broken", "--format", "json", "--no-cache"],
    "explain": ["explain", "pg-toy-broken", "getm", "--no-cache"],
    "diff": ["diff", "pg-toy", "pg-toy-broken", "--format", "json", "--no-cache"],
    "confirm": ["confirm", "pg-toy-broken", "--format", "json", "--no-cache"],
    "report": ["report", "pg-toy-broken", "-o", "-", "--no-cache"],
    "lint": ["lint", "pg-toy", "pg-toy-broken"],
}


@pytest.mark.parametrize("verb", list(VERBS))
def test_plain_progress_lines_on_stderr_and_a_clean_stdout(verb):
    r = run(*VERBS[verb])
    assert r.returncode in (0, 1), r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(f"vmcheck {verb}: ")]
    assert lines, r.stderr
    if "--format" in VERBS[verb] and "json" in VERBS[verb]:
        json.loads(r.stdout)  # nothing but the JSON on stdout
    assert "vmcheck " + verb + ":" not in r.stdout


@pytest.mark.parametrize("verb", list(VERBS))
def test_quiet_silences_progress(verb):
    r = run(*VERBS[verb], "--quiet")
    assert r.returncode in (0, 1)
    assert not [ln for ln in r.stderr.splitlines() if ln.startswith("vmcheck ")], r.stderr


def test_a_short_run_prints_no_progress_at_the_default_interval():
    r = run("check", "pg-toy", "--format", "json", interval="5")
    assert r.returncode == 0 and "vmcheck check:" not in r.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_bar_on_a_terminal():
    master, slave = os.openpty()
    try:
        r = run("check", "pg-toy-broken", "--format", "json", "--no-cache", stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert r.returncode == 1
    assert "solving" in shown and "━" in shown  # rich's bar
    json.loads(r.stdout)
