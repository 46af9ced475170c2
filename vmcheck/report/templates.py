"""A small document model and its two readings: self-contained HTML and Markdown.

The proof report (`proof.py`) says *what* a report contains by building a
`Doc` of sections, paragraphs, tables and code blocks; this module says how
each renders. Both renderers dispatch on the node type explicitly and fail on
an unknown one, so a construct added to the model cannot be silently dropped
by one format.

Every piece of text in the model is plain text, never markup: the renderers
escape all of it (`html.escape` for HTML; backslash escapes and entities for
Markdown), so a spec whose description contains `<script>` renders inert.
Markup comes only from the node types themselves.
"""

from __future__ import annotations

import html
import re
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


def code_spans(s: str) -> list[Inline]:
    """Plain text whose `backquoted` spans become Code: the analysis and the
    specs write names that way in their one-line reasons and descriptions, and
    a report shows them as code rather than as raw backquotes. An unpaired
    backquote stays a character (and is escaped like any other)."""
    out: list[Inline] = []
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
    items: list[Text]
    ordered: bool = False


@dataclass
class Defs:
    """A definition list: (term, definition) pairs."""

    items: list[tuple[Text, Text]]


@dataclass
class Row:
    cells: list[Text]
    mark: str = ""  # "differs" (highlighted), "fail", "pass", "unknown", "sub"
    cell_marks: list[str] = field(default_factory=list)  # per cell: "" or "changed"


@dataclass
class Table:
    header: list[Text]
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


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

