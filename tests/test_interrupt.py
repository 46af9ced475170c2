"""Ctrl-C: any verb stops within about a second, exit 130, one line, no traceback,
no worker left behind, and a cache the next run can trust."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def start(args: list[str], cache: Path) -> subprocess.Popen:
    # A progress line per finished unit tells the test when the solver is mid-run.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VMCHECK_CACHE_DIR": str(cache), "VMCHECK_PROGRESS_SECONDS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "vmcheck", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_solving(p: subprocess.Popen, at_least: int = 2) -> list[str]:
    """Read progress lines until `at_least` units are done and many remain."""
    seen = []
    for line in p.stderr:
        seen.append(line)
        m = re.search(r"solving (\d+)/(\d+)", line)
        if m and int(m.group(1)) >= at_least and int(m.group(2)) - int(m.group(1)) > 5:
            return seen
    raise AssertionError("the run ended before the interrupt: " + "".join(seen[-5:]))


def interrupt_after(p: subprocess.Popen, seconds: float, kids: list[int] | None = None) -> tuple[float, str]:
    """SIGINT `seconds` after the solver got going; `kids` receives the children alive then."""
    before = wait_until_solving(p)
    time.sleep(seconds)
    assert p.poll() is None, "the run ended before the interrupt: pick a slower spec"
    if kids is not None:
        kids.extend(children_of(p.pid))
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("still running 10 s after SIGINT") from None
    return time.monotonic() - t0, "".join(before) + err


def children_of(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(x) for x in out.split()]


# x86-32 decided cold takes minutes, in the solver most of the time: a Ctrl-C lands in a z3 query.
@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_during_check_exits_130_quickly_without_a_traceback(tmp_path, jobs):
    p = start(["check", "x86-32", "--no-cache", "--jobs", jobs], tmp_path / "cache")
    kids: list[int] = []
    took, err = interrupt_after(p, 0.5, kids)
    assert p.returncode == 130, err
    assert took < 3.0, f"took {took:.1f} s to stop"
    assert err.strip().splitlines()[-1] == "vmcheck: interrupted"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    if jobs != "1":
        assert kids, "expected solver worker processes"
    assert_gone(kids)


def assert_gone(pids: list[int]) -> None:
    time.sleep(0.5)
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "zombie" in status.read_text().lower(), f"worker {pid} still running"


@pytest.mark.slow
def test_an_interrupted_run_leaves_a_cache_that_gives_the_fresh_answer(tmp_path):
    cache = tmp_path / "cache"
    p = start(["check", "pdp10", "--jobs", "1", "--format", "json"], cache)
    took, err = interrupt_after(p, 0.2)
    assert p.returncode == 130 and took < 3.0, err
    for entry in cache.rglob("*.json"):
        import json

        json.loads(entry.read_text())  # every entry that exists is complete
    warm = subprocess.run(
        [sys.executable, "-m", "vmcheck", "check", "pdp10", "--format", "json", "-q"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "VMCHECK_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    cold = subprocess.run(
        [sys.executable, "-m", "vmcheck", "check", "pdp10", "--format", "json", "-q", "--no-cache"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert warm.returncode == cold.returncode == 1
    strip = __import__("re").compile(r'"(seconds|cached|solver_calls)": [0-9.]+')
    assert strip.sub("", warm.stdout) == strip.sub("", cold.stdout)


@pytest.mark.slow
def test_ctrl_c_during_confirm_stops_its_workers(tmp_path):
    p = start(["confirm", "pg-toy-broken", "--fuzz", "100000", "--no-cache"], tmp_path / "cache")
    kids: list[int] = []
    took, err = interrupt_after(p, 3.0, kids)  # by then it runs random programs
    assert p.returncode == 130, err
    assert took < 3.0 and "Traceback" not in err
    assert_gone(kids)


@pytest.mark.parametrize(
    "exc, ends",
    [
        (KeyboardInterrupt(), True),
        # what ctypes raises when the Ctrl-C lands while it converts Z3_dec_ref's arguments
        (__import__("ctypes").ArgumentError("argument 2: KeyboardInterrupt: "), True),
        (__import__("ctypes").ArgumentError("argument 2: TypeError: wrong type"), False),
        (ValueError("KeyboardInterrupt"), False),
    ],
)
def test_a_ctrl_c_in_a_finalizer_ends_the_run_quietly(monkeypatch, exc, ends):
    """CI saw "Exception ignored in: AstRef.__del__ ... ctypes.ArgumentError: argument 2:
    KeyboardInterrupt" printed with a traceback: that form is an interrupt too."""
    from types import SimpleNamespace

    from vmcheck.cli import interrupt

    finished, printed = [], []
    monkeypatch.setattr(interrupt, "installed", lambda: True)
    monkeypatch.setattr(interrupt, "finish", lambda: finished.append(True))
    monkeypatch.setattr(interrupt, "_default_unraisable", printed.append)
    interrupt._unraisable(SimpleNamespace(exc_value=exc))
    assert bool(finished) == ends
