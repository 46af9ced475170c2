"""Section 2, the ISA at a glance: its word, storage, translation, modes and
trap causes, its state elements by role, its guest contexts, invariants and
references, as the spec declares them."""

from __future__ import annotations

from ...spec import ir
from ..document import (
    Bullets,
    Code,
    CodeBlock,
    Para,
    Row,
    Section,
    Strong,
    Table,
    Text,
    join,
)
from ..proof_input import ProofInput


def isa_section(inp: ProofInput) -> Section:
    """Section 2 (see the module's docstring)."""
    isa = inp.isa
    blocks: list = []
    if isa.description:
        blocks.append(Para(isa.description.strip(), "lead"))
    md = isa.modes
    elem = isa.element(md.elem)
    where = md.elem if (md.hi, md.lo) == (elem.width - 1, 0) else f"{md.elem}[{md.hi}:{md.lo}]"
    levels = join([[Code(n), f" = {c}"] for n, c in md.levels], ", ")
    tr = isa.storage.translation
    translation: Text = (
        [
            "relocation-bounds: base ",
            Code(tr.base),
            ", bound ",
            Code(tr.bound),
            " (address a is legal iff a < bound, then names physical a + base)",
        ]
        if isinstance(tr, ir.RelocationBounds)
        else "none in the spec's own terms (the view is the spec's mem[...] semantics)"
    )
    causes = join(
        [[Code(c.name), f" = {c.code}" + (" (memory trap)" if c.memory else "")] for c in isa.traps.causes], ", "
    )
    host = inp.source.text("contexts", "host")
    rows = [
        Row(["word", f"{isa.word} bits"]),
        Row(["instruction width", f"{isa.insn_width} bits ({isa.insn_units} storage unit(s))"]),
        Row(["storage", f"{isa.storage.size} units of {isa.storage.unit} bits, {isa.storage.endian}-endian"]),
        Row(["translation", translation]),
        Row(["privilege levels", ["most privileged first: "] + levels]),
        Row(["the mode", ["held in ", Code(where)]]),
        Row(["host (where the VMM runs)", Code(host) if host else "—"]),
        Row(["trap causes", causes]),
        Row(["instructions", f"{len(isa.instructions)}"]),
    ]
    blocks.append(Table([], rows, "At a glance", cls="kv"))

    # state elements by role
    by_role: dict[str, list[Row]] = {r: [] for r in ("pc", "mode", "control", "timer", "general")}
    for e in isa.elements:
        size = f"{e.count} × {e.width}" if e.is_file else f"{e.width}"
        own = [f for f in e.fields if f.role is None or f.role == e.role]
        fields = ", ".join(f"{f.name} [{f.hi}:{f.lo}]" if f.hi != f.lo else f"{f.name} [{f.lo}]" for f in own)
        role = e.role
        by_role[role].append(Row([Code(e.name), size, fields, e.description.strip()]))
        for f in e.fields:
            if f.role is not None and f.role != e.role:
                bits = f"[{f.hi}:{f.lo}]" if f.hi != f.lo else f"[{f.lo}]"
                by_role[f.role].append(Row([Code(f"{e.name}.{f.name}"), f"bits {bits}", "", "a field of " + e.name]))
        if e.name == md.elem and e.role != "mode":
            by_role["mode"].append(Row([Code(where), f"{md.width}", "", "where the mode lives"]))
    titles = {
        "pc": "program counter",
        "mode": "mode (always control state)",
        "control": "control: resources the VMM must own",
        "timer": "timer: exposes elapsed time",
        "general": "general: ordinary guest-visible state",
    }
    rows = []
    for role, rs in by_role.items():
        if not rs:
            continue
        rows.append(Row([Strong(titles[role])], "sub"))
        rows.extend(rs)
    blocks.append(Table(["element", "bits", "fields", "description"], rows, "State elements by role", cls="compact"))

    # contexts
    rows = []
    for c in isa.contexts:
        w = inp.source.text("contexts", "guest", c.name, "where") or "true"
        mm = join([[Code(v), " → ", Code(r)] for v, r in c.modes], ", ")
        rows.append(Row([Code(c.name), Code(w), mm, c.description.strip()]))
    blocks.append(
        Table(
            ["guest context", "where", "modes (virtual → real)", "description"],
            rows,
            "Guest contexts",
            cls="compact",
        )
    )
    blocks.append(
        Para(
            [
                "A state is in a guest context when it satisfies the invariants and ",
                Code("where"),
                ", and its mode is one of the context's real modes. A guest that believes it is in a "
                "virtual mode runs in the real mode the map gives; modes outside the map are never "
                "looked at.",
            ],
            "small",
        )
    )
    inv = inp.source.invariants()
    if inv:
        blocks.append(CodeBlock("\n".join(inv), "Invariants (every state satisfies them):"))
    refs = inp.source.references()
    if refs:
        blocks.append(Para(Strong("The spec's references")))
        blocks.append(Bullets(list(refs)))
    return Section("The ISA at a glance", "isa", blocks)
