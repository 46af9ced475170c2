"""The theory's vocabulary, in one place: answers, evidence, classes,
theorems and what a spec's labels claim (docs/model.md §2.3–§2.7).

Everything that names a theorem or a class (the engine's verdict texts, the
check table and its legend, `explain`, SARIF rules, `diff`, the remedies)
derives its words from the records here, so adding a theorem or a class
means adding one record. The module holds data only and imports nothing of
vmcheck: every part of the pipeline may import it.

Guarantees: the answer values and evidence kinds are `StrEnum`s, so they
compare, hash, format and serialise (JSON, the cache) exactly as the bare
strings they replace; the tuples keep the order in which every output lists
theorems and classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# --------------------------------------------------------------------------
# Answers and evidence
# --------------------------------------------------------------------------


class AnswerValue(StrEnum):
    """Whether an instruction is in a class (or violates a theorem) in a context."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"  # the solver's budget (or the safety net) ran out


YES, NO, UNKNOWN = AnswerValue.YES, AnswerValue.NO, AnswerValue.UNKNOWN


class Evidence(StrEnum):
    """What an answer rests on."""

    WITNESS = "witness"  # a satisfying assignment, replayed on the concrete semantics
    PROOF = "proof"  # the queries that were unsat
    BUDGET = "budget"  # unknown: the solver's resource budget ran out (reproducible)
    TIMEOUT = "timeout"  # unknown: the wall-clock safety net ran out (never cached)


# How `explain` names each kind of evidence.
EVIDENCE_WORDS: dict[str, str] = {
    Evidence.WITNESS: "witness",
    Evidence.PROOF: "proof",
    Evidence.BUDGET: "solver budget exhausted",
    Evidence.TIMEOUT: "solver safety net ran out",
}

# --------------------------------------------------------------------------
# Classes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class InstructionClass:
    """One class an instruction result carries.

    `key` is the name in JSON and the cache; `word` how prose names it
    ("control sensitive"); `title` how `explain` heads it; `abbrev` the check
    table's column header (at most 4 letters, so the table fits 80 columns;
    None: not a column) and `legend` the words the legend gives it.
    `context_free`: its answer does not depend on the guest context, so a
    label claiming it is judged once.
    """

    key: str
    title: str = ""
    abbrev: str | None = None
    legend: str = ""
    context_free: bool = False

    @property
    def word(self) -> str:
        return self.key.replace("_", " ")


def _cls(
    key: str,
    abbrev: str | None = None,
    *,
    title: str | None = None,
    legend: str | None = None,
    context_free: bool = False,
) -> InstructionClass:
    """A class whose title and legend default to its word."""
    word = key.replace("_", " ")
    return InstructionClass(key, title or word, abbrev, legend or word, context_free)


# Per-instruction classes in a guest context, in the order they are shown
# (docs/model.md §2.5, §2.6): what the theorems are decided from.
CONTEXT_CLASS_RECORDS: tuple[InstructionClass, ...] = (
    _cls("illegal", "ill", context_free=True),
    _cls("privileged", "priv"),
    _cls("control_sensitive", "ctl"),
    _cls("mode_sensitive", "mode"),
    _cls("location_sensitive", "loc", title="location (config) sensitive"),
    _cls("sensitive", "sens"),
    _cls("user_sensitive", "user"),
    _cls("timing_dependent", "time"),
    _cls("unsafe", "unsf", title="unsafe (exact condition)", legend="unsafe (exact condition)"),
)
# Popek & Goldberg's own classes, over every mode and no context: what a spec's
# sensitivity labels claim.
PG_CLASS_RECORDS: tuple[InstructionClass, ...] = (
    _cls(
        "pg_control_sensitive",
        title="control sensitive over all modes (Popek & Goldberg)",
        context_free=True,
    ),
    _cls("pg_mode_sensitive", title="mode sensitive over all modes (Popek & Goldberg)", context_free=True),
    _cls(
        "pg_location_sensitive",
        title="location sensitive over all modes (Popek & Goldberg)",
        context_free=True,
    ),
    _cls(
        "pg_sensitive",
        title="sensitive over all modes (Popek & Goldberg; what labels claim)",
        context_free=True,
    ),
)
# docs/model.md §2.3: an instruction that breaks an invariant makes the spec wrong.
INVARIANT_CLASS = _cls("breaks_invariants", title="breaks an invariant")

