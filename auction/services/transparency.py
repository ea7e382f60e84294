"""The session transparency log (docs/protocol.md, "Transparency log").

Each session's public events, in `pub_seq` order, are the leaves of a Merkle tree
(`clients/transparency.py`, RFC 6962 style): leaf `pub_seq - 1` is the canonical
bytes of the event as the log stores it. The tree is kept in memory, growing by
one leaf per committed public event (a hash and O(log n) more, never the whole
tree: `PublicAppended`, after the commit), and caught up from the log with what
a node has not seen (a restart, another node's appends).

Signed tree heads: the trading center's key signs (session, size, root, time)
off the bid path, in a task of its own: at once after a phase change (the open,
timed bidding, a suspension or resumption, the close), and at most
`tree_head_seconds` after bids. Each head is kept (`tree_heads`, append-only)
and sent to the session's watchers as a `tree_head` frame. Receipts: a bid's
ack carries the center's signed statement of (its leaf hash, seq, the tree's
size and root), so its bidder can later prove the bid was taken at that place.
The receipts asked for in one turn of the event loop (the acks after one group
commit) share one signature: over the Merkle root of their statements, each
receipt carrying its path to that root (`ReceiptBatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from auction.adapters.fanout.broker import Broker, Message
from auction.adapters.protocol import dumps
from auction.adapters.sealing.center_key import CenterKey
from auction.domain.codes import Code, Rejected
from auction.domain.bidding import events as ev
from auction.reactions import PublicAppended
from auction.store.events import EventStore, Recorded
from auction.store.transparency import heads as head_rows
from auction.store.transparency.heads import SignedHead
from clients import transparency as tl

log = logging.getLogger(__name__)

# After these, a head is signed at once: the tree at each change of phase is on record.
PHASE_EVENTS = (ev.SessionOpened, ev.OpenRefused, ev.TimedBiddingStarted, ev.SessionSuspended,
                ev.SessionResumed, ev.SessionClosed, ev.CloseHeld, ev.SessionTerminated)


# Called with a receipt as soon as it is signed.
Signed = Callable[[dict[str, Any]], None]


def leaf_of(r: Recorded) -> bytes:
    # The event's canonical bytes are the ones its append encoded for the log's payload.
    assert r.pub_seq is not None
    return tl.leaf_hash(tl.leaf_bytes_of(r.session_id, r.pub_seq, ev.event_type(r.event), r.payload()))


def head_view(head: SignedHead) -> dict[str, Any]:
    """A signed tree head as the API, the public record and the `tree_head` frame give it."""
    return {"session_id": head.session_id, "tree_size": head.tree_size, "root_hash": head.root_hash.hex(),
            "timestamp_us": head.timestamp_us, "key_id": head.key_id, "signature": head.signature.hex()}


class ReceiptBatch:
    """Receipts signed together: those asked for in one turn of the event loop (the acks
    that follow one group commit are all decided in the same turn) wait for the end of
    it, and one Ed25519 signature covers them all (`clients/transparency.py`
    `receipt_batch_bytes`: the Merkle root of their statements), each receipt carrying
    its place in the batch and its path to the root. One signature per batch, not per ack."""

    def __init__(self, key: CenterKey) -> None:
        self.key = key
        self._waiting: list[tuple[bytes, dict[str, Any], asyncio.Future[dict[str, Any]], Signed | None]] = []

    def sign(self, statement: bytes, receipt: dict[str, Any], then: Signed | None = None
             ) -> asyncio.Future[dict[str, Any]]:
        """`receipt` (its statement's fields) with the batch's fields and signature, once signed.
        `then` is called with it right at the signing, a turn of the loop before the future's
        waiter wakes (the ack goes out from there: bidder.py)."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._flush)  # after the callbacks of this turn: the others join
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiting.append((statement, receipt, done, then))
        return done

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            root, paths = tl.batch_paths([tl.leaf_hash(statement) for statement, _, _, _ in waiting])
            signature = self.key.sign(tl.receipt_batch_bytes(root.hex(), len(waiting))).hex()
        except Exception as e:  # each ack goes out without its receipt (bidder.py)
            for _, _, done, _ in waiting:
                if not done.done():
                    done.set_exception(e)
            return
        size = len(waiting)
        for index, ((_, receipt, done, then), path) in enumerate(zip(waiting, paths, strict=True)):
            if not done.done():  # its ack was cancelled meanwhile (the connection went away)
                receipt.update(signature=signature, batch_index=index, batch_size=size,
                               batch_path=[h.hex() for h in path])
                if then is not None:
                    try:
                        then(receipt)
                    except Exception:  # its waiter still gets the receipt, and answers as before
                        log.exception("a signed receipt's continuation failed")
                done.set_result(receipt)


class TransparencyLog:
    def __init__(self, store: EventStore, broker: Broker, key: CenterKey, clock: Callable[[], int], *,
                 head_seconds: float = 5.0) -> None:
        self.store = store
        self.pool = store.pool
        self.broker = broker
        self.key = key
        self.clock = clock
        self.head_seconds = head_seconds
        self._trees: dict[str, tl.Tree] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}  # session -> (when, its timer)
        self._tasks: set[asyncio.Task[None]] = set()
        self._receipts = ReceiptBatch(key)

    # ------------------------------------------------------------------
    # the tree

    def appended(self, e: PublicAppended) -> None:
        """Committed events (the reaction to `PublicAppended`): their leaves, and a head due."""
        tree = self._trees.get(e.session_id)
        phase_change = bids = False
        for r in e.recorded:
            if r.pub_seq is None:
                continue
            if tree is not None and tree.size == r.pub_seq - 1:
                tree.append(leaf_of(r))
            # else: another node appended in between (or the tree was never read here): `tree()`
            # reads what is missing from the log when it is next needed, from where this one stops.
            phase_change = phase_change or isinstance(r.event, PHASE_EVENTS)
            bids = bids or isinstance(r.event, ev.BidAccepted)
        if phase_change:
            self._due(e.session_id, 0.0)
        elif bids and e.session_id not in self._timers:  # a head already due comes within head_seconds
            self._due(e.session_id, self.head_seconds)

    async def tree(self, session_id: str, at_least: int = 0) -> tl.Tree:
        """The session's tree with at least `at_least` leaves (read from the log if need be)."""
        tree = self._trees.get(session_id)
        if tree is not None and tree.size >= at_least:
            return tree
        async with self._locks.setdefault(session_id, asyncio.Lock()):
            tree = self._trees.get(session_id) or tl.Tree()
            while True:
                batch = await self.store.load_public(session_id, tree.size)
                # Leaves may have arrived while reading (`appended`): take only what follows.
                for r in batch:
                    if r.pub_seq is not None and r.pub_seq == tree.size + 1:
                        tree.append(leaf_of(r))
                if len(batch) < 10_000:
                    break
            self._trees[session_id] = tree
        if tree.size < at_least:
            raise Rejected(Code.INVALID_FIELD, "beyond the log's end", field="tree_size", tree_size=tree.size)
        return tree

    async def receipt(self, session_id: str, seq: int, then: Signed | None = None) -> dict[str, Any]:
        """The signed receipt of the public event `seq` (a bid's ack): its leaf hash in the
        tree as it stands, whose size (at least `seq`) and root it names; signed with the
        other receipts of this turn (`ReceiptBatch`, which also calls `then`)."""
        tree = await self.tree(session_id, seq)
        leaf, size, root = tree.leaves[seq - 1].hex(), tree.size, tree.root().hex()
        receipt = {"seq": seq, "leaf_hash": leaf, "tree_size": size, "root_hash": root, "key_id": self.key.key_id}
        return await self._receipts.sign(tl.receipt_bytes(session_id, seq, leaf, size, root), receipt, then)

    # ------------------------------------------------------------------
    # proofs

    async def inclusion(self, session_id: str, seq: int, tree_size: int) -> dict[str, Any]:
        if not 0 < seq <= tree_size:
            raise Rejected(Code.INVALID_FIELD, "1 <= seq <= tree_size", field="seq")
        leaves = (await self.tree(session_id, tree_size)).leaves[:tree_size]
        return {"session_id": session_id, "seq": seq, "leaf_index": seq - 1, "tree_size": tree_size,
                "leaf_hash": leaves[seq - 1].hex(), "root_hash": tl.root(leaves).hex(),
                "audit_path": [h.hex() for h in tl.inclusion_proof(seq - 1, leaves)]}

    async def consistency(self, session_id: str, first: int, second: int) -> dict[str, Any]:
        if not 0 < first <= second:
            raise Rejected(Code.INVALID_FIELD, "1 <= first <= second", field="first")
        leaves = (await self.tree(session_id, second)).leaves[:second]
        return {"session_id": session_id, "first": first, "second": second,
                "first_root": tl.root(leaves[:first]).hex(), "second_root": tl.root(leaves).hex(),
                "proof": [h.hex() for h in tl.consistency_proof(first, leaves)]}

    # ------------------------------------------------------------------
    # signed heads

    async def heads(self, session_id: str) -> list[SignedHead]:
        return await head_rows.of_session(self.pool, session_id)

    async def sign_head(self, session_id: str) -> SignedHead | None:
        """Sign the tree as it stands now, keep the head and send it to the watchers (None: empty tree)."""
        tree = await self.tree(session_id)
        if tree.size == 0:
            return None
        size, root, now = tree.size, tree.root(), self.clock()
        signature = self.key.sign(tl.head_bytes(session_id, size, root.hex(), now))
        head = await head_rows.insert(self.pool, SignedHead(session_id, size, root, now, self.key.key_id, signature))
        await self.broker.publish([Message(session_id, 0, dumps({"type": "tree_head", **head_view(head)}))])
        return head

    async def latest_head(self, session_id: str) -> SignedHead | None:
        """A head over the whole log as it stands (signed now if the last one is older)."""
        tree = await self.tree(session_id)
        kept = await head_rows.of_size(self.pool, session_id, tree.size) if tree.size else None
        return kept if kept is not None else await self.sign_head(session_id)

    def _due(self, session_id: str, delay: float) -> None:
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._timers.get(session_id)
        if pending is not None:
            if pending[0] <= when:
                return  # a head comes sooner anyway
            pending[1].cancel()
        self._timers[session_id] = (when, loop.call_at(when, self._fire, session_id))

    def _fire(self, session_id: str) -> None:
        self._timers.pop(session_id, None)
        task = asyncio.get_running_loop().create_task(self._sign_logged(session_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sign_logged(self, session_id: str) -> None:
        try:
            await self.sign_head(session_id)
        except Exception:  # the next change signs again; a head is never owed to anyone's ack
            log.exception("signing a tree head of %s failed", session_id)

    async def stop(self) -> None:
        for _, timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
