"""Tender (招标, RULES 6, N Art.13-14) on a real server: a tender plan becomes a tender,
companies apply and qualify by the deposit the fake bank reports paid (RULES 3.4), bidders' clients seal their bids (clients/tender.py), the opening reveals them together,
and the winner is chosen by highest price or by a signing panel's scores.

Before the opening nothing any bidder sealed may be found anywhere the system wrote:
the HTTP responses this test received, the server log, or a `pg_dump` of the
database (as tests/e2e/test_secrecy.py searches for the reserve).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from auction.adapters.sealing import signatures
from auction.domain.money import format_wan, format_yuan
from auction.domain.tender.tender import replay, score_sheet_record
from auction.store.tender.log import TenderStore
from clients.tender import BelowStartPrice, Submitted, TenderRefused, submit_bid
from clients.tender_cli import main as tender_cli
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank
from tests.e2e.helpers import WAN
from tests.e2e.plan_flow import COMPRESSED, ROOT, Committee, announced_plan, iso, ok, refused
from tests.e2e.test_secrecy import RecordingApi, found, pg_dump

RESERVE = 5_012_345_678  # fen
# The schedule leaves generous room for a loaded machine: the announcement to bids opening holds
# the tender's creation and every bidder's qualification; the bid window, each client's sealed bid.
SETUP_SECONDS = 25.0
BID_SECONDS = 25.0
# An opening after the deadline, for a server stopped between the two (RULES 6.7: nothing held).
OPENING_AFTER = 5.0
TENDER_ENV = {**COMPRESSED, **BANK_ENV}  # compressed plan times, and the fake bank's secret
CRITERIA = [{"key": "scheme", "name": "开发建设方案", "weight": 40}, {"key": "design", "name": "规划设计", "weight": 20}]


def forms(fen: int) -> list[str]:
    """Every written form of an amount a search must not find."""
    return [str(fen), format_wan(fen).split()[0], format_yuan(fen).split()[0],
            format_yuan(fen).split()[0].replace(",", "")]


async def until(moment: datetime) -> None:
    """Wait for a wall-clock instant (the server judges deadlines by its own clock, the same one)."""
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.2)


class Bidder:
    def __init__(self, server: ServerProcess, tender_id: str, qualified: dict[str, Any]) -> None:
        self.server, self.tender_id = server, tender_id
        self.bidder_no: int = qualified["bidder_no"]
        self.token: str = qualified["token"]
        self.application_id: str = qualified["application_id"]
        self.sub_account: str = qualified["sub_account"]

    async def bid(self, price: int, proposal: bytes = b"") -> Submitted:
        return await asyncio.to_thread(submit_bid, self.server.http, self.tender_id, self.token,
                                       bidder_no=self.bidder_no, price_fen=price, proposal=proposal)

    async def refused(self, price: int) -> str:
        with pytest.raises(TenderRefused) as info:
            await self.bid(price)
        return str(info.value.error["code"])


async def qualified_by_deposit(api: RecordingApi, bank: FakeBank, tender_id: str, legal_name: str,
                               registration_no: str) -> dict[str, Any]:
    """A company applies to the tender, the bank reports its deposit paid in full (which
    qualifies it), the operator issues its token once, and the token tells the bidder its
    number (GET /tender/{id}): {application_id, sub_account, bidder_no, token}."""
    applied = await ok(api, f"/api/tenders/{tender_id}/applications",
                       {"legal_name": legal_name, "registration_no": registration_no, "kind": "COMPANY"}, 201)
    paid = await bank.pay(applied["sub_account"], applied["required_fen"], legal_name)
    assert paid.status == 200 and paid.body["qualified_now"] is True, paid.body
    issued = await ok(api, f"/api/applications/{applied['application_id']}/issue-token", {"by": "op:wang"}, 201)
    assert "bidder_no" not in issued  # staff who hand the token over never learn the number (RULES 3.5)
    mine = await api.http.get(f"/tender/{tender_id}",
                              headers={"authorization": f"Bearer {issued['token']}"})
    assert mine.status_code == 200, mine.text
    return {"application_id": applied["application_id"], "sub_account": applied["sub_account"],
            "bidder_no": mine.json()["you"]["bidder_no"], "token": issued["token"]}


async def a_tender(api: RecordingApi, server: ServerProcess, evaluation: str, n_bidders: int,
                   bid_seconds: float = BID_SECONDS, opening_after: float = 0.0, **extra: Any
                   ) -> tuple[str, list[Bidder], datetime, datetime]:
    """An announced tender plan made a tender through POST /api/plans/{id}/session, with
    `n_bidders` qualified by their deposits: (tender id, bidders, bids open, bid deadline).
    The opening is `opening_after` seconds after the deadline."""
    plan_id, start = await announced_plan(api, "TENDER", start_in=SETUP_SECONDS)
    deadline = start + timedelta(seconds=bid_seconds)
    body = {"evaluation": evaluation, "reserve_fen": RESERVE, "bid_deadline": iso(deadline),
            "opening_at": iso(deadline + timedelta(seconds=opening_after)), **extra}
    view = await ok(api, f"/api/plans/{plan_id}/session", body, 201)
    tender_id = view["tender_id"]
    assert view["terms"]["has_reserve"] is (body["reserve_fen"] is not None) and view["opening"] is None
    again = await ok(api, f"/api/plans/{plan_id}/tender", body, 200)  # created once
    assert again["created"] is False
    bank = FakeBank(server)
    try:
        bidders = [Bidder(server, tender_id, await qualified_by_deposit(
            api, bank, tender_id, f"投标企业{i}有限公司", f"91530300MA6K0000{i:02d}")) for i in range(n_bidders)]
    finally:
        await bank.close()
    assert datetime.now(UTC) < start, f"the setup outlasted its {SETUP_SECONDS} s: raise SETUP_SECONDS"
    return tender_id, bidders, start, deadline


async def opened_on_time(api: RecordingApi, tender_id: str, until_final: bool = True) -> dict[str, Any]:
    """The tender once its timer has opened it at the set time (and, for a highest-price
    tender, evaluated it): nobody posts /open. Waits on the condition, however long it takes."""
    for _ in range(600):
        view: dict[str, Any] = (await api.get(f"/api/tenders/{tender_id}")).json()
        if view["opening"] is not None and (view["result"] is not None or not until_final):
            return view
        await asyncio.sleep(0.2)
    raise AssertionError(f"tender {tender_id} not opened: {view}")


@contextlib.asynccontextmanager
async def tender_server(server_factory: Callable[..., ServerProcess], **env: str
                        ) -> AsyncIterator[tuple[ServerProcess, RecordingApi]]:
    """A server with the compressed plan times (and `env`), and the operator's API client recording every answer."""
    server = server_factory(**TENDER_ENV, **env)
    server.start()
    api = RecordingApi(server)
    try:
        yield server, api
    finally:
        await api.http.aclose()


