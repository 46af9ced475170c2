"""Values computed once per `Isa` object: the one memoisation mechanism.

An `Isa` is a frozen dataclass, and several readers derive something costly
from it (name indexes, the compiled semantics, the assembler's syntaxes, the
cache digest). They keep it here, in a table keyed by the *identity* of the
Isa object, instead of writing private attributes into the frozen object:

* identity, not equality: two equal specs loaded twice are two objects with
  two memos (hashing an Isa would walk all of it, and equal specs may differ
  in what equality ignores, such as their source path);
* an entry lives as long as its Isa: a weak reference drops it when the Isa
  is collected, so a long run that loads many specs does not keep them all;
* nothing is pickled or copied with the Isa (a worker process rebuilds what
  it needs).

`per_isa(fn)` memoises a function of one Isa; `memo(isa)` is the Isa's own
dict, for memos with more keys than the Isa (one entry per register file,
per condition...), each reader under its own key.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# id(isa) -> (weak reference to the Isa, its memo). The callback of the weak
# reference removes the entry before the id can be reused.
_TABLE: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def memo(obj: object) -> dict[str, Any]:
    """The memo dict of `obj` (an Isa), created empty on first use."""
    key = id(obj)
    hit = _TABLE.get(key)
    if hit is not None and hit[0]() is obj:
        return hit[1]
    table: dict[str, Any] = {}
    _TABLE[key] = (weakref.ref(obj, functools.partial(_drop, _TABLE, key)), table)
    return table


def _drop(table: dict, key: int, ref: weakref.ref) -> None:
    # `table` is bound when the reference is made: at interpreter exit the
    # module's globals may already be gone when the callback runs.
    hit = table.get(key)
    if hit is not None and hit[0] is ref:
        del table[key]


class per_isa(Generic[T]):  # noqa: N801 (used as a decorator, named like one)
    """`fn(isa)` computed once per Isa object (see the module docstring).

    `forget(isa)` drops the memoised value, so the next call recomputes it
    (tests that compile one Isa two ways use it).
    """

    def __init__(self, fn: Callable[[Any], T]):
        self._fn = fn
        self._key = f"{fn.__module__}.{fn.__qualname__}"
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __call__(self, isa: Any) -> T:
        table = memo(isa)
        try:
            return table[self._key]
        except KeyError:
            value: T = self._fn(isa)
            table[self._key] = value
            return value

    def forget(self, isa: Any) -> None:
        memo(isa).pop(self._key, None)


__all__ = ["memo", "per_isa"]
