"""Interrupt sources, `wait`, the simulator's timer and the VMM's (issue 17, item 4).

Not to be confused with test_interrupt.py (Ctrl-C). One small machine
(`TICK`, Popek & Goldberg's with an interrupt-enable bit and a timer) runs
through every layer: the format (both syntaxes, fmt, errors), the two
readings of `wait`, the engine's classes, the simulator's delivery and
waiting, and the reference VMM's timer exits and injected interrupts.
"""

from __future__ import annotations

import random

import pytest
import z3
from helpers import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.analysis.engine import check_isas
from vmcheck.errors import SpecError
from vmcheck.hypervisor.lockstep import compare_run
from vmcheck.hypervisor.vmm import HYBRID, VMM
from vmcheck.machine import Machine, assemble
from vmcheck.machine.simulator import HALTED, STEP_LIMIT, WAIT_FOREVER
from vmcheck.semantics.concrete import compile_isa
from vmcheck.semantics.state import State
from vmcheck.semantics.symbolic import ARRAYS, KIND_NAMES, sym_isa
from vmcheck.spec.build import build_isa
from vmcheck.spec.isa_reader import read_isa
from vmcheck.spec.printer import to_isa, to_yaml
from vmcheck.spec.yaml_reader import read_yaml

TICK = """\
isa: tick-toy
word: 32
modes: [supervisor, user]
state:
  pc: {width: 32, role: pc}
  m: {width: 1, role: mode}
  ie: {width: 1, role: control, description: interrupts enabled}
  rl: {width: 32, role: control}
  rb: {width: 32, role: control}
  r: {count: 8, width: 32}
reset: {pc: 16, rb: 4096}
storage:
  size: 4096
  unit: 32
  translation: {relocation: rl, bound: rb}
traps:
  causes: {PRIV: 1, MEM: {code: 2, memory: true}, SVC: 3, TICK: 4}
  memory_cause: MEM
  deliver: |
    phys[0] = zext(m, 32)
    phys[1] = pc
    phys[2] = rl
    phys[3] = rb
    phys[4] = cause
    phys[5] = zext(ie, 32)
    m = supervisor
    ie = 0
    pc = phys[9]
    rl = 0
    rb = 4096
interrupts:
  timer: {cause: TICK, period: 20, enabled: ie == 1}
contexts:
  host: m == supervisor
  guest:
    classic: {modes: {supervisor: user, user: user}}
instructions:
  li:
    operands: [rd: reg, imm: simm16]
    semantics: r[rd] = sext(imm, 32)
  ld:
    operands: [rd: reg, "off": simm16, rs: reg]
    syntax: "ld {rd}, {off}({rs})"
    semantics: r[rd] = mem[r[rs] + sext(off, 32)]
  st:
    operands: [rt: reg, "off": simm16, rs: reg]
    syntax: "st {rt}, {off}({rs})"
    semantics: mem[r[rs] + sext(off, 32)] = r[rt]
  addi:
    operands: [rd: reg, rs: reg, imm: simm16]
    semantics: r[rd] = r[rs] + sext(imm, 32)
  beq:
    operands: [rs: reg, rt: reg, "off": simm16 pcrel]
    semantics: |
      if r[rs] == r[rt] { pc = pc + sext(off, 32) }
  jmp:
    operands: ["off": simm16 pcrel]
    semantics: pc = pc + sext(off, 32)
  svc:
    semantics: trap(SVC)
  sti:
    semantics: |
      require m == supervisor else PRIV
      ie = 1
  cli:
    semantics: |
      require m == supervisor else PRIV
      ie = 0
  iret:
    semantics: |
      require m == supervisor else PRIV
      m = phys[0][0]
      pc = phys[1]
      rl = phys[2]
      rb = phys[3]
      ie = phys[5][0]
  hlt:
    semantics: |
      require m == supervisor else PRIV
      if ie == 1 { wait } else { halt }
  wfi:
    semantics: wait
  halt:
    semantics: |
      require m == supervisor else PRIV
      halt
"""

# A kernel counting timer ticks while its main loop spins; after 5 it halts.
TICKS = """\
        .org 9
        .word tick
        .org 16
start:  li   r0, 0
        li   r7, 5
        sti
loop:   addi r1, r1, 1
        ld   r2, nticks(r0)
        beq  r2, r7, done
        jmp  loop
done:   halt
tick:   ld   r3, nticks(r0)
        addi r3, r3, 1
        st   r3, nticks(r0)
        iret
nticks: .word 0
"""

