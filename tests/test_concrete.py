"""The concrete semantics (generated Python) against the IR contract.

Two kinds of test: small specs that pin one rule each (arithmetic, zero
registers, partial writes, precise traps, reads after writes...), and a
differential test that runs random instruction bodies both through the
compiled code and through `reference_execute`, a plain tree walk written
straight from `spec/ir.py`'s docstring.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.semantics.concrete import HALT, OK, compile_isa
from vmcheck.semantics.state import WAIT, MemoryTrap, Outcome, State
from vmcheck.spec import ir, operators
from vmcheck.spec.ir import mask
from vmcheck.spec.load import load_spec

# --------------------------------------------------------------------------
# A small spec to hang single instructions on
# --------------------------------------------------------------------------

LAB = """\
isa: lab
word: 8
modes: [s, u]
state:
  pc: {{width: 8, role: pc}}
  m:  {{width: 1, role: mode}}
  x:  {{width: 8}}
  y:  {{width: 16}}
  r:  {{count: 4, width: 8, zero: 0}}
  q:  {{count: 4, width: 8}}
insn_width: 32
storage: {{size: 256, unit: 8}}
traps:
  causes: {{BAD: 1, MEM: {{code: 2, memory: true}}, ADDR: {{code: 3, memory: true}}}}
  memory_cause: MEM
  cause_width: 8
  deliver: |
    phys[0] = pc
    phys[1] = cause
    phys[2] = trap_arg
    pc = phys[3]
    m = s
contexts:
  host: m == s
  guest: {{g: {{modes: {{s: u, u: u}}}}}}
