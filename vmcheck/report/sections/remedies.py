"""Section 7, remedies: per guest context and failing theorem, what makes it
hold or lets a guest run anyway (issue 18), each with its evidence.

1. configuration: the fewest control bits a VMM pins (`vmcheck configure`),
   or the proof that no setting exists with the entries none makes trap;
2. repair: the least set of instances to make trap, each with its guard
   (`vmcheck repair`), and the engine's verdict on the repaired spec;
3. binary translation (with --confirm): the sample programs under the
   translating VMM against the classic one (`confirm --vmm translate`);
4. paravirtualisation: per sample program, the sites and the hypercalls they
   become (`vmcheck paravirt`).

The records are computed by `vmcheck.pipeline.remedies`; this module only
renders them. The section is absent when every argued theorem holds.
"""

from __future__ import annotations

from ...theory import THEOREM_TITLES
from ..document import Badge, Code, Keep, Para, Row, Section, Strong, Table, Text, code_spans, join
from ..proof_input import (
    ConfigurationRemedy,
    ParavirtProgram,
    ProofInput,
    RepairRemedy,
    TheoremRemedies,
    TranslationCost,
)
from ..vocabulary import anchor

SITES_SHOWN = 6  # sites listed per program; the rest are counted (the verb lists them all)


def remedies_section(inp: ProofInput) -> Section | None:
    """Section 7 (see the module's docstring); None when every argued theorem
    holds in every context, one line when the remedies were not computed."""
    failing = [
        (c.name, t)
        for c in inp.report.contexts
        for t in inp.theorems
        if t in c.theorems and c.theorems[t].holds is False
    ]
    if not failing or inp.brief:
        return None
    if inp.remedies is None:
        return Section(
            "Remedies",
            "remedies",
            [
                Para(
                    [
                        "Not computed. With ",
                        Code("--remedies"),
                        ", the report also gives the minimal host configuration, the smallest ISA change and "
                        "the paravirtualised sites of the sample programs (",
                        Code("vmcheck configure"),
                        ", ",
                        Code("vmcheck repair"),
                        " and ",
                        Code("vmcheck paravirt"),
                        " do the same on their own).",
                    ]
                )
            ],
        )
    blocks: list = [
        Para(
            "A machine that fails a theorem has three historical remedies: configure the host so that the "
            "sensitive instructions trap, change the guest (paravirtualisation), or translate the guest's code "
            "before it runs (binary translation). Each is computed for the failing theorem and checked: the "
            "configured context and the repaired spec are decided again by the engine, every instruction."
        )
    ]
    if not inp.remedies:
        blocks.append(Para("No argued theorem among 1, 3 and the exact condition fails: nothing to remedy."))
    for cr in inp.remedies:
        sub: list = []
        for tr in cr.theorems:
            title = THEOREM_TITLES[tr.theorem]
            sub.append(
                Keep(
                    [
                        Para(
                            [f"{title} fails in ", Code(cr.context), ": "]
                            + join([Code(v) for v in tr.violations], ", ")
                            + ["."]
                        ),
                        _configuration(tr.configuration, tr, cr.context),
                        _repair(tr.repair),
                    ],
                    anchor(f"remedy-{tr.theorem}", cr.context),
                    title,
                )
            )
        sub.append(_translation(cr.translation, inp))  # the whole context's code: once, between 2 and 4
        sub += [_paravirt(tr.paravirt, tr) for tr in cr.theorems]
        blocks.append(Section(["Guest context ", Code(cr.context)], anchor("remedies", cr.context), sub))
    return Section("Remedies", "remedies", blocks)


def _configuration(c: ConfigurationRemedy, tr: TheoremRemedies, context: str) -> Table:
    """1. The minimal setting, or why none exists (`vmcheck configure`)."""
    title = THEOREM_TITLES[tr.theorem]
    if c.found and c.setting:
        rows = [Row([Code(k), Code(f"{v:#x}")], "pass") for k, v in c.setting]
        rows.append(Row([Strong("where"), Code(c.where)]))
        rows.append(
            Row(
                [
                    Strong("evidence"),
                    ["the configured context decided by the engine, every instruction (not run under the VMM): "]
                    + code_spans(c.evidence or c.reason),
                ]
            )
        )
        caption: Text = [
            "1. Configuration: ",
            Badge("pass", f"{c.pinned_bits} bit(s) pinned"),
            f" make {title} hold (",
            Code(f"vmcheck configure --theorem {tr.theorem} --context {context}"),
            ")",
        ]
        return Table(["pinned", "value"], rows, caption, cls="compact")
    if c.found:
        rows = [Row(["nothing to pin", code_spans(c.reason)], "pass")]
        return Table(["setting", "why"], rows, "1. Configuration", cls="compact")
    if c.found is False:
        rows = [Row([Code(n), code_spans(why)], "fail") for n, why in c.culprits]
        rows.append(Row([Strong("proof"), code_spans(c.reason)]))
        caption = [
            "1. Configuration: ",
            Badge("fail", "none exists"),
            f"; no setting of the pinnable control state makes {title} hold (",
            Code(f"vmcheck configure --theorem {tr.theorem} --context {context}"),
            ")",
        ]
        return Table(["runs whatever is pinned", "witness"], rows, caption, cls="compact")
    return Table(
        ["setting", "why"],
        [Row(["undecided", code_spans(c.reason)], "unknown")],
        ["1. Configuration: ", Badge("unknown", "no answer")],
        cls="compact",
    )