# Waits for 3 ticks with interrupts on (hlt), then once with them off (wfi:
# it wakes on the pending tick without taking it), then hlt with ie = 0 halts.
WAITS = """\
        .org 9
        .word tick
        .org 16
start:  li   r0, 0
        li   r7, 3
        sti
loop:   hlt
        addi r1, r1, 1
        ld   r2, nticks(r0)
        beq  r2, r7, off
        jmp  loop
off:    cli
        wfi
        addi r5, r5, 1
        hlt
tick:   ld   r3, nticks(r0)
        addi r3, r3, 1
        st   r3, nticks(r0)
        iret
nticks: .word 0
"""

# The same kernel as TICKS, in user mode after an iret to `user`, spinning for ever.
SPIN = """\
        .org 0
        .word 1, user, 0, 4096, 0, 0
        .org 9
        .word tick
        .org 16
start:  li   r0, 0
        iret
tick:   iret
user:   addi r1, r1, 1
        jmp  user
"""


def _isa(text: str = TICK):
    return build_isa(read_yaml(text, "tick.yaml"), "tick.yaml")


def _variant(old: str, new: str) -> str:
    assert old in TICK
    return TICK.replace(old, new)


def _machine(program: str, text: str = TICK, **kw) -> Machine:
    isa = _isa(text)
    m = Machine(isa, **kw)
    m.load_image(assemble(isa, program).image)
    m.reset()
    return m


# ---- the format -------------------------------------------------------------------


def test_interrupts_load_and_round_trip_through_both_syntaxes():
    node = read_yaml(TICK, "tick.yaml")
    isa = build_isa(node, "tick.yaml")
    (src,) = isa.interrupts
    assert (src.name, src.cause, src.period) == ("timer", "TICK", 20)
    isa_text = to_isa(node)
    assert "interrupt timer cause TICK period 20 enabled ie == 1" in isa_text
    isa_node = read_isa(isa_text, "tick.isa")
    assert build_isa(isa_node, "tick.isa") == isa
    yaml_text = to_yaml(isa_node)
    assert build_isa(read_yaml(yaml_text, "again.yaml"), "again.yaml") == isa
    assert to_isa(isa_node) == isa_text
    assert to_yaml(read_yaml(yaml_text, "again.yaml")) == yaml_text
    assert isa.instruction("wfi").semantics == (__import__("vmcheck.spec.ir", fromlist=["Wait"]).Wait(),)


def test_isa_interrupt_with_description_and_braced_condition():
    text = to_isa(read_yaml(TICK, "t.yaml")).replace(
        "interrupt timer cause TICK period 20 enabled ie == 1",
        'interrupt timer cause TICK period 20 "the tick" enabled {\n  ie == 1 && m == supervisor\n}',
    )
    isa = build_isa(read_isa(text, "t.isa"), "t.isa")
    assert isa.interrupts[0].description == "the tick"
    again = to_isa(read_isa(text, "t.isa"))
    assert build_isa(read_isa(again, "u.isa"), "u.isa") == isa


def _errors(text: str, syntax: str = "yaml") -> str:
    node = read_yaml(text, "bad.yaml") if syntax == "yaml" else read_isa(text, "bad.isa")
    with pytest.raises(SpecError) as e:
        build_isa(node, f"bad.{syntax}")
    return e.value.render({f"bad.{syntax}": text})


@pytest.mark.parametrize(
    "old, new, at, message",
    [
        ("enabled: ie == 1}", "enabled: ie == 1, prio: 2}", "prio", "unknown key 'prio' in interrupt source 'timer'"),
        ("{cause: TICK,", "{cause: TOCK,", "TOCK", "names the cause 'TOCK', which traps.causes does not declare"),
        ("{cause: TICK,", "{cause: MEM,", "MEM,", "a memory cause: an interrupt is not an illegal access"),
        ("period: 20", "period: 0", "0,", "must be from 1 to 4294967296, not 0"),
        ("enabled: ie == 1", 'enabled: "r[1] == 1"', "r[1]", "reads 'r' bits that are not control state"),
        ("  timer: {", "  9timer: {", "9timer", "'9timer' is not a name"),
        ("    rb = 4096\n", "    rb = 4096\n    wait\n", "wait", "'wait' cannot appear in the trap delivery"),
        ("{cause: TICK, ", "{", "{period", "interrupt source 'timer' is missing the required key 'cause'"),
    ],
)
def test_bad_interrupts_are_errors_at_their_line(old, new, at, message):
    text = _variant(old, new)
    out = _errors(text)
    assert message in out
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if at in ln and ("timer" in ln or ln.strip() == at))
    col = text.splitlines()[line - 1].index(at) + 1
    assert f"bad.yaml:{line}:{col}:" in out, out


