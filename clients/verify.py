"""`auction-verify`: check an ended session's public record on your own machine.

    auction-verify RECORD [--receipts FILE] [--key HEX]
    auction-verify --monitor BASE_URL SESSION_ID [--key HEX] [--every SECONDS] [--until-closed]

RECORD is the JSON from `GET /public/sessions/{id}/record.json`, a file or that URL.
Standard library and `cryptography` only: nothing of the server's code is trusted.
In order, it checks the events' numbering, every signed tree head (the center's
signature and the root the events give), the reserve against its commitment, the
committee's signatures over the reserve decision (Q26), the bid receipts given
(in the record's `receipts`, or `--receipts`: the file `auction-bidder` keeps),
and replays the published rules to recompute the outcome. It prints the first
discrepancy with its place and exits 1, or one line saying the record holds (0).
Exit 2: the record could not be read. The monitor follows a live session's heads
and checks that each new one extends the last (a consistency proof), exit 1 if not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from clients import transparency as tl
from clients.verify_rules import Replay, RuleBroken, commitment_of

EXIT_OK, EXIT_DISCREPANCY, EXIT_UNREADABLE = 0, 1, 2


class Discrepancy(Exception):
    """What does not hold: `code` names the check, `place` where in the record."""

    def __init__(self, code: str, place: str, detail: str) -> None:
        self.code, self.place, self.detail = code, place, detail
        super().__init__(f"{code} at {place}: {detail}")


def _signed(public: bytes, signature_hex: Any, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def wan(fen: int | None) -> str:
    if fen is None:
        return "-"
    return f"{Decimal(fen) / Decimal(1_000_000):,f} 万元"


class Verifier:
    def __init__(self, record: dict[str, Any], *, key: bytes | None = None,
                 receipts: Sequence[dict[str, Any]] = ()) -> None:
        self.record = record
        self.pinned_key = key
        self.receipts = list(receipts) + list(record.get("receipts") or [])
        self.leaves: list[bytes] = []

    def run(self) -> str:
        r = self.record
        for name in ("session_id", "terms", "events", "tree_heads", "transparency", "reserve", "outcome"):
            if name not in r:
                raise Discrepancy("RECORD_INCOMPLETE", name, "missing from the record")
        self.session_id: str = r["session_id"]
        self.public = self._key()
        self._events()
        self._heads()
        self._bid_signatures()
        self._reserve()
        self._committee()
        self._receipts()
        replay = self._replay()
        return self._verdict(replay)

    def _key(self) -> bytes:
        t = self.record["transparency"]
        try:
            public = bytes.fromhex(t["public_key"])
            Ed25519PublicKey.from_public_bytes(public)
        except (KeyError, ValueError, TypeError):
            raise Discrepancy("CENTER_KEY", "transparency.public_key", "not an Ed25519 public key") from None
        if self.pinned_key is not None and public != self.pinned_key:
            raise Discrepancy("CENTER_KEY", "transparency.public_key",
                              "not the key you gave (--key): the record was signed by another key")
        return public

    def _events(self) -> None:
        events = self.record["events"]
        for i, e in enumerate(events):
            place = f"events[{i}]"
            if not isinstance(e, dict) or not {"seq", "type", "event"} <= e.keys():
                raise Discrepancy("EVENT_MALFORMED", place, "an event needs seq, type and event")
            if e["seq"] != i + 1:
                what = "missing" if isinstance(e["seq"], int) and e["seq"] > i + 1 else "out of order"
                raise Discrepancy("EVENT_SEQUENCE", place,
                                  f"seq {i + 1} expected, {e['seq']!r} found: an event is {what}")
            self.leaves.append(tl.leaf_hash(tl.leaf_bytes(self.session_id, e["seq"], e["type"], e["event"])))
        if not events or events[0]["type"] != "SessionCreated":
            raise Discrepancy("EVENT_SEQUENCE", "events[0]", "the log starts with the session's creation")
        if events[0]["event"].get("terms") != self.record["terms"]:
            raise Discrepancy("TERMS", "terms", "not the terms the log's first event holds")

    def _heads(self) -> None:
        heads = self.record["tree_heads"]
        n, matched, last_size, last_time = len(self.leaves), 0, 0, 0
        if not heads:
            raise Discrepancy("TREE_HEAD_MISSING", "tree_heads", "no signed tree head")
        for k, h in enumerate(heads):
            place = f"tree_heads[{k}] (size {h.get('tree_size')})"
            try:
                size, root, stamp = int(h["tree_size"]), str(h["root_hash"]), int(h["timestamp_us"])
                message = tl.head_bytes(str(h["session_id"]), size, root, stamp)
            except (KeyError, TypeError, ValueError):
                raise Discrepancy("TREE_HEAD_MALFORMED", place, "a head needs its size, root, time and signature") \
                    from None
            if h["session_id"] != self.session_id:
                raise Discrepancy("TREE_HEAD_SESSION", place, f"a head of another session ({h['session_id']})")
            if not _signed(self.public, h.get("signature"), message):
                raise Discrepancy("TREE_HEAD_SIGNATURE", place, "the center's signature does not verify")
            if size <= last_size or stamp < last_time:
                raise Discrepancy("TREE_HEAD_ORDER", place, "heads must grow in size and time")
            if size > n:
                raise Discrepancy("TREE_HEAD_BEYOND_EVENTS", place,
                                  f"signed over {size} events; the record has {n}: events were dropped")
            if tl.root(self.leaves[:size]).hex() != root:
                raise Discrepancy("TREE_HEAD_ROOT", place,
                                  f"the events do not give the signed root: an event in seq {matched + 1}..{size} "
                                  "was changed, dropped, added or moved")
            matched, last_size, last_time = size, size, stamp
        if last_size != n:
            raise Discrepancy("TREE_HEAD_MISSING", f"events[{last_size}]",
                              f"no signed head covers seq {last_size + 1}..{n}")

    def _bid_signatures(self) -> None:
        """Signed bids: each signature by the bidder's registered key over (session, bidder number,
        amount, bid_id, last_seq); in a session whose rules require them, every bid has one."""
        keys: dict[int, bytes] = {}
        for i, k in enumerate(self.record.get("bidder_keys") or []):
            try:
                keys[int(k["bidder_no"])] = bytes.fromhex(k["public_key"])
            except (KeyError, TypeError, ValueError):
                raise Discrepancy("BIDDER_KEY", f"bidder_keys[{i}]", "a key needs bidder_no and public_key") from None
        required = bool(self.record["terms"].get("rules", {}).get("signed_bids"))
        for i, e in enumerate(self.record["events"]):
            if e["type"] != "BidAccepted":
                continue
            bid, place = e["event"], f"events[{i}] (seq {e['seq']})"
            if bid.get("signature") is None:
                if required:
                    raise Discrepancy("BID_SIGNATURE", place, "an unsigned bid in a session of signed bids")
                continue
            public = keys.get(bid.get("bidder_no"))
            if public is None:
                raise Discrepancy("BID_SIGNATURE", place, f"no key of bidder {bid.get('bidder_no')} in bidder_keys")
            message = tl.bid_bytes(self.session_id, bid["bidder_no"], bid["amount"], bid["bid_id"],
                                   bid.get("client_seq"))
            if not _signed(public, bid["signature"], message):
                raise Discrepancy("BID_SIGNATURE", place, "the bidder's signature does not verify")
            if isinstance(bid.get("client_seq"), int) and bid["client_seq"] >= e["seq"]:
                raise Discrepancy("BID_SIGNATURE", place, "signed over a view of the log after the bid itself")

    def _closed(self) -> dict[str, Any] | None:
        last = self.record["events"][-1]
        return last["event"] if last["type"] == "SessionClosed" else None

    def _reserve(self) -> None:
        reserve, closed = self.record["reserve"], self._closed()
        if not reserve.get("has_reserve"):
            return
        amount, salt, commitment = reserve.get("amount_fen"), reserve.get("salt"), reserve.get("commitment")
        if closed is None:
            return  # terminated or held: the reserve stays sealed
        if not isinstance(amount, int) or not isinstance(salt, str) or commitment_of(amount, salt) != commitment:
            raise Discrepancy("RESERVE_COMMITMENT", "reserve",
                              "SHA-256 of the revealed amount and salt is not the commitment: "
                              "reserve.amount_fen or reserve.salt was changed")
        if (closed.get("reserve"), closed.get("reserve_salt")) != (amount, salt):
            raise Discrepancy("RESERVE_NOT_AS_CLOSED", "reserve", "not the reserve the close revealed")

    def _committee(self) -> None:
        c = self.record.get("committee")
        if c is None:
            return
        record = c.get("decision_record")
        if not isinstance(record, str):
            raise Discrepancy("COMMITTEE_RECORD", "committee.decision_record", "missing")
        decision = json.loads(record)
        reserve = self.record["reserve"]
        if decision.get("commitment") != reserve.get("commitment") or \
                decision.get("has_reserve") != bool(reserve.get("has_reserve")):
            raise Discrepancy("COMMITTEE_RECORD", "committee.decision_record",
                              "the committee decided another reserve commitment than the session's")
        signed = {}
        for i, s in enumerate(c.get("signatures") or []):
            try:
                public = bytes.fromhex(s["public_key"])
            except (KeyError, ValueError, TypeError):
                raise Discrepancy("COMMITTEE_SIGNATURE", f"committee.signatures[{i}]", "no public key") from None
            if not _signed(public, s.get("signature"), record.encode("utf-8")):
                raise Discrepancy("COMMITTEE_SIGNATURE", f"committee.signatures[{i}] ({s.get('member_id')})",
                                  "the member's signature over the decision record does not verify")
            signed[s.get("member_id")] = True
        missing = [m for m in decision.get("members", []) if m not in signed]
        if missing:
            raise Discrepancy("COMMITTEE_SIGNATURE", "committee.signatures", f"no signature of {', '.join(missing)}")

    def _receipts(self) -> None:
        for i, rc in enumerate(self.receipts):
            place = f"receipts[{i}] (seq {rc.get('seq')})"
            try:
                seq, size = int(rc["seq"]), int(rc["tree_size"])
                # Signed on its own, or with its batch (batch_index, batch_size, batch_path): both forms.
                message = tl.receipt_message(self.session_id, rc)
            except (KeyError, TypeError, ValueError):
                raise Discrepancy("RECEIPT_MALFORMED", place, "a receipt needs seq, leaf_hash, tree_size, root_hash "
                                  "(and, signed in a batch, batch_index, batch_size, batch_path)") from None
            if not _signed(self.public, rc.get("signature"), message):
                raise Discrepancy("RECEIPT_SIGNATURE", place, "the center's signature does not verify")
            if not 0 < seq <= size <= len(self.leaves):
                raise Discrepancy("RECEIPT_NOT_IN_LOG", place, "beyond the record's events")
            if self.leaves[seq - 1].hex() != rc["leaf_hash"]:
                raise Discrepancy("RECEIPT_NOT_IN_LOG", place, "the log's event at this seq is not the one receipted")
            if tl.root(self.leaves[:size]).hex() != rc["root_hash"]:
                raise Discrepancy("RECEIPT_NOT_IN_LOG", place, "the log's history differs from the receipted one")

    def _replay(self) -> Replay:
        replay = Replay()
        for e in self.record["events"]:
            try:
                replay.apply(e["seq"], e["type"], e["event"])
            except RuleBroken as b:
                raise Discrepancy("RULES", f"events[{b.seq - 1}] (seq {b.seq}, {b.rule})", b.detail) from None
            except (KeyError, TypeError) as x:
                raise Discrepancy("EVENT_MALFORMED", f"events[{e['seq'] - 1}]", f"missing field {x}") from None
        if self.record["reserve"].get("commitment") != replay.commitment:
            raise Discrepancy("RESERVE_COMMITMENT", "reserve.commitment", "not the commitment the log published")
        o = self.record["outcome"]
        closed = replay.closed or {}
        computed = {"phase": replay.phase, "outcome": closed.get("outcome"), "reason": replay.end_reason,
                    "winner_bidder_no": closed.get("winner_bidder_no"), "price_fen": closed.get("price"),
                    "bid_count": replay.bids}
        for name, value in computed.items():
            if o.get(name) != value:
                raise Discrepancy("OUTCOME", f"outcome.{name}", f"the record says {o.get(name)!r}, "
                                  f"the replayed rules give {value!r}")
        return replay

    def _verdict(self, replay: Replay) -> str:
        c = replay.closed
        heads = len(self.record["tree_heads"])
        if c is not None and c["outcome"] == "SOLD":
            result = f"成交 SOLD to bidder {c['winner_bidder_no']} at {wan(c['price'])}"
        elif c is not None:
            result = f"流拍 UNSOLD ({c['reason']})"
        else:
            result = f"{replay.phase} ({replay.end_reason})"
        receipts = f", {len(self.receipts)} receipts" if self.receipts else ""
        return (f"一致 VERIFIED {self.session_id}: {len(self.leaves)} events, {heads} signed heads{receipts}, "
                f"{replay.bids} bids; {result}")


def verify(record: dict[str, Any], *, key: bytes | None = None, receipts: Sequence[dict[str, Any]] = ()) -> str:
    """The one-line verdict, or `Discrepancy` (the first thing that does not hold)."""
    try:
        return Verifier(record, key=key, receipts=receipts).run()
    except Discrepancy:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as x:
        raise Discrepancy("RECORD_MALFORMED", "record", f"{type(x).__name__}: {x}") from None


def _read(source: str) -> Any:
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 (the user's URL)
                return json.load(response)
        except urllib.error.HTTPError as refused:  # the server's refusal has a body that says why
            try:
                return json.load(refused)
            except ValueError:
                raise refused from None
    return json.loads(Path(source).read_text(encoding="utf-8"))


def refusal(document: dict[str, Any]) -> str | None:
    """What the server said, when `document` is its refusal instead of a record (the standard
    error body, docs/protocol.md), e.g. RECORD_NOT_FINAL for a session that has not ended."""
    error = document.get("error")
    if "session_id" in document or not isinstance(error, dict):
        return None
    return f"{error.get('code')}: {error.get('message')}"


# ---------------------------------------------------------------------------
# monitor: follow a live session's heads


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        return json.load(response)


def monitor(base: str, session_id: str, *, key: bytes | None, every: float, until_closed: bool,
            heads: int | None = None, out: Any = sys.stdout) -> int:
    """Poll the session's latest signed head; check each new one's signature and that it
    extends the one before (RFC 6962 consistency proof). Returns the exit code.

    A server that goes away meanwhile (restarting: no connection, a timeout, a 5xx) is waited
    for, said once per outage; the next head it shows must still extend the last one seen."""
    base = base.rstrip("/")
    published = _get(f"{base}/public/transparency/key")
    public = bytes.fromhex(published["public_key"])
    if key is not None and public != key:
        print(f"不一致 DISCREPANCY CENTER_KEY: the server's key {published['key_id']} is not the one given", file=out)
        return EXIT_DISCREPANCY
    last: dict[str, Any] | None = None
    seen = 0
    away = False
    while True:
        try:
            head = _get(f"{base}/public/sessions/{session_id}/tree-heads")["latest"]
            if head is not None and last is not None and head["tree_size"] == last["tree_size"] \
                    and head["root_hash"] != last["root_hash"]:
                print(f"不一致 DISCREPANCY TREE_HEAD_CONSISTENCY at size {head['tree_size']}: another root for "
                      "the same log size, the log was rewritten", file=out)
                return EXIT_DISCREPANCY
            if head is not None and (last is None or head["tree_size"] != last["tree_size"]):
                message = tl.head_bytes(session_id, head["tree_size"], head["root_hash"], head["timestamp_us"])
                if not _signed(public, head["signature"], message):
                    print(f"不一致 DISCREPANCY TREE_HEAD_SIGNATURE at size {head['tree_size']}", file=out)
                    return EXIT_DISCREPANCY
                if last is not None and not consistent(base, session_id, last, head):
                    print(f"不一致 DISCREPANCY TREE_HEAD_CONSISTENCY from size {last['tree_size']} to "
                          f"{head['tree_size']}: the log was rewritten", file=out)
                    return EXIT_DISCREPANCY
                print(f"head {head['tree_size']} {head['root_hash']} ok", file=out, flush=True)
                last, seen = head, seen + 1
            closed = until_closed and _record_published(base, session_id)
        except (OSError, http.client.HTTPException) as x:  # HTTPException: an answer cut off mid-way
            if isinstance(x, OSError) and not _away(x):
                raise
            if not away:
                print(f"服务器暂不可达，继续等待 / the server cannot be reached, still watching: {x}", file=out,
                      flush=True)
                away = True
            time.sleep(every)
            continue
        if away:
            print("服务器已恢复 / the server answers again", file=out, flush=True)
            away = False
        if (heads is not None and seen >= heads) or closed:
            return EXIT_OK
        time.sleep(every)


def _away(x: OSError) -> bool:
    """The server is away for now (restarting): no connection, a timeout, or a 5xx answer."""
    if isinstance(x, urllib.error.HTTPError):
        return x.code >= 500
    return True


def _record_published(base: str, session_id: str) -> bool:
    try:
        _get(f"{base}/public/sessions/{session_id}/record.json")
        return True
    except urllib.error.HTTPError as x:
        if x.code >= 500:
            raise
        return False  # 409 RECORD_NOT_FINAL: the session has not ended


def consistent(base: str, session_id: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Does the log at `new` extend the log at `old` (the server's proof, checked here)?"""
    first, second = old["tree_size"], new["tree_size"]
    if first > second:
        return False
    proof = _get(f"{base}/public/sessions/{session_id}/proof/consistency?first={first}&second={second}")
    return tl.verify_consistency(first, second, bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"]),
                                 [bytes.fromhex(p) for p in proof["proof"]])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auction-verify", description="检查一场交易的公开记录 / "
                                     "check a session's public record without trusting the server")
    parser.add_argument("record", nargs="?", help="the public record: a file or its URL")
    parser.add_argument("--receipts", help="a JSON file of bid receipts (a list, or {receipts: [...]})")
    parser.add_argument("--key", help="the center's published public key (hex) to pin")
    parser.add_argument("--monitor", nargs=2, metavar=("BASE_URL", "SESSION_ID"),
                        help="follow a live session's signed heads and check each extends the last")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between polls (monitor)")
    parser.add_argument("--until-closed", action="store_true", help="stop once the record is published (monitor)")
    parser.add_argument("--heads", type=int, help="stop after this many new heads (monitor)")
    args = parser.parse_args(argv)
    try:
        key = bytes.fromhex(args.key) if args.key else None
    except ValueError:
        parser.error("--key: hex digits")
    if args.monitor:
        try:
            return monitor(*args.monitor, key=key, every=args.every, until_closed=args.until_closed,
                           heads=args.heads)
        except (OSError, ValueError, KeyError, http.client.HTTPException) as x:
            print(f"无法读取 / cannot read: {x}", file=sys.stderr)
            return EXIT_UNREADABLE
    if not args.record:
        parser.error("a record (file or URL), or --monitor")
    try:
        record = _read(args.record)
        receipts: list[dict[str, Any]] = []
        if args.receipts:
            given = _read(args.receipts)
            receipts = given.get("receipts", []) if isinstance(given, dict) else given
    except (OSError, ValueError) as x:
        print(f"无法读取 / cannot read: {x}", file=sys.stderr)
        return EXIT_UNREADABLE
    if not isinstance(record, dict):
        print("无法读取 / cannot read: not a public record (a JSON object)", file=sys.stderr)
        return EXIT_UNREADABLE
    refused = refusal(record)
    if refused is not None:
        print(f"无法读取 / cannot read: the server sent a refusal, not a record: {refused}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        print(verify(record, key=key, receipts=receipts))
    except Discrepancy as d:
        print(f"不一致 DISCREPANCY {d.code} at {d.place}: {d.detail}")
        return EXIT_DISCREPANCY
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
