"""Generated specs of N instructions, for `check` time against spec size.

pg-toy's machine (its state, traps, contexts and its own instructions, the
privileged ones among them) plus innocuous ALU instructions up to N in all,
each with its own encoding (the spec gives none: vmcheck assigns them).
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
    own_count = sum(1 for line in own.splitlines() if line.startswith("  ") and not line.startswith("   ")
                    and line.rstrip().endswith(":"))
    extra = []
    for k in range(max(0, n - own_count)):
        op = OPS[k % len(OPS)]
        extra.append(f"  alu{k}:\n"
                     f"    operands: [rd: reg, rs: reg, rt: reg]\n"
                     f"    semantics: r[rd] = (r[rs] {op} r[rt]) + {k % 4096}\n")
    text = head.replace("isa: pg-toy", f"isa: gen{n}", 1) + sep + own + "".join(extra)
    return text


def write_spec(n: int, directory: Path) -> Path:
    p = directory / f"gen{n}.yaml"
    p.write_text(generated_spec(n))
    return p