CSS = """
:root {
  --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --soft: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --unknown: #9a6700; --unknown-bg: #fff8c5; --info: #0969da; --info-bg: #ddf4ff;
  --mark: #fff5b1; --accent: #24476b;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font-family: "Noto Sans", "Liberation Sans", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.5;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
.page { max-width: 62rem; margin: 0 auto; padding: 2.5rem 2rem 3rem; }
code, pre, .mono {
  font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 0.86em;
}
code { background: var(--soft); border-radius: 3px; padding: 0 0.2em; overflow-wrap: break-word; }
pre {
  background: var(--soft); border: 1px solid var(--rule); border-left: 3px solid var(--accent);
  border-radius: 4px; padding: 0.55rem 0.8rem; margin: 0.4rem 0 0.9rem;
  white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.38;
}
pre code { background: none; padding: 0; font-size: 1em; }
a { color: var(--info); text-decoration: none; }
a:hover { text-decoration: underline; }
h1, h2, h3, h4 { line-height: 1.25; color: var(--accent); break-after: avoid; page-break-after: avoid; }
h1 { font-size: 1.9rem; margin: 0 0 0.3rem; color: var(--ink); letter-spacing: -0.01em; }
h2 { font-size: 1.4rem; margin: 2.2rem 0 0.7rem; padding-bottom: 0.25rem; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.12rem; margin: 1.6rem 0 0.5rem; }
h4 { font-size: 0.98rem; margin: 1.1rem 0 0.4rem; color: var(--ink); }
h2 .num, h3 .num { color: var(--muted); font-weight: normal; margin-right: 0.35em; }
p { margin: 0.45rem 0 0.75rem; }
p.lead { font-size: 1.04em; }
p.note, p.small { color: var(--muted); font-size: 0.9em; }
ul, ol { margin: 0.3rem 0 0.8rem; padding-left: 1.4rem; }
li { margin: 0.15rem 0; }
dl { margin: 0.4rem 0 0.9rem; }
dt { font-weight: 600; margin-top: 0.45rem; break-after: avoid; page-break-after: avoid; }
dd { break-inside: avoid; }
dd { margin: 0.1rem 0 0 1.3rem; }

header.cover { border-bottom: 3px solid var(--accent); padding-bottom: 1rem; margin-bottom: 1.2rem; }
header.cover .kicker { text-transform: uppercase; letter-spacing: 0.12em; font-size: 0.78rem; color: var(--muted); }
header.cover .subtitle { font-size: 1.08rem; color: var(--muted); margin: 0.2rem 0 0.9rem; }
table.meta { border: none; margin: 0; font-size: 0.88rem; }
table.meta th { background: none; border: none; padding: 0.1rem 1rem 0.1rem 0; color: var(--muted);
  font-weight: 600; white-space: nowrap; vertical-align: top; }
table.meta td { border: none; padding: 0.1rem 0; overflow-wrap: anywhere; }

nav.toc { background: var(--soft); border: 1px solid var(--rule); border-radius: 6px; padding: 0.7rem 1.1rem; margin: 1rem 0 1.5rem; }
nav.toc h2 { margin: 0 0 0.3rem; border: none; font-size: 1rem; padding: 0; color: var(--ink); }
nav.toc ol { margin: 0; padding-left: 1.3rem; columns: 2; column-gap: 2rem; font-size: 0.92rem; }

table {
  border-collapse: collapse; width: 100%; margin: 0.4rem 0 1rem; font-size: 0.88rem;
  font-variant-numeric: tabular-nums;
}
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 0.3rem; color: var(--ink); }
th, td { border: 1px solid var(--rule); padding: 0.28rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.num, th.num { text-align: right; }
table.compact { font-size: 0.82rem; }
table.compact th, table.compact td { padding: 0.2rem 0.4rem; }
table.witness td, table.witness th { font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.8rem; }
table.witness th { font-family: inherit; }
table.witness td.changed { font-weight: 700; }
table.kv th { width: 12rem; }
table.front td:nth-child(-n+2), table.front th:nth-child(-n+2) { white-space: nowrap; width: 1%; }
tr.differs td { background: var(--mark); }
tr.differs td:first-child { box-shadow: inset 3px 0 0 var(--unknown); }
tr.fail td:first-child { box-shadow: inset 3px 0 0 var(--fail); }
tr.unknown td:first-child { box-shadow: inset 3px 0 0 var(--unknown); }
tr.sub td { color: var(--accent); background: #f3f6f9; padding-top: 0.4rem; }
tr.sub { break-after: avoid; page-break-after: avoid; }
tbody tr:nth-child(even):not(.differs) td { background: #fbfcfd; }

.badge {
  display: inline-block; padding: 0.02em 0.45em; border-radius: 0.7em; font-size: 0.82em; font-weight: 700;
  letter-spacing: 0.02em; white-space: nowrap; border: 1px solid transparent;
}
.badge.pass { color: var(--pass); background: var(--pass-bg); border-color: #aceebb; }
.badge.fail { color: var(--fail); background: var(--fail-bg); border-color: #ffcecb; }
.badge.unknown { color: var(--unknown); background: var(--unknown-bg); border-color: #f5e0a3; }
.badge.info { color: var(--info); background: var(--info-bg); border-color: #b6e3ff; }

.callout { border: 1px solid var(--rule); border-left-width: 5px; border-radius: 5px; padding: 0.6rem 1rem; margin: 0.6rem 0 1rem;
  break-inside: avoid; page-break-inside: avoid; }
.callout > :first-child { margin-top: 0; }
.callout > :last-child { margin-bottom: 0; }
.callout .title { font-weight: 700; margin-bottom: 0.3rem; }
.callout.pass { border-left-color: var(--pass); background: #f3fcf5; }
.callout.fail { border-left-color: var(--fail); background: #fff6f5; }
.callout.unknown { border-left-color: var(--unknown); background: #fffbea; }
.callout.info { border-left-color: var(--info); background: #f3f9ff; }
.keep { break-inside: avoid; page-break-inside: avoid; }
.keep.block { border: 1px solid var(--rule); border-radius: 6px; padding: 0.2rem 1rem 0.4rem; margin: 0.9rem 0 1.2rem;
  break-inside: auto; page-break-inside: auto; }
.keep.block > h4 { margin-top: 0.7rem; font-size: 1.05rem; }
.keep > h4 { font-weight: 600; }
.keep > h4 em { font-weight: normal; }
figure.chart { margin: 0.5rem 0 1rem; break-inside: avoid; page-break-inside: avoid; }
figure.chart figcaption { font-weight: 600; padding: 0 0 0.3rem; }
figure.chart svg { display: block; max-width: 40rem; height: auto; }
footer.doc { margin-top: 2.5rem; padding-top: 0.6rem; border-top: 1px solid var(--rule); color: var(--muted); font-size: 0.8rem; overflow-wrap: anywhere; }

@page {
  size: A4;
  margin: 16mm 15mm 18mm 15mm;
  @bottom-left { content: __FOOTER__; font-family: "DejaVu Sans", sans-serif; font-size: 7pt; color: #59636e; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-family: "DejaVu Sans", sans-serif; font-size: 7pt; color: #59636e; }
}
@media print {
  body { font-size: 9.6pt; line-height: 1.42; }
  .page { max-width: none; padding: 0; }
  a { color: inherit; }
  h2 { margin-top: 0.2rem; }
  /* Forced breaks only before the report's large parts (the contents after
     the front page, each appendix): a short section follows the previous one
     on the same page instead of leaving a half-empty page behind it. */
  section.new-page, nav.toc.after-front { break-before: page; page-break-before: always; }
  nav.toc { break-inside: avoid; }
  table.kv, table.verdicts, figure, .callout { break-inside: avoid; page-break-inside: avoid; }
  caption { break-after: avoid; page-break-after: avoid; }
  pre { white-space: pre-wrap; }
  table { font-size: 8.6pt; }
  table.compact, table.witness td { font-size: 8pt; }
  tbody tr:nth-child(even):not(.differs) td { background: none; }
}
"""


