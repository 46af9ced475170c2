"""A fuzzing harness for vmcheck's readers: specs (YAML and `.isa`) and programs.

Every case is a mutated copy of a bundled spec or sample program (or a
generated one), run in-process through the CLI's own `lint` and `run` verbs
(click's CliRunner), under a per-case time guard, and classified:

    loaded          the verb finished (exit 0 or 1)
    clean_error     exit 2 with a FILE:LINE:COL diagnostic
    unlocated_error exit 2 with a message but no FILE:LINE:COL
    internal_error  a crash (exit 3/70, "internal error")
    hang            the time guard fired
    memory          MemoryError (the campaign runs under an address-space limit)

CI: tests/test_fuzz.py runs `python -m fuzz --cases 2000 --seed 0` and
requires zero internal errors and zero hangs. A long run:

    VMCHECK_FUZZ_CASES=100000 /work/venv/bin/python -m fuzz --seed 1 --out fuzz-report.json

(`--cases` overrides the variable.) See `fuzz/__main__.py` for the options.
"""
