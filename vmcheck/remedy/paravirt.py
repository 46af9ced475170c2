"""Paravirtualisation report (issue 18, item 4): the sites of a guest program
that use an instance violating a theorem in a guest context, and what each
must become: a hypercall, the spec's own trap instruction with a code the VMM
dispatches on.

Each instruction of the assembled program is decoded and matched against the
engine's verdict for its entry. An entry violates when one of its instances
does (docs/model.md §2.2); a site is "yes" when the entry has no operand a guard
could select on (`repair.selectors`) or its selector values are those of the
engine's witness, and "depends" (on operand values) otherwise.

`confirm` shows the patched program working: the original runs natively,
the patched one under the classic VMM given the sites' hypercall table
(`hypervisor.hypercalls`), compared after every step as `vmcheck confirm`
compares (`hypervisor.lockstep`); the original under the classic VMM is run
too, to show what paravirtualisation removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import YES, Report
from ..errors import UserError
from ..hypervisor.hypercalls import Hypercall, HypercallTable
from ..hypervisor.lockstep import Comparison, compare_run
from ..hypervisor.vmm import CLASSIC
from ..machine.assembler import Program, assemble, assemble_file
from ..machine.decode import Decoder, instance_units
from ..machine.syntax import disassemble
from ..spec import ir
from ..theory import theorem_phrase
from .repair import selectors


@dataclass
class Site:
    address: int
    line: int | None
    text: str  # the instruction as the spec's syntax writes it
    instruction: str
    operands: dict[str, int]
    violates: str  # "yes" or "depends"
    reason: str
    replacement: str  # the hypercall, e.g. "svc 256"
    code: int | None

    def to_json(self) -> dict:
        return {
            "address": self.address,
            "line": self.line,
            "text": self.text,
            "instruction": self.instruction,
            "operands": dict(self.operands),
            "violates": self.violates,
            "reason": self.reason,
            "replacement": self.replacement,
            "code": self.code,
        }


@dataclass
class ParavirtReport:
    isa: str
    program: str
    context: str
    theorem: str
    hypercall: str | None  # the trap instruction used for hypercalls
    sites: list[Site] = field(default_factory=list)
    reason: str = ""

    def to_json(self) -> dict:
        return {
            "isa": self.isa,
            "program": self.program,
            "context": self.context,
            "theorem": self.theorem,
            "hypercall": self.hypercall,
            "sites": [s.to_json() for s in self.sites],
            "reason": self.reason,
        }


def hypercall_entry(isa: ir.Isa) -> ir.Instruction | None:
    """An entry whose whole semantics is one trap with a non-memory cause,
    taking an immediate operand (a supervisor call): what a guest calls its VMM with."""
    memory = {c.name for c in isa.traps.causes if c.memory} | {isa.traps.memory_cause}
    for insn in isa.instructions:
        sem = insn.semantics
        if (
            len(sem) == 1
            and isinstance(sem[0], ir.Trap)
            and sem[0].cause not in memory
            and any(o.kind == "imm" for o in insn.operands)
        ):
            return insn
    return None


def _word(isa: ir.Isa, units: dict[int, int], addr: int) -> int | None:
    n, u = isa.insn_units, isa.storage.unit
    got = [units.get(addr + k) for k in range(n)]
    if isa.variable_length:  # the longest instance's window: storage past the program reads 0, as it loads
        got = [units.get(addr, None)] + [0 if g is None else g for g in got[1:]]
    parts = [p for p in got if p is not None]
    if len(parts) != n:
        return None
    if isa.storage.endian == "big":
        parts = parts[::-1]
    return sum(p << (u * k) for k, p in enumerate(parts))


def _statement(line: str) -> str:
    """A source line without its labels and comment."""
    body = re.split(r"[#;]", line, maxsplit=1)[0]
    return re.sub(r"^\s*(?:[A-Za-z_.$][\w.$]*:\s*)*", "", body).strip()


def sites(isa: ir.Isa, rep: Report, program: Program, source: str, context: str, theorem: str) -> ParavirtReport:
    ctx = rep.context(context)
    lines = source.splitlines()
    hc = hypercall_entry(isa)
    out = ParavirtReport(isa.name, program.file, context, theorem, hc.name if hc else None)
    violating = {r.name: r for r in ctx.instructions if r.violates[theorem].value == YES}
    units = program.words()
    dec = Decoder(isa)
    code_op = next((o for o in hc.operands if o.kind == "imm"), None) if hc else None
    used = set()
    if hc is not None and code_op is not None:
        for addr in program.lines:
            w = _word(isa, units, addr)
            d = dec.decode(w) if w is not None else None
            if d is not None and d[0].name == hc.name:
                used.add(dict(zip((o.name for o in hc.operands), d[1])).get(code_op.name, 0))
    # Hypercall codes: the upper half of the operand's range is the VMM's, above
    # every code the program itself already uses.
    next_code = max([(1 << (code_op.width - 1)) - 1 if code_op else 0] + sorted(used)) + 1
    for addr in sorted(program.lines):
        line = program.lines[addr]
        if line is None or line > len(lines) or _statement(lines[line - 1]).startswith("."):
            continue
        w = _word(isa, units, addr)
        d = dec.decode(w) if w is not None else None
        if d is None or d[0].name not in violating:
            continue
        insn, vals = d
        ops = dict(zip((o.name for o in insn.operands), vals))
        r = violating[insn.name]
        wit = r.violates[theorem].witness
        sel = selectors(insn)
        same = wit is not None and all(ops.get(o) == wit.operands.get(o) for o in sel)
        verdict = "yes" if not sel or same else "depends"
        reason = r.violates[theorem].reason
        if verdict == "depends":
            shown = ", ".join(f"{o} = {wit.operands.get(o, 0):#x}" for o in sel) if wit else "other values"
            reason = f"{insn.name} violates for some operand values (the engine's witness: {shown}); {reason}"
        fits = hc is not None and (
            not isa.variable_length
            or instance_units(isa, hc, [0] * len(hc.operands)) == instance_units(isa, insn, vals)
        )
        if hc is not None and not fits:  # a variable-length site the hypercall would not fill exactly
            reason += f"; not patched: {hc.name} is not as long as this instance, so addresses would move"
        if hc is not None and fits:
            code = next_code
            next_code += 1
            hv = [code if o is code_op else 0 for o in hc.operands]
            if code_op is not None and code >> code_op.width:
                raise UserError(f"{program.file}: more sites than free hypercall codes of {hc.name}")
            repl = disassemble(isa, hc, hv, addr)
        else:
            code, repl = None, ""
        out.sites.append(
            Site(addr, line, disassemble(isa, insn, vals, addr), insn.name, ops, verdict, reason, repl, code)
        )
    out.reason = (
        f"{len(out.sites)} site(s) use instructions that violate {theorem_phrase(theorem)} in {context}"
        if out.sites
        else f"no site uses an instruction that violates {theorem_phrase(theorem)} in {context}"
    )
    if out.sites and hc is None:
        out.reason += f"; {isa.name} has no trap instruction with an immediate operand to make hypercalls with"
    return out


def patched(source: str, report: ParavirtReport) -> str:
    """The program with each site's statement replaced by its hypercall (the
    original kept in a comment): same size, so no address moves."""
    lines = source.splitlines(keepends=True)
    for s in report.sites:
        if not s.replacement or s.line is None:
            continue
        old = lines[s.line - 1]
        stmt = _statement(old)
        nl = "\n" if old.endswith("\n") else ""
        head = old[: old.index(stmt)] if stmt and stmt in old else ""
        lines[s.line - 1] = f"{head}{s.replacement}    # hypercall {s.code:#x}: was `{stmt}`{nl}"
    return "".join(lines)


def hypercall_table(isa: ir.Isa, report: ParavirtReport) -> HypercallTable | None:
    """The table the VMM services the patched program's hypercalls with: each
    site's code -> its original instance. None: the ISA has no hypercall instruction."""
    hc = isa.instruction(report.hypercall) if report.hypercall else None
    if hc is None:
        return None
    operand = next(i for i, o in enumerate(hc.operands) if o.kind == "imm")  # hypercall_entry requires one
    calls = {}
    for s in report.sites:
        if s.code is not None:
            insn = isa.instruction(s.instruction)
            calls[s.code] = Hypercall(s.instruction, tuple(s.operands[o.name] for o in insn.operands))
    return HypercallTable(hc.name, operand, calls)


