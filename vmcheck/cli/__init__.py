"""The `vmcheck` command: one verb per user task (docs/architecture.md, "report and cli").

Each verb lives in its own module and registers itself on `main` in
`COMMANDS` below. Errors are turned into exit codes in one place,
`VmcheckGroup.invoke`: the user's errors exit 2 with their diagnostics,
vmcheck's own exit 3 with a request to report them.
"""
from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback

import click

from .. import __version__
from ..errors import InternalError, UserError

# module name -> the click command object it defines under the same name
COMMANDS = ["specs", "lint", "fmt", "run", "check", "explain", "confirm", "report", "diff", "configure", "repair", "paravirt"]


class VmcheckGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(e.render(), err=True)
            sys.exit(e.exit_code)
        except InternalError as e:
            click.echo(f"vmcheck: internal error: {e}\nPlease report this with the spec that caused it.", err=True)
            sys.exit(3)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `vmcheck ... | head`: the reader left; not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except Exception:  # a bug: keep the details, show a short message
            fd, path = tempfile.mkstemp(prefix="vmcheck-crash-", suffix=".txt")
            with os.fdopen(fd, "w") as f:
                traceback.print_exc(file=f)
            click.echo(
                f"vmcheck: internal error ({sys.exc_info()[1]!r}).\n"
                f"Please report it; the details are in {path}",
                err=True,
            )
            sys.exit(3)


@click.group(cls=VmcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vmcheck")
def main() -> None:
    """Decide whether an instruction set can be virtualized by trap-and-emulate
    (Popek & Goldberg, 1974), from the ISA's executable semantics."""


for _name in COMMANDS:
    try:
        _mod = importlib.import_module(f".{_name}", __name__)
    except ModuleNotFoundError as _e:  # a verb not built yet
        if _e.name != f"{__name__}.{_name}":
            raise
        continue
    main.add_command(getattr(_mod, _name))
