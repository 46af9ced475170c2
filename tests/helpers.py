"""What the tests share: the bundled library's files, the CLI run in-process or
as a program, the README's expected verdicts, and readers for the reports of
`vmcheck check --format json`.

Guarantees:

* nothing runs at import: specs are loaded, decided and run on first use, so
  collecting the tests reads no spec and asks no solver;
* a bundled spec is loaded, checked (per set of options) or has a program run
  at most once per test session (`functools.cache`), so the table over the
  library (test_library.py) and the per-ISA literature tests share one run;
  each call returns a fresh copy of the report, so a test cannot change what
  the next one reads;
* the engine never sees labels (analysis/engine.py decides `cache.bare(insn)`,
  tests/test_analysis.py checks it), and the result cache ignores them
  (`unit_key`). A copy of a spec with its labels stripped is therefore decided
  afresh, in a cache of its own (`stripped_cache_dir`), only where that is
  cheap (`FRESH_STRIPPED`); the big specs' stripped copies read the session's
  cache, which checks the report's part (verdicts and violations computed
  without the labels) at no solver cost.

The session's cache directories are set by conftest.py before any test runs.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from vmcheck.cli import main
from vmcheck.spec.library import bundled

ROOT = Path(__file__).resolve().parents[1]
THEOREMS = ("1", "2", "3", "exact")

# Options some specs are always checked with. ARM's slow queries (the LDM/STM
# User-register forms, the system registers) take a second or two of CPU, but a
# shared CI machine can stretch that well past the default 20 s of wall time.
CHECK_OPTIONS: dict[str, tuple[str, ...]] = {
    "armv7-a": ("--timeout", "120"),
    "armv8-a": ("--timeout", "120"),
}
# Exit codes a plain check of a bundled spec may give: 0 or 1, and 3 (undecided)
# where a solver timeout on a loaded machine is documented as acceptable.
CHECK_EXITS: dict[str, tuple[int, ...]] = {"armv7-a": (0, 1, 3)}
# Instructions whose queries may come out `unknown` on a loaded machine (each
# per-ISA test file says why); an unknown anywhere else is a failure.
MAY_BE_UNKNOWN: dict[str, frozenset[str]] = {
    "armv7-a": frozenset({"ldm_usr", "ldm_eret", "stm_usr"}),
    "x86-64-vtx": frozenset({"call_far"}),
}


# --- the bundled library -------------------------------------------------------------------


def spec_names() -> list[str]:
    """The bundled specs, by name, sorted."""
    return sorted(bundled())


def spec_path(name: str) -> Path:
    """The bundled spec's file, isa_specs/NAME/NAME.yaml (or .isa)."""
    return bundled()[name]


def programs(name: str) -> list[Path]:
    """The bundled spec's sample programs, isa_specs/NAME/programs/*.s, sorted."""
    return sorted((ROOT / "isa_specs" / name / "programs").glob("*.s"))


@functools.cache
def load_bundled(name: str) -> Any:
    """The bundled spec loaded (a `vmcheck.spec.ir.Isa`), once per session."""
    from vmcheck.spec.load import load_spec

    return load_spec(spec_path(name))


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads `off` and `on` as booleans (YAML 1.1); the specs mean names."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def spec_data(path: Path) -> dict[str, Any]:
    """A YAML spec as data, read as YAML 1.2 reads it (`off`, `on` stay names)."""
    data: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    return data


