"""Extensions of the spec format (issue 17): each read alike by both syntaxes,
kept by `fmt`, and, where it has a meaning, given the same meaning by both
readings (symbolic and concrete).

* `ref:` per instruction: the manual's reference, in YAML and `.isa`, shown
  by `explain`;
* `fault_addr` in trap delivery: the virtual address of the access that
  raised a memory trap (0 for every other trap), in the simulator too;
* helpers that trap: a `proc` may `trap` and `require` (the trap ends the
  instruction, both readings agree); a `fn` may not, and says so at its
  FILE:LINE:COL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import z3
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.cli import main
from vmcheck.errors import SpecError
from vmcheck.machine import Machine, assemble
from vmcheck.machine.storage import Storage
from vmcheck.machine.translation import make_port
from vmcheck.semantics.concrete import compile_isa
from vmcheck.semantics.state import Layout, State
from vmcheck.semantics.symbolic import ARRAYS, KIND_NAMES, sym_isa
from vmcheck.spec.build import build_isa
from vmcheck.spec.isa_reader import read_isa
from vmcheck.spec.load import load_spec
from vmcheck.spec.printer import to_isa, to_yaml
from vmcheck.spec.yaml_reader import read_yaml

# A byte machine with relocation-bounds storage whose trap delivery records
# the cause and the faulting address.
FA = """\
isa: fa
word: 8
insn_width: 16
modes: [s, u]
state:
  pc: {width: 8, role: pc}
  m:  {width: 1, role: mode}
  r:  {count: 4, width: 8}
  rl: {width: 8, role: control}
  rb: {width: 8, role: control}
storage:
  size: 256
  unit: 8
  translation: {relocation: rl, bound: rb}
traps:
  causes: {BAD: 1, MEM: {code: 2, memory: true}}
  memory_cause: MEM
  deliver: |
    phys[0] = pc
    phys[1] = cause
    phys[2] = fault_addr
    phys[3] = trap_arg
    m = s
    pc = phys[4]
contexts:
  host: m == s
  guest: {g: {modes: {s: u, u: u}}}
helpers: |
  proc nonzero(v: 8) {
    require v != 0 else BAD(v)
  }
  proc checked(v: 8, limit: 8) {
    nonzero(v)
    if v > limit { trap(BAD, limit) }
  }
instructions:
  chk:
    operands: [a: reg, b: reg]
    semantics: |
      r[a] = r[a] + 1
      checked(r[a], r[b])
      r[b] = mem[r[a]]
  ld2:
    operands: [rd: reg, a: reg, b: reg]
    ref: "The fa manual, 2.1 Loads"
    semantics: r[rd] = mem[r[a]] + mem[r[b]]
  ld16:
    operands: [rd: reg, a: reg]
    semantics: r[rd] = mem16[r[a]][15:8]
  st2:
    operands: [a: reg, b: reg]
    semantics: |
      mem[r[a]] = r[b]
      mem[r[b]] = r[a]
  sel:
    operands: [rd: reg, a: reg, b: reg]
    semantics: |
      r[rd] = r[rd] == 0 ? mem[r[a]] : mem[r[b]]
  andthen:
    operands: [rd: reg, a: reg, b: reg]
    semantics: |
      if r[rd] != 0 && mem[r[a]] == 0 { r[rd] = mem[r[b]] }
  trapmem:
    semantics: trap(MEM)
  trapbad:
    operands: [a: reg]
    semantics: trap(BAD, r[a])
  stop:
    semantics: halt
