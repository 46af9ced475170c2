"""What one proof report is built from: `ProofInput`.

The spec (its IR and its source text), what the engine decided, and,
optionally, what the reference VMM observed per guest context, with the
options the reader sees in the header, and (with `--remedies`) the remedies
of a failing theorem as plain records (`ContextRemedies`). Building one
(loading, deciding, confirming, computing remedies) is `vmcheck.pipeline`'s
job; the report only reads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.results import Report
from ..spec import ir
from ..spec.nodes import Node
from .source import SpecSource

if TYPE_CHECKING:  # a result type; the VMM itself is never imported here
    from ..hypervisor.campaign import Confirmation


@dataclass(frozen=True)
class GuardedEntry:
    """One entry `vmcheck repair` makes trap: which of its instances, the
    `require` line put first in its semantics, and the violation it removes."""

    instruction: str
    instances: str  # "every instance", or "only f = 0x3, 0x1"
    line: str
    reason: str


@dataclass(frozen=True)
class ConfigurationRemedy:
    """What `vmcheck configure` found: the fewest pinned control bits that make
    the theorem hold (found), a proof that none does (not found, with the
    entries no setting makes trap), or no answer (None)."""

    found: bool | None
    setting: tuple[tuple[str, int], ...] = ()  # pinned unit -> value, in the search's order
    pinned_bits: int = 0
    where: str = ""  # the configured context's condition
    culprits: tuple[tuple[str, str], ...] = ()  # (instruction, the witness's summary) when none exists
    reason: str = ""
    evidence: str = ""  # how the answer was checked (the engine's verdict on the configured context)


@dataclass(frozen=True)
class RepairRemedy:
    """What `vmcheck repair` found: the least set of guarded entries, and the
    engine's verdict on the repaired spec decided whole."""

    holds: bool | None
    host_only: str  # the condition a guarded instance still runs under
    cause: str  # why the guard raises the cause it raises
    guards: tuple[GuardedEntry, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class ParavirtSite:
    line: int | None
    text: str  # the instruction as the program has it
    replacement: str  # the hypercall it becomes ("" when the ISA has no hypercall instruction)
    depends: bool  # the violation depends on operand values


@dataclass(frozen=True)
class ParavirtProgram:
    """One sample program's sites that use a violating instance (`vmcheck paravirt`)."""

    program: str
    sites: tuple[ParavirtSite, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class TranslationCost:
    """The sample programs run under the translating VMM (`confirm --vmm
    translate`), against the same runs under the classic VMM."""

    programs: int
    steps: int  # guest instructions run under the translating VMM
    scanned: int  # instructions the translator scanned
    translated: int  # instances it replaced by a call into the VMM
    vmm_calls: int  # replaced instances run: each one an entry into the VMM
    rescans: int
    divergences: int  # programs that diverged under the translating VMM (expected 0)
    classic_divergences: int  # the same programs under the classic VMM
    seconds: float  # wall-clock time of the runs: the one measured time in a report
    classic_seconds: float


@dataclass(frozen=True)
class TheoremRemedies:
    """The remedies of one theorem that fails in one guest context."""

    theorem: str
    violations: tuple[str, ...]
    configuration: ConfigurationRemedy
    repair: RepairRemedy
    paravirt: tuple[ParavirtProgram, ...] = ()


@dataclass(frozen=True)
class ContextRemedies:
    """The remedies computed for one guest context (`vmcheck.pipeline.remedies`)."""

    context: str
    theorems: tuple[TheoremRemedies, ...]
    translation: TranslationCost | None = None  # with --confirm only


@dataclass
class ProofInput:
    """Everything one report shows: the spec, what the engine decided, and
    (optionally) what the reference VMM observed, per guest context."""

    isa: ir.Isa
    report: Report
    spec_path: str  # the file as the user named it (shown), hashed for the header
    sha256: str
    nodes: Node | None = None  # the spec's node tree, for the source text of semantics and conditions
    confirmations: dict[str, Confirmation] = field(default_factory=dict)  # guest context -> what the VMM observed
    confirm_options: dict[str, Any] = field(default_factory=dict)
    theorems: tuple[str, ...] = ("1",)  # the theorems argued instruction by instruction
    timeout: float = 300.0  # the wall-clock safety net per solver call
    brief: bool = False  # verdict, violations and findings only (for CI summaries)
    budget: int = 300_000_000  # solver resource units per query (analysis.budget)
    solver: str = "z3"  # the solver and its version, as the header names it
    remedies: list[ContextRemedies] | None = None  # None: not computed (no --remedies)

    @property
    def source(self) -> SpecSource:
        """The spec's own text (semantics, conditions, references) as written."""
        return SpecSource(self.nodes)


def spec_sha256(path: str | Path) -> str:
    """The spec file's SHA-256 (hex), which the header names."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def shown_path(path: Path) -> str:
    """The spec file as the report names it: relative to the working directory
    when inside it, `isa_specs/...` for a bundled spec, else absolute."""
    from ..spec.library import specs_dir

    p = path.resolve()
    for base, prefix in ((Path.cwd().resolve(), ""), (specs_dir().resolve(), "isa_specs/")):
        try:
            return prefix + p.relative_to(base).as_posix()
        except ValueError:
            continue
    return p.as_posix()


__all__ = [
    "ConfigurationRemedy",
    "ContextRemedies",
    "GuardedEntry",
    "ParavirtProgram",
    "ParavirtSite",
    "ProofInput",
    "RepairRemedy",
    "TheoremRemedies",
    "TranslationCost",
    "shown_path",
    "spec_sha256",
]
