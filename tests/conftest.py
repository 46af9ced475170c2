"""Shared test set-up: a private result cache for the whole session.

Every test, and every `vmcheck` subprocess a test starts, uses one cache
directory of its own, so tests never read or write the user's cache (and a
stale entry there cannot make a test pass). The session shares it, so a
spec decided by one test is not decided again by the next. Set
VMCHECK_TEST_CACHE_DIR to keep it between sessions (a faster edit-test loop).
"""

from __future__ import annotations

import os
import shutil
import tempfile

_made: str | None = None


def pytest_configure(config) -> None:
    # In pytest_configure rather than a fixture: some test modules decide specs at import.
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