"""


@pytest.fixture(scope="module")
def fa(tmp_path_factory):
    p = tmp_path_factory.mktemp("fa") / "fa.yaml"
    p.write_text(FA, encoding="utf-8")
    return load_spec(str(p))


# ---- ref: ---------------------------------------------------------------------


def test_ref_reads_the_same_in_both_syntaxes_and_fmt_keeps_it(fa):
    node = read_yaml(FA, "fa.yaml")
    isa_text = to_isa(node)
    assert 'instruction ld2(rd: reg, a: reg, b: reg) ref "The fa manual, 2.1 Loads"' in isa_text
    from_isa = build_isa(read_isa(isa_text, "fa.isa"), "fa.isa")
    assert from_isa == build_isa(node, "fa.yaml")
    assert from_isa.instruction("ld2").ref == "The fa manual, 2.1 Loads"
    assert from_isa.instruction("ld16").ref == ""
    assert "ref: The fa manual, 2.1 Loads" in to_yaml(read_isa(isa_text, "fa.isa"))


@pytest.mark.parametrize("bad", ['""', '"two\\nlines"', "[a, b]", '"' + "x" * 201 + '"'])
def test_ref_is_one_line_of_text(bad):
    text = FA.replace('ref: "The fa manual, 2.1 Loads"', f"ref: {bad}")
    with pytest.raises(SpecError) as e:
        build_isa(read_yaml(text, "fa.yaml"), "fa.yaml")
    d = e.value.diagnostics[0]
    assert d.span.file == "fa.yaml" and d.span.line == FA.splitlines().index('    ref: "The fa manual, 2.1 Loads"') + 1
    assert "ref" in d.message


def test_explain_shows_the_ref_under_the_title(tmp_path):
    p = tmp_path / "fa.yaml"
    p.write_text(FA, encoding="utf-8")
    r = CliRunner().invoke(main, ["explain", str(p), "ld2", "--no-cache", "--quiet"], env={"COLUMNS": "300"})
    lines = r.output.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("ld2 — "))
    assert lines[title + 1] == "  ref: The fa manual, 2.1 Loads"


# ---- fault_addr: both readings -------------------------------------------------

_INSNS = ("chk", "ld2", "ld16", "st2", "sel", "andthen", "trapmem", "trapbad", "stop")


def _concrete(isa, name, ops, regs, cells):
    compiled = compile_isa(isa)
    state = State(compiled.layout)
    for k, v in regs.items():
        if isinstance(v, list):
            for i, x in enumerate(v):
                state.set(k, x, i)
        else:
            state.set(k, v)
    storage = Storage(isa.storage, isa.insn_units)
    for a, v in cells.items():
        storage.write(a, 1, v)
    port = make_port(isa, storage, state, compiled.layout)
    out = compiled.execute(name, state, port, ops)
    if out.trapped:
        compiled.deliver(state, port, out.cause, out.arg, out.fault_addr)
    return out, state, [storage.read(a, 1) for a in range(5)]


def _symbolic(isa, name, ops, regs, cells):
    sym = sym_isa(isa)
    zr = {}
    for e in isa.elements:
        v = regs.get(e.name, 0)
        if e.is_file:
            arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
            for i, x in enumerate(v):
                arr = z3.Store(arr, z3.BitVecVal(i, e.index_width), z3.BitVecVal(x, e.width))
            zr[e.name] = arr
        else:
            zr[e.name] = z3.BitVecVal(v, e.width)
    insn = isa.instruction(name)
    E = z3.K(z3.BitVecSort(isa.storage.addr_width), z3.BitVecVal(0, isa.storage.unit))
    for a, v in cells.items():
        E = z3.Store(E, z3.BitVecVal(a, isa.storage.addr_width), z3.BitVecVal(v, isa.storage.unit))
    zops = {o.name: z3.BitVecVal(ops[o.name], o.width) for o in insn.operands}
    res = sym.instantiate(insn, zr, zops, {"E": E}, model=ARRAYS)

    def val(t):
        return z3.simplify(t).as_long()

    kind = KIND_NAMES[val(res.kind)]
    fault_addr = val(res.fault_addr)
    if kind in ("trap", "memtrap"):
        after, E2 = sym.deliver(zr, E, res.cause, res.arg, res.fault_addr)
        phys = [val(z3.Select(E2, z3.BitVecVal(a, isa.storage.addr_width))) for a in range(5)]
    else:
        phys = None
    return kind, fault_addr, phys


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(_INSNS),
    r=st.lists(st.integers(0, 255), min_size=4, max_size=4),
    rb=st.integers(0, 255),
    rl=st.integers(0, 255),
    ops=st.lists(st.integers(0, 3), min_size=3, max_size=3),
)
def test_fault_addr_is_read_alike_by_both_readings(fa, name, r, rb, rl, ops):
    insn = fa.instruction(name)
    opvals = {o.name: v for o, v in zip(insn.operands, ops)}
    regs = {"r": r, "rb": rb, "rl": rl, "pc": 9, "m": 1}
    cells = {4: 0x40, 9: 0x11}
    out, _, phys = _concrete(fa, name, opvals, regs, cells)
    kind, fault_addr, sphys = _symbolic(fa, name, opvals, regs, cells)
    ckind = "memtrap" if out.kind == "trap" and fa.traps.cause(out.cause).memory else out.kind
    assert kind == ckind
    assert fault_addr == out.fault_addr
    if out.kind != "memtrap" or name == "trapmem":
        assert out.fault_addr == 0  # only an access's fault carries an address
    if out.trapped:
        assert sphys == phys  # the delivery wrote the same cause, address and argument
        assert phys[2] == out.fault_addr


def test_fault_addr_is_the_first_faulting_access_and_the_start_of_a_wide_one(fa):
    regs = {"r": [0, 3, 7, 9], "rb": 8, "rl": 0, "pc": 9, "m": 1}
    out, _, phys = _concrete(fa, "ld2", {"rd": 0, "a": 2, "b": 3}, regs, {})
    assert out.kind == "memtrap" and out.fault_addr == 9 and phys[2] == 9  # r2 = 7 is legal, r3 = 9 not
    out, _, _ = _concrete(fa, "ld2", {"rd": 0, "a": 3, "b": 3}, dict(regs, r=[0, 3, 10, 9]), {})
    assert out.fault_addr == 9
    out, _, _ = _concrete(fa, "ld16", {"rd": 0, "a": 2}, regs, {})  # units 7 and 8: 8 is out
    assert out.kind == "memtrap" and out.fault_addr == 7
    out, _, _ = _concrete(fa, "st2", {"a": 1, "b": 3}, regs, {})  # mem[3] = 9 fine, mem[9] = 3 faults
    assert out.fault_addr == 9
    out, _, phys = _concrete(fa, "trapmem", {}, regs, {})
    assert out.kind == "memtrap" and out.fault_addr == 0 and phys[1] == 2


def test_simulator_delivers_the_fault_address(fa):
    m = Machine(fa)
    prog = assemble(fa, ".org 16\nld2 r0, r1, r2\n")
    m.load_image(prog.image)
    m.reset()
    m.state.set("pc", 16)
    m.state.set("rb", 200)
    m.state.set("r", 5, 1)
    m.state.set("r", 230, 2)
    m.step()
    assert [m.storage.read(a, 1) for a in range(3)] == [16, 2, 230]


def test_fault_addr_is_reserved_and_known_only_in_deliver():
    text = FA.replace(
        "  rb: {width: 8, role: control}\n", "  rb: {width: 8, role: control}\n  fault_addr: {width: 8}\n"
    )
    with pytest.raises(SpecError, match="'fault_addr' is reserved"):
        build_isa(read_yaml(text, "fa.yaml"), "fa.yaml")
    text = FA.replace("semantics: trap(MEM)", "semantics: r[0] = fault_addr")
    with pytest.raises(SpecError, match="fault_addr"):
        build_isa(read_yaml(text, "fa.yaml"), "fa.yaml")


def test_documented_in_the_format_reference():
    page = (Path(__file__).parents[1] / "docs" / "format.md").read_text(encoding="utf-8")
    assert "`fault_addr`" in page and "| `ref` |" in page


# ---- helpers that trap -----------------------------------------------------------


def test_a_proc_that_traps_ends_the_instruction(fa):
    base = {"rb": 200, "rl": 0, "pc": 9, "m": 1}
    out, state, phys = _concrete(fa, "chk", {"a": 1, "b": 2}, dict(base, r=[0, 255, 9, 0]), {})
    assert (out.kind, out.cause, out.arg) == ("trap", "BAD", 0)  # r1 + 1 == 0: require ... else BAD(v)
    assert state.get("r", 1) == 255 and phys[1:4] == [1, 0, 0]  # delivered; the write to r1 discarded
    out, _, phys = _concrete(fa, "chk", {"a": 1, "b": 2}, dict(base, r=[0, 20, 9, 0]), {})
    assert (out.kind, out.cause, out.arg) == ("trap", "BAD", 9) and phys[3] == 9  # 21 > 9: trap(BAD, limit)
    out, state, _ = _concrete(fa, "chk", {"a": 1, "b": 2}, dict(base, r=[0, 5, 9, 0]), {6: 77})
    assert out.kind == "ok" and state.get("r", 1) == 6 and state.get("r", 2) == 77


def test_a_fn_that_traps_is_refused_at_its_line_and_column():
    fn = """  fn half(v: 8) -> 8 {
    require v != 0 else BAD
    v >> 1
  }
