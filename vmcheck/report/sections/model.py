"""Section 3, the model and the theorems: Popek & Goldberg's model and
Theorems 1-3 in our words, how vmcheck applies them to a real ISA (roles,
instances, guest contexts, the exact condition) and the queries by name.
The same text for every spec, except the table of queries, which is
`analysis.queries.QUERIES` itself."""

from __future__ import annotations

from ...analysis.queries import QUERIES
from ..document import (
    Bullets,
    Callout,
    Code,
    Defs,
    Em,
    Para,
    Row,
    Section,
    Strong,
    Table,
)
from ..proof_input import ProofInput
from ..vocabulary import PG1974


def model_section(inp: ProofInput) -> Section:
    """Section 3 (see the module's docstring)."""
    b: list = []
    b.append(
        Para(
            [
                "Popek and Goldberg (1974) model a third-generation computer by its state ",
                Code("S = ⟨E, M, P, R⟩"),
                ": executable storage E, a processor mode M (supervisor or user), a program counter P and a "
                "relocation-bounds register R. An instruction is a function from states to states. It ",
                Em("traps"),
                " when it leaves storage alone except that the old program status word is "
                "saved and a new one is loaded; a ",
                Em("memory trap"),
                " is a trap caused by an address "
                "outside the bounds. They sort instructions by how they relate to the mode and the "
                "resources:",
            ]
        )
    )
    b.append(
        Defs(
            [
                (
                    "privileged",
                    "traps in user mode and does not trap in supervisor mode, at every pair of states "
                    "that differ only in the mode (and do not memory-trap).",
                ),
                ("control sensitive", "can change the mode or the resources (R) of the machine."),
                (
                    "behaviour sensitive",
                    "its effect depends on the mode (mode sensitive) or on where it runs in "
                    "real storage, i.e. on R (location sensitive).",
                ),
                (
                    "sensitive / innocuous",
                    "sensitive is control or behaviour sensitive; innocuous is not sensitive.",
                ),
                ("user sensitive", "control or location sensitive at some state in user mode."),
            ]
        )
    )
    b.append(
        Para(
            [
                "A virtual machine monitor is a control program made of a dispatcher, an allocator and "
                "interpreter routines, with three properties: ",
                Strong("equivalence"),
                " (a program behaves under it as on the real machine, timing and resource availability aside), ",
                Strong("resource control"),
                " (the guest cannot change its resources without the monitor) and ",
                Strong("efficiency"),
                " (innocuous instructions run directly on the hardware).",
            ]
        )
    )
    b.append(
        Callout(
            "info",
            [
                Bullets(
                    [
                        [
                            Strong("Theorem 1. "),
                            "If every sensitive instruction of a conventional third-generation computer is "
                            "privileged, a virtual machine monitor can be built for it.",
                        ],
                        [
                            Strong("Theorem 2. "),
                            "Such a computer can run its monitor recursively, under itself, if it satisfies "
                            "Theorem 1 and a monitor without timing dependencies can be built for it.",
                        ],
                        [
                            Strong("Theorem 3. "),
                            "A hybrid monitor, which interprets every instruction the guest executes in "
                            "virtual supervisor mode and runs only virtual user mode directly, can be built "
                            "if every user-sensitive instruction is privileged.",
                        ],
                    ]
                )
            ],
            "The three theorems, in our words",
        )
    )
    b.append(
        Para(
            [
                "Source: ",
                PG1974,
                " The statements above paraphrase the paper's; the theorems' names and numbering are the paper's.",
            ],
            "small",
        )
    )
    b.append(Para(Strong("How vmcheck applies them to a real ISA")))
    b.append(
        Para(
            [
                "Real machines have more state than ⟨E, M, P, R⟩. The spec names what plays each role: the "
                "program counter, the mode (an ordered set of privilege levels), ",
                Em("control"),
                " state that is a resource the VMM must own (relocation and translation registers, interrupt "
                "enable, descriptor tables...), ",
                Em("timer"),
                " state, and ordinary state. Every claim is about an ",
                Em("instance"),
                " — an instruction together with its operand values — and is decided per ",
                Em("guest context"),
                " G: the configuration in which a VMM runs the guest directly, given by a condition ",
                Code("where"),
                " on control state and a map from each virtual mode "
                "the guest may believe it is in to the real mode it runs in. Compared states see the same "
                "translated view of storage, faults included, as a VMM that composes translations keeps it. "
                "A result is the state after the instance together with its outcome (no trap, a memory trap, "
                "or a trap and its cause).",
            ]
        )
    )
    b.append(
        Defs(
            [
                (
                    "privileged in G",
                    "traps at every state of G at which it does not memory-trap, and does not trap at some host state.",
                ),
                (
                    "control sensitive",
                    "at some state where it neither traps nor memory-traps, it changes a control element.",
                ),
                (
                    "mode sensitive in G",
                    "at some state s of G where it runs, and s' = s with a virtual mode that "
                    "G maps to the mode of s, the results differ.",
                ),
                (
                    "location sensitive",
                    "two states that differ only in control elements other than the mode, "
                    "one of which runs it, give different results.",
                ),
                (
                    "user sensitive in G",
                    "control or location sensitive at a state of G whose real mode is the "
                    "image of the least privileged virtual mode.",
                ),
                (
                    "timing dependent in G",
                    "its result depends on a timer element at some state of G where it runs.",
                ),
            ]
        )
    )
    b.append(
        Bullets(
            [
                [
                    Strong("Theorem 1 in G: "),
                    "every sensitive instance traps or memory-traps at every state of G, so the "
                    "VMM always gets control.",
                ],
                [Strong("Theorem 2 in G: "), "Theorem 1, and no instance is timing dependent in G."],
                [
                    Strong("Theorem 3 in G: "),
                    "every user-sensitive instance traps or memory-traps at every state of G.",
                ],
                [
                    Strong("The exact condition in G: "),
                    "no instance is ",
                    Em("unsafe"),
                    ": there is no state s of G at "
                    "which it runs directly, and virtual state v (same non-control state and view, a mode G maps to the mode "
                    "of s, any control state), such that it changes control at s, or changes control at v without trapping, "
                    "or gives different results at s and v. Theorem 1 implies it; the converse fails where an instruction "
                    "traps in G at exactly the states where it would misbehave (the MIPS kseg0 loads, for one). It is what "
                    "the reference VMM needs: direct execution is then equivalent for every guest program, timing aside.",
                ],
            ]
        )
    )
    b.append(
        Para(
            [
                "Each class is an existence question over operands and states, put to an SMT solver (z3) over "
                "the instruction's semantics. ",
                Strong("sat"),
                " yields a ",
                Em("witness"),
                ": operand values and concrete states, replayed on the concrete semantics before it is recorded; ",
                Strong("unsat"),
                " is a proof that no such instance and states exist; a query that exhausts the solver budget is reported as ",
                Em("undecided"),
                ", never guessed. The queries, by name:",
            ]
        )
    )
    b.append(
        Table(
            ["query", "the existence question (unsat proves its negation)"],
            [Row([Code(q), text]) for q, text in QUERIES.items()],
            cls="compact",
        )
    )
    b.append(
        Para(
            [
                "range(G): the invariants hold and the mode is one of G's virtual modes; G: the invariants and ",
                Code("where"),
                " hold and the mode is one of G's real modes; host: the invariants and the "
                "spec's host condition hold; any: the invariants hold.",
            ],
            "small",
        )
    )
    b.append(
        Para(
            [
                "The definitions in full, with the corner cases they must get right and why: "
                "docs/model.md (§2.5 the classes, §2.6 the exact condition, §3 the reference hypervisor) "
                "in vmcheck's repository and package."
            ],
            "small",
        )
    )
    return Section("The model and the theorems", "model", b)
