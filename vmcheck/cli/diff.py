"""`vmcheck diff OLD NEW`: what changed between two versions of a spec."""

from __future__ import annotations

import json
import sys

import click

from .common import format_option, load, solver_options, spec_argument, verb


@verb(
    exits=[("0", "NEW is not worse than OLD"), ("1", "NEW is worse: a theorem no longer holds, or a new violation")],
    examples=["vmcheck diff isa/old.yaml isa/new.yaml", "vmcheck diff pg-toy pg-toy-broken --format json"],
)
@spec_argument("old")
@spec_argument("new")
@format_option("text", "json", help="json: schema diff.schema.json.")
@solver_options
def diff(old, new, fmt, budget, timeout, jobs, no_cache, quiet):
    """Compare two versions of a spec: instructions added and removed, classes
    changed, verdicts per theorem."""
    from ..analysis.engine import check_isas
    from ..report.diff import diff_reports
    from .common import limits
    from .interrupt import solver_ready
    from .progress import progress

    budget, timeout = limits(budget, timeout)
    solver_ready()

    with progress("diff", quiet=quiet) as rep:
        rep.stage("loading")
        a, b = load(old), load(new)
        rep.stage("solving")
        ra, rb = check_isas(
            [a, b], timeout=timeout, budget=budget, jobs=jobs, use_cache=not no_cache, progress=rep.update
        )
    d = diff_reports(ra, rb, old, new)
    if fmt == "json":
        click.echo(json.dumps(d.to_json(), indent=2, sort_keys=True))
    else:
        click.echo("\n".join(d.lines()))
    sys.exit(1 if d.worse else 0)