def write_spec_data(data: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- the CLI -------------------------------------------------------------------------------


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """`vmcheck ARGS` in-process (click's runner): fast, stdout and stderr apart."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def vmcheck_process(*args: str | Path, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    """`vmcheck ARGS` as a real program: a subprocess with its own signals and streams,
    run from the checkout with 80 columns and a time limit; stdout and stderr are
    captured apart unless the caller redirects stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", **kw.pop("env", {})}
    if "stdout" not in kw:
        kw["capture_output"] = True
    return subprocess.run(
        [sys.executable, "-m", "vmcheck", *map(str, args)],
        cwd=kw.pop("cwd", ROOT),
        env=env,
        text=True,
        timeout=timeout,
        **kw,
    )


def check_json(
    spec: str | Path, *args: str, exits: Iterable[int] = (0, 1), env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """(exit code, report) of `vmcheck check SPEC --format json ARGS`, run now.

    Fails the test on an exit code outside `exits` (showing the output)."""
    res = invoke("check", spec, "--format", "json", *args, env=env)
    assert res.exit_code in tuple(exits), res.output
    return res.exit_code, json.loads(res.stdout)


@functools.cache
def _checked(name: str, args: tuple[str, ...]) -> tuple[int, str]:
    code, report = check_json(spec_path(name), *CHECK_OPTIONS.get(name, ()), *args, exits=CHECK_EXITS.get(name, (0, 1)))
    return code, json.dumps(report)


def check_bundled(name: str, *args: str) -> tuple[int, dict[str, Any]]:
    """(exit code, report) of checking bundled spec NAME with ARGS (and its
    CHECK_OPTIONS), decided once per session per ARGS; a fresh copy each call."""
    code, text = _checked(name, tuple(args))
    return code, json.loads(text)


# Specs whose stripped copy is decided afresh: each takes seconds. The others
# (armv7-a, riscv, riscv-h, s370 carry labels) would cost minutes of CI for an
# answer the engine's blindness to labels already guarantees.
FRESH_STRIPPED = frozenset(
    {"pg-toy", "pg-toy-broken", "pg-toy-hybrid", "pg-toy-segments", "pdp10", "mips32", "powerpc", "armv8-a"}
)


def has_labels(name: str) -> bool:
    """Whether bundled spec NAME labels any instruction."""
    return any("labels" in i for i in spec_data(spec_path(name))["instructions"].values())


def stripped_cache_dir() -> str:
    """The session's cache for specs with their labels stripped (see the module docstring)."""
    return os.environ["VMCHECK_CACHE_DIR"] + "-labels-stripped"


@functools.cache
def _checked_stripped(name: str) -> tuple[int, str]:
    data = spec_data(spec_path(name))
    for insn in data["instructions"].values():
        insn.pop("labels", None)
    where = Path(stripped_cache_dir()) / "specs"
    where.mkdir(parents=True, exist_ok=True)
    path = write_spec_data(data, where / f"{name}.yaml")
    code, report = check_json(
        path,
        *CHECK_OPTIONS.get(name, ()),
        exits=CHECK_EXITS.get(name, (0, 1)),
        env={"VMCHECK_CACHE_DIR": stripped_cache_dir()} if name in FRESH_STRIPPED else None,
    )
    return code, json.dumps(report)


def check_stripped(name: str) -> tuple[int, dict[str, Any]]:
    """(exit code, report) of checking a copy of bundled spec NAME without any
    `labels` key, once per session: decided afresh in the stripped-labels cache
    if NAME is in FRESH_STRIPPED, else through the session's cache."""
    code, text = _checked_stripped(name)
    return code, json.loads(text)


@functools.cache
def _ran(name: str, program: str, args: tuple[str, ...]) -> str:
    res = invoke("run", spec_path(name), ROOT / "isa_specs" / name / "programs" / program, "--format", "json", *args)
    assert res.exit_code == 0, res.output
    return res.stdout


def run_program(name: str, program: str, *args: str) -> dict[str, Any]:
    """The JSON of `vmcheck run NAME isa_specs/NAME/programs/PROGRAM --format json
    ARGS` (exit 0 asserted), run once per session per ARGS; a fresh copy each call."""
    out: dict[str, Any] = json.loads(_ran(name, program, tuple(args)))
    return out


# --- reading a check report ----------------------------------------------------------------


def spec_report(report: dict[str, Any]) -> dict[str, Any]:
    """The one spec's part of a report (a multi-spec report lists them under `specs`)."""
    one: dict[str, Any] = report["specs"][0] if "specs" in report else report
    return one


def context(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The report of context NAME."""
    return next(c for c in spec_report(report)["contexts"] if c["name"] == name)


def insn(ctx: dict[str, Any], name: str) -> dict[str, Any]:
    """The result of instruction NAME in a context's report."""
    return next(i for i in ctx["instructions"] if i["name"] == name)


def verdicts(report: dict[str, Any], ctx: str, unknown: bool = False) -> dict[str, tuple[Any, ...]]:
    """theorem -> (holds, violating instructions[, undecided instructions]) in context CTX."""
    out: dict[str, tuple[Any, ...]] = {}
    for t, v in context(report, ctx)["theorems"].items():
        out[t] = (v["holds"], set(v["violations"])) + ((set(v["unknown"]),) if unknown else ())
    return out


# --- the README's library table: the literature's expected verdicts ------------------------


@functools.cache
def readme_table() -> dict[str, dict[str, str]]:
    """spec name -> {column: cell} of the README's "The bundled library" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The bundled library", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        row = dict(zip(header, cells))
        rows[row["spec"].strip("`")] = row
    return rows


def parse_cell(cell: str) -> tuple[str, str | None, list[str]]:
    """A README verdict cell: (verdict word, the context named, the instructions named in backticks)."""
    plain = cell.replace("*", "")
    word = plain.split(":")[0].split("(")[0].strip()
    ctx = re.search(r"context `([^`]+)`", plain)
    # only backticked instruction names: `getm`, `ld` (not notation such as LDM/STM `^`)
    named = re.findall(r"`([A-Za-z][A-Za-z0-9_.]*)`", plain.split(":", 1)[1]) if ":" in plain else []
    return word, ctx.group(1) if ctx else None, named