instructions:
{instructions}
"""


def lab(tmp_path: Path, instructions: str) -> ir.Isa:
    p = tmp_path / "lab.yaml"
    p.write_text(LAB.format(instructions=textwrap.indent(textwrap.dedent(instructions), "  ")))
    return load_spec(str(p))


class DictPort:
    """Storage as a dict keyed by (space, addr, nbits, priv); addresses in
    `bad` memory-trap on "mem" accesses. Records every store in order."""

    def __init__(self, init: dict | None = None, bad: set[int] = frozenset()):
        self.cells = dict(init or {})
        self.bad = bad
        self.log: list[tuple] = []

    def _check(self, space, addr):
        if space == "mem" and addr in self.bad:
            raise MemoryTrap("MEM", addr)

    def load(self, space, addr, nbits, priv):
        self._check(space, addr)
        return self.cells.get((space, addr, nbits, priv), (addr * 37 + nbits) & mask(nbits))

    def check_store(self, space, addr, nbits, priv):
        self._check(space, addr)

    def store(self, space, addr, nbits, priv, value):
        assert 0 <= value <= mask(nbits)
        self.log.append((space, addr, nbits, priv, value))
        self.cells[(space, addr, nbits, priv)] = value


def with_short_q(isa: ir.Isa) -> ir.Isa:
    """`isa` with file q cut to 3 registers, so a 2-bit index can point past
    its end (the loader only accepts power-of-two files; the IR allows more)."""
    elements = tuple(dataclasses.replace(e, count=3) if e.name == "q" else e for e in isa.elements)
    return dataclasses.replace(isa, elements=elements)


def run1(isa: ir.Isa, name: str, ops: dict | None = None, port=None, **regs) -> tuple[Outcome, State]:
    c = compile_isa(isa)
    state = State(c.layout)
    for k, v in regs.items():
        if isinstance(v, list):
            for i, x in enumerate(v):
                state.set(k, x, i)
        else:
            state.set(k, v)
    out = c.execute(name, state, port or DictPort(), ops or {})
    return out, state


# --------------------------------------------------------------------------
# One rule at a time
# --------------------------------------------------------------------------


def test_arithmetic_wraps_modulo_the_width(tmp_path):
    isa = lab(
        tmp_path,
        """
        f:
          operands: [a: imm8, b: imm8]
          semantics: |
            x = a + b
            y = zext(a, 16) * zext(b, 16) + 0xFFFF
    """,
    )
    out, s = run1(isa, "f", {"a": 200, "b": 100})
    assert out is OK
    assert s.get("x") == 44
    assert s.get("y") == (200 * 100 + 0xFFFF) & 0xFFFF
    assert s.get("pc") == 4  # advanced by insn_units = 32 / 8


@pytest.mark.parametrize("a,b,q,r", [(200, 7, 28, 4), (5, 0, 255, 5), (0, 0, 255, 0)])
def test_udiv_urem_by_zero(tmp_path, a, b, q, r):
    isa = lab(
        tmp_path,
        """
        d:
          operands: [a: imm8, b: imm8]
          semantics: |
            x = a / b
            r[1] = a % b
    """,
    )
    _, s = run1(isa, "d", {"a": a, "b": b})
    assert (s.get("x"), s.get("r", 1)) == (q, r)


def test_shifts_and_signed_compares(tmp_path):
    isa = lab(
        tmp_path,
        """
        sh:
          operands: [a: imm8, n: imm8]
          semantics: |
            x = a >>> n
            r[1] = a << n
            r[2] = a >> n
            r[3] = slt(a, 0x10) ? 1 : 0
    """,
    )
    _, s = run1(isa, "sh", {"a": 0x90, "n": 3})
    assert s.get("x") == 0xF2  # arithmetic: the sign bit fills in
    assert s.get("r", 1) == (0x90 << 3) & 0xFF
    assert s.get("r", 2) == 0x12
    assert s.get("r", 3) == 1  # 0x90 is negative
    _, s = run1(isa, "sh", {"a": 0x90, "n": 200})  # an amount past the width
    assert (s.get("x"), s.get("r", 1), s.get("r", 2)) == (0xFF, 0, 0)


def test_ext_concat_slice(tmp_path):
    isa = lab(
        tmp_path,
        """
        e:
          operands: [a: imm8]
          semantics: |
            y = sext(a, 16)
            x = concat(a[3:0], a[7:4])
            r[1] = zext(a[7:7], 8)
    """,
    )
    _, s = run1(isa, "e", {"a": 0xA5})
    assert s.get("y") == 0xFFA5
    assert s.get("x") == 0x5A  # first part most significant
    assert s.get("r", 1) == 1


def test_zero_register_reads_zero_and_drops_writes(tmp_path):
    isa = lab(
        tmp_path,
        """
        mv:
          operands: [d: reg(r), s: reg(r)]
          semantics: |
            r[d] = 7
            x = r[d] + r[s]
    """,
    )
    _, s = run1(isa, "mv", {"d": 0, "s": 2}, r=[9, 0, 5, 0])
    assert s.get("r", 0) == 9  # untouched: writes to the zero register are dropped
    assert s.get("x") == 5  # and it reads 0, even after the write
    _, s = run1(isa, "mv", {"d": 1, "s": 2}, r=[0, 0, 5, 0])
    assert (s.get("r", 1), s.get("x")) == (7, 12)


def test_index_past_a_files_end_reads_zero(tmp_path):
    isa = with_short_q(
        lab(
            tmp_path,
            """
        rq:
          operands: [i: reg(q)]
          semantics: |
            q[i] = 1
            x = q[i]
    """,
        )
    )
    _, s = run1(isa, "rq", {"i": 3}, q=[4, 5, 6])
    assert s.get("q") == 4 and s.v[-3:] == [4, 5, 6]
    assert s.get("x") == 0


def test_partial_writes_and_reads_after_them(tmp_path):
    isa = lab(
        tmp_path,
        """
        p:
          operands: [i: reg(r)]
          semantics: |
            y[15:8] = 0xAB
            r[i][3:0] = 0xF
            x = y[15:8] + r[i]
    """,
    )
    _, s = run1(isa, "p", {"i": 2}, y=0x1234, r=[0, 0, 0x50, 0])
    assert s.get("y") == 0xAB34
    assert s.get("r", 2) == 0x5F
    assert s.get("x") == (0xAB + 0x5F) & 0xFF


def test_reads_see_earlier_writes_of_the_same_instruction(tmp_path):
    isa = lab(
        tmp_path,
        """
        w:
          operands: [i: reg(r), j: reg(r), a: imm8]
          semantics: |
            r[i] = 11
            mem[a] = 22
            r[j] = r[i] + mem[a]
            x = r[j] + mem[a + 1]
    """,
    )
    port = DictPort({("mem", 6, 8, None): 3})
    _, s = run1(isa, "w", {"i": 1, "j": 1, "a": 5}, port=port)
    assert s.get("r", 1) == 33  # the second write wins
    assert s.get("x") == 36  # r[j] as just written, plus the untouched cell
    assert port.log == [("mem", 5, 8, None, 22)]
    _, s = run1(isa, "w", {"i": 1, "j": 2, "a": 5})
    assert (s.get("r", 1), s.get("r", 2)) == (11, 33)


def test_conditional_writes_are_seen_only_if_they_ran(tmp_path):
    isa = lab(
        tmp_path,
        """
        c:
          operands: [i: reg(r), a: imm8]
          semantics: |
            if a == 1 { r[i] = 9; mem[a] = 9; pc = 100 }
            x = r[i] + mem[1]
    """,
    )
    port = DictPort({("mem", 1, 8, None): 1})
    _, s = run1(isa, "c", {"i": 2, "a": 1}, port=port, r=[0, 0, 4, 0])
    assert (s.get("x"), s.get("pc")) == (18, 100)
    port = DictPort({("mem", 1, 8, None): 1})
    _, s = run1(isa, "c", {"i": 2, "a": 0}, port=port, r=[0, 0, 4, 0], pc=10)
    assert (s.get("x"), s.get("pc")) == (5, 14)
    assert port.log == []


def test_writes_in_an_earlier_if_are_seen_only_if_they_ran(tmp_path):
    # The read and the halt's commit sit in a second `if`: whether the first
    # one's writes ran is known only at run time.
    isa = lab(
        tmp_path,
        """
        c2:
          operands: [a: imm8]
          semantics: |
            if a == 1 { pc = 50; r[1] = 9; mem[2] = 9 }
            if a != 7 { x = r[1] + mem[2]; halt }
    """,
    )
    port = DictPort({("mem", 2, 8, None): 1})
    out, s = run1(isa, "c2", {"a": 0}, port=port, r=[0, 3, 0, 0], pc=10)
    assert out is HALT and (s.get("x"), s.get("pc"), s.get("r", 1)) == (4, 14, 3) and port.log == []
    out, s = run1(isa, "c2", {"a": 1}, port=port, r=[0, 3, 0, 0], pc=10)
    assert out is HALT and (s.get("x"), s.get("pc"), s.get("r", 1)) == (18, 50, 9)


def test_trap_discards_every_write(tmp_path):
    isa = lab(
        tmp_path,
        """
        t:
          operands: [a: imm8]
          semantics: |
            x = 1
            r[1] = 2
            mem[a] = 3
            pc = 50
            trap(BAD, a)
    """,
    )
    port = DictPort()
    out, s = run1(isa, "t", {"a": 7}, port=port)
    assert out == Outcome("trap", "BAD", 7)
    assert s.v == State(s.layout).v and port.log == []


def test_memory_trap_discards_every_write(tmp_path):
    isa = lab(
        tmp_path,
        """
        mt:
          operands: [a: imm8]
          semantics: |
            x = 1
            mem[0] = 5
            r[1] = mem[a]
    """,
    )
    port = DictPort(bad={9})
    out, s = run1(isa, "mt", {"a": 9}, port=port)
    assert out.kind == "memtrap" and out.cause == "MEM"
    assert s.get("x") == 0 and s.get("pc") == 0 and port.log == []
    # check_store traps at the statement, before anything is stored.
    isa = lab(
        tmp_path,
        """
        st2:
          semantics: |
            mem[1] = 1
            mem[9] = 2
    """,
    )
    port = DictPort(bad={9})
    out, _ = run1(isa, "st2", port=port)
    assert out.kind == "memtrap" and port.log == []


def test_trap_with_a_memory_cause_is_a_memory_trap(tmp_path):
    isa = lab(
        tmp_path,
        """
        ae:
          operands: [a: imm8]
          semantics: |
            x = a
            if a >= 0x80 { trap(ADDR, a) }
    """,
    )
    out, s = run1(isa, "ae", {"a": 0x90})
    assert out == Outcome("memtrap", "ADDR", 0x90) and out.trapped
    assert s.get("x") == 0
    out, s = run1(isa, "ae", {"a": 0x10})
    assert out is OK and s.get("x") == 0x10


def test_halt_keeps_writes(tmp_path):
    isa = lab(
        tmp_path,
        """
        h:
          semantics: |
            x = 5
            mem[3] = 4
            halt
    """,
    )
    port = DictPort()
    out, s = run1(isa, "h", port=port)
    assert out is HALT
    assert s.get("x") == 5 and port.log == [("mem", 3, 8, None, 4)]
    assert s.get("pc") == 4  # a halting instruction completes: the pc advances


def test_reads_see_pending_stores_cell_by_cell(tmp_path):
    # Through the simulator's port, which can say which cells an access
    # touches: a phys store behind a mem address, and overlapping widths.
    from vmcheck.machine import Machine

    isa = load_spec(
        str(
            _write(
                tmp_path,
                LAB.format(instructions="")
                .replace(
                    "storage: {size: 256, unit: 8}",
                    "storage: {size: 256, unit: 8, translation: {relocation: rl, bound: rb}}",
                )
                .replace(
                    "  q:  {count: 4, width: 8}",
                    "  q:  {count: 4, width: 8}\n  rl: {width: 8, role: control}\n  rb: {width: 8, role: control}",
                )
                + textwrap.indent(
                    textwrap.dedent("""
        ov:
          operands: [a: imm8]
          semantics: |
            mem32[a] = 0x44332211
            phys[a + rl + 1] = 0xAA
            mem16[a + 2] = 0xCCBB
            y = mem32[a][31:16]
            x = mem32[a][15:8]
            r[1] = mem[a]
            r[2] = phys[a + rl + 4]
    """),
                    "  ",
                ),
            )
        )
    )
    m = Machine(isa)
    m.state.set("rl", 100)
    m.state.set("rb", 200)
    m.storage.write(104 + 10, 1, 0x77)
    out = compile_isa(isa).execute("ov", m.state, m.port, {"a": 10})
    assert out is OK
    assert (m.state.get("y"), m.state.get("x"), m.state.get("r", 1), m.state.get("r", 2)) == (0xCCBB, 0xAA, 0x11, 0x77)
    assert m.storage.read(110, 4) == 0xCCBBAA11


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    return p


def test_stores_commit_in_program_order(tmp_path):
    isa = lab(
        tmp_path,
        """
        so:
          operands: [a: imm8, b: imm8]
          semantics: |
            mem[a] = 1
            phys[b] = 2
            mem[b] = 3
    """,
    )
    port = DictPort()
    run1(isa, "so", {"a": 4, "b": 4}, port=port)
    assert port.log == [("mem", 4, 8, None, 1), ("phys", 4, 8, None, 2), ("mem", 4, 8, None, 3)]


def test_choice_is_lazy_no_trap_from_the_branch_not_taken(tmp_path):
    isa = lab(
        tmp_path,
        """
        lz:
          operands: [a: imm8]
          semantics: |
            x = a == 0 ? 0 : mem[a]
            r[1] = (a != 0 && mem[a] == 1) ? 1 : 2
    """,
    )
    out, s = run1(isa, "lz", {"a": 0}, port=DictPort(bad={0}))
    assert out is OK and s.get("x") == 0 and s.get("r", 1) == 2
    out, _ = run1(isa, "lz", {"a": 9}, port=DictPort(bad={9}))
    assert out.kind == "memtrap"


def test_operands_may_be_given_negative_or_as_a_tuple(tmp_path):
    isa = lab(
        tmp_path,
        """
        n:
          operands: [a: simm8]
          semantics: x = a
    """,
    )
    c = compile_isa(isa)
    s = State(c.layout)
    assert c.execute("n", s, DictPort(), {"a": -1}) is OK and s.get("x") == 0xFF
    assert c.execute("n", s, DictPort(), (3,)) is OK and s.get("x") == 3
    with pytest.raises(ValueError):
        c.execute("n", s, DictPort(), {"b": 1})


def test_deliver_runs_the_trap_block(tmp_path):
    isa = lab(
        tmp_path,
        """
        nop:
          semantics: x = x
    """,
    )
    c = compile_isa(isa)
    s = State(c.layout)
    s.set("pc", 12)
    s.set("m", 1)
    port = DictPort({("phys", 3, 8, None): 40})
    assert c.deliver(s, port, "BAD", 0x1FF) is OK
    assert port.log == [("phys", 0, 8, None, 12), ("phys", 1, 8, None, 1), ("phys", 2, 8, None, 0xFF)]
    assert (s.get("pc"), s.get("m")) == (40, 0)  # delivery does not advance the pc


def test_pg_toy_instructions(tmp_path):
    isa = load_spec("pg-toy")
    c = compile_isa(isa)
    s = State(c.layout)
    s.set("rb", 100)
    s.set("r", 10, 1)
    port = DictPort({("mem", 15, 32, None): 77})
    assert c.execute("ld", s, port, {"rd": 2, "off": 5, "rs": 1}) is OK
    assert s.get("r", 2) == 77 and s.get("pc") == 1
    assert c.execute("lpsw", s, port, {"rs": 1}) is OK  # in supervisor mode
    s.set("m", 1)
    assert c.execute("getr", s, port, {"rd": 3}) == Outcome("trap", "PRIV")
    assert c.execute("svc", s, port, {"code": 9}) == Outcome("trap", "SVC", 9)


def test_compiled_code_is_readable_and_cached(tmp_path, monkeypatch):
    isa = load_spec("pg-toy")
    c = compile_isa(isa)
    assert compile_isa(isa) is c
    assert "<vmcheck:pg-toy:ld>" in c.source and "def execute_ld(state, port, ops):" in c.source
    assert c["ld"].filename == "<vmcheck:pg-toy:ld>"
    assert c["ld"].fn.__code__.co_filename == "<vmcheck:pg-toy:ld>"
    monkeypatch.setenv("VMCHECK_DUMP_CODE", str(tmp_path))
    compile_isa(load_spec("pg-toy"))  # a new Isa object: compiled again, and dumped
    assert "def deliver(state, port, l_cause, l_trap_arg, l_fault_addr=0):" in (tmp_path / "pg-toy.py").read_text()


# --------------------------------------------------------------------------
# The reference: a tree walk written from the contract
# --------------------------------------------------------------------------


class _Raised(Exception):
    def __init__(self, outcome):
        self.outcome = outcome


class _Halted(Exception):
    pass


class _Waited(Exception):
    pass


def _signed(x: int, w: int) -> int:
    return x - (1 << w) if x >> (w - 1) else x


def reference_execute(isa, stmts, state, port, ops, locals_=None, advance_pc=True) -> Outcome:
    layout = state.layout
    v = state.v
    regs: dict[str, int] = {}
    files: dict[tuple[str, int], int] = {}
    stores: list[tuple] = []
    env = dict(locals_ or {})
    elems = {e.name: e for e in isa.elements}

    def file_read(f, i):
        el = elems[f]
        if (el.zero is not None and i == el.zero) or i >= el.count:
            return 0
        return files.get((f, i), v[layout.slots[f] + i])

    def ev(e):
        t = type(e)
        if t is ir.Lit:
            return e.value
        if t is ir.Local:
            return env[e.name]
        if t is ir.Operand:
            return ops[e.name]
        if t is ir.Reg:
            return regs.get(e.elem, v[layout.slots[e.elem]])
        if t is ir.FileRead:
            return file_read(e.file, ev(e.index))
        if t is ir.Slice:
            return (ev(e.value) >> e.lo) & mask(e.hi - e.lo + 1)
        if t is ir.Mem:
            a = ev(e.addr)
            for sp, sa, sn, spv, sv in reversed(stores):
                if (sp, sa, sn, spv) == (e.space, a, e.nbits, e.priv):
                    return sv
            return port.load(e.space, a, e.nbits, e.priv)
        if t is ir.Un:
            return operators.UNARY[e.op].apply(ev(e.value), e.width)
        if t is ir.Ite:
            return ev(e.then) if ev(e.cond) else ev(e.orelse)
        if t is ir.Ext:
            x = ev(e.value)
            return (_signed(x, e.value.width) & mask(e.width)) if e.signed else x
        if t is ir.Concat:
            out = 0
            for p in e.parts:
                out = (out << p.width) | ev(p)
            return out
        if t is ir.Bin:
            # The meaning of every operator is the operator table's; the oracle
            # adds only the laziness of `land`/`lor` (the right side's storage
            # reads must not run when the left side decides).
            a = ev(e.left)
            if (e.op == "land" and not a) or (e.op == "lor" and a):
                return int(e.op == "lor")
            return operators.BINARY[e.op].apply(a, ev(e.right), e.left.width)
        raise AssertionError(t)

    def ex(stmts):
        for s in stmts:
            t = type(s)
            if t is ir.Let:
                env[s.name] = ev(s.value)
            elif t is ir.Assign:
                tg = s.target
                if type(tg) is ir.RegTarget:
                    val = ev(s.value)
                    el = elems[tg.elem]
                    keep = mask(el.width) & ~(mask(tg.hi - tg.lo + 1) << tg.lo)
                    regs[tg.elem] = (regs.get(tg.elem, v[layout.slots[tg.elem]]) & keep) | (val << tg.lo)
                elif type(tg) is ir.FileTarget:
                    i = ev(tg.index)
                    val = ev(s.value)
                    el = elems[tg.file]
                    keep = mask(el.width) & ~(mask(tg.hi - tg.lo + 1) << tg.lo)
                    if not ((el.zero is not None and i == el.zero) or i >= el.count):
                        files[(tg.file, i)] = (file_read(tg.file, i) & keep) | (val << tg.lo)
                else:
                    a = ev(tg.addr)
                    val = ev(s.value)
                    port.check_store(tg.space, a, tg.nbits, tg.priv)
                    stores.append((tg.space, a, tg.nbits, tg.priv, val))
            elif t is ir.If:
                ex(s.then if ev(s.cond) else s.orelse)
            elif t is ir.Trap:
                kind = "memtrap" if isa.traps.cause(s.cause).memory else "trap"
                arg = ev(s.arg) & mask(isa.traps.cause_width) if s.arg is not None else 0
                raise _Raised(Outcome(kind, s.cause, arg))
            elif t is ir.Halt:
                raise _Halted()
            elif t is ir.Wait:
                raise _Waited()

    try:
        ex(stmts)
        result = OK
    except _Halted:
        result = HALT
    except _Waited:
        result = WAIT
    except _Raised as r:
        return r.outcome
    except MemoryTrap as e:
        return Outcome("memtrap", e.cause)
    for elem, val in regs.items():
        v[layout.slots[elem]] = val
    if advance_pc and isa.pc not in regs:
        pcs = layout.slots[isa.pc]
        v[pcs] = (v[pcs] + isa.insn_units) & mask(elems[isa.pc].width)
    for (f, i), val in files.items():
        v[layout.slots[f] + i] = val
    for sp, a, n, pv, val in stores:
        port.store(sp, a, n, pv, val)
    return result


# --------------------------------------------------------------------------
# Random instruction bodies: compiled == reference
# --------------------------------------------------------------------------

WIDTHS = (1, 8, 16)


def small(width: int, depth: int, lets) -> st.SearchStrategy:
    """A `width`-bit index or address, from few enough values that reads and
    writes of the same instruction often meet."""
    return st.one_of(
        st.integers(0, mask(width)).map(lambda x: ir.Lit(x, width)),
        st.sampled_from([ir.Slice(ir.Operand("a", 8), width - 1, 0), ir.Slice(ir.Reg("x", 8), width - 1, 0)]),
        exprs(8, depth, lets).map(lambda e: ir.Slice(e, width - 1, 0)),
    )


@st.composite
def exprs(draw, width: int, depth: int, lets: tuple[tuple[str, int], ...]):
    """A random expression of `width` bits (0: boolean) over the lab spec."""
    leaves = []
    if width == 0:
        leaves.append(st.booleans().map(lambda b: ir.Lit(int(b), 0)))
    else:
        leaves.append(st.integers(0, mask(width)).map(lambda x: ir.Lit(x, width)))
        if width == 8:
            leaves += [st.sampled_from([ir.Operand("a", 8), ir.Operand("b", 8), ir.Reg("x", 8), ir.Reg("pc", 8)])]
        if width == 16:
            leaves.append(st.just(ir.Reg("y", 16)))
        if width == 1:
            leaves.append(st.just(ir.Reg("m", 1)))
        leaves += [st.just(ir.Local(n, w)) for n, w in lets if w == width]
    if depth <= 0:
        return draw(st.one_of(leaves))
    sub = lambda w: exprs(w, depth - 1, lets)  # noqa: E731
    if width == 0:
        k = draw(st.integers(0, 3))
        if k == 0:
            return draw(st.one_of(leaves))
        if k == 1:
            w = draw(st.sampled_from(WIDTHS))
            return ir.Bin(draw(st.sampled_from(ir.COMPARE_OPS)), draw(sub(w)), draw(sub(w)), 0)
        if k == 2:
            return ir.Bin(draw(st.sampled_from(ir.LOGIC_OPS)), draw(sub(0)), draw(sub(0)), 0)
        return ir.Un("lnot", draw(sub(0)), 0)
    k = draw(st.integers(0, 9))
    if k == 0:
        return draw(st.one_of(leaves))
    if k == 1:
        op = draw(st.sampled_from(ir.ARITH_OPS))
        rw = draw(st.sampled_from(WIDTHS)) if op in ("shl", "lshr", "ashr") else width
        return ir.Bin(op, draw(sub(width)), draw(sub(rw)), width)
    if k == 2:
        return ir.Un(draw(st.sampled_from(["neg", "not"])), draw(sub(width)), width)
    if k == 3:
        return ir.Ite(draw(sub(0)), draw(sub(width)), draw(sub(width)), width)
    if k == 4 and width > 1:
        w = draw(st.sampled_from([w for w in WIDTHS if w <= width]))
        return ir.Ext(draw(st.booleans()), draw(sub(w)), width)
    if k == 5:
        w = draw(st.sampled_from([w for w in WIDTHS if w >= width]))
        lo = draw(st.integers(0, w - width))
        return ir.Slice(draw(sub(w)), lo + width - 1, lo)
    if k == 6 and width == 16:
        return ir.Concat((draw(sub(8)), draw(sub(8))), 16)
    if k == 7 and width == 8:
        return ir.FileRead(draw(st.sampled_from(["r", "q"])), draw(small(2, depth - 1, lets)), 8)
    if k == 8 and width in (8, 16):
        return ir.Mem(draw(st.sampled_from(["mem", "phys"])), draw(small(3, depth - 1, lets)), width)
    return draw(st.one_of(leaves))


@st.composite
def targets(draw, depth: int, lets):
    k = draw(st.integers(0, 3))
    if k == 0:
        el, w = draw(st.sampled_from([("x", 8), ("y", 16), ("m", 1), ("pc", 8)]))
        lo = draw(st.integers(0, w - 1))
        hi = draw(st.integers(lo, w - 1))
        return ir.RegTarget(el, hi, lo), hi - lo + 1
    if k == 1:
        lo = draw(st.integers(0, 7))
        hi = draw(st.integers(lo, 7))
        return ir.FileTarget(draw(st.sampled_from(["r", "q"])), draw(small(2, depth, lets)), hi, lo), hi - lo + 1
    w = draw(st.sampled_from([8, 16]))
    return ir.MemTarget(draw(st.sampled_from(["mem", "phys"])), draw(small(3, depth, lets)), w), w


@st.composite
def blocks(draw, depth: int, lets, size: int):
    out = []
    for _ in range(draw(st.integers(1, size))):
        k = draw(st.integers(0, 13))
        if k <= 7:
            t, w = draw(targets(1, lets))
            out.append(ir.Assign(t, draw(exprs(w, 2, lets))))
        elif k <= 10 and depth > 0:
            out.append(
                ir.If(
                    draw(exprs(0, 2, lets)),
                    tuple(draw(blocks(depth - 1, lets, 3))),
                    tuple(draw(blocks(depth - 1, lets, 2))),
                )
            )
        elif k == 11:
            arg = draw(st.one_of(st.none(), exprs(8, 1, lets)))
            out.append(ir.Trap(draw(st.sampled_from(["BAD", "ADDR"])), None if arg is None else ir.Ext(False, arg, 8)))
        elif k == 12:
            out.append(ir.Halt())
        else:
            out.append(ir.Wait())
    return out


@st.composite
def bodies(draw):
    lets = []
    stmts = []
    for i in range(draw(st.integers(0, 2))):
        w = draw(st.sampled_from(WIDTHS))
        stmts.append(ir.Let(f"t{i}", draw(exprs(w, 2, tuple(lets)))))
        lets.append((f"t{i}", w))
    stmts += draw(blocks(2, tuple(lets), 5))
    return tuple(stmts)


@pytest.fixture(scope="module")
def lab_isa(tmp_path_factory):
    return with_short_q(
        lab(
            tmp_path_factory.mktemp("lab"),
            """
        nop:
          operands: [a: imm8, b: imm8]
          semantics: x = x
    """,
        )
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies(),
    values=st.lists(st.integers(0, 0xFFFF), min_size=16, max_size=16),
    bad=st.sets(st.integers(0, 7), max_size=3),
)
def test_compiled_equals_reference(lab_isa, body, values, bad):
    base = lab_isa.instructions[0]
    insn = dataclasses.replace(base, semantics=body)
    isa = dataclasses.replace(lab_isa, instructions=(insn,))
    c = compile_isa(isa)
    layout = c.layout
    init = [x & mask(w) for x, w in zip(values, [8, 1, 8, 16, 8, 8, 8, 8, 8, 8, 8])]
    ops = {"a": values[-1] & 0xFF, "b": values[-2] & 0xFF}
    s1, s2 = State(layout, init), State(layout, init)
    p1, p2 = DictPort(bad=bad), DictPort(bad=bad)
    got = c.execute("nop", s1, p1, ops)
    want = reference_execute(isa, body, s2, p2, ops)
    assert got == want, c["nop"].source
    assert s1.v == s2.v, c["nop"].source
    assert p1.log == p2.log, c["nop"].source
