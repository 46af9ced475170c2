"""docs/ cannot rot: every example runs, every citation resolves.

* docs/format.md: each fenced spec example is linted. A block whose info
  string is `yaml spec` or `isa spec` is a whole spec; `yaml fragment` is
  merged into the page's `yaml spec base` (top-level keys replace the base's;
  entries of `state` and `instructions` are added or replaced one by one) and
  the result linted; `isa fragment` must appear, as written (whitespace
  aside), in what `vmcheck fmt --to isa` prints for the YAML fragment just
  before it, and that printed `.isa` must lint too.
* docs/tutorial.md: followed step by step in a scratch directory. A block
  tagged `file=NAME` writes NAME, `append=NAME` appends to it, and
  `replace=NAME` replaces the entry that starts with the block's first line
  (that line and the lines indented deeper below it); each line of a `sh`
  block is a command ending in `# exit N`, run with this checkout's vmcheck,
  whose exit code must be N; a `text` block right after a `sh` block lists
  lines its output must contain.
* Every `docs/...` path and every "§" section the tool can print (string
  constants in vmcheck/) or that the README and the spec READMEs cite
  resolves to a file in docs/ and a heading in it.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vmcheck.cli import main
from vmcheck.spec.yaml_reader import SpecYamlLoader

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@dataclass
class Block:
    lang: str
    tags: list[str]
    text: str
    line: int  # where the block's text starts in its file (1-based)


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    out: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,})(\S*)\s*(.*)$", lines[i])
        if not m:
            i += 1
            continue
        fence, lang, tags = m.group(1), m.group(2), m.group(3).split()
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        out.append(Block(lang, tags, "\n".join(lines[i + 1 : j]) + "\n", i + 2))
        i = j + 1
    return out


def lint(path: Path) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["lint", str(path)])
    return r.exit_code, r.output


def fmt_isa(path: Path) -> str:
    r = CliRunner().invoke(main, ["fmt", str(path), "--to", "isa"])
    assert r.exit_code == 0, r.output
    return r.stdout


def load_yaml(text: str):
    return yaml.load(text, Loader=SpecYamlLoader)  # the loader vmcheck uses: YAML 1.2 booleans, `off` is a name


def merge(base: dict, fragment: dict) -> dict:
    out = dict(base)
    for key, value in fragment.items():
        if key in ("state", "instructions") and isinstance(value, dict):
            out[key] = {**base.get(key, {}), **value}
        else:
            out[key] = value
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------
# docs/format.md
# --------------------------------------------------------------------------

FORMAT = DOCS / "format.md"


def format_examples() -> list[tuple[Block, Block | None]]:
    """(yaml fragment, the isa fragment that follows it or None)."""
    bs = [b for b in blocks(FORMAT) if b.lang in ("yaml", "isa")]
    out = []
    for i, b in enumerate(bs):
        if b.lang == "yaml" and "fragment" in b.tags:
            nxt = bs[i + 1] if i + 1 < len(bs) and bs[i + 1].lang == "isa" and "fragment" in bs[i + 1].tags else None
            out.append((b, nxt))
    return out


def test_format_page_has_a_base_spec_and_pairs_every_yaml_example_with_isa():
    bs = blocks(FORMAT)
    assert sum(1 for b in bs if b.lang == "yaml" and "base" in b.tags) == 1
    examples = format_examples()
    assert len(examples) >= 15
    for y, i in examples:
        assert i is not None, f"docs/format.md:{y.line}: a YAML example without its .isa form after it"
    isa_fragments = [b for b in bs if b.lang == "isa" and "fragment" in b.tags]
    assert len(isa_fragments) == len(examples)


@pytest.mark.parametrize("kind", ["yaml", "isa"])
def test_format_whole_specs_lint(tmp_path, kind):
    specs = [b for b in blocks(FORMAT) if b.lang == kind and "spec" in b.tags]
    assert specs
    for n, b in enumerate(specs):
        p = tmp_path / f"whole{n}.{kind}"
        p.write_text(b.text, encoding="utf-8")
        code, out = lint(p)
        assert code == 0, f"docs/format.md:{b.line}: {out}"


def test_format_base_in_both_syntaxes_is_the_same_spec(tmp_path):
    base = next(b for b in blocks(FORMAT) if b.lang == "yaml" and "base" in b.tags)
    isa = next(b for b in blocks(FORMAT) if b.lang == "isa" and "spec" in b.tags)
    p = tmp_path / "base.yaml"
    p.write_text(base.text, encoding="utf-8")
    assert squash(fmt_isa(p)) == squash(isa.text)


@pytest.mark.parametrize("index", range(len(format_examples())))
def test_format_example_lints_and_its_isa_form_is_what_fmt_prints(tmp_path, index):
    ypart, ipart = format_examples()[index]
    base = load_yaml(next(b for b in blocks(FORMAT) if "base" in b.tags).text)
    spec = merge(base, load_yaml(ypart.text))
    p = tmp_path / "example.yaml"
    p.write_text(yaml.safe_dump(spec, sort_keys=False, width=1000), encoding="utf-8")
    code, out = lint(p)
    assert code == 0, f"docs/format.md:{ypart.line}: the example does not lint:\n{out}\n{p.read_text()}"
    printed = fmt_isa(p)
    assert ipart is not None
    assert squash(ipart.text) in squash(printed), (
        f"docs/format.md:{ipart.line}: the .isa example is not what `vmcheck fmt --to isa` prints:\n{printed}"
    )
    q = tmp_path / "example.isa"
    q.write_text(printed, encoding="utf-8")
    code, out = lint(q)
    assert code == 0, out


def test_format_operator_tables_are_exercised_by_the_all_operators_example():
    """Each example of the operator and built-in tables occurs in the
    instructions that use every operator (which the test above lints)."""
    text = FORMAT.read_text(encoding="utf-8")
    every = next(y.text for y, _ in format_examples() if "ops_logic" in y.text)
    section = text.split("### Operators", 1)[1].split("Every operator and built-in", 1)[0]
    examples = re.findall(r"^\|.*\| `([^`]+)` \|$", section, flags=re.M)
    assert len(examples) >= 15
    for ex in examples:
        ex = ex.replace("\\|", "|")
        assert ex in every, f"the operator example `{ex}` is not in the all-operators instructions"


def test_format_documents_every_key_the_loader_knows():
    from vmcheck.spec.build import FORMAT as KEYS
    from vmcheck.spec.build import LABELS

    text = FORMAT.read_text(encoding="utf-8")
    for kind, keys in KEYS.items():
        for key in keys:
            assert f"`{key}`" in text, f"docs/format.md does not document the {kind} key '{key}'"
    for label in LABELS:
        assert f"`{label}`" in text, f"docs/format.md does not list the label '{label}'"
    from vmcheck.spec.elaborate import BUILTINS

    for b in BUILTINS:
        assert f"`{b}(" in text, f"docs/format.md does not document the built-in {b}"


# --------------------------------------------------------------------------
# docs/tutorial.md
# --------------------------------------------------------------------------

TUTORIAL = DOCS / "tutorial.md"


def _replace_entry(text: str, new: str) -> str:
    first = new.splitlines()[0]
    lines = text.splitlines()
    try:
        at = lines.index(first)
    except ValueError:
        raise AssertionError(f"the tutorial replaces '{first.strip()}', which the file does not have") from None
    indent = len(first) - len(first.lstrip())
    end = at + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return "\n".join(lines[:at] + new.rstrip("\n").splitlines() + lines[end:]) + "\n"


@pytest.mark.slow
def test_tutorial_runs_as_written(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), VMCHECK_CACHE_DIR=str(tmp_path / ".cache"), COLUMNS="80", NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    shell_prelude = f'vmcheck() {{ "{sys.executable}" -m vmcheck "$@"; }}\n'
    work = tmp_path / "work"
    work.mkdir()
    ran = 0
    last_output = None
    for b in blocks(TUTORIAL):
        where = f"docs/tutorial.md:{b.line}"
        tag = dict(t.split("=", 1) for t in b.tags if "=" in t)
        if "file" in tag or "append" in tag or "replace" in tag:
            name = tag.get("file") or tag.get("append") or tag.get("replace")
            f = work / name
            f.parent.mkdir(parents=True, exist_ok=True)
            if "file" in tag:
                f.write_text(b.text, encoding="utf-8")
            elif "append" in tag:
                f.write_text(f.read_text(encoding="utf-8") + b.text, encoding="utf-8")
            else:
                f.write_text(_replace_entry(f.read_text(encoding="utf-8"), b.text), encoding="utf-8")
            last_output = None
        elif b.lang == "sh":
            output = []
            for line in b.text.splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                m = re.fullmatch(r"(.*?)\s+# exit (\d+)(?:\s.*)?", line)
                assert m, f"{where}: every command states its exit code ('# exit N'): {line}"
                cmd, want = m.group(1), int(m.group(2))
                r = subprocess.run(
                    ["bash", "-c", shell_prelude + cmd], cwd=work, env=env, capture_output=True, text=True, timeout=600
                )
                assert r.returncode == want, (
                    f"{where}: `{cmd}` exited {r.returncode}, not {want}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
                )
                output.append(r.stdout + r.stderr)
                ran += 1
            last_output = "\n".join(output)
        elif b.lang == "text" and last_output is not None:
            flat = squash(last_output)
            for want in b.text.splitlines():
                if want.strip() and want.strip() != "...":
                    assert squash(want) in flat, (
                        f"{where}: the output shown is not what the command prints: "
                        f"{want.strip()!r} not in\n{last_output}"
                    )
            last_output = None
        else:
            last_output = None
    assert ran >= 10, "the tutorial runs fewer commands than expected"
    assert (work / "acc.html").is_file()


def test_tutorial_commands_all_state_their_exit_code():
    cmds = [
        ln
        for b in blocks(TUTORIAL)
        if b.lang == "sh"
        for ln in b.text.splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert cmds
    for c in cmds:
        assert re.search(r"# exit \d+", c), c


# --------------------------------------------------------------------------
# Citations: every docs/ path and "§" the tool prints resolves
# --------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def sections(page: Path) -> set[str]:
    """The "§N.N" numbers of a docs page's headings."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#+\s+§(\d+(?:\.\d+)*)\b", line)
        if m:
            out.add(m.group(1))
    return out


