"""The bundled ISA library, `isa_specs/<name>/<name>.yaml|.isa`, and the docs.

Both live at the top of the repository and ship inside the package as
`vmcheck/isa_specs` and `vmcheck/docs` (pyproject.toml maps them), so an
installed vmcheck finds them through `importlib.resources` and a source
checkout finds them beside the package.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def _data_dir(name: str) -> Path:
    """`vmcheck/<name>` as installed, else `<name>/` of the source checkout."""
    try:
        installed = resources.files("vmcheck") / name
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - vmcheck always imports
        installed = None
    # Installed from a wheel the package is a directory on disk; a zipped install is not
    # supported (the specs are read as files by the loader and by error messages).
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return _CHECKOUT / name


def specs_dir() -> Path:
    """VMCHECK_SPECS if set, else the bundled library."""
    env = os.environ.get("VMCHECK_SPECS")
    if env:
        return Path(env)
    return _data_dir("isa_specs")


def docs_dir() -> Path:
    """The shipped documentation (docs/*.md)."""
    return _data_dir("docs")


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


def peek(path: Path) -> tuple[int, list[str]] | None:
    """(instruction count, guest context names) of a YAML spec, read without
    building it (for `vmcheck specs`, which lists the library in well under a
    second); None when the file is not a YAML spec of the usual shape."""
    if path.suffix not in (".yaml", ".yml"):
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        guest = doc["contexts"]["guest"]
        return len(doc["instructions"]), [str(k) for k in guest]
    except Exception:  # noqa: BLE001 - any surprise means "not the usual shape"
        return None
