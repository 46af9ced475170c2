"""vmcheck: is this instruction set virtualizable by trap-and-emulate?

The public names, re-exported from the parts they belong to.
"""

__version__ = "0.1.0"

from .errors import InternalError, SpecError, UserError  # noqa: E402

__all__ = ["__version__", "InternalError", "SpecError", "UserError", "load_spec"]


def load_spec(spec: str):
    """Load a spec by path or bundled short name into the IR (`vmcheck.spec.ir.Isa`)."""
    from .spec.load import load_spec as _load

    return _load(spec)
