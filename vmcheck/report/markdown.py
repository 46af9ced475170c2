"""The proof report as GitHub-flavoured Markdown.

All text is escaped (`md_escape`, backslash escapes and entities) or set as
code spans whose fences outgrow any backquotes inside (`md_code`), so spec
text never becomes markup. Badges become signs, the class chart becomes its
table of counts, callouts become block quotes, anchors are `<a id>` tags.
"""

from __future__ import annotations

import re

from .document import (
    Badge,
    BarChart,
    Bullets,
    Callout,
    Code,
    CodeBlock,
    Defs,
    Doc,
    Em,
    Keep,
    Para,
    Ref,
    Section,
    Strong,
    Table,
    Text,
    anchor_id,
    badge_kind,
    chart_table,
    code_spans,
    inlines,
)
from .render import Renderer

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#+!|~])")
_BADGE_SIGN = {"pass": "✅", "fail": "❌", "unknown": "⚠️", "info": "ℹ️"}


def md_escape(s: str, *, cell: bool = False) -> str:
    """Plain text as Markdown that shows the same characters and no markup or HTML."""
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = re.sub(r"^(\s*)(\d+)([.)])", r"\1\2\\\3", s, flags=re.M)  # "1." starting a line is a list
    s = re.sub(r"^(\s*)-", r"\1\\-", s, flags=re.M)
    if cell:
        s = s.replace("\n", "<br>")
    else:
        s = re.sub(r"\s*\n\s*", " ", s)
    return s


def md_code(s: str, *, cell: bool = False) -> str:
    """A code span that shows `s` exactly: its fence outgrows the backquotes inside."""
    s = s.replace("\n", " ")
    if cell:
        s = s.replace("|", "\\|")
    if not s:
        return "` `"
    ticks = max((len(m) for m in re.findall(r"`+", s)), default=0) + 1
    fence = "`" * ticks
    pad = " " if s.startswith("`") or s.endswith("`") or (ticks > 1) else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _md_wrap(mark: str, inner: str) -> str:
    """Emphasis whose delimiters touch the text (GFM ignores `** x **`)."""
    core = inner.strip()
    if not core:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{mark}{core}{mark}{trail}"


