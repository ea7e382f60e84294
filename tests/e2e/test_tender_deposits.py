"""A tender's deposits and its winner's legal clock (RULES 3.4, 6.6, 8-9; Q31, Q42) on a real
server: companies apply to the tender, the fake bank (tests/e2e/bank.py) reports their
deposits over the signed webhook, the complete deposit qualifies each, they bid sealed, the
opening picks the winner, and the tender's end books what a session's close books: the
winner's deposit applied to the price, every other deposit held for refund with its Q31
row, the Q29 publication and the Q42 contract rows; the bank's refund confirmation moves
the money to REFUNDED and the signed contract starts Q32; a re-issued token revokes the old one,
and none is re-issued after the end. Nobody is qualified without a
deposit: the stand-in that did so is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.conftest import ServerProcess
from tests.e2e.bank import FakeBank, iso
from tests.e2e.helpers import WAN
from tests.e2e.plan_flow import ok, refused
from tests.e2e.test_secrecy import RecordingApi
from tests.e2e.test_tender import Bidder, a_tender, opened_on_time, tender_server, until

LATE_PAYER = "投标企业九有限公司"


async def closed_books(api: RecordingApi, tender_id: str) -> dict[str, Any]:
    """The tender's deadlines once its end is booked (the TenderFinal reaction, or the sweep)."""
    for _ in range(600):
        view: dict[str, Any] = (await api.get(f"/api/tenders/{tender_id}/deadlines")).json()
        if view["closing"] is not None:
            return view
        await asyncio.sleep(0.2)
    raise AssertionError(f"the end of {tender_id} was never booked: {view}")


async def awarded_to_the_second(api: RecordingApi, tender_id: str, start: datetime, bidders: list[Bidder]) -> None:
    """Bids open at `start`; the three bid 5100, 5300 and 5200 万元: the second wins at 5300 万元."""
    a, b, c = bidders
    await until(start)
    prices = {a.bidder_no: 5_100 * WAN, b.bidder_no: 5_300 * WAN, c.bidder_no: 5_200 * WAN}
    for x in (a, b, c):
        await x.bid(prices[x.bidder_no])
    result = (await opened_on_time(api, tender_id))["result"]
    assert (result["outcome"], result["winner_bidder_no"]) == ("AWARDED", b.bidder_no)


