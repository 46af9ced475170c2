"""The `.isa` front-end, the two printers and `vmcheck fmt`.

The one property behind all of it: YAML and `.isa` are two spellings of one
spec, so printing a spec in either syntax and loading it again gives the same
IR (IR dataclasses compare without spans). Checked on every bundled spec, on
random specs, and on a hand-written file that uses every construct.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmcheck.cli import main
from vmcheck.errors import SpecError
from vmcheck.spec.build import build_isa
from vmcheck.spec.format_keys import LABELS
from vmcheck.spec.isa_grammar import keywords
from vmcheck.spec.isa_reader import EXAMPLE, read_isa
from vmcheck.spec.isa_strings import code_text
from vmcheck.spec.library import bundled
from vmcheck.spec.load import load_spec, read_nodes
from vmcheck.spec.printer import to_isa, to_yaml
from vmcheck.spec.yaml_reader import read_yaml

DATA = Path(__file__).parent / "data"


def _round_trips(node, ir, where: str) -> None:
    """`node` printed both ways loads back to `ir`; printing again changes nothing."""
    isa_text = to_isa(node)
    isa_node = read_isa(isa_text, f"{where}.isa")
    assert build_isa(isa_node, f"{where}.isa") == ir, "YAML -> .isa changed the spec"
    yaml_text = to_yaml(isa_node)
    assert build_isa(read_yaml(yaml_text, f"{where}.yaml"), f"{where}.yaml") == ir, ".isa -> YAML changed the spec"
    yaml_direct = to_yaml(node)
    assert build_isa(read_yaml(yaml_direct, f"{where}-2.yaml"), f"{where}-2.yaml") == ir, (
        "YAML -> YAML changed the spec"
    )
    # The printers are fixpoints once the text has been through them.
    assert to_isa(isa_node) == isa_text
    assert to_yaml(read_yaml(yaml_text, "again.yaml")) == yaml_text


# ---- (a) every bundled spec ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(bundled()))
def test_bundled_spec_round_trips(name):
    path = bundled()[name]
    node = read_nodes(path)
    _round_trips(node, build_isa(node, str(path)), name)


def test_features_example_loads_and_round_trips():
    """tests/data/features.isa is hand-written and uses every construct of the syntax."""
    path = DATA / "features.isa"
    node = read_nodes(path)
    isa = build_isa(node, str(path))
    assert isa.name == "features-1.0"
    assert [e.name for e in isa.elements] == ["pc", "status", "x", "rom", "timer", "role", "state"]
    assert isa.element("x").names[:2] == ("zero", "a") and isa.element("x").zero == 0
    assert isa.modes.elem == "status" and (isa.modes.hi, isa.modes.lo) == (1, 0)
    assert dict(isa.constants) == {"CSR_STATUS": 0x300, "LIMIT": 7}
    assert isa.description.endswith("explicit encodings.\n")
    assert "register file with a zero register" in isa.description  # the `\` joined two lines
    assert [c.name for c in isa.contexts] == ["classic", "nested"]
    assert isa.instruction("br").mnemonic == "b.al"
    _round_trips(node, isa, "features")


def test_module_example_loads_and_round_trips():
    node = read_isa(EXAMPLE, "example.isa")
    isa = build_isa(node, "example.isa")
    assert [i.name for i in isa.instructions] == ["li", "ld", "halt"]
    _round_trips(node, isa, "example")


def _walk(node, path="spec"):
    yield path, node
    if isinstance(node.value, dict):
        for k, v in node.value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node.value, list):
        for i, v in enumerate(node.value):
            yield from _walk(v, f"{path}[{i}]")


def test_every_node_and_key_has_a_span_and_semantics_have_origins():
    path = DATA / "features.isa"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    code_paths = re.compile(
        r"spec\.(instructions\.\w+\.semantics|traps\.deliver|helpers|contexts\.host|"
        r"contexts\.guest\.\w+\.where|invariants\[\d+\])$"
    )
    n_code = 0
    for where, node in _walk(read_isa(text, str(path))):
        sp = node.span
        assert sp is not None and sp.file == str(path) and 1 <= sp.line <= len(lines) and sp.col >= 1, where
        if isinstance(node.value, dict):
            assert set(node.key_spans) == set(node.value), where
            for k, ks in node.key_spans.items():
                assert 1 <= ks.line <= len(lines) and ks.col >= 1, f"{where}.{k}"
        if code_paths.search(where):
            n_code += 1
            o = node.origin
            assert o is not None and o.file == str(path), where
            # The text's first character is where the origin says it is.
            first = node.value.lstrip()[:1]
            if first:
                assert lines[o.line - 1][o.first_col] == first, where
    assert n_code == 7 + 1 + 1 + 1 + 2 + 2  # instructions, deliver, helpers, host, guests' where, invariants


def test_pg_toy_example_is_printer_output():
    """tests/data/pg-toy.isa was written by `vmcheck fmt pg-toy --to isa` and loads."""
    path = DATA / "pg-toy.isa"
    text = path.read_text(encoding="utf-8")
    isa = load_spec(path)
    assert isa.name == "pg-toy" and isa.instruction("lpsw").labels == {"privileged", "sensitive"}
    assert to_isa(read_isa(text, str(path))) == text


def test_semantics_keep_their_comments_and_braces_in_comments():
    text = "isa t\ninstruction a {\n  pc = 1  # sets pc }\n  // { more\n  pc = 2\n}\n"
    node = read_isa(text, "t.isa")
    sem = node.value["instructions"].value["a"].value["semantics"]
    assert sem.value == "pc = 1  # sets pc }\n// { more\npc = 2\n"
    assert to_yaml(node).count("# sets pc }") == 1


def test_code_text_maps_back_to_the_file():
    def at(origin, line, col):
        sp = origin.span(line, col)
        return sp.line, sp.col

    # `{ a = 1 }` with its `{` at line 3, column 10: the text starts at column 11.
    t, o = code_text(" a = 1 ", "f", 3, 11)
    assert t == "a = 1" and at(o, 1, 1) == (3, 12)
    # A body on its own lines loses the common indentation and keeps a final line break.
    t, o = code_text("\n    if x {\n      y = 1\n    }\n  ", "f", 3, 11)
    assert t == "if x {\n  y = 1\n}\n"
    assert at(o, 1, 1) == (4, 5) and at(o, 2, 3) == (5, 7)
    # A body that starts on the brace's line: the first line keeps its column.
    t, o = code_text(" a\n   b ", "f", 1, 5)
    assert t == "a\nb" and at(o, 1, 1) == (1, 6) and at(o, 2, 1) == (2, 4)


def test_keyword_names_are_names_where_no_keyword_fits():
    text = (
        "isa t\nstate {\n  pc: 8 role pc\n  mode_: 1 role mode\n  state: 8\n  word: 8 readonly\n"
        "  `role`: 4\n  isa: 2 { `readonly`: 0; role: 1 }\n}\n"
    )
    st_ = read_isa(text, "t.isa").value["state"].value
    assert list(st_) == ["pc", "mode_", "state", "word", "role", "isa"]
    assert list(st_["isa"].value["fields"].value) == ["readonly", "role"]
    assert st_["word"].value["readonly"].value is True
    assert {"role", "readonly", "state", "instruction"} <= keywords()


# ---- (b) random specs ----------------------------------------------------------------

# Names a spec may not use for its own things (the semantics language's words, the
# reserved element names), and names that stress the printers (keywords of `.isa`,
# YAML 1.1 booleans and null).
_RESERVED = {
    "let",
    "if",
    "else",
    "trap",
    "require",
    "halt",
    "match",
    "true",
    "false",
    "as",
    "fn",
    "proc",
    "mem",
    "phys",
    "mode",
    "cause",
    "trap_arg",
    "sext",
    "zext",
    "slt",
    "sle",
    "sgt",
    "sge",
    "concat",
    "_",
}
_TRICKY = [
    "role",
    "readonly",
    "zero",
    "names",
    "state",
    "word",
    "modes",
    "where",
    "memory",
    "guest",
    "host",
    "invariant",
    "instruction",
    "isa",
    "description",
    "storage",
    "translation",
    "none",
    "bound",
    "relocation",
    "size",
    "unit",
    "labels",
    "syntax",
    "encoding",
    "mnemonic",
    "reset",
    "constants",
    "helpers",
    "traps",
    "deliver",
    "cause_width",
    "memory_cause",
    "insn_width",
    "references",
    "ref",
    "null",
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "Null",
    "TRUE_",
    "x1",
    "pc",
]

_names = st.one_of(
    st.sampled_from(_TRICKY),
    st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True),
).filter(lambda n: n not in _RESERVED and not re.fullmatch(r"(mem|phys)\d*", n))

_prose_words = st.sampled_from(
    [
        "the",
        "mode",
        "bit",
        "traps",
        "when",
        "a",
        "guest",
        "reads",
        "it",
        "(see §2)",
        "x: y",
        "#tag",
        "'q'",
        '"dq"',
        "{b}",
        "\\",
        "é",
        "--",
        "[1]",
        "yes",
    ]
)
_texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.lists(_prose_words, min_size=1, max_size=40).map(" ".join),
    st.lists(st.lists(_prose_words, min_size=1, max_size=12).map(" ".join), min_size=2, max_size=4).map(
        lambda ls: "\n".join(ls) + "\n"
    ),
)


class _Gen:
    """Draws well-typed semantics text for one random machine."""

    def __init__(self, draw, m: dict):
        self.draw, self.m = draw, m
        self.W = m["word"]

    def lit(self, width: int) -> str:
        v = self.draw(st.integers(0, (1 << width) - 1))
        return self.draw(st.sampled_from([str(v), hex(v), bin(v) if width <= 8 else str(v)]))

    def to_word(self, name: str, width: int) -> str:
        W = self.W
        if width == W:
            return name
        return f"zext({name}, {W})" if width < W else f"{name}[{W - 1}:0]"

    def leaf(self, ops) -> str:
        m, W = self.m, self.W
        kinds = ["lit", "elem", "pc", "mode"]
        if m["fields"]:
            kinds.append("field")
        if m["constants"]:
            kinds.append("const")
        regs = [o for o, k, w in ops if k == "reg"]
        imms = [(o, w) for o, k, w in ops if k == "imm"]
        if regs:
            kinds.append("reg")
        if imms:
            kinds.append("imm")
        k = self.draw(st.sampled_from(kinds))
        if k == "lit":
            return self.lit(W)
        if k == "elem":
            name, width = self.draw(st.sampled_from(m["scalars"]))
            return self.to_word(name, width)
        if k == "pc":
            return m["pc"]
        if k == "mode":
            return f"zext(mode, {W})"
        if k == "field":
            el, f, width, _ = self.draw(st.sampled_from(m["fields"]))
            return self.to_word(f"{el}.{f}", width)
        if k == "const":
            return self.draw(st.sampled_from(sorted(m["constants"])))
        if k == "reg":
            return f"{m['file']}[{self.draw(st.sampled_from(regs))}]"
        o, w = self.draw(st.sampled_from(imms))
        if w < W:
            return f"{self.draw(st.sampled_from(['sext', 'zext']))}({o}, {W})"
        return self.to_word(o, w)

    def expr(self, ops, depth: int = 2) -> str:
        k = self.draw(st.sampled_from(["leaf", "leaf", "bin", "un", "ite", "mem", "call"] if depth else ["leaf"]))
        if k == "leaf":
            return self.leaf(ops)
        if k == "bin":
            op = self.draw(st.sampled_from(["+", "-", "&", "|", "^", "*", "/", "%", "<<", ">>"]))
            return f"({self.expr(ops, depth - 1)} {op} {self.expr(ops, depth - 1)})"
        if k == "un":
            return f"~{self.expr(ops, depth - 1)}"
        if k == "ite":
            return f"({self.cond(ops, depth - 1)} ? {self.expr(ops, depth - 1)} : {self.expr(ops, depth - 1)})"
        if k == "mem":
            return f"mem[{self.expr(ops, depth - 1)}]"
        return f"{self.m['helper']}({self.expr(ops, depth - 1)})"

    def cond(self, ops=(), depth: int = 1) -> str:
        k = self.draw(st.sampled_from(["cmp", "cmp", "mode", "lit", "not", "and", "slt"] if depth else ["cmp", "mode"]))
        if k == "cmp":
            op = self.draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            return f"{self.expr(ops, depth)} {op} {self.expr(ops, depth)}"
        if k == "mode":
            return f"mode {self.draw(st.sampled_from(['==', '!=']))} {self.draw(st.sampled_from(self.m['levels']))}"
        if k == "lit":
            return self.draw(st.sampled_from(["true", "false"]))
        if k == "not":
            return f"!({self.cond(ops, depth - 1)})"
        if k == "slt":
            return f"slt({self.expr(ops, 0)}, {self.expr(ops, 0)})"
        return f"({self.cond(ops, depth - 1)}) {self.draw(st.sampled_from(['&&', '||']))} ({self.cond(ops, depth - 1)})"

    def stmt(self, ops, depth: int = 1) -> str:
        m, W = self.m, self.W
        regs = [o for o, k, w in ops if k == "reg"]
        kinds = ["assign", "assign", "mem", "require", "trap"] + (["if"] if depth else [])
        if regs:
            kinds.append("file")
        if m["wfields"]:
            kinds.append("field")
        k = self.draw(st.sampled_from(kinds))
        if k == "assign":
            name, width = self.draw(st.sampled_from(m["writable"]))
            e = self.expr(ops)
            if width != W:
                e = f"({e})[{width - 1}:0]" if width < W else f"zext({e}, {width})"
            return f"{name} = {e}"
        if k == "file":
            return f"{m['file']}[{self.draw(st.sampled_from(regs))}] = {self.expr(ops)}"
        if k == "field":
            el, f, width = self.draw(st.sampled_from(m["wfields"]))
            return f"{el}.{f} = ({self.expr(ops)})[{width - 1}:0]"
        if k == "mem":
            return f"mem[{self.expr(ops, 1)}] = {self.expr(ops, 1)}"
        if k == "require":
            return f"require {self.cond(ops)} else {self.draw(st.sampled_from(m['causes']))}"
        if k == "trap":
            return f"trap({self.draw(st.sampled_from(m['causes']))})"
        body = self.block(ops, depth - 1, inline=True)
        out = f"if {self.cond(ops)} {{ {body} }}"
        if self.draw(st.booleans()):
            out += f" else {{ {self.block(ops, depth - 1, inline=True)} }}"
        return out

    def block(self, ops, depth: int = 1, inline: bool = False) -> str:
        stmts = [self.stmt(ops, depth) for _ in range(self.draw(st.integers(1, 3)))]
        if inline:
            return "; ".join(stmts)
        lines = []
        for s in stmts:  # comments, with braces in them, must not upset brace matching
            c = self.draw(st.sampled_from(["", "", "  # note {", "  // }", "  #"]))
            lines.append(s + c)
        if len(lines) == 1 and not lines[0].endswith(tuple("{}#")) and self.draw(st.booleans()):
            return lines[0]
        return "\n".join(lines) + self.draw(st.sampled_from(["", "\n"]))


@st.composite
def random_specs(draw) -> dict:
    """A small valid spec, as the Python data a YAML file holds."""
    W = draw(st.sampled_from([8, 16, 32]))
    pool = iter(draw(st.lists(_names, min_size=64, max_size=64, unique=True)))  # enough for the largest draw
    n_levels = draw(st.integers(1, 4))
    levels = [next(pool) for _ in range(n_levels)]
    mode_w = max(1, (n_levels - 1).bit_length())
    pc, file = next(pool), next(pool)
    desc = st.one_of(st.none(), _texts)

    state: dict = {pc: {"width": W, "role": "pc"}}
    if draw(st.booleans()):
        state[pc]["description"] = draw(_texts)
    scalars = [(pc, W)]
    writable = [(pc, W)]
    fields, wfields = [], []
    mode_in_field = draw(st.booleans())
    mode_key = None
    if not mode_in_field:
        mname = next(pool)
        state[mname] = {"width": mode_w, "role": "mode"}
        scalars.append((mname, mode_w))
        writable.append((mname, mode_w))
    count = 1 << draw(st.integers(1, 3))
    state[file] = {"width": W, "count": count}
    if draw(st.booleans()):
        state[file]["zero"] = 0
    if draw(st.booleans()):
        state[file]["names"] = [f"{file}_{i}" for i in range(count)]
    for i in range(draw(st.integers(0 if not mode_in_field else 1, 3))):
        name = next(pool)
        width = draw(st.integers(max(2, mode_w) if (mode_in_field and i == 0) else 1, 70))
        el: dict = {"width": width}
        role = draw(st.sampled_from([None, "general", "control", "timer"]))
        if role:
            el["role"] = role
        readonly = draw(st.booleans()) and not (mode_in_field and i == 0)
        if readonly:
            el["readonly"] = True
        fd: dict = {}
        if mode_in_field and i == 0:
            fname = next(pool)
            fd[fname] = {"bits": f"{mode_w - 1}:0", "role": "mode"} if mode_w > 1 else {"bit": 0, "role": "mode"}
            if draw(st.booleans()):
                mode_key = f"{name}.{fname}"
        for _ in range(draw(st.integers(0, 2))):
            fname = next(pool)
            fw = draw(st.integers(1, min(8, width)))
            lo = draw(st.integers(0, width - fw))
            f_ro = draw(st.booleans())
            style = draw(st.sampled_from(["plain", "map"]))
            if style == "plain" and not f_ro:
                fd[fname] = lo if fw == 1 else f"{lo + fw - 1}:{lo}"
            else:
                f: dict = {"bit": lo} if fw == 1 else {"bits": f"{lo + fw - 1}:{lo}"}
                if draw(st.booleans()):
                    f["role"] = draw(st.sampled_from(["general", "control", "timer"]))
                if f_ro:
                    f["readonly"] = True
                if draw(st.booleans()):
                    f["description"] = draw(_texts)
                fd[fname] = f
            fields.append((name, fname, fw, f_ro))
            if not (f_ro or readonly):
                wfields.append((name, fname, fw))
        if fd:
            el["fields"] = fd
        if draw(st.booleans()):
            el["description"] = draw(desc)
        state[name] = el
        scalars.append((name, width))
        if not readonly:
            writable.append((name, width))

    causes = [next(pool) for _ in range(draw(st.integers(1, 4)))]
    cw = draw(st.sampled_from([None, 8]))
    codes = draw(st.lists(st.integers(0, 255), min_size=len(causes), max_size=len(causes), unique=True))
    cause_map: dict = {}
    for c, code in zip(causes, codes):
        if draw(st.booleans()):
            cause_map[c] = code
        else:
            cause_map[c] = {"code": code}
            if draw(st.booleans()):
                cause_map[c]["description"] = draw(_texts)
    memory = draw(st.sampled_from([None] + causes))
    if memory is not None:
        if not isinstance(cause_map[memory], dict):
            cause_map[memory] = {"code": cause_map[memory]}
        cause_map[memory]["memory"] = True

    constants = {next(pool): draw(st.integers(0, (1 << W) - 1)) for _ in range(draw(st.integers(0, 3)))}
    helper = next(pool)
    m = {
        "word": W,
        "levels": levels,
        "pc": pc,
        "file": file,
        "scalars": scalars,
        "writable": writable,
        "fields": fields,
        "wfields": wfields,
        "constants": constants,
        "causes": causes,
        "helper": helper,
    }
    g = _Gen(draw, m)

    spec: dict = {"isa": draw(st.from_regex(r"[a-z][a-z0-9.+-]{0,10}", fullmatch=True)), "word": W}
    if draw(st.booleans()):
        spec["description"] = draw(desc)
    if draw(st.booleans()):
        spec["references"] = draw(st.lists(_texts, min_size=1, max_size=3))
    if draw(st.booleans()):
        spec["modes"] = levels
    else:
        codes = draw(st.permutations(range(1 << mode_w)))[:n_levels]
        spec["modes"] = dict(zip(levels, codes))
    if mode_key:
        spec["mode"] = mode_key
    spec["state"] = state
    translation = draw(st.sampled_from(["absent", "none", "reloc"] if memory else ["absent", "none"]))
    storage: dict = {"size": 1 << draw(st.integers(4, 12)), "unit": W}
    if draw(st.booleans()):
        storage["endian"] = draw(st.sampled_from(["little", "big"]))
    if translation == "none":
        storage["translation"] = "none"
    elif translation == "reloc":
        rl, rb = next(pool), next(pool)
        state[rl] = {"width": W, "role": "control"}
        state[rb] = {"width": W, "role": "control"}
        storage["translation"] = {"relocation": rl, "bound": rb}
    spec["storage"] = storage
    deliver = g.block(()) + "\n" + (f"phys[0] = zext(cause, {W})" if (cw or W) < W else "phys[0] = cause")
    traps: dict = {"causes": cause_map, "deliver": deliver}
    if memory and (translation == "reloc" or draw(st.booleans())):
        traps["memory_cause"] = memory
    if cw:
        traps["cause_width"] = cw
    spec["traps"] = traps
    guests = {}
    for _ in range(draw(st.integers(1, 2))):
        gd: dict = {"modes": {v: draw(st.sampled_from(levels)) for v in levels}}
        if draw(st.booleans()):
            # `where` may read control state only (docs/model.md §2.3): the mode, or a literal.
            gd["where"] = draw(st.sampled_from(["true", "false", f"mode != {levels[0]}", f"mode == {levels[-1]}"]))
        if draw(st.booleans()):
            gd["description"] = draw(_texts)
        guests[next(pool)] = gd
    spec["contexts"] = {"host": g.cond(), "guest": guests}
    if draw(st.booleans()):
        spec["invariants"] = [g.cond() for _ in range(draw(st.integers(0, 2)))]
    if constants or draw(st.booleans()):
        spec["constants"] = constants
    spec["helpers"] = f"fn {helper}(HP: {W}) -> {W} = HP + 1"

    insns: dict = {}
    for _ in range(draw(st.integers(1, 5))):
        ops, opdecl = [], []
        for _ in range(draw(st.integers(0, 3))):
            o = next(pool)
            kind = draw(st.sampled_from(["reg", "regf", "imm", "simm", "uimm"]))
            if kind.startswith("reg"):
                opdecl.append({o: "reg" if kind == "reg" else f"reg({file})"})
                ops.append((o, "reg", 0))
            else:
                w = draw(st.integers(1, 12))
                pcrel = " pcrel" if draw(st.integers(0, 4)) == 0 else ""
                opdecl.append({o: f"{kind}{w}{pcrel}"})
                ops.append((o, "imm", w))
        insn: dict = {}
        if opdecl or draw(st.booleans()):
            insn["operands"] = opdecl
        if draw(st.booleans()):
            insn["mnemonic"] = draw(st.sampled_from(["ADD", "b.eq", "x", "rep movs"]))
        if opdecl and draw(st.booleans()):
            insn["syntax"] = "op " + ", ".join(f"{{{o}}}" for o, _, _ in ops) + " ! done"
        if draw(st.booleans()):
            insn["labels"] = draw(st.lists(st.sampled_from(LABELS), max_size=3, unique=True))
        if draw(st.booleans()):
            insn["ref"] = draw(st.lists(_prose_words, min_size=1, max_size=12).map(" ".join))
        if draw(st.booleans()):
            insn["description"] = draw(desc)
        insn["semantics"] = g.block(ops)
        insns[next(pool)] = insn
    spec["instructions"] = insns
    spec["insn_width"] = 64
    if draw(st.booleans()):
        spec["reset"] = {pc: draw(st.integers(0, (1 << W) - 1))}
    return spec


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_specs())
def test_random_specs_round_trip(spec):
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    node = read_yaml(text, "random.yaml")
    ir = build_isa(node, "random.yaml")  # the generator makes valid specs only
    _round_trips(node, ir, "random")


# ---- (c) bad input -----------------------------------------------------------------------

_PG = (DATA / "pg-toy.isa").read_text(encoding="utf-8")


def _error(text: str) -> tuple[str, str]:
    """(FILE:LINE:COL, message) of the first error loading `text` as bad.isa."""
    with pytest.raises(SpecError) as info:
        build_isa(read_isa(text, "bad.isa"), "bad.isa")
    d = info.value.diagnostics[0]
    return str(d.span), d.message


def _where(text: str, needle: str, offset: int = 0) -> str:
    """bad.isa:LINE:COL of the first `needle` in `text` (plus `offset` columns)."""
    pos = text.index(needle)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1 + offset
    return f"bad.isa:{line}:{col}"


def test_unknown_declaration_keyword():
    where, msg = _error("isa t\nwrod 32\n")
    assert where == "bad.isa:2:1"
    assert msg.startswith("syntax error: unexpected 'wrod'; expected a declaration (isa, word, ")


def test_unknown_keyword_suggests_the_close_one():
    with pytest.raises(SpecError) as info:
        read_isa("isa t\nstroage size 4\n", "bad.isa")
    assert info.value.diagnostics[0].hint == "did you mean 'storage'?"


def test_misspelt_element_attribute():
    where, msg = _error("isa t\nstate {\n  pc: 32 rol pc\n}\n")
    assert where == "bad.isa:3:10"
    assert msg == (
        "syntax error: unexpected 'rol'; expected an attribute (role, readonly, zero, names), "
        "a description, or the next element"
    )


def test_unterminated_body_points_at_its_brace():
    where, msg = _error("isa t\ninstruction a {\n  if x { pc = 1 }\n  pc = 2\n")
    assert (where, msg) == ("bad.isa:2:15", "syntax error: unexpected end of file; expected '}' to close this '{'")


def test_unterminated_nested_braces():
    where, msg = _error("isa t\ntraps {\n  deliver {\n    if x { pc = 1\n  }\n}\n")
    assert (where, msg) == ("bad.isa:2:7", "syntax error: unexpected end of file; expected '}' to close this '{'")


@pytest.mark.parametrize("number", ["3x2", "0x", "0b12", "12abc"])
def test_bad_number(number):
    where, msg = _error(f"isa t\nword {number}\n")
    assert where == "bad.isa:2:6"
    assert msg == f"syntax error: bad number '{number}'; expected a decimal, 0x hexadecimal or 0b binary number"


def test_semantics_error_in_a_multi_line_body_is_at_its_file_position():
    text = _PG.replace(
        "  require m == supervisor else PRIV\n  halt\n", "  require m == supervisor else PRIV\n  halt +\n"
    )
    where, msg = _error(text)
    assert where == _where(text, "halt +", 5)
    assert msg == "syntax error in semantics: unexpected '+'; expected a statement or an expression"


def test_semantics_error_in_a_one_line_body_is_at_its_file_position():
    text = _PG.replace("{ r[rd] = sext(imm, 32) }", "{ r[rd] = sext(imm, 32)) }")
    where, msg = _error(text)
    assert where == _where(text, "sext(imm, 32))", 13)
    assert msg.startswith("syntax error in semantics: unexpected ')'")


def test_semantics_error_in_deliver_and_in_a_condition():
    text = _PG.replace("    m = phys[8][0]", "    m = = phys[8][0]")
    assert _error(text)[0] == _where(text, "= = phys", 2)
    text = _PG.replace("host m == supervisor", "host m === supervisor")
    where, msg = _error(text)
    assert where == _where(text, "m === ", 4)
    assert msg.startswith("syntax error in semantics: unexpected '='")


def test_undefined_name_in_semantics_is_at_its_file_position():
    text = _PG.replace("  rb = r[rt]\n", "  rb = r[rtt]\n")
    where, msg = _error(text)
    assert where == _where(text, "rtt]")
    assert msg == "undefined name 'rtt'"


def test_unknown_key_value_reported_by_the_format_check():
    """The grammar takes any role name; build.py rejects it at the name."""
    text = _PG.replace("rl:   32 role control", "rl:   32 role contrl")
    where, msg = _error(text)
    assert (where, msg) == (_where(text, "contrl"), "unknown role 'contrl'")


def test_unknown_attribute_in_an_instruction_header():
    where, msg = _error("isa t\ninstruction a(x: imm4) opcode 3 { pc = x }\n")
    assert where == "bad.isa:2:24"
    assert (
        msg
        == "syntax error: unexpected 'opcode'; expected 'encoding', 'format', 'labels', 'mnemonic', 'prefixes', 'ref', 'syntax', 'with', '{', a string"
    )


def test_unterminated_strings():
    assert _error('isa t\ndescription "abc\nword 8\n') == (
        "bad.isa:2:13",
        "syntax error: unterminated string; expected a closing '\"' on the same line",
    )
    assert _error('isa t\ndescription """\nabc\nword 8\n') == (
        "bad.isa:2:13",
        'syntax error: unterminated string; expected a closing \'"""\'',
    )


