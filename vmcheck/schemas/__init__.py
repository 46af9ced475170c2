"""JSON Schemas shipped with vmcheck (draft 2020-12).

One per `--format json` output (`check`, `confirm`, `diff`, `run`) and one
for the YAML spec format (`spec`), so that editors validate and complete
specs: put `# yaml-language-server: $schema=PATH` on a spec's first line,
with PATH from `vmcheck.schemas.path("spec")`.
"""

from __future__ import annotations

import json
from pathlib import Path

NAMES = ("check", "confirm", "diff", "run", "spec", "configure", "repair", "paravirt")

_DIR = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The file of schema `name` (one of NAMES)."""
    if name not in NAMES:
        raise KeyError(f"no schema named {name!r} (schemas: {', '.join(NAMES)})")
    return _DIR / f"{name}.schema.json"


def load(name: str) -> dict:
    """Schema `name` as a dict."""
    return json.loads(path(name).read_text(encoding="utf-8"))


__all__ = ["NAMES", "path", "load"]
