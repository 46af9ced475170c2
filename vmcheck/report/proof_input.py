"""What one proof report is built from: `ProofInput`.

The spec (its IR and its source text), what the engine decided, and,
optionally, what the reference VMM observed per guest context, with the
options the reader sees in the header. Building one (loading, deciding,
confirming) is `vmcheck.pipeline`'s job; the report only reads it.
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


__all__ = ["ProofInput", "spec_sha256", "shown_path"]
