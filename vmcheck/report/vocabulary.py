"""The words the proof report uses for the theory, and its small formats.

Per theorem: the class whose instances must trap, that class in prose, and
the theorem's short name in running text. Per class: its name in prose. Also
the verdict badges, anchors built from names, and how a value is printed.
Every section builder takes these from here, so a word is spelled once.
"""

from __future__ import annotations

import re
from typing import Any

from ..analysis.results import CLASSES
from .document import Badge

# The class whose instances must trap, per theorem, and its name in prose.
KEY_CLASS = {"1": "sensitive", "2": "sensitive", "3": "user_sensitive", "exact": "unsafe"}
KEY_WORD = {"1": "sensitive", "2": "sensitive or timing dependent", "3": "user sensitive", "exact": "unsafe"}
SHORT_TITLE = {"1": "Theorem 1", "2": "Theorem 2", "3": "Theorem 3", "exact": "the exact condition"}
CLASS_WORDS = {c: c.replace("_", " ") for c in CLASSES}

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
