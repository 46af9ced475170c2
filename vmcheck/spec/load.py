"""Load a spec by path or by a bundled spec's short name."""

from __future__ import annotations

from pathlib import Path

from ..errors import Diagnostic, SpecError
from .build import build_isa
from .ir import Isa
from .library import bundled_names, find_bundled
from .limits import read_source
from .nodes import Node
from .yaml_reader import read_yaml

SUFFIXES = (".yaml", ".yml", ".isa")


def read_nodes(path: Path) -> Node:
    """A spec file's node tree, by its suffix (YAML or `.isa`)."""
    text = read_source(path, "spec")
    if path.suffix == ".isa":
        from .isa_reader import read_isa

        return read_isa(text, str(path))
    return read_yaml(text, str(path))


def resolve(spec: str) -> Path:
    """A path that exists, or the file of the bundled spec named `spec`."""
    p = Path(spec)
    try:
        if p.is_file():
            return p
        if p.is_dir():
            found = [f for f in sorted(p.iterdir()) if f.suffix in SUFFIXES]
            if len(found) == 1:
                return found[0]
    except OSError as e:  # a name too long, a directory we may not list...
        raise SpecError(Diagnostic(None, f"cannot open spec '{spec}': {e.strerror or e}")) from None
    bundled = find_bundled(spec)
    if bundled is not None:
        return bundled
    names = ", ".join(bundled_names()) or "none"
    raise SpecError(Diagnostic(None, f"no spec file or bundled spec named '{spec}'", f"bundled specs: {names}"))


def load_spec(spec: str | Path) -> Isa:
    path = resolve(str(spec))
    if path.suffix not in SUFFIXES:
        raise SpecError(f"{path}: a spec file ends in .yaml, .yml or .isa")
    return build_isa(read_nodes(path), str(path))
