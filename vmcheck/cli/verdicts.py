"""Each spec's last verdicts, kept so that `vmcheck specs` can show them
without loading or solving anything.

`vmcheck check` writes one small entry per whole spec it decides; the key
hashes the spec file's bytes and vmcheck's own source, so an edited spec or
another vmcheck finds no entry (and `specs` says how to get one) instead of
a stale verdict. An entry that does not have the expected shape is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from ..theory import THEOREMS


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """vmcheck's own source, the CLI aside (it renders verdicts, it does not decide them)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith("cli/"):
            continue
        h.update(rel.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _entry(spec_file: Path) -> Path:
    from ..paths import cache_dir

    h = hashlib.sha256()
    h.update(_code_digest().encode())
    h.update(b"\0")
    h.update(spec_file.read_bytes())
    return cache_dir() / "verdicts" / f"{h.hexdigest()}.json"


def record(spec_file: Path, verdicts: dict[str, bool | None]) -> None:
    """Remember a whole spec's verdicts (atomically; a cache that cannot be written is skipped)."""
    try:
        path = _entry(spec_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"verdicts": {t: verdicts[t] for t in THEOREMS}}, f)
        os.replace(tmp, path)
    except (OSError, KeyError):
        pass


def recall(spec_file: Path) -> dict[str, bool | None] | None:
    """The verdicts recorded for this exact file, or None."""
    try:
        with open(_entry(spec_file), encoding="utf-8") as f:
            doc = json.load(f)
        v = doc["verdicts"]
        if set(v) == set(THEOREMS) and all(x is True or x is False or x is None for x in v.values()):
            return {t: v[t] for t in THEOREMS}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None
