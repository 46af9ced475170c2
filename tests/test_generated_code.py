"""Generated code always compiles, and no spec text escapes into it (issue 15).

Two parts:
* shapes just within the front end's nesting limits (vmcheck/spec/limits.py),
  some of which Python's own parser would refuse if they were written out
  naively (long sums and shift chains, deep parentheses, long `?:` chains
  with storage reads on their lazy sides, deeply nested `if`s, long else-if
  chains, a register read after many pending writes): each compiles, and on
  random instances gives the same outcome, post-state and storage as the
  symbolic reading (the comparison of tests/test_symbolic.py); the same
  shapes past the limits are refused at load with an error naming the limit;
* names crafted to break out of generated code (quotes, newlines,
  `__import__`) are refused when the spec loads, and if one reached the code
  generator anyway it would refuse it too, before compiling anything.
"""

from __future__ import annotations

import dataclasses
import linecache
import random
import textwrap
from pathlib import Path

import pytest
from test_concrete import LAB
from test_symbolic import _check, _example, _LoggingStorage, _Reading

from vmcheck.errors import InternalError, SpecError
from vmcheck.semantics import compiler
from vmcheck.semantics.concrete import compile_isa
from vmcheck.semantics.symbolic import ARRAYS, sym_isa
from vmcheck.spec import limits
from vmcheck.spec.load import load_spec


def _spec(tmp_path: Path, body: str, name: str = "lab") -> Path:
    insn = "f:\n  operands: [a: imm8, d: reg(r)]\n  semantics: |\n" + textwrap.indent(body, "    ")
    p = tmp_path / f"{name}.yaml"
    p.write_text(LAB.format(instructions=textwrap.indent(insn, "  ")))
    return p


def _nested_ifs(n: int) -> str:
    opens = "".join(f"if x != {i % 7} {{\n" for i in range(n))
    return opens + "r[d] = x + a\ny = zext(mem[x], 16)\n" + "}\n" * n


# Shapes just within the front end's limits (vmcheck/spec/limits.py: the
# semantics' syntax tree at most MAX_NESTING levels deep as written, where
# `a + b + c` is two levels and an `if` in an `if` is two). Several of them
# would not compile if written out naively: see test_the_splitting_is_needed.
SHAPES = {
    "sum of 98 terms": "x = " + " + ".join((["x", "a", "r[d]"] * 33)[:98]),
    "sum of 49 16-bit terms": "y = " + " + ".join((["y", "zext(a, 16)"] * 25)[:49]),
    "shift chain of 95": "x = x" + "".join((" << a", " << r[d]", " >> x")[i % 3] for i in range(95)),
    "98 nested parentheses": "x = " + "(" * 98 + "x + a" + ")" * 98,
    "?: chain of 45 reading storage": "x = "
    + "".join(f"x == {i % 256} ? mem[a + {i % 256}] : " for i in range(45))
    + "0",
    "&& chain of 95 reading storage": "if " + " && ".join(f"mem[x + {i}] != {i % 5}" for i in range(95)) + " { x = 1 }",
    "if nested 45 deep": _nested_ifs(45),
    "else-if chain of 48": "".join(f"if x == {i} {{ y = {i * 3} }} else " for i in range(48)) + "{ trap(BAD) }",
    "read after 120 pending writes": "".join(
        f"q[{i % 4}] = x + {i}\nr[a[{i % 7 + 1}:{i % 7}]] = q[d] + {i}\n" for i in range(120)
    )
    + "x = r[d] + q[a[1:0]]",
}

