"""Record what every verb prints for every bundled spec, to compare two versions.

A behaviour-preserving change (a refactoring) must leave every output
byte-identical. Run this before and after, then diff the two folders:

    python tools/snapshot_outputs.py OUT_BEFORE
    ... change the code ...
    python tools/snapshot_outputs.py OUT_AFTER
    diff -r -x .cache OUT_BEFORE OUT_AFTER

Each command's stdout, stderr and exit code go to one file named for the
command. Timing figures (seconds, medians) are masked, since they differ
between any two runs; nothing else is. The script drives the CLI in-process
(click's test runner) in a fixed order, with a fixed terminal width, and uses
its own result cache (`OUT/.cache`, left out of the comparison: its entries
record solving times) so a warm user cache cannot hide a change in the
engine. It records the vmcheck of the checkout it is in, and names each file
for its command with temporary paths masked, so two runs name them alike. It
learns instruction names and programs from the CLI's own output and the
library folder, so it runs on any version of the code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "isa_specs"
# The vmcheck of this checkout, not whichever one is installed: run as a script,
# Python puts tools/ first on the path, and an editable install elsewhere (or a
# wheel) would otherwise be the code recorded.
sys.path.insert(0, str(ROOT))

# Durations in any unit the CLI prints; the key names JSON uses for them.
_TIME_TEXT = re.compile(r"\b\d+(?:\.\d+)?(?:e-?\d+)?\s?(?:s|ms|µs|us|seconds|min)\b")
_TIME_KEYS = re.compile(
    r'("(?:[a-z_]*seconds|[a-z_]*time[a-z_]*|elapsed|duration|wall[a-z_]*|cpu[a-z_]*|median[a-z_]*|ratio)"\s*:\s*)(-?[0-9.e+-]+|"[^"]*")'
)
_SARIF_TIME = re.compile(r'("(?:startTimeUtc|endTimeUtc|timestamp)"\s*:\s*)"[^"]*"')
_JUNIT_TIME = re.compile(r'(time|timestamp)="[^"]*"')


_PLACES: dict[str, str] = {}  # paths that differ between checkouts and runs -> a fixed word


def mask(text: str) -> str:
    for place, word in _PLACES.items():
        text = text.replace(place, word)
    text = _TIME_KEYS.sub(r"\1<t>", text)
    text = _SARIF_TIME.sub(r'\1"<t>"', text)
    text = _JUNIT_TIME.sub(r'\1="<t>"', text)
    return _TIME_TEXT.sub("<t>", text)


def slug(args: list[str]) -> str:
    """A file name for a command: the same in every run (temporary paths masked)."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", mask("_".join(args))).strip("_")[:180]


class Recorder:
    def __init__(self, out: Path) -> None:
        from click.testing import CliRunner

        from vmcheck.cli import main

        self.main = main
        self.runner = CliRunner()
        self.out = out
        self.count = 0

    def __call__(self, *args: str) -> str:
        argv = list(args)
        result = self.runner.invoke(self.main, argv, catch_exceptions=True)
        stdout = result.stdout
        try:
            stderr = result.stderr
        except ValueError:
            stderr = ""
        crash = ""
        if result.exception and not isinstance(result.exception, SystemExit):
            crash = f"\n[exception] {type(result.exception).__name__}: {result.exception}\n"
        body = f"$ vmcheck {' '.join(argv)}\n[exit {result.exit_code}]\n--- stdout\n{stdout}--- stderr\n{stderr}{crash}"
        (self.out / f"{self.count:04d}_{slug(argv)}.txt").write_text(mask(body), encoding="utf-8")
        self.count += 1
        print(f"[{self.count}] vmcheck {' '.join(argv)} -> {result.exit_code}", file=sys.stderr, flush=True)
        return stdout


def programs(spec: str) -> list[Path]:
    folder = LIBRARY / spec / "programs"
    found = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    return [p.relative_to(ROOT) for p in found]


