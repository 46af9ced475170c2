"""Progress on stderr for the long verbs.

On a terminal: a rich progress bar that disappears when the work is done. Elsewhere
(a CI log, a pipe): a plain line every few seconds, so a log shows the run is
alive without filling up. `--quiet` silences both. Standard output is never
touched: it carries the verb's text, JSON or SARIF.

Progress goes to the process's own stderr (`sys.__stderr__`): it is a side
channel to the person or the log watching, not part of the verb's output, so
a caller that captures `sys.stderr` in-process (click's CliRunner, a test
parsing JSON from the mixed output) does not receive it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Seconds between plain progress lines; VMCHECK_PROGRESS_SECONDS changes it (tests set 0).
DEFAULT_INTERVAL = 5.0


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("VMCHECK_PROGRESS_SECONDS", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


Callback = Callable[[int, int], None]


class _Plain:
    """One line per interval: `vmcheck check: solving 12/40 (30%), 7s`."""

    def __init__(self, verb: str):
        self.verb = verb
        self.t0 = time.monotonic()
        self.last = self.t0
        self.interval = _interval()
        self.what = ""

    def stage(self, what: str) -> None:
        self.what = what

    def update(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        count = f" {done}/{total} ({100 * done // total}%)" if total else (f" {done}" if done else "")
        _write(f"vmcheck {self.verb}: {self.what}{count}, {now - self.t0:.0f}s\n")

    def close(self) -> None:
        pass


class _Bar:
    """A rich bar on the terminal, removed when the work ends."""

    def __init__(self, verb: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.prog = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=_stream()),
            transient=True,
        )
        self.prog.start()
        self.task = self.prog.add_task(verb, total=None)
        self.verb = verb

    def stage(self, what: str) -> None:
        self.prog.update(self.task, description=f"{self.verb}: {what}", completed=0, total=None)

    def update(self, done: int, total: int | None) -> None:
        self.prog.update(self.task, completed=done, total=total)

    def close(self) -> None:
        self.prog.stop()


class _Silent:
    def stage(self, what: str) -> None:
        pass

    def update(self, done: int, total: int | None) -> None:
        pass

    def close(self) -> None:
        pass


def _stream():
    return sys.__stderr__


def _write(text: str) -> None:
    try:
        _stream().write(text)
        _stream().flush()
    except (OSError, ValueError):
        pass


@contextmanager
def progress(verb: str, *, quiet: bool = False) -> Iterator[_Plain | _Bar | _Silent]:
    """A reporter with `stage(what)` and `update(done, total)` (an engine `progress` callback)."""
    if quiet:
        rep: _Plain | _Bar | _Silent = _Silent()
    elif _stream() is not None and _stream().isatty():
        rep = _Bar(verb)
    else:
        rep = _Plain(verb)
    try:
        yield rep
    finally:
        rep.close()
