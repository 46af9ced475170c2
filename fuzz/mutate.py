"""Mutations of spec and program text: each takes bytes and a seeded Random.

Every mutator is deterministic given its Random, so a case is reproduced
from (seed, index) alone. `MUTATORS` lists them by name; `mutate` applies
one to three of them in a row.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

Mutator = Callable[[bytes, random.Random], bytes]

# Values that have broken readers before: huge, negative, zero, floats, odd spellings.
NASTY_NUMBERS = [
    "0",
    "-1",
    "-0",
    "1" + "0" * 5000,
    "9" * 4301,
    "0x" + "f" * 2000,
    str(2**64),
    str(2**40),
    "1099511627776",
    "1.5",
    "1e9",
    "0.0",
    "-2.5e-3",
    ".inf",
    "nan",
    "0x_",
    "0b",
    "0x",
    "1_",
    "_1",
    "0o777",
    "08",
    "-9223372036854775809",
    "65536",
    "4294967296",
    "-32769",
]
NASTY_TOKENS = [
    "!!int abc",
    "!!bool abc",
    "!!float x",
    "!!python/object/apply:os.system ['true']",
    "!!binary AAAA",
    "!!timestamp 2001-13-45",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "&a",
    "*a",
    "*zz",
    "~",
    "null",
    "[]",
    "{}",
    "''",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "-",
    "?",
    ":",
    "|",
    ">",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "#",
    "//",
    '"',
    '"""',
    "`",
    "\\",
    "\t",
    "\x00",
    "\u200b",
    "é",
    "mode",
    "pc",
    "state",
    "instruction",
    "trap",
    "require",
    "match",
    "if",
    "else",
    "let",
    "halt",
    "mem",
    "phys",
    "mem128",
    "sext",
    "zext",
    "concat",
    "=>",
    "_",
    "r[99999]",
    "r[-1]",
    "x[63:0]",
    "x[0:63]",
    "0x_",
    "__import__('os')",
    "'; import os #",
]
DEEP = 3000


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def byte_flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\xff"
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def delete_lines(data: bytes, rng: random.Random) -> bytes:
    ls = _lines(data)
    i = rng.randrange(len(ls))
    del ls[i : i + rng.randint(1, 5)]
    return _join(ls)


def duplicate_line(data: bytes, rng: random.Random) -> bytes:
    ls = _lines(data)
    i = rng.randrange(len(ls))
    ls.insert(i, ls[i])
    return _join(ls)


def swap_lines(data: bytes, rng: random.Random) -> bytes:
    ls = _lines(data)
    i, j = rng.randrange(len(ls)), rng.randrange(len(ls))
    ls[i], ls[j] = ls[j], ls[i]
    return _join(ls)


_TOKEN = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F_]+|[0-9]+|[^\sA-Za-z0-9_]")


def _tokens(data: bytes) -> list[re.Match]:
    return list(_TOKEN.finditer(data))


def replace_token(data: bytes, rng: random.Random) -> bytes:
    toks = _tokens(data)
    if not toks:
        return data + rng.choice(NASTY_TOKENS).encode()
    t = rng.choice(toks)
    if rng.random() < 0.5:
        new = rng.choice(toks).group(0)  # a token of the same file: often valid syntax, wrong meaning
    else:
        new = rng.choice(NASTY_TOKENS).encode()
    return data[: t.start()] + new + data[t.end() :]


def delete_token(data: bytes, rng: random.Random) -> bytes:
    toks = _tokens(data)
    if not toks:
        return data
    t = rng.choice(toks)
    return data[: t.start()] + data[t.end() :]


_KEY = re.compile(rb"^(\s*)([A-Za-z_][\w-]*)(\s*):", re.M)


def rename_key(data: bytes, rng: random.Random) -> bytes:
    keys = list(_KEY.finditer(data))
    if not keys:
        return replace_token(data, rng)
    k = rng.choice(keys)
    choice = rng.random()
    if choice < 0.4:
        new = rng.choice(keys).group(2)  # another key of the file: duplicates, misplaced keys
    elif choice < 0.7:
        name = k.group(2)
        i = rng.randrange(len(name))
        new = name[:i] + name[i + 1 :] or b"x"  # a misspelling
    else:
        new = rng.choice(
            [
                b"modes",
                b"state",
                b"width",
                b"role",
                b"count",
                b"semantics",
                b"encoding",
                b"syntax",
                b"operands",
                b"where",
                b"host",
                b"guest",
                b"include",
                b"storage",
                b"size",
                b"fields",
            ]
        )
    return data[: k.start(2)] + new + data[k.end(2) :]


_NUM = re.compile(rb"(?<![\w.])(?:0[xX][0-9a-fA-F_]+|[0-9]+)(?![\w.])")


def replace_number(data: bytes, rng: random.Random) -> bytes:
    nums = list(_NUM.finditer(data))
    new = rng.choice(NASTY_NUMBERS).encode()
    if not nums:
        return data + b" " + new
    n = rng.choice(nums)
    return data[: n.start()] + new + data[n.end() :]


