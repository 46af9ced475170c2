"""Check a spec's node tree against the format and build the IR.

The format's keys are one table, `FORMAT` (`format_keys.py`, which the `.isa`
printer and the docs follow too). Unknown keys are errors: nothing the user
wrote is silently dropped. Independent errors are collected so one run
reports them all.

The builder is one class in parts: `NodeChecks` (`node_checks.py`, reading
a node as a kind), `StateBuilder` (`build_state.py`, the declarations),
`InstructionBuilder` (`build_instructions.py`), and here the whole spec,
its contexts, invariants and reset, and the limits on the built semantics.
"""

from __future__ import annotations

import re

from ..errors import Collector, Span, SpecError
from . import ir
from . import surface as s
from .build_instructions import InstructionBuilder
from .build_state import StateBuilder
from .elaborate import Elaborator
from .format_keys import FORMAT, LABELS
from .limits import MAX_EXPR_NESTING, MAX_IF_NESTING, MAX_WIDTH, nesting
from .node_checks import Skip
from .nodes import Node
from .scope import Declarations, Scope
from .semantics_parser import parse_block, parse_expr

__all__ = ["FORMAT", "LABELS", "build_isa"]


def _state_reads(expr: ir.Expr):
    """(element, bits read, span) for each state read in `expr`; element None
    for a storage read. Walked without recursion."""
    stack = [expr]
    while stack:
        x = stack.pop()
        if isinstance(x, (ir.Slice, ir.Reg)):
            lo, hi = 0, None
            base: ir.Expr = x
            while isinstance(base, ir.Slice):  # slices of slices: compose the windows
                lo, hi = base.lo + lo, base.lo + (hi if hi is not None else base.hi - base.lo)
                base = base.value
            if isinstance(base, ir.Reg):
                hi = base.width - 1 if hi is None else hi
                yield base.elem, ir.mask(hi - lo + 1) << lo, x.span or base.span
                continue
            stack.append(base)
            continue
        if isinstance(x, ir.FileRead):
            yield x.file, ir.mask(x.width), x.span
            stack.append(x.index)
            continue
        if isinstance(x, ir.Mem):
            yield None, 0, x.span
            stack.append(x.addr)
            continue
        for name in getattr(x, "__dataclass_fields__", {}):
            child = getattr(x, name)
            if isinstance(child, tuple):
                stack.extend(c for c in child if hasattr(c, "__dataclass_fields__"))
            elif hasattr(child, "__dataclass_fields__"):
                stack.append(child)


def build_isa(root: Node, source: str | None = None) -> ir.Isa:
    """Node tree -> Isa, or SpecError listing every problem found."""
    errors = Collector()
    b = _SpecBuilder(errors)
    isa = None
    try:
        isa = b.spec(root, source)
    except Skip:
        pass
    errors.raise_if_any()
    if isa is None:  # pragma: no cover - every Skip records an error
        raise SpecError("the spec could not be built")
    return isa


