"""The result cache: one JSON file per (instruction, context) unit.

The key hashes everything a unit's answer depends on: the instruction's IR,
the parts of the ISA every query reads (elements, modes, storage, traps,
host, invariants, pc, instruction width, the view's address width), the
context, vmcheck's version and the source of the reading and the queries
(so a changed engine never serves stale answers). A result with an unknown
is stored under the key and the solver budget (`undecided_key`), so it is
served again only for the same `--budget` (a budget gives the same answer on
any machine, so the entry is exact); a decided one holds for any budget.

Where: `$VMCHECK_CACHE_DIR` if set, else the user's cache directory
(`vmcheck.paths.cache_dir`: `~/.cache/vmcheck` on Linux).

The cache trusts nothing it reads: an entry is an envelope naming its format,
schema and key, with a SHA-256 of its value, and the value is checked shape
by shape against the closed vocabulary of results (every class and theorem
present, each answer yes/no/unknown with known evidence). A truncated,
garbage, tampered (a "yes" flipped to "no"), wrong-shape, wrong-version or
misplaced entry is a miss: the unit is decided again and the entry
rewritten. Entries are written to a temporary file and renamed into place,
so concurrent runs and a run killed mid-write never leave half an entry
under a key. A cache directory that cannot be written degrades to no cache,
with one warning on stderr. The checksum guards against damage, not against
an attacker who can write the cache directory (they could recompute it).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..spec import ir
from ..spec.memo import memo
from ..theory import Evidence
from .results import CLASSES, NO, THEOREMS, UNKNOWN, YES

SCHEMA = 2  # 2: entries are checksummed envelopes
FORMAT = "vmcheck-result-cache"
# An entry larger than this is not one of ours (witnesses are a few KB).
MAX_ENTRY_BYTES = 4 << 20
VALUES = (YES, NO, UNKNOWN)
# "budget": an unknown because the solver budget ran out (the only unknown that is
# cached); "timeout" (the wall-clock safety net) is not reproducible, never stored.
EVIDENCE = tuple(e.value for e in Evidence if e is not Evidence.TIMEOUT)


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
    h.update((root / "theory.py").read_bytes())  # the classes and answer values an entry holds
    for meaning in ("operators.py", "ir_walk.py"):  # what the operators mean, how the readings walk the IR
        h.update((root / "spec" / meaning).read_bytes())
    return h.hexdigest()


def _isa_digest(isa: ir.Isa, vaw: int) -> str:
    """The ISA parts that every query of every instruction reads."""
    key = memo(isa).get("cache.digest")
    if key is None:
        parts = (
            isa.word,
            isa.modes,
            isa.elements,
            isa.pc,
            isa.storage,
            isa.traps,
            isa.host,
            isa.invariants,
            isa.insn_width,
            vaw,
        )
        key = hashlib.sha256(repr(parts).encode()).hexdigest()
        memo(isa)["cache.digest"] = key
    return key


def bare(insn: ir.Instruction) -> ir.Instruction:
    """`insn` without its claims and prose (labels, description, ref): what the
    engine decides. They change no answer, so the engine never sees them and a
    spec stripped of its labels reuses the results of the labelled one."""
    return replace(insn, labels=frozenset(), description="", ref="")


def unit_key(isa: ir.Isa, insn: ir.Instruction, ctx: ir.Context, vaw: int) -> str:
    h = hashlib.sha256()
    for part in (str(SCHEMA), __version__, _engine_digest(), _isa_digest(isa, vaw), repr(bare(insn)), repr(ctx)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key}.json"


def _digest(value: Any) -> str:
    """SHA-256 of the value's canonical JSON (sorted keys, no blanks)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def undecided_key(key: str, budget: int) -> str:
    """Where a result with an unknown is kept: per solver budget."""
    return f"{key}-b{budget}"


def load(key: str) -> dict[str, Any] | None:
    """The result stored under `key`, or None when there is none we can trust."""
    if not _KEY.fullmatch(key):
        return None
    try:
        with open(_path(key), "rb") as f:
            data = f.read(MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_ENTRY_BYTES:
        return None
    try:
        entry = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not (
        isinstance(entry, dict)
        and set(entry) == {"format", "schema", "key", "sha256", "value"}
        and entry["format"] == FORMAT
        and entry["schema"] == SCHEMA
        and entry["key"] == key
    ):
        return None
    value = entry["value"]
    try:
        if entry["sha256"] != _digest(value):
            return None
    except (TypeError, ValueError):
        return None
    if not valid_result(value):
        return None
    # Decided results live under the unit key, undecided ones under its budget key.
    return value if _undecided(value) == ("-" in key) else None


def _undecided(value: dict[str, Any]) -> bool:
    """Does a (valid) result hold an unknown?"""
    return any(a["value"] == UNKNOWN for part in ("classes", "violates") for a in value[part].values())


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# A unit key, optionally with the suffix of an undecided result (`-b<budget>`).
_KEY = __import__("re").compile(r"[0-9a-f]{64}(?:-b[0-9]{1,20})?")


def store(key: str, value: dict[str, Any]) -> None:
    """Write `value` under `key` atomically (temp file + rename); a cache that
    cannot be written is only slower, and says so once. Only what `load` would
    serve back is written: a valid result, decided under the unit key, undecided
    (by the budget) under `undecided_key`."""
    if not (_KEY.fullmatch(key) and valid_result(value) and _undecided(value) == ("-" in key)):
        return
    d = cache_dir() / key[:2]
    try:
        entry = {"format": FORMAT, "schema": SCHEMA, "key": key, "sha256": _digest(value), "value": value}
        text = json.dumps(entry, allow_nan=False)
    except (TypeError, ValueError):  # pragma: no cover - results are plain JSON
        return
    tmp = None
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, d / f"{key}.json")
        tmp = None
    except OSError as e:
        _warn_once(
            f"vmcheck: warning: cannot write the result cache in {cache_dir()} "
            f"({e.strerror or e}); continuing without it"
        )
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


