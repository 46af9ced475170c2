"""`vmcheck run SPEC PROGRAM`: run a program on the bare simulated machine.

Exit code 0 when the program halts or ends waiting for an interrupt that
nothing can raise (an idle kernel on a machine without a halt, ARMv7-A's
WFI), 1 when it stops otherwise (step limit, double fault, undecodable
word), 2 for a bad spec, program or call. `--timer N` sets the period of the spec's
interrupt sources (0: off).
"""

from __future__ import annotations

import json
import sys

import click

from .common import INPUT_FILE, format_option, load, spec_argument, verb


@verb(
    exits=[
        ("0", "the program halted, or waits for ever (no interrupt source can end its wait)"),
        ("1", "it stopped otherwise (step limit, double fault, undecodable word)"),
    ],
    examples=[
        "vmcheck run pg-toy isa_specs/pg-toy/programs/svc.s --trace",
        "vmcheck run mips32 boot.s --format json --max-steps 5000",
    ],
)
@spec_argument()
@click.argument("program", type=INPUT_FILE)
@click.option("--trace", is_flag=True, help="Print one line per step: address, instruction, outcome.")
@click.option(
    "--max-steps",
    type=click.IntRange(min=0),
    default=1_000_000,
    show_default=True,
    help="Stop after this many steps (a program that never halts ends here, exit 1).",
)
@click.option("--dump-storage", is_flag=True, help="Also print every nonzero storage unit.")
@click.option(
    "--timer",
    type=click.IntRange(min=0),
    default=None,
    help="Raise every interrupt source of the spec every N instructions (0: never). "
    "Default: each source's own period from the spec.",
)
@format_option("text", "json", help="json: schema run.schema.json.")
def run(spec: str, program: str, trace: bool, max_steps: int, dump_storage: bool, timer: int | None, fmt: str) -> None:
    """Assemble PROGRAM for SPEC, load it at its .org addresses, reset the
    machine and run it until it halts or --max-steps; print the final state."""
    from ..machine import HALTED, STEP_LIMIT, Machine, assemble_file
    from ..machine.simulator import WAIT_FOREVER

    isa = load(spec)
    prog = assemble_file(isa, program)
    machine = Machine(isa, timer=timer)
    machine.load_image(prog.image)
    machine.reset()

    events: list[dict] = []
    labels = {addr: name for name, addr in sorted(prog.symbols.items(), key=lambda kv: -kv[1])}

    def on_step(ev) -> None:
        if fmt == "json":
            events.append(_event_json(isa, ev))
        else:
            click.echo(_event_text(isa, ev, labels))

    result = machine.run(max_steps, trace=on_step if trace else None)

    if fmt == "json":
        out = {
            "spec": isa.name,
            "program": program,
            "stop": result.reason,
            "detail": result.detail,
            "steps": result.steps,
            "registers": machine.registers(),
        }
        if isa.interrupts:
            out["interrupts"] = _interrupts_json(machine)
        if dump_storage:
            out["storage"] = {str(a): x for a, x in machine.storage.nonzero()}
        if trace:
            out["trace"] = events
        click.echo(json.dumps(out, indent=2))
    else:
        _print_text(isa, machine, result, program, dump_storage)
    if result.reason == STEP_LIMIT:
        click.echo(
            f"{program}: did not halt within --max-steps {max_steps}; raise it if the program needs more steps",
            err=True,
        )
    sys.exit(0 if result.reason in (HALTED, WAIT_FOREVER) else 1)


def _interrupts_json(machine) -> dict:
    """The interrupt sources' account of a run (specs that declare some)."""
    irq = machine.irq
    return {
        "delivered": irq.delivered,
        "idle": machine.idle,
        "sources": {n: {"period": p, "pending": pend} for n, p, pend in zip(irq.names, irq.periods, irq.pending)},
    }


def _outcome_text(out) -> str:
    if out is None:
        return "undecodable"
    if out.kind == "trap":
        return f"trap {out.cause}" + (f" (arg {out.arg})" if out.arg else "")
    if out.kind == "memtrap":
        return f"memory trap {out.cause}"
    return out.kind


def _event_text(isa, ev, labels: dict[int, str]) -> str:
    from ..machine import disassemble

    if ev.word is None:
        what = "(fetch faults)"
    elif ev.insn is None:
        what = f"(word {ev.word:#x})"
    else:
        what = disassemble(isa, ev.insn, ev.ops, ev.pc)
    label = labels.get(ev.phys, "") if ev.phys is not None else ""  # labels are physical addresses
    line = f"{ev.step:>8}  {ev.pc:#07x} {label[:12]:>12}  {what:<28} {_outcome_text(ev.outcome)}"
    if ev.interrupt:
        line = f"{'':>8}  interrupt {ev.interrupt} delivered\n" + line
    if ev.stop:
        line += f"  -> {ev.stop}"
    return line.rstrip()


def _event_json(isa, ev) -> dict:
    from ..machine import disassemble

    return {
        "step": ev.step,
        "pc": ev.pc,
        "word": ev.word,
        "insn": ev.insn.name if ev.insn else None,
        "text": disassemble(isa, ev.insn, ev.ops, ev.pc) if ev.insn else None,
        "operands": dict(zip((o.name for o in ev.insn.operands), ev.ops)) if ev.insn else {},
        "outcome": None
        if ev.outcome is None
        else {"kind": ev.outcome.kind, "cause": ev.outcome.cause, "arg": ev.outcome.arg},
        "stop": ev.stop,
        "interrupt": ev.interrupt,
    }


def _print_text(isa, machine, result, program: str, dump_storage: bool) -> None:
    why = result.reason + (f" ({result.detail})" if result.detail else "")
    click.echo(f"{program}: {why} after {result.steps} step(s)")
    if isa.interrupts:
        irq = machine.irq
        running = (
            ", ".join(f"{n} every {p}" for n, p in zip(irq.names, irq.periods))
            or "none running (--timer 0, or no default period: --timer N)"
        )
        click.echo(f"  interrupts: {irq.delivered} delivered, {machine.idle} idle cycle(s) waiting; sources: {running}")
    regs = machine.registers()
    width = max(len(n) for n in regs)
    hexw = (isa.word + 3) // 4
    for name, value in regs.items():
        click.echo(f"  {name:<{width}}  {value:#0{hexw + 2}x}  {value}")
    if dump_storage:
        cells = machine.storage.nonzero()
        uw = (isa.storage.unit + 3) // 4
        click.echo(f"storage ({len(cells)} nonzero unit(s)):")
        for addr, value in cells:
            click.echo(f"  {addr:>6}  {value:#0{uw + 2}x}  {value}")