def _repair(r: RepairRemedy) -> Table:
    """2. The least set of guarded entries, with their guards (`vmcheck repair`)."""
    rows = [Row([Code(g.instruction), g.instances, Code(g.line)]) for g in r.guards]
    verdict = (
        Badge("pass", "the repaired spec passes")
        if r.holds
        else Badge("fail", "no repair")
        if r.holds is False
        else Badge("unknown", "undecided")
    )
    rows.append(
        Row(
            [
                Strong("evidence"),
                "the repaired spec, decided whole by the engine (as `check` does)",
                code_spans(r.reason),
            ],
            "pass" if r.holds else "fail",
        )
    )
    caption: Text = [
        f"2. Repair: {len(r.guards)} entr{'y' if len(r.guards) == 1 else 'ies'} made to trap unless ",
        Code(r.host_only),
        " (cause ",
        code_spans(r.cause),
        "); ",
        verdict,
        " (",
        Code("vmcheck repair"),
        ")",
    ]
    return Table(["instruction", "instances", "guard, first in its semantics"], rows, caption, cls="compact")


def _paravirt(programs: tuple[ParavirtProgram, ...], tr: TheoremRemedies) -> Keep | Para:
    """4. Per sample program, its sites and the hypercalls they become (`vmcheck paravirt`)."""
    cmd = Code("vmcheck paravirt SPEC PROGRAM --write OUT")
    if not programs:
        return Para(["4. Paravirtualisation: the spec has no sample programs; ", cmd, " lists a program's sites."])
    rows = []
    for p in programs:
        shown: list = []
        for s in p.sites[:SITES_SHOWN]:
            where = f"line {s.line}: " if s.line else ""
            shown.append(
                [where, Code(s.text), " → ", Code(s.replacement) if s.replacement else "(no hypercall)"]
                + ([" (depends on operand values)"] if s.depends else [])
            )
        if len(p.sites) > SITES_SHOWN:
            shown.append(f"and {len(p.sites) - SITES_SHOWN} more")
        rows.append(
            Row(
                [Code(p.program), str(len(p.sites)), join(shown, "; ") if shown else code_spans(p.reason)],
                "fail" if p.sites else "pass",
            )
        )
    caption: Text = [
        f"4. Paravirtualisation ({THEOREM_TITLES[tr.theorem]}): the sites each program changes (",
        cmd,
        " writes the patched program)",
    ]
    blocks: list = [Table(["program", "sites", "site → hypercall"], rows, caption, cls="compact", numeric=(1,))]
    # Why a site has no hypercall (the ISA has no plain trap instruction with a code), said once.
    bare = next((p for p in programs if any(not s.replacement for s in p.sites)), None)
    if bare is not None:
        blocks.append(Para(code_spans(bare.reason), "small"))
    return Keep(blocks)


def _translation(t: TranslationCost | None, inp: ProofInput) -> Para | Table:
    """3. The translating VMM's cost on the sample programs (--confirm only)."""
    if t is None:
        why: Text = ["run with ", Code("--confirm")] if not inp.confirmations else "the spec has no sample programs"
        return Para(
            [
                "3. Binary translation: not measured (",
                why,
                "; ",
                Code("vmcheck confirm --vmm translate"),
                " runs the translating VMM on its own).",
            ],
            "small",
        )
    ratio = f"{t.seconds / t.classic_seconds:.1f}×" if t.classic_seconds > 0 else "—"
    rows = [
        Row(["guest instructions run", str(t.steps)]),
        Row(["instructions scanned", str(t.scanned)]),
        Row(["instances translated (replaced by a call into the VMM)", str(t.translated)]),
        Row(["VMM entries from translated instances", str(t.vmm_calls)]),
        Row(["rescans (the guest wrote over translated code)", str(t.rescans)]),
        Row(
            [
                "time against the classic VMM (wall clock, varies from run to run)",
                f"{t.seconds:.2f} s against {t.classic_seconds:.2f} s ({ratio})",
            ]
        ),
        Row(
            ["divergences (expected 0)", f"{t.divergences}; the classic VMM: {t.classic_divergences}"],
            "pass" if not t.divergences else "fail",
        ),
    ]
    caption: Text = [
        f"3. Binary translation: the {t.programs} sample program(s) under the translating VMM (",
        Code("vmcheck confirm --vmm translate"),
        ")",
    ]
    return Table(["", "measured"], rows, caption, cls="compact", numeric=(1,))


__all__ = ["remedies_section"]
