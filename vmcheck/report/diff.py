"""What changed between two versions of a spec: instructions, classes, verdicts.

NEW is *worse* than OLD when some theorem that held no longer holds, or
when an instruction violates a theorem in a context where it did not
before (a new violation): that is what makes `vmcheck diff` exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.results import Report
from ..theory import CLASSES, THEOREM_TITLES, THEOREMS


@dataclass
class SpecDiff:
    old: str
    new: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    contexts_added: list[str] = field(default_factory=list)
    contexts_removed: list[str] = field(default_factory=list)
    class_changes: list[dict] = field(default_factory=list)  # context, instruction, class, old, new
    verdict_changes: list[dict] = field(default_factory=list)  # theorem, context (None: the ISA), old, new
    new_violations: list[dict] = field(default_factory=list)  # theorem, context, instruction
    fixed_violations: list[dict] = field(default_factory=list)

    @property
    def worse(self) -> bool:
        lost = any(c["old"] is True and c["new"] is not True for c in self.verdict_changes)
        return lost or bool(self.new_violations)

    def to_json(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "worse": self.worse,
            "instructions_added": self.added,
            "instructions_removed": self.removed,
            "contexts_added": self.contexts_added,
            "contexts_removed": self.contexts_removed,
            "class_changes": self.class_changes,
            "verdict_changes": self.verdict_changes,
            "new_violations": self.new_violations,
            "fixed_violations": self.fixed_violations,
        }

    def lines(self) -> list[str]:
        out = [f"{self.old} -> {self.new}"]
        out += [f"  + instruction {n}" for n in self.added]
        out += [f"  - instruction {n}" for n in self.removed]
        out += [f"  + context {n}" for n in self.contexts_added]
        out += [f"  - context {n}" for n in self.contexts_removed]
        for v in self.verdict_changes:
            where = f"context {v['context']}" if v["context"] else "the ISA"
            out.append(f"  {THEOREM_TITLES[v['theorem']]} in {where}: {_holds(v['old'])} -> {_holds(v['new'])}")
        for v in self.new_violations:
            out.append(
                f"  new violation of {THEOREM_TITLES[v['theorem']]}: {v['instruction']} in context {v['context']}"
            )
        for v in self.fixed_violations:
            out.append(
                f"  no longer violates {THEOREM_TITLES[v['theorem']]}: {v['instruction']} in context {v['context']}"
            )
        for c in self.class_changes:
            out.append(f"  {c['instruction']} ({c['context']}): {c['class']} {c['old']} -> {c['new']}")
        if len(out) == 1:
            out.append("  no change in instructions, classes or verdicts")
        out.append("  NEW is worse than OLD" if self.worse else "  NEW is not worse than OLD")
        return out


def _holds(h) -> str:
    return {True: "holds", False: "fails", None: "undecided"}[h]


def diff_reports(old: Report, new: Report, old_name: str, new_name: str) -> SpecDiff:
    d = SpecDiff(old_name, new_name)
    oi = {i.name for c in old.contexts for i in c.instructions}
    ni = {i.name for c in new.contexts for i in c.instructions}
    d.added, d.removed = sorted(ni - oi), sorted(oi - ni)
    octx, nctx = {c.name: c for c in old.contexts}, {c.name: c for c in new.contexts}
    d.contexts_added, d.contexts_removed = sorted(set(nctx) - set(octx)), sorted(set(octx) - set(nctx))
    for t in THEOREMS:
        if old.verdicts[t].holds != new.verdicts[t].holds:
            d.verdict_changes.append(
                {"theorem": t, "context": None, "old": old.verdicts[t].holds, "new": new.verdicts[t].holds}
            )
    for name in sorted(set(octx) & set(nctx)):
        oc, nc = octx[name], nctx[name]
        for t in THEOREMS:
            if oc.theorems[t].holds != nc.theorems[t].holds:
                d.verdict_changes.append(
                    {"theorem": t, "context": name, "old": oc.theorems[t].holds, "new": nc.theorems[t].holds}
                )
            ov, nv = set(oc.theorems[t].violations), set(nc.theorems[t].violations)
            d.new_violations += [{"theorem": t, "context": name, "instruction": i} for i in sorted(nv - ov)]
            d.fixed_violations += [{"theorem": t, "context": name, "instruction": i} for i in sorted(ov - nv)]
        oins = {i.name: i for i in oc.instructions}
        for ni_ in nc.instructions:
            oi_ = oins.get(ni_.name)
            if oi_ is None:
                continue
            for cls in CLASSES:
                a, b = oi_.classes[cls].value, ni_.classes[cls].value
                if a != b:
                    d.class_changes.append({"context": name, "instruction": ni_.name, "class": cls, "old": a, "new": b})
    # A context that only NEW has can only add violations if it is worse; count them too.
    for name in d.contexts_added:
        for t in THEOREMS:
            d.new_violations += [
                {"theorem": t, "context": name, "instruction": i} for i in sorted(nctx[name].theorems[t].violations)
            ]
    return d
