"""What the theorem engine found: plain dataclasses, JSON-able.

A `Report` is the whole answer for one ISA; reports and the CLI render it,
and `Report.exit_code` is the one place where a verdict becomes an exit code.
Every class of every instruction is an `Answer`: yes, no or unknown (`theory.AnswerValue`),
with its evidence: a `Witness` (a satisfying assignment, replayed on the
concrete semantics before it was recorded) or a proof (the query that was
unsat, named and described), or the reason it is unknown (the solver budget ran out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..theory import (
    CLASSES,
    CONTEXT_CLASSES,
    LABEL_CLAIMS,
    NO,
    PG_CLASSES,
    THEOREM_TITLES,
    THEOREMS,
    UNKNOWN,
    YES,
    AnswerValue,
)

# The vocabulary (answer values, class and theorem names, titles) lives in
# `vmcheck.theory`; it is re-exported here because every result carries it.


@dataclass
class WitnessState:
    """One concrete state of a witness, before and after the instance."""

    label: str  # "s", "s'", "v", ...
    mode: str | None  # the level's name (None: not a valid level)
    pre: dict[str, Any]  # element -> value (a list for a register file)
    outcome: str  # "ok", "halt", "trap CAUSE", "memtrap CAUSE"
    post: dict[str, Any] | None = None  # after the instance (None when it trapped)
    changed: list[str] = field(default_factory=list)  # elements whose value it changed
    writes: list[dict[str, Any]] = field(default_factory=list)  # {"space", "addr", "value"} it wrote
    role: str = ""  # what this state is for, e.g. "in G, runs"


@dataclass
class Witness:
    """A satisfying assignment of one query, replayed on the concrete semantics."""

    query: str  # the query's name (see `analysis.queries.QUERIES`)
    operands: dict[str, int]
    states: list[WitnessState]
    differs: list[str] = field(default_factory=list)  # what differs between the results (pairs)
    memory: list[dict[str, Any]] = field(default_factory=list)  # view cells read: {"space","addr","value"|"fault"}
    summary: str = ""  # one line, with operand values
    # The entries of the view's fault function F that its runs looked at:
    # {"kind": "read"|"write", "priv": "current"|LEVEL, "addr", "fault": bool}
    # (`witness_check.view_entries`); what a replay builds a concrete view from.
    view: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.view:  # a witness that looked at no fault of the view: as before this field
            del d["view"]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Witness:
        d = dict(d)
        d["states"] = [WitnessState(**s) for s in d["states"]]
        return cls(**d)


@dataclass
class Answer:
    """One class of one instruction in one context."""

    value: AnswerValue
    reason: str  # one line: why, with operand values for a witness
    evidence: str  # "witness", "proof", "budget" (unknown: the budget ran out) or "timeout" (the safety net)
    witness: Witness | None = None
    queries: list[str] = field(default_factory=list)  # the queries that decided it
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value": self.value,
            "reason": self.reason,
            "evidence": self.evidence,
            "queries": list(self.queries),
        }
        if self.witness is not None:
            d["witness"] = self.witness.to_json()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Answer:
        w = d.get("witness")
        return cls(
            AnswerValue(d["value"]),
            d["reason"],
            d["evidence"],
            Witness.from_json(w) if w else None,
            list(d.get("queries", [])),
            0.0,
        )


@dataclass
class InstructionResult:
    """Every class of one instruction (entry) in one context.

    `classes` maps each name of CLASSES to its Answer; `violates` maps each
    theorem ("1", "2", "3", "exact") to whether some instance of the entry
    violates it in this context.
    """

    name: str
    mnemonic: str
    line: int | None
    labels: list[str]
    classes: dict[str, Answer]
    violates: dict[str, Answer]
    seconds: float = 0.0
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mnemonic": self.mnemonic,
            "line": self.line,
            "labels": sorted(self.labels),
            "classes": {c: self.classes[c].value for c in CLASSES},
            "violates": {t: self.violates[t].value for t in THEOREMS},
            "reasons": {c: self.classes[c].reason for c in CLASSES},
            "witnesses": {
                c: a.witness.to_json()
                for c, a in list(self.classes.items()) + [(f"violates_{t}", v) for t, v in self.violates.items()]
                if a.witness is not None
            },
            "proofs": {
                c: a.reason
                for c, a in list(self.classes.items()) + [(f"violates_{t}", v) for t, v in self.violates.items()]
                if a.evidence == "proof"
            },
        }


@dataclass
class TheoremResult:
    """One theorem in one context: holds, fails (with the entries that violate
    it) or undecided (with the entries whose queries exhausted the budget)."""

    holds: bool | None
    violations: list[str]
    unknown: list[str]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "violations": list(self.violations),
            "unknown": list(self.unknown),
            "reason": self.reason,
        }


@dataclass
class ContextResult:
    name: str
    description: str
    modes: dict[str, str]  # virtual -> real
    theorems: dict[str, TheoremResult]
    instructions: list[InstructionResult]
    note: str = ""  # e.g. why Theorem 1 and the exact condition differ, and what it costs

    def instruction(self, name: str) -> InstructionResult:
        return next(i for i in self.instructions if i.name == name)

    def label_claims(self) -> Iterator[tuple[InstructionResult, str, str, str]]:
        """The class claims the instructions here declare by label:
        (instruction, label, class, claimed value), instructions in order, each
        one's labels sorted; a label that claims no class is left out."""
        for r in self.instructions:
            for label in sorted(r.labels):
                claim = LABEL_CLAIMS.get(label)
                if claim is not None:
                    cls, want = claim
                    yield r, label, cls, want

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "modes": dict(self.modes),
            "theorems": {t: self.theorems[t].to_json() for t in THEOREMS},
            "note": self.note,
            "instructions": [i.to_json() for i in self.instructions],
        }


