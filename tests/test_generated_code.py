"""Generated code always compiles, and no spec text escapes into it (issue 15).

Two parts:
* shapes the front end accepts but Python's own parser would refuse if they
  were written out naively (long sums, deep parentheses, long `?:` chains
  with storage reads on their lazy sides, `if`s nested past Python's
  indentation limit, long else-if chains, a register read after many pending
  writes): each compiles, and on random instances gives the same outcome,
  post-state and storage as the symbolic reading (the comparison of
  tests/test_symbolic.py);
* names crafted to break out of generated code (quotes, newlines,
  `__import__`) are refused when the spec loads, and if one reached the code
  generator anyway it would refuse it too, before compiling anything.
"""
from __future__ import annotations

import dataclasses
import random
import textwrap
from pathlib import Path

import pytest
from test_concrete import LAB
from test_symbolic import _check, _example, _LoggingStorage, _Reading

from vmcheck.errors import InternalError, SpecError
from vmcheck.semantics import concrete
from vmcheck.semantics.concrete import compile_isa
from vmcheck.semantics.symbolic import ARRAYS, sym_isa
from vmcheck.spec.load import load_spec


def _spec(tmp_path: Path, body: str, name: str = "lab") -> Path:
    insn = "f:\n  operands: [a: imm8, d: reg(r)]\n  semantics: |\n" + textwrap.indent(body, "    ")
    p = tmp_path / f"{name}.yaml"
    p.write_text(LAB.format(instructions=textwrap.indent(insn, "  ")))
    return p


def _nested_ifs(n: int) -> str:
    opens = "".join(f"if x != {i % 7} {{\n" for i in range(n))
    return opens + "r[d] = x + a\ny = zext(mem[x], 16)\n" + "}\n" * n