def _insert_line(data: bytes, rng: random.Random, line: bytes) -> bytes:
    ls = _lines(data)
    i = rng.randrange(len(ls) + 1)
    if i < len(ls) and rng.random() < 0.5:  # keep the indentation of the line it lands beside
        lead = ls[i][: len(ls[i]) - len(ls[i].lstrip())]
        line = lead + line
    ls.insert(i, line)
    return _join(ls)


def _insert_inline(data: bytes, rng: random.Random, text: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + text + data[i:]


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    n = rng.choice([50, 200, 1000, DEEP])
    shape = rng.randrange(7)
    if shape == 0:
        text = b"x: " + b"[" * n + b"]" * n
    elif shape == 1:
        text = b"(" * n + b"r0" + b")" * n
    elif shape == 2:
        text = b"if true { " * n + b"halt" + b" }" * n
    elif shape == 3:
        text = b" + ".join([b"a"] * n)
    elif shape == 4:
        text = b"{" * n + b"}" * n
    elif shape == 5:
        text = b"-" * n + b"1"
    else:
        text = b"\n".join(b"  " * k + b"k%d:" % k for k in range(min(n, 400)))
    return _insert_inline(data, rng, text) if rng.random() < 0.6 else _insert_line(data, rng, text)


def long_line(data: bytes, rng: random.Random) -> bytes:
    n = rng.choice([1500, 20000, 100000])
    text = rng.choice([b" " * n, b"a" * n, b"x " * (n // 2), b"\t" * n, b"1" * n, b"r1, " * (n // 4)])
    return _insert_inline(data, rng, text) if rng.random() < 0.5 else _insert_line(data, rng, text)


def non_utf8(data: bytes, rng: random.Random) -> bytes:
    bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\x80abc", b"\xf5\x80\x80\x80"])
    return _insert_inline(data, rng, bad)


def crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", b"\r\n") if rng.random() < 0.8 else data.replace(b"\n", b"\r")


def tabs(data: bytes, rng: random.Random) -> bytes:
    return re.sub(rb"(?m)^(  )+", lambda m: b"\t" * (len(m.group(0)) // 2), data)


def alias_bomb(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        lines = [b"bomb_a: &a [x, x, x, x, x, x, x, x, x]"]
        prev = b"a"
        for k in range(1, 12):
            name = b"a%d" % k
            lines.append(b"bomb_%s: &%s [" % (name, name) + b", ".join([b"*" + prev] * 9) + b"]")
            prev = name
        text = b"\n".join(lines)
    elif kind == 1:
        text = b"rec: &r [*r]"
    else:
        text = b"rec: &r {x: *r}"
    return data.rstrip(b"\n") + b"\n" + text + b"\n"


def yaml_tag(data: bytes, rng: random.Random) -> bytes:
    nums = list(_NUM.finditer(data))
    tag = rng.choice(
        [
            b"!!int abc",
            b"!!bool abc",
            b"!!float abc",
            b"!!python/name:os.system",
            b"!!python/object/apply:os.system [true]",
            b"!!binary QUJD",
            b"!!timestamp 2001-13-45",
            b"!!str",
            b"!!null x",
            b"!foo bar",
            b"!!set",
            b"!!int 0x_",
        ]
    )
    if not nums:
        return data + b"\n" + tag
    n = rng.choice(nums)
    return data[: n.start()] + tag + data[n.end() :]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


MUTATORS: dict[str, Mutator] = {
    "byte_flip": byte_flip,
    "delete_lines": delete_lines,
    "duplicate_line": duplicate_line,
    "swap_lines": swap_lines,
    "replace_token": replace_token,
    "delete_token": delete_token,
    "rename_key": rename_key,
    "replace_number": replace_number,
    "deep_nesting": deep_nesting,
    "long_line": long_line,
    "non_utf8": non_utf8,
    "crlf": crlf,
    "tabs": tabs,
    "alias_bomb": alias_bomb,
    "yaml_tag": yaml_tag,
    "truncate": truncate,
}
# Structure-preserving mutators are drawn more often: they get past the reader.
WEIGHTS = {
    "replace_token": 6,
    "delete_token": 3,
    "replace_number": 4,
    "rename_key": 3,
    "delete_lines": 2,
    "duplicate_line": 2,
    "swap_lines": 2,
}
# Mutations that only make sense for one kind of file.
YAML_ONLY = {"alias_bomb", "yaml_tag", "rename_key"}


def mutate(data: bytes, rng: random.Random, kind: str) -> tuple[bytes, list[str]]:
    """Apply 1-3 mutators; `kind` is 'yaml', 'isa' or 'program'. Returns (data, names)."""
    names = [n for n in MUTATORS if kind == "yaml" or n not in YAML_ONLY]
    weights = [WEIGHTS.get(n, 1) for n in names]
    applied = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        name = rng.choices(names, weights)[0]
        data = MUTATORS[name](data, rng)
        applied.append(name)
    return data, applied
