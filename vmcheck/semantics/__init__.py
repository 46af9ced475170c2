"""The meaning of the semantics language: a concrete reading (compiled Python)
and a symbolic one (z3 terms), kept equal by property tests."""
