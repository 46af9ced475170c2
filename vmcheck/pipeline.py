"""Load a spec, decide it, confirm it: the steps the verbs share.

The pipeline of docs/architecture.md in code: the spec is read once into its
node tree and its IR (`load`), the theorem engine decides it (`decide`), the
reference VMM runs its programs and witnesses per guest context (`confirm`),
the remedies of a failing theorem are computed (`remedies`: configure,
repair, paravirt, and with --confirm the translating VMM's cost), and
`proof_input` gathers all of it for the proof report. It sits beside
`cli` above every other part, so that `report/` only reads results and
never runs the engine or the VMM.

Errors are the parts' own: a spec that cannot be found or parsed raises
`SpecError`, a file that cannot be read `UserError` (both exit 2 in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT
from .analysis.results import THEOREMS, Report
from .errors import SpecError, UserError
from .report.proof_input import (
    ConfigurationRemedy,
    ContextRemedies,
    GuardedEntry,
    ParavirtProgram,
    ParavirtSite,
    ProofInput,
    RepairRemedy,
    TheoremRemedies,
    TranslationCost,
    shown_path,
    spec_sha256,
)
from .spec import ir
from .spec.nodes import Node
from .theory import REMEDIED_THEOREMS

if TYPE_CHECKING:  # the VMM is imported only when a spec is confirmed
    from .hypervisor.campaign import Confirmation


@dataclass(frozen=True)
class LoadedSpec:
    """One spec file, read once: where it is, its node tree (the source text
    the report quotes) and its IR."""

    path: Path
    nodes: Node
    isa: ir.Isa


def load(spec: str) -> LoadedSpec:
    """The spec at path `spec` or the bundled spec of that name, read and built."""
    from .spec.build import build_isa
    from .spec.load import SUFFIXES, read_nodes, resolve

    try:
        path = resolve(spec)
        if path.suffix not in SUFFIXES:
            raise SpecError(f"{path}: a spec file ends in .yaml, .yml or .isa")
        nodes = read_nodes(path)
        return LoadedSpec(path, nodes, build_isa(nodes, str(path)))
    except OSError as e:  # an I/O error, a device: bad input (exit 2 in the CLI)
        raise UserError(f"{spec}: cannot read the spec: {e.strerror or e}") from None


def decide(
    isa: ir.Isa,
    *,
    context: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    budget: int = DEFAULT_BUDGET,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """The theorem engine's report on one ISA (cached unless `use_cache` is false)."""
    from .analysis.engine import check_isas

    return check_isas(
        [isa], context=context, timeout=timeout, budget=budget, jobs=jobs, use_cache=use_cache, progress=progress
    )[0]


def sample_programs(spec: str, path: Path) -> list[Path]:
    """The sample programs of a bundled spec, else those in the `programs/` folder beside the spec file."""
    from .spec.library import programs as bundled_programs

    return bundled_programs(spec) or sorted((path.parent / "programs").glob("*.s"))


def confirm(
    isa: ir.Isa,
    report: Report,
    programs: list[Path],
    *,
    vmm: str = "classic",
    fuzz: int = 0,
    seed: int = 0,
    max_steps: int = 10_000,
    witnesses: bool = True,
    jobs: int = 1,
    starting: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Confirmation]:
    """Guest context -> what the reference VMM observed there: the programs,
    every witness (unless `witnesses` is false) and `fuzz` random programs,
    run natively and under the VMM, in the report's context order.
    `starting(context)` is called before each context, `progress(done, total)`
    within it (`hypervisor.campaign.confirm_context`)."""
    from .hypervisor.campaign import confirm_context

    out: dict[str, Confirmation] = {}
    for c in report.contexts:
        if starting is not None:
            starting(c.name)
        out[c.name] = confirm_context(
            isa,
            c,
            kind=vmm,
            programs=programs,
            fuzz_programs=fuzz,
            seed=seed,
            max_steps=max_steps,
            witnesses=witnesses,
            jobs=jobs,
            progress=progress,
        )
    return out


