"""The publication outbox under contention: three delivery workers (three "nodes",
each with its own pool) drain one outbox into a failing receiver. Every document
arrives once per channel, in order per parcel, and every attempt is on record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import asyncpg

from auction.adapters.channels import Channel
from auction.adapters.delivery import Backoff, DeliveryWorker
from auction.documents.landchina import Deal, Installment, ResultEntry, announcement_document, result_document
from auction.domain.plan.plan_terms import PlanMethod
from auction.services.divisions import shipped_divisions
from auction.store import publication as outbox
from tests.e2e.publication_receiver import Receiver
from tests.unit.plan_helpers import START, announced, parcel

PRICE = 5_100 * 1_000_000 + 1


def documents(plan_id: str, parcel_no: str) -> list[dict[str, object]]:
    state = announced(PlanMethod.AUCTION, plan_id=plan_id, parcels=(parcel(parcel_no=parcel_no),)).state
    entry = ResultEntry("530302", "项目", "现有建设用地", "房地产业", "二级", (Installment(1, date(2026, 5, 1), PRICE),),
                        date(2026, 6, 1), date(2026, 7, 1), date(2028, 7, 1), date(2026, 4, 1))
    deal = Deal(f"S-{plan_id}", START + 10**9, PRICE, "曲靖某置业有限公司")
    return [announcement_document(state, region_code="530300"),
            result_document(state, deal, entry, supervision_no="5303022026B00123", published_at=START + 2 * 10**9,
                            divisions=shipped_divisions())]


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:
    """Poll `condition` until it holds; the timeout is generous, only a failure waits for it."""
    end = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < end, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.05)


async def test_three_nodes_deliver_each_document_once_in_order(dsn: str, db: asyncpg.Connection) -> None:
    """Each phase ends on what happened, not on a time: the receiver fails until it has
    failed in every way and every node has met a failure; it then accepts until every row
    is delivered and no attempt is left in flight, so nothing can be sent after the check.
    A node waits 3 s for an answer: a loaded machine's slow answer is not taken for a lost
    one (which would be retried and show up as a legitimate duplicate)."""
    receiver = Receiver(keys={"landchina": b"k" * 20, "province": b"p" * 20},
                        formats={"landchina": "json", "province": "xml"},
                        failure_modes=("500", "drop", "timeout", "500"), hang_seconds=4.0)
    await receiver.start()
    channels = tuple(Channel(name, receiver.url(name), receiver.keys[name], receiver.formats[name])
                     for name in receiver.keys)
    parcels = [(f"GD-{i}", f"QJ-{i}") for i in range(4)]
    for plan_id, parcel_no in parcels:
        await db.execute("INSERT INTO plans (plan_id, status, parcel_no, method, last_seq) "
                         "VALUES ($1, 'ANNOUNCED', $2, 'AUCTION', 0)", plan_id, parcel_no)
    # Announcements first, then results, interleaved across parcels, as publication happens.
    for kind in (0, 1):
        for plan_id, parcel_no in parcels:
            document = documents(plan_id, parcel_no)[kind]
            async with db.transaction():
                assert await outbox.insert_document(db, document, by="op", published_at=datetime.now(UTC),
                                                    channels=list(receiver.keys))
    pools = [await asyncpg.create_pool(dsn, min_size=1, max_size=6) for _ in range(3)]
    workers = [DeliveryWorker(pool, channels, Backoff(0.05, 0.3, 500), timeout=3.0, poll=0.05, node_id=f"n{i}",
                              concurrency=3) for i, pool in enumerate(pools)]

    async def every_node_failed_in_every_way() -> bool:
        nodes = await db.fetchval("SELECT count(DISTINCT node_id) FROM publication_attempts"
                                  " WHERE finished_at IS NOT NULL AND error IS NOT NULL")
        return bool(nodes == len(workers) and set(receiver.failures) == {"500", "drop", "timeout"})

    async def all_delivered_and_nothing_in_flight() -> bool:
        pending = await db.fetchval("SELECT count(*) FROM publication_outbox WHERE state <> 'DELIVERED'")
        in_flight = await db.fetchval("SELECT count(*) FROM publication_attempts WHERE finished_at IS NULL")
        return bool(pending == 0 and in_flight == 0)

    try:
        for w in workers:
            w.start()
        await wait_for(every_node_failed_in_every_way, "every node meets a failure of every kind")
        assert receiver.accepted == {}
        receiver.failing = False
        await wait_for(all_delivered_and_nothing_in_flight, "every row delivered, no attempt in flight")
    finally:
        for w in workers:
            await w.stop()
        for pool in pools:
            await pool.close()
        await receiver.stop()
    assert receiver.problems == []
    assert len(receiver.accepted) == 16 and receiver.duplicates == []
    for plan_id, parcel_no in parcels:
        for channel in receiver.keys:
            assert receiver.order[(parcel_no, channel)] == [f"ANN-{plan_id}", f"RES-{plan_id}"]
    states = await db.fetch("SELECT state, attempts FROM publication_outbox")
    assert {r["state"] for r in states} == {"DELIVERED"}
    attempts = await db.fetch("SELECT node_id, http_status, error, finished_at FROM publication_attempts")
    assert sum(1 for a in attempts if a["error"] is None) == 16  # one successful attempt per row
    assert all(a["finished_at"] is not None for a in attempts)
    assert len({a["node_id"] for a in attempts}) == len(workers)  # the nodes shared the work
    failed = [a for a in attempts if a["error"] is not None]
    assert len(failed) == sum(receiver.failures.values())  # every failure the receiver caused is recorded


async def test_a_document_is_written_once_per_plan_and_kind(db: asyncpg.Connection) -> None:
    await db.execute("INSERT INTO plans (plan_id, status, parcel_no, method, last_seq) "
                     "VALUES ('GD-X', 'ANNOUNCED', 'QJ-X', 'AUCTION', 0)")
    document = documents("GD-X", "QJ-X")[0]
    async with db.transaction():
        assert await outbox.insert_document(db, document, by="op", published_at=datetime.now(UTC), channels=["a"])
    again = replace_id(document)
    async with db.transaction():
        assert not await outbox.insert_document(db, again, by="op", published_at=datetime.now(UTC), channels=["a"])
    assert await db.fetchval("SELECT count(*) FROM publication_outbox") == 1


def replace_id(document: dict[str, object]) -> dict[str, object]:
    return {**document, "document_id": "ANN-GD-X-2"}  # the same plan and kind under another id

