"""The legal clock end to end (RULES 8, 9) on a real server: a session sold to a bidder
qualified by the fake bank, the deadlines its close starts (Q31 refunds, Q29
publication, Q42 contract) with timers that survive a restart, the transaction
confirmation (N Art.20) as HTML and PDF, settlement figures (Q40-Q41), the
contract signing that starts the Q32 notice, and a refund confirmed by the bank.

The dates themselves, across the real 2026 National Day holiday, and the Q42
default path, need a clock the test can move: tests/storage/test_legal_clock.py.
Here the close is now, so the test asserts what holds on any day: working days
left, states, timers, and that a calendar year can be loaded by the CLI and the API.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from auction.domain.amount_words import fen_to_capital
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank
from tests.e2e.helpers import WAN, Api, WsClient, assert_no_traceback, iso_in, wait_opened
from tests.e2e.test_deposits import DEPOSIT, apply, auction, ledger
from tests.pdf_reading import assert_fonts_embedded, pdf_text

ROOT = Path(__file__).resolve().parents[2]
WINNER = "曲靖市甲房地产开发有限公司"
LOSER = "云南乙置业有限公司"
PRICE = 100 * WAN + 3 * WAN  # the start price, then one raise of 3 increments


def statutory_year_file(year: int) -> str:
    """A year with the statutory holidays only and no make-up day: test data for a year the
    repository and the package do not cover, NOT a notice (it equals the provisional year)."""
    from auction.services.calendar import statutory

    return json.dumps({"year": year, "source": "测试数据 / test data, not a State Council notice",
                       "holidays": [d.isoformat() for d in statutory(year)], "workdays": []},
                      ensure_ascii=False, indent=1)


async def ensure_calendar(server: ServerProcess, api: Api, tmp: Path) -> None:
    """Every year from this one is countable (confirmed or provisional); the first provisional
    year after this one is confirmed through the CLI (`auction calendar load --yes`)."""
    this_year = datetime.now(UTC).year
    r = await api.get("/api/calendar/years")
    assert r.status_code == 200, r.text
    years = {y["year"]: y for y in r.json()}
    assert set(years) >= set(range(2004, 2099 + 1))  # chinese-calendar 1.11, the files, provisional years
    assert years[2026]["from"] == "repository" and years[2026]["notice_date"] == "2025-11-04"
    load = next(y for y in range(this_year + 1, 2100) if years[y]["provisional"])

    path = tmp / "next-year.json"
    path.write_text(statutory_year_file(load), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": server.dsn, "AUCTION_DATA_DIR": str(server.data_dir), "USER": "op-cli"}
    empty = tmp / "empty.json"
    empty.write_text(json.dumps({"year": load, "source": "x", "holidays": [], "workdays": []}), encoding="utf-8")
    said = {}
    # Refused (weekends only), not accepted (no --yes, nobody to answer), then loaded.
    for name, args, code in (("empty", [str(empty), "--yes"], 1), ("asked", [str(path)], 1),
                             ("loaded", [str(path), "--yes"], 0)):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "auction.cli", "calendar", "load", *args, cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == code, (args, (out + err).decode())
        said[name] = (out + err).decode()
    assert f"{empty}:" in said["empty"] and "CALENDAR_STATUTORY_DAY_MISSING" in said["empty"]
    assert "CALENDAR_NOT_ACCEPTED" in said["asked"] and "0 days differ" in said["asked"]
    assert f"calendar {load} loaded" in said["loaded"]

    bad = await api.post("/api/calendar/years", content=b'{"year": 2031}',
                         headers={"content-type": "application/json"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "CALENDAR_FILE_INVALID")
    years = {y["year"]: y for y in (await api.get("/api/calendar/years")).json()}
    assert years[load]["from"] == "operator" and years[load]["loaded_by"] == "op-cli"
    assert years[load]["provisional"] is False


async def session_clock(api: Api, session_id: str, timeout: float = 30) -> dict[str, Any]:
    """The session's post-trade record, once the close has booked it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        r = await api.get(f"/api/sessions/{session_id}/deadlines")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["closing"] is not None:
            return body
        assert loop.time() < end, f"the close of {session_id} was not booked: {body}"
        await asyncio.sleep(0.2)


def by_kind(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in body["deadlines"]}


