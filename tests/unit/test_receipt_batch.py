"""Receipts signed once per batch (auction/services/transparency.py `ReceiptBatch`) and what a
receipt's signature covers in either form (clients/transparency.py `receipt_message`): each
receipt of a batch verifies on its own with the center's public key, as do receipts signed one
by one before batches (docs/protocol.md section 9)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auction.adapters.sealing.center_key import CenterKey
from auction.services.transparency import ReceiptBatch
from clients import transparency as tl

SESSION = "S-BATCH1"


def statement(seq: int, size: int = 40) -> tuple[bytes, dict[str, Any]]:
    leaf, root = tl.leaf_hash(b"bid %d" % seq).hex(), tl.leaf_hash(b"root %d" % size).hex()
    receipt = {"seq": seq, "leaf_hash": leaf, "tree_size": size, "root_hash": root, "key_id": "k"}
    return tl.receipt_bytes(SESSION, seq, leaf, size, root), receipt


def holds(public: Ed25519PublicKey, receipt: dict[str, Any], session_id: str = SESSION) -> bool:
    try:
        public.verify(bytes.fromhex(receipt["signature"]), tl.receipt_message(session_id, receipt))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True


async def signed_together(key: CenterKey, seqs: list[int]) -> list[dict[str, Any]]:
    batch = ReceiptBatch(key)
    return list(await asyncio.gather(*(batch.sign(*statement(s)) for s in seqs)))


@pytest.fixture
def key() -> CenterKey:
    return CenterKey(Ed25519PrivateKey.generate())


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 33])
def test_receipts_asked_for_in_one_turn_share_one_signature(key: CenterKey, count: int) -> None:
    receipts = asyncio.run(signed_together(key, list(range(1, count + 1))))
    assert len({r["signature"] for r in receipts}) == 1
    assert [(r["batch_index"], r["batch_size"]) for r in receipts] == [(i, count) for i in range(count)]
    public = Ed25519PublicKey.from_public_bytes(key.public)
    assert all(holds(public, r) for r in receipts)


def test_turns_are_batches_of_their_own(key: CenterKey) -> None:
    async def two_turns() -> tuple[dict[str, Any], dict[str, Any]]:
        batch = ReceiptBatch(key)
        first = await batch.sign(*statement(1))
        return first, await batch.sign(*statement(2))

    first, second = asyncio.run(two_turns())
    assert first["batch_size"] == second["batch_size"] == 1 and first["signature"] != second["signature"]


def test_a_changed_receipt_or_path_fails(key: CenterKey) -> None:
    receipts = asyncio.run(signed_together(key, [1, 2, 3, 4, 5]))
    public = Ed25519PublicKey.from_public_bytes(key.public)
    for change in (
        lambda r: r.update(seq=r["seq"] + 1),
        lambda r: r.update(tree_size=r["tree_size"] + 1),
        lambda r: r.update(leaf_hash=receipts[0]["leaf_hash"]),
        lambda r: r.update(batch_index=0),  # another place in the batch
        lambda r: r.update(batch_path=list(reversed(r["batch_path"]))),
        lambda r: r.update(batch_path=r["batch_path"][:-1]),  # malformed: leads nowhere
        lambda r: r.update(batch_size="5"),
        lambda r: r.pop("batch_path"),  # read as a receipt signed on its own: not what was signed
    ):
        changed = copy.deepcopy(receipts[2])
        change(changed)
        assert not holds(public, changed)
    assert not holds(public, receipts[2], session_id="S-OTHER")


def test_a_receipt_signed_on_its_own_still_verifies(key: CenterKey) -> None:
    message, receipt = statement(9)
    receipt["signature"] = key.sign(message).hex()
    assert tl.receipt_message(SESSION, receipt) == message
    assert holds(Ed25519PublicKey.from_public_bytes(key.public), receipt)


def test_an_ack_cancelled_while_waiting_leaves_the_others_signed(key: CenterKey) -> None:
    async def one_cancelled() -> list[dict[str, Any]]:
        batch = ReceiptBatch(key)
        waiting = [batch.sign(*statement(s)) for s in (1, 2, 3)]
        waiting[1].cancel()
        return [await waiting[0], await waiting[2]]

    receipts = asyncio.run(one_cancelled())
    public = Ed25519PublicKey.from_public_bytes(key.public)
    assert all(holds(public, r) for r in receipts) and receipts[0]["batch_size"] == 3


def test_then_gets_each_signed_receipt_at_the_signing_before_its_waiter_wakes(key: CenterKey) -> None:
    """The ack is written from `then` (auction/entrypoints/ws/bidder.py), a turn of the loop
    before the bid's task would wake: it must already carry the batch's signature."""
    async def signed() -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
        batch = ReceiptBatch(key)
        seen: list[tuple[str, dict[str, Any]]] = []

        async def ask(seq: int) -> dict[str, Any]:
            receipt = await batch.sign(*statement(seq), then=lambda r: seen.append(("then", dict(r))))
            seen.append(("woke", receipt))
            return receipt

        return seen, list(await asyncio.gather(ask(1), ask(2)))

    seen, receipts = asyncio.run(signed())
    assert [what for what, _ in seen] == ["then", "then", "woke", "woke"]
    assert [r for what, r in seen if what == "then"] == receipts
    public = Ed25519PublicKey.from_public_bytes(key.public)
    assert all(holds(public, r) for r in receipts)


def test_a_failing_then_still_answers_its_waiter(key: CenterKey) -> None:
    def fails(receipt: dict[str, Any]) -> None:
        raise RuntimeError("the connection went away")

    async def signed() -> dict[str, Any]:
        return await ReceiptBatch(key).sign(*statement(1), then=fails)

    receipt = asyncio.run(signed())
    assert holds(Ed25519PublicKey.from_public_bytes(key.public), receipt)
