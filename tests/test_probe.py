"""`probe(read|write, mem[a] as P)`: would an access fault, without taking the fault.

Two readings, one meaning: the symbolic reading over the spec's own translation
(ARRAYS) equals the compiled concrete semantics, and the shared-view reading
(VIEW) equals the concrete semantics run on the solver's view (the witness
check's `ModelPort`); the engine reads a probe `as` another level as escaping
the view (docs/model.md §2.4); errors at FILE:LINE:COL; both syntaxes and fmt.
"""

from __future__ import annotations

import random

import pytest
import yaml
import z3

from tests.helpers import invoke
from vmcheck.analysis.engine import check_isa
from vmcheck.analysis.witness_check import replay
from vmcheck.errors import SpecError
from vmcheck.machine.simulator import Machine
from vmcheck.machine.translation import PageView
from vmcheck.semantics.state import Layout, State
from vmcheck.semantics.symbolic import ARRAYS, VIEW, sym_isa
from vmcheck.spec.load import load_spec

INSNS = {
    "pr": "r[rd] = probe(read, mem16[r[rs]]) ? 1 : 0",
    "pw": "r[rd] = probe(write, mem[r[rs]] as u) ? 1 : 0",
    "px": "r[rd] = probe(read, mem[r[rs]] as (pm)) ? 1 : 0",
    # a probe guards an access: the load below never faults
    "safe": "if !probe(read, mem[r[rs]]) { r[rd] = zext(mem[r[rs]], 16) } else { r[rd] = 0xFFFF }",
}


