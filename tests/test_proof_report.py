"""`vmcheck report`: the printed proof report, in Markdown and in self-contained HTML.

The fast tests render small specs through the CLI; the slow one renders the
largest bundled spec and prints it to PDF in headless Chromium (Debian's
`chromium` package), then reads the PDF back with `pdftotext` (poppler-utils).
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck import __version__
from vmcheck.cli import main
from vmcheck.report.document import Code, Doc, Para, Row, Section, Table
from vmcheck.report.html import render_html
from vmcheck.report.markdown import md_escape, render_markdown
from vmcheck.spec.library import bundled, find_bundled

BROKEN = find_bundled("pg-toy-broken")


def report(args: list[str], code: int = 0) -> CliRunner:
    r = CliRunner().invoke(main, ["report", *args])
    assert r.exit_code == code, r.output[-3000:]
    return r


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The Markdown and HTML reports of pg-toy-broken (Theorem 1 fails on `getm`)."""
    d = tmp_path_factory.mktemp("broken")
    report(["pg-toy-broken", "-o", str(d / "r.md")])
    report(["pg-toy-broken", "-o", str(d / "r.html")])
    return (d / "r.md").read_text(encoding="utf-8"), (d / "r.html").read_text(encoding="utf-8")


def test_markdown_report_has_the_verdict_and_the_violation_with_its_witness(broken):
    md, _ = broken
    assert "fails Theorem 1 in every guest context" in md
    assert "| Theorem 1 (VMM) | ❌ **fails** |" in md
    assert "| Theorem 3 (hybrid VMM) | ✅ **holds** in `classic` |" in md
    # the argument, instruction by instruction: proofs by unsat queries and the refutation
    # li is decided by the dependency pre-pass (no solver): its proof is that argument
    assert re.search(
        r"\| `li` \(line \d+\) \| no \| not always \| \*\*proved\*\* — not sensitive: proved by "
        r"dependency, without a solver",
        md,
    )
    assert re.search(
        r"\| `getm` \(line \d+\) \| yes \(mode\) \| not always \| \*\*refuted\*\* by a witness of `ms`", md
    )
    assert re.search(r"\| `lpsw` \(line \d+\) \| yes \(control, location\) \| always \| \*\*proved\*\*", md)
    # the witness: before/after columns of both states, the differing row marked, the changed value bold
    assert "#### ❌ `getm`" in md
    assert "| element | `s` before (user) | `s` after | `s'` before (supervisor) | `s'` after |" in md
    assert re.search(r"\| ≠ `r\[0\]` \| 0x\w+ \| \*\*0x1\*\* \| 0x\w+ \| \*\*0x0\*\* \|", md)
    assert "**What differs:** r\\[0\\]: 0x1 at s, 0x0 at s'" in md
    assert "r[rd] = zext(m, 32)" in md  # the semantics, from the spec


def test_reports_name_the_spec_hash_and_the_vmcheck_version(broken):
    sha = hashlib.sha256(BROKEN.read_bytes()).hexdigest()
    for text in broken:
        assert sha in text
        assert f"vmcheck {__version__}" in text
        assert "isa_specs/pg-toy-broken/pg-toy-broken.yaml" in text