CLASS_RECORDS: tuple[InstructionClass, ...] = CONTEXT_CLASS_RECORDS + PG_CLASS_RECORDS + (INVARIANT_CLASS,)
CLASS_BY_KEY: dict[str, InstructionClass] = {c.key: c for c in CLASS_RECORDS}

CONTEXT_CLASSES: tuple[str, ...] = tuple(c.key for c in CONTEXT_CLASS_RECORDS)
PG_CLASSES: tuple[str, ...] = tuple(c.key for c in PG_CLASS_RECORDS)
# Every class an instruction result carries, in the order JSON lists them.
CLASSES: tuple[str, ...] = tuple(c.key for c in CLASS_RECORDS)

# Not a class a result carries: what the label `behaviour_sensitive` claims,
# derived from pg_mode_sensitive and pg_location_sensitive when a label is judged.
BEHAVIOUR_SENSITIVE = "pg_behaviour_sensitive"
CONTEXT_FREE_CLASSES: frozenset[str] = frozenset(
    {c.key for c in CLASS_RECORDS if c.context_free} | {BEHAVIOUR_SENSITIVE}
)

# --------------------------------------------------------------------------
# Theorems
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SarifRule:
    """A SARIF rule: ids are stable (code-scanning tools key their history on them)."""

    id: str
    name: str
    description: str
    help: str


@dataclass(frozen=True)
class Theorem:
    """A condition decided per guest context (docs/model.md §2.5–§2.7).

    `title` heads verdicts ("Theorem 1 (VMM)"); `phrase` names it in a
    sentence ("Theorem 1", "the exact condition"); `column` is the check
    table's header. An instance violates it when it is in a class of
    `judged_on` and runs without trapping; `judged_on` lists those classes
    most telling first, and `violator_word` names them in the verdict's
    reason. `holds_reason` is the reason when it holds (`{ctx}`: the context).
    `remedied`: the remedy verbs (configure, repair) search for it.
    """

    key: str
    title: str
    phrase: str
    column: str
    judged_on: tuple[str, ...]
    violator_word: str
    holds_reason: str
    rule: SarifRule
    remedied: bool


THEOREM_RECORDS: tuple[Theorem, ...] = (
    Theorem(
        "1",
        "Theorem 1 (VMM)",
        "Theorem 1",
        "T1",
        ("control_sensitive", "mode_sensitive", "location_sensitive"),
        "sensitive",
        "every sensitive instance traps or memory-traps at every state of {ctx}",
        SarifRule(
            "VMC001",
            "sensitive-unprivileged",
            "A sensitive instance does not trap in the guest context (Popek & Goldberg, Theorem 1).",
            "Make the instruction trap in the guest context (a privilege check, or a control bit the context "
            "sets), or remove the sensitivity.",
        ),
        remedied=True,
    ),
    Theorem(
        "2",
        "Theorem 2 (recursive VMM)",
        "Theorem 2",
        "T2",
        ("control_sensitive", "mode_sensitive", "location_sensitive", "timing_dependent"),
        "sensitive or timing dependent",
        "Theorem 1 holds and no instance reads a timer without trapping in {ctx}",
        SarifRule(
            "VMC002",
            "timing-dependent",
            "An instance reads a timer without trapping in the guest context (Theorem 2), or Theorem 1 fails.",
            "Let the VMM make timer reads trap (a control bit in the context's where).",
        ),
        remedied=False,
    ),
    Theorem(
        "3",
        "Theorem 3 (hybrid VMM)",
        "Theorem 3",
        "T3",
        ("user_sensitive",),
        "user sensitive",
        "every user-sensitive instance traps or memory-traps at every state of {ctx}",
        SarifRule(
            "VMC003",
            "user-sensitive-unprivileged",
            "A user-sensitive instance does not trap in the guest context (Theorem 3, hybrid VMM).",
            "Make control- or location-sensitive instructions trap in user mode.",
        ),
        remedied=True,
    ),
    Theorem(
        "exact",
        "exact trap-and-emulate condition",
        "the exact condition",
        "exact",
        ("unsafe",),
        "unsafe",
        "no instance is unsafe in {ctx}: direct execution is equivalent, timing aside",
        SarifRule(
            "VMC004",
            "unsafe-instance",
            "Direct execution of this instance in the guest context breaks equivalence or resource control "
            "(the exact trap-and-emulate condition).",
            "Make the instance trap in the guest context wherever it behaves differently from the virtual machine.",
        ),
        remedied=True,
    ),
)
THEOREM_BY_KEY: dict[str, Theorem] = {t.key: t for t in THEOREM_RECORDS}