async def test_deposits_qualify_tender_bidders_and_the_end_starts_the_legal_clock(
    server_factory: Callable[..., ServerProcess]
) -> None:
    async with tender_server(server_factory) as (server, api):
        tender_id, (a, b, c), start, _deadline = await a_tender(api, server, "HIGHEST_PRICE", 3)
        gone = await api.post(f"/api/tenders/{tender_id}/bidders", {"legal_name": "替身公司"})
        assert gone.status_code == 404  # no bidder without a deposit, stand-ins on or off

        # A fourth company applies, but its deposit comes from another account's name: held for
        # refund, counted for nobody, and no token for it.
        bank = FakeBank(server)
        try:
            before = datetime.now(UTC)  # the money arrived before the deposit deadline
            d = await ok(api, f"/api/tenders/{tender_id}/applications",
                         {"legal_name": "投标企业三有限公司", "registration_no": "91530300MA6K000003",
                          "kind": "COMPANY"}, 201)
            paid = await bank.pay(d["sub_account"], d["required_fen"], LATE_PAYER, received_at=iso(before))
        finally:
            await bank.close()
        assert (paid.status, paid.body["counted"], paid.code) == (200, False, "DEPOSIT_PAYER_NAME_MISMATCH")
        error = await refused(api, f"/api/applications/{d['application_id']}/issue-token", {"by": "op:wang"})
        assert error["code"] == "NOT_QUALIFIED"
        desk = {x["application_id"]: x for x in (await api.get(f"/api/tenders/{tender_id}/applications")).json()}
        assert [desk[x.application_id]["status"] for x in (a, b, c)] == ["QUALIFIED"] * 3
        assert all(desk[x.application_id]["bidder_no"] is None for x in (a, b, c))  # not before the end (RULES 3.5)
        assert desk[d["application_id"]]["status"] == "AWAITING_DEPOSIT"

        # c's token was exposed: a new one, and the old one signs nothing in any more.
        old_token = c.token
        c.token = (await ok(api, f"/api/applications/{c.application_id}/reissue-token",
                            {"by": "op:wang", "reason": "令牌泄露"}, 201))["token"]
        stale = await api.http.get(f"/tender/{tender_id}", headers={"authorization": f"Bearer {old_token}"})
        assert stale.json()["error"]["code"] == "INVALID_TOKEN"

        await awarded_to_the_second(api, tender_id, start, [a, b, c])

        # The end is a close: the legal clock starts for the winner, the losers' money is due back.
        books = await closed_books(api, tender_id)
        assert books["closing"] == {"outcome": "SOLD", "winner_application_id": b.application_id,
                                    "price_fen": 5_300 * WAN, "plan_id": tender_id.removeprefix("T-")}
        rows: dict[str, list[dict[str, Any]]] = {}
        for row in books["deadlines"]:
            rows.setdefault(row["kind"], []).append(row)
        assert sorted(rows) == ["CONTRACT_SIGNING", "DEPOSIT_REFUND", "RESULT_PUBLICATION"]
        (contract,) = rows["CONTRACT_SIGNING"]
        assert (contract["subject"], contract["rule"], contract["state"]) == (b.application_id, "Q42", "PENDING")
        refunds = {r["subject"]: r for r in rows["DEPOSIT_REFUND"]}
        assert sorted(refunds) == sorted([a.sub_account, c.sub_account, d["sub_account"]])
        assert all((r["rule"], r["state"], r["working_days"]) == ("Q31", "PENDING", 3) for r in refunds.values())
        assert rows["RESULT_PUBLICATION"][0]["rule"] == "Q29"

        desk = {x["application_id"]: x for x in (await api.get(f"/api/tenders/{tender_id}/applications")).json()}
        required = desk[b.application_id]["required_fen"]
        assert desk[b.application_id]["deposit"]["APPLIED_TO_PRICE"] == required  # 抵作出让价款 (Q31)
        assert desk[b.application_id]["bidder_no"] == b.bidder_no  # shown after the end
        for x in (a, c):
            assert desk[x.application_id]["deposit"]["HELD_FOR_REFUND"] == required
        assert desk[d["application_id"]]["deposit"]["HELD_FOR_REFUND"] == d["required_fen"]

        # The bank confirms a loser's refund: the ledger moves it to REFUNDED; the winner signs.
        done = await ok(api, f"/api/deadlines/{refunds[a.sub_account]['deadline_id']}/done",
                        {"by": "bank:ICBC-QJ", "done_at": iso(datetime.now(UTC)), "bank_txn_id": "R-T-0001"})
        assert done[0]["state"] == "DONE"
        desk = {x["application_id"]: x for x in (await api.get(f"/api/tenders/{tender_id}/applications")).json()}
        assert (desk[a.application_id]["deposit"]["REFUNDED"], desk[a.application_id]["deposit"]["HELD_FOR_REFUND"]) \
            == (required, 0)
        signed = await ok(api, f"/api/tenders/{tender_id}/contract-signed",
                          {"by": "op:li", "signed_at": iso(datetime.now(UTC))})
        assert (signed["contract"]["state"], signed["q32_notice"]["rule"]) == ("DONE", "Q32")
        error = await refused(api, f"/api/applications/{a.application_id}/reissue-token", {"by": "op:wang",
                                                                                          "reason": "遗失"})
        assert error["code"] == "SESSION_CLOSED"
        ledger = (await api.get("/api/ledger")).json()
        assert ledger["balanced"] and ledger["fates_add_up"], ledger
