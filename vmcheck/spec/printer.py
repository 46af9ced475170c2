"""Print a spec's node tree as YAML or as `.isa` text (what `vmcheck fmt` writes).

Both printers walk the tree by the kinds of `build.FORMAT`, so a key the
format gains is printed in its place. Semantics text is copied verbatim
(comments included) and only re-indented. What is lost: comments outside
semantics, the spelling of numbers (`0x180` prints as 384 in YAML), and
equivalent spellings (`{bit: 9}` prints as `9`, `readonly: false` not at all).

Each string is printed in the plainest style that reads back to the same
text; for YAML the choice is checked by loading the candidate, so a style
that YAML would read differently is never used.
"""

from __future__ import annotations

from .isa_printer import ISA_ORDER, to_isa
from .print_common import WIDTH
from .yaml_printer import to_yaml

__all__ = ["to_yaml", "to_isa", "ISA_ORDER", "WIDTH"]