def test_html_report_is_self_contained_and_made_for_a4(broken):
    _, h = broken
    assert h.startswith("<!DOCTYPE html>")
    assert "<script" not in h.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*(?!["']#)""", h), "a link or resource outside the document"
    assert "@import" not in h and "url(" not in h
    assert "Content-Security-Policy" in h and "default-src 'none'" in h
    assert "@page" in h and "size: A4" in h
    assert "break-inside: avoid" in h and "break-before: page" in h
    assert "<h4>" in h and "getm" in h
    assert 'id="w-classic-getm"' in h and 'href="#w-classic-getm"' in h
    assert '<tr class="differs">' in h and '<td class="changed">0x1</td>' in h


def test_the_report_says_where_theorem_1_and_the_exact_condition_part(tmp_path):
    out = tmp_path / "seg.md"
    report(["pg-toy-segments", "-o", str(out), "--confirm", "--fuzz", "5"])
    md = out.read_text(encoding="utf-8")
    assert "Theorem 1 ❌ **fails**; exact condition ✅ **holds**" in md
    part = md.split("Violate Theorem 1, yet safe", 1)[1]
    assert "| `ld` | **location sensitive**" in part
    assert "`unsafe_ctrl` unsat; `unsafe_pair` unsat" in part
    assert "memory-trapping instance(s) emulated" in part
    # the empirical summary: programs and the three VMM properties
    assert "| equivalence | 0 diverging instruction(s)" in md
    assert "| resource control | 0 breach(es)" in md
    assert re.search(r"\| efficiency \| \d+ of \d+ guest instructions ran directly", md)
    assert "| `kernel_segment.s` |" in md


def test_contradicted_labels_are_reported_with_their_evidence(tmp_path):
    text = BROKEN.read_text(encoding="utf-8")
    old = "    description: read the mode bit into a register (unguarded)\n"
    assert old in text
    spec = tmp_path / "labelled.yaml"
    spec.write_text(text.replace(old, old + "    labels: [privileged, innocuous]\n"), encoding="utf-8")
    out = tmp_path / "r.md"
    report([str(spec), "-o", str(out)])
    md = out.read_text(encoding="utf-8")
    table = md.split("*Contradicted labels*", 1)[1]
    assert re.search(
        r"\| `getm` \(line \d+\) \| `privileged` \| `classic` \| privileged: no \| witness of `runs_G`", table
    )
    assert re.search(
        r"\| `getm` \(line \d+\) \| `innocuous` \| `classic` \| sensitive: yes \| witness of `(pg_)?ms`", table
    )
    assert "**2 declared label(s)** are contradicted" in md


def test_confirm_shows_each_violation_replayed_under_the_vmm(tmp_path):
    out = tmp_path / "r.md"
    report(["pg-toy-broken", "-o", str(out), "--confirm", "--fuzz", "5"])
    md = out.read_text(encoding="utf-8")
    block = md.split("#### ❌ `getm`", 1)[1].split("\n## ", 1)[0]
    assert "**Under the reference classic VMM**" in block
    assert re.search(r"Witness replay \(`rd = 0x\w+`\): the VMM ran it directly; \*\*diverged\*\*", block)
    assert "Program `getm.s`: step 0 at pc" in block
    assert "What the classic VMM did agrees with the engine's verdict" in md


def test_theorem_option_argues_other_theorems(tmp_path):
    out = tmp_path / "r.md"
    report(["pg-toy-broken", "-o", str(out), "--theorem", "3", "--theorem", "exact"])
    md = out.read_text(encoding="utf-8")
    assert "Theorem 3 (hybrid VMM), instruction by instruction" in md
    assert "exact trap-and-emulate condition, instruction by instruction" in md
    assert "Theorem 1 (VMM), instruction by instruction" not in md


def test_brief_report_and_stdout(tmp_path):
    r = report(["pg-toy-broken", "-o", "-", "--brief"])
    assert r.stdout.startswith("# pg-toy-broken: virtualizability proof report")
    assert "getm" in r.stdout and "instruction by instruction" not in r.stdout
    assert "Appendix" not in r.stdout


def test_bad_output_name_is_a_usage_error(tmp_path):
    r = report(["pg-toy", "-o", str(tmp_path / "r.pdf")], code=2)
    assert "cannot tell the report format" in r.output
    r = report(["no-such-spec", "-o", str(tmp_path / "r.md")], code=2)
    assert "no spec file or bundled spec named 'no-such-spec'" in r.output


def test_same_spec_same_report(tmp_path):
    report(["pg-toy-broken", "-o", str(tmp_path / "a.html")])
    report(["pg-toy-broken", "-o", str(tmp_path / "b.html")])
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


# --------------------------------------------------------------------------
# Layout: a front page that stands alone, detail in the appendices (issue 14.9)
# --------------------------------------------------------------------------


def _outside_code(h: str) -> str:
    """The HTML body with code and preformatted blocks removed."""
    body = h.split("<body>", 1)[1]
    return re.sub(r"<(pre|code)\b.*?</\1>", "", body, flags=re.S)


def test_html_shows_backquoted_text_as_code_never_as_raw_backquotes(broken, hostile):
    for h in (broken[1], hostile[0]):
        assert "`" not in _outside_code(h)
    # the query table's texts name other queries in backquotes: rendered as code
    assert "<code>ms</code>" in broken[1] or "<code>ls</code>" in broken[1]
    assert "<code>x</code>" in hostile[0]  # a description's `x`


def test_code_spans_split_only_paired_backquotes():
    assert (
        render_html(Doc("t", "", [], [Section("s", "s", [Para("a `b<c` d ` e")])], "f")).count(
            "a <code>b&lt;c</code> d ` e"
        )
        == 1
    )


def test_front_page_has_verdict_chart_and_violations_before_the_contents(broken):
    md, h = broken
    front, rest = h.split('<nav class="toc after-front">', 1)
    assert "Verdict per theorem and guest context" in front
    assert "<svg" in front and "<rect" in front and "violates Theorem 1" in front
    assert "Violating instructions" in front and "getm" in front
    assert "instruction by instruction" not in front.split("<main>", 1)[1]
    # per-instruction detail is in appendix A, the semantics in appendix B
    rest = rest.split("</nav>", 1)[1]
    assert (
        rest.index("Appendix A")
        < rest.index("Theorem 1 (VMM), instruction by instruction")
        < rest.index('id="w-classic-getm"')
        < rest.index("Appendix B")
    )
    assert '<span class="num">A.1</span>' in rest and '<span class="num">B</span>' in rest
    # the violations, one row per context and theorem; a repeated list is not repeated
    assert re.search(r"\| `classic` \| Theorem 2 \| those of Theorem 1 \| — \|", md)
    # a violating instruction's semantics are printed once, with its witness; appendix B points there
    assert h.count("r[rd] = zext(m, 32)") == 1
    assert "Semantics: shown with its witness" in h.split("Appendix B", 1)[1]
    # the header is short enough to share the front page with the summary
    assert h.split('<table class="meta">', 1)[1].split("</table>", 1)[0].count("<tr>") == 4
    # the Markdown has the chart as a table of counts, on the front page too
    head = md.split("**Contents**", 1)[0]
    assert re.search(r"\| classic \| 1 \| 0 \| \d+ \| \d+ \| 14 \|", head)  # 1 violating of 14


def test_the_only_forced_page_break_ends_the_front_page(broken):
    _, h = broken
    assert 'class="new-page"' not in h  # no section starts a page of its own: no half-empty page before it
    assert h.count('class="toc after-front"') == 1
    style = h.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "table.kv, table.verdicts, figure, .callout { break-inside: avoid" in style


# --------------------------------------------------------------------------
# Escaping: spec text is data, never markup
# --------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """pg-toy-broken with markup in an instruction's description and a
    context's description (names cannot carry markup: the loader allows
    letters, digits and a few signs only, tested below)."""
    text = BROKEN.read_text(encoding="utf-8")
    for old, new in [
        ("description: read the mode bit into a register (unguarded)", f'description: "{SCRIPT} | `x` *y*"'),
        (
            "description: the guest's supervisor and user modes both run in real user mode",
            'description: "<img src=x onerror=alert(2)> ]]> </style>"',
        ),
    ]:
        assert old in text
        text = text.replace(old, new)
    d = tmp_path_factory.mktemp("hostile")
    spec = d / "hostile.yaml"
    spec.write_text(text, encoding="utf-8")
    report([str(spec), "-o", str(d / "r.html")])
    report([str(spec), "-o", str(d / "r.md")])
    return (d / "r.html").read_text(encoding="utf-8"), (d / "r.md").read_text(encoding="utf-8")


def test_html_escapes_user_text(hostile):
    h, _ = hostile
    assert SCRIPT not in h and "<script" not in h.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    assert "<img" not in h and "&lt;img src=x onerror=alert(2)&gt;" in h
    style = h.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "<" not in style  # the footer in the print CSS is an escaped CSS string
    assert h.count("</style>") == 1


def test_a_name_with_markup_is_refused_at_load(tmp_path):
    spec = tmp_path / "named.yaml"
    spec.write_text(
        BROKEN.read_text(encoding="utf-8").replace("isa: pg-toy-broken", 'isa: "pg-toy-<b>broken</b>"'),
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, ["report", str(spec), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and f"{spec}:" in r.output and "the isa name must be" in r.output


def test_markdown_escapes_user_text(hostile):
    _, md = hostile
    # code spans are literal in Markdown (their text is shown, never interpreted): look outside them
    prose = re.sub(r"(`+).*?\1", "", md)
    assert "<script" not in prose and "<img" not in prose and "<b>" not in prose
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "`x` \\*y\\*" in md  # a backquoted span is code; other markup characters are shown, not interpreted
    assert "\\| " in md  # a pipe cannot end a table cell early


def test_renderers_escape_every_inline_and_block():
    evil = "<i>&amp;</i>"
    d = Doc(
        evil,
        [evil, Code(evil)],
        [("k" + evil, Code(evil))],
        [Section(evil, evil, [Para(evil), Table([evil], [Row([Code(evil + "|")])], caption=evil)])],
        evil,
    )
    h = render_html(d)
    assert "<i>" not in h and html.escape(evil) in h
    md = render_markdown(d)
    assert "<i>" not in md.replace("`<i>&amp;</i>`", "").replace("`<i>&amp;</i>\\|`", "")
    assert md_escape("1. a | b") == "1\\. a \\| b"


def test_the_pipeline_loads_a_spec_once_as_the_loader_does(tmp_path):
    from vmcheck.errors import SpecError
    from vmcheck.pipeline import load
    from vmcheck.spec.load import load_spec

    loaded = load("pg-toy")
    assert loaded.isa == load_spec("pg-toy") and loaded.path == find_bundled("pg-toy")
    assert loaded.nodes.kind == "mapping" and "instructions" in loaded.nodes.value
    wrong = tmp_path / "spec.txt"
    wrong.write_text("name: x\n", encoding="utf-8")
    with pytest.raises(SpecError) as ours:
        load(str(wrong))
    with pytest.raises(SpecError) as theirs:
        load_spec(str(wrong))
    assert str(ours.value) == str(theirs.value) and "a spec file ends in .yaml" in str(ours.value)


def test_the_style_sheet_ships_as_package_data_and_is_inlined():
    from importlib.resources import files

    from vmcheck.report.html import stylesheet

    css = files("vmcheck.report").joinpath("style.css").read_text(encoding="utf-8")
    assert css == stylesheet() and "__FOOTER__" in css and "@page" in css
    page = render_html(Doc("t", "", [], [], "the footer"))
    assert css.split("__FOOTER__")[0] in page and "</style>" in page and "__FOOTER__" not in page


def test_the_report_reads_results_and_never_runs_the_engine_or_the_vmm():
    """report/ renders: loading, deciding and confirming are vmcheck.pipeline's.
    Its modules import result types and vocabulary, never the spec loader, the
    VMM, the pipeline or the CLI (the one engine name it uses is `derived`)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "vmcheck"
    banned = ("hypervisor", "pipeline", "cli", "spec.load", "spec.build", "machine", "semantics")
    allowed = {("hypervisor.campaign", "Confirmation"), ("analysis.engine", "derived")}  # result types, a pure function
    for f in sorted((root / "report").rglob("*.py")):
        package = f.parent.relative_to(root.parent).parts
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package[: len(package) - node.level + 1]
            module = ".".join(base[1:] + ((node.module,) if node.module else ()))  # without "vmcheck."
            for alias in node.names:
                if (module, alias.name) in allowed:
                    continue
                assert not module.startswith(banned) and module != "analysis.engine", (
                    f"{f.relative_to(root)} imports {alias.name} from {module}"
                )


