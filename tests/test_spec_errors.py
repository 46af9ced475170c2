"""Bad specs: each gives one clear FILE:LINE:COL error, never a traceback.

Every case starts from the bundled pg-toy spec, changes one thing, and pins
the message and the place it points at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.errors import SpecError
from vmcheck.spec.library import find_bundled
from vmcheck.spec.load import load_spec

BASE = find_bundled("pg-toy").read_text()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def mutate(old: str, new: str, count: int = 1) -> str:
    assert BASE.count(old) >= 1, old
    return BASE.replace(old, new, count)


def load_text(tmp_path: Path, text: str, name: str = "spec.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return load_spec(str(p)), p


def errors_of(tmp_path: Path, text: str) -> tuple[list, str]:
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    with pytest.raises(SpecError) as exc:
        load_spec(str(p))
    return exc.value.diagnostics, exc.value.render()


# (id, old text, new text, expected message fragment, the line's marker text, expected column or None)
CASES = [
    ("unknown-top-key", "word: 32\n", "word: 32\nwrod: 3\n", "unknown key 'wrod' in the spec", "wrod: 3", 1),
    (
        "unknown-element-key",
        "r:  {count: 8, width: 32,",
        "r:  {count: 8, width: 32, colour: red,",
        "unknown key 'colour' in state element 'r'",
        "colour: red",
        None,
    ),
    (
        "unknown-instruction-key",
        "  li:\n    description: load an immediate\n",
        "  li:\n    descripton: load an immediate\n",
        "unknown key 'descripton' in instruction 'li'",
        "descripton:",
        5,
    ),
    (
        "unknown-storage-key",
        "  unit: 32\n",
        "  unit: 32\n  banks: 2\n",
        "unknown key 'banks' in storage",
        "banks: 2",
        3,
    ),
    (
        "yaml-syntax",
        "rb: {width: 32, role: control,",
        "rb: {width: 32 role: control,",
        "YAML syntax error",
        "rb: {width: 32 role",
        None,
    ),
    ("yaml-tab", "  m:  {width: 1", "\tm:  {width: 1", "YAML syntax error", "\tm:", None),
    (
        "semantics-syntax",
        "r[rd] = r[rs] + r[rt]",
        "r[rd] = r[rs] + + r[rt]",
        "syntax error in semantics: unexpected '+'",
        "r[rd] = r[rs] + + r[rt]",
        32,
    ),
    (
        "semantics-syntax-block-line",
        "      rl = r[rs]\n      rb = r[rt]\n",
        "      rl = r[rs]\n      rb = = r[rt]\n",
        "syntax error in semantics: unexpected '='",
        "rb = = r[rt]",
        12,
    ),
    ("undefined-name", "      rl = r[rs]\n", "      rl = r[rz]\n", "undefined name 'rz'", "rl = r[rz]", 14),
    (
        "undefined-element-target",
        "      rb = r[rt]\n",
        "      rbb = r[rt]\n",
        "undefined state element 'rbb'",
        "rbb = r[rt]",
        7,
    ),
    (
        "width-mismatch",
        "semantics: r[rd] = sext(imm, 32)",
        "semantics: r[rd] = imm",
        "width mismatch: the target is 32 bits, the value 16 bits",
        "semantics: r[rd] = imm",
        24,
    ),
    (
        "width-mismatch-binary",
        "r[rd] = r[rs] + r[rt]",
        "r[rd] = r[rs] + rd",
        "width mismatch in '+': 32 bits vs 3 bits",
        "r[rd] = r[rs] + rd",
        None,
    ),
    ("literal-too-wide", "rl = r[rs]\n", "rl = 0x1_0000_0000\n", "does not fit in 32 bits", "rl = 0x1_0000_0000", None),
    (
        "readonly-write",
        "  rb: {width: 32, role: control,",
        "  rb: {width: 32, role: control, readonly: true,",
        "'rb' is read-only and cannot be written",
        "rb = phys[11]",
        5,
    ),
    (
        "unknown-cause",
        "require m == supervisor else PRIV\n      halt",
        "require m == supervisor else PRVI\n      halt",
        "unknown trap cause 'PRVI'",
        "else PRVI",
        None,
    ),
    (
        "bad-role",
        "rl: {width: 32, role: control,",
        "rl: {width: 32, role: kontrol,",
        "unknown role 'kontrol'",
        "role: kontrol",
        None,
    ),
    ("not-a-number", "word: 32", "word: thirty", "word must be a whole number", "word: thirty", 7),
    ("size-not-power-of-two", "size: 4096", "size: 4000", "storage size must be a power of two", "size: 4000", 9),
    (
        "bad-operand-kind",
        "operands: [rd: reg, imm: simm16]",
        "operands: [rd: reg, imm: sim16]",
        "unknown operand kind 'sim16'",
        "imm: sim16",
        None,
    ),
    (
        "unknown-label",
        "labels: [privileged]\n",
        "labels: [priviledged]\n",
        "unknown label 'priviledged'",
        "priviledged",
        None,
    ),
    (
        "bad-mode-in-context",
        "modes: {supervisor: user, user: user}",
        "modes: {supervisor: usr, user: user}",
        "'usr' is not a privilege level",
        "supervisor: usr",
        None,
    ),
    (
        "assign-to-operand",
        "semantics: r[rd] = sext(imm, 32)",
        "semantics: imm = 3",
        "'imm' is a let-bound value or operand and cannot be assigned",
        "semantics: imm = 3",
        None,
    ),
    ("bit-outside", "m = mem[a][0]", "m = mem[a][40]", "bits 40:40 are outside a 32-bit value", "mem[a][40]", None),
    (
        "file-needs-index",
        "r[rd] = r[rs] - r[rt]",
        "r[rd] = r - r[rt]",
        "register file 'r' needs an index",
        "r[rd] = r - r[rt]",
        None,
    ),
    ("condition-needed", "if r[rs] == r[rt] {", "if r[rs] {", "a condition is needed here", "if r[rs] {", None),
    (
        "translation-element",
        "translation: {relocation: rl, bound: rb}",
        "translation: {relocation: rl, bound: rx}",
        "bound: 'rx' must name a scalar state element",
        "bound: rx",
        None,
    ),
    (
        "memory-cause",
        "memory_cause: MEM",
        "memory_cause: SVC",
        "memory_cause 'SVC' must be a declared cause with memory: true",
        "memory_cause: SVC",
        None,
    ),
    (
        "syntax-template",
        'syntax: "ld {rd}, {off}({rs})"',
        'syntax: "ld {rd}, {of}({rs})"',
        "syntax names '{of}', which is not an operand",
        'syntax: "ld {rd}, {of}',
        None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_spec(tmp_path, case):
    _id, old, new, message, marker, col = case
    text = mutate(old, new)
    diags, rendered = errors_of(tmp_path, text)
    hits = [d for d in diags if message in d.message]
    assert hits, rendered
    d = hits[0]
    assert d.span is not None and d.span.file.endswith("spec.yaml")
    assert d.span.line == line_of(text, marker), rendered
    if col is not None:
        assert d.span.col == col, rendered


def test_helper_recursion(tmp_path):
    text = mutate(
        "instructions:\n",
        "helpers: |\n  fn f(a: 32) -> 32 { g(a) }\n  fn g(a: 32) -> 32 { f(a) }\n"
        "instructions:\n  rec:\n    operands: [rd: reg]\n    semantics: r[rd] = f(r[rd])\n",
    )
    diags, rendered = errors_of(tmp_path, text)
    assert "recursion between helpers: f -> g -> f" in rendered
    assert diags[0].span.line == line_of(text, "fn g(")


def test_encoding_overlap(tmp_path):
    text = mutate("  halt:\n    labels", '  halt:\n    encoding: "1001 0000 0000 0000 0000 0000 0000 0000"\n    labels')
    text = text.replace("  getr:\n", '  getr:\n    encoding: "1001 rd 0000 0000 0000 0000 0000 0000 0"\n')
    diags, rendered = errors_of(tmp_path, text)
    assert "the encoding of 'getr' overlaps that of 'halt'" in rendered


def test_an_encoding_token_of_underscores_alone_is_an_error(tmp_path):
    """Found by the 100,000-case fuzz run (powerpc, `... 0000010011 _`): it was
    read as zero bits and crashed with exit 70."""
    text = mutate(
        "  halt:\n    labels", '  halt:\n    encoding: "1001 0000 0000 0000 0000 0000 0000 000 _ 0"\n    labels'
    )
    diags, rendered = errors_of(tmp_path, text)
    assert "encoding: '_' is neither bits nor an operand" in rendered


def test_duplicate_instruction(tmp_path):
    text = mutate("  sub:\n", "  add:\n")
    diags, rendered = errors_of(tmp_path, text)
    second = [i for i, line in enumerate(text.splitlines(), 1) if line == "  add:"][1]
    assert diags[0].message.startswith("duplicate key 'add' (first at line")
    assert (diags[0].span.line, diags[0].span.col) == (second, 3)


def test_several_errors_in_one_run(tmp_path):
    text = mutate("r[rd] = r[rs] - r[rt]", "r[rd] = r[rs] - q").replace("      rl = r[rs]\n", "      rl = zz\n")
    diags, _ = errors_of(tmp_path, text)
    assert [d.message for d in diags] == ["undefined name 'q'", "undefined name 'zz'"]
    assert [d.span.line for d in diags] == [line_of(text, "- q"), line_of(text, "rl = zz")]


def test_cli_reports_error_with_caret_and_exit_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(mutate("word: 32\n", "word: 32\nwrod: 3\n"))
    result = CliRunner().invoke(main, ["lint", str(p)])
    assert result.exit_code == 2
    assert f"{p}:11:1: error: unknown key 'wrod' in the spec" in result.output
    assert "    wrod: 3\n    ^" in result.output
    assert "Traceback" not in result.output


def test_cli_unknown_spec_name():
    result = CliRunner().invoke(main, ["lint", "no-such-isa"])
    assert result.exit_code == 2
    assert "no spec file or bundled spec named 'no-such-isa'" in result.output
    assert "pg-toy" in result.output


def test_empty_file(tmp_path):
    diags, rendered = errors_of(tmp_path, "")
    assert "the spec file is empty" in rendered


def test_bundled_specs_load():
    for name in ("pg-toy", "pg-toy-broken", "pg-toy-hybrid"):
        isa = load_spec(name)
        assert isa.name == name


# ---- issue 12.4: `where` may constrain control state only (docs/model.md §2.3) ----------


@pytest.mark.parametrize(
    "cond,elem,role",
    [
        ("r[0] == 0", "r", "general"),
        ("pc == 16", "pc", "pc"),
        ("rl == 0 && r[1][3:0] == 2", "r", "general"),
    ],
)
def test_where_over_guest_state_is_an_error_at_the_where_line(tmp_path, cond, elem, role):
    text = mutate('where: "true"', f'where: "{cond}"')
    diags, _ = errors_of(tmp_path, text)
    (d,) = diags
    assert d.span.line == line_of(text, "where:")
    assert f"constrains '{elem}', which is {role} state, not control state" in d.message


def test_where_over_storage_is_an_error(tmp_path):
    text = mutate('where: "true"', 'where: "mem[0] == 1"')
    (d,), _ = errors_of(tmp_path, text)
    assert "reads storage" in d.message and d.span.line == line_of(text, "where:")


def test_where_over_control_state_and_the_mode_loads(tmp_path):
    isa, _ = load_text(tmp_path, mutate('where: "true"', 'where: "rl == 0 && rb[3:0] == 0 && m == user"'))
    assert isa.contexts[0].name == "classic"


@pytest.mark.parametrize("verb", [["lint"], ["check"], ["confirm"], ["explain", "--", "X", "li"]])
def test_where_over_guest_state_fails_every_verb(tmp_path, verb):
    p = tmp_path / "w.yaml"
    p.write_text(mutate('where: "true"', 'where: "r[2] == 0"'))
    args = [verb[0], str(p)] + [a for a in verb[1:] if a not in ("--", "X")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert f"w.yaml:{line_of(p.read_text(), 'where:')}:" in r.stderr and "'r'" in r.stderr


def test_every_bundled_spec_passes_the_where_rule():
    from vmcheck.spec.library import bundled_names

    for name in bundled_names():
        load_spec(name)  # raises on a `where` over guest state


# ---- issue 15.7: spec text is data; names are checked before they reach code ---------


@pytest.mark.parametrize(
    "old,new,words",
    [
        ("isa: pg-toy", 'isa: "x\\nimport os"', "the isa name must be"),
        ("isa: pg-toy", 'isa: "../../etc/passwd"', "the isa name must be"),
        ("  li:\n", '  "li(); import os":\n', "is not a name"),
        ("  r:  {count: 8", '  "r\\nimport os":  {count: 8', "is not a name"),
        ("    operands: [rd: reg, imm: simm16]", '    operands: ["rd)\\nimport os": reg, imm: simm16]', "not a name"),
        ("    PRIV: 1", '    "PRIV\\"); import os; (\\"": 1', "is not a name"),
        ("    description: load an immediate", '    mnemonic: "li\\nimport os"', "a mnemonic is 1-80 printable"),
    ],
)
def test_crafted_names_are_rejected_at_load(tmp_path, old, new, words):
    text = mutate(old, new)
    diags, _ = errors_of(tmp_path, text)
    assert any(words in d.message for d in diags), [d.message for d in diags]


def test_no_spec_key_names_a_file():
    """A spec cannot make the tool read or write other files: no key of the
    format takes a path (no include, no output), and the loader reads the one
    file it was given."""
    from vmcheck.spec.format_keys import FORMAT

    keys = {k for kind in FORMAT.values() for k in kind}
    assert not keys & {"include", "import", "file", "path", "output", "source", "program", "programs"}