class MarkdownRenderer(Renderer):
    """The document as Markdown lines; a callout is a block quote, its lines prefixed by `quote`."""

    def text(self, t: Text, cell: bool = False) -> str:
        parts: list[str] = []
        for x in inlines(t):
            if isinstance(x, str):
                parts.extend(
                    md_code(p.text, cell=cell) if isinstance(p, Code) else md_escape(p, cell=cell)
                    for p in code_spans(x)
                )
            elif isinstance(x, Code):
                parts.append(md_code(x.text, cell=cell))
            elif isinstance(x, Strong):
                parts.append(_md_wrap("**", self.text(x.parts, cell)))
            elif isinstance(x, Em):
                parts.append(_md_wrap("*", self.text(x.parts, cell)))
            elif isinstance(x, Badge):
                sign = _BADGE_SIGN[badge_kind(x.kind)]
                parts.append(sign if x.text in ("✓", "✗", "?") else f"{sign} **{md_escape(x.text, cell=cell)}**")
            elif isinstance(x, Ref):
                parts.append(f"[{self.text(x.parts, cell)}](#{anchor_id(x.anchor).lower()})")
            else:
                raise TypeError(f"unknown inline {type(x).__name__}")
        return "".join(parts)

    def paragraph(self, s: str) -> None:
        """A line and the blank line that ends its paragraph."""
        self.out.append(s)
        self.out.append("")

    def para(self, b: Para, quote: str) -> None:
        t = self.text(b.text)
        self.paragraph(quote + (f"<sub>{t}</sub>" if b.cls == "small" else t))

    def bullets(self, b: Bullets, quote: str) -> None:
        for i, item in enumerate(b.items, 1):
            self.out.append(quote + (f"{i}. " if b.ordered else "- ") + self.text(item))
        self.out.append(quote.rstrip())

    def defs(self, b: Defs, quote: str) -> None:
        for term, d in b.items:
            self.out.append(quote + f"- {_md_wrap('**', self.text(term))}: {self.text(d)}")
        self.out.append(quote.rstrip())

    def chart(self, b: BarChart, quote: str) -> None:
        self.table(chart_table(b), quote)

    def code_block(self, b: CodeBlock, quote: str) -> None:
        if b.title is not None:
            self.paragraph(quote + self.text(b.title))
        ticks = max((len(m) for m in re.findall(r"`{3,}", b.text)), default=2) + 1
        self.out.append(quote + "`" * ticks)
        self.out.extend(quote + line for line in b.text.rstrip("\n").split("\n"))
        self.out.append(quote + "`" * ticks)
        self.out.append(quote.rstrip())

    def callout(self, b: Callout, depth: int, quote: str) -> None:
        q = quote + "> "
        if b.title is not None:
            self.out.append(q + f"**{self.text(b.title)}**")
            self.out.append(q.rstrip())
        for x in b.blocks:
            self.block(x, depth, q)
        while self.out and self.out[-1].strip() in ("", ">"):
            self.out.pop()
        self.out.append("")

    def keep(self, b: Keep, depth: int, quote: str) -> None:
        if b.anchor:
            self.out.append(f'<a id="{anchor_id(b.anchor).lower()}"></a>')
            self.out.append("")
        if b.title is not None:
            self.paragraph(quote + f"#### {self.text(b.title)}")
        for x in b.blocks:
            self.block(x, depth, quote)

    def table(self, t: Table, quote: str = "") -> None:
        if t.anchor:
            self.out.append(f'<a id="{anchor_id(t.anchor).lower()}"></a>')
            self.out.append("")
        if t.caption is not None:
            self.paragraph(quote + f"*{self.text(t.caption)}*")
        ncol = max([len(t.header)] + [len(r.cells) for r in t.rows])
        header = list(t.header) + [""] * (ncol - len(t.header))
        if not t.header:
            header = [""] * ncol
        self.out.append(quote + "| " + " | ".join(self.text(h, True) or " " for h in header) + " |")
        self.out.append(quote + "|" + "|".join("---:" if i in t.numeric else "---" for i in range(ncol)) + "|")
        for r in t.rows:
            cells = []
            for i in range(ncol):
                c = self.text(r.cells[i], True) if i < len(r.cells) else ""
                if i < len(r.cell_marks) and r.cell_marks[i] == "changed" and c:
                    c = f"**{c}**"
                if i == 0 and r.mark == "differs":
                    c = "≠ " + c
                cells.append(c)
            self.out.append(quote + "| " + " | ".join(cells) + " |")
        self.out.append(quote.rstrip())

    def section(self, s: Section, level: int) -> None:
        num = ""
        if level <= 2:
            num = self.numbers.next(level, s.label) + " "  # digits and the report's own labels: no escaping
        self.out.append(f'<a id="{anchor_id(s.anchor).lower()}"></a>')
        self.out.append("")
        self.paragraph("#" * min(level + 1, 4) + " " + num + self.text(s.title))
        for b in s.blocks:
            self.block(b, level)

    def contents(self, toc: list[Section], *, after_front: bool) -> None:
        self.paragraph("**Contents**")
        for s in toc:
            self.out.append(f"- [{self.text(s.title)}](#{anchor_id(s.anchor).lower()})")
        self.out.append("")

    def doc(self, d: Doc) -> str:
        self.paragraph(f"# {md_escape(d.title)}")
        self.paragraph(f"*{self.text(d.subtitle)}*")
        self.out.append("| | |")
        self.out.append("|---|---|")
        for k, v in d.meta:
            self.out.append(f"| **{md_escape(k, cell=True)}** | {self.text(v, True)} |")
        self.out.append("")
        self.sections(d)
        self.out.append("---")
        self.out.append("")
        self.out.append(f"<sub>{md_escape(d.footer)}</sub>")
        text = "\n".join(self.out)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.rstrip("\n") + "\n"


def render_markdown(d: Doc) -> str:
    """The document as GitHub-flavoured Markdown."""
    return MarkdownRenderer().doc(d)


__all__ = ["render_markdown", "md_escape", "md_code"]