def instruction_names(rec: Recorder, spec: str) -> list[str]:
    import yaml

    text = rec("fmt", spec, "--to", "yaml")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    return sorted((doc or {}).get("instructions") or {})


def snapshot(out: Path, specs: list[str], quick: bool) -> None:
    rec = Recorder(out)
    rec("--help")
    for verb in (
        "specs",
        "lint",
        "fmt",
        "run",
        "check",
        "explain",
        "confirm",
        "report",
        "diff",
        "docs",
        "configure",
        "repair",
        "paravirt",
    ):
        rec(verb, "--help")
    rec("docs")
    for page in ("model", "format", "tutorial", "architecture", "security", "literature"):
        rec("docs", page)
    rec("lint", *specs)
    rec("diff", "pg-toy", "pg-toy-broken")
    tmp = Path(tempfile.mkdtemp(prefix="vmcheck-snap-"))
    _PLACES[str(tmp)] = "<tmp>"
    for spec in specs:
        rec("lint", spec)
        rec("fmt", spec, "--to", "isa")
        names = instruction_names(rec, spec)
        for fmt in ("text", "json", "sarif"):
            rec("check", spec, "--format", fmt, "-j", "1")
        for theorem in ("1", "2", "3", "exact"):
            rec("check", spec, "--theorem", theorem, "-j", "1", "-q")
        for name in names if not quick else names[:3]:
            rec("explain", spec, name, "-j", "1")
        for prog in programs(spec):
            rec("run", spec, str(prog))
            rec("run", spec, str(prog), "--trace")
        for fmt in ("text", "json", "junit"):
            rec("confirm", spec, "--format", fmt, "-j", "1", "--fuzz", "20", "--seed", "3")
        for vmm in ("hybrid", "translate"):
            rec("confirm", spec, "--vmm", vmm, "--format", "json", "-j", "1", "--fuzz", "10")
        for fmt in ("md", "html"):
            target = tmp / f"{spec}.{fmt}"
            rec("report", spec, "-o", str(target), "-j", "1", "-q")
            (out / f"report_{spec}.{fmt}").write_text(
                mask(target.read_text(encoding="utf-8")) if target.exists() else "<none>\n", encoding="utf-8"
            )
        target = tmp / f"{spec}-confirm.md"
        rec("report", spec, "-o", str(target), "--confirm", "--fuzz", "10", "-j", "1", "-q")
        (out / f"report_{spec}-confirm.md").write_text(
            mask(target.read_text(encoding="utf-8")) if target.exists() else "<none>\n", encoding="utf-8"
        )
        for theorem in ("1", "3", "exact"):
            for verb in ("configure", "repair"):
                for fmt in ("text", "json"):
                    rec(verb, spec, "--theorem", theorem, "--format", fmt, "-j", "1", "-q")
        for prog in programs(spec)[:2]:
            for fmt in ("text", "json"):
                rec("paravirt", spec, str(prog), "--format", fmt, "-j", "1", "-q")


def library_specs() -> list[str]:
    return sorted(p.name for p in LIBRARY.iterdir() if p.is_dir() and not p.name.startswith("."))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write (created; must be empty)")
    ap.add_argument("--spec", action="append", help="only this bundled spec (repeatable)")
    ap.add_argument("--quick", action="store_true", help="explain only three instructions per spec")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if any(p for p in a.out.iterdir() if p.name != ".cache"):
        ap.error(f"{a.out} is not empty")
    os.environ.setdefault("VMCHECK_CACHE_DIR", str(a.out.resolve() / ".cache"))
    os.environ["COLUMNS"] = "100"
    os.environ["NO_COLOR"] = "1"
    _PLACES[str(ROOT)] = "<root>"
    _PLACES[str(a.out.resolve())] = "<out>"
    os.chdir(ROOT)  # relative paths in outputs then read the same for any checkout
    snapshot(a.out, a.spec or library_specs(), a.quick)
    json.dump({"commands": len(list(a.out.glob("*.txt")))}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
