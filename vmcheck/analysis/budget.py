"""The solver's limits (issue 13.1), in a module without z3 so that the CLI can
show them without importing the engine.

The limit that decides is a *budget*: z3 resource units (`rlimit`) per query,
not seconds, so a spec gets the same answers, unknowns included, on any
machine at any load. The budget was chosen from `bench/profile_queries.py`:
the most expensive queries of the bundled specs spend 106 million units
(armv7-a `stm_usr` location pair, x86-64-vtx far call exact condition, both
unsat), so 300 million leaves a margin of almost three. A
wall-clock *safety net* per solver call remains, generous, only to stop a
runaway call; an unknown it causes is never cached.
"""

from __future__ import annotations

DEFAULT_BUDGET = 300_000_000
DEFAULT_TIMEOUT = 300.0


def check_limits(budget: int, timeout: float) -> None:
    """A UserError (exit 2) for a limit that cannot be met."""
    from ..errors import UserError

    if budget < 1:
        raise UserError("--budget must be a positive number of solver resource units")
    if timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")


__all__ = ["DEFAULT_BUDGET", "DEFAULT_TIMEOUT", "check_limits"]
