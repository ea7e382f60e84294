"""The reactions table (auction/reactions.py): order, awaiting, failures, and wiring once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from auction.reactions import Reactions, SessionFinal, WakeupChanged


@dataclass(frozen=True)
class Other:
    n: int


def test_notify_runs_the_handlers_of_that_event_type_in_the_order_listed() -> None:
    seen: list[str] = []
    r = Reactions()
    r.on(WakeupChanged, lambda e: seen.append(f"a:{e.session_id}:{e.when_us}"),
         lambda e: seen.append(f"b:{e.session_id}"))
    r.on(Other, lambda e: seen.append(f"other:{e.n}"))
    r.notify(WakeupChanged("S-1", 5))
    assert seen == ["a:S-1:5", "b:S-1"]


def test_an_event_nobody_follows_does_nothing() -> None:
    r = Reactions()
    r.notify(WakeupChanged("S-1", None))
    asyncio.run(r.publish(SessionFinal("S-1")))
    assert not r.handles(SessionFinal)


def test_publish_awaits_each_reaction_before_the_next() -> None:
    seen: list[str] = []
    r = Reactions()

    async def slow(e: SessionFinal) -> None:
        await asyncio.sleep(0)
        seen.append("first")

    r.on(SessionFinal, slow, lambda e: seen.append("second"))
    asyncio.run(r.publish(SessionFinal("S-1")))
    assert seen == ["first", "second"]


def test_a_failure_reaches_the_service_that_reported_the_event() -> None:
    seen: list[str] = []
    r = Reactions()

    async def fails(e: SessionFinal) -> None:
        raise LookupError(e.session_id)

    r.on(SessionFinal, fails, lambda e: seen.append("after"))
    with pytest.raises(LookupError):
        asyncio.run(r.publish(SessionFinal("S-1")))
    assert seen == []  # the first failure stops the rest, as a failed step in a transaction must


def test_an_awaitable_reaction_cannot_be_notified() -> None:
    r = Reactions()

    async def later(e: SessionFinal) -> None:
        return None

    r.on(SessionFinal, later)
    with pytest.raises(TypeError, match="publish"):
        r.notify(SessionFinal("S-1"))


def test_the_table_is_written_once() -> None:
    r = Reactions()
    r.on(SessionFinal, lambda e: None)
    r.freeze()
    with pytest.raises(RuntimeError, match="bootstrap"):
        r.on(WakeupChanged, lambda e: None)
    assert r.kinds() == {SessionFinal: 1}