async def test_a_sale_starts_the_clock_and_its_timers_survive_a_restart(
    server_factory: Any, tmp_path: Path
) -> None:
    server = server_factory(**BANK_ENV)
    server.start()
    api = Api(server)
    bank = FakeBank(server)
    try:
        await ensure_calendar(server, api, tmp_path)

        # Two applications, two payments and two tokens come before the start: ample time for them.
        session = await auction(api, start_in=5, countdown=3)
        sid = session["terms"]["session_id"]
        win = await apply(api, sid, WINNER, "91530300MA6K00001A")
        lose = await apply(api, sid, LOSER, "91530000MA6K00002B")
        for app, name in ((win, WINNER), (lose, LOSER)):
            sent = await bank.pay(app["sub_account"], DEPOSIT, name)
            assert sent.body["qualified_now"] is True, sent.body
        tokens = {}
        for app in (win, lose):
            r = await api.post(f"/api/applications/{app['application_id']}/issue-token", {"by": "op:li"})
            assert r.status_code == 201, r.text
            tokens[app["application_id"]] = r.json()["token"]

        client = await WsClient.join(server.ws, sid, tokens[win["application_id"]])
        try:
            await wait_opened(client)
            assert (await client.bid(PRICE))["type"] == "ack"
            closed = await client.wait_event("SessionClosed", timeout=30)
            assert closed["data"]["outcome"] == "SOLD", closed
        finally:
            await client.close()

        body = await session_clock(api, sid)
        assert body["closing"]["outcome"] == "SOLD"
        assert body["closing"]["winner_application_id"] == win["application_id"]
        rows = by_kind(body)
        assert sorted(rows) == ["CONTRACT_SIGNING", "DEPOSIT_REFUND", "RESULT_PUBLICATION"]
        assert rows["DEPOSIT_REFUND"]["subject"] == lose["sub_account"]
        assert rows["CONTRACT_SIGNING"]["subject"] == win["application_id"]
        expected_left = {"DEPOSIT_REFUND": 3, "RESULT_PUBLICATION": 10, "CONTRACT_SIGNING": 10}
        for kind, row in rows.items():
            assert (row["state"], row["working_days_left"], row["rule"]) == (
                "PENDING", expected_left[kind], {"DEPOSIT_REFUND": "Q31", "RESULT_PUBLICATION": "Q29",
                                                 "CONTRACT_SIGNING": "Q42"}[kind]), row
            assert row["timer_at"] is not None and row["due_at"].endswith("23:59:59.999999+08:00"), row
        open_ids = {d["deadline_id"] for d in (await api.get("/api/deadlines")).json()}
        assert {r["deadline_id"] for r in rows.values()} <= open_ids

        # The identities are the operators' now (RULES 8.1); the deposits have their fate (Q31).
        apps = {a["application_id"]: a for a in (await api.get(f"/api/sessions/{sid}/applications")).json()}
        assert apps[win["application_id"]]["bidder_no"] is not None
        assert apps[win["application_id"]]["deposit"]["APPLIED_TO_PRICE"] == DEPOSIT
        assert apps[lose["application_id"]]["deposit"]["HELD_FOR_REFUND"] == DEPOSIT
        await ledger(api)

        # 成交确认书 (N Art.20): seller, winner, parcel, time, price, where and by when to sign.
        due = date.fromisoformat(rows["CONTRACT_SIGNING"]["due_date"])
        r = await api.get(f"/api/sessions/{sid}/confirmation")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        for text in ("成交确认书", "曲靖市自然资源和规划局", WINNER, "91530300MA6K00001A", "曲靖-QJ2026-031",
                     "103 万元", "1,030,000.00 元", f"{PRICE:,} 分", "人民币" + fen_to_capital(PRICE),
                     f"{due:%Y年%m月%d日}", "签订《国有建设用地使用权出让合同》",
                     f"人民币 {DEPOSIT // WAN} 万元（{DEPOSIT:,} 分），抵作土地出让价款"):
            assert text in page, text
        # As the house writes them: dates zero-padded, the deposit in 万元, the fen grouped.
        assert not re.search(r"\d{4}年\d月|月\d日", page) and f"{PRICE} 分" not in page, page
        assert fen_to_capital(PRICE) == "壹佰零叁万元整"
        pdf = await api.http.get(f"/api/sessions/{sid}/confirmation.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert_fonts_embedded(pdf.content)  # any reader shows it, Chinese fonts or not
        pdf_words = re.sub(r"\s+", "", pdf_text(pdf.content))
        assert "人民币" + fen_to_capital(PRICE) in pdf_words and f"{due:%Y年%m月%d日}" in pdf_words
        assert f"{DEPOSIT // WAN}万元（{DEPOSIT:,}分）" in pdf_words and f"{PRICE:,}分" in pdf_words

        # Settlement figures (Q40: net split 4:6; Q41: 15% for pre-reform stored land).
        r = await api.post(f"/api/sessions/{sid}/settlement", {
            "by": "finance:zhao",
            "deductions": [{"name": "国有土地收益基金", "kind": "NATIONAL_FUND", "amount_fen": 3 * WAN},
                           {"name": "区级专项资金", "kind": "DISTRICT_FUND", "amount_fen": WAN},
                           {"name": "土地储备成本", "kind": "LAND_COST", "amount_fen": 40 * WAN}]})
        assert r.status_code == 201, r.text
        figures = r.json()["figures"]
        assert (figures["net"], figures["city_share"], figures["district_share"], figures["district_total"]) == (
            59 * WAN, 23_600_000, 35_400_000, 36_400_000)
        r = await api.post(f"/api/sessions/{sid}/settlement", {"pre_reform": True, "land_use_code": "0601"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "Q41_NOT_COMMERCIAL_OR_RESIDENTIAL")
        r = await api.post(f"/api/sessions/{sid}/settlement", {"pre_reform": True, "land_use_code": "0701"})
        assert r.status_code == 201 and r.json()["figures"]["city_share"] == 15_450_000
        shown = (await api.get(f"/api/sessions/{sid}/settlement")).json()
        assert (shown["regime"], shown["versions"]) == ("Q41_PRE_REFORM_STORED", 2)
        other = await auction(api, start_in=300)
        r = await api.get(f"/api/sessions/{other['terms']['session_id']}/confirmation")
        assert (r.status_code, r.json()["error"]["code"]) == (422, "SESSION_NOT_SOLD")

        # A restart: every open row's timer is rebuilt from the table.
        server.stop()
        server.start()
        after = by_kind(await session_clock(api, sid))
        for kind, row in after.items():
            assert (row["state"], row["due_at"]) == (rows[kind]["state"], rows[kind]["due_at"])
            assert row["timer_at"] == rows[kind]["timer_at"] and row["timer_at"] is not None, row

        # Not before the sale it follows, nor in the future (Q42): refused, nothing recorded.
        path = f"/api/sessions/{sid}/contract-signed"
        early = await api.post(path, {"by": "op:li", "signed_at": iso_in(-3600)})
        assert (early.status_code, early.json()["error"]["code"]) == (422, "CONTRACT_BEFORE_SALE"), early.text
        assert early.json()["error"]["details"]["closed_at"] == after["CONTRACT_SIGNING"]["started_at"]
        ahead = await api.post(path, {"by": "op:li", "signed_at": iso_in(3600)})
        assert (ahead.json()["error"]["code"], ahead.json()["error"]["details"]["field"]) == ("INVALID_FIELD",
                                                                                           "signed_at")
        assert by_kind(await session_clock(api, sid))["CONTRACT_SIGNING"]["state"] == "PENDING"

        # The contract is signed: the Q32 notice is due 3 working days later.
        signed = await api.post(f"/api/sessions/{sid}/contract-signed", {"by": "op:li", "signed_at": iso_in(-1)})
        assert signed.status_code == 200, signed.text
        assert signed.json()["contract"]["state"] == "DONE" and signed.json()["contract"]["done_late"] is False
        q32 = signed.json()["q32_notice"]
        assert (q32["kind"], q32["state"], q32["working_days_left"], q32["rule"]) == ("Q32_NOTICE", "PENDING", 3, "Q32")
        again = await api.post(f"/api/sessions/{sid}/contract-signed", {"by": "op:li", "signed_at": iso_in(-1)})
        assert again.json()["error"]["code"] == "DEADLINE_ALREADY_DONE"

        # The bank confirms the loser's refund; the result is published.
        refund_id = after["DEPOSIT_REFUND"]["deadline_id"]
        r = await api.post(f"/api/deadlines/{refund_id}/done", {"by": "op:li", "done_at": iso_in(-1)})
        assert r.json()["error"]["code"] == "INVALID_FIELD"
        r = await api.post(f"/api/deadlines/{refund_id}/done",
                           {"by": "bank:ICBC-QJ", "done_at": iso_in(-1), "bank_txn_id": "R-20261201-01"})
        assert r.status_code == 200 and r.json()[0]["state"] == "DONE", r.text
        r = await api.post(f"/api/deadlines/{after['RESULT_PUBLICATION']['deadline_id']}/done",
                           {"by": "op:wang", "done_at": iso_in(-1)})
        assert r.status_code == 200 and r.json()[0]["done_late"] is False, r.text
        apps = {a["application_id"]: a for a in (await api.get(f"/api/sessions/{sid}/applications")).json()}
        assert apps[lose["application_id"]]["deposit"]["REFUNDED"] == DEPOSIT
        assert apps[lose["application_id"]]["deposit"]["HELD_FOR_REFUND"] == 0
        still_open = [d for d in (await api.get("/api/deadlines")).json() if d["session_id"] == sid]
        assert [d["kind"] for d in still_open] == ["Q32_NOTICE"]
        await ledger(api)
        assert_no_traceback(server.log_text())
    finally:
        await bank.close()
        await api.http.aclose()