"""
    text = FA.replace("helpers: |\n", "helpers: |\n" + fn)
    with pytest.raises(SpecError) as e:
        build_isa(read_yaml(text, "fa.yaml"), "fa.yaml")
    d = e.value.diagnostics[0]
    line = text.splitlines().index("    require v != 0 else BAD") + 1
    assert (d.span.file, d.span.line, d.span.col) == ("fa.yaml", line, 5)
    assert d.message == "fn 'half' cannot require: a fn gives a value inside an expression"
    text = FA.replace("helpers: |\n", "helpers: |\n" + fn.replace("require v != 0 else BAD", "trap(BAD)"))
    with pytest.raises(SpecError, match="fn 'half' cannot trap"):
        build_isa(read_yaml(text, "fa.yaml"), "fa.yaml")


def test_a_trap_in_a_proc_keeps_its_location():
    text = FA.replace("require v != 0 else BAD(v)", "require v != 0 else NOPE(v)")
    with pytest.raises(SpecError) as e:
        build_isa(read_yaml(text, "fa.yaml"), "fa.yaml")
    d = e.value.diagnostics[0]
    line = text.splitlines().index("    require v != 0 else NOPE(v)") + 1
    assert (d.span.line, d.span.col, d.message) == (line, 5, "unknown trap cause 'NOPE'")


# ---- privilege expressions in `as` ---------------------------------------------------

PV = """\
isa: pv
word: 8
insn_width: 16
modes: [s, u]
state:
  pc: {width: 8, role: pc}
  m:  {width: 1, role: mode}
  st: {width: 8, role: control, fields: {pm: 0, ie: 1}}
  r:  {count: 4, width: 8}