def css_string(text: str) -> str:
    """A CSS string literal: anything but plain characters is a hex escape (so no `</style>`)."""
    out = ['"']
    for ch in text:
        if ch.isalnum() and ch.isascii() or ch in " .,:;_-/()=+":
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    out.append('"')
    return "".join(out)


def _anchor(a: str) -> str:
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


_CHART_FILL = {"pass": "#2da44e", "fail": "#cf222e", "unknown": "#d4a72c", "info": "#0969da", "muted": "#afb8c1"}


def chart_svg(c: BarChart) -> str:
    """The chart as an inline SVG element. Every label is escaped; the
    geometry is computed here, so no spec text reaches an attribute unescaped."""
    label_w, bar_w, row_h, gap, count_w = 130, 400, 20, 6, 60
    width = label_w + bar_w + count_w
    legend_h = 22
    height = len(c.bars) * (row_h + gap) + legend_h + 4
    biggest = max([sum(n for _, n in b.segments) for b in c.bars] + [1])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{html.escape(plain(c.caption) if c.caption is not None else "chart")}" '
        'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="11">'
    ]
    for i, b in enumerate(c.bars):
        y = i * (row_h + gap)
        total = sum(n for _, n in b.segments)
        out.append(
            f'<text x="{label_w - 8}" y="{y + row_h * 0.7:.1f}" text-anchor="end" fill="#1f2328">'
            f"{html.escape(b.label)}</text>"
        )
        x = float(label_w)
        for kind, n in b.segments:
            if n <= 0:
                continue
            w = bar_w * n / biggest
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h}" '
                f'fill="{_CHART_FILL.get(kind, _CHART_FILL["muted"])}"/>'
            )
            if w >= 22:
                ink = "#1f2328" if kind in ("muted", "unknown") else "#ffffff"
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + row_h * 0.7:.1f}" text-anchor="middle" fill="{ink}">{n}</text>'
                )
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + row_h * 0.7:.1f}" fill="#59636e">{total}</text>')
    y = len(c.bars) * (row_h + gap) + 4
    x = 0.0
    for kind, name in c.legend:
        out.append(
            f'<rect x="{x:.1f}" y="{y}" width="11" height="11" fill="{_CHART_FILL.get(kind, _CHART_FILL["muted"])}"/>'
        )
        out.append(f'<text x="{x + 15:.1f}" y="{y + 9.5}" fill="#1f2328">{html.escape(name)}</text>')
        x += 15 + 6.2 * len(name) + 18
    out.append("</svg>")
    return "".join(out)


def chart_table(c: BarChart) -> Table:
    """The chart's numbers, for formats that cannot draw it (Markdown)."""
    header: list[Text] = [""] + [name for _, name in c.legend] + ["total"]
    rows = []
    for b in c.bars:
        counts = dict()
        for kind, n in b.segments:
            counts[kind] = counts.get(kind, 0) + n
        rows.append(
            Row([b.label] + [str(counts.get(kind, 0)) for kind, _ in c.legend] + [str(sum(n for _, n in b.segments))])
        )
    return Table(header, rows, c.caption, numeric=tuple(range(1, len(c.legend) + 2)))


