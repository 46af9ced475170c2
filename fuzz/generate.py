"""Grammar-aware generation: random semantics expressions and statements (set
into a copy of pg-toy) and random programs for a bundled spec.

The generators draw from a seeded `random.Random` so the long run is
reproducible case by case; tests/test_fuzz.py drives the same grammar through
hypothesis strategies (`expr_strategy`, `program_strategy`).
"""

from __future__ import annotations

import random
from pathlib import Path

# Names pg-toy's semantics can read, and operators by arity, as the grammar has them.
ATOMS = [
    "r[rd]",
    "r[rs]",
    "r[rt]",
    "rl",
    "rb",
    "pc",
    "m",
    "rd",
    "rs",
    "imm",
    "mem[r[rs]]",
    "phys[0]",
    "true",
    "false",
    "0",
    "1",
    "0xffffffff",
    "0x_1",
    "4294967296",
    "9" * 30,
    "x",
    "r[9]",
    "m[0]",
    "pc[31:0]",
    "pc[0:31]",
    "pc[40]",
    "supervisor",
    "user",
    "cause",
    "mode",
]
UNARY = ["-", "~", "!"]
BINARY = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">>>", "==", "!=", "<", "<=", ">", ">=", "&&", "||"]
CALLS = [
    "sext({}, 32)",
    "zext({}, 32)",
    "sext({}, 8)",
    "zext({}, 1)",
    "slt({}, {})",
    "concat({}, {})",
    "sext({})",
    "nosuch({})",
    "{}[7:0]",
    "{}[3]",
    "({})",
]


def gen_expr(rng: random.Random, depth: int = 0, max_depth: int = 6) -> str:
    if depth >= max_depth or rng.random() < 0.3:
        return rng.choice(ATOMS)
    k = rng.randrange(5)
    if k == 0:
        return rng.choice(UNARY) + gen_expr(rng, depth + 1, max_depth)
    if k in (1, 2):
        return f"{gen_expr(rng, depth + 1, max_depth)} {rng.choice(BINARY)} {gen_expr(rng, depth + 1, max_depth)}"
    if k == 3:
        tpl = rng.choice(CALLS)
        return tpl.format(*(gen_expr(rng, depth + 1, max_depth) for _ in range(tpl.count("{}"))))
    return (
        f"{gen_expr(rng, depth + 1, max_depth)} ? {gen_expr(rng, depth + 1, max_depth)} : "
        f"{gen_expr(rng, depth + 1, max_depth)}"
    )


def gen_stmt(rng: random.Random, depth: int = 0) -> str:
    k = rng.randrange(8)
    e = gen_expr(rng, 0, rng.randint(1, 5))
    if k == 0 and depth < 4:
        return f"if {e} {{ {gen_stmt(rng, depth + 1)} }} else {{ {gen_stmt(rng, depth + 1)} }}"
    if k == 1:
        return f"require {e} else PRIV"
    if k == 2:
        return f"let t{depth} = {e}"
    if k == 3:
        return rng.choice(["halt", "trap(SVC)", "trap(SVC, 1)", "trap(NOPE)"])
    if k == 4:
        return f"mem[{gen_expr(rng, 0, 2)}] = {e}"
    if k == 5 and depth < 3:
        return f"match {gen_expr(rng, 0, 2)} {{ 0 => {gen_stmt(rng, depth + 1)}, _ => {gen_stmt(rng, depth + 1)} }}"
    target = rng.choice(["r[rd]", "rl", "rb", "pc", "m", "r[rd][7:0]", "r[rd][0]", "imm", "mode"])
    return f"{target} = {e}"


def pg_toy_with(semantics: str, base: Path) -> bytes:
    """pg-toy's YAML with one more instruction `fz` whose semantics is `semantics`."""
    text = base.read_text(encoding="utf-8")
    body = "\n".join("      " + ln for ln in semantics.split("\n"))
    extra = f"  fz:\n    operands: [rd: reg, rs: reg, imm: simm8]\n    semantics: |\n{body}\n"
    return (text.rstrip("\n") + "\n" + extra).encode()


def gen_semantics_spec(rng: random.Random, base: Path) -> bytes:
    stmts = [gen_stmt(rng) for _ in range(rng.randint(1, 4))]
    return pg_toy_with("\n".join(stmts), base)


# ---- programs ----------------------------------------------------------------

OPERAND_VALUES = [
    "r0",
    "r1",
    "r7",
    "r8",
    "R3",
    "x",
    "0",
    "-1",
    "65535",
    "-32768",
    "32768",
    "0x7fff",
    "0x_",
    "0b2",
    "1" * 5000,
    "loop",
    "loop+4",
    ".",
    ".-2",
    "undefined",
    "",
    "0o17",
    "1e3",
    "1.5",
    "-",
    "+1",
    "r1 r2",
    "(r1)",
]


def gen_program(rng: random.Random, mnemonics: list[str]) -> bytes:
    lines = [".org 16"]
    for i in range(rng.randint(1, 12)):
        k = rng.randrange(10)
        label = f"l{i}: " if rng.random() < 0.2 else ""
        if k == 0:
            lines.append(f"{label}.word {', '.join(rng.choice(OPERAND_VALUES) for _ in range(rng.randint(0, 3)))}")
        elif k == 1:
            lines.append(f".org {rng.choice(['0', '16', '4095', '4096', '-1', '99999999999', 'loop'])}")
        else:
            ops = ", ".join(rng.choice(OPERAND_VALUES) for _ in range(rng.randint(0, 3)))
            lines.append(f"{label}{rng.choice(mnemonics)} {ops}")
    lines.append("loop: halt")
    return "\n".join(lines).encode()