async def replayed_equals_live(server: ServerProcess, tender_id: str, live: dict[str, Any]) -> None:
    pool = await asyncpg.create_pool(server.dsn, min_size=1, max_size=1)
    try:
        state = replay(r.event for r in await TenderStore(pool).load(tender_id))
    finally:
        await pool.close()
    assert state.ended is not None and state.phase.value == live["phase"]
    assert (state.ended.outcome, state.ended.winner_bidder_no, state.ended.price) == (
        live["result"]["outcome"], live["result"]["winner_bidder_no"], live["result"]["price_fen"])
    assert [r.bidder_no for r in state.ended.ranking] == [r["bidder_no"] for r in live["result"]["ranking"]]


async def test_highest_price_sealed_until_the_opening(server_factory: Callable[..., ServerProcess]) -> None:
    async with tender_server(server_factory) as (server, api):
        tender_id, (a, b, c, late), start, deadline = await a_tender(api, server, "HIGHEST_PRICE", 4)
        assert await a.refused(5_100 * WAN) == "SESSION_NOT_OPEN"
        await until(start)
        prices = {a.bidder_no: 5_111_111_111, b.bidder_no: 5_333_333_333, c.bidder_no: 5_222_222_222}
        submitted = [await x.bid(prices[x.bidder_no], proposal="方案".encode()) for x in (a, b, c)]
        assert all(len(s.receipt["receipt"]) == 64 for s in submitted)
        assert await a.refused(5_999_999_999) == "TENDER_BID_ALREADY_SUBMITTED"  # RULES 6.2
        view = await api.get(f"/tender/{tender_id}")
        assert view.json()["opening"] is None  # not even how many bid (RULES 6.2)
        assert found(view.text, ["bidder_no"] + [s.receipt["commitment"] for s in submitted]) == []

        # Nothing sealed can be found before the opening.
        secrets = [f for price in [*prices.values(), 5_999_999_999, RESERVE] for f in forms(price)]
        secrets += [s.salt for s in submitted]
        await api.get(f"/api/tenders/{tender_id}")
        watch = await api.http.get(f"{server.http}/hall/tenders/{tender_id}")  # the watchers' page
        assert watch.status_code == 200 and "bids-sealed" in watch.text
        api.bodies.append(watch.text)
        dump = await pg_dump(server.dsn)
        assert tender_id in dump and submitted[0].receipt["commitment"] in dump  # the dump saw the bids
        assert found("\n".join(api.bodies) + "\n".join(str(s.receipt) for s in submitted), secrets) == []
        assert found(server.log_text(), secrets) == []
        assert found(dump, secrets) == []

        await until(deadline)
        assert await late.refused(5_500 * WAN) == "TENDER_BID_DEADLINE_PASSED"
        opened = await opened_on_time(api, tender_id)  # 开标 on its own at the set time (RULES 6.3)
        again = await ok(api, f"/api/tenders/{tender_id}/open", {})  # the operator's open: the same, once
        assert (again["opening"], again["result"]) == (opened["opening"], opened["result"])
        assert [x["price_fen"] for x in opened["opening"]["bids"]] == [prices[x.bidder_no] for x in (a, b, c)]
        result = opened["result"]
        assert (result["outcome"], result["winner_bidder_no"], result["price_fen"]) == (
            "AWARDED", b.bidder_no, prices[b.bidder_no])
        assert (result["reserve_fen"], opened["bidders"][str(b.bidder_no)]) == (RESERVE, "投标企业1有限公司")
        assert found(str(opened), [str(prices[b.bidder_no])])  # the same search finds it now
        watch = await api.http.get(f"{server.http}/hall/tenders/{tender_id}")
        assert found(watch.text, [format_wan(prices[b.bidder_no]).split()[0]])  # and the watchers see it
        await replayed_equals_live(server, tender_id, opened)


