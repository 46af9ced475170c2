"""`vmcheck docs`: the shipped documentation, found in a checkout as in an install."""

from __future__ import annotations

from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.library import docs_dir


def test_docs_lists_the_pages_and_prints_one():
    pages = sorted(p.stem for p in docs_dir().glob("*.md"))
    assert pages
    r = CliRunner().invoke(main, ["docs"])
    assert r.exit_code == 0 and str(docs_dir()) in r.output
    for page in pages:
        assert f"  {page} " in r.output
    page = pages[0]
    r = CliRunner().invoke(main, ["docs", page])
    assert r.exit_code == 0 and r.output == (docs_dir() / f"{page}.md").read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["docs", f"docs/{page}.md", "--path"])
    assert r.output.strip() == str(docs_dir() / f"{page}.md")


def test_an_unknown_page_is_exit_2():
    r = CliRunner().invoke(main, ["docs", "nonesuch"])
    assert r.exit_code == 2 and "no documentation page" in r.output
