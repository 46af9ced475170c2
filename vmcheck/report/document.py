"""The proof report's document model: what a report says, in no format.

`proof.py` and the section builders (`sections/`) build a `Doc` of
sections, paragraphs, tables and code blocks; `html.py` and `markdown.py`
render it. Both renderers dispatch on the node type explicitly and fail on
an unknown one, so a construct added here cannot be silently dropped by one
format.

Every piece of text in the model is plain text, never markup: the renderers
escape all of it (`html.escape` for HTML; backslash escapes and entities for
Markdown), so a spec whose description contains `<script>` renders inert.
Markup comes only from the node types themselves.

The last part holds what both renderers share: section numbering, anchor
sanitising, badge kinds and a chart's table of counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

# --------------------------------------------------------------------------
# Inline text
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """Monospaced text: a name, a value, a formula."""

    text: str


@dataclass(frozen=True)
class Strong:
    parts: Text


@dataclass(frozen=True)
class Em:
    parts: Text


@dataclass(frozen=True)
class Badge:
    """A verdict word: kind is pass, fail, unknown or info."""

    kind: str
    text: str


@dataclass(frozen=True)
class Ref:
    """An internal link to a block's anchor."""

    anchor: str
    parts: Text


Inline = str | Code | Strong | Em | Badge | Ref
Text = Inline | tuple | list  # one inline or a sequence of them


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code_spans(s: str) -> list[str | Code]:
    """Plain text whose `backquoted` spans become Code: the analysis and the
    specs write names that way in their one-line reasons and descriptions, and
    a report shows them as code rather than as raw backquotes. An unpaired
    backquote stays a character (and is escaped like any other)."""
    out: list[str | Code] = []
    pos = 0
    for m in _CODE_SPAN.finditer(s):
        if m.start() > pos:
            out.append(s[pos : m.start()])
        out.append(Code(m.group(1)))
        pos = m.end()
    if pos < len(s):
        out.append(s[pos:])
    return out


def inlines(t: Text) -> list[Inline]:
    """A text flattened into its inline pieces, in order."""
    if isinstance(t, (list, tuple)):
        out: list[Inline] = []
        for x in t:
            out.extend(inlines(x))
        return out
    return [t]


def plain(t: Text) -> str:
    """The text without markup (for titles, tests and the table of contents)."""
    out = []
    for x in inlines(t):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, (Code, Badge)):
            out.append(x.text)
        elif isinstance(x, (Strong, Em, Ref)):
            out.append(plain(x.parts))
        else:  # pragma: no cover - exhaustive
            raise TypeError(f"unknown inline {type(x).__name__}")
    return "".join(out)


# --------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------


@dataclass
class Para:
    text: Text
    cls: str = ""  # "lead", "note", "small"


@dataclass
class Bullets:
    items: Sequence[Text]
    ordered: bool = False


@dataclass
class Defs:
    """A definition list: (term, definition) pairs."""

    items: list[tuple[Text, Text]]


@dataclass
class Row:
    cells: Sequence[Text]
    mark: str = ""  # "differs" (highlighted), "fail", "pass", "unknown", "sub"
    cell_marks: list[str] = field(default_factory=list)  # per cell: "" or "changed"


@dataclass
class Table:
    header: Sequence[Text]
    rows: list[Row]
    caption: Text | None = None
    cls: str = ""  # "compact", "witness", "kv", "verdicts"
    numeric: tuple[int, ...] = ()  # columns aligned right
    anchor: str = ""


@dataclass
class CodeBlock:
    text: str
    title: Text | None = None


@dataclass
class Callout:
    """A boxed block: a verdict, a warning, a note."""

    kind: str  # pass, fail, unknown, info
    blocks: list[Block]
    title: Text | None = None


@dataclass
class Keep:
    """Blocks printed together: not split across pages where avoidable."""

    blocks: list[Block]
    anchor: str = ""
    title: Text | None = None  # a small heading inside the group (level 4)
    cls: str = ""


@dataclass
class Bar:
    """One bar of a chart: a label and (kind, count) segments, drawn left to right."""

    label: str
    segments: list[tuple[str, int]]


@dataclass
class BarChart:
    """A small horizontal stacked-bar chart, drawn as inline SVG in HTML (no
    image files, nothing fetched) and as its table of counts in Markdown.
    `legend` names each segment kind in order; kinds are pass, fail, unknown,
    info or muted, the report's colours."""

    bars: list[Bar]
    legend: list[tuple[str, str]]  # (kind, what it counts)
    caption: Text | None = None
    unit: str = "instructions"


Block = Union[Para, Bullets, Defs, Table, CodeBlock, Callout, Keep, BarChart, "Section"]  # noqa: UP007 (a forward reference)


@dataclass
class Section:
    title: Text
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False  # printed from the top of a page (only the report's large parts)
    in_toc: bool = True
    label: str = ""  # replaces the section's number ("A" for an appendix; its subsections are A.1, A.2...)


@dataclass
class Doc:
    title: str
    subtitle: Text
    meta: list[tuple[str, Text]]  # shown under the title: (label, value)
    sections: list[Section]
    footer: str  # plain text: printed at the foot of every page and of the document
    lang: str = "en"
    front: int = 0  # how many leading sections form the front page (printed before the contents)


def join(items: Sequence[Text], sep: Text = "; ") -> list:
    """`items` with `sep` between each two (a text list, for inline sequences)."""
    out: list = []
    for i, x in enumerate(items):
        if i:
            out.append(sep)
        out.append(x)
    return out


# --------------------------------------------------------------------------
# Shared by the renderers
# --------------------------------------------------------------------------


def anchor_id(a: str) -> str:
    """Anchors are built from names, but never trust them: keep [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", lambda m: f"_{ord(m.group()):x}", a)


class Numbers:
    """Section numbers: 1, 1.1, 1.2, 2 ...; a labelled top-level section
    (an appendix, "A") numbers its subsections A.1, A.2 and does not take a
    number from the sequence."""

    def __init__(self) -> None:
        self.top = 0
        self.current = ""
        self.sub = 0

    def next(self, level: int, label: str = "") -> str:
        if level == 1:
            if label:
                self.current = label
            else:
                self.top += 1
                self.current = str(self.top)
            self.sub = 0
            return self.current
        self.sub += 1
        return f"{self.current or 0}.{self.sub}"


def badge_kind(k: str) -> str:
    """A badge or callout kind the renderers style: pass, fail, unknown, else info."""
    return k if k in ("pass", "fail", "unknown", "info") else "info"


def chart_table(c: BarChart) -> Table:
    """The chart's numbers, for formats that cannot draw it (Markdown)."""
    header: list[Text] = ["", *(name for _, name in c.legend), "total"]
    rows = []
    for b in c.bars:
        counts: dict[str, int] = {}
        for kind, n in b.segments:
            counts[kind] = counts.get(kind, 0) + n
        rows.append(
            Row([b.label] + [str(counts.get(kind, 0)) for kind, _ in c.legend] + [str(sum(n for _, n in b.segments))])
        )
    return Table(header, rows, c.caption, numeric=tuple(range(1, len(c.legend) + 2)))
