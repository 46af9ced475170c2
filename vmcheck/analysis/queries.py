"""The existence queries of docs/model.md §2.5–§2.6, as a table: for each, its
name, its statement, the state sets it ranges over, its formula and when it
need not be asked.

`InstructionQueries.run_all` asks them in the table's order (the gate
queries, `first`, before the rest): a query whose skip rule gives a reason is
recorded unsat with that reason and no solver; otherwise its formula is built
(`formulas.py`) and decided (`solving.py`), and a sat answer's model is
replayed into a witness (`witness_check.py`). An unsat answer is the proof of
the statement's negation; `QUERIES` maps each name to its statement, for the
reasons, `explain` and the report.

Guarantee: the queries are built and solved in one fixed order, so one
instruction in one context gets the same models (and witnesses) every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import query_formulas as qf
from .formulas import QueryBuilder
from .solving import UNSAT, QueryResult

Ask = Callable[["InstructionQueries", qf.Scope], None]
Skip = Callable[["InstructionQueries"], "str | None"]


def _no_skip(q: InstructionQueries) -> str | None:
    return None


@dataclass(frozen=True)
class Query:
    """One existence query.

    `statement` is what it asks (its unsat answer proves the negation);
    `states` the state sets it ranges over (see `formulas.py`); `ask` builds
    its formula and solves it (`QueryBuilder.solve`); `skip` gives the reason
    it is unsat without a solver, or None. `first`: asked before the others
    (illegality decides whether the rest are asked at all).
    """

    name: str
    statement: str
    states: str
    ask: Ask
    skip: Skip = _no_skip
    first: bool = False


# --------------------------------------------------------------------------
# Skip rules
# --------------------------------------------------------------------------


def _never_runs(q: InstructionQueries) -> str | None:
    return f"it never runs in {q.ctx.name}" if q.results["runs_G"].status == UNSAT else None


def _skip_inv(q: InstructionQueries) -> str | None:
    return None if q.isa.invariants else "the ISA declares no invariants"


def _skip_ms(q: InstructionQueries) -> str | None:
    if q.results["runs_G"].status == UNSAT:
        return f"it never runs in {q.ctx.name}"
    if not [(v, r) for v, r in q.ctx.modes if v != r]:
        return f"{q.ctx.name} maps no virtual mode to another real mode"
    return None


def _skip_us_ms(q: InstructionQueries) -> str | None:
    if q.results["runs_G"].status == UNSAT:
        return f"it never runs in {q.ctx.name}"
    least, uimg = q.user_modes()
    if least == uimg:
        return f"{q.ctx.name} runs its least privileged mode {least} as itself"
    return None


def _skip_td(q: InstructionQueries) -> str | None:
    if not q.timer:
        return "the ISA has no timer elements"
    return _never_runs(q)


def _skip_unless(base: str, why: str) -> Callable[[InstructionQueries], str | None]:
    """A theorem query: needs its class query `base` sat (or unknown) and an instance that runs in G."""

    def skip(q: InstructionQueries) -> str | None:
        if q.results[base].status == UNSAT:
            return why
        return _never_runs(q)

    return skip


# --------------------------------------------------------------------------
# The table, in the order the queries are listed (and, `first` aside, asked)
# --------------------------------------------------------------------------

TABLE: tuple[Query, ...] = (
    Query(
        "inv",
        "∃ operands, s satisfying the invariants: the instance runs at s and its result breaks one, or it traps at s and the state the trap delivery makes breaks one",
        "invariants",
        qf.ask_inv,
        _skip_inv,
        first=True,
    ),
    Query(
        "pg_cs",
        "∃ operands, s ∈ any: it runs at s and changes a control element or the mode, or stops the machine (Popek & Goldberg's control sensitivity, over all modes)",
        "any",
        qf.ask_pg_cs,
    ),
    Query(
        "pg_ms",
        "∃ operands, s, s' ∈ any differing only in the mode: it runs at both and the results differ (Popek & Goldberg's mode sensitivity)",
        "any × any",
        qf.ask_pg_ms,
    ),
    Query(
        "pg_ls",
        "∃ operands, s1, s2 ∈ any differing only in control elements other than the mode (own phys): it runs at both and the results differ (Popek & Goldberg's location sensitivity)",
        "any × any",
        qf.ask_pg_ls,
    ),
    Query("runs_any", "∃ operands, s ∈ any: the instance does not trap at s", "any", qf.ask_runs_any, first=True),
    Query("runs_host", "∃ operands, h ∈ host: the instance does not trap at h", "host", qf.ask_runs_host),
    Query("runs_G", "∃ operands, s ∈ G: the instance neither traps nor memory-traps at s", "G", qf.ask_runs_G),
    Query("cs", "∃ operands, s ∈ range(G): it runs at s and changes a control element", "range(G)", qf.ask_cs),
    Query(
        "ms",
        "∃ operands, s ∈ G, s' = s with a virtual mode v ≠ mode(s) that G maps to mode(s): it runs at s and the results differ",
        "G × range(G)",
        qf.ask_ms,
        _skip_ms,
    ),
    Query(
        "ls",
        "∃ operands, s1, s2 ∈ range(G) differing only in control elements other than the mode (own phys): it runs at s1 and the results differ",
        "range(G) × any",
        qf.ask_ls,
    ),
    Query(
        "us_cs",
        "∃ operands, s ∈ G in the image of the least privileged virtual mode: it runs at s and changes a control element",
        "G",
        qf.ask_us_cs,
        _never_runs,
    ),
    Query(
        "us_ms",
        "∃ operands, s ∈ G in the image u of the least privileged virtual mode l, when u ≠ l, and s' = s in mode l: it runs at s and the results differ",
        "G × any",
        qf.ask_us_ms,
        _skip_us_ms,
    ),
    Query(
        "us_ls",
        "∃ operands, s1 ∈ G in the image of the least privileged virtual mode, s2 differing from s1 only in control elements other than the mode: it runs at one of them and the results differ",
        "G × any",
        qf.ask_us_ls,
    ),
    Query(
        "td",
        "∃ operands, s1 ∈ G, s2 = s1 with other timer values: it runs at s1 and the results differ",
        "G × any",
        qf.ask_td,
        _skip_td,
    ),
    Query(
        "t1_cs",
        "∃ operands: control sensitive (∃ s1 ∈ range(G) where it runs and changes control) and ∃ s ∈ G where it runs",
        "range(G), G",
        qf.ask_t1_cs,
        _skip_unless("cs", "not cs"),
    ),
    Query(
        "t1_ls",
        "∃ operands: location sensitive (∃ pair s1, s2 as in `ls`) and ∃ s ∈ G where it runs",
        "range(G) × any, G",
        qf.ask_t1_ls,
        _skip_unless("ls", "not ls"),
    ),
    Query(
        "t3_ls",
        "∃ operands: user location sensitive (a pair as in `us_ls`) and ∃ s ∈ G where it runs",
        "G × any, G",
        qf.ask_t3_ls,
        _skip_unless("us_ls", "not user location sensitive"),
    ),
    Query(
        "unsafe_ctrl",
        "∃ operands, s ∈ G: it runs at s and changes a control element (resource control breaks)",
        "G",
        qf.ask_unsafe_ctrl,
        _never_runs,
    ),
    Query(
        "unsafe_pair",
        "∃ operands, s ∈ G, v (same non-control state and view, a mode G maps to mode(s), any control state, own phys): it runs at s and (it changes control at v without trapping, or the results at s and v differ)",
        "G × range(G)",
        qf.ask_unsafe_pair,
        _never_runs,
    ),
)

# name -> the existence question (a proof is its unsat answer), in the table's order
QUERIES: dict[str, str] = {q.name: q.statement for q in TABLE}
QUERY_BY_NAME: dict[str, Query] = {q.name: q for q in TABLE}
# The order they are asked in: the gates first (illegality decides whether the rest are).
ASK_ORDER: tuple[Query, ...] = tuple(q for q in TABLE if q.first) + tuple(q for q in TABLE if not q.first)


class InstructionQueries(QueryBuilder):
    """Builds and answers the queries of one instruction in one context."""

    def run_all(self) -> dict[str, QueryResult]:
        """Every query of TABLE, answered or skipped, in ASK_ORDER: name -> result.
        An illegal instruction (`runs_any` unsat) skips every query not yet asked."""
        run = qf.Scope()
        for query in ASK_ORDER:
            why = query.skip(self)
            if why is not None:
                self.skip(query.name, UNSAT, why)
                continue
            query.ask(self, run)
            if query.name == "runs_any" and self.results["runs_any"].status == UNSAT:
                for rest in TABLE:
                    if rest.name not in self.results:
                        self.skip(rest.name, UNSAT, "illegal: it traps in every state")
                break
        return self.results


__all__ = [
    "QUERIES",
    "QUERY_BY_NAME",
    "TABLE",
    "ASK_ORDER",
    "Query",
    "QueryResult",
    "InstructionQueries",
]
