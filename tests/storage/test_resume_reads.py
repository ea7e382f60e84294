"""A resume reads the log from where the client was, not from the start: the range reads
return exactly the events after N, in order, and the messages a resume is sent are the
ones a from-scratch replay renders (each with the state right after its event), whether
the node remembers states along the log (`MARK_EVERY`) or was just started."""

from __future__ import annotations

import asyncpg

from auction.adapters.protocol import event_message
from auction.domain.bidding.commands import PlaceBid, ReissueToken
from auction.domain.bidding.session import SessionState, evolve
from auction.domain.bidding.terms import SECOND
from auction.services.session import MARK_EVERY, SessionService
from auction.store.events import Recorded
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import INCREMENT, START_PRICE, Clock, assert_log_gap_free, open_listing

SID = "GT-RESUME-1"
BIDS = 2 * MARK_EVERY + 10


async def bid_many(service: SessionService, clock: Clock) -> None:
    """Public bids with private events (token re-issues) among them."""
    for i in range(BIDS):
        clock.advance(SECOND)
        await service.execute(SID, PlaceBid(1 + i % 2, f"b-{i}", START_PRICE + i * INCREMENT))
        if i % 50 == 7:
            await service.execute(SID, ReissueToken(3))


def rendered_from_scratch(service_log: list[Recorded], after: int, upto: int | None = None) -> list[tuple[int, str]]:
    state = SessionState()
    out = []
    for r in service_log:
        state = evolve(state, r.event)
        if r.pub_seq is not None and r.pub_seq > after and (upto is None or r.pub_seq <= upto):
            out.append((r.pub_seq, event_message(SID, r.pub_seq, r.event, state)))
    return out


async def test_the_range_reads_return_exactly_the_events_after_n_in_order(
    node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    service = await node()
    await open_listing(service, clock, SID, bidders=3)
    await bid_many(service, clock)
    rows = await assert_log_gap_free(db, SID)
    last_seq = rows[-1]["seq"]
    last_pub = max(r["pub_seq"] for r in rows if r["pub_seq"] is not None)
    assert last_pub > 2 * MARK_EVERY

    for n in (0, 1, MARK_EVERY - 1, MARK_EVERY, MARK_EVERY + 1, last_pub - 1, last_pub):
        public = await service.store.load_public(SID, n)
        assert [r.pub_seq for r in public] == list(range(n + 1, last_pub + 1))
        assert all(r.event.at > 0 for r in public)
    for n in (0, 5, last_seq - 1, last_seq):
        everything = await service.store.load(SID, after_seq=n)
        assert [r.seq for r in everything] == list(range(n + 1, last_seq + 1))
    assert [r.pub_seq for r in await service.store.load_public(SID, 3, limit=2)] == [4, 5]


async def test_a_resume_is_sent_what_a_full_replay_renders_from_any_point(
    node: NodeFactory, clock: Clock
) -> None:
    writer = await node()
    await open_listing(writer, clock, SID, bidders=3)
    await bid_many(writer, clock)
    log = await writer.store.load(SID)
    last_pub = max(r.pub_seq for r in log if r.pub_seq is not None)

    fresh = await node()  # a node started after the bids: it has only replayed the log once
    await fresh.state(SID)
    points = [0, 1, MARK_EVERY - 1, MARK_EVERY, MARK_EVERY + 1, 2 * MARK_EVERY + 3, last_pub - 1, last_pub]
    for service in (writer, fresh):
        for n in points:
            got = [(m.seq, m.text) for m in await service.public_after(SID, n)]
            assert got == rendered_from_scratch(log, n), n
        # A gap in the fan-out: only the events up to the one that arrived.
        got = [(m.seq, m.text) for m in await service.public_after(SID, MARK_EVERY - 2, upto=MARK_EVERY + 2)]
        assert got == rendered_from_scratch(log, MARK_EVERY - 2, MARK_EVERY + 2)
        assert [seq for seq, _ in got] == list(range(MARK_EVERY - 1, MARK_EVERY + 3))