def test_bad_isa_interrupt_is_a_syntax_error_at_its_line():
    text = to_isa(read_yaml(TICK, "t.yaml")).replace("period 20", "period 20 every 3")
    with pytest.raises(SpecError) as e:
        read_isa(text, "bad.isa")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "every 3" in ln)
    out = e.value.render({"bad.isa": text})
    assert f"bad.isa:{line}:" in out and "unexpected 'every'" in out


def test_lint_and_fmt_on_the_command_line(tmp_path):
    p = tmp_path / "tick.yaml"
    p.write_text(TICK)
    r = invoke("lint", p)
    assert r.exit_code == 0, r.output
    r = invoke("fmt", p, "--to", "isa")
    assert r.exit_code == 0 and "interrupt timer cause TICK period 20 enabled ie == 1" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(_variant("{cause: TICK,", "{cause: TOCK,"))
    r = invoke("lint", bad)
    assert r.exit_code == 2 and f"{bad}:32:18:" in r.output


# ---- the two readings of `wait` ------------------------------------------------------------

# Instructions whose bodies reach `wait` on some paths only, with writes before it,
# a trap or a halt on others: the symbolic and the concrete reading must agree on
# the outcome (wait = ok + waits), the registers and the pc.
BODIES = {
    "w1": "r[1] = r[2] + 1\nif r[0][0] == 1 { wait } else { r[3] = 7 }",
    "w2": "if r[0][1:0] == 0 { trap(SVC) } else if r[0][1:0] == 1 { halt } else if r[0][1:0] == 2 { wait }\nr[4] = 9",
    "w3": "if m == supervisor { ie = 1\nwait } else { trap(PRIV) }",
    "w4": "if r[0][2] == 1 { pc = r[5] }\nwait",
}


def _with_bodies() -> str:
    extra = "".join(
        f"  {n}:\n    semantics: |\n" + "".join(f"      {ln}\n" for ln in b.splitlines()) for n, b in BODIES.items()
    )
    return TICK + extra


def _symbolic_at(isa, name, values):
    sym = sym_isa(isa)
    res = sym.execute(name, ARRAYS)
    pairs = [(sym.canon[e.name], z3.BitVecVal(values[e.name], e.width)) for e in isa.elements if not e.is_file]
    r = sym.canon["r"]
    arr = z3.K(r.sort().domain(), z3.BitVecVal(0, 32))
    for i, x in enumerate(values["r"]):
        arr = z3.Store(arr, z3.BitVecVal(i, 3), z3.BitVecVal(x, 32))
    pairs.append((r, arr))
    ev = lambda t: z3.simplify(z3.substitute(t, *pairs))  # noqa: E731
    kind = KIND_NAMES[ev(res.kind).as_long()]
    waits = z3.is_true(ev(res.waits))
    post = {e.name: ev(res.post[e.name]).as_long() for e in isa.elements if not e.is_file}
    post["r"] = [ev(z3.Select(res.post["r"], z3.BitVecVal(i, 3))).as_long() for i in range(8)]
    return kind, waits, post


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(BODIES)), st.integers(0, 2**32 - 1), st.integers(0, 1), st.integers(0, 1), st.data())
def test_wait_symbolic_and_concrete_readings_agree(name, r0, m, ie, data):
    isa = _isa(_with_bodies())
    values = {"pc": data.draw(st.integers(0, 2**32 - 1)), "m": m, "ie": ie, "rl": 0, "rb": 4096}
    values["r"] = [r0] + [data.draw(st.integers(0, 2**32 - 1)) for _ in range(7)]
    kind, waits, post = _symbolic_at(isa, name, values)
    comp = compile_isa(isa)
    m_ = Machine(isa)
    st_ = State(comp.layout)
    for e in isa.elements:
        if e.is_file:
            for i, x in enumerate(values["r"]):
                st_.set(e.name, x, i)
        else:
            st_.set(e.name, values[e.name])
    m_.state.v[:] = st_.v
    out = m_.execute(name, ())
    ckind = "ok" if out.kind == "wait" else ("memtrap" if out.kind == "trap" and out.cause == "MEM" else out.kind)
    assert (kind, waits) == (ckind, out.kind == "wait"), (name, values, out)
    for e in isa.elements:
        want = [m_.state.get("r", i) for i in range(8)] if e.is_file else m_.state.get(e.name)
        assert post[e.name] == want, (name, e.name, values)


