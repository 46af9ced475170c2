"""What the HTML and Markdown renderers share: a walk over the document model.

`Renderer` holds the output lines and the section numbers, dispatches each
block of `document.py` to the renderer's method for its type, and lays out
the document's sections in print order (front page, contents, the rest).
Each block type has an abstract method here, so a renderer that misses one
cannot be built, and a block of an unknown type fails loudly rather than
being dropped from one format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .document import (
    BarChart,
    Block,
    Bullets,
    Callout,
    CodeBlock,
    Defs,
    Doc,
    Keep,
    Numbers,
    Para,
    Section,
    Table,
)


class Renderer(ABC):
    """One rendering: the output lines and the section numbers so far.

    `quote` is the prefix of every line inside a Markdown block quote (a
    callout's `> `); HTML nests elements instead and ignores it."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.numbers = Numbers()

    def block(self, b: Block, depth: int, quote: str = "") -> None:
        """Render one block of a section at `depth` (a nested section is one deeper)."""
        if isinstance(b, Section):
            self.section(b, depth + 1)
        elif isinstance(b, Para):
            self.para(b, quote)
        elif isinstance(b, Bullets):
            self.bullets(b, quote)
        elif isinstance(b, Defs):
            self.defs(b, quote)
        elif isinstance(b, Table):
            self.table(b, quote)
        elif isinstance(b, BarChart):
            self.chart(b, quote)
        elif isinstance(b, CodeBlock):
            self.code_block(b, quote)
        elif isinstance(b, Callout):
            self.callout(b, depth, quote)
        elif isinstance(b, Keep):
            self.keep(b, depth, quote)
        else:
            raise TypeError(f"unknown block {type(b).__name__}")

    def sections(self, d: Doc) -> None:
        """The document's sections in print order: those of the front page,
        the table of contents (when any section is listed in it), the rest."""
        for s in d.sections[: d.front]:
            self.section(s, 1)
        toc = [s for s in d.sections if s.in_toc]
        if toc:
            self.contents(toc, after_front=bool(d.front))
        for s in d.sections[d.front :]:
            self.section(s, 1)

    @abstractmethod
    def section(self, s: Section, level: int) -> None: ...

    @abstractmethod
    def contents(self, toc: list[Section], *, after_front: bool) -> None: ...

    @abstractmethod
    def para(self, b: Para, quote: str) -> None: ...

    @abstractmethod
    def bullets(self, b: Bullets, quote: str) -> None: ...

    @abstractmethod
    def defs(self, b: Defs, quote: str) -> None: ...

    @abstractmethod
    def table(self, t: Table, quote: str = "") -> None: ...

    @abstractmethod
    def chart(self, b: BarChart, quote: str) -> None: ...

    @abstractmethod
    def code_block(self, b: CodeBlock, quote: str) -> None: ...

    @abstractmethod
    def callout(self, b: Callout, depth: int, quote: str) -> None: ...

    @abstractmethod
    def keep(self, b: Keep, depth: int, quote: str) -> None: ...


__all__ = ["Renderer"]
