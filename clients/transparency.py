"""The session transparency log's pure parts, shared by the server and `auction-verify`.

Standard library only, so a verifier can trust it without the server's code:

- a Merkle tree in the manner of Certificate Transparency (RFC 6962 2.1, RFC 9162 2.1):
  leaf hash SHA-256(0x00 || bytes), node hash SHA-256(0x01 || left || right), the
  tree's root, inclusion (audit) paths and consistency proofs, and their checks;
- the canonical bytes of a session's public event (a leaf), of a signed tree head
  and of a bid receipt: JSON with sorted keys, no spaces, UTF-8 (docs/protocol.md,
  "Transparency log");
- receipts signed in batches: one signature over the Merkle root of a batch of receipt
  statements, each receipt carrying its path to that root (`batch_paths`,
  `receipt_message`: what a receipt's signature covers, in either form).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 6962 2.1: the hash of an empty tree


def canonical(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, non-ASCII as is, UTF-8: the bytes that are hashed and signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 6962 2.1)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 6962 2.1.1): the audit path of leaf `index` (from 0) in the tree of `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 6962 2.1.2): that the tree of the first `first` leaves is a prefix."""
    n = len(leaves)
    if not 0 < first <= n:
        raise ValueError(f"no consistency proof from {first} to {n}")
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], whole) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def _climb(fn: int, sn: int) -> tuple[int, int]:
    """RFC 9162 2.1.3.2 and 2.1.4.2: right-shift both until LSB(fn) is set or fn is 0."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root the audit path leads to (RFC 9162 2.1.3.2), None if the path has the wrong shape."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _climb(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], expected_root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, path) == expected_root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: is the tree of size `first` with `first_root` a prefix of the one of `second`?"""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a node of the second
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _climb(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


def batch_paths(leaves: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root of the tree of `leaves` (leaf hashes) and every leaf's audit path, in one pass:
    n - 1 node hashes in all, where `inclusion_proof` for each leaf would cost O(n) each.

    Built bottom up, pairing neighbours and carrying a lone last node up unchanged: that is
    the same tree as RFC 6962's split at the largest power of two (so the paths are the ones
    `inclusion_proof` gives, and `root_from_inclusion` checks them)."""
    if not leaves:
        return EMPTY_ROOT, []
    level = list(leaves)
    paths: list[list[bytes]] = [[] for _ in level]
    members = [[i] for i in range(len(level))]  # the leaves under each node of the level
    while len(level) > 1:
        upper, above = [], []
        for j in range(0, len(level) - 1, 2):
            left, right = level[j], level[j + 1]
            for i in members[j]:
                paths[i].append(right)
            for i in members[j + 1]:
                paths[i].append(left)
            upper.append(node_hash(left, right))
            above.append(members[j] + members[j + 1])
        if len(level) % 2:
            upper.append(level[-1])
            above.append(members[-1])
        level, members = upper, above
    return level[0], paths


class Tree:
    """A growing tree: its leaf hashes, and the roots of its perfect subtrees (the frontier),
    so that appending a leaf and reading the root cost O(log n) hashes, never the whole tree."""

    __slots__ = ("leaves", "_frontier", "_root")

    def __init__(self) -> None:
        self.leaves: list[bytes] = []
        self._frontier: list[tuple[int, bytes]] = []  # (leaf count, root) of each perfect subtree, left to right
        self._root: bytes | None = None  # the root at this size, once asked for (every ack asks)

    @property
    def size(self) -> int:
        return len(self.leaves)

    def append(self, leaf: bytes) -> None:
        self.leaves.append(leaf)
        self._root = None
        count, node = 1, leaf
        while self._frontier and self._frontier[-1][0] == count:
            left_count, left = self._frontier.pop()
            count, node = left_count + count, node_hash(left, node)
        self._frontier.append((count, node))

    def root(self) -> bytes:
        if self._root is not None:
            return self._root
        if not self._frontier:
            return EMPTY_ROOT
        node = self._frontier[-1][1]
        for _, left in reversed(self._frontier[:-1]):
            node = node_hash(left, node)
        self._root = node
        return node


# ---------------------------------------------------------------------------
# what is hashed and signed


def _text(value: str) -> str:
    """A JSON string as `canonical` writes it (plain ASCII needs no escaping: the common case, fast)."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def leaf_bytes(session_id: str, seq: int, event_type: str, event: dict[str, Any]) -> bytes:
    """A public event as a leaf: its session, its public `seq` (leaf seq-1), its type and every
    field the log stores (as the public record lists them)."""
    if not (isinstance(session_id, str) and type(seq) is int and isinstance(event_type, str)):
        return canonical({"session_id": session_id, "seq": seq, "type": event_type, "event": event})
    return leaf_bytes_of(session_id, seq, event_type, canonical(event))


def leaf_bytes_of(session_id: str, seq: int, event_type: str, event_json: bytes) -> bytes:
    """`leaf_bytes` around the event's canonical bytes, already encoded (the server encodes each
    event once, for the log's payload and for its leaf): the same bytes, keys in sorted order."""
    return b"".join((b'{"event":', event_json, f',"seq":{seq},"session_id":{_text(session_id)},'
                     f'"type":{_text(event_type)}}}'.encode()))


def head_bytes(session_id: str, tree_size: int, root_hash: str, timestamp_us: int) -> bytes:
    """What the trading center signs for a tree head (`root_hash` in lowercase hex)."""
    return canonical({"kind": "tree_head", "session_id": session_id, "tree_size": tree_size,
                      "root_hash": root_hash, "timestamp_us": timestamp_us})


def bid_bytes(session_id: str, bidder_no: int, amount_fen: int, bid_id: str, last_seq: int | None) -> bytes:
    """What a bidder signs for a bid (a session with signed bids): the bid, and the last public
    `seq` the bidder had seen when it decided (its view of the order)."""
    return canonical({"kind": "bid", "session_id": session_id, "bidder_no": bidder_no, "amount_fen": amount_fen,
                      "bid_id": bid_id, "last_seq": last_seq})


def receipt_bytes(session_id: str, seq: int, leaf_hash_hex: str, tree_size: int, root_hash: str) -> bytes:
    """A bid receipt's statement: the bid's leaf at `seq`, in the tree of `tree_size` leaves with
    `root_hash`. (The canonical bytes, written out directly: the server makes one per ack.)"""
    if not (isinstance(session_id, str) and isinstance(leaf_hash_hex, str) and isinstance(root_hash, str)
            and type(seq) is int and type(tree_size) is int):
        return canonical({"kind": "receipt", "session_id": session_id, "seq": seq, "leaf_hash": leaf_hash_hex,
                          "tree_size": tree_size, "root_hash": root_hash})
    return (f'{{"kind":"receipt","leaf_hash":{_text(leaf_hash_hex)},"root_hash":{_text(root_hash)},"seq":{seq},'
            f'"session_id":{_text(session_id)},"tree_size":{tree_size}}}').encode()


def receipt_batch_bytes(root_hash: str, size: int) -> bytes:
    """What the trading center signs for a batch of receipts: the root (hex) of the Merkle tree
    whose leaves are the batch's statements (`leaf_hash(receipt_bytes(...))`, in batch order),
    and their number."""
    return canonical({"kind": "receipt_batch", "root_hash": root_hash, "size": size})


def receipt_message(session_id: str, receipt: Mapping[str, Any]) -> bytes:
    """What a receipt's `signature` covers (KeyError, TypeError or ValueError if it is malformed).

    - A receipt without `batch_path` (signed on its own, the first form): its statement,
      `receipt_bytes(...)`.
    - A receipt with `batch_index`, `batch_size` and `batch_path` (hex; signed with the other
      receipts of its batch): `receipt_batch_bytes(root, batch_size)`, where `root` is where the
      statement's leaf hash and its path lead (RFC 9162 2.1.3.2). A wrong path leads elsewhere,
      and the signature fails."""
    seq, size = int(receipt["seq"]), int(receipt["tree_size"])
    statement = receipt_bytes(session_id, seq, receipt["leaf_hash"], size, receipt["root_hash"])
    if "batch_path" not in receipt:
        return statement
    index, count, path = receipt["batch_index"], receipt["batch_size"], receipt["batch_path"]
    if type(index) is not int or type(count) is not int or not isinstance(path, list):
        raise TypeError("batch_index and batch_size are integers, batch_path a list")
    batch_root = root_from_inclusion(index, count, leaf_hash(statement), [bytes.fromhex(h) for h in path])
    if batch_root is None:
        raise ValueError("batch_path does not fit batch_index and batch_size")
    return receipt_batch_bytes(batch_root.hex(), count)
