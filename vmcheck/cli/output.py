"""Writing an output file (`report -o`, `fmt -o`) without surprises.

* An input is never overwritten: the output is compared with every input
  file by identity (`os.path.samefile`), so `-o ./x.yaml`, a symlink or a
  hard link to the spec are all refused.
* The text goes under a name that says what it is: spec text in a `.isa` or
  `.yaml` file of its own syntax, a report never under a spec's suffix.
* A regular file is written atomically: a temporary file in the same
  directory, then `os.replace`, so an interrupted run leaves the old file or
  the new one, never half of one. A device or FIFO (`/dev/stdout`) is
  written in place, as there is nothing to replace.
* Failures (a full disk, no permission) are the user's to fix: exit 2.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ..errors import UserError

SPEC_SYNTAX = {".isa": "isa", ".yaml": "yaml", ".yml": "yaml"}


def check_not_an_input(output: str, inputs: list[Path]) -> None:
    for inp in inputs:
        try:
            same = os.path.samefile(output, inp)
        except OSError:
            same = False
        if same:
            raise UserError(f"refusing to write to {output}: it is the input {inp} (name another file)")


def check_suffix(output: str, syntax: str) -> None:
    """`syntax` is "isa" or "yaml" for spec text, anything else for a report."""
    suffix = Path(output).suffix.lower()
    named = SPEC_SYNTAX.get(suffix)
    if syntax in ("isa", "yaml"):
        if named is not None and named != syntax:
            raise UserError(
                f"refusing to write {syntax} text to {output}: the name says {named} "
                f"(use a {'.isa' if syntax == 'isa' else '.yaml'} name, or --to {named})"
            )
    elif named is not None:
        raise UserError(
            f"refusing to write a {syntax} report to {output}: that name is a spec's (use a .html or .md name)"
        )


def write_text(output: str, text: str) -> None:
    """Write `text` to `output`: atomically for a regular file, in place for a device or FIFO."""
    for part in Path(output).parts:
        if len(part.encode("utf-8", "surrogateescape")) > 255:
            raise UserError(f"cannot write {output}: a file name is over 255 bytes")
    data = text.encode("utf-8")
    try:
        st = os.stat(output)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise UserError(f"cannot write {output}: {e.strerror}") from None
    try:
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise UserError(f"cannot write {output}: it is a directory")
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(output, "wb") as f:
                f.write(data)
            return
        _atomic_write(Path(output), data, st)
    except OSError as e:
        raise UserError(f"cannot write {output}: {e.strerror or e}") from None


def _atomic_write(path: Path, data: bytes, old: os.stat_result | None) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name[:200]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would (or the old file's).
        if old is not None:
            mode = stat.S_IMODE(old.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["check_not_an_input", "check_suffix", "write_text"]
