"""Hostile input (issue 15): every limit is enforced with a FILE:LINE:COL error
that names it (exit 2), and no reader recurses, allocates or backtracks
without bound. Work is bounded by counting, never by timing."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.errors import Diagnostic, Span, SpecError
from vmcheck.spec import isa_grammar, limits
from vmcheck.spec.isa_reader import EXAMPLE, read_isa
from vmcheck.spec.load import load_spec
from vmcheck.spec.yaml_reader import read_yaml

ROOT = Path(__file__).resolve().parents[1]
PG_TOY = ROOT / "isa_specs" / "pg-toy" / "pg-toy.yaml"
LOCATED = re.compile(r"^\S+:\d+:\d+: error: ", re.M)


@pytest.fixture(autouse=True)
def hang_guard():
    """Not a timing test: a guard so a regression fails instead of hanging CI."""

    def fire(*_):
        raise TimeoutError("no answer within 60 s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def lint(path: Path) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["lint", "--no-programs", str(path)])
    return r.exit_code, r.stderr


def pg_toy_with(tmp_path: Path, semantics: str, name: str = "x.yaml") -> Path:
    text = PG_TOY.read_text()
    body = "\n".join("      " + ln for ln in semantics.split("\n"))
    p = tmp_path / name
    p.write_text(text.rstrip("\n") + f"\n  fz:\n    operands: [rd: reg, rs: reg]\n    semantics: |\n{body}\n")
    return p


def assert_clean(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert LOCATED.search(err), err
    assert "internal error" not in err and "Traceback" not in err
    for w in words:
        assert w in err, err


# ---- YAML ---------------------------------------------------------------------------


BOMB = (
    "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        + [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 12)]
    )
    + "\n"
)


@pytest.mark.parametrize(
    "text,words",
    [
        (BOMB, ["aliases expand to more than", "the limit is 10,000"]),
        ("a: &r [*r]\n", ["recursive YAML alias"]),
        ("a: &r {x: *r}\n", ["recursive YAML alias"]),
        ("isa: !!int abc\n", ["cannot read 'abc' as int"]),
        ("isa: !!bool abc\n", ["cannot read 'abc' as bool"]),
        ("isa: !!python/object/apply:os.system [true]\n", ["unsupported YAML tag '!!python/object/apply:os.system'"]),
        ("isa: !!python/name:os.system x\n", ["unsupported YAML tag"]),
        ("isa: !!binary QUJD\n", ["unsupported YAML tag '!!binary'"]),
        ("isa: !!timestamp 2001-01-01\n", ["unsupported YAML tag '!!timestamp'"]),
        ("isa: !foo bar\n", ["unsupported YAML tag '!foo'"]),
        ("word: " + "9" * 4301 + "\n", ["4,301 digits", "the limit is 4,300 digits"]),
        ("word: 0x" + "f" * 1100 + "\n", ["bits", "the limit is 4,096 bits"]),
        ("x: " + "[" * 200 + "]" * 200 + "\n", ["nested more than 100 levels", "the limit is 100 levels"]),
        ("x:\n" + "".join("  " * k + f"- k{k}:\n" for k in range(1, 300)), ["nested more than 100 levels"]),
    ],
)
def test_yaml_bombs_tags_numbers_and_depth_are_clean_errors(tmp_path, text, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    assert_clean(*lint(p), *words)


def test_yaml_alias_expansion_is_bounded_by_counting(monkeypatch):
    """The bomb stops within the alias budget: count the nodes converted."""
    from vmcheck.spec import yaml_reader

    seen = []
    real = yaml_reader.YamlToNodes.convert

    def counting(self, node):
        seen.append(1)
        return real(self, node)

    monkeypatch.setattr(yaml_reader.YamlToNodes, "convert", counting)
    with pytest.raises(SpecError):
        read_yaml(BOMB, "bomb.yaml")
    assert len(seen) <= limits.MAX_ALIAS_NODES + 1000


def test_floats_where_numbers_are_expected_are_clean_errors(tmp_path):
    text = PG_TOY.read_text().replace("word: 32", "word: 32.5").replace("size: 4096", "size: 1e3")
    p = tmp_path / "f.yaml"
    p.write_text(text)
    code, err = lint(p)
    assert_clean(code, err, "word must be a whole number, not fraction 32.5")


def test_float_as_syntax_template_and_encoding_is_a_clean_error(tmp_path):
    text = PG_TOY.read_text().replace('syntax: "ld {rd}, {off}({rs})"', "syntax: 1.5")
    p = tmp_path / "f.yaml"
    p.write_text(text)
    assert_clean(*lint(p), "syntax must be text, not fraction 1.5")


def test_invalid_utf8_is_reported_at_line_and_column(tmp_path):
    p = tmp_path / "u.yaml"
    p.write_bytes(b"isa: x\nword: 32\ndescription: caf\xc3\xa9 \xff here\n")
    code, err = lint(p)
    assert_clean(code, err, "u.yaml:3:19: error: not UTF-8 text: byte(s) ff")
    assert "byte 3" not in err  # no byte offset


def test_invalid_utf8_in_a_program_is_reported_at_line_and_column(tmp_path):
    prog = tmp_path / "p.s"
    prog.write_bytes(b".org 16\n  li r1, 1 \xfe\n")
    r = CliRunner().invoke(main, ["run", "pg-toy", str(prog)])
    assert r.exit_code == 2
    assert "p.s:2:12: error: not UTF-8 text" in r.stderr


def test_long_lines_and_big_files_are_bounded(tmp_path):
    p = tmp_path / "long.yaml"
    p.write_text("isa: x\ndescription: " + "a" * 20000 + "\n")
    code, err = lint(p)
    assert_clean(
        code,
        err,
        "long.yaml:2:10001: error: line 2 is 20,013 characters long",
        "the limit is 10,000 characters per line",
    )
    assert max(len(ln) for ln in err.splitlines()) < 300  # the source line is shown as a window
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# x\n" * (limits.MAX_FILE_BYTES // 4 + 1))
    assert_clean(*lint(big), "larger than 4,194,304 bytes")


def test_storage_size_is_bounded_at_lint(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(PG_TOY.read_text().replace("size: 4096", "size: 1099511627776"))
    assert_clean(*lint(p), "storage size must be from 1 to 4194304, not 1099511627776")


def test_program_from_a_device_is_bounded(tmp_path):
    # The CLI refuses a device by its type before opening it (the PROGRAM
    # argument's option type, vmcheck/cli/common.py: click's own message).
    r = CliRunner().invoke(main, ["run", "pg-toy", "/dev/zero"])
    assert r.exit_code == 2 and "internal error" not in r.stderr
    assert "Invalid value for 'PROGRAM': /dev/zero: is not a regular file (a FIFO, device or socket)" in r.stderr
    # Read through the library, a device is read only up to the size limit.
    from vmcheck.machine.assembler import assemble_file

    isa = load_spec(str(PG_TOY))
    with pytest.raises(SpecError) as e:
        assemble_file(isa, "/dev/zero")
    msg = str(e.value)
    assert "the program file is larger than 4,194,304 bytes" in msg and "the limit is 4,194,304 bytes" in msg


def test_spec_name_too_long_is_a_clean_error():
    r = CliRunner().invoke(main, ["lint", "x" * 300 + ".yaml"])
    assert r.exit_code == 2 and "internal error" not in r.stderr


# ---- semantics ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "semantics,words",
    [
        ("r[rd] = " + " + ".join(["r[rs]"] * 150), ["semantics nested more than 100 levels"]),
        ("r[rd] = " + "-" * 300 + "r[rs]", ["semantics nested more than 100 levels"]),
        ("if true { " * 200 + "halt" + " }" * 200, ["semantics nested more than 100 levels"]),
        ("r[rd] = " + "true ? " * 200 + "r[rs]" + " : 0" * 200, ["semantics nested more than 100 levels"]),
        ("r[rd] = " + "9" * 4301, ["4,301 digits"]),
        ("r[rd] = 0x" + "f" * 1100, ["the limit is 4,096 bits"]),
        ("r[rd] = 0x_", ["bad number '0x_'"]),
        ("r[rd] = r[rs] + pc[0:31]", ["pc[0:31]"]),  # fuzz seed 0 case 1040: a reversed slice as a width
        ("r[rd] = sext(r[rs], 1099511627776)[31:0]", ["sext to 1,099,511,627,776 bits", "the widest allowed is 4,096"]),
        ("r[rd] = concat(" + ", ".join(["r[rs]"] * 200) + ")[31:0]", ["a value of 6,400 bits"]),
        (
            "match r[rs] { " + ", ".join(f"{i} => r[rd] = {i}" for i in range(90)) + ", _ => halt }",
            ["nests 90 if/match/require levels", "the limit is 80"],
        ),
    ],
)
def test_semantics_limits_are_clean_errors(tmp_path, semantics, words):
    assert_clean(*lint(pg_toy_with(tmp_path, semantics)), *words)


@pytest.mark.parametrize(
    "semantics",
    [
        "r[rd] = " + " + ".join(["r[rs]"] * 95),
        "if true { " * 45 + "halt" + " }" * 45,
        "r[rd] = " + "(" * 2000 + "r[rs]" + ")" * 2000,
        "match r[rs] { " + ", ".join(f"{i} => r[rd] = {i}" for i in range(75)) + ", _ => halt }",
    ],
)
def test_what_lint_accepts_runs(tmp_path, semantics):
    """The deepest semantics each limit allows compiles and runs."""
    spec = pg_toy_with(tmp_path, semantics)
    assert lint(spec)[0] == 0
    prog = tmp_path / "p.s"
    prog.write_text(".org 16\n  fz r1, r2\n  halt\n")
    r = CliRunner().invoke(main, ["run", str(spec), str(prog)])
    assert r.exit_code == 0, r.output + r.stderr


def test_helper_widths_are_bounded(tmp_path):
    """`fn f(m: 8) -> 1099511627776` passed and then ran out of memory (fuzz seed 1, case 703)."""
    text = PG_TOY.read_text().replace(
        "instructions:\n",
        "helpers: |\n  fn f(m: 8) -> 1099511627776 = zext(m, 32)\n  proc p(x: 99999) { halt }\ninstructions:\n",
    )
    p = tmp_path / "h.yaml"
    p.write_text(text)
    assert_clean(
        *lint(p),
        "the result of 'f' is 1,099,511,627,776 bits: widths are 1 to 4,096",
        "parameter 'x' of 'p' is 99,999 bits",
    )


def test_insn_width_is_bounded(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(PG_TOY.read_text().replace("word: 32", "word: 32\ninsn_width: 1099511627776"))
    assert_clean(*lint(p), "insn_width must be from 1 to 4096")


def _with_helpers(tmp_path, hs: list[str]) -> Path:
    """pg-toy with the helper functions `hs` and an instruction `fz` whose
    semantics call the last of them, written to `h.yaml`."""
    last = hs[-1].split()[1].split("(")[0]
    text = PG_TOY.read_text().replace(
        "instructions:\n",
        "helpers: |\n" + "\n".join("  " + h for h in hs) + "\ninstructions:\n  fz:\n    operands: [rd: reg]\n"
        f"    semantics: r[rd] = {last}(r[rd])\n",
    )
    p = tmp_path / "h.yaml"
    p.write_text(text)
    return p


def test_helpers_cannot_blow_up_elaboration(tmp_path):
    """Each helper calls the last twice: 2^40 expressions once inlined. The
    elaboration budget stops it with an error at the helper."""
    hs = ["fn h0(x: 32) -> 32 = x + 1"] + [f"fn h{i}(x: 32) -> 32 = h{i - 1}(x) + h{i - 1}(x)" for i in range(1, 40)]
    p = _with_helpers(tmp_path, hs)
    assert_clean(*lint(p), "expands to more than 1,000,000 expressions")


def test_helpers_inlined_past_the_expression_limit_are_a_clean_error(tmp_path):
    hs = ["fn g0(x: 32) -> 32 = " + " + ".join(["x"] * 90)] + [
        f"fn g{i}(x: 32) -> 32 = g{i - 1}(x + 1)" for i in range(1, 70)
    ]
    p = _with_helpers(tmp_path, hs)
    assert_clean(*lint(p), "nested more than 100 levels deep once helpers are inlined")


def test_the_deepest_helper_chain_lint_accepts_runs(tmp_path):
    hs = ["fn g0(x: 32) -> 32 = " + " + ".join(["x"] * 85)] + [
        f"fn g{i}(x: 32) -> 32 = g{i - 1}(x + 1)" for i in range(1, 12)
    ]
    p = _with_helpers(tmp_path, hs)
    code, err = lint(p)
    prog = tmp_path / "p.s"
    prog.write_text(".org 16\n  fz r1\n  halt\n")
    r = CliRunner().invoke(main, ["run", str(p), str(prog)])
    assert (code, r.exit_code) in ((0, 0), (2, 2)), r.stderr
    assert "internal error" not in r.stderr


def test_nested_slices_of_arithmetic_elaborate_in_linear_steps(tmp_path, monkeypatch):
    """`((x ^ 1)[31:0] ^ 1)[31:0]...`: widths were found by elaborating each
    operand twice, 2^depth steps. Count the elaboration steps."""
    from vmcheck.spec import elaborate

    steps = []
    real = elaborate.Elaborator.expr_node

    def counting(self, *a, **k):
        steps.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(elaborate.Elaborator, "expr_node", counting)
    n = 40
    p = pg_toy_with(tmp_path, "r[rd] = " + "(" * n + "r[rs]" + " ^ 1)[31:0]" * n)
    load_spec(str(p))
    assert len(steps) < 20_000


# ---- .isa -----------------------------------------------------------------------------


def test_isa_brace_depth_is_a_clean_error(tmp_path):
    p = tmp_path / "d.isa"
    p.write_text(EXAMPLE + "instruction deep " + "{" * 3000 + "}" * 3000 + "\n")
    assert_clean(*lint(p), "nested more than 100 levels deep")


def test_isa_lexer_runs_no_line_pattern_inside_a_body(monkeypatch):
    """The lexer used to run LINE_CODE (which scans to the end of the line) at
    every token of a body: quadratic on a long line. Count its runs."""
    lexer = isa_grammar.parser().parser.lexer
    runs = []

    class Counting:
        def __init__(self, rx):
            self.rx = rx

        def match(self, text, pos):
            runs.append(pos)
            return self.rx.match(text, pos)

    monkeypatch.setattr(lexer, "regexps", [(n, Counting(rx) if n == "LINE_CODE" else rx) for n, rx in lexer.regexps])
    body = "; ".join(f"r[rd] = r[rd] + {i}" for i in range(2000))
    read_isa(EXAMPLE + f"instruction big(rd: reg) {{ {body} }}\n", "big.isa")
    assert len(runs) < 20  # the host/where conditions of EXAMPLE, not one per token


# ---- diagnostics --------------------------------------------------------------------


def test_many_diagnostics_read_the_file_once(tmp_path, monkeypatch):
    p = tmp_path / "e.yaml"
    p.write_text("x: 1\n" * 5000)
    opened = []
    real_open = open

    def counting_open(file, *a, **k):
        if str(file) == str(p):
            opened.append(file)
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", counting_open)
    err = SpecError([Diagnostic(Span(str(p), i + 1, 1), "bad") for i in range(5000)])
    text = err.render()
    assert text.count("error: bad") == 5000
    assert len(opened) == 1


def test_a_fifo_as_a_program_does_not_block(tmp_path):
    import os

    fifo = tmp_path / "p.s"
    os.mkfifo(fifo)
    r = CliRunner().invoke(main, ["run", "pg-toy", str(fifo)])
    assert r.exit_code == 2 and "FIFO" in r.stderr


def test_an_unreadable_program_is_a_clean_error(tmp_path):
    missing = tmp_path / "missing.s"
    r = CliRunner().invoke(main, ["run", "pg-toy", str(missing)])
    assert r.exit_code == 2 and "internal error" not in r.stderr
    assert f"Invalid value for 'PROGRAM': {missing}: No such file or directory" in r.stderr
    # The library's own reader says the same in its words.
    from vmcheck.machine.assembler import assemble_file

    with pytest.raises(SpecError, match="cannot read program .*No such file or directory"):
        assemble_file(load_spec(str(PG_TOY)), missing)


def test_lint_reports_a_sample_program_that_is_not_utf8(tmp_path):
    (tmp_path / "programs").mkdir()
    (tmp_path / "pg-toy.yaml").write_text(PG_TOY.read_text())
    (tmp_path / "programs" / "x.s").write_bytes(b".org 16\nli r1, 1 \xff\n")
    r = CliRunner().invoke(main, ["lint", str(tmp_path / "pg-toy.yaml")])
    assert r.exit_code == 2 and "x.s:2:10: error: not UTF-8 text" in r.stderr


def test_a_negative_field_bit_is_a_clean_error(tmp_path):
    """Fuzz seed 2, case 4735: `G: -9223372036854775809` linted, then `run` crashed."""
    p = tmp_path / "b.yaml"
    p.write_text(
        PG_TOY.read_text().replace("rl: {width: 32, role: control,", "rl: {width: 32, role: control, fields: {G: -3},")
    )
    assert_clean(*lint(p), "the bit of 'G' must be from 0 to 4095, not -3")