storage: {size: 256, unit: 8, translation: none}
traps:
  causes: {MEM: {code: 2, memory: true}}
  memory_cause: MEM
  deliver: |
    m = s
    pc = phys[4]
contexts:
  host: m == s
  guest: {g: {modes: {s: u, u: u}}}
instructions:
  ldx:
    operands: [rd: reg, a: reg]
    semantics: r[rd] = mem[r[a]] as (st.pm)
  stx:
    operands: [a: reg, b: reg]
    semantics: |
      let lv = st.pm
      st.ie = 1
      mem[r[a]] as lv = r[b]
  ldu:
    operands: [rd: reg, a: reg]
    semantics: r[rd] = mem[r[a]] as u
"""


@pytest.fixture(scope="module")
def pv(tmp_path_factory):
    p = tmp_path_factory.mktemp("pv") / "pv.yaml"
    p.write_text(PV, encoding="utf-8")
    return load_spec(str(p))


@pytest.mark.parametrize("name", ["ldx", "stx", "ldu"])
@pytest.mark.parametrize("mode,pm", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_privilege_expression_is_read_alike_by_the_view_and_the_concrete_replay(pv, name, mode, pm):
    """In the engine's shared view an access made at a level other than the
    current one has its own fault token; the concrete reading (replayed on the
    solver's model) must pick the same level, or the replay fails."""
    from vmcheck.analysis.witness_check import replay
    from vmcheck.semantics.symbolic import VIEW

    sym = sym_isa(pv)
    insn = pv.instruction(name)
    res = sym.execute(insn, VIEW)
    ops = sym.operand_vars(insn)
    regs, storage = sym.canon, sym.canon_storage
    s = z3.Solver()
    addr = z3.BitVecVal(5, sym.vaw)
    a_reg = z3.Select(regs["r"], ops["a"])
    s.add(a_reg == 5, regs["m"] == mode, z3.Extract(0, 0, regs["st"]) == pm)
    for kind in (0, 1):  # only an access at the *other* level (token 2 = u, 1 = s) faults
        for tok, faults in ((0, False), (1, True), (2, True)):
            f = sym.fault(z3.BitVecVal(kind, 1), z3.BitVecVal(tok, sym.tok_width), addr)
            s.add(f if faults else z3.Not(f))
    assert s.check() == z3.sat
    model = s.model()
    level = 1 if name == "ldu" else pm
    expect = "memtrap" if level != mode else "ok"
    assert KIND_NAMES[model.eval(res.kind, model_completion=True).as_long()] == expect
    rep = replay(sym, insn, model, ops, "s", regs, storage, res)  # raises if the readings differ
    assert rep.kind == expect


def test_privilege_expression_errors_keep_their_location(pv):
    for old, new, message in (
        ("mem[r[a]] as (st.pm)", "mem[r[a]] as (st)", "a privilege is a level's code of 1 bits"),
        ("mem[r[a]] as (st.pm)", "mem[r[a]] as (mem[0][0])", "a privilege expression cannot read storage"),
        ("mem[r[a]] as (st.pm)", "mem[r[a]] as nope", "'as nope': no privilege level of that name"),
        ("mem[r[a]] as (st.pm)", "phys[r[a]] as (st.pm)", "phys[...] is untranslated"),
    ):
        text = PV.replace(old, new)
        with pytest.raises(SpecError) as e:
            build_isa(read_yaml(text, "pv.yaml"), "pv.yaml")
        d = e.value.diagnostics[0]
        line = next(i for i, t in enumerate(text.splitlines(), 1) if new in t)
        assert d.span.line == line and message in d.message, (d.span, d.message)
    text = PV.replace("mem[r[a]] as (st.pm)", "mem[r[a]] as (st.pm)")
    assert to_yaml(read_isa(to_isa(read_yaml(text, "pv.yaml")), "pv.isa")).count("as (st.pm)") == 1


# ---- fault_addr under the reference VMM ------------------------------------------


def test_the_vmm_delivers_the_fault_address_the_bare_machine_delivers():
    """A guest load past its bound, reflected by the classic VMM: the guest's
    handler sees the same `fault_addr` (stored at phys[2]) as on the bare machine."""
    from vmcheck.hypervisor.lockstep import compare_run
    from vmcheck.machine.assembler import assemble

    isa = build_isa(read_yaml(FA, "fa.yaml"), "fa.yaml")
    # one step: the guest kernel's load of 150, past its bound of 100, and its delivery
    image = assemble(isa, ".org 4\n.word 32\n.org 32\nstop\n.org 64\nld2 r0, r1, r2\n", "p.s").image
    start = State(Layout.of(isa))
    for name, value in (("pc", 64), ("m", 0), ("rb", 100), ("rl", 0)):
        start.set(name, value)
    start.set("r", 150, 1)
    c = compare_run(isa, isa.context("g"), image, start=start, max_steps=1)
    assert c.equivalent, c.divergence
    assert c.counters.reflected == 1