def test_bad_escape_in_a_string():
    assert _error('isa t\ndescription "a\\qb"\n') == ("bad.isa:2:15", "syntax error: unknown escape '\\q' in a string")


def test_duplicates():
    assert _error("isa t\nword 32\nword 16\n") == ("bad.isa:3:1", "duplicate 'word' (first at line 2)")
    assert _error("isa t\nstate {\n  a: 1\n  a: 2\n}\n") == (
        "bad.isa:4:3",
        "duplicate state element 'a' (first at line 3)",
    )
    assert _error("isa t\ninstruction a { }\ninstruction a { }\n") == (
        "bad.isa:3:13",
        "duplicate instruction 'a' (first at line 2)",
    )


def test_keyword_where_a_name_is_wanted():
    where, msg = _error("isa t\nstate {\n  a: 1\n  role: 2\n}\n")
    assert (where, msg) == ("bad.isa:4:3", "syntax error: unexpected ':' after the keyword 'role'; expected a name")


def test_condition_must_start_on_its_keyword_line():
    where, msg = _error("isa t\nhost\nm == 1\n")
    assert where == "bad.isa:3:1"
    assert msg == "syntax error: the condition after 'host' must start on the same line (line 2)"


def test_end_of_file_and_empty_file():
    assert _error("isa t\nword") == ("bad.isa:2:5", "syntax error: unexpected end of file; expected a number")
    assert _error("# only a comment\n") == ("bad.isa:1:1", "the spec file is empty")


