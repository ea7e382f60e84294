"""Re-issuing a lost or exposed bidding token (ReissueToken): the engine refuses
bids made under an older token from then on, on every node, because it decides
from the session's log. The re-issue is private (like a registration): it is not
published and takes no public seq."""

from __future__ import annotations

from auction.domain.codes import Code
from auction.domain.bidding.commands import PlaceBid, ReissueToken, Terminate
from auction.domain.bidding.events import BidAccepted, BidderTokenReissued, is_public

from .helpers import HOUR, SECOND, START_AT, START_PRICE, INCREMENT, Recorder, auction_terms

T = START_AT + SECOND


def opened() -> Recorder:
    r = Recorder(auction_terms())
    r.open()
    return r


def test_a_reissue_revokes_the_old_token_for_bidding_and_not_the_new_one() -> None:
    r = opened()
    r.do(PlaceBid(1, "before", START_PRICE), T)
    [event] = r.do(ReissueToken(1), T + SECOND)
    assert event == BidderTokenReissued(at=T + SECOND, bidder_no=1, epoch=1)
    assert not is_public(event)
    pub_seq = r.state.pub_seq
    r.do(PlaceBid(2, "other", START_PRICE + INCREMENT), T + 2 * SECOND)  # other bidders are untouched

    refused = r.reject(PlaceBid(1, "old-token", START_PRICE + 2 * INCREMENT, token_epoch=0), T + 3 * SECOND)
    assert refused.code is Code.TOKEN_REVOKED
    # A bid accepted before the re-issue keeps its answer when retried on the old connection.
    assert r.do(PlaceBid(1, "before", START_PRICE, token_epoch=0), T + 3 * SECOND) == []
    [accepted] = r.do(PlaceBid(1, "new-token", START_PRICE + 2 * INCREMENT, token_epoch=1), T + 3 * SECOND)
    assert isinstance(accepted, BidAccepted) and accepted.bidder_no == 1
    assert r.state.pub_seq == pub_seq + 2  # the re-issue took no public number


def test_a_second_reissue_revokes_the_first() -> None:
    r = opened()
    r.do(ReissueToken(1), T)
    [second] = r.do(ReissueToken(1), T + SECOND)
    assert isinstance(second, BidderTokenReissued) and second.epoch == 2
    assert r.reject(PlaceBid(1, "b", START_PRICE, token_epoch=1), T + SECOND).code is Code.TOKEN_REVOKED
    r.do(PlaceBid(1, "b", START_PRICE, token_epoch=2), T + SECOND)


def test_only_a_qualified_bidder_of_a_running_session_gets_a_new_token() -> None:
    r = opened()
    assert r.reject(ReissueToken(9), T).code is Code.NOT_QUALIFIED
    r.do(Terminate(reason="行政决定"), T)
    assert r.reject(ReissueToken(1), T + HOUR).code is Code.SESSION_CLOSED


def test_before_the_open_a_reissue_is_already_in_force() -> None:
    r = Recorder(auction_terms())
    r.do(ReissueToken(2), START_AT - HOUR)
    r.open()
    assert r.reject(PlaceBid(2, "x", START_PRICE), T).code is Code.TOKEN_REVOKED
    r.do(PlaceBid(2, "x", START_PRICE, token_epoch=1), T)
