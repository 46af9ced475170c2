"""The result cache: one JSON file per (instruction, context) unit.

The key hashes everything a unit's answer depends on: the instruction's IR,
the parts of the ISA every query reads (elements, modes, storage, traps,
host, invariants, pc, instruction width, the view's address width), the
context, vmcheck's version and the source of the reading and the queries
(so a changed engine never serves stale answers). A result with an unknown
is stored under the key and the solver budget (`undecided_key`), so it is
served again only for the same `--budget` (a budget gives the same answer on
any machine, so the entry is exact); a decided one holds for any budget.

Where: `$VMCHECK_CACHE_DIR` if set, else `.vmcheck-cache/` in the current
directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..spec import ir

SCHEMA = 1


def cache_dir() -> Path:
    from ..paths import cache_dir as where  # $VMCHECK_CACHE_DIR, else the user's cache directory

    return where()


@lru_cache(maxsize=1)
def _engine_digest() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for sub in ("semantics", "analysis"):
        for p in sorted((root / sub).glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _isa_digest(isa: ir.Isa, vaw: int) -> str:
    """The ISA parts that every query of every instruction reads."""
    key = isa.__dict__.get("_vmcheck_cache_digest")
    if key is None:
        parts = (isa.word, isa.modes, isa.elements, isa.pc, isa.storage, isa.traps, isa.host, isa.invariants,
                 isa.insn_width, vaw)
        key = hashlib.sha256(repr(parts).encode()).hexdigest()
        object.__setattr__(isa, "_vmcheck_cache_digest", key)
    return key


def unit_key(isa: ir.Isa, insn: ir.Instruction, ctx: ir.Context, vaw: int) -> str:
    h = hashlib.sha256()
    # Labels and descriptions are claims and prose: they change no answer, so a spec
    # stripped of its labels reuses the results of the labelled one.
    bare = replace(insn, labels=frozenset(), description="")
    for part in (str(SCHEMA), __version__, _engine_digest(), _isa_digest(isa, vaw), repr(bare), repr(ctx)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def undecided_key(key: str, budget: int) -> str:
    """Where a result with an unknown is kept: per solver budget."""
    return f"{key}-b{budget}"


def load(key: str) -> dict[str, Any] | None:
    p = cache_dir() / key[:2] / f"{key}.json"
    try:
        with open(p, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def store(key: str, value: dict[str, Any]) -> None:
    d = cache_dir() / key[:2]
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f)
        os.replace(tmp, d / f"{key}.json")
    except OSError:
        pass  # a cache that cannot be written is only slower