def remedies(
    loaded: LoadedSpec,
    report: Report,
    theorems: Iterable[str],
    *,
    programs: list[Path],
    translation: bool = False,
    max_steps: int = 10_000,
    timeout: float = DEFAULT_TIMEOUT,
    budget: int = DEFAULT_BUDGET,
    jobs: int | None = None,
    use_cache: bool = True,
) -> list[ContextRemedies]:
    """Per guest context, the remedies of each of `theorems` (those of 1, 3 and
    the exact condition) that fails there: the minimal configuration
    (`remedy.configure`, its answer decided whole by the engine), the least
    repair (`remedy.repair`, the repaired spec decided whole), the sites of
    each sample program (`remedy.paravirt`), and with `translation` the cost
    of the sample programs under the translating VMM against the classic one.
    Contexts where every one holds get no entry."""
    wanted = [t for t in REMEDIED_THEOREMS if t in set(theorems)]  # 1, 3, exact
    out: list[ContextRemedies] = []
    for c in report.contexts:
        failing = [t for t in wanted if c.theorems[t].holds is False]
        if not failing:
            continue
        engine: dict[str, Any] = {"timeout": timeout, "budget": budget, "jobs": jobs, "use_cache": use_cache}
        per = tuple(
            TheoremRemedies(
                t,
                tuple(c.theorems[t].violations),
                _configuration(loaded, c.name, t, **engine),
                _repair(loaded, c.name, t, **engine),
                _paravirt(loaded, report, c.name, t, programs),
            )
            for t in failing
        )
        cost = _translation(loaded.isa, report, c.name, programs, max_steps) if translation and programs else None
        out.append(ContextRemedies(c.name, per, cost))
    return out


def _configuration(loaded: LoadedSpec, context: str, theorem: str, **engine: Any) -> ConfigurationRemedy:
    """`vmcheck configure`'s answer, and its evidence as that verb gets it: the
    engine decides the configured context, every instruction."""
    import dataclasses

    from .remedy.configure import configure, pinnable, where_of
    from .remedy.specedit import base_where

    isa = loaded.isa
    name = f"{context}_configured"
    res = configure(isa, context, theorem, base_text=base_where(loaded.nodes, context), name=name, **engine)
    evidence = ""
    if res.found and res.setting:
        pins, _ = pinnable(isa)
        base = isa.context(context)
        cand = dataclasses.replace(base, name=name, where=where_of(base.where, pins, res.setting))
        probe = dataclasses.replace(isa, contexts=isa.contexts + (cand,))
        whole = decide(probe, context=name, **engine).context(name).theorems[theorem]
        evidence = whole.reason
        if whole.holds is not True:
            res.found = None if whole.holds is None else False
            res.reason = f"the configured context does not pass when decided whole: {whole.reason}"
    return ConfigurationRemedy(
        res.found,
        tuple(res.setting.items()),
        res.pinned_bits,
        res.where,
        tuple((b.instruction, b.reason) for b in res.culprits),
        res.reason,
        evidence,
    )


def _repair(loaded: LoadedSpec, context: str, theorem: str, **engine: Any) -> RepairRemedy:
    """`vmcheck repair`'s answer (the repaired spec is decided whole by it)."""
    from .remedy.repair import repair

    res, _fixed = repair(loaded.isa, loaded.nodes, context, theorem, source=str(loaded.path), **engine)
    guards = tuple(
        GuardedEntry(
            g.instruction,
            "every instance" if g.operand is None else f"only {g.operand} = " + ", ".join(f"{v:#x}" for v in g.values),
            g.line,
            g.reason,
        )
        for g in res.guards
    )
    return RepairRemedy(res.holds, res.host_only, res.cause_why, guards, res.reason)


def _paravirt(
    loaded: LoadedSpec, report: Report, context: str, theorem: str, programs: list[Path]
) -> tuple[ParavirtProgram, ...]:
    """`vmcheck paravirt`'s sites, per sample program (a program that does not
    assemble is named with the reason)."""
    from .remedy.paravirt import load_program, sites

    out = []
    for path in programs:
        try:
            prog, text = load_program(loaded.isa, path)
            res = sites(loaded.isa, report, prog, text, context, theorem)
        except (SpecError, UserError) as e:
            out.append(ParavirtProgram(path.name, (), f"not analysed: {e}"))
            continue
        shown = tuple(ParavirtSite(s.line, s.text, s.replacement, s.violates != "yes") for s in res.sites)
        out.append(ParavirtProgram(path.name, shown, res.reason))
    return tuple(out)


