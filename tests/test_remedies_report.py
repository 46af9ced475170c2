"""The proof report's "Remedies" section (issue 18): `vmcheck report --remedies`.

Per failing guest context and argued theorem, the minimal configuration
(`configure`), the repair (`repair`) with the engine's verdict on the repaired
spec, the binary translation's cost (with --confirm) and the sample programs'
paravirtualisation sites; absent when every theorem holds. The remedies are
computed by `vmcheck.pipeline`, rendered by `report/sections/remedies.py`.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from vmcheck.cli import main


def report(args: list[str]) -> str:
    r = CliRunner().invoke(main, ["report", *args, "-q"])
    assert r.exit_code == 0, r.output
    return r.output


def remedies_of(md: str) -> str:
    """The Markdown of the Remedies section ("" when there is none)."""
    m = re.search(r"^## \d+ Remedies\n(.*?)(?=^## )", md, flags=re.S | re.M)
    return m.group(1) if m else ""


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    d = tmp_path_factory.mktemp("broken")
    report(["pg-toy-broken", "-o", str(d / "r.md"), "--remedies", "--confirm", "--fuzz", "5"])
    report(["pg-toy-broken", "-o", str(d / "r.html"), "--remedies"])
    return (d / "r.md").read_text(encoding="utf-8"), (d / "r.html").read_text(encoding="utf-8")


def test_a_failing_spec_gets_its_repair_with_the_guard_and_a_configuration_answer(broken):
    md, _ = broken
    sec = remedies_of(md)
    assert sec, "pg-toy-broken fails Theorem 1: its report has a Remedies section"
    assert "Guest context `classic`" in sec and "Theorem 1 (VMM) fails in `classic`: `getm`" in sec
    # 1. configuration: pg-toy-broken pins no control state getm depends on
    assert "1\\. Configuration" in sec and "none exists" in sec
    assert "| `getm` | mode sensitive" in sec
    # 2. repair: getm, its guard, and the repaired spec decided whole
    assert "| `getm` | every instance | `require mode == supervisor else PRIV` |" in sec
    assert "the repaired spec passes" in sec and "guarding 1 entry makes Theorem 1 hold in classic" in sec
    # 4. paravirtualisation: the sample program's site and its hypercall
    assert re.search(r"\| `getm\.s` \| 1 \| line \d+: `getm r1` → `svc 0x[0-9a-f]+` \|", sec)


def test_with_confirm_the_translating_vmm_removes_the_divergence(broken):
    sec = remedies_of(broken[0])
    assert "3\\. Binary translation: the 2 sample program(s)" in sec
    assert "| instances translated (replaced by a call into the VMM) | 1 |" in sec
    assert "| divergences (expected 0) | 0; the classic VMM: 1 |" in sec
    assert re.search(r"\| time against the classic VMM .*\| \d+\\?\.\d\d s against \d+\.\d\d s \(", sec)


def test_the_html_report_has_the_section_too(broken):
    _, html = broken
    assert 'id="remedies"' in html and "require mode == supervisor else PRIV" in html
    assert "not measured (run with <code>--confirm</code>" in html


def test_a_spec_where_everything_holds_has_no_remedies_section(tmp_path):
    report(["pg-toy", "-o", str(tmp_path / "r.md"), "--remedies"])
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Remedies" not in md and not remedies_of(md)


def test_without_the_flag_the_section_is_one_line_and_a_brief_report_has_none(tmp_path):
    out = report(["pg-toy-broken", "-o", "-"])
    sec = remedies_of(out)
    assert sec.strip().startswith("Not computed. With `--remedies`") and "require" not in sec
    assert "Remedies" not in report(["pg-toy-broken", "-o", "-", "--brief", "--remedies"])


@pytest.mark.slow
def test_x86_32_no_configuration_makes_theorem_1_hold():
    """From the engine's cached decision (set VMCHECK_TEST_CACHE_DIR to keep it): the
    first run decides x86-32 and searches its remedies, minutes."""
    sec = remedies_of(report(["x86-32", "-o", "-", "--remedies"]))
    assert "1\\. Configuration: ❌ **none exists**" in sec
    assert "no setting of the pinnable control state makes Theorem 1 hold in ring3" in sec
    for insn in ("smsw", "sgdt", "pushf"):
        assert f"| `{insn}` |" in sec
