"""Section 6, empirical confirmation: per guest context, what the reference
VMM observed for the sample programs, the witness replays and random
programs (equivalence, resource control, efficiency), against the engine."""

from __future__ import annotations

from ..document import (
    Badge,
    Bullets,
    Callout,
    Code,
    CodeBlock,
    Keep,
    Para,
    Row,
    Section,
    Strong,
    Table,
    Text,
    join,
)
from ..proof_input import ProofInput
from ..vocabulary import SHORT_TITLE, anchor, hex_value


def confirmation_section(inp: ProofInput) -> Section:
    """Section 6 (see the module's docstring); "not run" without --confirm."""
    isa = inp.isa
    blocks: list = []
    if not inp.confirmations:
        blocks.append(
            Para(
                [
                    "Not run. With ",
                    Code("--confirm"),
                    ", the report also runs the spec's sample "
                    "programs, every witness and random programs natively and under the reference "
                    "VMM, and shows what they did (",
                    Code("vmcheck confirm"),
                    " does the same on its own).",
                ]
            )
        )
        return Section("Empirical confirmation", "confirm", blocks)
    blocks.append(
        Para(
            [
                "The reference VMM runs the guest directly in the context's real modes and keeps the "
                "guest's virtual control state apart; every trap enters its dispatcher, which emulates "
                "the instruction on the virtual state or reflects the trap to the guest. Each program "
                "runs natively and under the VMM in lockstep; the first difference in guest-visible "
                "state is a divergence, traced to the instruction that caused it. A classic VMM is "
                "judged against the exact condition, a hybrid one against Theorem 3."
            ]
        )
    )
    for name, conf in inp.confirmations.items():
        sub: list = []
        judged = SHORT_TITLE[conf.judged_by]  # "exact" (classic VMM) or "3" (hybrid VMM)
        if conf.agrees:
            sub.append(
                Callout("pass", [Para([f"What the {conf.vmm} VMM did agrees with the engine's verdict on {judged}."])])
            )
        else:
            sub.append(Callout("fail", [Bullets(list(conf.contradictions))], "Observation contradicts the engine"))
        tot = conf.totals()
        steps = sum(
            tot.get(k, 0) for k in ("direct", "emulated_privileged", "emulated_other", "reflected", "interpreted")
        )
        direct = tot.get("direct", 0)
        pct = f"{100 * direct / steps:.0f}%" if steps else "—"
        expected = set(conf.engine_violations)
        seen = set(conf.observed)
        eq_ok = seen <= expected
        rows = [
            Row(
                [
                    "equivalence",
                    [f"{len(conf.observed)} diverging instruction(s)"]
                    + ([": "] + join([Code(x) for x in conf.observed], ", ") if conf.observed else [])
                    + (
                        ["; the engine expects: "] + join([Code(x) for x in conf.engine_violations], ", ")
                        if conf.engine_violations
                        else ["; the engine expects none"]
                    ),
                    Badge("pass", "as expected") if eq_ok else Badge("fail", "unexpected"),
                ]
            ),
            Row(
                [
                    "resource control",
                    f"{tot.get('resource_control_breaches', 0)} breach(es): real control state "
                    "changed by the guest without a trap",
                    Badge("pass", "none")
                    if not tot.get("resource_control_breaches", 0)
                    else (Badge("info", "as expected") if conf.agrees else Badge("fail", "breached")),
                ]
            ),
            Row(
                [
                    "efficiency",
                    f"{direct} of {steps} guest instructions ran directly ({pct}); "
                    f"{tot.get('emulated_privileged', 0)} emulated privileged, "
                    f"{tot.get('emulated_other', 0)} emulated after a memory trap, "
                    f"{tot.get('reflected', 0)} reflected, {tot.get('interpreted', 0)} interpreted",
                    Badge("info", "measured"),
                ]
            ),
        ]
        sub.append(Table(["VMM property", "observed", ""], rows, "The three properties", cls="compact"))
        if conf.unconfirmed:
            sub.append(
                Para(
                    [Strong("Not shown executing: ")]
                    + join([Code(x) for x in conf.unconfirmed], ", ")
                    + [" (the simulator's concrete translation may not produce the fault pattern a witness uses)."],
                    "small",
                )
            )
        if conf.programs:
            prow = []
            for p in conf.programs:
                cm, k = p.comparison, p.comparison.counters
                d = cm.divergence  # None exactly when the run was equivalent
                res: Text = (
                    Badge("pass", "equivalent")
                    if d is None
                    else [
                        Badge("fail" if (d.insn not in expected) else "info", "diverged"),
                        " ",
                        d.summary(isa),
                    ]
                )
                prow.append(
                    Row(
                        [
                            Code(p.name),
                            str(cm.steps),
                            str(k.direct),
                            str(k.emulated_privileged),
                            str(k.emulated_other),
                            str(k.reflected),
                            str(k.interpreted),
                            str(len(k.breaches)),
                            res,
                        ]
                    )
                )
            sub.append(
                Table(
                    [
                        "program",
                        "steps",
                        "direct",
                        "emul. priv.",
                        "emul. other",
                        "reflected",
                        "interp.",
                        "breaches",
                        "result",
                    ],
                    prow,
                    "Sample programs",
                    cls="compact",
                    numeric=(1, 2, 3, 4, 5, 6, 7),
                )
            )
        if conf.replays:
            rrow = []
            for rp in conf.replays:
                ops = ", ".join(f"{k}={hex_value(v)}" for k, v in rp.operands.items()) or "—"
                seen_t = (
                    (
                        "diverged: "
                        + "; ".join(
                            f"{d.what} native {hex_value(d.native)} / virtual {hex_value(d.virtual)}"
                            for d in rp.differences[:2]
                        )
                    )
                    if rp.diverged
                    else "same as native" + (f" ({rp.note})" if rp.note else "")
                )
                rrow.append(
                    Row(
                        [
                            Code(rp.insn),
                            Code(ops),
                            rp.purpose,
                            rp.how,
                            seen_t,
                            Badge("pass", "agrees")
                            if rp.agrees
                            else (
                                Badge("unknown", "unconfirmed")
                                if rp.purpose == "violation"
                                else Badge("fail", "contradicts")
                            ),
                        ]
                    )
                )
            sub.append(
                Table(
                    ["instruction", "operands", "purpose", "VMM ran it", "observed", ""],
                    rrow,
                    "Witness replays",
                    cls="compact",
                )
            )
        if conf.fuzz is not None:
            f = conf.fuzz
            sub.append(
                Para(
                    [
                        Strong("Random programs: "),
                        f"{f.programs} program(s), {f.steps} guest instructions; "
                        f"{f.counters.get('direct', 0)} run directly, "
                        f"{f.counters.get('emulated_privileged', 0)} emulated privileged, "
                        f"{f.counters.get('emulated_other', 0)} emulated after a memory trap, "
                        f"{f.counters.get('reflected', 0)} reflected; "
                        f"{len(f.findings)} diverging instruction(s)",
                    ]
                    + ([": "] + join([Code(x.divergence.insn or "?") for x in f.findings], ", ") if f.findings else [])
                )
            )
            for x in f.findings[:6]:
                sub.append(
                    Keep(
                        [
                            Para(
                                [
                                    Code(x.divergence.insn or "?"),
                                    f" (program {x.seed}, shrunk): ",
                                    x.divergence.summary(isa),
                                ],
                                "small",
                            ),
                            CodeBlock(x.listing),
                        ]
                    )
                )
        blocks.append(Section(["Guest context ", Code(name), f", {conf.vmm} VMM"], anchor("confirm", name), sub))
    return Section("Empirical confirmation", "confirm", blocks)
