"""Small machines the engine tests build on (written as YAML text)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_TOY = ROOT / "isa_specs" / "pg-toy" / "pg-toy.yaml"


# The load-immediate, load and store entries of the 32-bit machines here and
# in test_soundness (YAML under `instructions:`; registers `r`).
LI_LD_ST = """\
  li:
    operands: [rd: reg, imm: simm16]
    semantics: r[rd] = sext(imm, 32)
  ld:
    operands: [rd: reg, rs: reg]
    semantics: r[rd] = mem[r[rs]]
  st:
    operands: [rt: reg, rs: reg]
    semantics: mem[r[rs]] = r[rt]
"""


def three_mode_machine(modes: str, where: str = "true", extra_state: str = "") -> str:
    """Popek & Goldberg's machine with a third mode between supervisor and user
    and a hypervisor bit `hv` (set in the host), one guest context named
    `ring_compression` with the given mode map, and every instruction that
    touches the mode or the relocation register guarded by `m == supervisor`."""
    return f"""
isa: three-modes
word: 32
modes: [supervisor, kernel, user]
state:
  pc: {{width: 32, role: pc}}
  m:  {{width: 2, role: mode}}
  hv: {{width: 1, role: control}}
  rl: {{width: 32, role: control}}
  rb: {{width: 32, role: control}}
  r:  {{count: 4, width: 32}}
{extra_state}reset: {{pc: 16, rb: 4096, hv: 1}}
storage:
  size: 4096
  unit: 32
  translation: {{relocation: rl, bound: rb}}
traps:
  causes: {{PRIV: 1, MEM: {{code: 2, memory: true}}}}
  memory_cause: MEM
  deliver: |
    phys[0] = zext(m, 32)
    phys[1] = pc
    m = supervisor
    pc = phys[9]
contexts:
  host: m == supervisor && hv == 1
  guest:
    ring_compression: {{where: "{where}", modes: {modes}}}
instructions:
{LI_LD_ST}  setm:
    operands: [rs: reg]
    semantics: |
      require m == supervisor && r[rs][1:0] != 3 else PRIV
      m = r[rs][1:0]
"""
