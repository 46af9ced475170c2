"""Small machines for the reference VMM's tests, built on pg-toy's storage and trap delivery.

`machine(...)` writes a YAML spec: Popek & Goldberg's relocation-bounds storage,
traps that save the old PSW in physical words 0..5 and load the new one from
8..11, a mode element wide enough for the modes given, the control elements
given (besides `rl`, `rb`), a guest context, and the instructions given as
`name: semantics` (operands inferred from the names they use: `rd`, `rs`,
`rt` registers, `imm` a 16-bit immediate, `csr` a 12-bit one).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml


def _operands(sem: str) -> list[str]:
    ops = []
    for name, kind in (("rd", "reg"), ("rs", "reg"), ("rt", "reg"), ("imm", "simm16"), ("csr", "imm12")):
        if re.search(rf"\b{name}\b", sem):
            ops.append({name: kind})
    return ops


def _new_mode(modes: list[str], width: int) -> str:
    """The new PSW's mode, kept to the declared levels (an undeclared code enters the supervisor)."""
    if len(modes) == 1 << width:
        return f"m = phys[8][{width - 1}:0]\n"
    return f"let nm = phys[8][{width - 1}:0]\nif nm < {len(modes)} {{ m = nm }} else {{ m = {modes[0]} }}\n"


def machine_text(
    name: str,
    *,
    modes: list[str],
    context: dict[str, str],
    instructions: dict[str, str],
    where: str = "true",
    control: dict[str, int] | None = None,
    invariants: list[str] = (),
    reset: dict[str, int] | None = None,
    host: str | None = None,
    relocation: bool = True,
) -> str:
    """`relocation=False`: no relocation-bounds register and no memory cause, no protection."""
    width = max(1, (len(modes) - 1).bit_length())
    reloc = {"rl": {"width": 32, "role": "control"}, "rb": {"width": 32, "role": "control"}} if relocation else {}
    state = {
        "pc": {"width": 32, "role": "pc"},
        "m": {"width": width, "role": "mode"},
        **reloc,
        **{c: {"width": w, "role": "control"} for c, w in (control or {}).items()},
        "r": {"count": 8, "width": 32},
    }
    insns = {}
    for n, sem in instructions.items():
        d = {"semantics": sem}
        ops = _operands(sem)
        if ops:
            d["operands"] = ops
        insns[n] = d
    spec = {
        "isa": name,
        "word": 32,
        "modes": list(modes),
        "state": state,
        "reset": {"pc": 16, **({"rb": 4096} if relocation else {}), **(reset or {})},
        "storage": {
            "size": 4096,
            "unit": 32,
            "translation": {"relocation": "rl", "bound": "rb"} if relocation else "none",
        },
        "traps": {
            "causes": {"PRIV": 1, "SVC": 3, **({"MEM": {"code": 2, "memory": True}} if relocation else {})},
            **({"memory_cause": "MEM"} if relocation else {}),
            "deliver": (
                "phys[0] = zext(m, 32)\nphys[1] = pc\n"
                + ("phys[2] = rl\nphys[3] = rb\n" if relocation else "")
                + f"phys[4] = cause\nphys[5] = trap_arg\n{_new_mode(modes, width)}pc = phys[9]\n"
                + ("rl = phys[10]\nrb = phys[11]\n" if relocation else "")
            ),
        },
        "contexts": {"host": host or f"m == {modes[0]}", "guest": {"g": {"where": where, "modes": dict(context)}}},
        "instructions": insns,
    }
    if invariants:
        spec["invariants"] = list(invariants)
    return yaml.safe_dump(spec, sort_keys=False)


def write_machine(directory: Path, name: str, **kw) -> Path:
    p = Path(directory) / f"{name}.yaml"
    p.write_text(machine_text(name, **kw))
    return p
