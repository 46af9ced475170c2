"""SARIF 2.1.0 for `vmcheck check --format sarif`, and GitHub annotations.

One result per violation (per theorem, guest context and instruction) and
per contradicted label, located at the instruction's line in the spec file,
with the witness in the message. Rule ids are stable: code-scanning tools
key their history on them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..analysis.results import Report
from ..theory import LABEL_RULE, THEOREM_RECORDS, THEOREM_TITLES

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://github.com/vmcheck/vmcheck"

# theorem key (or "label") -> (rule id, name, description, help), in the order the rules are listed.
RULES: dict[str, tuple[str, str, str, str]] = {
    key: (rule.id, rule.name, rule.description, rule.help)
    for key, rule in [(t.key, t.rule) for t in THEOREM_RECORDS] + [("label", LABEL_RULE)]
}


def _uri(source: str | None) -> str:
    if not source:
        return "spec"
    p = Path(source)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _location(source: str | None, line: int | None) -> dict:
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(source)}}}
    if line:
        loc["physicalLocation"]["region"] = {"startLine": line}
    return loc


def sarif(reports: list[Report], theorem: str = "1") -> dict:
    """A SARIF log: violations of `theorem` are errors, of the other theorems warnings."""
    rules = [
        {
            "id": rid,
            "name": name,
            "shortDescription": {"text": short},
            "fullDescription": {"text": short},
            "help": {"text": fix},
            "defaultConfiguration": {"level": "error" if key in (theorem, "label") else "warning"},
        }
        for key, (rid, name, short, fix) in RULES.items()
    ]
    index = {key: i for i, key in enumerate(RULES)}
    results = []
    for rep in reports:
        for ctx in rep.contexts:
            lines = {i.name: i.line for i in ctx.instructions}
            for t, res in ctx.theorems.items():
                for name in res.violations:
                    ir_ = ctx.instruction(name)
                    ans = ir_.violates[t]
                    text = (
                        f"{name} violates {THEOREM_TITLES[t]} in guest context '{ctx.name}' of {rep.isa}: {ans.reason}"
                    )
                    results.append(
                        {
                            "ruleId": RULES[t][0],
                            "ruleIndex": index[t],
                            "level": "error" if t == theorem else "warning",
                            "message": {"text": text},
                            "locations": [_location(rep.source, lines.get(name))],
                            "partialFingerprints": {"vmcheck/v1": f"{rep.isa}:{ctx.name}:{t}:{name}"},
                            "properties": {
                                "isa": rep.isa,
                                "context": ctx.name,
                                "theorem": t,
                                "instruction": name,
                                "witness": ans.witness.to_json() if ans.witness else None,
                            },
                        }
                    )
        for f in rep.labels:
            results.append(
                {
                    "ruleId": RULES["label"][0],
                    "ruleIndex": index["label"],
                    "level": "error",
                    "message": {
                        "text": f"{f.instruction}: the label '{f.label}' is contradicted in context "
                        f"'{f.context}' ({f.derived}): {f.reason}"
                    },
                    "locations": [_location(rep.source, f.line)],
                    "partialFingerprints": {"vmcheck/v1": f"{rep.isa}:{f.context}:label:{f.instruction}:{f.label}"},
                    "properties": {
                        "isa": rep.isa,
                        "context": f.context,
                        "instruction": f.instruction,
                        "label": f.label,
                        "witness": f.witness.to_json() if f.witness else None,
                    },
                }
            )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vmcheck",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def github_annotations(reports: list[Report], theorem: str = "1") -> list[str]:
    """`::error file=...,line=...::message` workflow commands, when running in GitHub Actions."""
    out = []
    for rep in reports:
        for ctx in rep.contexts:
            lines = {i.name: i.line for i in ctx.instructions}
            for name in ctx.theorems[theorem].violations:
                reason = ctx.instruction(name).violates[theorem].reason.replace("\n", " ")
                where = f"file={_uri(rep.source)}" + (f",line={lines[name]}" if lines.get(name) else "")
                out.append(
                    f"::error {where},title=vmcheck {THEOREM_TITLES[theorem]}::{name} ({ctx.name}): {_escape(reason)}"
                )
    return out


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"
