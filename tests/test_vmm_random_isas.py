"""The law test: random small ISAs, decided by the engine and run under the reference VMM.

Hypothesis draws an ISA on pg-toy's storage and trap delivery (tests/vmm_machines.py):
2–3 modes, up to two small control registers, a relocation-bounds pair or no
memory protection at all, and a handful of instructions from guarded and
unguarded reads and writes of the mode and of control state, gates that change
the mode, loads and stores, halts, supervisor calls and innocuous ALU ops; and a
random guest context (a mode map, a `where` pinning control bits). The engine
decides it (`vmcheck.analysis.check_isa`) and the reference VMMs (classic, hybrid) run the
engine's witnesses and fuzzed programs in every context. The laws:

* where Theorem 1 holds in a context, no breach and no divergence is observed
  there under the classic VMM, and where Theorem 3 holds, none under the hybrid
  VMM (and nothing either VMM observes contradicts any verdict, anywhere);
* Theorem 1 implies the exact condition and Theorem 3, in every context;
* every unsafe instruction violates Theorem 1.

CI runs LAW_EXAMPLES ISAs (derandomized: the same ones every run). The long run:

    VMCHECK_LAW_EXAMPLES=20000 VMCHECK_LAW_FUZZ=60 \\
        /work/venv/bin/python -m pytest tests/test_vmm_random_isas.py -x -q

(`VMCHECK_LAW_SEED=N` draws a different, still reproducible, sequence). A failure
prints the spec as YAML: put it in a test of its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from vmcheck.analysis import YES, check_isa
from vmcheck.hypervisor.campaign import CLASSIC, HYBRID, confirm_context
from vmcheck.spec.load import load_spec

sys.path.insert(0, str(Path(__file__).parent))
from vmm_machines import machine_text

LAW_EXAMPLES = int(os.environ.get("VMCHECK_LAW_EXAMPLES", "60"))
LAW_FUZZ = int(os.environ.get("VMCHECK_LAW_FUZZ", "25"))
LAW_SEED = int(os.environ.get("VMCHECK_LAW_SEED", "0"))
# Shrinking a failing ISA can take minutes; the generated ISAs are small already, so
# CI reports the first failure as drawn. VMCHECK_LAW_SHRINK=1 shrinks it.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [Phase.shrink] if os.environ.get("VMCHECK_LAW_SHRINK") else []
)


@st.composite
def guards(draw, modes):
    """No guard, the supervisor only, or (three modes) anything but user."""
    options = ["", f"require m == {modes[0]} else PRIV\n"]
    if len(modes) == 3:
        options.append(f"require m != {modes[-1]} else PRIV\n")
    return draw(st.sampled_from(options))


@st.composite
def instruction(draw, modes, controls, relocation):
    g = draw(guards(modes))
    kinds = ["alu", "rdm", "gate", "ld", "st", "halt", "svc"]
    if controls:
        kinds += ["rdc", "wrc"]
    if relocation:
        kinds += ["setr", "getr"]
    kind = draw(st.sampled_from(kinds))
    if kind == "alu":
        return draw(st.sampled_from(["r[rd] = sext(imm, 32)", "r[rd] = r[rs] + r[rt]"]))
    if kind == "rdm":
        return g + "r[rd] = zext(m, 32)"
    if kind == "gate":
        frm, to = draw(st.sampled_from(modes)), draw(st.sampled_from(modes))
        cond = draw(st.booleans())
        body = f"m = {to}\npc = 64\n"
        return g + (f"if m == {frm} {{\n{body}}}\n" if cond else body)
    if kind == "ld":
        return g + "r[rd] = mem[r[rs]]"
    if kind == "st":
        return g + "mem[r[rs]] = r[rt]"
    if kind == "halt":
        return g + "halt"
    if kind == "svc":
        return "trap(SVC, 0)"
    if kind == "setr":
        return g + "rl = r[rs]\nrb = r[rt]"
    if kind == "getr":
        return g + "r[rd] = rl"
    c, w = draw(st.sampled_from(sorted(controls.items())))
    if kind == "rdc":
        return g + f"r[rd] = zext({c}, 32)"
    return g + f"{c} = r[rs][{w - 1}:0]"


@st.composite
def isas(draw):
    modes = ["supervisor", "user"] if draw(st.booleans()) else ["supervisor", "kernel", "user"]
    controls = {f"c{i}": draw(st.integers(1, 3)) for i in range(draw(st.integers(0, 2)))}
    relocation = draw(st.sampled_from([True, True, True, False]))
    body = draw(st.lists(instruction(modes, controls, relocation), min_size=2, max_size=6))
    instructions = {"li": "r[rd] = sext(imm, 32)", **{f"i{k}": b for k, b in enumerate(body)}}
    virtual = draw(st.lists(st.sampled_from(modes), min_size=1, max_size=len(modes), unique=True))
    virtual.sort(key=modes.index)
    context = {v: draw(st.sampled_from(modes)) for v in virtual}
    pins = [f"{c} == {draw(st.integers(0, (1 << w) - 1))}" for c, w in controls.items() if draw(st.booleans())]
    return machine_text(
        "law",
        modes=modes,
        context=context,
        instructions=instructions,
        where=" && ".join(pins) or "true",
        control=controls,
        relocation=relocation,
    )


def _decide(tmp_dir: Path, text: str):
    path = tmp_dir / "law.yaml"
    path.write_text(text)
    isa = load_spec(str(path))
    return isa, check_isa(isa, jobs=1, use_cache=False, timeout=10)


@seed(LAW_SEED)
@settings(
    max_examples=LAW_EXAMPLES,
    deadline=None,
    derandomize=LAW_SEED == 0,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(text=isas())
def test_laws_on_random_isas(tmp_path, text):
    isa, report = _decide(tmp_path, text)
    for ctx in report.contexts:
        t = {k: v.holds for k, v in ctx.theorems.items()}
        if t["1"]:
            assert t["exact"], f"Theorem 1 holds but {t} in {ctx.name}:\n{text}"
            if not _guest_changes_between_own_modes(isa, ctx):  # see test_theorem_1_without_theorem_3
                assert t["3"], f"Theorem 1 holds but {t} in {ctx.name}:\n{text}"
        for r in ctx.instructions:
            if r.violates["exact"].value == YES:
                assert r.violates["1"].value == YES, f"{r.name} is unsafe but does not violate Theorem 1:\n{text}"
        for kind, theorem in ((CLASSIC, "1"), (HYBRID, "3")):
            if kind == HYBRID and not _user_runs_as_itself(isa, ctx):
                continue  # see test_theorem_3_where_the_least_privileged_mode_runs_elsewhere
            conf = confirm_context(isa, ctx, kind=kind, fuzz_programs=LAW_FUZZ, seed=1, max_steps=120)
            assert conf.agrees, f"{kind} VMM: {conf.contradictions}\n{text}"
            if t[theorem]:
                assert not conf.observed, f"Theorem {theorem} holds, yet the {kind} VMM saw {conf.observed}:\n{text}"
                assert conf.totals().get("resource_control_breaches", 0) == 0, text


def _guest_changes_between_own_modes(isa, ctx) -> bool:
    """Two or more virtual modes map to themselves alone: a change between them without a
    trap is the guest's own for Theorem 1 (docs/model.md §2.5) but counts for Theorem 3."""
    real = list(ctx.modes.values())
    return sum(1 for v, r in ctx.modes.items() if v == r and real.count(r) == 1) >= 2


