"""`vmcheck diff OLD NEW`: what changed between two versions of a spec."""
from __future__ import annotations

import json
import sys

import click

from ..analysis.budget import DEFAULT_BUDGET, DEFAULT_TIMEOUT, check_limits
from ..analysis.engine import check_isas
from ..report.diff import diff_reports
from .common import SPEC, load


@click.command()
@click.argument("old", type=SPEC)
@click.argument("new", type=SPEC)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--budget", type=int, default=DEFAULT_BUDGET, show_default=True, metavar="N",
              help="Solver resource units (z3 rlimit) per query; a query that exhausts them is 'unknown', "
                   "the same on any machine at any load.")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
              help="Wall-clock safety net per solver call, seconds (the budget decides; this stops a runaway call).")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Solver processes (default: the core count).")
@click.option("--no-cache", is_flag=True, help="Do not reuse cached solver results.")
def diff(old, new, fmt, budget, timeout, jobs, no_cache):
    """Compare two versions of a spec: instructions added and removed, classes
    changed, verdicts per theorem. Exit 1 when NEW is worse (a new violation,
    or a theorem that no longer holds), 0 otherwise, 2 for bad input."""
    check_limits(budget, timeout)
    a, b = load(old), load(new)
    ra, rb = check_isas([a, b], timeout=timeout, budget=budget, jobs=jobs, use_cache=not no_cache)
    d = diff_reports(ra, rb, old, new)
    if fmt == "json":
        click.echo(json.dumps(d.to_json(), indent=2, sort_keys=True))
    else:
        click.echo("\n".join(d.lines()))
    sys.exit(1 if d.worse else 0)
