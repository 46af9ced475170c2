"""The printed proof report: `vmcheck report SPEC -o FILE.html|FILE.md`.

A document a reviewer can print and check by hand. It says what vmcheck
decided about one ISA and why: the ISA at a glance, the model and the
theorems it applies (Popek & Goldberg 1974, and the exact trap-and-emulate
condition of docs/model.md §2.6), the verdict per theorem and guest context, and
the argument instruction by instruction: each proof obligation and how it
was discharged (the unsat queries of a proof, or a witness shown as
before/after tables with the differing elements marked), the declared labels
the semantics contradict, where Theorem 1 and the exact condition part and
what that costs, with `--confirm`, what the reference hypervisor observed
when the witnesses and programs were run under it, and, with `--remedies`,
the remedies of a failing theorem (configuration, repair, binary
translation, paravirtualisation), each with its check.

The first page is a summary that stands alone (the verdict per theorem and
context, a chart of the classes per context, the violating instructions);
the body explains the ISA, the model and each context; the per-instruction
detail (every obligation, every witness, every instruction's semantics) is
in the appendices, so a reader who wants the answer stops after page one.

The parts: `proof_input.ProofInput` is what a report is built from
(`vmcheck.pipeline` builds it); `sections/` builds each section,
`evidence.py` and `witness.py` turn results into proof text and tables;
this module assembles the header and the sections into a `document.Doc`,
which `html.py` or `markdown.py` renders, escaping every piece of spec text.
The header names the spec file's SHA-256 and the vmcheck version, so a
report names exactly what it proves. The report carries no date and no
timings (one exception: the binary translation's wall-clock time, measured
with `--confirm --remedies`): the same spec gives the same report.
"""

from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..theory import THEOREM_TITLES
from .document import Code, Doc, Section, Text, join
from .html import render_html
from .markdown import render_markdown
from .proof_input import ProofInput
from .sections.argument import argument_appendix
from .sections.confirmation import confirmation_section
from .sections.context import context_section
from .sections.isa import isa_section
from .sections.labels import labels_section
from .sections.model import model_section
from .sections.remedies import remedies_section
from .sections.semantics import appendix_section
from .sections.verdict import verdict_section
from .vocabulary import holds_badge

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def build_document(inp: ProofInput) -> Doc:
    """The whole report: the header, then the sections (a --brief report has
    the verdict, the contexts with their violations and the labels only)."""
    rep = inp.report
    t1 = rep.verdicts["1"]
    subtitle: list = [
        "Can ",
        Code(rep.isa),
        " be virtualized by trap-and-emulate? Theorem 1 ",
        holds_badge(t1.holds),
    ]
    if t1.context:
        subtitle += [" (guest context ", Code(t1.context), ")"]
    subtitle += [". A per-instruction argument after Popek & Goldberg (1974)."]
    # Four rows: the header shares the front page with the whole summary.
    meta: list[tuple[str, Text]] = [
        ("Spec file", Code(inp.spec_path)),
        ("Spec SHA-256", Code(inp.sha256)),
        (
            "Checked by",
            [
                Code(f"vmcheck {__version__}"),
                ", ",
                Code(inp.solver),
                f", budget {inp.budget:,} resource units per query",
            ],
        ),
        (
            "Argued",
            join([THEOREM_TITLES[t] for t in inp.theorems], ", ") + ["; confirmation: ", _confirm_meta(inp)],
        ),
    ]
    sections: list[Section] = [verdict_section(inp)]
    if not inp.brief:
        sections += [isa_section(inp), model_section(inp)]
    for c in rep.contexts:
        sections.append(context_section(inp, c))
    sections.append(labels_section(inp))
    if not inp.brief:
        sections.append(confirmation_section(inp))
        remedies = remedies_section(inp)  # absent when every argued theorem holds
        if remedies is not None:
            sections.append(remedies)
        sections.append(argument_appendix(inp))
        sections.append(appendix_section(inp))
    footer = f"{rep.isa} · spec SHA-256 {inp.sha256} · vmcheck {__version__}"
    return Doc(
        f"{rep.isa}: virtualizability proof report", subtitle, meta, sections, footer, front=0 if inp.brief else 1
    )


def render(inp: ProofInput, fmt: str) -> str:
    """The report as "html" or "md" text."""
    d = build_document(inp)
    if fmt == "html":
        return render_html(d)
    if fmt == "md":
        return render_markdown(d)
    raise ValueError(f"unknown report format {fmt!r}")


def format_of(path: str) -> str | None:
    """The report format a file name's suffix implies, or None."""
    return FORMATS.get(Path(path).suffix.lower())


def _confirm_meta(inp: ProofInput) -> Text:
    """The header's line on the empirical confirmation: what was run, or that it was not."""
    if not inp.confirmations:
        return "not run (add --confirm)"
    o = inp.confirm_options
    return (
        f"{o.get('vmm', 'classic')} VMM; {o.get('programs', 0)} sample program(s), "
        f"every witness replayed, {o.get('fuzz', 0)} random programs (seed {o.get('seed', 0)})"
    )


__all__ = ["FORMATS", "build_document", "render", "format_of"]