_warned = False


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        print(message, file=sys.stderr)


# ---- validation: the full shape, values in the closed vocabulary ----------------


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)


def _str_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(i, str) for i in x)


def _state_value(x: Any) -> bool:
    """A witness state's element value: an integer, or a list of them (a register file)."""
    return _is_int(x) or (isinstance(x, list) and all(_is_int(i) for i in x))


def _state_map(x: Any) -> bool:
    return isinstance(x, dict) and all(isinstance(k, str) and _state_value(v) for k, v in x.items())


def _cells(x: Any) -> bool:
    """Memory cells and writes: {"space": str, "addr": int, ...} with scalar values."""
    return isinstance(x, list) and all(
        isinstance(c, dict)
        and all(isinstance(k, str) for k in c)
        and all(v is None or isinstance(v, (str, bool)) or _is_num(v) for v in c.values())
        for c in x
    )


_STATE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "label": str,
    "mode": (str, type(None)),
    "pre": dict,
    "outcome": str,
    "post": (dict, type(None)),
    "changed": list,
    "writes": list,
    "role": str,
}


def _valid_state(s: Any) -> bool:
    if not (isinstance(s, dict) and {"label", "mode", "pre", "outcome"} <= set(s) <= set(_STATE_FIELDS)):
        return False
    if not all(isinstance(v, _STATE_FIELDS[k]) for k, v in s.items()):
        return False
    return (
        _state_map(s["pre"])
        and (s.get("post") is None or _state_map(s["post"]))
        and _str_list(s.get("changed", []))
        and _cells(s.get("writes", []))
    )


_WITNESS_FIELDS = {"query", "operands", "states", "differs", "memory", "summary", "view"}


def _view_entries(v: Any) -> bool:
    return isinstance(v, list) and all(
        isinstance(e, dict)
        and set(e) == {"kind", "priv", "addr", "fault"}
        and e["kind"] in ("read", "write")
        and isinstance(e["priv"], str)
        and _is_int(e["addr"])
        and isinstance(e["fault"], bool)
        for e in v
    )


def _valid_witness(w: Any) -> bool:
    return (
        isinstance(w, dict)
        and {"query", "operands", "states"} <= set(w) <= _WITNESS_FIELDS
        and isinstance(w["query"], str)
        and isinstance(w.get("summary", ""), str)
        and isinstance(w["operands"], dict)
        and all(isinstance(k, str) and _is_int(v) for k, v in w["operands"].items())
        and isinstance(w["states"], list)
        and all(_valid_state(s) for s in w["states"])
        and _str_list(w.get("differs", []))
        and _cells(w.get("memory", []))
        and _view_entries(w.get("view", []))
    )


def _valid_answer(a: Any) -> bool:
    if not (
        isinstance(a, dict)
        and {"value", "reason", "evidence"} <= set(a) <= {"value", "reason", "evidence", "queries", "witness"}
    ):
        return False
    if a["value"] not in VALUES or a["evidence"] not in EVIDENCE or not isinstance(a["reason"], str):
        return False
    # An answer "unknown" is a budget that ran out and only that; a witness carries one.
    if (a["value"] == UNKNOWN) != (a["evidence"] == "budget"):
        return False
    if a["evidence"] == "witness" and "witness" not in a:
        return False
    return _str_list(a.get("queries", [])) and ("witness" not in a or _valid_witness(a["witness"]))


def valid_result(v: Any) -> bool:
    """Is `v` an instruction result as `engine.result_to_json` writes it?"""
    try:
        return (
            isinstance(v, dict)
            and set(v) == {"name", "mnemonic", "line", "labels", "classes", "violates", "seconds"}
            and isinstance(v["name"], str)
            and isinstance(v["mnemonic"], str)
            and (v["line"] is None or _is_int(v["line"]))
            and _str_list(v["labels"])
            and _is_num(v["seconds"])
            and v["seconds"] >= 0
            and isinstance(v["classes"], dict)
            and set(v["classes"]) == set(CLASSES)
            and all(_valid_answer(a) for a in v["classes"].values())
            and isinstance(v["violates"], dict)
            and set(v["violates"]) == set(THEOREMS)
            and all(_valid_answer(a) for a in v["violates"].values())
        )
    except RecursionError:  # pragma: no cover - json.loads bounds depth first
        return False