def spec(relocation: bool, insns: dict[str, str] = INSNS) -> dict:
    state = {
        "pc": {"width": 16, "role": "pc"},
        "m": {"width": 1, "role": "mode"},
        "pm": {"width": 1},  # a previous-mode field the guest owns
        "r": {"count": 4, "width": 16},
    }
    if relocation:
        state["rl"] = {"width": 16, "role": "control"}
        state["rb"] = {"width": 16, "role": "control"}
    return {
        "isa": "probebox",
        "word": 16,
        "modes": ["s", "u"],
        "state": state,
        "reset": {"pc": 16, **({"rb": 256} if relocation else {})},
        "storage": {
            "size": 256,
            "unit": 8,
            "translation": {"relocation": "rl", "bound": "rb"} if relocation else "none",
        },
        "traps": {
            "causes": {"PRIV": 1, "MEM": {"code": 2, "memory": True}},
            "memory_cause": "MEM",
            "deliver": "phys[0] = zext(m, 8)\nphys[1] = cause[7:0]\nm = s\npc = 64\n",
        },
        "contexts": {"host": "m == s", "guest": {"g": {"where": "true", "modes": {"s": "u", "u": "u"}}}},
        "instructions": {
            n: {"operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}], "semantics": sem} for n, sem in insns.items()
        },
    }


def _load(tmp_path, data: dict, name: str = "probebox.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(p)


@pytest.fixture(scope="module")
def reloc(tmp_path_factory):
    return _load(tmp_path_factory.mktemp("probe"), spec(True))


@pytest.fixture(scope="module")
def viewed(tmp_path_factory):
    return _load(tmp_path_factory.mktemp("probe"), spec(False))


def _values(rnd: random.Random, isa) -> dict[str, int | list[int]]:
    near = [0, 1, 0xFF, 0x100, 0xFFFF, 0x80, 0x7F]
    pick = lambda w: rnd.choice(near + [rnd.getrandbits(w)]) & ((1 << w) - 1)  # noqa: E731
    out: dict[str, int | list[int]] = {}
    for e in isa.elements:
        out[e.name] = [pick(e.width) for _ in range(e.count)] if e.is_file else pick(e.width)
    return out


def _state(isa, vals) -> State:
    st = State(Layout.of(isa))
    for e in isa.elements:
        if e.is_file:
            for i, x in enumerate(vals[e.name]):
                st.set(e.name, x, i)
        else:
            st.set(e.name, vals[e.name])
    return st


def _pairs(sym, insn, vals, ops):
    pairs = []
    for e in sym.isa.elements:
        c = sym.canon[e.name]
        if e.is_file:
            arr = z3.K(z3.BitVecSort(e.index_width), z3.BitVecVal(0, e.width))
            for i, x in enumerate(vals[e.name]):
                arr = z3.Store(arr, z3.BitVecVal(i, e.index_width), z3.BitVecVal(x, e.width))
            pairs.append((c, arr))
        else:
            pairs.append((c, z3.BitVecVal(vals[e.name], e.width)))
    E = sym.canon_storage["E"]  # the simulator's storage: all zero
    pairs.append((E, z3.K(z3.BitVecSort(sym.aw), z3.BitVecVal(0, sym.unit))))
    canon_ops = sym.operand_vars(insn)
    pairs += [(canon_ops[k], z3.BitVecVal(v, canon_ops[k].size())) for k, v in ops.items()]
    return pairs


@pytest.mark.parametrize("name", sorted(INSNS))
def test_two_readings_one_meaning_over_the_specs_translation(reloc, name):
    """ARRAYS (symbolic, relocation-bounds) = the compiled semantics on the simulator."""
    isa, sym = reloc, sym_isa(reloc)
    insn = isa.instruction(name)
    res = sym.execute(insn, ARRAYS)
    rnd = random.Random(17)
    seen = set()
    for _ in range(150):
        vals = _values(rnd, isa)
        ops = {"rd": rnd.randrange(4), "rs": rnd.randrange(4)}
        m = Machine(isa)
        m.state.v[:] = _state(isa, vals).v
        out = m.execute(name, (ops["rd"], ops["rs"]))
        got = res.substitute(_pairs(sym, insn, vals, ops))
        kind = z3.simplify(got.kind).as_long()
        assert ("ok", "trap", "memtrap", "halt")[kind] == out.kind
        sv = z3.simplify(z3.Select(got.post["r"], z3.BitVecVal(ops["rd"], 2))).as_long()
        assert sv == m.state.get("r", ops["rd"]), (name, vals, ops)
        seen.add(m.state.get("r", ops["rd"]) if name != "safe" else out.kind)
    if name in ("pr", "pw", "px"):
        assert seen == {0, 1}  # both answers were exercised


@pytest.mark.parametrize("name", sorted(INSNS))
def test_two_readings_one_meaning_through_the_shared_view(viewed, name):
    """VIEW (symbolic, the shared view F) = the compiled semantics on the model's view:
    `witness_check.replay` raises when they differ."""
    isa, sym = viewed, sym_isa(viewed)
    insn = isa.instruction(name)
    res = sym.execute(insn, VIEW)
    rnd = random.Random(5)
    answers = set()
    for _ in range(40):
        vals = _values(rnd, isa)
        ops = {"rd": rnd.randrange(4), "rs": rnd.randrange(4)}
        s = z3.Solver()
        ops_t = sym.operand_vars(insn)
        for k, v in ops.items():
            s.add(ops_t[k] == v)
        for e in isa.elements:
            c = sym.canon[e.name]
            if e.is_file:
                for i, x in enumerate(vals[e.name]):
                    s.add(z3.Select(c, z3.BitVecVal(i, e.index_width)) == x)
            else:
                s.add(c == vals[e.name])
        a = vals["r"][ops["rs"]]
        for kind in (0, 1):
            for tok in range(3):
                for k in range(2):
                    f = sym.fault(z3.BitVecVal(kind, 1), z3.BitVecVal(tok, sym.tok_width), z3.BitVecVal(a + k, sym.vaw))
                    s.add(f == z3.BoolVal(rnd.random() < 0.4))
        assert s.check() == z3.sat
        model = s.model()
        rep = replay(sym, insn, model, ops_t, "s", sym.canon, sym.canon_storage, res)
        answers.add(rep.post.get("r", ops["rd"]) if rep.runs else rep.kind)
    if name in ("pr", "pw", "px"):
        assert {0, 1} <= answers


def test_probe_has_no_effect_and_never_traps(reloc):
    m = Machine(reloc)
    m.state.set("rb", 0x10)  # everything from 0x10 up is outside the bound
    m.state.set("r", 0x20, 1)
    out = m.execute("pr", (0, 1))
    assert out.kind == "ok" and m.state.get("r", 0) == 1
    assert m.execute("safe", (0, 1)).kind == "ok" and m.state.get("r", 0) == 0xFFFF
    m.state.set("r", 0x0F, 1)  # a 16-bit read at 0x0F crosses the bound: it would fault
    assert m.execute("pr", (0, 1)).kind == "ok" and m.state.get("r", 0) == 1
    m.state.set("r", 0x0E, 1)
    assert m.execute("pr", (0, 1)).kind == "ok" and m.state.get("r", 0) == 0


def test_probe_reads_the_concrete_view_per_level(viewed):
    view = PageView.of(viewed)
    view.deny("write", "u", 0x30)
    m = Machine(viewed)
    m.set_view(view)
    m.state.set("r", 0x30, 1)
    m.state.set("m", viewed.modes.code("s"))
    assert m.execute("pw", (0, 1)).kind == "ok" and m.state.get("r", 0) == 1  # as u, from s
    assert m.execute("pr", (0, 1)).kind == "ok" and m.state.get("r", 0) == 0  # reads are allowed
    m.state.set("pm", viewed.modes.code("s"))
    view.deny("read", "u", 0x30)
    assert m.execute("px", (0, 1)).kind == "ok" and m.state.get("r", 0) == 0  # as (pm) = s
    m.state.set("pm", viewed.modes.code("u"))
    assert m.execute("px", (0, 1)).kind == "ok" and m.state.get("r", 0) == 1


def test_engine_a_probe_as_another_level_escapes_the_view(viewed):
    """§2.4: a probe at the current privilege answers alike in both states of a
    mode pair; `as u` from a guest kernel deprivileged to u does not."""
    rep = check_isa(viewed)
    g = rep.context("g")
    by = {r.name: r for r in g.instructions}
    assert by["pr"].classes["mode_sensitive"].value == "no"
    assert by["safe"].classes["mode_sensitive"].value == "no"
    assert by["pw"].classes["mode_sensitive"].value == "yes"
    assert by["px"].classes["mode_sensitive"].value == "yes"
    w = by["pw"].classes["mode_sensitive"].witness
    assert any(e["priv"] == "u" and e["kind"] == "write" for e in w.view)


def test_confirm_replays_the_probe_witness_as_a_divergence(tmp_path):
    p = tmp_path / "probebox.yaml"
    p.write_text(yaml.safe_dump(spec(False), sort_keys=False))
    r = invoke("confirm", str(p), "--quiet")
    assert r.exit_code == 0, r.output
    assert "✓ pw" in r.output and "✓ px" in r.output and "not reproduced" not in r.output


# ---- errors, syntaxes -----------------------------------------------------------


@pytest.mark.parametrize(
    "sem,message,anchor",
    [
        ("r[rd] = probe(execute, mem[r[rs]]) ? 1 : 0", "the access kind is read or write, not 'execute'", "execute"),
        ("r[rd] = probe(read, phys[r[rs]]) ? 1 : 0", "an untranslated access never faults", "phys"),
        ("r[rd] = probe(read, mem[r[rs][7:0]]) ? 1 : 0", "an address is 16 bits (the word), this one 8", "r[rs][7:0]"),
        ("r[rd] = probe(read, mem[r[rs]] as k) ? 1 : 0", "'as k': no privilege level of that name", "mem[r[rs]] as k"),
        ("r[rd] = probe(read, mem[r[rs]])", "width mismatch", None),
        ("r[rd] = zext(mem[r[rs]] as (probe(read, mem[0]) ? u : s), 16)", "cannot probe storage", None),
        (
            "r[rd] = probe(read mem[r[rs]]) ? 1 : 0",
            "syntax error in semantics: unexpected 'mem'; expected ','",
            "mem[r[rs]])",
        ),
    ],
)
def test_probe_errors_name_their_place(tmp_path, sem, message, anchor):
    data = spec(False, {"bad": sem})
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    r = invoke("lint", str(p))
    assert r.exit_code == 2, r.output
    line, text = next((i, t) for i, t in enumerate(p.read_text().splitlines(), 1) if "semantics:" in t and "probe" in t)
    assert f"bad.yaml:{line}:" in r.output, r.output
    if anchor:
        assert f"bad.yaml:{line}:{text.index(anchor) + 1}:" in r.output, r.output
    assert message in r.output, r.output
    assert "Traceback" not in r.output


def test_probe_in_both_syntaxes_round_trips_through_fmt(tmp_path):
    src = tmp_path / "probebox.yaml"
    src.write_text(yaml.safe_dump(spec(True), sort_keys=False))
    isa_file = tmp_path / "probebox.isa"
    back = tmp_path / "back.yaml"
    assert invoke("fmt", str(src), "--to", "isa", "-o", str(isa_file)).exit_code == 0
    assert "probe(write, mem[r[rs]] as u)" in isa_file.read_text()
    assert invoke("fmt", str(isa_file), "--to", "yaml", "-o", str(back)).exit_code == 0
    a, b, c = load_spec(src), load_spec(isa_file), load_spec(back)
    for x in (b, c):
        assert [i.semantics for i in x.instructions] == [i.semantics for i in a.instructions] or all(
            _strip(i.semantics) == _strip(j.semantics) for i, j in zip(x.instructions, a.instructions)
        )


def _strip(node):
    """An IR tree without its spans (they name different files)."""
    import dataclasses

    if isinstance(node, tuple):
        return tuple(_strip(x) for x in node)
    if dataclasses.is_dataclass(node):
        return type(node)(
            **{f.name: (None if f.name == "span" else _strip(getattr(node, f.name))) for f in dataclasses.fields(node)}
        )
    return node


def test_probe_is_a_reserved_word_in_expressions(tmp_path):
    data = spec(False, {"bad": "let probe = r[rs]\nr[rd] = probe"})
    p = tmp_path / "names.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    r = invoke("lint", str(p))
    assert r.exit_code == 2 and "syntax error in semantics" in r.output and "expected '('" in r.output


def test_no_memory_cause_no_fault(tmp_path):
    data = spec(False, {"pr": INSNS["pr"]})
    data["traps"] = {"causes": {"PRIV": 1}, "deliver": "m = s\npc = 64\n"}
    isa = _load(tmp_path, data, "nomem.yaml")
    m = Machine(isa)
    assert m.execute("pr", (0, 1)).kind == "ok" and m.state.get("r", 0) == 0
    with pytest.raises(SpecError):
        _load(tmp_path, spec(False, {"x": "r[rd] = probe(read, mem[r[rs]]) + 1"}), "w.yaml")


def test_probe_of_a_width_generic_access_in_a_family(tmp_path):
    data = spec(True, {})
    data["instructions"] = {
        "probe_w": {
            "params": {"W": "width"},
            "operands": [{"rd": "reg(r)"}, {"rs": "reg(r)"}],
            "semantics": "r[rd] = probe(read, mem{W}[r[rs]]) ? 1 : 0",
            "members": {"prb": {"with": {"W": 8}}, "prh": {"with": {"W": 16}}},
        }
    }
    isa = _load(tmp_path, data, "family.yaml")
    m = Machine(isa)
    m.state.set("rb", 0x10)
    m.state.set("r", 0x0F, 1)  # one unit fits below the bound, two do not
    assert m.execute("prb", (0, 1)).kind == "ok" and m.state.get("r", 0) == 0
    assert m.execute("prh", (0, 1)).kind == "ok" and m.state.get("r", 0) == 1
