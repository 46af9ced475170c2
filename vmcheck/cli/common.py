"""What the verbs share: the options that mean the same in every verb (declared
once here, so they are spelled the same everywhere), the exit codes, the help
text layout, and naming a spec.

This module is imported for `vmcheck --help`, so it imports nothing heavy:
the engine, z3, rich and lark are imported inside the verbs that use them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # annotations only: importing the IR here would slow `vmcheck --help`
    from ..spec.ir import Isa

# Exit codes. 0-3 are the verdict codes of `check`; the others are the same for every verb.
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug in vmcheck, never a verdict
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

_COMMON_EXITS = [
    ("2", "bad input: a spec, program or option is wrong (FILE:LINE:COL errors)"),
    ("70", "internal error: a bug in vmcheck (please report it)"),
    ("130", "interrupted (Ctrl-C)"),
]


def verb(*, exits: list[tuple[str, str]], examples: list[str], **kw) -> Callable:
    """`click.command` with an epilog listing the verb's exit codes and examples.

    `exits` are the verb's own codes (0, 1, 3); 2, 70 and 130 are added, as every
    verb has them.
    """
    import textwrap

    rows = sorted(exits + _COMMON_EXITS, key=lambda row: int(row[0]))
    width = max(len(code) for code, _ in rows)
    lines = ["\b", "Exit codes:"]
    for code, text in rows:  # "\b" keeps click from re-flowing: wrap to 80 columns here
        wrapped = textwrap.wrap(text, 80 - 2 - (2 + width + 2))
        lines.append(f"  {code:<{width}}  {wrapped[0]}")
        lines += [" " * (2 + width + 2) + more for more in wrapped[1:]]
    lines += ["", "\b", "Examples:" if len(examples) > 1 else "Example:"] + [f"  {e}" for e in examples]
    return click.command(epilog="\n".join(lines), context_settings={"max_content_width": 80}, **kw)


# --------------------------------------------------------------------------
# Option types
# --------------------------------------------------------------------------


class Seconds(click.ParamType):
    """A positive, finite number of seconds (`nan`, `inf`, 0 and negatives are refused)."""

    name = "seconds"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            x = float(value)
        else:
            try:
                x = float(str(value).strip())
            except ValueError:
                self.fail(f"'{value}' is not a number of seconds", param, ctx)
        if not math.isfinite(x) or x <= 0:
            self.fail(f"'{value}' is not a positive, finite number of seconds", param, ctx)
        return x


# Input files are read whole; this bounds what a mistaken argument (a disk image, a log)
# can make vmcheck read. The largest bundled spec is under 100 KB.
MAX_INPUT_BYTES = 16 * 1024 * 1024


def input_file_problem(path: str) -> str | None:
    """Why `path` cannot be read as an input file, or None when it can.

    Checked before anything opens the file: a FIFO or a device (`/dev/zero`) is
    refused by its type without being opened, so nothing blocks or reads without end.
    """
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISDIR(st.st_mode):
        return "is a directory"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file (a FIFO, device or socket)"
    if st.st_size > MAX_INPUT_BYTES:
        return f"is {st.st_size:,} bytes, over the {MAX_INPUT_BYTES:,}-byte limit for an input file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _name_problem(value: str) -> str | None:
    for part in value.replace("\\", "/").split("/"):
        if len(part.encode("utf-8", "surrogateescape")) > 255:
            return "a file name is over 255 bytes"
    return None


class SpecParam(click.ParamType):
    """A spec file's path, or a bundled spec's short name (`pg-toy`).

    A name that is not a file is left to the loader, which knows the bundled
    names; a path that exists must be a readable regular file (or a directory
    holding one spec, as the loader allows).
    """

    name = "SPEC"

    def convert(self, value, param, ctx):
        import os

        problem = _name_problem(value)
        if problem is None and os.path.lexists(value) and not os.path.isdir(value):
            problem = input_file_problem(value)
        if problem:
            self.fail(f"{value}: {problem}", param, ctx)
        return value


class InputFile(click.ParamType):
    """A file vmcheck reads (a program): it must exist and be a readable regular file."""

    name = "FILE"

    def convert(self, value, param, ctx):
        problem = _name_problem(value) or input_file_problem(value)
        if problem:
            self.fail(f"{value}: {problem}", param, ctx)
        return value


INPUT_FILE = InputFile()


SPEC = SpecParam()
SECONDS = Seconds()


# --------------------------------------------------------------------------
# Shared options: one declaration each
# --------------------------------------------------------------------------


# The defaults live in vmcheck.analysis.budget; importing it here would import the engine
# (and z3) for `vmcheck --help`, so the options default to None and `limits` fills them in.
def budget_option(f):
    return click.option(
        "--budget",
        type=click.IntRange(1),
        default=None,
        metavar="N",
        help="Solver resource units (z3 rlimit) per query; a query that exhausts them is "
        "'unknown', the same on any machine at any load.  [default: 300000000]",
    )(f)


def timeout_option(f):
    return click.option(
        "--timeout",
        type=SECONDS,
        default=None,
        metavar="S",
        help="Wall-clock safety net per solver call, seconds (the budget decides; this stops "
        "a runaway call).  [default: 300]",
    )(f)


def limits(budget: int | None, timeout: float | None) -> tuple[int, float]:
    """The solver limits, defaults filled in from the engine and checked."""
    from ..analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT, check_limits

    budget = DEFAULT_BUDGET if budget is None else budget
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    check_limits(budget, timeout)
    return budget, timeout


def jobs_option(f):
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1),
        default=None,
        metavar="N",
        help="Solver processes (default: the core count).",
    )(f)


def context_option(f):
    return click.option("--context", default=None, metavar="NAME", help="Only this guest context.")(f)


def no_cache_option(f):
    return click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")(f)


def quiet_option(f):
    return click.option("--quiet", "-q", is_flag=True, help="No progress on stderr (stdout is the same either way).")(f)


def format_option(*choices: str, help: str | None = None):
    """`--format` with the verb's own choices, the first one the default."""

    def deco(f):
        return click.option(
            "--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True, help=help
        )(f)

    return deco