# The theorems' keys, in the order every output lists them.
THEOREMS: tuple[str, ...] = tuple(t.key for t in THEOREM_RECORDS)
THEOREM_TITLES: dict[str, str] = {t.key: t.title for t in THEOREM_RECORDS}
# The theorems `vmcheck configure` and `vmcheck repair` search for.
REMEDIED_THEOREMS: tuple[str, ...] = tuple(t.key for t in THEOREM_RECORDS if t.remedied)

# Not a theorem: the SARIF rule for a declared label the semantics contradict.
LABEL_RULE = SarifRule(
    "VMC100",
    "contradicted-label",
    "A label declared in the spec is contradicted by the instruction's semantics.",
    "Fix the label or the semantics.",
)


def theorem_phrase(theorem: str) -> str:
    """How a message names a theorem: "Theorem 1", "the exact condition"."""
    return THEOREM_BY_KEY[theorem].phrase if theorem in THEOREM_BY_KEY else f"Theorem {theorem}"


def class_table_legend() -> str:
    """The legend under `check`'s class table: each column's abbreviation and words."""
    classes = " · ".join(f"{c.abbrev} {c.legend}" for c in CONTEXT_CLASS_RECORDS if c.abbrev)
    return f"{classes} · {' '.join(t.column for t in THEOREM_RECORDS)}: ✗ the instruction violates it"


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelClaim:
    """What a declared label claims: the derived class `cls` has value `value`.

    The sensitivity labels mean what Popek & Goldberg's words mean: classes
    over every mode, independent of any guest context (the `pg_` classes);
    whether an instance violates a theorem in a context is a separate,
    per-context fact.
    """

    label: str
    cls: str
    value: AnswerValue


LABEL_CLAIM_RECORDS: tuple[LabelClaim, ...] = (
    LabelClaim("privileged", "privileged", YES),
    LabelClaim("sensitive", "pg_sensitive", YES),
    LabelClaim("innocuous", "pg_sensitive", NO),
    LabelClaim("control_sensitive", "pg_control_sensitive", YES),
    LabelClaim("mode_sensitive", "pg_mode_sensitive", YES),
    LabelClaim("location_sensitive", "pg_location_sensitive", YES),
    LabelClaim("behaviour_sensitive", BEHAVIOUR_SENSITIVE, YES),
    LabelClaim("user_sensitive", "user_sensitive", YES),
    LabelClaim("timing_dependent", "timing_dependent", YES),
    LabelClaim("illegal", "illegal", YES),
    LabelClaim("unsafe", "unsafe", YES),
    LabelClaim("safe", "unsafe", NO),
)
# A declared label -> (the derived class it claims, the value it claims).
LABEL_CLAIMS: dict[str, tuple[str, str]] = {c.label: (c.cls, c.value) for c in LABEL_CLAIM_RECORDS}

__all__ = [
    "AnswerValue",
    "YES",
    "NO",
    "UNKNOWN",
    "Evidence",
    "EVIDENCE_WORDS",
    "InstructionClass",
    "CONTEXT_CLASS_RECORDS",
    "PG_CLASS_RECORDS",
    "INVARIANT_CLASS",
    "CLASS_RECORDS",
    "CLASS_BY_KEY",
    "CONTEXT_CLASSES",
    "PG_CLASSES",
    "CLASSES",
    "BEHAVIOUR_SENSITIVE",
    "CONTEXT_FREE_CLASSES",
    "SarifRule",
    "Theorem",
    "THEOREM_RECORDS",
    "THEOREM_BY_KEY",
    "THEOREMS",
    "THEOREM_TITLES",
    "REMEDIED_THEOREMS",
    "LABEL_RULE",
    "theorem_phrase",
    "class_table_legend",
    "LabelClaim",
    "LABEL_CLAIM_RECORDS",
    "LABEL_CLAIMS",
]
