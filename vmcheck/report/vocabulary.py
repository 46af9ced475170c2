"""The words the proof report uses for the theory, and its small formats.

Per theorem: the class whose instances must trap, that class in prose, and
the theorem's short name in running text. Per class: its name in prose.
These derive from `vmcheck.theory`'s records, so the report words a theorem
or a class as every other output does. Also the verdict badges, anchors
built from names, and how a value is printed. Every section builder takes
these from here, so a word is spelled once.
"""

from __future__ import annotations

import re
from typing import Any

from ..theory import CLASS_RECORDS, THEOREM_RECORDS
from .document import Badge

# The class whose instances must trap, per theorem: the class itself, where
# `theory.Theorem.judged_on` lists its parts (Theorem 2 adds timing_dependent
# to it; see evidence.key_answer).
KEY_CLASS = {"1": "sensitive", "2": "sensitive", "3": "user_sensitive", "exact": "unsafe"}
# Those classes in prose ("sensitive or timing dependent").
KEY_WORD = {t.key: t.violator_word for t in THEOREM_RECORDS}
# A theorem's name in running text ("Theorem 1", "the exact condition").
SHORT_TITLE = {t.key: t.phrase for t in THEOREM_RECORDS}
# A class's name in prose ("control sensitive").
CLASS_WORDS = {c.key: c.word for c in CLASS_RECORDS}

PG1974 = (
    'G. J. Popek and R. P. Goldberg, "Formal Requirements for Virtualizable Third Generation '
    'Architectures", Communications of the ACM 17(7):412–421, July 1974.'
)


def holds_badge(h: bool | None) -> Badge:
    """A theorem's verdict as a badge: holds, fails or undecided."""
    return {True: Badge("pass", "holds"), False: Badge("fail", "fails"), None: Badge("unknown", "undecided")}[h]


def hex_value(v: Any) -> str:
    """An integer in hex; anything else (a bool, a name, None) as it prints."""
    if isinstance(v, bool) or not isinstance(v, int):
        return str(v)
    return f"{v:#x}"


def anchor(*parts: str) -> str:
    """The anchor of a block named by `parts` ("w", context, instruction ...)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts)


__all__ = ["KEY_CLASS", "KEY_WORD", "SHORT_TITLE", "CLASS_WORDS", "PG1974", "holds_badge", "hex_value", "anchor"]