async def test_two_valid_bids_end_the_tender(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(**TENDER_ENV)
    server.start()
    api = RecordingApi(server)
    try:
        tender_id, (a, b, _idle), start, deadline = await a_tender(api, server, "HIGHEST_PRICE", 3,
                                                                   opening_after=OPENING_AFTER)
        assert (await refused(api, f"/api/tenders/{tender_id}/open", {}))["code"] == "TENDER_OPENING_NOT_DUE"

        async def cli(price: str, *flags: str, answer: bytes = b"") -> tuple[int, str, str]:
            """b on the command line (clients/tender_cli.py), `answer` typed at its question."""
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "clients.tender_cli", "--server", server.http, tender_id,
                "--bidder-no", str(b.bidder_no), "--price-wan", price, *flags, cwd=ROOT,
                env={**os.environ, "AUCTION_BIDDER_TOKEN": b.token}, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(answer), 60)
            assert proc.returncode is not None
            return proc.returncode, out.decode(), err.decode()

        # Before bids open (nothing is sent either way): a price below the starting price (5000 万元)
        # is refused before it is sealed, --yes or not; a bid not confirmed is not sent.
        code, out, err = await cli("4999.99", "--yes")
        assert (code, out) == (2, "") and "低于起始价 5000 万元" in err and "below the starting price 5000 万元" in err
        code, out, err = await cli("5300", answer=b"n\n")
        assert (code, out) == (4, "") and "人民币伍仟叁佰万元整" in err and "no bid was sent" in err
        code, out, err = await cli("5300")  # no answer at all (a script): the hint to add --yes
        assert (code, out) == (4, "") and "--yes" in err
        await until(start)
        await a.bid(5_200 * WAN)
        with pytest.raises(BelowStartPrice):  # the library refuses it too, before sealing
            await a.bid(4_000 * WAN)
        # b bids from the command line, confirming with y: the receipt and the salt come back.
        code, out, err = await cli("5300", answer=b"y\n")
        assert code == 0, err
        assert json.loads(out)["receipt"]["bidder_no"] == b.bidder_no and "5300 万元" in err
        mine = (await api.http.get(f"/tender/{tender_id}", headers={"authorization": f"Bearer {b.token}"})).json()
        assert mine["you"]["bid"]["receipt"] == json.loads(out)["receipt"]["receipt"]
        # The server is down at the opening time, not at the deadline (it stops after it, its last
        # heartbeat then): nothing is held (RULES 6.7), the next one to start (another node) opens
        # the tender when it starts, once.
        await until(deadline)
        server.stop()
        await until(deadline + timedelta(seconds=OPENING_AFTER))
        node = server_factory(**TENDER_ENV)
        node.start()
        await api.http.aclose()
        api = RecordingApi(node)
        opened = await opened_on_time(api, tender_id)
        assert opened["opening"]["valid_count"] == 2
        assert (opened["result"]["outcome"], opened["result"]["reason"]) == ("TERMINATED", "FEWER_THAN_THREE")
        assert opened["result"]["winner_bidder_no"] is None and opened["result"]["reserve_fen"] is None
        assert (await api.get(f"/api/tenders/{tender_id}/notice")).json()["error"]["code"] == "SESSION_NOT_SOLD"
        await replayed_equals_live(server, tender_id, opened)
    finally:
        await api.http.aclose()


@pytest.mark.parametrize(("token", "price", "words"), [
    ("", "5300", "AUCTION_BIDDER_TOKEN"), ("bt_" + "x" * 40, "1e4", "an amount in 万元 is required"),
    ("bt_" + "x" * 40, "", "an amount in 万元 is required")])
