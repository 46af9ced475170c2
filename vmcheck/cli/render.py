"""The text console of every verb: rich, imported only when text is printed."""

from __future__ import annotations

import os
import shutil


def width() -> int:
    """The terminal's width on a terminal; elsewhere COLUMNS, else 80 (pipes, CI logs)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return shutil.get_terminal_size((80, 24)).columns


def console(stderr: bool = False):
    from rich.console import Console

    return Console(highlight=False, stderr=stderr, width=width())


def say(con, text: str, indent: int = 2) -> None:
    """Print `text` (rich markup) indented, its wrapped lines under its first."""
    from rich.padding import Padding

    con.print(Padding(text, (0, 0, 0, indent), expand=False))
