"""Ctrl-C: stop any verb within a second, exit 130, one line, no traceback.

Why a watcher thread: z3's Python API calls the solver through ctypes with the
GIL released and installs no SIGINT handling, so while a query runs in this
process (`--jobs 1`) Python's own handler, and the KeyboardInterrupt it
raises, wait until the query ends (up to `--timeout` seconds). The C-level
part of Python's signal handling still writes the signal number to the
"wakeup fd" at once, whatever the main thread is doing; a daemon thread
blocked on that pipe sees it, gives the main thread a moment to unwind on its
own (it does at once when it is in Python code or waiting for worker
processes), and otherwise stops the worker processes and ends the process.

z3 also has its own Ctrl-C handling: by default (solver parameter `ctrl_c`) it
installs a C SIGINT handler for the length of each query and turns the signal
into an "unknown" answer ("interrupted from keyboard"), which Python never
sees. The run would go on, and the engine could record that answer like a
timeout; `solver_ready()` turns it off before any query runs.

z3 offers `Context.interrupt()` (Z3_interrupt, callable from another thread)
to cancel a running query, but a cancelled query answers "unknown", which the
engine would record like a timeout; ending the process records nothing.
The result cache stays trustworthy either way: an entry is written to a
temporary file and renamed into place, so a run stopped at any point leaves
each entry complete or absent.

Worker processes forked from this one inherit the Python-level handler; in
them it does nothing, so a Ctrl-C at the terminal (which signals the whole
process group) prints no traceback per worker: the parent stops them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from .common import EXIT_INTERRUPTED

GRACE_SECONDS = 0.4  # how long the main thread gets to unwind by itself

_main_pid: int | None = None
_exiting = threading.Lock()


def install() -> None:
    """Take over SIGINT for this process (the `vmcheck` program, not tests)."""
    global _main_pid
    if threading.current_thread() is not threading.main_thread():
        return
    _main_pid = os.getpid()
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    signal.signal(signal.SIGINT, _handler)
    sys.unraisablehook = _unraisable
    threading.Thread(target=_watch, args=(r,), name="vmcheck-sigint", daemon=True).start()


_default_unraisable = sys.unraisablehook


def _unraisable(info) -> None:
    """A Ctrl-C that lands in a finalizer (z3's `__del__` runs at any moment) cannot
    propagate: Python would print it as "Exception ignored" with a traceback. End
    the run as the top level would have instead."""
    if _is_interrupt(info.exc_value) and installed():
        finish()
    _default_unraisable(info)


def _is_interrupt(exc: BaseException | None) -> bool:
    """A KeyboardInterrupt, or one that ctypes caught while converting a call's
    arguments (z3's `Z3_dec_ref` in a finalizer) and re-raised as an
    `ArgumentError` naming it, without chaining it."""
    import ctypes

    return isinstance(exc, KeyboardInterrupt) or (
        isinstance(exc, ctypes.ArgumentError) and "KeyboardInterrupt" in str(exc)
    )


def solver_ready() -> None:
    """Leave SIGINT to us: no z3 query may swallow a Ctrl-C (see above). Forked
    solver workers inherit the setting. Called by the verbs that run the engine."""
    import z3

    z3.set_param("ctrl_c", False)


def installed() -> bool:
    return _main_pid == os.getpid()


_received = False


def received() -> bool:
    """Whether a Ctrl-C arrived: the KeyboardInterrupt may surface as another exception
    (ctypes wraps one raised while it converts z3's arguments as an ArgumentError)."""
    return _received


def _handler(signum, frame) -> None:
    global _received
    if os.getpid() != _main_pid:
        return  # a forked worker: the parent stops it
    _received = True
    raise KeyboardInterrupt


def _watch(fd: int) -> None:
    while True:
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return
        if signal.SIGINT in data:
            time.sleep(GRACE_SECONDS)
            finish()


def finish() -> None:
    """Stop the workers, print one line and end the process with exit 130.

    Called by the top level when the KeyboardInterrupt arrives, or by the
    watcher when it does not arrive in time; whichever comes first wins.
    """
    if not installed():  # in-process callers (tests): a plain exit
        sys.exit(EXIT_INTERRUPTED)
    if not _exiting.acquire(blocking=False):
        time.sleep(60)  # the other thread is ending the process
        return
    _stop_children()
    try:
        if sys.stderr is not None:
            if sys.stderr.isatty():
                sys.stderr.write("\x1b[?25h\n")  # a progress bar may have hidden the cursor
            sys.stderr.write("vmcheck: interrupted\n")
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(EXIT_INTERRUPTED)


def _stop_children() -> None:
    """Terminate the worker processes this process started (solver pools, fuzzing)."""
    import multiprocessing

    try:
        children = multiprocessing.active_children()
    except Exception:  # noqa: BLE001 - best effort while exiting
        return
    for p in children:
        try:
            p.terminate()
        except (OSError, AttributeError, ValueError):
            pass
    deadline = time.monotonic() + 0.3
    for p in children:
        try:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
        except (OSError, AttributeError, ValueError, AssertionError):
            pass
