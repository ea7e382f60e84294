"""A hot lot: every bidder of one session bids at once, round after round (the
last seconds of a countdown). Bids that queue behind the session's commit in
flight are decided in arrival order and written together in the next commit
(services/runner.py); what must hold is what held for one bid at a time:

- every acknowledged bid is in the log, at the seq its ack gave, and the log
  holds no accepted bid that was not acknowledged;
- acks follow the log's order: by seq, the acknowledged amounts rise;
- the log's seqs have no gap, every follower saw them all in order, and the
  state replayed from the log is the state served;
- a bid sent again with its bid_id gets the same ack.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests import hotlot
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, accepted_bids, close_all, wait_opened

BIDDERS = 16
ROUNDS = 8


async def test_many_bidders_bidding_at_once_on_one_lot(server: ServerProcess) -> None:
    rng = random.Random(17)
    async with Api(server) as api:
        s = await api.auction(bidders=BIDDERS, start_in=3.0, countdown=3600)
        watcher = await WsClient.join(server.ws, s.id)
        clients = [await WsClient.join(server.ws, s.id, b.token) for b in s.bidders]
        try:
            await wait_opened(watcher)
            acks: list[dict[str, Any]] = []
            refusals: dict[str, int] = {}
            sent: dict[str, int] = {}
            for _ in range(ROUNDS):
                state = (await api.session(s.id))["state"]
                minimum = state["min_next_fen"]

                async def bid(client: WsClient, amount: int) -> None:
                    bid_id = uuid.uuid4().hex
                    sent[bid_id] = amount
                    reply = await client.bid(amount, bid_id, timeout=60)
                    if reply["type"] == "ack":
                        assert reply["amount_fen"] == amount
                        acks.append(reply)
                    else:
                        refusals[reply["code"]] = refusals.get(reply["code"], 0) + 1

                # Half bid the minimum, the others a little more: some of each round are
                # accepted, the rest refused on the state the earlier ones left.
                await asyncio.gather(*(bid(c, minimum + rng.choice((0, 0, 1, 2)) * WAN) for c in clients))

            assert acks, "no bid accepted"
            assert set(refusals) <= {"BELOW_MINIMUM", "ALREADY_HIGHEST"}, refusals
            log = await api.events(s.id)
            accepted = accepted_bids(log)
            by_id = {a["bid_id"]: a for a in accepted}
            assert sorted(by_id) == sorted(a["bid_id"] for a in acks)  # acked <=> in the log
            for ack in acks:
                assert by_id[ack["bid_id"]]["pub_seq"] == ack["seq"]
                assert by_id[ack["bid_id"]]["amount"] == ack["amount_fen"] == sent[ack["bid_id"]]
            in_order = sorted(acks, key=lambda a: a["seq"])
            amounts = [a["amount_fen"] for a in in_order]
            assert amounts == sorted(amounts) and len(set(amounts)) == len(amounts)
            assert [a["bid_id"] for a in accepted] == [a["bid_id"] for a in in_order]

            pub = [e["pub_seq"] for e in log if e["pub_seq"] is not None]
            assert pub == list(range(1, len(pub) + 1))
            assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
            for follower in (watcher, *clients):
                await follower.wait_seq(pub[-1], timeout=60)
                seqs = follower.event_seqs()
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a follower missed an event"

            report = await api.verify(s.id)
            assert report["ok"] is True, report
            served = (await api.session(s.id))["state"]
            assert served["highest_fen"] == amounts[-1] == report["state"]["highest_fen"]

            # A repeat of an acknowledged bid is answered with its ack again, all at once.
            client_of = {b.bidder_no: c for b, c in zip(s.bidders, clients, strict=True)}
            repeats = [(client_of[by_id[a["bid_id"]]["bidder_no"]], a) for a in in_order[-4:]]
            again = await asyncio.gather(*(c.bid(a["amount_fen"], a["bid_id"], timeout=60) for c, a in repeats))
            for (_, a), reply in zip(repeats, again, strict=True):
                assert reply["type"] == "ack" and reply["seq"] == a["seq"], (reply, a)
            assert len(accepted_bids(await api.events(s.id))) == len(acks)
        finally:
            await close_all(watcher, *clients)


def test_the_hot_lot_bench_scenario_runs(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """`python -m loadtests.bench --scenario hot-lot` in seconds (its figures are `make bench`'s
    business; here only that it runs, and that its acks are exactly the log's accepted bids)."""
    server = server_factory(AUCTION_LOG_LEVEL="WARNING")
    server.start()
    [row] = hotlot.run(server, server.dsn, tmp_path, 2.0, counts=(4,))
    assert row["errors"] == 0
    acked, in_log = row["acked_vs_log"]
    assert acked == in_log > 0
    assert row["bids_per_commit"] is not None and row["bids_per_commit"] >= 1
    assert "hot lot" in hotlot.table([row])
