"""The proof report as one self-contained HTML file, printable on A4.

The style sheet is package data (`style.css`, read with importlib.resources)
and is inlined; the class chart is inline SVG. Nothing is fetched and nothing
runs: the page carries a Content-Security-Policy that forbids scripts and
every outside resource. All text is escaped with `html.escape`; the footer
reaches the style sheet (the `__FOOTER__` placeholder of its `@page` rule)
only as a CSS string of hex escapes.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib.resources import files

from .document import (
    Badge,
    BarChart,
    Block,
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
    code_spans,
    inlines,
    plain,
)
from .render import Renderer


@cache
def stylesheet() -> str:
    """The report's CSS (`style.css`, shipped as package data)."""
    return files("vmcheck.report").joinpath("style.css").read_text(encoding="utf-8")


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


class HtmlRenderer(Renderer):
    """The document as HTML elements (blocks nest as elements: `quote` is unused)."""

    # ---- inline --------------------------------------------------------

    def text(self, t: Text) -> str:
        parts: list[str] = []
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
                parts.append(f'<span class="badge {badge_kind(x.kind)}">{html.escape(x.text)}</span>')
            elif isinstance(x, Ref):
                parts.append(f'<a href="#{anchor_id(x.anchor)}">{self.text(x.parts)}</a>')
            else:
                raise TypeError(f"unknown inline {type(x).__name__}")
        return "".join(parts)

    # ---- blocks --------------------------------------------------------

    def para(self, b: Para, quote: str) -> None:
        cls = f' class="{_cls(b.cls)}"' if b.cls else ""
        self.out.append(f"<p{cls}>{self.text(b.text)}</p>")

    def bullets(self, b: Bullets, quote: str) -> None:
        tag = "ol" if b.ordered else "ul"
        self.out.append(f"<{tag}>" + "".join(f"<li>{self.text(i)}</li>" for i in b.items) + f"</{tag}>")

    def defs(self, b: Defs, quote: str) -> None:
        self.out.append(
            "<dl>" + "".join(f"<dt>{self.text(t)}</dt><dd>{self.text(d)}</dd>" for t, d in b.items) + "</dl>"
        )

    def chart(self, b: BarChart, quote: str) -> None:
        o = self.out
        o.append('<figure class="chart">')
        if b.caption is not None:
            o.append(f"<figcaption>{self.text(b.caption)}</figcaption>")
        o.append(chart_svg(b))
        o.append("</figure>")

    def code_block(self, b: CodeBlock, quote: str) -> None:
        if b.title is not None:
            self.out.append(f'<p class="small">{self.text(b.title)}</p>')
        self.out.append(f"<pre><code>{html.escape(b.text)}</code></pre>")

    def callout(self, b: Callout, depth: int, quote: str) -> None:
        title = None if b.title is None else f'<div class="title">{self.text(b.title)}</div>'
        self._div(f'<div class="callout {badge_kind(b.kind)}">', title, b.blocks, depth)

    def keep(self, b: Keep, depth: int, quote: str) -> None:
        aid = f' id="{anchor_id(b.anchor)}"' if b.anchor else ""
        cls = "keep" + (f" {_cls(b.cls)}" if b.cls else "")
        title = None if b.title is None else f"<h4>{self.text(b.title)}</h4>"
        self._div(f'<div class="{cls}"{aid}>', title, b.blocks, depth)

    def _div(self, start: str, title: str | None, blocks: list[Block], depth: int) -> None:
        """A box of blocks: the `<div ...>` start tag, its title line (if any), the blocks, the end tag."""
        self.out.append(start)
        if title is not None:
            self.out.append(title)
        for x in blocks:
            self.block(x, depth)
        self.out.append("</div>")

    def table(self, t: Table, quote: str = "") -> None:
        o = self.out
        cls = f' class="{_cls(t.cls)}"' if t.cls else ""
        aid = f' id="{anchor_id(t.anchor)}"' if t.anchor else ""
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
        o.append(f'<section id="{anchor_id(s.anchor)}"' + (f' class="{" ".join(classes)}"' if classes else "") + ">")
        h = min(level + 1, 4)
        num = ""
        if level <= 2:
            num = f'<span class="num">{html.escape(self.numbers.next(level, s.label))}</span>'
        o.append(f"<h{h}>{num}{self.text(s.title)}</h{h}>")
        for b in s.blocks:
            self.block(b, level)
        o.append("</section>")

    def contents(self, toc: list[Section], *, after_front: bool) -> None:
        cls = "toc after-front" if after_front else "toc"
        self.out.append(
            f'<nav class="{cls}"><h2>Contents</h2><ol>'
            + "".join(f'<li><a href="#{anchor_id(s.anchor)}">{self.text(s.title)}</a></li>' for s in toc)
            + "</ol></nav>"
        )

    def doc(self, d: Doc) -> str:
        o = self.out
        footer = html.escape(d.footer)
        css = stylesheet().replace("__FOOTER__", css_string(d.footer))
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
        o.append(f'<style>\n{css}</style></head><body><div class="page">')
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
        self.sections(d)
        o.append("</main>")
        o.append(f'<footer class="doc">{footer}</footer>')
        o.append("</div></body></html>")
        return "\n".join(o) + "\n"


def _cls(c: str) -> str:
    return " ".join(re.sub(r"[^A-Za-z0-9_-]", "", x) for x in c.split())


def render_html(d: Doc) -> str:
    """The document as one self-contained HTML page."""
    return HtmlRenderer().doc(d)


__all__ = ["render_html", "css_string", "stylesheet", "chart_svg"]