def test_no_wait_builds_no_waits_term():
    """Specs without `wait` keep their terms (and so their witnesses) as they were."""
    sym = sym_isa(_isa())
    assert z3.is_false(sym.execute("addi").waits)
    assert not z3.is_false(sym.execute("wfi").waits)


# ---- the engine ------------------------------------------------------------------


def _classes(text: str) -> dict[str, dict[str, str]]:
    rep = check_isas([_isa(text)], jobs=1, use_cache=False)[0]
    ctx = rep.contexts[0]
    return {
        r.name: {k: a.value for k, a in r.classes.items()} | {"T1": r.violates["1"].value} for r in ctx.instructions
    }


def test_engine_wait_is_innocuous_halt_is_control_and_enable_writes_are_control_sensitive():
    got = _classes(
        _variant(
            "  wfi:\n    semantics: wait\n",
            "  wfi:\n    semantics: wait\n"
            "  uhalt:\n    semantics: halt\n"
            "  seti:\n    semantics: ie = 1\n"
            # POPF at CPL > IOPL: writes IF in supervisor mode only, silently ignores it in user mode
            "  popie:\n    operands: [rs: reg]\n    semantics: |\n      if m == supervisor { ie = r[rs][0] }\n",
        )
    )
    assert got["wfi"]["sensitive"] == "no" and got["wfi"]["T1"] == "no"  # waiting takes nothing from the VMM
    assert got["uhalt"]["control_sensitive"] == "yes" and got["uhalt"]["T1"] == "yes"
    assert got["seti"]["control_sensitive"] == "yes" and got["seti"]["privileged"] == "no"
    assert got["popie"]["control_sensitive"] == "yes" and got["popie"]["privileged"] == "no"
    assert got["popie"]["T1"] == "yes"
    # The privileged ones are safe: Theorem 1 holds for them.
    for name in ("sti", "cli", "iret", "hlt"):
        assert got[name]["privileged"] == "yes" and got[name]["T1"] == "no", name


def test_the_enable_flag_must_be_control_state():
    """The machine that would break the rule: an enable flag kept in general state
    would let an unprivileged write mask the VMM's timer without being control
    sensitive. The loader refuses it."""
    out = _errors(_variant("ie: {width: 1, role: control,", "ie: {width: 1,"))
    assert "the 'enabled' of interrupt source 'timer' reads 'ie' bits that are not control state" in out


# ---- the simulator -----------------------------------------------------------------------


def _final(m: Machine):
    return (m.stopped, m.steps, m.idle, m.irq.delivered, m.state.v[:], m.storage.nonzero())


@pytest.mark.parametrize("program", [TICKS, WAITS])
@pytest.mark.parametrize("timer", [None, 3, 7, 13])
def test_blocks_and_steps_agree_with_interrupts(program, timer):
    a = _machine(program, blocks=False, timer=timer)
    while not a.stopped and a.steps < 3000:
        a.step()
    runs = [a]
    for kw in ({}, {"hot": 1}, {"blocks": False}):
        b = _machine(program, timer=timer, **kw)
        b.run(3000)
        runs.append(b)
    c = _machine(program, hot=1, timer=timer)
    rnd = random.Random(1)
    while not c.stopped and c.steps < 3000:
        c.run(min(rnd.randint(1, 9), 3000 - c.steps))
    runs.append(c)
    assert len({repr(_final(x)) for x in runs}) == 1