SHAPES = {
    "sum of 150 terms": "x = " + " + ".join(["x", "a", "r[d]"] * 50),
    "sum of 300 terms": "y = " + " + ".join(["y", "zext(a, 16)"] * 150),
    "150 nested parentheses": "x = " + "(" * 150 + "x + a" + ")" * 150,
    "?: chain of 250 reading storage": "x = " + "".join(f"x == {i % 256} ? mem[a + {i % 256}] : " for i in range(250)) + "0",
    "&& chain of 190 reading storage": "if " + " && ".join(f"mem[x + {i}] != {i % 5}" for i in range(190)) + " { x = 1 }",
    "if nested 120 deep": _nested_ifs(120),
    "else-if chain of 150": "".join(f"if x == {i} {{ y = {i * 3} }} else " for i in range(150)) + "{ trap(BAD) }",
    "read after 120 pending writes": "".join(f"q[{i % 4}] = x + {i}\nr[a[{i % 7 + 1}:{i % 7}]] = q[d] + {i}\n" for i in range(120)) + "x = r[d] + q[a[1:0]]",
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_deep_shapes_compile_and_match_the_symbolic_reading(tmp_path, shape):
    isa = load_spec(str(_spec(tmp_path, SHAPES[shape])))  # the front end accepts it
    compiled = compile_isa(isa)  # ... so it must compile
    src = compiled["f"].source
    compile(src, "<check>", "exec")
    insn = isa.instruction("f")
    reading = _Reading(isa, insn, sym_isa(isa), sym_isa(isa).execute(insn, ARRAYS))
    storage = _LoggingStorage(isa.storage, isa.insn_units)
    rnd = random.Random(shape)
    for i in range(60):
        _check(reading, storage, _example(rnd, isa, insn), against_z3=False)


def test_limits_are_what_the_generator_keeps(tmp_path):
    """The shapes above really exceed Python's limits if written naively
    (so the test above can fail), and the code written stays inside them."""
    isa = load_spec(str(_spec(tmp_path, SHAPES["sum of 300 terms"])))
    src = compile_isa(isa)["f"].source
    assert max(concrete._nesting(line) for line in src.splitlines()) <= concrete.MAX_NEST + 8
    naive = "y = " + "((" * 300 + "y" + " + 1) & 65535)" * 300
    with pytest.raises(SyntaxError):
        compile(naive, "<naive>", "exec")
    isa = load_spec(str(_spec(tmp_path, SHAPES["if nested 120 deep"])))
    src = compile_isa(isa)["f"].source
    assert max(len(ln) - len(ln.lstrip()) for ln in src.splitlines()) // 4 <= concrete.MAX_INDENT + 6


# --------------------------------------------------------------------------
# Names crafted to break out of generated code
# --------------------------------------------------------------------------

HOSTILE = [
    "x'); __import__('os').system('touch /tmp/vmcheck-pwned'); ('",
    'x"]\nimport os\n#',
    "__import__('os')",
    "x\n    return None",
    "a b",
    "x)#",
]


def _rename_state(text: str, old: str, new: str) -> str:
    return text.replace(f"  {old}:  {{width: 8}}", f"  {new!r}:  {{width: 8}}")


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_element_names_are_refused_at_load(tmp_path, name):
    text = _spec(tmp_path, "x = a").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(_rename_state(text, "x", name.replace("'", "''")).replace("x = a", "y = zext(a, 16)"))
    assert repr(name) in bad.read_text() or "''" in bad.read_text()  # the name really is in the spec
    with pytest.raises(SpecError):
        load_spec(str(bad))
    assert not Path("/tmp/vmcheck-pwned").exists()


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_instruction_names_are_refused_at_load(tmp_path, name):
    text = _spec(tmp_path, "x = a").read_text().replace("  f:\n", f"  {name!r}:\n".replace("\\n", "\\\\n"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(SpecError):
        load_spec(str(bad))


@pytest.mark.parametrize("name", HOSTILE)
def test_the_generator_refuses_names_the_loader_let_through(tmp_path, name):
    """Defence in depth: an IR built by hand with a hostile name never
    reaches `compile()`; the generator raises an internal error first."""
    isa = load_spec(str(_spec(tmp_path, "x = a\nr[d] = x\nif mode_is_s { trap(BAD) }".replace(
        "mode_is_s", "m == s"))))
    elements = tuple(dataclasses.replace(e, name=name) if e.name == "x" else e for e in isa.elements)
    f = isa.instruction("f")
    ops = tuple(dataclasses.replace(o, name=name) if o.name == "a" else o for o in f.operands)
    variants = [
        dataclasses.replace(isa, elements=elements),  # the element (and so its slot lookups)
        dataclasses.replace(isa, instructions=(dataclasses.replace(f, operands=ops),)),
        dataclasses.replace(isa, traps=dataclasses.replace(
            isa.traps, causes=tuple(dataclasses.replace(c, name=name) if c.name == "BAD" else c
                                    for c in isa.traps.causes))),
    ]
    for variant in variants:
        with pytest.raises((InternalError, KeyError, StopIteration)):
            compile_isa(variant)
    assert not Path("/tmp/vmcheck-pwned").exists()


def test_spec_strings_reach_generated_code_only_as_repr(tmp_path):
    """Free text (an instruction's syntax, the spec's name) may appear in the
    generated source, but only inside a `repr()` literal or a comment header
    that Python never executes."""
    isa = load_spec(str(_spec(tmp_path, "x = a")))
    f = isa.instruction("f")
    evil = "f {a}')\nimport os\nos.system('touch /tmp/vmcheck-pwned')\n('"
    variant = dataclasses.replace(isa, instructions=(dataclasses.replace(f, syntax=evil),))
    compiled = compile_isa(variant)
    assert repr(f"f: {evil}") in compiled["f"].source
    assert not Path("/tmp/vmcheck-pwned").exists()


def test_hostile_instruction_name_stays_quoted_in_blocks_too(tmp_path):
    """A block's source names its instructions only through repr()."""
    isa = load_spec(str(_spec(tmp_path, "x = a")))
    f = isa.instruction("f")
    evil = "f\nimport os; os.system('touch /tmp/vmcheck-pwned')\n#"
    variant = dataclasses.replace(isa, instructions=(dataclasses.replace(f, name=evil),))
    compiled = compile_isa(variant)
    fn = compiled.block(((evil, (1, 2)),))
    assert callable(fn)
    src = "".join(concrete.linecache.cache[compiled._block_files[-1]][2])
    assert "\nimport os" not in src and repr(evil) in src
    assert not Path("/tmp/vmcheck-pwned").exists()