def _user_runs_as_itself(isa, ctx) -> bool:
    """Popek & Goldberg's hybrid setting: the least privileged virtual mode runs in itself."""
    least = max(ctx.modes, key=isa.modes.rank)
    return ctx.modes[least] == least


# Found by the hybrid law (the smallest machine it shrank to): the context's least
# privileged virtual mode, kernel, runs in real supervisor mode, so a hybrid VMM runs
# virtual kernel code directly in real supervisor and a mode read sees supervisor where
# the guest expects kernel. docs/model.md §2.5's "user sensitive" (control or
# location sensitive in the image of the least privileged virtual mode) left mode
# sensitivity out, which is right only where that mode runs as itself (PG's u -> u); the
# engine now adds it where the image is another mode (query `us_ms`), which MODEL.md
# does not state yet (the lead's note says so).
THEOREM_3_GAP = """\
isa: law
word: 32
modes: [supervisor, kernel, user]
state:
  pc: {width: 32, role: pc}
  m: {width: 2, role: mode}
  rl: {width: 32, role: control}
  rb: {width: 32, role: control}
  r: {count: 8, width: 32}
reset: {pc: 16, rb: 4096}
storage: {size: 4096, unit: 32, translation: {relocation: rl, bound: rb}}
traps:
  causes: {PRIV: 1, SVC: 3, MEM: {code: 2, memory: true}}
  memory_cause: MEM
  deliver: |
    phys[0] = zext(m, 32)
    phys[1] = pc
    phys[4] = cause
    let nm = phys[8][1:0]
    if nm < 3 { m = nm } else { m = supervisor }
    pc = phys[9]
contexts:
  host: m == supervisor
  guest:
    g: {modes: {supervisor: supervisor, kernel: supervisor}}
instructions:
  li: {operands: [rd: reg, imm: simm16], semantics: "r[rd] = sext(imm, 32)"}
  rdm: {operands: [rd: reg], semantics: "r[rd] = zext(m, 32)"}
"""


