"""The spec format's keys: the one table of every key a spec may write.

`FORMAT` maps each kind of mapping to its keys (key -> required?); the
builder (`build.py` and its parts) rejects any other key, the `.isa`
printer follows its order, and the docs and schema tests check against it.
`LABELS` are the literature's labels an instruction may carry.
"""

from __future__ import annotations

# key -> required?  (per mapping kind)
FORMAT: dict[str, dict[str, bool]] = {
    "spec": {
        "isa": True,
        "description": False,
        "references": False,
        "word": True,
        "modes": True,
        "mode": False,
        "state": True,
        "storage": True,
        "traps": True,
        "contexts": True,
        "invariants": False,
        "constants": False,
        "helpers": False,
        "formats": False,
        "instructions": True,
        "insn_width": False,
        "reset": False,
        "prefixes": False,
        "operand_kinds": False,
    },
    "element": {
        "width": True,
        "role": False,
        "count": False,
        "fields": False,
        "readonly": False,
        "zero": False,
        "names": False,
        "description": False,
    },
    "field": {"bit": False, "bits": False, "role": False, "readonly": False, "description": False},
    "storage": {"size": True, "unit": True, "endian": False, "translation": False},
    "translation": {"relocation": True, "bound": True},
    "traps": {"causes": True, "memory_cause": False, "deliver": True, "cause_width": False},
    "cause": {"code": True, "memory": False, "description": False},
    "contexts": {"host": True, "guest": True},
    "guest": {"where": False, "modes": True, "description": False},
    "instruction": {
        "mnemonic": False,
        "format": False,  # families.py: a format's name and its parameters' values
        "with": False,
        "operands": False,
        "encoding": False,
        "syntax": False,
        "semantics": True,
        "labels": False,
        "ref": False,
        "description": False,
        "prefixes": False,
    },
    # ---- families and formats (families.py) ----
    "format": {"params": False, "operands": False, "syntax": False, "encoding": False, "description": False},
    "family": {
        "params": False,
        "format": False,
        "with": False,
        "operands": False,
        "syntax": False,
        "encoding": False,
        "semantics": True,
        "labels": False,
        "ref": False,
        "description": False,
        "members": True,
    },
    "member": {"with": False, "mnemonic": False, "syntax": False, "labels": False, "ref": False, "description": False},
}

# Operand kinds with addressing modes (`operand_kinds`, build_modes.py).
FORMAT["operand_kind"] = {"width": True, "bits": True, "modes": True, "description": False}
FORMAT["addressing_mode"] = {
    "fields": False,
    "encoding": True,
    "extension": False,
    "syntax": True,
    "value": False,
    "address": False,
    "effect": False,
    "description": False,
}

LABELS = (
    "privileged",
    "sensitive",
    "innocuous",
    "control_sensitive",
    "mode_sensitive",
    "location_sensitive",
    "behaviour_sensitive",
    "user_sensitive",
    "timing_dependent",
    "illegal",
    "unsafe",
    "safe",
)