# --------------------------------------------------------------------------
# Printing: the largest bundled spec, through headless Chromium
# --------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def largest_spec() -> str:
    specs = bundled()
    return "x86-32" if "x86-32" in specs else max(specs, key=lambda n: specs[n].stat().st_size)


@pytest.mark.slow
def test_html_report_prints_to_a4_pdf_in_headless_chromium(tmp_path):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    from vmcheck.pipeline import decide, load, proof_input
    from vmcheck.report.proof import render

    name = largest_spec()
    # What `vmcheck report NAME -o r.html` does, with the engine run once for the whole test.
    loaded = load(name)
    decided = decide(loaded.isa)
    violating = sorted({i for c in decided.contexts for t in c.theorems.values() for i in t.violations})
    assert violating and decided.verdicts["1"].holds is False, "the largest spec is expected to fail Theorem 1"
    page = tmp_path / "r.html"
    page.write_text(render(proof_input(name, loaded=loaded, report=decided), "html"), encoding="utf-8")

    pdf = tmp_path / "out.pdf"
    profile = tmp_path / "profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert pdf.is_file() and pdf.stat().st_size > 10_000, proc.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        assert "A4" in info or re.search(r"Page size:\s+59[45](\.\d+)? x 84[12]", info), info
    assert pages > 1
    if not shutil.which("pdftotext"):
        pytest.skip(
            "pdftotext is not installed (Debian: apt-get install poppler-utils): "
            f"the PDF has {pages} pages, its text was not checked"
        )
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=120).stdout
    flat = re.sub(r"\s+", "", text)  # a long name may wrap in a narrow table cell
    for insn in violating:
        assert insn in flat, f"{insn} is missing from the PDF's text"
    assert re.search(r"fails\s+Theorem\s+1\s+in\s+every\s+guest\s+context", text)
    assert "SHA-256" in text and hashlib.sha256(find_bundled(name).read_bytes()).hexdigest() in flat
    assert f"vmcheck {__version__}" in text
    # the summary is the first page, whole: the contents start page 2
    first = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, timeout=60
    ).stdout
    second = subprocess.run(
        ["pdftotext", "-layout", "-f", "2", "-l", "2", str(pdf), "-"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "Verdict per theorem and guest context" in first and "Violating instructions" in first
    assert "Instructions per guest context" in first
    assert second.lstrip().startswith("Contents")