@dataclass
class IsaVerdict:
    """One theorem for the whole ISA: it holds when some context satisfies it."""

    holds: bool | None
    context: str | None  # the first context where it holds
    reasons: dict[str, str]  # context -> why it holds or fails there

    def to_json(self) -> dict[str, Any]:
        return {"holds": self.holds, "context": self.context, "reasons": dict(self.reasons)}


@dataclass
class LabelFinding:
    """A declared label that the semantics contradict."""

    instruction: str
    label: str
    context: str
    derived: str  # what the semantics say, e.g. "privileged: no"
    reason: str
    line: int | None = None
    witness: Witness | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "instruction": self.instruction,
            "label": self.label,
            "context": self.context,
            "derived": self.derived,
            "reason": self.reason,
            "line": self.line,
        }
        d["witness"] = self.witness.to_json() if self.witness else None
        return d


@dataclass
class Report:
    """Everything `vmcheck check` decided about one ISA."""

    isa: str
    source: str | None
    version: str
    contexts: list[ContextResult]
    verdicts: dict[str, IsaVerdict]
    labels: list[LabelFinding]
    seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)  # queries, cache hits, ...

    def context(self, name: str) -> ContextResult:
        return next(c for c in self.contexts if c.name == name)

    def holds(self, theorem: str = "1") -> bool | None:
        return self.verdicts[theorem].holds

    def exit_code(self, theorem: str = "1") -> int:
        """0: the theorem holds; 1: it does not; 3: undecided (unknowns it depends on)."""
        return exit_code_of(self.holds(theorem))

    def to_json(self) -> dict[str, Any]:
        return {
            "isa": self.isa,
            "source": self.source,
            "vmcheck": self.version,
            "verdict": {t: self.verdicts[t].to_json() for t in THEOREMS},
            "contexts": [c.to_json() for c in self.contexts],
            "label_findings": [f.to_json() for f in self.labels],
        }


def exit_code_of(holds: bool | None) -> int:
    return 0 if holds is True else 1 if holds is False else 3


def combined_exit_code(reports: list[Report], theorem: str = "1") -> int:
    """For several specs: 1 if the theorem fails for any, else 3 if any is undecided, else 0."""
    codes = [r.exit_code(theorem) for r in reports]
    if 1 in codes:
        return 1
    if 3 in codes:
        return 3
    return 0


__all__ = [
    "YES",
    "NO",
    "UNKNOWN",
    "AnswerValue",
    "CLASSES",
    "CONTEXT_CLASSES",
    "PG_CLASSES",
    "THEOREMS",
    "THEOREM_TITLES",
    "WitnessState",
    "Witness",
    "Answer",
    "InstructionResult",
    "TheoremResult",
    "ContextResult",
    "IsaVerdict",
    "LabelFinding",
    "Report",
    "exit_code_of",
    "combined_exit_code",
]