def test_two_sources_blocks_and_steps_agree():
    """Two timers, the second always enabled: after one delivery the other may
    be deliverable at once; every way of running delivers it at the same step."""
    text = _variant(
        "  timer: {cause: TICK, period: 20, enabled: ie == 1}\n",
        "  timer: {cause: TICK, period: 20, enabled: ie == 1}\n  nmi: {cause: SVC, period: 30}\n",
    )
    runs = []
    for kw in ({"blocks": False}, {}, {"hot": 1}):
        m = _machine(TICKS, text=text, **kw)
        if kw:
            m.run(2000)
        else:
            while not m.stopped and m.steps < 2000:
                m.step()
        runs.append(_final(m))
    assert len({repr(r) for r in runs}) == 1 and runs[0][3] > 5
    isa = _isa(text)
    for kind in ("classic", HYBRID):
        c = compare_run(isa, isa.contexts[0], assemble(isa, TICKS).image, kind=kind, max_steps=2000)
        assert c.equivalent, c.divergence and c.divergence.summary(isa)
        assert c.counters.injected == runs[0][3]


def test_timer_delivers_at_the_period_with_the_next_pc():
    m = _machine(TICKS, blocks=False)
    events = []
    while not m.stopped:
        events.append(m.step())
    taken = [e for e in events if e.interrupt]
    assert [e.step for e in taken] == [20, 40, 60, 80, 100]
    assert all(e.insn is not None and e.insn.name == "ld" for e in taken)  # the handler's first instruction
    assert m.stopped == HALTED and m.state.get("r", 3) == 5
    m2 = _machine(TICKS)
    m2.run(1000)
    assert (m2.stopped, m2.steps, m2.irq.delivered) == (HALTED, 107, 5)


def test_interrupt_saves_the_pc_after_the_interrupted_instruction():
    m = _machine(TICKS, blocks=False)
    while m.steps < 20:
        assert m.step().interrupt is None
    nxt = m.pc  # where the 20th instruction left the pc
    ev = m.step()
    assert ev.interrupt == "timer" and ev.pc == m.storage.read(9, 1)  # the handler's first instruction
    assert m.storage.read(1, 1) == nxt and m.storage.read(4, 1) == 4  # saved pc; cause TICK's code
    assert m.state.get("ie") == 0


def test_wait_skips_to_the_next_tick_and_masked_wfi_wakes_without_delivery():
    m = _machine(WAITS)
    r = m.run(1000)
    assert r.reason == HALTED
    assert m.irq.delivered == 3 and m.state.get("r", 5) == 1  # wfi woke up with ie = 0 and ran on
    assert m.idle > 0 and m.steps + m.idle >= 4 * 20


def test_a_wait_nothing_can_end_stops_with_its_own_reason():
    m = _machine(WAITS, timer=0)
    r = m.run(1000)
    assert r.reason == WAIT_FOREVER and "with no interrupt source running" in r.detail
    no_irq = TICK.split("interrupts:")[0] + "contexts:" + TICK.split("contexts:")[1]
    m = _machine(WAITS, text=no_irq)
    assert m.run(1000).reason == WAIT_FOREVER


def test_a_source_without_a_period_runs_only_when_a_run_sets_one(tmp_path):
    text = _variant("{cause: TICK, period: 20, ", "{cause: TICK, ")
    assert _isa(text).interrupts[0].period is None
    assert "interrupt timer cause TICK enabled ie == 1" in to_isa(read_yaml(text, "t.yaml"))
    idle = _machine(WAITS, text=text)
    assert idle.run(1000).reason == WAIT_FOREVER and not idle.irq.active
    ticking = _machine(WAITS, text=text, timer=20)
    assert ticking.run(1000).reason == HALTED and ticking.irq.delivered == 3


def test_timer_option_sets_the_period():
    slow = _machine(TICKS, timer=50)
    slow.run(10_000)
    fast = _machine(TICKS, timer=7)
    fast.run(10_000)
    assert slow.steps > fast.steps
    assert (slow.stopped, fast.stopped) == (HALTED, HALTED)


def test_run_cli_timer_and_output(tmp_path):
    spec, prog = tmp_path / "tick.yaml", tmp_path / "waits.s"
    spec.write_text(TICK)
    prog.write_text(WAITS)
    r = invoke("run", spec, prog)
    assert r.exit_code == 0 and "interrupts: 3 delivered" in r.output, r.output
    r = invoke("run", spec, prog, "--timer", "0")
    assert r.exit_code == 0 and "waiting forever" in r.output  # an idle end, not a failure
    r = invoke("run", spec, prog, "--max-steps", "10")
    assert r.exit_code == 1 and "step limit" in r.output
    r = invoke("run", spec, prog, "--trace")
    assert "interrupt timer delivered" in r.output
    r = invoke("run", spec, prog, "--format", "json", "--trace")
    import json

    doc = json.loads(r.output)
    assert doc["interrupts"]["delivered"] == 3 and any(e["interrupt"] == "timer" for e in doc["trace"])
    from test_schemas import assert_valid

    assert_valid("run", doc)