class HtmlRenderer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.numbers = Numbers()

    # ---- inline --------------------------------------------------------

    def text(self, t: Text) -> str:
        parts = []
        for x in inlines(t):
            if isinstance(x, str):
                parts.extend(
                    f"<code>{html.escape(p.text)}</code>" if isinstance(p, Code) else html.escape(p)
                    for p in code_spans(x)
                )
            elif isinstance(x, Code):
                parts.append(f"<code>{html.escape(x.text)}</code>")
            elif isinstance(x, Strong):
                parts.append(f"<strong>{self.text(x.parts)}</strong>")
            elif isinstance(x, Em):
                parts.append(f"<em>{self.text(x.parts)}</em>")
            elif isinstance(x, Badge):
                parts.append(f'<span class="badge {_kind(x.kind)}">{html.escape(x.text)}</span>')
            elif isinstance(x, Ref):
                parts.append(f'<a href="#{_anchor(x.anchor)}">{self.text(x.parts)}</a>')
            else:
                raise TypeError(f"unknown inline {type(x).__name__}")
        return "".join(parts)

    # ---- blocks --------------------------------------------------------

    def block(self, b: Block, depth: int) -> None:
        o = self.out
        if isinstance(b, Section):
            self.section(b, depth + 1)
        elif isinstance(b, Para):
            cls = f' class="{_cls(b.cls)}"' if b.cls else ""
            o.append(f"<p{cls}>{self.text(b.text)}</p>")
        elif isinstance(b, Bullets):
            tag = "ol" if b.ordered else "ul"
            o.append(f"<{tag}>" + "".join(f"<li>{self.text(i)}</li>" for i in b.items) + f"</{tag}>")
        elif isinstance(b, Defs):
            o.append("<dl>" + "".join(f"<dt>{self.text(t)}</dt><dd>{self.text(d)}</dd>" for t, d in b.items) + "</dl>")
        elif isinstance(b, Table):
            self.table(b)
        elif isinstance(b, BarChart):
            o.append('<figure class="chart">')
            if b.caption is not None:
                o.append(f"<figcaption>{self.text(b.caption)}</figcaption>")
            o.append(chart_svg(b))
            o.append("</figure>")
        elif isinstance(b, CodeBlock):
            if b.title is not None:
                o.append(f'<p class="small">{self.text(b.title)}</p>')
            o.append(f"<pre><code>{html.escape(b.text)}</code></pre>")
        elif isinstance(b, Callout):
            o.append(f'<div class="callout {_kind(b.kind)}">')
            if b.title is not None:
                o.append(f'<div class="title">{self.text(b.title)}</div>')
            for x in b.blocks:
                self.block(x, depth)
            o.append("</div>")
        elif isinstance(b, Keep):
            aid = f' id="{_anchor(b.anchor)}"' if b.anchor else ""
            cls = "keep" + (f" {_cls(b.cls)}" if b.cls else "")
            o.append(f'<div class="{cls}"{aid}>')
            if b.title is not None:
                o.append(f"<h4>{self.text(b.title)}</h4>")
            for x in b.blocks:
                self.block(x, depth)
            o.append("</div>")
        else:
            raise TypeError(f"unknown block {type(b).__name__}")

    def table(self, t: Table) -> None:
        o = self.out
        cls = f' class="{_cls(t.cls)}"' if t.cls else ""
        aid = f' id="{_anchor(t.anchor)}"' if t.anchor else ""
        o.append(f"<table{cls}{aid}>")
        if t.caption is not None:
            o.append(f"<caption>{self.text(t.caption)}</caption>")
        if t.header:
            num = ' class="num"'
            o.append(
                "<thead><tr>"
                + "".join(f"<th{num if i in t.numeric else ''}>{self.text(h)}</th>" for i, h in enumerate(t.header))
                + "</tr></thead>"
            )
        o.append("<tbody>")
        ncol = max([len(t.header)] + [len(r.cells) for r in t.rows])
        for r in t.rows:
            rc = f' class="{_cls(r.mark)}"' if r.mark else ""
            if r.mark == "sub" and len(r.cells) == 1:  # a group heading across the table
                o.append(f'<tr{rc}><td colspan="{ncol}">{self.text(r.cells[0])}</td></tr>')
                continue
            cells = []
            for i, c in enumerate(r.cells):
                classes = []
                if i in t.numeric:
                    classes.append("num")
                if i < len(r.cell_marks) and r.cell_marks[i]:
                    classes.append(_cls(r.cell_marks[i]))
                ca = f' class="{" ".join(classes)}"' if classes else ""
                tag = "th" if (t.cls == "kv" and i == 0) else "td"
                cells.append(f"<{tag}{ca}>{self.text(c)}</{tag}>")
            o.append(f"<tr{rc}>" + "".join(cells) + "</tr>")
        o.append("</tbody></table>")

    def section(self, s: Section, level: int) -> None:
        o = self.out
        classes = ["new-page"] if s.new_page else []
        o.append(f'<section id="{_anchor(s.anchor)}"' + (f' class="{" ".join(classes)}"' if classes else "") + ">")
        h = min(level + 1, 4)
        num = ""
        if level <= 2:
            num = f'<span class="num">{html.escape(self.numbers.next(level, s.label))}</span>'
        o.append(f"<h{h}>{num}{self.text(s.title)}</h{h}>")
        for b in s.blocks:
            self.block(b, level)
        o.append("</section>")

    def doc(self, d: Doc) -> str:
        o = self.out
        footer = html.escape(d.footer)
        css = CSS.replace("__FOOTER__", css_string(d.footer))
        o.append("<!DOCTYPE html>")
        o.append(f'<html lang="{html.escape(d.lang)}"><head><meta charset="utf-8">')
        # No network, no scripts: even a text that escaped escaping could not run or fetch anything.
        o.append(
            '<meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        )
        o.append('<meta name="viewport" content="width=device-width, initial-scale=1">')
        o.append(f'<meta name="generator" content="{footer}">')
        o.append(f"<title>{html.escape(d.title)}</title>")
        o.append(f'<style>{css}</style></head><body><div class="page">')
        o.append('<header class="cover"><div class="kicker">vmcheck proof report</div>')
        o.append(f"<h1>{html.escape(d.title)}</h1>")
        o.append(f'<div class="subtitle">{self.text(d.subtitle)}</div>')
        o.append(
            '<table class="meta"><tbody>'
            + "".join(f"<tr><th>{html.escape(k)}</th><td>{self.text(v)}</td></tr>" for k, v in d.meta)
            + "</tbody></table>"
        )
        o.append("</header>")
        o.append("<main>")
        for s in d.sections[: d.front]:
            self.section(s, 1)
        toc = [s for s in d.sections if s.in_toc]
        if toc:
            cls = "toc after-front" if d.front else "toc"
            o.append(
                f'<nav class="{cls}"><h2>Contents</h2><ol>'
                + "".join(f'<li><a href="#{_anchor(s.anchor)}">{self.text(s.title)}</a></li>' for s in toc)
                + "</ol></nav>"
            )
        for s in d.sections[d.front :]:
            self.section(s, 1)
        o.append("</main>")
        o.append(f'<footer class="doc">{footer}</footer>')
        o.append("</div></body></html>")
        return "\n".join(o) + "\n"


def _kind(k: str) -> str:
    return k if k in ("pass", "fail", "unknown", "info") else "info"


def _cls(c: str) -> str:
    return " ".join(re.sub(r"[^A-Za-z0-9_-]", "", x) for x in c.split())


def render_html(d: Doc) -> str:
    return HtmlRenderer().doc(d)


# --------------------------------------------------------------------------
# Markdown (GitHub flavoured)
# --------------------------------------------------------------------------

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


class MarkdownRenderer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.numbers = Numbers()

    def text(self, t: Text, cell: bool = False) -> str:
        parts = []
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
                sign = _BADGE_SIGN[_kind(x.kind)]
                parts.append(sign if x.text in ("✓", "✗", "?") else f"{sign} **{md_escape(x.text, cell=cell)}**")
            elif isinstance(x, Ref):
                parts.append(f"[{self.text(x.parts, cell)}](#{_anchor(x.anchor).lower()})")
            else:
                raise TypeError(f"unknown inline {type(x).__name__}")
        return "".join(parts)

    def para(self, s: str) -> None:
        self.out.append(s)
        self.out.append("")

    def block(self, b: Block, depth: int, quote: str = "") -> None:
        if isinstance(b, Section):
            self.section(b, depth + 1)
        elif isinstance(b, Para):
            t = self.text(b.text)
            self.para(quote + (f"<sub>{t}</sub>" if b.cls == "small" else t))
        elif isinstance(b, Bullets):
            for i, item in enumerate(b.items, 1):
                self.out.append(quote + (f"{i}. " if b.ordered else "- ") + self.text(item))
            self.out.append(quote.rstrip())
        elif isinstance(b, Defs):
            for term, d in b.items:
                self.out.append(quote + f"- {_md_wrap('**', self.text(term))}: {self.text(d)}")
            self.out.append(quote.rstrip())
        elif isinstance(b, Table):
            self.table(b, quote)
        elif isinstance(b, BarChart):
            self.table(chart_table(b), quote)
        elif isinstance(b, CodeBlock):
            if b.title is not None:
                self.para(quote + self.text(b.title))
            ticks = max((len(m) for m in re.findall(r"`{3,}", b.text)), default=2) + 1
            self.out.append(quote + "`" * ticks)
            self.out.extend(quote + line for line in b.text.rstrip("\n").split("\n"))
            self.out.append(quote + "`" * ticks)
            self.out.append(quote.rstrip())
        elif isinstance(b, Callout):
            q = quote + "> "
            if b.title is not None:
                self.out.append(q + f"**{self.text(b.title)}**")
                self.out.append(q.rstrip())
            for x in b.blocks:
                self.block(x, depth, q)
            while self.out and self.out[-1].strip() in ("", ">"):
                self.out.pop()
            self.out.append("")
        elif isinstance(b, Keep):
            if b.anchor:
                self.out.append(f'<a id="{_anchor(b.anchor).lower()}"></a>')
                self.out.append("")
            if b.title is not None:
                self.para(quote + f"#### {self.text(b.title)}")
            for x in b.blocks:
                self.block(x, depth, quote)
        else:
            raise TypeError(f"unknown block {type(b).__name__}")

    def table(self, t: Table, quote: str = "") -> None:
        if t.anchor:
            self.out.append(f'<a id="{_anchor(t.anchor).lower()}"></a>')
            self.out.append("")
        if t.caption is not None:
            self.para(quote + f"*{self.text(t.caption)}*")
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
        self.out.append(f'<a id="{_anchor(s.anchor).lower()}"></a>')
        self.out.append("")
        self.para("#" * min(level + 1, 4) + " " + num + self.text(s.title))
        for b in s.blocks:
            self.block(b, level)

    def doc(self, d: Doc) -> str:
        self.para(f"# {md_escape(d.title)}")
        self.para(f"*{self.text(d.subtitle)}*")
        self.out.append("| | |")
        self.out.append("|---|---|")
        for k, v in d.meta:
            self.out.append(f"| **{md_escape(k, cell=True)}** | {self.text(v, True)} |")
        self.out.append("")
        for s in d.sections[: d.front]:
            self.section(s, 1)
        toc = [s for s in d.sections if s.in_toc]
        if toc:
            self.para("**Contents**")
            for s in toc:
                self.out.append(f"- [{self.text(s.title)}](#{_anchor(s.anchor).lower()})")
            self.out.append("")
        for s in d.sections[d.front :]:
            self.section(s, 1)
        self.out.append("---")
        self.out.append("")
        self.out.append(f"<sub>{md_escape(d.footer)}</sub>")
        text = "\n".join(self.out)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.rstrip("\n") + "\n"


def render_markdown(d: Doc) -> str:
    return MarkdownRenderer().doc(d)


__all__ = [
    "Code",
    "Strong",
    "Em",
    "Badge",
    "Ref",
    "Text",
    "plain",
    "Para",
    "Bullets",
    "Defs",
    "Row",
    "Table",
    "CodeBlock",
    "Callout",
    "Keep",
    "Bar",
    "BarChart",
    "Section",
    "Doc",
    "render_html",
    "render_markdown",
    "md_escape",
    "css_string",
    "code_spans",
]
