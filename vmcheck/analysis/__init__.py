"""The theorem engine: Popek & Goldberg's classes, Theorems 1–3 and the exact
trap-and-emulate condition, decided per guest context by SMT existence
queries over the symbolic semantics (docs/model.md §2.5–§2.7).

`check_isa(isa)` / `check_isas([...])` return `Report`s: plain dataclasses
with a `to_json()`, from which reports and the CLI render and
`Report.exit_code(theorem)` decides the exit code.

One unit (an instruction in a guest context) goes: `queries.TABLE` (what
is asked, and when it is skipped) → `query_formulas` (each query's formula,
over `formulas.QueryBuilder`'s states and comparisons) → `solving` (decided
within a budget) → `witness_check` (a sat model replayed on the concrete
semantics into a witness) → `classify` (the answers as classes and theorem
violations). `engine` runs the units (pool, `cache`) and judges verdicts and
labels; the vocabulary is `vmcheck.theory`'s.
"""

from ..theory import LABEL_CLAIMS
from .classify import classify
from .engine import analyze_instruction, check_isa, check_isas, default_jobs
from .queries import QUERIES, InstructionQueries
from .results import (
    CLASSES,
    CONTEXT_CLASSES,
    NO,
    PG_CLASSES,
    THEOREM_TITLES,
    THEOREMS,
    UNKNOWN,
    YES,
    Answer,
    ContextResult,
    InstructionResult,
    IsaVerdict,
    LabelFinding,
    Report,
    TheoremResult,
    Witness,
    WitnessState,
    combined_exit_code,
    exit_code_of,
)

__all__ = [
    "check_isa",
    "check_isas",
    "default_jobs",
    "LABEL_CLAIMS",
    "QUERIES",
    "InstructionQueries",
    "analyze_instruction",
    "classify",
    "CLASSES",
    "CONTEXT_CLASSES",
    "PG_CLASSES",
    "THEOREMS",
    "THEOREM_TITLES",
    "YES",
    "NO",
    "UNKNOWN",
    "Answer",
    "ContextResult",
    "InstructionResult",
    "IsaVerdict",
    "LabelFinding",
    "Report",
    "TheoremResult",
    "Witness",
    "WitnessState",
    "combined_exit_code",
    "exit_code_of",
]
