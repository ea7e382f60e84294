"""What every aggregate's event log has in common (sessions, plans, tenders), pure.

A log stores each event as its class name and a JSON object of its fields;
`EventTypes` is the table from the one to the other, built from the
aggregate's union of event classes, with the events the public never sees.
`replay` folds a log into the state it gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, Generic, TypeVar, get_args

E = TypeVar("E")
S = TypeVar("S")


class EventTypes(Generic[E]):
    """An aggregate's event classes by the type name its log stores."""

    def __init__(self, union: Any, *, private: Iterable[type[Any]] = (), kind: str = "event") -> None:
        # Each event's type name (what the log stores) -> its class, from the union.
        self.by_name: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(union)}
        # Events bidders and watchers never see; public events get their own numbering.
        self.private: frozenset[type[Any]] = frozenset(private)
        self._kind = kind

    def name(self, event: E) -> str:
        return type(event).__name__

    def is_public(self, event: E) -> bool:
        return type(event) not in self.private

    def stored(self, type_name: str, data: dict[str, Any]) -> tuple[type[Any], dict[str, Any]]:
        """The class a stored type name stands for and the stored fields it declares
        (a field the class no longer has is dropped; a missing one keeps its default)."""
        cls = self.by_name.get(type_name)
        if cls is None:
            raise ValueError(f"unknown {self._kind} type {type_name!r}")
        return cls, {f.name: data[f.name] for f in fields(cls) if f.name in data}


def replay(empty: Callable[[], S], evolve: Callable[[S, E], S], events: Iterable[E]) -> S:
    """The state a log of events gives, from the empty state."""
    state = empty()
    for event in events:
        state = evolve(state, event)
    return state
