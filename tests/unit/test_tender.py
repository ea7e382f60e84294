"""The tender engine (auction/domain/tender/, RULES 6, N Art.13-14), fed commands with `now`."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from auction.domain.bidding.commands import RevealedReserve
from auction.domain.bidding.session import reserve_commitment
from auction.domain.bidding.terms import HOUR, MINUTE
from auction.domain.codes import Code, Rejected
from auction.domain.tender import events as te
from auction.domain.tender import commands as tc
from auction.domain.tender.tender import (
    TenderPhase,
    TenderState,
    bid_commitment,
    decide,
    evolve,
    replay,
    score_sheet_record,
)
from auction.domain.tender.terms import Criterion, Evaluation, TenderTerms, check_terms

T0 = 1_900_000_000_000_000
WAN = 1_000_000  # fen in 1 万元
PROPOSAL = "ab" * 32
RESERVE = RevealedReserve(amount=1_000 * WAN, salt="5a" * 16)
ENVELOPE = tc.Envelope(key_id="k1", nonce="00" * 12, ciphertext="11" * 64)
PANEL = ("p1", "p2", "p3", "p4", "p5")
CRITERIA = (Criterion("scheme", "开发建设方案", 40), Criterion("design", "规划设计", 20))


def terms(evaluation: Evaluation = Evaluation.HIGHEST_PRICE, **changes: object) -> TenderTerms:
    base = TenderTerms(
        tender_id="T-1", plan_id="P-1", parcel_ref="QJ-2026-01", start_price=800 * WAN, deposit=200 * WAN,
        registration_closes_at=T0 + 2 * HOUR, bids_open_at=T0 + HOUR, bid_deadline=T0 + 3 * HOUR,
        opening_at=T0 + 3 * HOUR, evaluation=evaluation, has_reserve=True,
        reserve_commitment=reserve_commitment(RESERVE.amount, RESERVE.salt),
    )
    if evaluation is Evaluation.SCORING:
        base = replace(base, price_weight=40, criteria=CRITERIA)
    return replace(base, **changes)  # type: ignore[arg-type]


class Tender:
    """A tender driven through the engine, its events kept; `replay` must agree with it."""

    def __init__(self, t: TenderTerms | None = None) -> None:
        self.state = TenderState()
        self.events: list[te.TenderEvent] = []
        self.terms = t or terms()
        reserve = ENVELOPE if self.terms.has_reserve else None
        self.do(tc.CreateTender(self.terms, reserve), T0)

    def do(self, command: tc.TenderCommand, now: int) -> list[te.TenderEvent]:
        events = decide(self.state, command, now)
        for event in events:
            self.state = evolve(self.state, event)
        self.events += events
        return events

    def bid(self, bidder_no: int, price: int, now: int = T0 + 2 * HOUR) -> tc.RevealedBid:
        salt = f"{bidder_no:04d}" * 8
        if bidder_no not in self.state.qualified:
            self.do(tc.QualifyTenderBidder(bidder_no), T0 + HOUR)
        commitment = bid_commitment(self.terms.tender_id, bidder_no, price, PROPOSAL, salt)
        self.do(tc.SubmitSealedBid(bidder_no, commitment, ENVELOPE), now)
        return tc.RevealedBid(bidder_no, price, salt, PROPOSAL)

    def open(self, *revealed: tc.RevealedBid) -> list[te.TenderEvent]:
        return self.do(tc.OpenBids(tuple(revealed)), self.terms.opening_at)


def refused(code: Code, tender: Tender, command: tc.TenderCommand, now: int) -> Rejected:
    before = tender.state
    with pytest.raises(Rejected) as info:
        decide(tender.state, command, now)
    assert info.value.code is code
    assert tender.state == before
    return info.value


def sheet(member: str, scores: dict[int, dict[str, int]]) -> tc.SubmitScoreSheet:
    pairs = tuple((no, tuple(items.items())) for no, items in scores.items())
    return tc.SubmitScoreSheet(member, pairs, signature_ok=True)


class TestTerms:
    def test_a_highest_price_tender_has_no_criteria(self) -> None:
        with pytest.raises(Rejected) as info:
            check_terms(terms(criteria=CRITERIA))
        assert info.value.rejection.details["field"] == "criteria"

    @pytest.mark.parametrize("weights", [(40, 40, 10), (0, 60, 30), (40, 60, 0)])
    def test_scoring_weights_add_up_to_100(self, weights: tuple[int, int, int]) -> None:
        price, scheme, design = weights
        bad = terms(Evaluation.SCORING, price_weight=price,
                    criteria=(Criterion("scheme", "方案", scheme), Criterion("design", "设计", design)))
        with pytest.raises(Rejected) as info:
            check_terms(bad)
        assert info.value.code is Code.INVALID_TERMS

    def test_scoring_without_criteria_is_refused(self) -> None:
        with pytest.raises(Rejected):
            check_terms(terms(Evaluation.SCORING, criteria=(), price_weight=100))

    def test_the_opening_is_not_before_the_deadline(self) -> None:
        with pytest.raises(Rejected) as info:
            check_terms(terms(opening_at=T0 + 2 * HOUR))
        assert info.value.rejection.details["field"] == "opening_at"

    def test_terms_round_trip(self) -> None:
        t = terms(Evaluation.SCORING)
        assert TenderTerms.from_dict(t.to_dict()) == t

    def test_a_second_create_is_refused(self) -> None:
        tender = Tender()
        refused(Code.SESSION_EXISTS, tender, tc.CreateTender(tender.terms, ENVELOPE), T0)


class TestSealedBids:
    def test_a_bid_records_only_the_commitment_and_the_envelope(self) -> None:
        tender = Tender()
        tender.bid(1001, 987_654_321)
        (received,) = tender.state.bids
        assert received.envelope == ENVELOPE and len(received.receipt) == 64
        assert "987654321" not in repr(tender.events)

    def test_a_second_bid_by_the_same_bidder_is_refused_with_the_first_receipt(self) -> None:
        tender = Tender()
        tender.bid(1001, 900 * WAN)
        again = tc.SubmitSealedBid(1001, "cd" * 32, ENVELOPE)
        rejected = refused(Code.TENDER_BID_ALREADY_SUBMITTED, tender, again, T0 + 2 * HOUR + MINUTE)
        assert rejected.rejection.details["receipt"] == tender.state.bids[0].receipt

    def test_no_bid_at_or_after_the_deadline(self) -> None:
        tender = Tender()
        tender.do(tc.QualifyTenderBidder(1001), T0 + HOUR)
        bid = tc.SubmitSealedBid(1001, "cd" * 32, ENVELOPE)
        refused(Code.TENDER_BID_DEADLINE_PASSED, tender, bid, tender.terms.bid_deadline)
        refused(Code.TENDER_BID_DEADLINE_PASSED, tender, bid, tender.terms.bid_deadline + HOUR)
        assert tender.do(bid, tender.terms.bid_deadline - 1)

    def test_no_bid_before_bids_open(self) -> None:
        tender = Tender()
        tender.do(tc.QualifyTenderBidder(1001), T0)
        refused(Code.SESSION_NOT_OPEN, tender, tc.SubmitSealedBid(1001, "cd" * 32, ENVELOPE), T0 + HOUR - 1)

    def test_only_a_qualified_bidder_bids(self) -> None:
        refused(Code.NOT_QUALIFIED, Tender(), tc.SubmitSealedBid(1001, "cd" * 32, ENVELOPE), T0 + 2 * HOUR)

    @pytest.mark.parametrize("commitment, envelope", [
        ("CD" * 32, ENVELOPE), ("cd" * 31, ENVELOPE),
        ("cd" * 32, tc.Envelope("k1", "zz", "11")), ("cd" * 32, tc.Envelope("", "00", "11")),
    ])
    def test_a_malformed_bid_is_refused(self, commitment: str, envelope: tc.Envelope) -> None:
        tender = Tender()
        tender.do(tc.QualifyTenderBidder(1001), T0 + HOUR)
        refused(Code.INVALID_FIELD, tender, tc.SubmitSealedBid(1001, commitment, envelope), T0 + 2 * HOUR)

    def test_registration_closes_at_its_time(self) -> None:
        tender = Tender()
        refused(Code.REGISTRATION_CLOSED, tender, tc.QualifyTenderBidder(1001), tender.terms.registration_closes_at)

    def test_the_number_of_bids_is_private_before_the_opening(self) -> None:
        tender = Tender()
        tender.bid(1001, 900 * WAN)
        assert [type(e) for e in tender.events if te.is_public(e)] == [te.TenderCreated]


class TestOpening:
    def test_not_before_the_opening_time(self) -> None:
        tender = Tender()
        refused(Code.TENDER_OPENING_NOT_DUE, tender, tc.OpenBids(()), tender.terms.opening_at - 1)

    def test_two_valid_bids_end_the_tender(self) -> None:  # N Art.14
        tender = Tender()
        opened, ended = tender.open(tender.bid(1001, 900 * WAN), tender.bid(1002, 950 * WAN))
        assert isinstance(opened, te.BidsOpened) and opened.valid_count == 2
        assert [b.price for b in opened.bids] == [900 * WAN, 950 * WAN]
        assert isinstance(ended, te.TenderEnded)
        assert (ended.outcome, ended.reason, ended.winner_bidder_no) == ("TERMINATED", "FEWER_THAN_THREE", None)
        assert tender.state.phase is TenderPhase.ENDED

    def test_an_invalid_bid_does_not_count_toward_three(self) -> None:
        tender = Tender()
        a, b = tender.bid(1001, 900 * WAN), tender.bid(1002, 950 * WAN)
        c = tender.bid(1003, 700 * WAN)  # below the start price
        d = replace(tender.bid(1004, 990 * WAN), price=999 * WAN)  # does not match its commitment
        tender.bid(1005, 990 * WAN)  # its envelope could not be opened: not revealed
        opened, ended = tender.open(a, b, c, d)
        assert isinstance(opened, te.BidsOpened)
        assert [x.reason for x in opened.bids] == [
            "VALID", "VALID", "BELOW_START_PRICE", "COMMITMENT_MISMATCH", "UNREADABLE"]
        assert isinstance(ended, te.TenderEnded) and ended.reason == "FEWER_THAN_THREE"

    def test_opened_once(self) -> None:
        tender = Tender()
        revealed = [tender.bid(n, 900 * WAN) for n in (1001, 1002, 1003)]
        tender.open(*revealed)
        refused(Code.TENDER_ALREADY_OPENED, tender, tc.OpenBids(()), tender.terms.opening_at)

    def test_a_revealed_bid_that_was_never_sealed_is_refused(self) -> None:
        tender = Tender()
        ghost = tc.RevealedBid(1009, 900 * WAN, "00", PROPOSAL)
        refused(Code.INVALID_FIELD, tender, tc.OpenBids((ghost,)), tender.terms.opening_at)

    def test_after_the_opening_no_bid(self) -> None:
        tender = Tender(terms(opening_at=T0 + 3 * HOUR, bid_deadline=T0 + 3 * HOUR))
        revealed = [tender.bid(n, 900 * WAN) for n in (1001, 1002, 1003)]
        tender.do(tc.QualifyTenderBidder(1004), T0 + HOUR)
        tender.open(*revealed)
        refused(Code.TENDER_BID_DEADLINE_PASSED, tender, tc.SubmitSealedBid(1004, "cd" * 32, ENVELOPE),
                tender.terms.bid_deadline - 1)

    def test_a_late_bid_is_late_after_the_end_too(self) -> None:
        # The opening at the set time may end the tender before a late bid arrives: it is still late.
        tender = Tender()
        revealed = [tender.bid(n, 900 * WAN) for n in (1001, 1002)]
        tender.do(tc.QualifyTenderBidder(1004), T0 + HOUR)
        tender.open(*revealed)  # two valid bids: the tender ends (N Art.14)
        refused(Code.TENDER_BID_DEADLINE_PASSED, tender, tc.SubmitSealedBid(1004, "cd" * 32, ENVELOPE),
                tender.terms.opening_at + 1)


class TestHighestPrice:
    def test_the_highest_valid_price_wins_and_the_reserve_is_revealed(self) -> None:
        tender = Tender()
        tender.open(tender.bid(1001, 900 * WAN), tender.bid(1002, 1200 * WAN), tender.bid(1003, 1100 * WAN))
        (ended,) = tender.do(tc.Evaluate(RESERVE), tender.terms.opening_at)
        assert isinstance(ended, te.TenderEnded)
        assert (ended.outcome, ended.winner_bidder_no, ended.price) == ("AWARDED", 1002, 1200 * WAN)
        assert [r.bidder_no for r in ended.ranking] == [1002, 1003, 1001]
        assert [r.eligible for r in ended.ranking] == [True, True, False]
        assert (ended.reserve, ended.reserve_salt) == (RESERVE.amount, RESERVE.salt)

    def test_equal_prices_go_to_the_earlier_bid(self) -> None:
        tender = Tender()
        a = tender.bid(1003, 1100 * WAN, now=T0 + 2 * HOUR)
        b = tender.bid(1001, 1100 * WAN, now=T0 + 2 * HOUR + 1)
        c = tender.bid(1002, 900 * WAN)
        tender.open(b, c, a)
        (ended,) = tender.do(tc.Evaluate(RESERVE), tender.terms.opening_at)
        assert isinstance(ended, te.TenderEnded) and ended.winner_bidder_no == 1003

    def test_every_bid_below_the_reserve_is_unsold(self) -> None:
        tender = Tender()
        tender.open(*(tender.bid(n, 900 * WAN) for n in (1001, 1002, 1003)))
        (ended,) = tender.do(tc.Evaluate(RESERVE), tender.terms.opening_at)
        assert isinstance(ended, te.TenderEnded)
        assert (ended.outcome, ended.reason, ended.winner_bidder_no) == ("UNSOLD", "BELOW_RESERVE", None)

    def test_a_reserve_that_fails_its_commitment_decides_nothing(self) -> None:
        tender = Tender()
        tender.open(*(tender.bid(n, 1100 * WAN) for n in (1001, 1002, 1003)))
        wrong = RevealedReserve(RESERVE.amount - 1, RESERVE.salt)
        refused(Code.TENDER_RESERVE_UNREADABLE, tender, tc.Evaluate(wrong), tender.terms.opening_at)
        refused(Code.TENDER_RESERVE_UNREADABLE, tender, tc.Evaluate(None), tender.terms.opening_at)

    def test_not_evaluated_before_the_opening(self) -> None:
        refused(Code.TENDER_NOT_OPENED, Tender(), tc.Evaluate(RESERVE), T0 + 4 * HOUR)

    def test_no_panel_for_a_highest_price_tender(self) -> None:
        refused(Code.TENDER_PANEL_INVALID, Tender(), tc.SeatPanel(PANEL), T0)


def scored_tender() -> tuple[Tender, list[tc.RevealedBid]]:
    tender = Tender(terms(Evaluation.SCORING))
    revealed = [tender.bid(1001, 1000 * WAN), tender.bid(1002, 1250 * WAN), tender.bid(1003, 1100 * WAN)]
    tender.do(tc.SeatPanel(PANEL), T0 + 2 * HOUR)
    tender.open(*revealed)
    return tender, revealed


# Every member gives 1001 the best scheme: 90/80, 1002 60/60, 1003 80/90.
GOOD_SCHEME = {1001: {"scheme": 90, "design": 80}, 1002: {"scheme": 60, "design": 60},
               1003: {"scheme": 80, "design": 90}}


class TestScoring:
    @pytest.mark.parametrize("members", [PANEL[:4], PANEL[:3], PANEL + ("p6",), ("p1", "p1", "p2", "p3", "p4")])
    def test_the_panel_is_an_odd_number_of_at_least_five(self, members: tuple[str, ...]) -> None:
        refused(Code.TENDER_PANEL_INVALID, Tender(terms(Evaluation.SCORING)), tc.SeatPanel(members), T0)

    def test_seven_members_may_sit(self) -> None:
        tender = Tender(terms(Evaluation.SCORING))
        assert tender.do(tc.SeatPanel(PANEL + ("p6", "p7")), T0)

    def test_the_combined_score_decides(self) -> None:
        tender, _ = scored_tender()
        for member in PANEL:
            tender.do(sheet(member, GOOD_SCHEME), T0 + 4 * HOUR)
        (ended,) = tender.do(tc.Evaluate(RESERVE), T0 + 4 * HOUR)
        assert isinstance(ended, te.TenderEnded)
        # 1001: 40*100*1000/1250 + 40*90 + 20*80 = 3200 + 3600 + 1600 = 8400 / 100 = 84
        # 1002: 40*100 + 40*60 + 20*60 = 4000 + 2400 + 1200 = 76
        # 1003: 40*100*1100/1250 + 40*80 + 20*90 = 3520 + 3200 + 1800 = 85.2
        assert [(r.bidder_no, Fraction(r.score)) for r in ended.ranking] == [
            (1003, Fraction(426, 5)), (1001, Fraction(84)), (1002, Fraction(76))]
        assert (ended.winner_bidder_no, ended.price) == (1003, 1100 * WAN)

    def test_the_members_scores_are_averaged(self) -> None:
        tender, _ = scored_tender()
        for i, member in enumerate(PANEL):
            scores = {no: dict(items) for no, items in GOOD_SCHEME.items()}
            scores[1002] = {"scheme": 100 if i < 3 else 0, "design": 100}  # a mean of 60
            tender.do(sheet(member, scores), T0 + 4 * HOUR)
        (ended,) = tender.do(tc.Evaluate(RESERVE), T0 + 4 * HOUR)
        assert isinstance(ended, te.TenderEnded)
        assert Fraction(ended.ranking[-1].score) == Fraction(4000 + 40 * 60 + 20 * 100, 100)

    def test_equal_scores_go_to_the_higher_price_then_the_earlier_bid(self) -> None:
        tied = Tender(terms(Evaluation.SCORING, price_weight=0, criteria=(Criterion("scheme", "方案", 100),)))
        revealed = [tied.bid(1001, 1000 * WAN), tied.bid(1002, 1250 * WAN), tied.bid(1003, 1250 * WAN)]
        tied.do(tc.SeatPanel(PANEL), T0)
        tied.open(*revealed)
        for member in PANEL:
            tied.do(sheet(member, {n: {"scheme": 70} for n in (1001, 1002, 1003)}), T0 + 4 * HOUR)
        (ended,) = tied.do(tc.Evaluate(RESERVE), T0 + 4 * HOUR)
        assert isinstance(ended, te.TenderEnded)
        assert [r.bidder_no for r in ended.ranking] == [1002, 1003, 1001]  # price, then who came first

    def test_the_best_bid_below_the_reserve_cannot_win(self) -> None:
        tender = Tender(terms(Evaluation.SCORING))
        revealed = [tender.bid(1001, 900 * WAN), tender.bid(1002, 1250 * WAN), tender.bid(1003, 1100 * WAN)]
        tender.do(tc.SeatPanel(PANEL), T0)
        tender.open(*revealed)
        best_for_1001 = {1001: {"scheme": 100, "design": 100}, 1002: {"scheme": 0, "design": 0},
                         1003: {"scheme": 50, "design": 50}}
        for member in PANEL:
            tender.do(sheet(member, best_for_1001), T0 + 4 * HOUR)
        (ended,) = tender.do(tc.Evaluate(RESERVE), T0 + 4 * HOUR)
        assert isinstance(ended, te.TenderEnded)
        assert ended.ranking[0].bidder_no == 1001 and not ended.ranking[0].eligible
        assert ended.winner_bidder_no == 1003

    def test_not_evaluated_until_every_member_signed(self) -> None:
        tender, _ = scored_tender()
        for member in PANEL[:4]:
            tender.do(sheet(member, GOOD_SCHEME), T0 + 4 * HOUR)
        rejected = refused(Code.TENDER_SCORING_INCOMPLETE, tender, tc.Evaluate(RESERVE), T0 + 4 * HOUR)
        assert rejected.rejection.details == {"signed": 4, "panel": 5}

    def test_a_sheet_only_from_the_panel_once_and_signed(self) -> None:
        tender, _ = scored_tender()
        refused(Code.TENDER_NOT_ON_PANEL, tender, sheet("x9", GOOD_SCHEME), T0 + 4 * HOUR)
        unsigned = replace(sheet("p1", GOOD_SCHEME), signature_ok=False)
        refused(Code.TENDER_SHEET_BAD_SIGNATURE, tender, unsigned, T0 + 4 * HOUR)
        tender.do(sheet("p1", GOOD_SCHEME), T0 + 4 * HOUR)
        refused(Code.TENDER_SHEET_ALREADY_SIGNED, tender, sheet("p1", GOOD_SCHEME), T0 + 4 * HOUR)

    @pytest.mark.parametrize("scores", [
        {1001: {"scheme": 90, "design": 80}, 1002: {"scheme": 60, "design": 60}},  # a bid missing
        {**GOOD_SCHEME, 1003: {"scheme": 80}},  # a criterion missing
        {**GOOD_SCHEME, 1003: {"scheme": 80, "design": 90, "price": 5}},  # one too many
        {**GOOD_SCHEME, 1003: {"scheme": 101, "design": 90}},  # above the maximum
        {**GOOD_SCHEME, 1003: {"scheme": -1, "design": 90}},
    ])
    def test_a_sheet_scores_every_criterion_of_every_valid_bid(self, scores: dict[int, dict[str, int]]) -> None:
        tender, _ = scored_tender()
        refused(Code.TENDER_SHEET_INVALID, tender, sheet("p1", scores), T0 + 4 * HOUR)

    def test_no_sheet_before_the_opening(self) -> None:
        tender = Tender(terms(Evaluation.SCORING))
        tender.do(tc.SeatPanel(PANEL), T0)
        refused(Code.TENDER_NOT_OPENED, tender, sheet("p1", GOOD_SCHEME), T0 + 2 * HOUR)

    def test_the_signed_record_is_canonical(self) -> None:
        a = score_sheet_record("T-1", "p1", [(1002, [("scheme", 1)]), (1001, [("design", 2), ("scheme", 3)])])
        b = score_sheet_record("T-1", "p1", [(1001, [("scheme", 3), ("design", 2)]), (1002, [("scheme", 1)])])
        assert a == b and b"\"p1\"" in a


class TestLog:
    def test_replay_equals_live_and_events_survive_json(self) -> None:
        tender, _ = scored_tender()
        for member in PANEL:
            tender.do(sheet(member, GOOD_SCHEME), T0 + 4 * HOUR)
        tender.do(tc.Evaluate(RESERVE), T0 + 4 * HOUR)
        assert replay(tender.events) == tender.state
        stored = [(te.event_type(e), te.event_to_dict(e)) for e in tender.events]
        assert replay(te.event_from_dict(name, data) for name, data in stored) == tender.state

    def test_an_ended_tender_takes_no_more_commands(self) -> None:
        tender = Tender()
        tender.do(tc.TerminateTender("规划条件调整"), T0 + HOUR)
        refused(Code.SESSION_CLOSED, tender, tc.QualifyTenderBidder(1001), T0 + HOUR)
        refused(Code.REASON_REQUIRED, Tender(), tc.TerminateTender(" "), T0)


class TestCommitteeReserve:
    """Q26 for a tender created without a reserve: the committee's decision is sealed later, once,
    before bids open; no bid is taken before it; the evaluation checks against its commitment."""

    def committee_tender(self) -> Tender:
        return Tender(terms(has_reserve=False, reserve_commitment=None))

    def test_no_bid_before_the_decision(self) -> None:
        tender = self.committee_tender()
        tender.do(tc.QualifyTenderBidder(1001), T0 + HOUR)
        refused(Code.Q26_RESERVE_NOT_SEALED, tender, tc.SubmitSealedBid(1001, "cd" * 32, ENVELOPE), T0 + 2 * HOUR)

    def test_sealed_once_before_bids_open_and_judged_by_it(self) -> None:
        tender = self.committee_tender()
        decided = tc.SealDecidedReserve(reserve_commitment(RESERVE.amount, RESERVE.salt), ENVELOPE)
        refused(Code.Q26_OUTSIDE_RESERVE_WINDOW, tender, decided, tender.terms.bids_open_at)
        (event,) = tender.do(decided, tender.terms.bids_open_at - 1)
        assert isinstance(event, te.TenderReserveDecided) and tender.state.reserve == ENVELOPE
        refused(Code.RESERVE_ALREADY_SEALED, tender, decided, tender.terms.bids_open_at - 1)
        revealed = [tender.bid(n, p) for n, p in ((1001, 900 * WAN), (1002, 1200 * WAN), (1003, 1100 * WAN))]
        tender.open(*revealed)
        wrong = RevealedReserve(amount=RESERVE.amount + 1, salt=RESERVE.salt)
        refused(Code.TENDER_RESERVE_UNREADABLE, tender, tc.Evaluate(wrong), tender.terms.opening_at)
        (ended,) = tender.do(tc.Evaluate(RESERVE), tender.terms.opening_at)
        assert isinstance(ended, te.TenderEnded) and (ended.winner_bidder_no, ended.reserve) == (1002, RESERVE.amount)
        stored = [(te.event_type(e), te.event_to_dict(e)) for e in tender.events]
        assert replay(te.event_from_dict(name, data) for name, data in stored) == tender.state

    def test_a_tender_sealed_at_its_creation_takes_no_decision(self) -> None:
        tender = Tender()
        decided = tc.SealDecidedReserve(reserve_commitment(RESERVE.amount, RESERVE.salt), ENVELOPE)
        refused(Code.RESERVE_ALREADY_SEALED, tender, decided, T0 + 1)
