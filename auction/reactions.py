"""What follows what: the table of reactions to events, filled in one place (`auction/bootstrap.py`).

A service says what happened and never who reacts: a close starts the legal
clock, money held after the close starts a refund, an announcement starts
publication, a new wake-up moves a timer. The services receive the one
`Reactions` object in their constructors; bootstrap writes the table once,
before anything can happen, and freezes it. Nothing is hooked onto a service
after it was built.

`notify` runs the synchronous reactions (arming a timer, dropping a cache);
`publish` awaits the ones that do I/O, in order, and a failure propagates to
the service that reported the event (which decides what a failure means:
a failed post-trade step never undoes a close; a failed refund row rolls the
booking back). An event with no reaction costs a dictionary look-up.

These are the shell's notices, not the sale's events (`auction/domain/bidding/events.py`):
some carry the open transaction the reaction must join.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from auction.domain.clock.deadlines import Deadline
from auction.domain.plan.plans import PlanState
from auction.store.plans import RecordedPlanEvent

E = TypeVar("E")


@dataclass(frozen=True)
class WakeupChanged:
    """A session next needs waking at `when_us` (µs UTC; None: never)."""

    session_id: str
    when_us: int | None


@dataclass(frozen=True)
class SessionFinal:
    """A session became final (closed or terminated); the close is committed."""

    session_id: str


@dataclass(frozen=True)
class HeldAfterClose:
    """Money is held for refund on a closed session's sub-account (Q31); in the booking's transaction."""

    con: asyncpg.Connection
    session_id: str
    sub_account: str
    txn_id: str
    received_at: int  # µs UTC


@dataclass(frozen=True)
class DeadlineWritten:
    """A deadline row was written (created, moved, done); its timer follows it."""

    row: Deadline
    warned_at: int | None  # µs UTC


@dataclass(frozen=True)
class PlanAppended:
    """A plan's events are being appended: in the append's transaction, so a reaction's rows
    exist if and only if the events do."""

    con: asyncpg.Connection
    recorded: list[RecordedPlanEvent]
    after: PlanState


@dataclass(frozen=True)
class AppendedElsewhere:
    """Another node appended to a session (its event came over fan-out): this node's cache is behind."""

    session_id: str
    pub_seq: int


@dataclass(frozen=True)
class FollowersBehind:
    """Fan-out may have lost messages for a session this node's followers watch."""

    session_id: str


@dataclass(frozen=True)
class PublicAppended:
    """A session's events were committed by this node (after the commit, before the ack):
    the transparency log takes their leaves."""

    session_id: str
    recorded: list[Any]  # auction.store.events.Recorded


@dataclass(frozen=True)
class TenderDue:
    """A tender next needs its time-driven step (the opening, RULES 6.3) at `when_us` (µs UTC)."""

    tender_id: str
    when_us: int


@dataclass(frozen=True)
class TenderFinal:
    """A tender ended (awarded, unsold or terminated); the end is committed."""

    tender_id: str


class Reactions:
    """Event type -> the handlers that follow it, in the order they were listed."""

    def __init__(self) -> None:
        self._table: dict[type[Any], list[Callable[[Any], object]]] = {}
        self._frozen = False

    def on(self, kind: type[E], *handlers: Callable[[E], object]) -> None:
        if self._frozen:
            raise RuntimeError("the reactions are wired once, in auction/bootstrap.py")
        self._table.setdefault(kind, []).extend(handlers)

    def freeze(self) -> None:
        self._frozen = True

    def handles(self, kind: type[Any]) -> bool:
        return bool(self._table.get(kind))

    def kinds(self) -> dict[type[Any], int]:
        """How many handlers follow each event type (for tests and the start-up log)."""
        return {kind: len(handlers) for kind, handlers in self._table.items()}

    def notify(self, event: object) -> None:
        """Run the synchronous reactions to `event`."""
        for handler in self._table.get(type(event), ()):
            result = handler(event)
            if result is not None and inspect.isawaitable(result):  # (None first: it runs at every bid)
                close = getattr(result, "close", None)
                if close is not None:
                    close()  # never awaited: no "coroutine was never awaited" warning on top
                raise TypeError(f"{type(event).__name__}: an awaitable reaction needs `await publish(...)`")

    async def publish(self, event: object) -> None:
        """Run the reactions to `event`, awaiting each in turn; the first failure propagates."""
        for handler in self._table.get(type(event), ()):
            result = handler(event)
            if inspect.isawaitable(result):
                await result