def test_the_command_line_refuses_bad_input_before_asking_the_server(
    token: str, price: str, words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing token is said as such, an amount that is none as such (not both at once); no
    server is asked (none listens on the address)."""
    monkeypatch.setenv("AUCTION_BIDDER_TOKEN", token)
    assert tender_cli(["--server", "http://127.0.0.1:9", "T-X", "--bidder-no", "1", "--price-wan", price]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert ("AUCTION_BIDDER_TOKEN" in err) is (not token) and ("万元 is required" in err) is (price != "5300")


async def test_a_scored_tender_goes_to_the_best_combined_score(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    async with tender_server(server_factory) as (server, api):
        panel = await Committee.register(api, tmp_path, 5)
        tender_id, (a, b, c), start, _deadline = await a_tender(api, server, "SCORING", 3, price_weight=40,
                                                               criteria=CRITERIA)
        error = await refused(api, f"/api/tenders/{tender_id}/panel", {"members": panel.ids[:4]})
        assert error["code"] == "TENDER_PANEL_INVALID"
        await ok(api, f"/api/tenders/{tender_id}/panel", {"members": panel.ids})
        await until(start)
        await a.bid(5_100 * WAN, b"scheme A")
        await b.bid(6_000 * WAN, b"scheme B")
        await c.bid(5_500 * WAN, b"scheme C")
        opened = await opened_on_time(api, tender_id, until_final=False)
        assert opened["phase"] == "OPENED" and opened["result"] is None
        # Everyone rates A's scheme best; C wins on price and design together.
        scores = {str(a.bidder_no): {"scheme": 95, "design": 60}, str(b.bidder_no): {"scheme": 50, "design": 50},
                  str(c.bidder_no): {"scheme": 85, "design": 95}}

        def sheet(member_id: str, key_file: Path) -> dict[str, Any]:
            pairs = [(int(no), list(items.items())) for no, items in scores.items()]
            record = score_sheet_record(tender_id, member_id, pairs)
            signature = signatures.sign(signatures.read_private_key(key_file), record).hex()
            return {"member_id": member_id, "scores": scores, "signature_hex": signature}

        forged = sheet(panel.members[0].member_id, panel.members[1].key_file)
        error = await refused(api, f"/api/tenders/{tender_id}/score-sheets", forged)
        assert error["code"] == "TENDER_SHEET_BAD_SIGNATURE"
        for member in panel.members:
            view = await ok(api, f"/api/tenders/{tender_id}/score-sheets", sheet(member.member_id, member.key_file))
        result = view["result"]
        # price points: 40 x price / 6000; A 34 + 38 + 12 = 84, B 40 + 20 + 10 = 70, C 36.67 + 34 + 19 = 89.67
        assert [r["bidder_no"] for r in result["ranking"]] == [c.bidder_no, a.bidder_no, b.bidder_no]
        assert (result["outcome"], result["winner_bidder_no"], result["price_fen"]) == (
            "AWARDED", c.bidder_no, 5_500 * WAN)
        assert len(result["score_sheets"]) == 5
        notice = await api.get(f"/api/tenders/{tender_id}/notice")  # 中标通知书 (RULES 6.6)
        assert notice.status_code == 200 and "中标通知书" in notice.text
        assert "投标企业2有限公司" in notice.text and format_wan(5_500 * WAN) in notice.text and "综合得分" in notice.text
        await replayed_equals_live(server, tender_id, view)


async def test_the_committee_decides_a_tenders_reserve(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Q26 for a tender created without a reserve: the committee's signed decision is sealed into
    the tender (POST /api/plans/{id}/reserve, as for a session) and judges the evaluation."""
    async with tender_server(server_factory) as (server, api):
        committee = await Committee.register(api, tmp_path, 3)
        tender_id, (a, b, c), start, _deadline = await a_tender(api, server, "HIGHEST_PRICE", 3, reserve_fen=None)
        plan_id = tender_id.removeprefix("T-")
        assert (await api.get(f"/api/tenders/{tender_id}")).json()["reserve_commitment"] is None
        await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))
        decided = (await api.get(f"/api/plans/{plan_id}")).json()["reserve"]
        view = (await api.get(f"/api/tenders/{tender_id}")).json()
        assert view["reserve_commitment"] == decided["commitment"] and decided["has_reserve"] is True
        await until(start)
        await a.bid(5_000 * WAN)  # below the reserve: valid, but it cannot win
        await b.bid(5_100 * WAN)
        await c.bid(5_050 * WAN)
        result = (await opened_on_time(api, tender_id))["result"]
        assert (result["outcome"], result["winner_bidder_no"], result["reserve_fen"]) == (
            "AWARDED", b.bidder_no, RESERVE)
        assert [(r["bidder_no"], r["eligible"]) for r in result["ranking"]] == [
            (b.bidder_no, True), (c.bidder_no, True), (a.bidder_no, False)]