def test_theorem_3_where_the_least_privileged_mode_runs_elsewhere(tmp_path):
    isa, report = _decide(tmp_path, THEOREM_3_GAP)
    ctx = report.contexts[0]
    rdm = ctx.instruction("rdm")
    assert rdm.violates["3"].value == "yes" and "user mode sensitive" in rdm.violates["3"].reason
    conf = confirm_context(isa, ctx, kind=HYBRID, fuzz_programs=10, seed=1, max_steps=60)
    assert conf.observed == ["rdm"]  # the hybrid VMM shows it diverging ...
    assert conf.agrees, conf.contradictions  # ... where the engine says Theorem 3 holds


# Found by the long run (VMCHECK_LAW_EXAMPLES=300 VMCHECK_LAW_SEED=7), reduced by hand:
# under the identity map an unprivileged gate from user to supervisor is the guest's own
# mode change, so Theorem 1 (and the exact condition) hold, while Theorem 3 counts every
# change out of user mode and fails. "Theorem 1 implies Theorem 3" does not hold as the
# definitions stand (docs/model.md §2.5); reported to the lead.
THEOREM_1_WITHOUT_3 = """\
isa: gate-identity
word: 32
modes: [supervisor, user]
state:
  pc: {width: 32, role: pc}
  m: {width: 1, role: mode}
  rl: {width: 32, role: control}
  rb: {width: 32, role: control}
  r: {count: 8, width: 32}
reset: {pc: 16, rb: 4096}
storage: {size: 4096, unit: 32, translation: {relocation: rl, bound: rb}}
traps:
  causes: {PRIV: 1, MEM: {code: 2, memory: true}}
  memory_cause: MEM
  deliver: |
    phys[0] = zext(m, 32)
    phys[1] = pc
    m = phys[8][0]
    pc = phys[9]
contexts:
  host: m == supervisor
  guest:
    g: {modes: {supervisor: supervisor, user: user}}
instructions:
  li: {operands: [rd: reg, imm: simm16], semantics: "r[rd] = sext(imm, 32)"}
  gate: {semantics: "if m == user {\n  m = supervisor\n  pc = 64\n}\n"}
"""


@pytest.mark.xfail(
    strict=True,
    reason="engine/model: Theorem 1 excludes a change between self-mapped "
    "modes, Theorem 3 counts it, so Theorem 1 does not imply Theorem 3 (reported to the lead)",
)
def test_theorem_1_without_theorem_3(tmp_path):
    isa, report = _decide(tmp_path, THEOREM_1_WITHOUT_3)
    t = {k: v.holds for k, v in report.contexts[0].theorems.items()}
    assert t["1"] and t["exact"]
    assert t["3"], t


def test_the_generator_reaches_every_kind_of_machine():
    """The strategy is not stuck: it yields both mode counts, with and without relocation."""
    seen = set()

    @settings(max_examples=60, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(text=isas())
    def look(text):
        seen.add(("kernel" in text, "relocation" in text))

    look()
    assert seen == {(a, b) for a in (False, True) for b in (False, True)}


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
