"""The bundled ISA library: `isa_specs/<name>/<name>.yaml|.isa`."""
from __future__ import annotations

import os
from pathlib import Path


def specs_dir() -> Path:
    """VMCHECK_SPECS if set, else `isa_specs/` beside the package (a source checkout)."""
    env = os.environ.get("VMCHECK_SPECS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "isa_specs"


def bundled() -> dict[str, Path]:
    out: dict[str, Path] = {}
    root = specs_dir()
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        for suffix in (".yaml", ".isa"):
            f = d / f"{d.name}{suffix}"
            if f.is_file():
                out[d.name] = f
                break
    return out


def bundled_names() -> list[str]:
    return list(bundled())


def find_bundled(name: str) -> Path | None:
    return bundled().get(name)


def programs(name: str) -> list[Path]:
    """The sample programs of a bundled spec, or of the spec at a path."""
    spec = bundled().get(name)
    root = spec.parent if spec else Path(name).parent
    return sorted((root / "programs").glob("*.s"))
