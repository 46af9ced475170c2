"""JUnit XML for `vmcheck confirm`: one test case per program, witness replay and fuzz campaign.

A test case fails when what it observed contradicts the theorem engine (a
divergence or resource-control breach at an instruction the engine proved
innocent of it, under any verdict it bears on; an emulation that differs
from native execution); an expected divergence (a violation shown executing)
passes, with the divergence in its system-out. A violation not reproduced
is a skipped case with its reason; a class the engine left unknown that a
run decided passes, saying so.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..hypervisor.campaign import Confirmation
from ..spec import ir


def confirmation_junit(isa: ir.Isa, results: list[Confirmation]) -> str:
    suites = ET.Element("testsuites", name=f"vmcheck confirm {isa.name}")
    total = failed = 0
    for r in results:
        suite = ET.SubElement(suites, "testsuite", name=f"{isa.name}/{r.context}/{r.vmm}")
        cases = failures = 0
        contradicted = {c.split(" ", 1)[0] for c in r.contradictions}

        def case(name: str, classname: str, failure: str | None, out: str) -> None:
            nonlocal cases, failures
            cases += 1
            tc = ET.SubElement(suite, "testcase", name=name, classname=classname)  # noqa: B023  (called in the iteration that defines it)
            if failure:
                failures += 1
                ET.SubElement(tc, "failure", message=failure.splitlines()[0]).text = failure
            if out:
                ET.SubElement(tc, "system-out").text = out

        for p in r.programs:
            d = p.comparison.divergence
            text = "equivalent" if d is None else d.summary(isa)
            bad = d is not None and d.insn in contradicted
            case(
                f"program {p.name}",
                f"{isa.name}.{r.context}.programs",
                f"unexpected divergence: {text}" if bad else None,
                text,
            )
        for rp in r.replays:
            ops = ", ".join(f"{k}={v:#x}" for k, v in rp.operands.items())
            seen = (
                "diverged: " + "; ".join(f"{x.what} native {x.native} / virtual {x.virtual}" for x in rp.differences)
                if rp.diverged
                else "same as native"
            )
            fail = rp.purpose == "emulation" and rp.diverged
            case(
                f"{rp.purpose} replay {rp.insn} ({ops})",
                f"{isa.name}.{r.context}.replays",
                f"emulation differs from native execution: {seen}" if fail else None,
                seen + (f" ({rp.note})" if rp.note else ""),
            )
        if r.fuzz is not None:
            unexpected = [f for f in r.fuzz.findings if f.divergence.insn in contradicted]
            msg = "\n".join(f"{f.divergence.summary(isa)}\n{f.listing}" for f in unexpected) or None
            case(
                f"fuzz {r.fuzz.programs} programs",
                f"{isa.name}.{r.context}.fuzz",
                f"unexpected divergence\n{msg}" if msg else None,
                f"{r.fuzz.steps} guest instructions; diverging: {', '.join(sorted(map(str, r.fuzz.diverging))) or 'none'}",
            )
        for c in r.contradictions:
            case(f"contradiction: {c[:80]}", f"{isa.name}.{r.context}.judgement", c, "")
        for decided in r.decided:
            case(f"decided: {decided[:80]}", f"{isa.name}.{r.context}.judgement", None, decided)
        for n in r.unconfirmed:
            cases += 1
            tc = ET.SubElement(
                suite, "testcase", name=f"violation {n} shown executing", classname=f"{isa.name}.{r.context}.judgement"
            )
            ET.SubElement(tc, "skipped", message=r.unconfirmed_reasons.get(n, "not reproduced"))
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total += cases
        failed += failures
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
