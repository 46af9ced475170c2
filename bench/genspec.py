"""Generated specs of N instructions, for `check` time against spec size.

pg-toy's machine (its state, traps, contexts and its own instructions, the
privileged ones among them) plus innocuous ALU instructions up to N in all,
each with its own encoding (the spec gives none: vmcheck assigns them), in
64-bit instruction words.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPS = ["+", "-", "^", "&", "|"]


def generated_spec(n: int) -> str:
    base = (ROOT / "isa_specs/pg-toy/pg-toy.yaml").read_text()
    head, sep, own = base.partition("\ninstructions:\n")
    if not sep:
        raise SystemExit("pg-toy.yaml has no 'instructions:' section")
    own_count = sum(
        1
        for line in own.splitlines()
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":")
    )
    extra = []
    for k in range(max(0, n - own_count)):
        op = OPS[k % len(OPS)]
        extra.append(
            f"  alu{k}:\n"
            f"    operands: [rd: reg, rs: reg, rt: reg]\n"
            f"    semantics: r[rd] = (r[rs] {op} r[rt]) + {k % 4096}\n"
        )
    # 64-bit instructions at every size: 5,000 opcodes leave too few bits of
    # a 32-bit word for pg-toy's 16-bit immediates.
    head = head.replace("isa: pg-toy", f"isa: gen{n}", 1).replace("\nword: 32\n", "\nword: 32\ninsn_width: 64\n", 1)
    text = head + sep + own + "".join(extra)
    return text


def write_spec(n: int, directory: Path) -> Path:
    p = directory / f"gen{n}.yaml"
    p.write_text(generated_spec(n))
    return p
