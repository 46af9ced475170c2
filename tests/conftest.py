"""Shared test set-up: private result caches for the whole session.

Every test, and every `vmcheck` subprocess a test starts, uses cache
directories of the session's own, so tests never read or write the user's
cache (and a stale entry there cannot make a test pass). The session shares
them, so a spec decided by one test is not decided again by the next. Set
VMCHECK_TEST_CACHE_DIR to keep them between sessions (a faster edit-test loop).

Two directories: VMCHECK_CACHE_DIR for everything, and beside it
`<that>-labels-stripped` for the copies of specs without labels, which must
be decided afresh to mean anything (tests/helpers.py, `check_stripped`).

What the tests share (the bundled library, the CLI in-process and as a
program, the README's expected verdicts, report readers) is in
tests/helpers.py: plain functions, memoised per session, that run nothing at
import. The fixture `checked` gives a test module the check report of its
bundled spec, the module's `NAME`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pytest

_made: str | None = None


def pytest_configure(config) -> None:
    # In pytest_configure rather than a fixture: subprocesses and every import
    # after this point read VMCHECK_CACHE_DIR from the environment.
    global _made
    keep = os.environ.get("VMCHECK_TEST_CACHE_DIR")
    if keep:
        os.environ["VMCHECK_CACHE_DIR"] = keep
    else:
        _made = tempfile.mkdtemp(prefix="vmcheck-test-cache-")
        os.environ["VMCHECK_CACHE_DIR"] = _made


def pytest_unconfigure(config) -> None:
    if _made:
        shutil.rmtree(_made, ignore_errors=True)
        shutil.rmtree(_made + "-labels-stripped", ignore_errors=True)


@pytest.fixture
def checked(request: pytest.FixtureRequest) -> tuple[int, dict[str, Any]]:
    """(exit code, report) of `vmcheck check NAME --format json`, NAME being the
    requesting test module's bundled spec; decided once per session."""
    from helpers import check_bundled

    return check_bundled(request.module.NAME)
