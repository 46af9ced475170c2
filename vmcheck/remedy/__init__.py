"""Remedies for an ISA that fails a theorem (issue 18): a host configuration
that makes it hold (`configure`), the smallest ISA change (`repair`), and the
guest-program sites a paravirtualised guest must change (`paravirt`).

This package sits outside `vmcheck/analysis` on purpose: the result cache's
key hashes every module of `analysis/` and `semantics/`, and nothing here
changes an engine answer, so editing it must not throw the cache away.
Every remedy is checked by running the engine (`analysis.check_isas`) on the
spec or context it produces.
"""