def _translation(isa: ir.Isa, report: Report, context: str, programs: list[Path], max_steps: int) -> TranslationCost:
    """The sample programs under the translating VMM and under the classic one
    (no witnesses, no fuzzing: the same runs, timed). Each kind runs twice and
    the faster run is timed, so that one-off costs (assembling the programs,
    the translator's verdict lookup) are not charged to either VMM."""
    import time

    from .hypervisor.campaign import confirm_context

    ctx = report.context(context)
    runs: dict[str, Confirmation] = {}
    seconds: dict[str, float] = {}
    for kind in ("classic", "translate"):
        for _ in range(2):
            t0 = time.perf_counter()
            runs[kind] = confirm_context(
                isa, ctx, kind=kind, programs=programs, fuzz_programs=0, max_steps=max_steps, witnesses=False
            )
            took = time.perf_counter() - t0
            seconds[kind] = min(seconds.get(kind, took), took)
    tr = runs["translate"]
    tot = tr.totals()
    return TranslationCost(
        programs=len(tr.programs),
        steps=sum(p.comparison.steps for p in tr.programs),
        scanned=tot.get("instructions_scanned", 0),
        translated=tot.get("translated", 0),
        vmm_calls=tot.get("vmm_calls", 0),
        rescans=tot.get("rescans", 0),
        divergences=sum(not p.comparison.equivalent for p in tr.programs),
        classic_divergences=sum(not p.comparison.equivalent for p in runs["classic"].programs),
        seconds=seconds["translate"],
        classic_seconds=seconds["classic"],
    )


def solver_version() -> str:
    """The solver as the report's header names it ("z3 4.x.y")."""
    try:
        import z3

        return f"z3 {z3.get_version_string()}"
    except Exception:  # pragma: no cover - z3 is a dependency
        return "z3"


def proof_input(
    spec: str,
    *,
    loaded: LoadedSpec | None = None,
    context: str | None = None,
    theorems: Iterable[str] = ("1",),
    timeout: float = DEFAULT_TIMEOUT,
    budget: int = DEFAULT_BUDGET,
    jobs: int | None = None,
    use_cache: bool = True,
    confirm_vmm: bool = False,
    vmm: str = "classic",
    fuzz: int = 0,
    seed: int = 0,
    max_steps: int = 10_000,
    brief: bool = False,
    report: Report | None = None,
    with_remedies: bool = False,
) -> ProofInput:
    """Everything a proof report shows: `spec` loaded (unless `loaded` is given),
    decided (unless `report` is given) and, with `confirm_vmm`, run under the
    reference VMM. `theorems` are argued in the engine's order (Theorem 1 when
    none is given). With `with_remedies` (not in a brief report), the remedies
    of each argued theorem that fails (`remedies`; the translation cost with
    `confirm_vmm` only)."""
    if loaded is None:
        loaded = load(spec)
    if report is None:
        report = decide(loaded.isa, context=context, timeout=timeout, budget=budget, jobs=jobs, use_cache=use_cache)
    confirmations: dict[str, Confirmation] = {}
    options: dict[str, Any] = {}
    if confirm_vmm:
        paths = sample_programs(spec, loaded.path)
        options = {"vmm": vmm, "programs": len(paths), "fuzz": fuzz, "seed": seed, "max_steps": max_steps}
        confirmations = confirm(loaded.isa, report, paths, vmm=vmm, fuzz=fuzz, seed=seed, max_steps=max_steps)
    order = [t for t in THEOREMS if t in set(theorems)] or ["1"]
    found = None
    if with_remedies and not brief:
        found = remedies(
            loaded,
            report,
            order,
            programs=sample_programs(spec, loaded.path),
            translation=confirm_vmm,
            max_steps=max_steps,
            timeout=timeout,
            budget=budget,
            jobs=jobs,
            use_cache=use_cache,
        )
    return ProofInput(
        loaded.isa,
        report,
        shown_path(loaded.path),
        spec_sha256(loaded.path),
        loaded.nodes,
        confirmations,
        options,
        tuple(order),
        timeout,
        brief,
        budget,
        solver_version(),
        found,
    )


__all__ = [
    "LoadedSpec",
    "load",
    "decide",
    "sample_programs",
    "confirm",
    "remedies",
    "solver_version",
    "proof_input",
]
