"""The reserve price never exists in plaintext in the database (or the fan-out)
before the close (DESIGN: secrets; RULES 2.3-2.4). A full pg_dump of the
database is searched for it in every form it could be written in; after the
close, the SessionClosed event reveals it and it matches the commitment that
was published at creation.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg

from auction.adapters.fanout.broker import Message
from auction.domain.bidding.commands import CreateSession, PlaceBid, QualifyBidder
from auction.domain.money import format_wan, format_yuan
from auction.domain.bidding.session import reserve_commitment
from auction.domain.bidding.terms import HOUR, SECOND
from auction.store.database.embedded import EmbeddedPostgres
from tests.storage.conftest import NodeFactory
from tests.storage.helpers import Clock, listing_terms

SID = "GT-SECRET-1"
RESERVE = 987_654_321  # fen: 987.654321 万元, distinctive enough to search for
START_PRICE = 500_000_000  # 500 万元
INCREMENT = 10_000_000  # 10 万元
BID = 1_200_000_000  # 1200 万元, above the reserve

FORMS = [
    str(RESERVE),  # fen
    format_wan(RESERVE).split()[0],  # 987.654321 (万元)
    format_yuan(RESERVE).split()[0],  # 9,876,543.21 (元)
    format_yuan(RESERVE).split()[0].replace(",", ""),  # 9876543.21
]


async def pg_dump(pg: EmbeddedPostgres, dsn: str) -> str:
    """A plain-text dump of the whole test database, schema and data."""
    proc = await asyncio.create_subprocess_exec(
        pg.bin("pg_dump"), "-w", "-d", dsn,  # as the owner (the DSN carries its password)
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode(errors="replace")
    return out.decode()


def leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


async def test_the_reserve_is_nowhere_in_the_database_until_the_close(
    pg: EmbeddedPostgres, dsn: str, node: NodeFactory, clock: Clock, db: asyncpg.Connection
) -> None:
    assert {"987654321", "987.654321", "9,876,543.21", "9876543.21"} <= set(FORMS)
    service = await node()
    watcher = service.broker.subscribe(SID, 1000)

    start_at = clock() + SECOND
    terms = listing_terms(SID, start_at=start_at, listing_end_at=start_at + HOUR,
                          start_price=START_PRICE, increment=INCREMENT)
    await service.create(CreateSession(terms), RESERVE)
    await service.execute(SID, QualifyBidder(7))
    clock.set(start_at + SECOND)
    await service.tick(SID)
    await service.execute(SID, PlaceBid(7, "secret-1", BID))

    dump = await pg_dump(pg, dsn)
    assert SID in dump and "sealed_reserves" in dump  # the dump did see the session
    assert leaks(dump) == []
    log_file = pg.data_dir / "server.log"
    if log_file.exists():
        assert leaks(log_file.read_text(errors="replace")) == []
    published: list[Message] = []
    while not watcher.queue.empty():
        message = watcher.queue.get_nowait()
        assert message is not None
        published.append(message)
    assert [json.loads(m.text)["event"] for m in published] == ["SessionCreated", "SessionOpened", "BidAccepted"]
    assert leaks("\n".join(m.text for m in published)) == []

    created = json.loads(await db.fetchval(
        "SELECT payload FROM session_events WHERE session_id = $1 AND type = 'SessionCreated'", SID
    ))
    commitment = created["terms"]["reserve_commitment"]
    assert created["terms"]["has_reserve"] is True and len(commitment) == 64
    assert commitment in dump

    # The close (the listing ends with one bidder): the reserve is unsealed and revealed.
    clock.set(start_at + HOUR)
    state = await service.tick(SID)
    assert state.phase.value == "CLOSED"
    closed = json.loads(await db.fetchval(
        "SELECT payload FROM session_events WHERE session_id = $1 AND type = 'SessionClosed'", SID
    ))
    assert closed["reserve"] == RESERVE
    assert closed["reserve_basis"] == "SEALED"
    assert reserve_commitment(closed["reserve"], closed["reserve_salt"]) == commitment
    assert (closed["outcome"], closed["winner_bidder_no"], closed["price"]) == ("SOLD", 7, BID)

    # Now, and only now, it is in the database (so the search above could find it).
    assert str(RESERVE) in leaks(await pg_dump(pg, dsn))
    closing = watcher.queue.get_nowait()
    assert closing is not None
    message = json.loads(closing.text)
    assert message["event"] == "SessionClosed" and message["data"]["reserve_fen"] == RESERVE
