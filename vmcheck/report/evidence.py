"""Proof evidence as data: each theorem's obligation per instruction and how it was discharged.

Pure functions of the engine's result types (`analysis.results`): they
read answers, reasons, queries and witnesses and return document text
(`document.Text`) or an `Obligation`; they decide nothing and run nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..analysis.queries import QUERIES
from ..analysis.results import Answer, ContextResult, InstructionResult
from ..theory import NO, THEOREM_BY_KEY, THEOREMS, UNKNOWN, YES
from .document import Code, Ref, Strong, Text, join
from .vocabulary import CLASS_WORDS, KEY_CLASS, KEY_WORD, anchor


def query_evidence(a: Answer, ctx_name: str) -> list[Text]:
    """How an answer "no" was proved: which queries were unsat, and the
    reasons of those decided without the solver (an answer's reason joins
    its queries' reasons with "; ")."""
    out: list[Text] = []
    for piece in (p.strip() for p in a.reason.split("; ")):
        if not piece:
            continue
        named = [q for q in a.queries if f"`{q}`" in piece or QUERIES.get(q, "\0") in piece]
        m = re.fullmatch(r"not (\w+)", piece)
        if named:
            out.append([Code(named[0]), " unsat"])
        elif m and m.group(1) in QUERIES:
            out.append([Code(m.group(1)), " unsat"])
        elif piece == f"it never runs in {ctx_name}":
            out.append([Code("runs_G"), f" unsat (it never runs in {ctx_name})"])
        elif piece.startswith("illegal"):
            out.append([Code("runs_any"), " unsat (illegal: it traps in every state)"])
        else:
            out.append(piece)
    seen, uniq = set(), []
    for x in out:
        k = json.dumps(x, default=lambda o: getattr(o, "text", str(o)))
        if k not in seen:
            seen.add(k)
            uniq.append(x)
    return uniq


def never_runs(r: InstructionResult, ctx_name: str) -> bool:
    """Does the instruction trap (or memory-trap) at every state of the context, so no instance runs there?"""
    p = r.classes["privileged"]
    if p.value == YES:
        return True
    return any(f"never runs in {ctx_name}" in r.violates[t].reason for t in THEOREMS)


def key_answer(r: InstructionResult, t: str) -> Answer:
    """The answer for theorem t's key class (for Theorem 2: sensitive or timing dependent, combined as the engine does)."""
    if t == "2":
        a, b = r.classes["sensitive"], r.classes["timing_dependent"]
        if a.value == YES:
            return a
        if b.value == YES:
            return b
        if UNKNOWN in (a.value, b.value):
            return a if a.value == UNKNOWN else b
        return Answer(NO, f"{a.reason}; {b.reason}", "proof", None, a.queries + b.queries)
    return r.classes[KEY_CLASS[t]]


def sensitivity_kinds(r: InstructionResult, t: str) -> str:
    """For Theorems 1 and 2, the kinds of sensitivity an instruction has
    ("control, mode", "timing"): the classes the theorem is judged on, by
    their first word."""
    if t in ("1", "2"):
        kinds = [c.split("_")[0] for c in THEOREM_BY_KEY[t].judged_on if r.classes[c].value == YES]
        return ", ".join(kinds)
    return ""


@dataclass
class Obligation:
    """One instruction's proof obligation under one theorem in one context: its status and how it was discharged."""

    status: str  # "pass", "fail", "unknown"
    key: str  # the key class: "yes", "no", "unknown" (+ kinds)
    traps: str  # "always" / "not always" / "?"
    discharge: list


def obligation(r: InstructionResult, ctx: ContextResult, t: str) -> Obligation:
    """Theorem t's proof obligation for one instruction in one context, and how it was discharged."""
    v = r.violates[t]
    key = key_answer(r, t)
    kinds = sensitivity_kinds(r, t)
    key_text = key.value + (f" ({kinds})" if kinds and key.value == YES else "")
    never = never_runs(r, ctx.name)
    p = r.classes["privileged"]
    traps = "always" if never or r.classes["illegal"].value == YES else ("?" if p.value == UNKNOWN else "not always")
    details = anchor("w", ctx.name, r.name)
    if v.value == YES:
        w = v.witness
        how: list = [Strong("refuted"), " by a witness"]
        if w is not None:
            how += [" of ", Code(w.query), ": ", w.summary or v.reason]
        else:
            how += [": ", v.reason]
        how += [" (", Ref(details, "details"), ")"]
        return Obligation("fail", key_text, traps, how)
    if v.value == UNKNOWN:
        return Obligation(
            "unknown",
            key_text,
            traps,
            [Strong("undecided"), ": ", v.reason, " — queries "] + join([Code(q) for q in v.queries], ", "),
        )
    ev = query_evidence(v, ctx.name)
    word = KEY_WORD[t]
    if r.classes["illegal"].value == YES:
        why: list = ["illegal: it traps in every state (", Code("runs_any"), " unsat)"]
    elif key.value == NO:
        why = ["safe: " if t == "exact" else f"not {word}: "] + join(query_evidence(key, ctx.name))
    elif never:
        why = [
            f"{word} (",
            key.reason,
            "), but it traps or memory-traps at every state of ",
            Code(ctx.name),
            ": ",
            Code("runs_G"),
            " unsat",
        ]
    else:
        why = [f"some instances are {word} and some run in ", Code(ctx.name), ", but none does both: "] + join(ev)
    return Obligation("pass", key_text, traps, [Strong("proved"), " — "] + why)


def statement(t: str, insn: str, ctx: str) -> list:
    """Theorem t's proof obligation for instruction `insn` in context `ctx`, as a sentence."""
    return {
        "1": ["every sensitive instance of ", Code(insn), " traps or memory-traps at every state of ", Code(ctx)],
        "2": [
            "every sensitive or timing-dependent instance of ",
            Code(insn),
            " traps or memory-traps at every state of ",
            Code(ctx),
        ],
        "3": ["every user-sensitive instance of ", Code(insn), " traps or memory-traps at every state of ", Code(ctx)],
        "exact": [
            "no instance of ",
            Code(insn),
            " is unsafe in ",
            Code(ctx),
            ": wherever it runs directly, it keeps resource control and equivalence",
        ],
    }[t]


def sensitivity_reasons(r: InstructionResult) -> Text:
    """Why an instruction is sensitive (Theorem 1): each sensitivity class it has, with its reason."""
    parts = []
    for c in THEOREM_BY_KEY["1"].judged_on:
        a = r.classes[c]
        if a.value == YES:
            parts.append([Strong(CLASS_WORDS[c]), ": ", a.reason])
    return join(parts, "; ") or r.violates["1"].reason


__all__ = [
    "Obligation",
    "obligation",
    "query_evidence",
    "key_answer",
    "never_runs",
    "sensitivity_kinds",
    "sensitivity_reasons",
    "statement",
]
