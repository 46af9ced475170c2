"""Build cases, run them through the CLI in-process, classify the outcomes."""

from __future__ import annotations

import functools
import random
import re
import resource
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from click.testing import CliRunner

from . import generate
from .mutate import mutate

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "isa_specs"

LOADED, CLEAN, UNLOCATED, INTERNAL, HANG, MEMORY = (
    "loaded",
    "clean_error",
    "unlocated_error",
    "internal_error",
    "hang",
    "memory",
)
OUTCOMES = (LOADED, CLEAN, UNLOCATED, INTERNAL, HANG, MEMORY)
FAILURES = (INTERNAL, HANG, MEMORY)

_LOCATED = re.compile(r"^\S[^\n]*?:\d+:\d+: error: ", re.M)
_CRASH_FILE = re.compile(r"details are in (\S+)")


class Hang(BaseException):
    """The per-case time guard fired (a BaseException, so the CLI's own
    `except Exception` cannot turn it into an internal error)."""


@dataclass
class Seed:
    """One bundled spec: its YAML and `.isa` text, its sample programs."""

    name: str
    yaml_path: Path
    yaml: bytes
    isa: bytes
    programs: list[Path]


@dataclass
class Case:
    index: int
    category: str  # spec_yaml, spec_isa, program, gen_semantics, gen_program
    spec: str
    mutators: list[str]
    data: bytes
    suffix: str


@dataclass
class Result:
    index: int
    category: str
    spec: str
    mutators: list[str]
    outcome: str
    exit_code: int | None
    seconds: float
    message: str = ""  # the first line of the output, or the crash's last frame
    saved: str | None = None


@dataclass
class Summary:
    cases: int = 0
    outcomes: Counter = field(default_factory=Counter)
    by_category: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    unlocated: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    slowest: list = field(default_factory=list)

    def to_json(self) -> dict:
        # Not asdict(): it rebuilds a Counter from its (key, count) pairs, counting the pairs.
        return {
            "cases": self.cases,
            "outcomes": dict(self.outcomes),
            "by_category": {k: dict(v) for k, v in self.by_category.items()},
            "failures": list(self.failures),
            "unlocated": dict(self.unlocated.most_common(40)),
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "slowest": list(self.slowest),
        }


@functools.cache
def seeds() -> tuple[Seed, ...]:
    """Every bundled spec, in both syntaxes (the `.isa` text from the printer, as `fmt --to isa`)."""
    from vmcheck.spec.load import read_nodes
    from vmcheck.spec.printer import to_isa

    out = []
    for d in sorted(p for p in SPECS.iterdir() if p.is_dir()):
        y = next(d.glob("*.yaml"))
        isa_text = to_isa(read_nodes(y)).encode()
        out.append(Seed(d.name, y, y.read_bytes(), isa_text, sorted((d / "programs").glob("*.s"))))
    return tuple(out)


CATEGORIES = {"spec_yaml": 30, "spec_isa": 20, "program": 35, "gen_semantics": 10, "gen_program": 5}


def make_case(seed: int, index: int) -> Case:
    """Case `index` of campaign `seed`: the same inputs give the same case."""
    rng = random.Random(f"{seed}:{index}")
    category = rng.choices(list(CATEGORIES), list(CATEGORIES.values()))[0]
    s = rng.choice(seeds())
    if category == "spec_yaml":
        data, names = mutate(s.yaml, rng, "yaml")
        return Case(index, category, s.name, names, data, ".yaml")
    if category == "spec_isa":
        data, names = mutate(s.isa, rng, "isa")
        return Case(index, category, s.name, names, data, ".isa")
    if category == "gen_semantics":
        base = next(x for x in seeds() if x.name == "pg-toy")
        return Case(index, category, "pg-toy", ["generated"], generate.gen_semantics_spec(rng, base.yaml_path), ".yaml")
    s = rng.choice([x for x in seeds() if x.programs])
    if category == "gen_program":
        from vmcheck.spec.load import load_spec

        mnemonics = sorted({i.syntax.split()[0] for i in _cached_load(str(s.yaml_path)).instructions})
        del load_spec
        return Case(index, category, s.name, ["generated"], generate.gen_program(rng, mnemonics), ".s")
    prog = rng.choice(s.programs)
    data, names = mutate(prog.read_bytes(), rng, "program")
    return Case(index, category, f"{s.name}/{prog.name}", names, data, ".s")


@functools.cache
def _real_load_spec():
    """vmcheck's own spec loader, taken before any case replaces it (`_replacing_loader`)."""
    from vmcheck.spec.load import load_spec

    return load_spec


@functools.cache
def _cached_load(path: str):
    return _real_load_spec()(path)


# The guard counts CPU seconds (ITIMER_PROF), so a machine shared with other
# jobs does not turn a slow case into a "hang"; a wall-clock guard at
# WALL_FACTOR times the limit catches a case blocked without using CPU.
WALL_FACTOR = 6


def _guard(seconds: float):
    def fire(signum, frame):
        _unguard()
        raise Hang()

    signal.signal(signal.SIGPROF, fire)
    signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, seconds * WALL_FACTOR)


def _unguard():
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)


