"""The proof report's sections, one builder per section, each a pure function
of a `ProofInput` returning a `document.Section`.

In the order `proof.build_document` assembles them:

1. `verdict` — the front page (it stands alone);
2. `isa` — the ISA at a glance;
3. `model` — the model and the theorems;
4. `context` — one per guest context (in a --brief report, with its violations);
5. `labels` — declared and derived classes;
6. `confirmation` — what the reference VMM observed (--confirm);
7. `remedies` — configuration, repair, translation, paravirtualisation
   (--remedies; absent when every argued theorem holds);
A. `argument` — the argument instruction by instruction, with `violations`;
B. `semantics` — every instruction's semantics.
"""