@dataclass
class ParavirtConfirmation:
    """The patched program under the classic VMM against the original natively."""

    patched: Comparison | None  # None: no hypercall instruction, so no patched program
    original: Comparison  # the unpatched program under the classic VMM, for contrast

    @property
    def equivalent(self) -> bool:
        return self.patched is not None and self.patched.equivalent

    def to_json(self, isa: ir.Isa) -> dict:
        def run(c: Comparison) -> dict:
            return {
                "steps": c.steps,
                "native_stop": c.native_stop,
                "virtual_stop": c.virtual_stop,
                "equivalent": c.equivalent,
                "divergence": None if c.divergence is None else c.divergence.summary(isa),
                "hypercalls": c.counters.hypercalls,
                "counters": c.counters.as_dict(),
            }

        return {
            "vmm": CLASSIC,
            "equivalent": self.equivalent,
            "patched": None if self.patched is None else run(self.patched),
            "original": run(self.original),
        }


def confirm(
    isa: ir.Isa, context: str, program: Program, source: str, report: ParavirtReport, max_steps: int = 10_000
) -> ParavirtConfirmation:
    """Run the original program natively and the patched one under the classic
    VMM, servicing its hypercalls; and the original under the classic VMM."""
    ctx = isa.context(context)
    original = compare_run(isa, ctx, program.image, kind=CLASSIC, max_steps=max_steps)
    table = hypercall_table(isa, report)
    if table is None:  # no hypercall instruction: only a program with no site runs as it is
        return ParavirtConfirmation(None if report.sites else original, original)
    guest = assemble(isa, patched(source, report), program.file)
    run = compare_run(
        isa, ctx, program.image, kind=CLASSIC, max_steps=max_steps, guest_image=guest.image, hypercalls=table
    )
    return ParavirtConfirmation(run, original)


def load_program(isa: ir.Isa, path: Path) -> tuple[Program, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read program '{path}': {getattr(e, 'strerror', None) or e}") from None
    return assemble_file(isa, path), text