def _invoke(args: list[str], timeout: float) -> tuple[str, int | None, str]:
    """(outcome, exit code, message) of one CLI call."""
    from vmcheck.cli import main

    runner = CliRunner()
    try:
        _guard(timeout)
        try:
            r = runner.invoke(main, args, catch_exceptions=True)
        finally:
            _unguard()
    except Hang:
        return HANG, None, f"no answer within {timeout:g} CPU s ({timeout * WALL_FACTOR:g} s wall)"
    err = r.stderr or ""
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        kind = MEMORY if isinstance(r.exception, MemoryError) else INTERNAL
        return kind, r.exit_code, f"{type(r.exception).__name__}: {r.exception}"[:300]
    if "internal error" in err:
        msg = _crash_signature(err)
        return (MEMORY if "MemoryError" in msg else INTERNAL), r.exit_code, msg
    if r.exit_code == 2:
        if _LOCATED.search(err):
            return CLEAN, 2, err.splitlines()[0][:300] if err else ""
        return UNLOCATED, 2, (err.strip().splitlines() or [""])[0][:300]
    if r.exit_code in (0, 1):
        return LOADED, r.exit_code, ""
    return INTERNAL, r.exit_code, f"unexpected exit {r.exit_code}: {err[:300]}"


def _crash_signature(err: str) -> str:
    """The exception and the innermost vmcheck frame of a crash report."""
    m = _CRASH_FILE.search(err)
    if not m:
        return err.strip().splitlines()[0][:300]
    p = Path(m.group(1))
    try:
        tb = p.read_text()
        p.unlink()
    except OSError:
        return err.strip()[:300]
    frames = re.findall(r'File "([^"]*vmcheck/[^"]*)", line (\d+), in (\w+)', tb)
    where = f" at {Path(frames[-1][0]).name}:{frames[-1][1]} {frames[-1][2]}" if frames else ""
    last = tb.strip().splitlines()[-1] if tb.strip() else "?"
    return (last[:200] + where)[:300]


def run_case(case: Case, work: Path, timeout: float) -> Result:
    t0 = time.perf_counter()
    d = work / f"c{case.index}"
    d.mkdir()
    try:
        outcome, code, msg = _run_in(case, d, timeout)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return Result(
        case.index, case.category, case.spec, case.mutators, outcome, code, round(time.perf_counter() - t0, 3), msg
    )


def _seed(name: str) -> Seed:
    return next(s for s in seeds() if s.name == name.split("/")[0])


def _run_in(case: Case, d: Path, timeout: float) -> tuple[str, int | None, str]:
    s = _seed(case.spec)
    if case.suffix in (".yaml", ".isa"):
        spec = d / f"fz{case.suffix}"
        spec.write_bytes(case.data)
        (d / "programs").symlink_to(s.yaml_path.parent / "programs")
        memo: dict = {}
        outcome, code, msg = _with_loader(memo, lambda: _invoke(["lint", str(spec)], timeout))
        if outcome == LOADED and s.programs:
            # What lint accepts must run: run a sample program on the mutated machine
            # (the spec lint loaded is reused: loading it again would test nothing new).
            outcome, code, msg = _with_loader(
                memo, lambda: _invoke(["run", str(spec), str(s.programs[0]), "--max-steps", "2000"], timeout)
            )
        return outcome, code, msg
    prog = d / "fz.s"
    prog.write_bytes(case.data)
    return _with_cached_spec(lambda: _invoke(["run", str(s.yaml_path), str(prog), "--max-steps", "2000"], timeout))


def _replacing_loader(loader, fn):
    """Run `fn` with the CLI's spec loader replaced by `loader`. The verbs load
    through `vmcheck.cli.common.load`, which looks up
    `vmcheck.spec.load.load_spec` at each call, so that is the name replaced."""
    from vmcheck.spec import load as spec_load

    _real_load_spec()  # taken before the replacement
    saved = spec_load.load_spec
    spec_load.load_spec = loader
    try:
        return fn()
    finally:
        spec_load.load_spec = saved


def _with_loader(memo: dict, fn):
    """Run `fn` with the CLI's spec loader remembering what it loaded in `memo`."""
    real = _real_load_spec()

    def load(spec):
        if spec not in memo:
            memo[spec] = real(spec)
        return memo[spec]

    return _replacing_loader(load, fn)


def _with_cached_spec(fn):
    """Run `fn` with the CLI's spec loader memoized: the bundled spec is not the
    thing under test in a program case, and loading it every time costs most of it."""
    return _replacing_loader(_cached_load, fn)


def campaign(
    seed: int, cases: int, timeout: float = 10.0, save: Path | None = None, start: int = 0, progress=None
) -> Summary:
    """Run cases start..start+cases-1 of campaign `seed`."""
    summary = Summary()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vmcheck-fuzz-") as tmp:
        work = Path(tmp)
        for i in range(start, start + cases):
            case = make_case(seed, i)
            res = run_case(case, work, timeout)
            summary.cases += 1
            summary.outcomes[res.outcome] += 1
            cat = summary.by_category.setdefault(case.category, Counter())
            cat[res.outcome] += 1
            if res.outcome == UNLOCATED:
                summary.unlocated[re.sub(r"'[^']*'", "'…'", res.message)[:120]] += 1
            if res.outcome in FAILURES:
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    p = save / f"case-{seed}-{i}{case.suffix}"
                    p.write_bytes(case.data)
                    res.saved = str(p)
                summary.failures.append(asdict(res))
            summary.slowest.append((res.seconds, i, case.category, case.spec, case.mutators))
            summary.slowest = sorted(summary.slowest, reverse=True)[:10]
            if progress:
                progress(summary, res)
    summary.by_category = {k: dict(v) for k, v in summary.by_category.items()}
    summary.seconds = round(time.perf_counter() - t0, 1)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    summary.cpu_seconds = round(ru.ru_utime + ru.ru_stime, 1)
    summary.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return summary