def solver_options(f):
    """The options of every verb that runs the theorem engine."""
    for opt in (quiet_option, no_cache_option, jobs_option, timeout_option, budget_option):
        f = opt(f)
    return f


def guest_run_options(*, fuzz_default: int, fuzz_help: str, seed_help: str, max_steps_help: str):
    """The options of a verb that runs guest programs under the reference VMM:
    `--fuzz` (random programs, into `fuzz_n`), `--seed` and `--max-steps`, in
    that order; each verb words their help and picks how many random programs."""

    def deco(f):
        for opt in (
            click.option("--max-steps", type=click.IntRange(1), default=10_000, show_default=True, help=max_steps_help),
            click.option("--seed", type=int, default=0, show_default=True, help=seed_help),
            click.option(
                "--fuzz", "fuzz_n", type=click.IntRange(0), default=fuzz_default, show_default=True, help=fuzz_help
            ),
        ):
            f = opt(f)
        return f

    return deco


def remedy_options(*, theorem_help: str, write_help: str):
    """The options the remedy verbs (configure, repair, paravirt) share: the
    theorem to make hold, the context, `--write OUT`, the format and the solver."""
    from pathlib import Path

    def deco(f):
        for opt in (
            solver_options,
            format_option("text", "json"),
            click.option(
                "--write",
                "out",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                metavar="OUT",
                help=write_help,
            ),
            click.option(
                "--context",
                "context",
                default=None,
                metavar="NAME",
                help="The guest context (default: the spec's first).",
            ),
            click.option(
                "--theorem", type=click.Choice(["1", "3", "exact"]), default="1", show_default=True, help=theorem_help
            ),
        ):
            f = opt(f)
        return f

    return deco


def spec_argument(name: str = "spec", **kw):
    return click.argument(name, type=SPEC, **kw)


def load(spec: str) -> Isa:
    """The spec's IR, read by `pipeline.load` (so every verb reports a bad spec
    alike); a file that cannot be read (an I/O error, a device) is bad input, exit 2."""
    from ..pipeline import load as load_spec

    return load_spec(spec).isa
