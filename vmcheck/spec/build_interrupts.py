"""The `interrupts` section: interrupt sources, checked and built.

A source is a timer that becomes pending every `period` executed
instructions; it is delivered between instructions while its `enabled`
condition holds, through the spec's trap delivery with `cause` set to the
code of the trap cause it names. docs/format.md ("Interrupts") gives the
syntax; `ir.Interrupt` the meaning.

The enable condition may read control state and the mode only: interrupt
enable is a resource the VMM must own (docs/model.md §2.1), so a spec that
keeps it in guest state would let the guest mask the VMM's own timer without
a trap, and the engine would not call an instruction that writes it control
sensitive.
"""

from __future__ import annotations

from ..errors import Span
from . import ir
from .elaborate import Elaborator
from .node_checks import NodeChecks, Skip
from .nodes import Node
from .scope import Scope
from .semantics_parser import parse_expr

MAX_PERIOD = 1 << 32


class InterruptBuilder(NodeChecks):
    """Mixed into the spec builder (needs `condition`, `state_reads`)."""

    def interrupts(
        self,
        node: Node | None,
        el: Elaborator,
        causes: dict[str, ir.Cause] | None,
        elements: dict[str, ir.Element],
        modes: ir.ModeDef | None,
    ) -> tuple[ir.Interrupt, ...]:
        if node is None:
            return ()
        if node.kind != "mapping" or not node.value:
            self.fail(node.span, "interrupts must map each interrupt source's name to {cause, enabled, period}")
        out = []
        for name, snode in node.value.items():
            try:
                out.append(self.interrupt(node, name, snode, el, causes, elements, modes))
            except Skip:
                pass
        return tuple(out)

    def interrupt(
        self,
        parent: Node,
        name: str,
        node: Node,
        el: Elaborator,
        causes: dict[str, ir.Cause] | None,
        elements: dict[str, ir.Element],
        modes: ir.ModeDef | None,
    ) -> ir.Interrupt:
        self.name_key(parent, name)
        what = f"interrupt source '{name}'"
        d = self.mapping(node, "interrupt", what)
        if "cause" not in d:
            raise Skip()
        cause = self.name_(d["cause"], f"the cause of {what}")
        if causes is not None and cause not in causes:
            self.fail(
                d["cause"].span,
                f"{what} names the cause '{cause}', which traps.causes does not declare",
                f"declared causes: {', '.join(causes)}",
            )
        if causes is not None and causes[cause].memory:
            self.fail(
                d["cause"].span,
                f"{what} names '{cause}', a memory cause: an interrupt is not an illegal access",
                "declare a cause of its own for it",
            )
        period = None  # no default period: the source ticks only when a run sets one (--timer N)
        if "period" in d:
            period = self.int_(d["period"], f"the period of {what} (instructions between two ticks)", 1, MAX_PERIOD)
        enabled: ir.Expr = ir.Lit(1, ir.BOOL)
        if "enabled" in d:
            tree = self.parsed(d["enabled"], "enabled", parse_expr)
            cond = el.condition(tree, Scope())
            if cond is None:
                raise Skip()
            enabled = cond
            self.enable_reads_control_only(enabled, d["enabled"], elements, modes, what)
        return ir.Interrupt(
            name, cause, enabled, period, self.text_or_empty(d, "description"), parent.key_spans.get(name)
        )

    def enable_reads_control_only(
        self, cond: ir.Expr, node: Node, elements: dict[str, ir.Element], modes: ir.ModeDef | None, what: str
    ) -> None:
        from .build import _state_reads  # (build.py imports this module)

        for elem, bits, span in _state_reads(cond):
            at: Span | None = span or node.span
            if elem is None:
                self.errors.error(at, f"the 'enabled' of {what} reads storage; it may read control state only")
                continue
            e = elements[elem]
            allowed = e.role_mask("control")
            if modes is not None and modes.elem == elem:
                allowed |= ir.mask(modes.hi - modes.lo + 1) << modes.lo
            if bits & ~allowed:
                self.errors.error(
                    at,
                    f"the 'enabled' of {what} reads '{elem}' bits that are not control state: interrupt "
                    "enable is a resource the VMM must own (docs/model.md §2.1)",
                    "declare the enable flag with role: control",
                )


def reject_wait_in_deliver(errors, deliver: tuple[ir.Stmt, ...]) -> None:
    """A trap delivery runs between instructions; it cannot itself wait."""
    from .ir_walk import walk

    for n in walk(deliver):
        if isinstance(n, ir.Wait):
            errors.error(n.span, "'wait' cannot appear in the trap delivery: only an instruction may wait")