class _SpecBuilder(StateBuilder, InstructionBuilder):
    """A whole spec: its parts built, elaborated and checked together."""

    def spec(self, root: Node, source: str | None) -> ir.Isa:
        d = self.mapping(root, "spec", "the spec")
        for key in ("isa", "word", "modes", "state", "storage", "traps", "instructions"):
            if key not in d:
                raise Skip()
        name = self.str_(d["isa"], "isa")
        # The name reaches file names (generated-code dumps, reports) and every
        # output: letters, digits and _ . + - only, as the `.isa` syntax has it.
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}", name):
            self.errors.error(
                d["isa"].span,
                f"the isa name must be 1-64 letters, digits, _ . + or - "
                f"(starting with a letter, digit or _), not {name[:80]!r}",
            )
        word = self.int_(d["word"], "word", 1, 4096)
        description = self.text_or_empty(d, "description")
        if "references" in d:
            refs = d["references"]
            if refs.kind != "list" or any(r.kind != "text" for r in refs.value):
                self.errors.error(refs.span, "references must be a list of text")
        levels = self.guard(self.levels, d["modes"], default=())
        elements = self.guard(self.elements, d["state"], default={})
        modes = self.guard(self.mode_def, d, levels, elements)
        pcs = [e.name for e in elements.values() if e.role == "pc"]
        if len(pcs) != 1 and elements:
            self.errors.error(d["state"].span, f"exactly one state element must have role: pc (found {len(pcs)})")
        storage = self.guard(self.storage, d["storage"], elements, word)
        constants = self.guard(self.constants, d.get("constants"), default={}) if "constants" in d else {}
        unit = storage.unit if storage else word
        causes, memory_cause, deliver_node, cause_width = self.guard(
            self.causes, d["traps"], storage, word, default=(None, "", None, word)
        )
        helpers = self.guard(self.helpers, d.get("helpers"), default={}) if "helpers" in d else {}
        decls = Declarations(word, elements, modes, constants, causes, cause_width, unit, helpers)
        el = Elaborator(decls, self.errors)

        deliver: tuple[ir.Stmt, ...] = ()
        if deliver_node is not None:
            stmts = self.guard(self.parsed, deliver_node, "deliver", parse_block, default=())
            scope = Scope(
                {
                    "cause": ir.Local("cause", cause_width),
                    "trap_arg": ir.Local("trap_arg", cause_width),
                    "fault_addr": ir.Local("fault_addr", word),
                }
            )
            deliver = el.block(stmts, scope)

        host, contexts = self.guard(self.contexts, d.get("contexts"), el, modes, default=(None, ()))
        invariants = self.guard(self.invariants, d.get("invariants"), el, default=()) if "invariants" in d else ()
        if modes is not None and len(modes.levels) < (1 << modes.width):
            # The mode bits can hold codes that name no level: rule those states out.
            mode_expr = el.name(s.Name("mode"), Scope(), None)
            valid = None
            for _, code in modes.levels:
                c = ir.Bin("eq", mode_expr, ir.Lit(code, modes.width), ir.BOOL)
                valid = c if valid is None else ir.Bin("lor", valid, c, ir.BOOL)
            invariants = (valid,) + tuple(invariants)
        variable = "insn_width" in d and d["insn_width"].kind == "text"
        if variable:
            self.guard(self.variable_decl, d, storage, elements)
            insn_width = unit
        else:
            insn_width = self.int_(d["insn_width"], "insn_width", 1, MAX_WIDTH) if "insn_width" in d else word
            if "prefixes" in d:
                self.errors.error(d["prefixes"].span, "prefixes need a variable-length ISA", "add insn_width: variable")
        if "operand_kinds" in d and storage is not None:
            reserved = set(elements) | {"mem", "phys", "mode", "cause", "trap_arg", "fault_addr", "insn_len"}
            self.guard(self.operand_kinds, d["operand_kinds"], elements, self.variable_unit, storage.unit, reserved)
        if storage and insn_width % storage.unit:
            self.errors.error(
                d.get("insn_width", d["word"]).span,
                f"an instruction ({insn_width} bits) must be a whole number of storage units ({storage.unit} bits)",
            )
        # families.py: a parameter may not hide what semantics can name
        self.reserved_names = frozenset(
            set(elements) | set(constants) | set(helpers) | set(modes.names if modes else ()) | {"mode"}
        )
        formats = self.guard(self.formats, d.get("formats"), default={})
        instructions = self.guard(self.instructions, d["instructions"], el, elements, insn_width, formats, default=())
        reset = self.guard(self.reset, d.get("reset"), elements, default=()) if "reset" in d else ()
        if variable and instructions:
            insn_width = unit * max(_longest(i, self.prefix_decls) for i in instructions)

        self.errors.raise_if_any()
        self.check_nesting(deliver, d["traps"].span, "deliver")
        for insn in instructions:
            self.check_nesting(insn.semantics, insn.span, f"instruction '{insn.name}'")
        for c in contexts:
            self.check_nesting(c.where, c.span, f"the 'where' of context '{c.name}'")
        for inv in invariants:
            self.check_nesting(inv, root.span, "an invariant")
        if host is not None:
            self.check_nesting(host, root.span, "host")
        self.errors.raise_if_any()
        return ir.Isa(
            name=name,
            word=word,
            modes=modes,
            elements=tuple(elements.values()),
            pc=pcs[0],
            storage=storage,
            traps=ir.Traps(tuple((causes or {}).values()), memory_cause, deliver, cause_width),
            host=host,
            contexts=contexts,
            invariants=tuple(invariants),
            instructions=instructions,
            insn_width=insn_width,
            constants=tuple(constants.items()),
            description=description,
            source=source,
            reset=reset,
            span=root.span,
            variable_length=variable,
            prefixes=self.prefix_decls if variable else (),
            operand_kinds=tuple(self.kind_decls.values()) if "operand_kinds" in d else (),
        )

    def variable_decl(self, d: dict[str, Node], storage, elements) -> None:
        """`insn_width: variable` and the `prefixes` block: set up the
        instruction builder for a variable-length ISA."""
        if d["insn_width"].value != "variable":
            self.fail(
                d["insn_width"].span,
                f"insn_width must be a number of bits or 'variable', not {d['insn_width'].value!r}",
            )
        if storage is None:
            raise Skip()
        self.variable_unit = storage.unit
        if "prefixes" in d:
            reserved = set(elements) | {"mem", "phys", "mode", "cause", "trap_arg", "fault_addr", "insn_len"}
            self.prefix_decls = self.prefix_groups(d["prefixes"], storage.unit, reserved)

    def check_nesting(self, code, span: Span | None, what: str) -> None:
        """What `lint` accepts must compile: bound the nesting the compiled form
        inherits, now that helpers are inlined and `match`/`require` are `if`s."""
        ds, de, deepest = nesting(code)
        where = getattr(deepest, "span", None) or span
        if ds > MAX_IF_NESTING:
            self.errors.error(
                where,
                f"{what} nests {ds} if/match/require levels once helpers are inlined "
                f"and match arms become if/else: the limit is {MAX_IF_NESTING}",
                "split it into separate instructions or flatten the conditions",
            )
        if de > MAX_EXPR_NESTING:
            self.errors.error(
                where,
                f"{what} nests expressions {de} levels deep once helpers are inlined: the limit is {MAX_EXPR_NESTING}",
                "name parts of it with let",
            )

    def contexts(self, node: Node | None, el: Elaborator, modes: ir.ModeDef | None):
        if node is None:
            raise Skip()
        d = self.mapping(node, "contexts", "contexts")
        if "host" not in d or "guest" not in d:
            raise Skip()
        host = self.condition(d["host"], el, "host")
        g = d["guest"]
        if g.kind != "mapping" or not g.value:
            self.fail(g.span, "guest must map each guest context's name to {where, modes}")
        out = []
        for name, cnode in g.value.items():
            try:
                self.name_key(g, name)
                cd = self.mapping(cnode, "guest", f"guest context '{name}'")
                where = self.condition(cd["where"], el, "where") if "where" in cd else ir.Lit(1, ir.BOOL)
                if "where" in cd:
                    self.where_reads_control_only(where, cd["where"], el.decls.elements, modes, name)
                if "modes" not in cd:
                    raise Skip()
                mm = cd["modes"]
                if mm.kind != "mapping" or not mm.value:
                    self.fail(mm.span, "modes must map each virtual level to the real level it runs in")
                pairs = []
                for v, r in mm.value.items():
                    real = self.str_(r, "a real level")
                    for lv, sp in ((v, mm.key_spans.get(v, mm.span)), (real, r.span)):
                        if modes is not None and lv not in modes.names:
                            self.fail(sp, f"'{lv}' is not a privilege level", f"levels: {', '.join(modes.names)}")
                    pairs.append((v, real))
                out.append(
                    ir.Context(name, where, tuple(pairs), self.text_or_empty(cd, "description"), g.key_spans.get(name))
                )
            except Skip:
                pass
        return host, tuple(out)

    def where_reads_control_only(
        self, where: ir.Expr, node: Node, elements: dict[str, ir.Element], modes: ir.ModeDef | None, ctx: str
    ) -> None:
        """docs/model.md §2.3: `where` is what the VMM sets up, so it may read control
        state (and the mode) only; a condition on guest state (a general
        register, the pc, a timer, storage) is not the VMM's to promise."""
        for elem, bits, span in _state_reads(where):
            at = span or node.span
            if elem is None:
                self.errors.error(
                    at,
                    f"the 'where' of guest context '{ctx}' reads storage; it may read "
                    "control state only (what the VMM sets up)",
                )
                continue
            e = elements[elem]
            allowed = e.role_mask("control")
            if modes is not None and modes.elem == elem:
                allowed |= ir.mask(modes.hi - modes.lo + 1) << modes.lo
            if bits & ~allowed:
                role = next(
                    (f.role or e.role for f in e.fields if (ir.mask(f.width) << f.lo) & bits & ~allowed), e.role
                )
                self.errors.error(
                    at,
                    f"the 'where' of guest context '{ctx}' constrains '{elem}', which is "
                    f"{role} state, not control state: a guest context may constrain only what "
                    "the VMM sets up (elements or fields with role: control)",
                )

    def condition(self, node: Node, el: Elaborator, what: str) -> ir.Expr:
        tree = self.parsed(node, what, parse_expr)
        cond = el.condition(tree, Scope())
        if cond is None:
            raise Skip()
        return cond

    def invariants(self, node: Node | None, el: Elaborator):
        if node is None:
            return ()
        if node.kind != "list":
            self.fail(node.span, "invariants must be a list of conditions")
        return tuple(c for c in (self.guard(self.condition, n, el, "invariant") for n in node.value) if c is not None)

    def reset(self, node: Node | None, elements: dict[str, ir.Element]):
        if node is None:
            return ()
        if node.kind != "mapping":
            self.fail(node.span, "reset must map element names to their initial values")
        out = []
        for k, v in node.value.items():
            e = elements.get(k)
            if e is None or e.is_file:
                self.errors.error(node.key_spans.get(k), f"reset: '{k}' is not a scalar state element")
                continue
            val = self.guard(self.int_, v, f"reset value of '{k}'", 0, (1 << e.width) - 1)
            if val is not None:
                out.append((k, val))
        return tuple(out)


def _longest(insn: ir.Instruction, groups: tuple[ir.PrefixGroup, ...]) -> int:
    """Units of the longest instance of a variable-length entry: its encoding
    and the longest prefix of every group it accepts."""
    by_name = {g.name: g for g in groups}
    ext = sum(max((m.extension.units if m.extension else 0) for m in o.modes.modes) for o in insn.operands if o.modes)
    return insn.encoding.units + ext + sum(max(p.units for p in by_name[g].prefixes) for g in insn.prefixes)
