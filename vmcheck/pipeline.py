"""Load a spec, decide it, confirm it: the steps the verbs share.

The pipeline of docs/architecture.md in code: the spec is read once into its
node tree and its IR (`load`), the theorem engine decides it (`decide`), the
reference VMM runs its programs and witnesses per guest context (`confirm`),
and `proof_input` gathers all of it for the proof report. It sits beside
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
from .report.proof_input import ProofInput, shown_path, spec_sha256
from .spec import ir
from .spec.nodes import Node

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
    except OSError as e:  # an I/O error, a device: bad input, as in cli.common.load
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
) -> ProofInput:
    """Everything a proof report shows: `spec` loaded (unless `loaded` is given),
    decided (unless `report` is given) and, with `confirm_vmm`, run under the
    reference VMM. `theorems` are argued in the engine's order (Theorem 1 when
    none is given)."""
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
    )


__all__ = ["LoadedSpec", "load", "decide", "sample_programs", "confirm", "solver_version", "proof_input"]
