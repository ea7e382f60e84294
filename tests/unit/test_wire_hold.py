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


def event(seq: int, bidder_no: int | None = None) -> Message:
    return Message("S-1", seq, f'{{"type":"event","seq":{seq}}}', bidder_no=bidder_no)


def frames(*texts: str) -> bytes:
    return b"".join(text_frame(t) for t in texts)


def test_the_own_bid_event_waits_for_the_ack_and_both_go_in_one_write() -> None:
    p, transport = peer(7)
    p.bidding = True
    assert p.deliver(event(1, bidder_no=7))
    assert p.deliver(event(2))  # whatever comes meanwhile keeps its place
    assert transport.writes == [] and p.last_sent == 2
    assert p.send_now('{"type":"ack","seq":1}')
    assert transport.writes == [frames(event(1).text, event(2).text, '{"type":"ack","seq":1}')]
    assert p.deliver(event(3))  # released: written at once again
    assert transport.writes[-1] == text_frame(event(3).text)


def test_nothing_is_held_for_another_bidder_or_without_a_bid_in_flight() -> None:
    other, other_writes = peer(8)
    other.bidding = True
    watcher, watcher_writes = peer(None)
    idle, idle_writes = peer(7)  # the same bidder on a second connection, not bidding on it
    for p in (other, watcher, idle):
        assert p.deliver(event(1, bidder_no=7))
    assert other_writes.writes == watcher_writes.writes == idle_writes.writes == [text_frame(event(1).text)]


def test_a_reply_sent_the_slow_way_still_releases_what_was_held_first() -> None:
    p, transport = peer(7)
    p.bidding = True
    p.deliver(event(1, bidder_no=7))
    assert p.wire is not None
    p.wire.release()  # as `Peer.send` does before its own send
    assert transport.writes == [text_frame(event(1).text)]


def test_a_closing_connection_gets_nothing_more() -> None:
    p, transport = peer(7)
    p.bidding = True
    p.deliver(event(1, bidder_no=7))
    transport.closing = True
    assert p.wire is not None
    p.wire.release(text_frame("{}"))
    assert transport.writes == []


def test_release_with_nothing_held_is_one_plain_write() -> None:
    wire = Wire(Proto())
    transport: Any = wire.transport
    wire.release(b"x")
    wire.release()
    assert transport.writes == [b"x"]
