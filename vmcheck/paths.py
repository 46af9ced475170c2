"""Where vmcheck keeps its files. Imports nothing heavy (used by `vmcheck specs`)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$VMCHECK_CACHE_DIR` if set, else the user's cache directory (platformdirs:
    `~/.cache/vmcheck` on Linux), so that no run leaves files in the user's
    repository."""
    env = os.environ.get("VMCHECK_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vmcheck", appauthor=False))
