"""The CI gate: the composite GitHub Action (`action.yml`), the pre-commit
hooks (`.pre-commit-hooks.yaml`) and the README's "Use as a CI gate" section.

The structure of each file is checked, and the action's own shell steps are
run here with the environment GitHub would give them, so a broken script is
caught before a user's workflow finds it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.library import bundled

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)


# --------------------------------------------------------------------------
# action.yml
# --------------------------------------------------------------------------


def test_action_is_a_composite_action_with_the_documented_inputs():
    assert ACTION["name"] == "vmcheck" and ACTION["description"]
    assert ACTION["runs"]["using"] == "composite"
    inputs = ACTION["inputs"]
    assert inputs["specs"]["required"] is True
    assert inputs["theorem"]["default"] == "1"
    assert inputs["python-version"]["default"].startswith("3.")
    assert all(i.get("description") for i in inputs.values())
    assert ACTION["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"


def test_action_steps_install_check_upload_summarize_and_gate():
    steps = ACTION["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    for s in steps:
        if "run" in s:
            assert s["shell"] == "bash", s["name"]
            # inputs reach the scripts through env: an input spliced into a script is a script injection
            assert "${{" not in s["run"], s["name"]
            # vmcheck reads VMCHECK_* itself (VMCHECK_SPECS is the bundled library's folder)
            assert not any(k.startswith("VMCHECK_") for k in s.get("env", {})), s["name"]
    install = step("Install vmcheck")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert "pip install" in install["run"] and '"$ACTION_PATH"' in install["run"]
    check = step("vmcheck check")
    assert check["id"] == "check"
    assert re.search(r"vmcheck check .*--format sarif\s*> \"\$out/vmcheck\.sarif\"", check["run"].replace("\\\n", " "))
    assert "set +e" in check["run"] and "exit-code=$code" in check["run"]
    upload = step("Upload SARIF")
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif }}"
    assert upload["if"].startswith("always()")
    summary = step("Job summary")
    assert "GITHUB_STEP_SUMMARY" in summary["run"] and "vmcheck report" in summary["run"]
    gate = step("Gate")
    assert gate is steps[-1] and gate["run"] == 'exit "$ACTION_EXIT_CODE"'
    assert gate["env"]["ACTION_EXIT_CODE"] == "${{ steps.check.outputs.exit-code }}"


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # GitHub runs a `shell: bash` step as `bash --noprofile --norc -eo pipefail {0}`.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="session")
def action_python(tmp_path_factory) -> Path:
    """A fresh venv with vmcheck installed by the action's own "Install vmcheck" step
    (`pip install "$ACTION_PATH"`, a regular install, not an editable one), as on a runner."""
    if shutil.which("bash") is None:
        pytest.skip("the action's steps are bash scripts")
    venv = tmp_path_factory.mktemp("action-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "ACTION_PATH": str(ROOT), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    r = _bash(step("Install vmcheck")["run"], tmp_path_factory.mktemp("ws"), env)
    assert r.returncode == 0, r.stdout + r.stderr
    return venv / "bin"


@pytest.fixture
def github(tmp_path, action_python):
    """A scratch workspace outside the checkout, and the environment a runner gives a step."""
    ws, runner_temp = tmp_path / "workspace", tmp_path / "runner-temp"
    ws.mkdir()
    runner_temp.mkdir()
    out, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    out.touch()
    summary.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VMCHECK_SPECS")}
    env.update(
        {
            "PATH": f"{action_python}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(out),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(ws),
            "RUNNER_TEMP": str(runner_temp),
            # the inputs' documented defaults, as GitHub passes them
            **{f"ACTION_{k.upper().replace('-', '_')}": str(v.get("default", "")) for k, v in ACTION["inputs"].items()},
        }
    )
    env["ACTION_REPORT_DIR"] = ""
    return ws, env, out, summary


def _run_step(name: str, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess:
    s = step(name)
    return _bash(s["run"], Path(env["GITHUB_WORKSPACE"]), {**env, **extra})


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _run_action(env: dict[str, str], specs: str, **inputs: str) -> tuple[dict[str, str], int]:
    """The action's shell steps in order, as GitHub would run them (the Upload SARIF step
    is GitHub's own action; its input is checked instead). Returns (outputs, Gate's exit)."""
    env = {**env, "ACTION_SPECS": specs, **inputs}
    r = _run_step("vmcheck check", env)
    assert r.returncode == 0, r.stderr  # the step records the exit code; the Gate step fails
    o = _outputs(Path(env["GITHUB_OUTPUT"]))
    r = _run_step("Job summary", env, ACTION_EXIT_CODE=o["exit-code"])
    assert r.returncode == 0, r.stderr
    gate = _run_step("Gate", env, ACTION_EXIT_CODE=o["exit-code"])
    return o, gate.returncode


def test_action_runs_the_readme_example_on_a_bundled_spec(github):
    """README: `specs: pg-toy` must work from a plain install (the bundled library ships)."""
    ws, env, out, summary = github
    o, gate = _run_action(env, "pg-toy")
    assert o["exit-code"] == "0" and gate == 0
    assert json.loads(Path(o["sarif"]).read_text())["runs"][0]["results"] == []
    assert summary.read_text().startswith("## vmcheck: Theorem 1 holds (exit 0)")
    assert list(ws.iterdir()) == []  # nothing left in the user's repository (no .vmcheck-cache/)


def test_action_steps_run_a_failing_spec_end_to_end(github):
    ws, env, out, summary = github
    spec = ws / "specs" / "broken.yaml"
    spec.parent.mkdir()
    shutil.copy(bundled()["pg-toy-broken"], spec)
    o, gate = _run_action(env, "specs/*.yaml\npg-toy", ACTION_REPORT_DIR=str(ws / "reports"))
    assert o["exit-code"] == "1" and gate == 1
    sarif = json.loads(Path(o["sarif"]).read_text())
    assert sarif["version"] == "2.1.0"
    assert any("getm" in res["message"]["text"] for res in sarif["runs"][0]["results"])
    assert Path(o["sarif"]).parent == Path(env["RUNNER_TEMP"])
    text = summary.read_text()
    assert text.startswith("## vmcheck: Theorem 1 fails (exit 1)")
    assert "# pg-toy-broken: virtualizability proof report" in text and "getm" in text
    assert "# pg-toy: virtualizability proof report" in text
    assert (ws / "reports" / "broken.html").is_file() and (ws / "reports" / "pg-toy.html").is_file()
    assert sorted(p.name for p in ws.iterdir()) == ["reports", "specs"]


def test_action_check_step_with_a_bad_spec_keeps_exit_2_and_no_sarif(github):
    ws, env, out, summary = github
    (ws / "bad.yaml").write_text("isa: bad\nword: 32\n")
    o, gate = _run_action(env, "bad.yaml")
    assert o["exit-code"] == "2" and o["sarif"] == "" and gate == 2
    assert not (Path(env["RUNNER_TEMP"]) / "vmcheck.sarif").exists()
    assert "could not be decided" in summary.read_text()


def test_action_upload_step_takes_the_check_steps_sarif_output():
    upload = step("Upload SARIF")
    assert upload["uses"] == "github/codeql-action/upload-sarif@v4"
    assert "steps.check.outputs.sarif != ''" in upload["if"]
    assert step("Set up Python")["uses"] == "actions/setup-python@v6"


# --------------------------------------------------------------------------
# .pre-commit-hooks.yaml
# --------------------------------------------------------------------------


def hook(hid: str) -> dict:
    return next(h for h in HOOKS if h["id"] == hid)


def test_pre_commit_hooks_are_declared():
    assert {h["id"] for h in HOOKS} == {"vmcheck-lint", "vmcheck-check"}
    for h in HOOKS:
        assert h["language"] == "python"
        assert h["name"] and h["description"]
        assert h["entry"].split()[0] == "vmcheck"
    assert hook("vmcheck-lint")["entry"] == "vmcheck lint"
    assert hook("vmcheck-check")["entry"] == "vmcheck check"
    assert hook("vmcheck-check")["require_serial"] is True


@pytest.mark.parametrize(
    "path, matched",
    [
        ("isa_specs/x86-32/x86-32.yaml", True),
        ("isa_specs/mine.yml", True),
        ("hw/isa_specs/riscv/riscv.yaml", True),
        ("tests/data/pg-toy.isa", True),
        ("cpu.isa", True),
        (".github/workflows/ci.yml", False),
        ("action.yml", False),
        ("isa_specs/x86-32/README.md", False),
        ("isa_specs/x86-32/programs/kernel_user.s", False),
    ],
)
def test_pre_commit_hooks_select_spec_files(path, matched):
    for h in HOOKS:
        assert bool(re.search(h["files"], path)) is matched, (h["id"], path)


def test_pre_commit_hook_entries_run_on_the_files_they_select():
    files = [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("isa_specs/pg-toy*/*.yaml"))]
    files = [f for f in files if re.search(hook("vmcheck-lint")["files"], f)]
    assert files
    for hid, code in (("vmcheck-lint", 0), ("vmcheck-check", None)):
        h = hook(hid)
        args = shlex.split(h["entry"])[1:] + list(h.get("args", [])) + files
        r = CliRunner().invoke(main, args)
        if code is None:  # check: pg-toy-broken fails Theorem 1, the others hold
            assert r.exit_code == 1, r.output
            assert "pg-toy-broken" in r.output
        else:
            assert r.exit_code == code, r.output


# --------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- ci-gate -->(.*?)<!-- /ci-gate -->", text, re.DOTALL)
    assert m, "README.md has no <!-- ci-gate --> section"
    return m.group(1)


def test_readme_ci_gate_section_has_a_working_workflow_snippet():
    sec = readme_section()
    assert "## Use as a CI gate" in sec
    blocks = re.findall(r"```yaml\n(.*?)```", sec, re.DOTALL)
    workflow = next(yaml.safe_load(b) for b in blocks if "jobs:" in b)
    job = next(iter(workflow["jobs"].values()))
    assert workflow["permissions"]["security-events"] == "write"
    steps = job["steps"]
    assert any(s.get("uses", "").startswith("actions/checkout@") for s in steps)
    gate = next(s for s in steps if "vmcheck" in s.get("uses", ""))
    assert set(gate["with"]) <= set(ACTION["inputs"])
    assert "specs" in gate["with"]
    hooks = next(yaml.safe_load(b) for b in blocks if "repos:" in b)
    ids = {h["id"] for r in hooks["repos"] for h in r["hooks"]}
    assert ids <= {h["id"] for h in HOOKS} and ids
    for word in ("exit", "SARIF", "JUnit", "schema"):
        assert word in sec
    for name in ("check", "confirm", "diff", "run", "spec"):
        assert f"vmcheck/schemas/{name}.schema.json" in sec


def test_readme_pre_commit_rev_names_this_version_and_a_tag():
    import vmcheck

    hooks = next(
        yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme_section(), re.DOTALL) if "repos:" in b
    )
    rev = hooks["repos"][0]["rev"]
    assert rev == f"v{vmcheck.__version__}"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot list the tags")
    tags = subprocess.run(["git", "tag", "--list"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tags:
        pytest.skip("this checkout has no tags (a shallow clone)")
    assert rev in tags, f"tag the release the README names: git tag {rev}"