def tool_strings() -> list[tuple[str, str]]:
    """(where, text) of every string constant in vmcheck/'s source."""
    out = []
    for f in sorted((ROOT / "vmcheck").rglob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append((f"{f.relative_to(ROOT)}:{node.lineno}", node.value))
    return out


_CITE = re.compile(r"(docs/[\w./-]+\.md)((?:\s*(?:§\d+(?:\.\d+)*)(?:\s*(?:–|-|,|and)\s*§\d+(?:\.\d+)*)*)?)")


def _check_citations(where: str, text: str) -> list[str]:
    bad = []
    for m in _CITE.finditer(text):
        page = ROOT / m.group(1)
        if not page.is_file():
            bad.append(f"{where}: {m.group(1)} does not exist")
            continue
        have = sections(page)
        for num in re.findall(r"§(\d+(?:\.\d+)*)", m.group(2)):
            if num not in have:
                bad.append(f"{where}: {m.group(1)} has no section §{num}")
    return bad


def test_every_docs_citation_in_the_tool_resolves():
    strings = tool_strings()
    bad = []
    cited = 0
    for where, text in strings:
        found = _check_citations(where, text)
        bad += found
        cited += len(_CITE.findall(text))
        # a bare "§N" in the tool's text is a section of the model, the only numbered page
        for num in re.findall(r"§(\d+(?:\.\d+)*)", text):
            if num not in sections(DOCS / "model.md"):
                bad.append(f"{where}: §{num} is not a section of docs/model.md")
        assert "MODEL.md" not in text, f"{where}: cites MODEL.md, which does not ship; cite docs/model.md"
    assert cited >= 5
    assert not bad, "\n".join(bad)


def test_readme_spec_readmes_and_specs_cite_sections_that_exist():
    bad = []
    pages = [ROOT / "README.md"] + sorted((ROOT / "isa_specs").glob("*/README.md")) + sorted(DOCS.glob("*.md"))
    # the specs' descriptions and comments: `explain` and the report print descriptions
    pages += sorted((ROOT / "isa_specs").glob("*/*.yaml")) + sorted((ROOT / "isa_specs").glob("*/*.isa"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "MODEL.md" not in text, f"{page.relative_to(ROOT)} cites MODEL.md; cite docs/model.md"
        for n, line in enumerate(text.splitlines(), 1):
            bad += _check_citations(f"{page.relative_to(ROOT)}:{n}", line)
    assert not bad, "\n".join(bad)


def test_model_page_numbers_its_sections_as_the_tool_cites_them():
    assert sections(DOCS / "model.md") >= {"1", "2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "3"}


def test_relative_links_between_docs_resolve():
    bad = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#([\w-]+))?\)", text):
            path, anchor = target
            dest = (page.parent / path).resolve()
            if not dest.is_file():
                bad.append(f"{page.name}: link to {path}, which does not exist")
                continue
        for path, anchor in re.findall(r"\]\(([^)#\s]*\.md)?#([\w-]+)\)", text):
            dest = (page.parent / path) if path else page
            heads = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", dest.read_text(encoding="utf-8"), flags=re.M)}
            if anchor not in heads:
                bad.append(f"{page.name}: link to {path or page.name}#{anchor}, which is no heading there")
    assert not bad, "\n".join(bad)


def test_docs_pages_exist():
    for name in ("model.md", "format.md", "tutorial.md", "architecture.md", "security.md", "literature.md"):
        assert (DOCS / name).is_file(), name
        assert len((DOCS / name).read_text(encoding="utf-8")) > 1500, name