def test_missing_required_key_comes_from_build():
    where, msg = _error("isa t\nword 8\n")
    assert msg.startswith("the spec is missing the required key")


# ---- (d) the fmt command ---------------------------------------------------------------


def test_fmt_prints_isa_to_stdout():
    res = CliRunner().invoke(main, ["fmt", "pg-toy", "--to", "isa"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("isa pg-toy\n")
    assert build_isa(read_isa(res.output, "out.isa")) == load_spec("pg-toy")


def test_fmt_writes_yaml_and_isa_files(tmp_path):
    runner = CliRunner()
    out_yaml = tmp_path / "toy.yaml"
    res = runner.invoke(main, ["fmt", str(DATA / "features.isa"), "-o", str(out_yaml)])  # --to from the suffix
    assert res.exit_code == 0, res.output
    assert load_spec(out_yaml) == load_spec(DATA / "features.isa")
    out_isa = tmp_path / "toy.isa"
    res = runner.invoke(main, ["fmt", str(out_yaml), "--to", "isa", "-o", str(out_isa)])
    assert res.exit_code == 0, res.output
    assert load_spec(out_isa) == load_spec(DATA / "features.isa")


def test_fmt_defaults_to_the_other_syntax():
    res = CliRunner().invoke(main, ["fmt", str(DATA / "features.isa")])
    assert res.exit_code == 0
    assert res.output.startswith("isa: features-1.0\n")


def test_fmt_reports_a_bad_spec_with_exit_2(tmp_path):
    bad = tmp_path / "bad.isa"
    bad.write_text("isa t\nwrod 8\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["fmt", str(bad), "--to", "yaml"])
    assert res.exit_code == 2
    assert f"{bad}:2:1: error: syntax error: unexpected 'wrod'" in res.output


def test_fmt_help_says_what_is_lost():
    res = CliRunner().invoke(main, ["fmt", "--help"])
    assert res.exit_code == 0
    assert "comments outside semantics" in " ".join(res.output.split())
