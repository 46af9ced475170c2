"""`python -m vmcheck.schemas [NAME...]`: print the path of each shipped schema (all when none is named)."""

import sys

from . import NAMES, path


def main(argv: list[str]) -> int:
    names = argv or list(NAMES)
    for n in names:
        try:
            print(path(n))
        except KeyError as e:
            print(f"vmcheck.schemas: {e.args[0]}", file=sys.stderr)
            return 2
    return 0


sys.exit(main(sys.argv[1:]))