# The same kinds of shapes past the limits: refused when the spec loads, with
# an error that names the limit (they used to reach the generator).
TOO_DEEP = {
    "sum of 150 terms": "x = " + " + ".join(["x", "a", "r[d]"] * 50),
    "sum of 300 terms": "y = " + " + ".join(["y", "zext(a, 16)"] * 150),
    "shift chain of 150": "x = x" + " << a" * 150,
    "?: chain of 250 reading storage": "x = "
    + "".join(f"x == {i % 256} ? mem[a + {i % 256}] : " for i in range(250))
    + "0",
    "&& chain of 190 reading storage": "if "
    + " && ".join(f"mem[x + {i}] != {i % 5}" for i in range(190))
    + " { x = 1 }",
    "if nested 120 deep": _nested_ifs(120),
    "else-if chain of 150": "".join(f"if x == {i} {{ y = {i * 3} }} else " for i in range(150)) + "{ trap(BAD) }",
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
    for _ in range(60):
        _check(reading, storage, _example(rnd, isa, insn), against_z3=False)


@pytest.mark.parametrize("shape", list(TOO_DEEP))
def test_shapes_past_the_limits_are_a_clean_error(tmp_path, shape):
    with pytest.raises(SpecError) as e:
        load_spec(str(_spec(tmp_path, TOO_DEEP[shape])))
    assert f"nested more than {limits.MAX_NESTING} levels deep" in str(e.value)
    assert f"the limit is {limits.MAX_NESTING}" in str(e.value)


def _naive(monkeypatch, isa):
    """Compile `isa` with the generator's splitting switched off."""
    for name in ("MAX_NEST", "MAX_INDENT", "LAZY_HEIGHT", "MAX_ARMS"):
        monkeypatch.setattr(compiler, name, 10**9)
    compile_isa.forget(isa)  # compile_isa memoises per Isa
    try:
        return compile_isa(isa)
    finally:
        compile_isa.forget(isa)
        monkeypatch.undo()


def test_the_splitting_is_needed(tmp_path, monkeypatch):
    """Within the limits, a shape can still exceed Python's parser limits if
    written naively (a shift is three parentheses per level: `(0 if n >= 8
    else ((v << n) & 255))`), so the test above can fail: with the
    generator's splitting switched off it does not compile."""
    isa = load_spec(str(_spec(tmp_path, SHAPES["shift chain of 95"])))
    with pytest.raises(InternalError, match="too many nested parentheses"):
        _naive(monkeypatch, isa)
    src = compile_isa(isa)["f"].source  # with the splitting it does
    compile(src, "<check>", "exec")


def test_limits_are_what_the_generator_keeps(tmp_path, monkeypatch):
    """The two sets of numbers agree: what the front end accepts (limits.py)
    goes past what Python's parser takes when written naively, and the code
    the generator writes for it stays inside the generator's own bounds."""
    # Python refuses 200 nested parentheses and 100 indentation levels; the
    # generator keeps well inside both.
    assert compiler.MAX_NEST + 8 < 200 and compiler.MAX_INDENT + 6 < 100
    # The deepest expression the front end accepts, written naively, can need
    # more than 200 parentheses (a shift is three per level), so the
    # splitting is what makes it compile.
    n = limits.MAX_EXPR_NESTING
    assert 3 * n > 200
    naive = "x = " + "(0 if n >= 8 else ((" * n + "x" + " << n) & 255))" * n
    with pytest.raises(SyntaxError):
        compile(naive, "<naive>", "exec")
    for shape in ("shift chain of 95", "sum of 98 terms"):
        isa = load_spec(str(_spec(tmp_path, SHAPES[shape])))
        src = compile_isa(isa)["f"].source
        assert max(compiler._nesting(line) for line in src.splitlines()) <= compiler.MAX_NEST + 8
    naive_src = _naive(monkeypatch, isa)["f"].source  # the sum of 98, unsplit: near Python's 200
    assert max(compiler._nesting(line) for line in naive_src.splitlines()) > compiler.MAX_NEST + 8
    # `if`s: nested past MAX_INDENT, the generator writes them flat.
    isa = load_spec(str(_spec(tmp_path, SHAPES["if nested 45 deep"])))
    assert 45 > compiler.MAX_INDENT
    src = compile_isa(isa)["f"].source
    assert max(len(ln) - len(ln.lstrip()) for ln in src.splitlines()) // 4 <= compiler.MAX_INDENT + 6


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
    isa = load_spec(str(_spec(tmp_path, "x = a\nr[d] = x\nif mode_is_s { trap(BAD) }".replace("mode_is_s", "m == s"))))
    elements = tuple(dataclasses.replace(e, name=name) if e.name == "x" else e for e in isa.elements)
    f = isa.instruction("f")
    ops = tuple(dataclasses.replace(o, name=name) if o.name == "a" else o for o in f.operands)
    variants = [
        dataclasses.replace(isa, elements=elements),  # the element (and so its slot lookups)
        dataclasses.replace(isa, instructions=(dataclasses.replace(f, operands=ops),)),
        dataclasses.replace(
            isa,
            traps=dataclasses.replace(
                isa.traps,
                causes=tuple(dataclasses.replace(c, name=name) if c.name == "BAD" else c for c in isa.traps.causes),
            ),
        ),
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
    src = "".join(linecache.cache[compiled.block_files[-1]][2])
    assert "\nimport os" not in src and repr(evil) in src
    assert not Path("/tmp/vmcheck-pwned").exists()
