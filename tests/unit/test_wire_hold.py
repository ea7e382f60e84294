"""A bidder's own accepted bid and its ack leave in one socket write (auction/entrypoints/ws/bidder.py
`Wire.hold` / `release`, `Peer.deliver`, `Peer.send_now`): the frames keep their order, nothing
held is lost, and only the connection whose bid it is holds anything."""

from __future__ import annotations

from typing import Any

from auction.adapters.fanout.broker import Message, text_frame
from auction.entrypoints.http.lean_ws import Flag
from auction.entrypoints.ws.bidder import Peer, Wire


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing


class Proto:
    def __init__(self) -> None:
        self.transport = Transport()
        self.writable = Flag(True)
        self.close_sent = False
        self.disconnected = False


def peer(bidder_no: int | None, last_sent: int = 0) -> tuple[Peer, Transport]:
    proto = Proto()
    p = Peer("S-1", bidder_no, last_sent, wire=Wire(proto), live=True)
    return p, proto.transport


def event(seq: int, bid: tuple[int, str] | None = None) -> Message:
    return Message("S-1", seq, f'{{"type":"event","seq":{seq}}}', bid=bid)


def frames(*texts: str) -> bytes:
    return b"".join(text_frame(t) for t in texts)


def test_the_own_bid_event_waits_for_the_ack_and_both_go_in_one_write() -> None:
    p, transport = peer(7)
    p.bidding = "b-1"
    assert p.deliver(event(1, bid=(7, "b-1")))
    assert p.deliver(event(2))  # whatever comes meanwhile keeps its place
    assert transport.writes == [] and p.last_sent == 2
    assert p.send_now('{"type":"ack","seq":1}')
    assert transport.writes == [frames(event(1).text, event(2).text, '{"type":"ack","seq":1}')]
    assert p.deliver(event(3))  # released: written at once again
    assert transport.writes[-1] == text_frame(event(3).text)


def test_nothing_is_held_but_for_the_bid_this_connection_has_in_flight() -> None:
    other, other_writes = peer(8)
    other.bidding = "b-9"
    watcher, watcher_writes = peer(None)
    idle, idle_writes = peer(7)  # the same bidder on a second connection, not bidding on it
    busy, busy_writes = peer(7)  # ... or bidding another bid of its own there
    busy.bidding = "b-2"
    for p in (other, watcher, idle, busy):
        assert p.deliver(event(1, bid=(7, "b-1")))
    once = [text_frame(event(1).text)]
    assert other_writes.writes == watcher_writes.writes == idle_writes.writes == busy_writes.writes == once


def test_a_reply_sent_the_slow_way_still_releases_what_was_held_first() -> None:
    p, transport = peer(7)
    p.bidding = "b-1"
    p.deliver(event(1, bid=(7, "b-1")))
    assert p.wire is not None
    p.wire.release()  # as `Peer.send` does before its own send, and `_read` once the bid is answered
    assert transport.writes == [text_frame(event(1).text)]


def test_a_closing_connection_gets_nothing_more() -> None:
    for closing in ("transport", "close_sent", "disconnected"):
        p, transport = peer(7)
        p.bidding = "b-1"
        p.deliver(event(1, bid=(7, "b-1")))
        wire = p.wire
        assert wire is not None
        if closing == "transport":
            transport.closing = True
        else:
            setattr(wire.proto, closing, True)  # our Close is sent (no data frame may follow), or the peer left
        wire.release(text_frame("{}"))
        assert transport.writes == [] and wire.held is None, closing


def test_release_with_nothing_held_is_one_plain_write() -> None:
    wire = Wire(Proto())
    transport: Any = wire.transport
    wire.release(b"x")
    wire.release()
    assert transport.writes == [b"x"]