# ---- the reference VMM -------------------------------------------------------------------


@pytest.mark.parametrize("program", [TICKS, WAITS])
@pytest.mark.parametrize("timer", [None, 7])
def test_vmm_injects_virtual_interrupts_equal_to_native(program, timer):
    isa = _isa()
    image = assemble(isa, program).image
    c = compare_run(isa, isa.contexts[0], image, max_steps=3000, timer=timer)
    assert c.equivalent, c.divergence and c.divergence.summary(isa)
    assert c.counters.injected > 0 and c.counters.timer_exits > 0
    native = Machine(isa, timer=timer)
    native.load_image(image)
    native.reset()
    native.run(3000)
    v = VMM(isa, isa.contexts[0])
    v.set_timer(timer)
    v.load_image(image)
    v.reset()
    v.run(3000)
    assert v.stopped == native.stopped or (v.stopped is None and native.stopped is None)
    assert v.counters.injected == native.irq.delivered
    assert v.counters.timer_exits == c.counters.timer_exits  # run() and step() count alike
    assert v.guest_view().v == native.state.v


def test_vmm_regains_control_from_a_guest_that_never_traps():
    isa = _isa()
    image = assemble(isa, SPIN).image
    v = VMM(isa, isa.contexts[0], quantum=100)
    v.set_timer(0)  # no guest timer: only the VMM's own
    v.load_image(image)
    v.reset()
    n = v.run(1000)
    assert n == 1000 and v.counters.timer_exits >= 9
    assert v.counters.direct >= 990  # the spinning user loop ran directly


def test_hybrid_vmm_agrees_too():
    isa = _isa()
    c = compare_run(isa, isa.contexts[0], assemble(isa, TICKS).image, kind=HYBRID, max_steps=3000)
    assert c.equivalent and c.counters.injected == 5


def test_an_unprivileged_silent_enable_write_diverges_under_the_vmm():
    """POPF's silent IF: `popie` writes ie in supervisor mode and does nothing in user
    mode, without trapping. A guest kernel (real user mode) that enables
    interrupts with it keeps them off under the VMM: no tick is delivered."""
    text = _variant(
        "  wfi:\n    semantics: wait\n",
        "  wfi:\n    semantics: wait\n  popie:\n    operands: [rs: reg]\n"
        "    semantics: |\n      if m == supervisor { ie = r[rs][0] }\n",
    )
    isa = _isa(text)
    prog = TICKS.replace("        sti\n", "        li   r6, 1\n        popie r6\n")
    c = compare_run(isa, isa.contexts[0], assemble(isa, prog).image, max_steps=3000)
    assert not c.equivalent and c.divergence.insn == "popie"


def test_confirm_reports_timer_exits(tmp_path):
    d = tmp_path / "tick"
    (d / "programs").mkdir(parents=True)
    (d / "tick.yaml").write_text(TICK)
    (d / "programs" / "ticks.s").write_text(TICKS)
    (d / "programs" / "waits.s").write_text(WAITS)
    r = invoke("confirm", d / "tick.yaml", "--no-witnesses", "--fuzz", "40", "--no-cache")
    assert r.exit_code == 0, r.output
    assert "exit(s) on the VMM's own timer" in r.output and "virtual interrupt(s) injected" in r.output
    r = invoke("confirm", d / "tick.yaml", "--no-witnesses", "--no-cache", "--format", "json", "--timer", "7")
    import json

    doc = json.loads(r.output)
    from test_schemas import assert_valid

    assert_valid("confirm", doc)
    runs = doc["contexts"][0]["programs"]
    assert all(p["equivalent"] for p in runs) and all(p["counters"]["interrupts_injected"] > 0 for p in runs)


def test_step_limit_is_still_a_step_limit():
    m = _machine(SPIN, timer=0)
    assert m.run(500).reason == STEP_LIMIT
