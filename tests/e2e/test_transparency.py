"""Anyone can check a sale: a real server runs an auction from an announced plan (the
committee's signed, sealed reserve), and its public record is checked by
`auction-verify` (clients/verify.py), untouched and then with each part tampered
with; a consistency proof links a head seen during bidding to the final one, and a
history rewritten on the server after that head was seen fails it."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auction.adapters.sealing.center_key import CenterKey
from clients import transparency as tl
from clients.bidder import BidderClient, save_receipts
from clients.verify import Discrepancy, consistent, verify
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened, wait_until
from tests.e2e.plan_flow import COMPRESSED, START_PRICE, Committee, announced_plan, ok, session_of

RESERVE = 5_050 * WAN + 7


async def latest_head(api: Api, session_id: str) -> dict[str, Any]:
    r = await api.get(f"/public/sessions/{session_id}/tree-heads")
    assert r.status_code == 200, r.text
    head: dict[str, Any] = r.json()["latest"]
    return head


async def run_sale(server: ServerProcess, api: Api, tmp_path: Path) -> dict[str, Any]:
    """Plan, committee, sealed reserve, two bidders, three bids, the close: what the test needs."""
    committee = await Committee.register(api, tmp_path, 2)
    plan_id, _ = await announced_plan(api, "AUCTION", start_in=10.0)
    session_id = await session_of(api, plan_id, countdown=3)
    await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))
    a, b = await api.qualify(session_id), await api.qualify(session_id)
    early_record = await api.get(f"/public/sessions/{session_id}/record.json")
    assert early_record.status_code == 409 and early_record.json()["error"]["code"] == "RECORD_NOT_FINAL"
    ca = await WsClient.join(server.ws, session_id, a.token)
    cb = BidderClient(server.ws, session_id, b.token)  # the client library keeps its receipts
    await cb.connect()
    watcher = await WsClient.join(server.ws, session_id)
    try:
        await wait_opened(ca)
        acks = []
        for client, amount in ((ca, START_PRICE), (cb, START_PRICE + 10 * WAN), (ca, 5_100 * WAN)):
            ack = await client.bid(amount)
            assert ack["type"] == "ack", ack
            assert ack["receipt"]["seq"] == ack["seq"] <= ack["receipt"]["tree_size"]
            # Signed with its batch (the acks of one turn share a signature): its place and path in it.
            assert {"batch_index", "batch_size", "batch_path"} <= ack["receipt"].keys()
            acks.append(ack)
        assert cb.receipts == [acks[1]["receipt"]]
        save_receipts(tmp_path / "receipts.json", session_id, cb.receipts)
        save_receipts(tmp_path / "receipts.json", session_id, [acks[0]["receipt"], acks[2]["receipt"]])
        # A head signed while bidding covers the first bid (heads follow bids within 0.2 s here).
        first_seq = acks[0]["seq"]
        early: dict[str, Any] = {}

        async def head_covers_first_bid() -> bool:
            early.update(await latest_head(api, session_id))
            return bool(early["tree_size"] >= first_seq)

        for _ in range(300):
            if await head_covers_first_bid():
                break
            await asyncio.sleep(0.1)
        assert early["tree_size"] >= first_seq
        await watcher.wait_event("SessionClosed", timeout=60)
        # Watchers were sent the signed heads as `tree_head` frames.
        await wait_until(lambda: any(m.get("type") == "tree_head" for m in watcher.messages), 30, "a tree_head")
    finally:
        await cb.close()
        await close_all(ca, watcher)
    r = await api.get(f"/public/sessions/{session_id}/record.json")
    assert r.status_code == 200, r.text
    return {"session_id": session_id, "record": r.json(), "receipts": [a["receipt"] for a in acks], "acks": acks,
            "early": early}


def discrepancy(record: dict[str, Any], receipts: list[dict[str, Any]] | None = None) -> Discrepancy:
    with pytest.raises(Discrepancy) as caught:
        verify(record, receipts=receipts or [])
    return caught.value


def bids(record: dict[str, Any]) -> list[int]:
    return [i for i, e in enumerate(record["events"]) if e["type"] == "BidAccepted"]


def change_a_byte(r: dict[str, Any]) -> None:
    r["events"][bids(r)[0]]["event"]["amount"] += 1


def swap_two_bids(r: dict[str, Any]) -> None:
    i, j = bids(r)[:2]
    r["events"][i]["event"], r["events"][j]["event"] = r["events"][j]["event"], r["events"][i]["event"]


def drop_an_event(r: dict[str, Any]) -> None:
    del r["events"][bids(r)[1]]


def forge_a_head(r: dict[str, Any]) -> None:
    head = r["tree_heads"][0]
    head["signature"] = head["signature"][:-2] + ("00" if head["signature"][-2:] != "00" else "01")


def change_the_reserve(r: dict[str, Any]) -> None:
    r["reserve"]["amount_fen"] -= 1


def change_the_salt(r: dict[str, Any]) -> None:
    r["reserve"]["salt"] = "0" * len(r["reserve"]["salt"])


def forge_a_committee_signature(r: dict[str, Any]) -> None:
    s = r["committee"]["signatures"][1]
    s["signature"] = "ab" * 64


def move_a_receipt(r: dict[str, Any]) -> None:
    r["receipts"][0]["seq"] += 1


TAMPERINGS: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (change_a_byte, "TREE_HEAD_ROOT", "tree_heads["),
    (swap_two_bids, "TREE_HEAD_ROOT", "tree_heads["),
    (drop_an_event, "EVENT_SEQUENCE", "events["),
    (forge_a_head, "TREE_HEAD_SIGNATURE", "tree_heads[0]"),
    (change_the_reserve, "RESERVE_COMMITMENT", "reserve"),
    (change_the_salt, "RESERVE_COMMITMENT", "reserve"),
    (forge_a_committee_signature, "COMMITTEE_SIGNATURE", "committee.signatures[1]"),
    (move_a_receipt, "RECEIPT_SIGNATURE", "receipts[0]"),
]


async def test_a_public_record_verifies_and_each_tampering_is_named(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(**COMPRESSED, AUCTION_TREE_HEAD_SECONDS="0.2")
    server.start()
    async with Api(server) as api:
        sale = await run_sale(server, api, tmp_path)
        session_id, record, receipts = sale["session_id"], sale["record"], sale["receipts"]
        key = (await api.get("/public/transparency/key")).json()

        # Untouched, with the bidders' receipts: it holds, and says the outcome.
        verdict = verify(record, key=bytes.fromhex(key["public_key"]), receipts=receipts)
        assert verdict.startswith(f"一致 VERIFIED {session_id}:") and "SOLD to bidder" in verdict, verdict
        assert record["reserve"]["amount_fen"] == RESERVE and record["outcome"]["outcome"] == "SOLD"
        assert len(record["committee"]["signatures"]) == 2 and len(record["tree_heads"]) >= 3

        # The two commands of the README: download, then verify (file and URL alike).
        path, receipts_file = tmp_path / "record.json", tmp_path / "receipts.json"
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        assert json.loads(receipts_file.read_text(encoding="utf-8"))["receipts"] == receipts  # by seq
        url = f"{server.http}/public/sessions/{session_id}/record.json"
        for source in (str(path), url):
            done = subprocess.run([sys.executable, "-m", "clients.verify", source, "--receipts", str(receipts_file),
                                   "--key", key["public_key"]], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 and "VERIFIED" in done.stdout, done.stdout + done.stderr

        # Each part tampered with: caught, and named with its place.
        for tamper, code, place in TAMPERINGS:
            changed = copy.deepcopy(record) | {"receipts": copy.deepcopy(receipts)}
            tamper(changed)
            found = discrepancy(changed)
            assert (found.code, found.place.startswith(place)) == (code, True), (tamper.__name__, found)
        changed = copy.deepcopy(record)
        forge_a_head(changed)
        path.write_text(json.dumps(changed), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "clients.verify", str(path)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 1 and "TREE_HEAD_SIGNATURE at tree_heads[0]" in done.stdout, done.stdout

        # A receipt's bid is in the log at its place: the server's inclusion proof leads to the final root.
        final = record["tree_heads"][-1]
        last = receipts[-1]
        r = await api.get(f"/public/sessions/{session_id}/proof/inclusion?seq={last['seq']}"
                          f"&tree_size={final['tree_size']}")
        proof = r.json()
        assert tl.verify_inclusion(last["seq"] - 1, final["tree_size"], bytes.fromhex(last["leaf_hash"]),
                                   [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(final["root_hash"]))

        # The head seen while bidding and the final head: the log only grew.
        early = sale["early"]
        assert early["tree_size"] < final["tree_size"]
        assert await asyncio.to_thread(consistent, server.http, session_id, early, final)

    # The history is rewritten on the server after that head was seen (the owner lifts the
    # log's guard and lowers the first bid): the same proof no longer links the heads.
    con = await asyncpg.connect(server.dsn)
    try:
        await con.execute("ALTER TABLE session_events DISABLE TRIGGER session_events_no_update")
        await con.execute("""UPDATE session_events SET payload = jsonb_set(payload, '{amount}', to_jsonb(
                                 (payload->>'amount')::bigint - 1))
                              WHERE session_id = $1 AND pub_seq = $2""", session_id, sale["acks"][0]["seq"])
        await con.execute("ALTER TABLE session_events ENABLE TRIGGER session_events_no_update")
    finally:
        await con.close()
    server.stop()
    server.start()  # the tree is rebuilt from the rewritten log
    assert not await asyncio.to_thread(consistent, server.http, session_id, early, final)
    async with Api(server) as api:
        rewritten = (await api.get(f"/public/sessions/{session_id}/record.json")).json()
    found = discrepancy(rewritten)
    assert found.code == "TREE_HEAD_ROOT", found


def test_monitor_and_verify_say_what_they_cannot_read(tmp_path: Path) -> None:
    missing = subprocess.run([sys.executable, "-m", "clients.verify", str(tmp_path / "none.json")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    # A record fetched before its session ended is the server's refusal, saved to a file: said as such,
    # not as a record with its fields missing.
    early = tmp_path / "record.json"
    early.write_text(json.dumps({"error": {"code": "RECORD_NOT_FINAL", "message": "The public record exists once "
                                           "the session has ended", "details": {"phase": "LISTING"}}}))
    refused = subprocess.run([sys.executable, "-m", "clients.verify", str(early)],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "refusal" in refused.stderr and "RECORD_NOT_FINAL" in refused.stderr


async def test_signed_bids_are_checked_before_anything_is_decided(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """A session whose rules require signed bids (AUCTION_SIGNED_BIDS=on): each bidder registers its
    key once; an unsigned bid or a bad signature is refused with BID_SIGNATURE_INVALID and changes
    nothing; signed bids are stored with their signatures, and the public record checks them."""
    server = server_factory(AUCTION_SIGNED_BIDS="on", AUCTION_TREE_HEAD_SECONDS="0.2")
    server.start()
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=3.0, countdown=3, reserve=105 * WAN)
        (a, b), keys = s.bidders, [Ed25519PrivateKey.generate() for _ in range(3)]
        watcher = await WsClient.join(server.ws, s.id)
        ca = BidderClient(server.ws, s.id, a.token, signing_key=keys[0])
        cb = BidderClient(server.ws, s.id, b.token, signing_key=keys[1])
        raw = await WsClient.join(server.ws, s.id, a.token)
        # Someone follows the live session's signed heads: each new one must extend the last.
        monitor = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clients.verify", "--monitor", server.http, s.id, "--every", "0.2",
            "--until-closed", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await ca.connect()
            await cb.connect()
            assert (await ca.register_key())["type"] == "key_registered"
            assert (await ca.register_key())["type"] == "key_registered"  # the same key again: a retry
            assert (await cb.register_key())["public_key"] == keys[1].public_key().public_bytes_raw().hex()
            other = await raw.request({"type": "register_key",
                                       "public_key": keys[2].public_key().public_bytes_raw().hex()})
            assert other["code"] == "BIDDER_KEY_REGISTERED"  # a key never changes
            await wait_opened(watcher)

            unsigned = await raw.bid(100 * WAN)
            assert (unsigned["type"], unsigned["code"]) == ("reject", "BID_SIGNATURE_INVALID"), unsigned
            forged = tl.bid_bytes(s.id, a.bidder_no, 100 * WAN, "forged-1", None)
            refused = await raw.bid(100 * WAN, "forged-1", signature=keys[2].sign(forged).hex())
            assert refused["code"] == "BID_SIGNATURE_INVALID"
            assert (await api.session(s.id))["state"]["bid_count"] == 0  # nothing written

            for client, amount in ((ca, 100 * WAN), (cb, 101 * WAN), (ca, 106 * WAN)):
                ack = await client.bid(amount)
                assert ack["type"] == "ack", ack
            await watcher.wait_event("SessionClosed", timeout=60)
        finally:
            await ca.close()
            await cb.close()
            await close_all(watcher, raw)
        record = (await api.get(f"/public/sessions/{s.id}/record.json")).json()
        out, err = await asyncio.wait_for(monitor.communicate(), 120)
    heads = [line for line in out.decode().splitlines() if line.startswith("head ")]
    assert monitor.returncode == 0 and len(heads) >= 2 and all(h.endswith(" ok") for h in heads), out + err
    assert verify(record, receipts=ca.receipts + cb.receipts).startswith("一致 VERIFIED")
    assert record["terms"]["rules"]["signed_bids"] is True and len(record["bidder_keys"]) == 2
    signed = [e["event"] for e in record["events"] if e["type"] == "BidAccepted"]
    assert all(len(e["signature"]) == 128 and isinstance(e["client_seq"], int) for e in signed)

    # A bid whose signature was changed, even under heads the center signed again: named.
    center = CenterKey.from_file(tmp_path / "shared-keys" / "transparency.key")
    changed = copy.deepcopy(record)
    bid = next(i for i, e in enumerate(changed["events"]) if e["type"] == "BidAccepted")
    changed["events"][bid]["event"]["signature"] = keys[2].sign(b"another").hex()
    resign(changed, center)
    found = discrepancy(changed)
    assert (found.code, found.place) == ("BID_SIGNATURE", f"events[{bid}] (seq {bid + 1})"), found


def resign(record: dict[str, Any], center: CenterKey) -> None:
    """What a dishonest center could do: sign new heads over a changed log."""
    sid = record["session_id"]
    leaves = [tl.leaf_hash(tl.leaf_bytes(sid, e["seq"], e["type"], e["event"])) for e in record["events"]]
    for head in record["tree_heads"]:
        head["root_hash"] = tl.root(leaves[:head["tree_size"]]).hex()
        head["signature"] = center.sign(tl.head_bytes(sid, head["tree_size"], head["root_hash"],
                                                      head["timestamp_us"])).hex()


async def test_the_monitor_waits_through_a_restart_and_checks_the_log_still_extends(
    server_factory: Callable[..., ServerProcess],
) -> None:
    """`auction-verify --monitor`: the server is killed mid-session and started again. The
    monitor says the server is away, waits, says it is back, checks the heads after the restart
    extend the ones before, and ends with the close (exit 0)."""
    server = server_factory(AUCTION_TREE_HEAD_SECONDS="0.2")
    server.start()
    async with Api(server) as api:
        s = await api.auction(bidders=2, start_in=2.0, countdown=30)
        (a, b) = s.bidders
        watcher = await WsClient.join(server.ws, s.id)
        monitor = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clients.verify", "--monitor", server.http, s.id, "--every", "0.2",
            "--until-closed", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert monitor.stdout is not None
        clients = [watcher]
        try:
            await wait_opened(watcher)
            first = await WsClient.join(server.ws, s.id, a.token)
            clients.append(first)
            ack = await first.bid(100 * WAN)
            assert ack["type"] == "ack", ack
            lines: list[str] = []
            while True:  # until the monitor has seen a head with the bid in it
                line = (await asyncio.wait_for(monitor.stdout.readline(), 60)).decode()
                assert line, "".join(lines) + (await monitor.communicate())[1].decode()  # it ended early
                lines.append(line)
                if line.startswith("head ") and int(line.split()[1]) >= ack["seq"]:
                    break

            server.kill()
            await close_all(*clients)
            await asyncio.sleep(1.0)  # a few polls find nobody
            server.start()
            second = await WsClient.join(server.ws, s.id, b.token)
            watcher = await WsClient.join(server.ws, s.id)
            clients = [second, watcher]
            assert (await second.bid(101 * WAN))["type"] == "ack"
            await api.post(f"/api/sessions/{s.id}/terminate", {"reason": "测试结束 / end of the test"})
            await watcher.wait_event("SessionTerminated", timeout=60)
        finally:
            await close_all(*clients)
        out, err = await asyncio.wait_for(monitor.communicate(), 120)
    text = "".join(lines) + out.decode()
    assert monitor.returncode == 0, text + err.decode()
    assert "the server cannot be reached, still watching" in text and "the server answers again" in text
    heads = [line for line in text.splitlines() if line.startswith("head ")]
    assert len(heads) >= 3 and all(h.endswith(" ok") for h in heads), text  # after the restart too
