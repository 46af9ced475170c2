"""The `vmcheck` command: one verb per user task (docs/architecture.md, "report and cli").

Each verb lives in its own module; `main` lists them below. Errors become
exit codes in one place, `VmcheckGroup.invoke`: the user's errors exit 2
with their diagnostics, a bug in vmcheck exits 70 (EX_SOFTWARE) with a
request to report it, Ctrl-C exits 130 (see `interrupt`).

Start-up matters (`vmcheck --help`, `vmcheck specs`): the verb modules
import only click at module level; the engine, z3, rich and lark are
imported inside the verbs that use them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from .. import __version__
from ..errors import InternalError, UserError
from . import interrupt
from .check import check
from .common import EXIT_BAD_INPUT, EXIT_INTERNAL
from .confirm import confirm
from .diff import diff
from .docs import docs
from .explain import explain
from .fmt import fmt
from .lint import lint
from .report import report
from .run import run
from .specs import specs

VERBS = [specs, lint, fmt, run, check, explain, confirm, report, diff, docs]


# Verbs whose modules import the engine at module level: imported when invoked, so that
# `vmcheck --help` stays fast. Each is imported by its own function (an explicit import
# that a reader, a linter and mypy can follow); its one-line help is listed beside it.
def _configure() -> click.Command:
    from .configure import configure

    return configure


def _repair() -> click.Command:
    from .repair import repair

    return repair


def _paravirt() -> click.Command:
    from .paravirt import paravirt

    return paravirt


LAZY: dict[str, tuple[str, Callable[[], click.Command]]] = {
    "configure": ("Find the fewest control bits a VMM must pin for THEOREM to hold.", _configure),
    "repair": ("Propose the least set of instructions that must trap for THEOREM.", _repair),
    "paravirt": ("List the sites of a guest program that violate THEOREM.", _paravirt),
}


class VmcheckGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:  # the order of a user's day, not the alphabet
        return [str(v.name) for v in VERBS] + list(LAZY)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY and name not in self.commands:
            self.add_command(LAZY[name][1]())
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        rows = [(str(v.name), v.get_short_help_str(limit)) for v in VERBS]
        rows += [(name, short_help) for name, (short_help, _) in LAZY.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(e.render(), err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            interrupt.finish()
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError:  # `vmcheck ... | head`: the reader left; not an error
            _silence_stdout()
            sys.exit(0)
        except OSError as e:
            if e.errno is not None and getattr(e, "filename", None) is None and _is_stdout_error(e):
                _silence_stdout()
                click.echo(f"vmcheck: cannot write the output: {e.strerror}", err=True)
                sys.exit(EXIT_BAD_INPUT)
            _interrupted_or_internal_error(e)
        except InternalError as e:
            _interrupted_or_internal_error(e)
        except Exception as e:  # a bug: keep the details, show a short message
            _interrupted_or_internal_error(e)


def _is_stdout_error(e: OSError) -> bool:
    import errno

    return e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _interrupted_or_internal_error(e: BaseException) -> None:
    if interrupt.received():  # a Ctrl-C that surfaced as another exception
        interrupt.finish()
    _internal_error(e)


def _internal_error(e: BaseException) -> None:
    """Exit 70: what happened, on which input, and where the traceback is."""
    import tempfile
    import traceback

    path = None
    try:
        fd, path = tempfile.mkstemp(prefix="vmcheck-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(f"vmcheck {__version__}, Python {sys.version.split()[0]}\n")
            f.write("command: " + " ".join(sys.argv) + "\n\n")
            traceback.print_exc(file=f)
    except OSError:
        path = None
    what = str(e) if isinstance(e, InternalError) else f"{type(e).__name__}: {e}"
    where = f"; the details are in {path}" if path else ""
    click.echo(
        f"vmcheck: internal error: {what}\n"
        f"This is a bug in vmcheck, not in your input. Please report it with the input "
        f"({' '.join(sys.argv[1:]) or 'no arguments'}){where}.",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)


@click.group(
    cls=VmcheckGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80},
    epilog="\b\nExit codes (every verb; `vmcheck VERB --help` lists its own):\n"
    "  0    success (check: the theorem holds)\n"
    "  1    a negative answer (check: the theorem fails; diff: NEW is worse)\n"
    "  2    bad input: a spec, program or option is wrong\n"
    "  3    undecided (check, explain: a solver timeout the answer depends on)\n"
    "  4    confirm: no contradiction, but some violations not reproduced\n"
    "  70   internal error: a bug in vmcheck (please report it)\n"
    "  130  interrupted (Ctrl-C)\n\n"
    "\b\nStart with:\n"
    "  vmcheck specs            the bundled ISA library\n"
    "  vmcheck check pg-toy     decide Popek & Goldberg's machine\n"
    "  vmcheck docs tutorial    from an empty file to a checked ISA",
)
@click.version_option(__version__, "-V", "--version", prog_name="vmcheck")
def main() -> None:
    """Decide whether an instruction set can be virtualized by trap-and-emulate
    (Popek & Goldberg, 1974), from the ISA's executable semantics."""


for _verb in VERBS:
    main.add_command(_verb)


def run_main() -> None:
    """The `vmcheck` program: Ctrl-C handling, then the verbs, then a checked flush."""
    interrupt.install()
    try:
        # Not standalone: click would turn a Ctrl-C into "Aborted!" and exit 1.
        code = main.main(standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        interrupt.finish()
    except click.ClickException as e:
        e.show()
        code = e.exit_code
    except SystemExit as e:
        code = e.code
    _flush_stdout()
    sys.exit(code if code is not None else 0)


def _flush_stdout() -> None:
    """Flush now, so a full disk is a clean error (exit 2) rather than a message at exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as e:
        _silence_stdout()
        click.echo(f"vmcheck: cannot write the output: {e.strerror}", err=True)
        sys.exit(EXIT_BAD_INPUT)
