"""From the query results to the classes of one instruction in one context
(docs/model.md §2.5–§2.6), and to whether it violates each theorem.

Every answer carries its evidence: the witness of the sat query that decided
it, or the queries that were unsat (the proof), or why it is unknown.
"""

from __future__ import annotations

from ..spec import ir
from .queries import QUERIES
from .results import NO, UNKNOWN, YES, Answer
from .solving import SAT, UNK, UNSAT, QueryResult


def unknown_text(q: QueryResult) -> str:
    if q.unknown_why == "timeout":
        return f"unknown (the wall-clock safety net ran out on `{q.name}` before the budget)"
    return f"unknown (budget {q.budget:,} exhausted on `{q.name}`)"


def _from(q: QueryResult, yes_on_sat: bool, what: str) -> Answer:
    """The answer that a query alone decides: sat means `yes_on_sat`."""
    if q.status == UNK:
        return Answer(UNKNOWN, f"{what}: {unknown_text(q)}", q.unknown_why or "budget", None, [q.name], q.seconds)
    if q.status == SAT:
        val = YES if yes_on_sat else NO
        return Answer(val, q.witness.summary if q.witness else what, "witness", q.witness, [q.name], q.seconds)
    val = NO if yes_on_sat else YES
    why = q.skipped or f"proved: query `{q.name}` is unsat"
    return Answer(val, why, "proof", None, [q.name], q.seconds)


def _any(answers: list[Answer]) -> Answer:
    """yes when one is yes (its witness), no when all are no (every proof), else unknown."""
    for a in answers:
        if a.value == YES:
            return Answer(
                YES,
                a.reason,
                a.evidence,
                a.witness,
                [q for b in answers for q in b.queries],
                sum(b.seconds for b in answers),
            )
    qs = [q for b in answers for q in b.queries]
    secs = sum(b.seconds for b in answers)
    unk = [a for a in answers if a.value == UNKNOWN]
    if unk:
        return Answer(UNKNOWN, unk[0].reason, unk[0].evidence, None, qs, secs)
    return Answer(NO, "; ".join(dict.fromkeys(a.reason for a in answers)), "proof", None, qs, secs)


def classify(R: dict[str, QueryResult], ctx: ir.Context) -> tuple[dict[str, Answer], dict[str, Answer]]:
    """The classes (CLASSES) and theorem violations (THEOREMS) from the query results."""
    c: dict[str, Answer] = {}
    runs_any = R["runs_any"]
    if runs_any.status == UNSAT:
        c["illegal"] = Answer(
            YES, "it traps in every state (unsat: " + QUERIES["runs_any"] + ")", "proof", None, ["runs_any"]
        )
    else:
        c["illegal"] = _from(runs_any, False, "illegal")
    g, hst = R["runs_G"], R["runs_host"]
    if c["illegal"].value == YES:
        c["privileged"] = Answer(
            NO, "illegal: it traps in every state, the host's included", "proof", None, ["runs_any"]
        )
    elif g.status == SAT:
        c["privileged"] = Answer(
            NO,
            "it " + (g.witness.summary if g.witness else f"runs in {ctx.name}"),
            "witness",
            g.witness,
            ["runs_G"],
            g.seconds,
        )
    elif g.status == UNK or hst.status == UNK:
        q = g if g.status == UNK else hst
        c["privileged"] = Answer(UNKNOWN, unknown_text(q), q.unknown_why or "budget", None, ["runs_G", "runs_host"])
    elif hst.status == SAT:
        c["privileged"] = Answer(
            YES,
            f"traps or memory-traps at every state of {ctx.name} (unsat: {QUERIES['runs_G']}) "
            f"and {hst.witness.summary if hst.witness else 'runs in the host'}",
            "proof",
            hst.witness,
            ["runs_G", "runs_host"],
            g.seconds + hst.seconds,
        )
    else:
        c["privileged"] = Answer(
            NO, "it traps in every host state (unsat: " + QUERIES["runs_host"] + ")", "proof", None, ["runs_host"]
        )
    c["control_sensitive"] = _from(R["cs"], True, "control sensitive")
    c["mode_sensitive"] = _from(R["ms"], True, "mode sensitive")
    c["location_sensitive"] = _from(R["ls"], True, "location sensitive")
    c["sensitive"] = _any([c["control_sensitive"], c["mode_sensitive"], c["location_sensitive"]])
    c["user_sensitive"] = _any(
        [
            _from(R["us_cs"], True, "user control sensitive"),
            _from(R["us_ms"], True, "user mode sensitive"),
            _from(R["us_ls"], True, "user location sensitive"),
        ]
    )
    c["timing_dependent"] = _from(R["td"], True, "timing dependent")
    c["unsafe"] = _any([_from(R["unsafe_ctrl"], True, "unsafe"), _from(R["unsafe_pair"], True, "unsafe")])
    c["pg_control_sensitive"] = _from(R["pg_cs"], True, "control sensitive (Popek & Goldberg)")
    c["pg_mode_sensitive"] = _from(R["pg_ms"], True, "mode sensitive (Popek & Goldberg)")
    c["pg_location_sensitive"] = _from(R["pg_ls"], True, "location sensitive (Popek & Goldberg)")
    c["pg_sensitive"] = _any([c["pg_control_sensitive"], c["pg_mode_sensitive"], c["pg_location_sensitive"]])
    c["breaks_invariants"] = _from(R["inv"], True, "breaks an invariant")
    v: dict[str, Answer] = {}
    v["1"] = _any(
        [
            _from(R["t1_cs"], True, "violates Theorem 1"),
            _from(R["ms"], True, "violates Theorem 1"),
            _from(R["t1_ls"], True, "violates Theorem 1"),
        ]
    )
    v["2"] = _any([v["1"], c["timing_dependent"]])
    v["3"] = _any(
        [
            _from(R["us_cs"], True, "violates Theorem 3"),
            _from(R["us_ms"], True, "violates Theorem 3"),
            _from(R["t3_ls"], True, "violates Theorem 3"),
        ]
    )
    v["exact"] = c["unsafe"]
    return c, v


__all__ = ["classify", "unknown_text"]
