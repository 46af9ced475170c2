"""vmcheck as a user installs it: a wheel built from this checkout, installed
into a fresh venv, run from a directory outside the checkout.

A plain install must carry everything the tool reads (the bundled library,
the docs it cites, the JSON Schemas) and must not depend on the source tree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import vmcheck

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_under_vmcheck_is_listed_in_pyproject():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "vmcheck").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_version_has_one_source():
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "vmcheck.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", vmcheck.__version__)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the `build` package is not installed (pip install build): cannot build the wheel")
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return next(out.glob("vmcheck-*.whl"))


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """The bin directory of a fresh venv with only the wheel (and its dependencies) installed."""
    venv = tmp_path_factory.mktemp("user-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return venv / "bin"


def run_installed(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VMCHECK_SPECS")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["COLUMNS"] = "80"
    return subprocess.run(
        [str(bin_dir / "vmcheck"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_the_wheel_carries_the_library_the_docs_and_the_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in sorted((ROOT / "isa_specs").glob("*/*.yaml")) + sorted((ROOT / "isa_specs").glob("*/programs/*.s")):
        assert f"vmcheck/{spec.relative_to(ROOT).as_posix()}" in names
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"vmcheck/docs/{page.name}" in names
    for schema in sorted((ROOT / "vmcheck" / "schemas").glob("*.json")):
        assert f"vmcheck/schemas/{schema.name}" in names
    assert not any(n.startswith(("isa_specs/", "docs/", "tests/")) for n in names)


@pytest.mark.slow
def test_the_installed_cli_checks_a_bundled_spec_and_lists_the_library(installed, tmp_path):
    r = run_installed(installed, tmp_path, "check", "pg-toy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pg-toy: Theorem 1 (VMM) ✓ holds" in r.stdout
    r = run_installed(installed, tmp_path, "specs")
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.splitlines() if line[:1].isalnum()}
    bundled = {p.name for p in (ROOT / "isa_specs").iterdir() if p.is_dir()}
    assert bundled <= listed
    assert "site-packages" in r.stdout  # the library it names is the installed one
    r = run_installed(installed, tmp_path, "--version")
    assert r.stdout.strip().endswith(vmcheck.__version__)
    r = run_installed(installed, tmp_path, "docs")
    assert r.returncode == 0 and "site-packages" in r.stdout
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert page.stem in r.stdout
    assert list(tmp_path.iterdir()) == []  # no cache or other files left in the working directory


def _readme_tour() -> list[tuple[str, int]]:
    """The README tour's commands with the exit code each states (0 when it states none)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"Try:\n\n```sh\n(.*?)```", text, re.DOTALL).group(1)
    out = []
    for line in block.splitlines():
        cmd, _, comment = line.partition("#")
        m = re.match(r"\s*exit (\d+)", comment)
        out.append((cmd.strip(), int(m.group(1)) if m else 0))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("command, code", _readme_tour())
def test_the_readme_tour_runs_from_the_installed_wheel(installed, tmp_path, command, code):
    args = command.split()
    assert args[0] == "vmcheck"
    # The tour's paths name the repository's files; an installed user has them under the package.
    args = [a.replace("isa_specs/", str(_installed_specs(installed)) + "/") for a in args[1:]]
    r = run_installed(installed, tmp_path, *args)
    assert r.returncode == code, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def _installed_specs(bin_dir: Path) -> Path:
    r = subprocess.run(
        [str(bin_dir / "python"), "-c", "from vmcheck.spec.library import specs_dir; print(specs_dir())"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return Path(r.stdout.strip())
