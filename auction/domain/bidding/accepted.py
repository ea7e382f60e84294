"""A session's accepted bids as an immutable map that a bid extends without copying them all.

The state after a bid must not share a mutable dict with the state before it (both stay in
use: the runner decides again on the earlier one after a lost race), and copying a dict of
every earlier bid at each bid costs O(n): 8 µs at 2,000 bids. `Accepted` keeps a shared,
never-mutated `base` and a small `recent` dict; a bid copies only `recent`, and every
`FOLD` bids `recent` is folded into a new base (O(n) once per `FOLD` bids).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

FOLD = 64  # entries in `recent` before it is folded into a new base


class Accepted(Mapping[K, V]):
    """An immutable mapping; `set` returns a new one. Equal to any mapping with the same items."""

    __slots__ = ("_base", "_recent")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._base: dict[K, V] = dict(items) if items else {}
        self._recent: dict[K, V] = {}

    def set(self, key: K, value: V) -> Accepted[K, V]:
        after: Accepted[K, V] = Accepted.__new__(Accepted)
        if len(self._recent) < FOLD:
            after._base, after._recent = self._base, {**self._recent, key: value}
        else:
            after._base, after._recent = {**self._base, **self._recent, key: value}, {}
        return after

    def __getitem__(self, key: K) -> V:
        recent = self._recent
        if key in recent:
            return recent[key]
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        return key in self._recent or key in self._base

    def __iter__(self) -> Iterator[K]:
        yield from self._base
        for key in self._recent:
            if key not in self._base:
                yield key

    def __len__(self) -> int:
        return len(self._base) + sum(1 for key in self._recent if key not in self._base)

    def __repr__(self) -> str:
        return f"Accepted({dict(self.items())!r})"
