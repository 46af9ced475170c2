"""Compare two folders written by tools/snapshot_outputs.py, command by command.

Records are matched by the command they hold (their first line), not by file
name, so snapshots taken in several parts (`--spec` subsets) compare with one
taken whole. Prints each command whose output differs and exits 1 if any does.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

_TMP = re.compile(r"/tmp/vmcheck-snap-[A-Za-z0-9_]+")


def records(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(folder.glob("*.txt")):
        text = _TMP.sub("<tmp>", p.read_text(encoding="utf-8"))
        out.setdefault(text.split("\n", 1)[0], text)
    for p in sorted(folder.glob("report_*")):
        out.setdefault(p.name, p.read_text(encoding="utf-8"))
    return out


def main() -> int:
    a, b = (records(Path(x)) for x in sys.argv[1:3])
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    changed = [k for k in a.keys() & b.keys() if a[k] != b[k]]
    for k in only_a:
        print(f"only in {sys.argv[1]}: {k}")
    for k in only_b:
        print(f"only in {sys.argv[2]}: {k}")
    for k in sorted(changed):
        print(f"differs: {k}")
        diff = difflib.unified_diff(a[k].splitlines(), b[k].splitlines(), lineterm="", n=1)
        print("\n".join(list(diff)[2:40]))
    same = len(a.keys() & b.keys()) - len(changed)
    print(f"{same} identical, {len(changed)} differ, {len(only_a)} only in the first, {len(only_b)} only in the second")
    return 1 if changed or only_a or only_b else 0


if __name__ == "__main__":
    sys.exit(main())
