"""The one deliberate warm-cache test: `vmcheck check` on a cheap bundled spec,
twice with one fresh cache directory. The second run asks the solver nothing
and prints the same report; only the statistics line differs (how many
units came from the cache, the solver calls, the seconds).

Every other test shares the session's cache (conftest.py), so whether it runs
cold or warm is an accident of order; this one fixes both. The engine-level
counterpart is tests/test_analysis.py::test_cache_and_jobs_give_the_same_report.
"""

from __future__ import annotations

import re

from helpers import invoke

STATS = re.compile(r"^(\d+) units, (\d+) cached, (\d+) solver calls, [0-9.]+s$", re.M)


def test_a_warm_check_asks_no_solver_and_prints_the_same_report(tmp_path):
    env = {"VMCHECK_CACHE_DIR": str(tmp_path / "cache")}
    cold = invoke("check", "pg-toy-hybrid", env=env)
    warm = invoke("check", "pg-toy-hybrid", env=env)
    assert cold.exit_code == warm.exit_code == 1, cold.output
    (units, cached, calls), (w_units, w_cached, w_calls) = (
        tuple(map(int, STATS.search(r.stdout).groups())) for r in (cold, warm)
    )
    assert cached == 0 and calls > 0
    assert w_units == w_cached == units and w_calls == 0
    assert STATS.sub("", warm.stdout) == STATS.sub("", cold.stdout)
