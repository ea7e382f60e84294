"""Publication (Q29) end to end: a parcel is announced and sold through the API of a
real server, and its announcement and result reach a real HTTP receiver standing in
for the China Land Market website (JSON) and the provincial trading platform (XML).

The receiver fails on purpose (HTTP 500, timeouts, dropped connections) while the
server is killed with SIGKILL and restarted; when the receiver recovers, each
document has arrived exactly once per channel, in order per parcel, and only then
does the Q29 check count the result as published. The public pages are read
without JavaScript (headless Chromium when installed, else HTML parsed from httpx).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

from loadtests.harness import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, closed_event, wait_opened
from tests.e2e.plan_flow import COMPRESSED, INCREMENT, START_PRICE, Committee, announced_plan, ok, refused, session_of, today
from tests.e2e.publication_receiver import Receiver

RESERVE = 5_005 * WAN + 777  # fen: never to appear on an announcement page
PRICE = 5_010 * WAN + 4_567  # fen: the winning bid, 5010.004567 万元
WINNER = "曲靖珠源置业有限公司"
LOSER = "云南某某投资有限公司"
SUPERVISION_NO = "5303022026B00123"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class Text(HTMLParser):
    """The visible text of a page, and whether it has any script."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" or any(name.startswith("on") for name, _ in attrs):
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


async def page_text(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no script may run
    parser = Text()
    parser.feed(r.text)
    assert parser.scripts == 0, path
    return parser.text


def result_body() -> dict[str, Any]:
    d = today()
    return {
        "by": "op-li",
        "project_name": "珠江源大道住宅项目",
        "land_source": "现有建设用地",
        "industry": "房地产业",
        "land_grade": "二级",
        "installments": [
            {"due_date": (d + timedelta(days=30)).isoformat(), "amount_fen": PRICE // 2, "note": "首期50%"},
            {"due_date": (d + timedelta(days=180)).isoformat(), "amount_fen": PRICE - PRICE // 2},
        ],
        "delivery_date": (d + timedelta(days=60)).isoformat(),
        "construction_start_date": (d + timedelta(days=240)).isoformat(),
        "completion_date": (d + timedelta(days=1100)).isoformat(),
        "contract_date": d.isoformat(),
    }


async def sign_contract(api: Api, plan_id: str) -> None:
    """The contract's signing recorded on the Q42 row, now (after the sale: CONTRACT_BEFORE_SALE
    before it): the result quotes its date (CONTRACT_NOT_RECORDED before, CONTRACT_DATE_MISMATCH
    otherwise)."""
    session_id = (await api.get(f"/api/plans/{plan_id}")).json()["session"]["session_id"]

    async def row_exists() -> bool:  # the close's bookkeeping writes the Q42 row after the close
        rows = (await api.get(f"/api/sessions/{session_id}/deadlines")).json()["deadlines"]
        return any(d["kind"] == "CONTRACT_SIGNING" for d in rows)

    await wait_until(row_exists, 60, "the Q42 row")
    r = await api.post(f"/api/sessions/{session_id}/contract-signed",
                       {"by": "op-li", "signed_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 200, r.text


async def sell(server: ServerProcess, session_id: str, winner_token: str, loser_token: str) -> dict[str, Any]:
    """The loser bids the start, the winner PRICE: the session's SessionClosed."""
    a = await WsClient.join(server.ws, session_id, winner_token)
    b = await WsClient.join(server.ws, session_id, loser_token)
    try:
        await wait_opened(a)
        assert (await b.bid(START_PRICE))["type"] == "ack"
        assert (await a.bid(PRICE))["type"] == "ack"
        closed: dict[str, Any] = await a.wait_event("SessionClosed", timeout=30)
    finally:
        await close_all(a, b)
    return closed


async def deliveries(api: Api) -> list[dict[str, Any]]:
    r = await api.get("/api/publications")
    assert r.status_code == 200, r.text
    listed: list[dict[str, Any]] = r.json()
    return listed


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_documents_arrive_once_in_order_across_failures_and_a_kill(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    receiver = Receiver(keys={"landchina": b"landchina-hmac-key-0123456789", "province": b"province-hmac-key-abcdefgh"},
                        formats={"landchina": "json", "province": "xml"}, hang_seconds=2.0)
    await receiver.start()
    env = {**COMPRESSED, "AUCTION_CHANNELS": receiver.env(), "AUCTION_PUBLICATION_RETRY_BASE_SECONDS": "0.1",
           "AUCTION_PUBLICATION_RETRY_CAP_SECONDS": "0.8", "AUCTION_PUBLICATION_MAX_ATTEMPTS": "200",
           "AUCTION_PUBLICATION_TIMEOUT_SECONDS": "1", "AUCTION_PUBLICATION_POLL_SECONDS": "0.2"}
    server = server_factory(**env)
    await asyncio.to_thread(server.start)
    try:
        async with Api(server) as api, httpx.AsyncClient(base_url=server.http, trust_env=False) as public:
            committee = await Committee.register(api, tmp_path, 2)
            plan_id, start = await announced_plan(api, "AUCTION", start_in=9.0)
            announcement_id, result_id = f"ANN-{plan_id}", f"RES-{plan_id}"

            # The announcement was written with PlanAnnounced; the receiver is failing.
            async def failed_a_few() -> bool:
                return sum(receiver.failures.values()) >= 4

            await wait_until(failed_a_few, 30, "failed attempts")
            listed = {d["document_id"]: d for d in await deliveries(api)}
            ann = listed[announcement_id]
            assert {d["channel"] for d in ann["deliveries"]} == {"landchina", "province"}
            assert not ann["confirmed"] and all(d["state"] == "PENDING" for d in ann["deliveries"])
            assert any(d["last_error"] for d in ann["deliveries"])

            session_id = await session_of(api, plan_id, countdown=3)
            await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))
            winner, loser = await api.qualify(session_id, WINNER), await api.qualify(session_id, LOSER)

            # Before the close: nothing names a bidder or the reserve; no result exists.
            text = await page_text(public, f"/public/announcements/{announcement_id}")
            assert "宗地编号" in text and "起始价(万元)" in text and "5000" in text
            # The center's transparency key is published with the announcement (docs/protocol.md section 9).
            key = (await public.get("/public/transparency/key")).json()
            fields = (await public.get(f"/public/documents/{announcement_id}.json")).json()["fields"]
            assert (fields["transparency_key_id"], fields["transparency_public_key"]) == (key["key_id"],
                                                                                          key["public_key"])
            assert "交易系统透明日志公钥" in text and key["public_key"] in text
            raw = (await public.get(f"/public/documents/{announcement_id}.json")).text + text
            for secret in (WINNER, LOSER, str(RESERVE), "5005.000777"):
                assert secret not in raw
            assert (await public.get(f"/public/results/{result_id}")).status_code == 404
            early = await refused(api, f"/api/plans/{plan_id}/result", result_body())
            assert early["code"] == "SESSION_NOT_SOLD"

            closed = await sell(server, session_id, winner.token, loser.token)
            assert (closed["data"]["outcome"], closed["data"]["price_fen"]) == ("SOLD", PRICE)

            # The result needs the 电子监管号 first.
            missing = await refused(api, f"/api/plans/{plan_id}/result", result_body())
            assert missing["code"] == "SUPERVISION_NUMBER_REQUIRED"
            bad = await refused(api, f"/api/plans/{plan_id}/supervision-number", {"by": "op-li", "supervision_no": "123"})
            assert bad["code"] == "SUPERVISION_NUMBER_REQUIRED" and bad["details"]["problem"] == "length"
            # A real number, but of 顺德区: not this parcel's 行政区 (曲靖市, AUCTION_REGION_CODE).
            elsewhere = await refused(api, f"/api/plans/{plan_id}/supervision-number",
                                      {"by": "op-li", "supervision_no": "4406062019BI7595"})
            assert elsewhere["code"] == "SUPERVISION_NO_REGION_MISMATCH"
            await ok(api, f"/api/plans/{plan_id}/supervision-number", {"by": "op-li", "supervision_no": SUPERVISION_NO})
            # The result quotes the contract's signing as the Q42 row records it: none yet, refused.
            unsigned = await refused(api, f"/api/plans/{plan_id}/result", result_body())
            assert unsigned["code"] == "CONTRACT_NOT_RECORDED" and unsigned["details"]["field"] == "contract_date"
            await sign_contract(api, plan_id)
            other_day = {**result_body(), "contract_date": (today() - timedelta(days=1)).isoformat()}
            mismatch = await refused(api, f"/api/plans/{plan_id}/result", other_day)
            assert mismatch["code"] == "CONTRACT_DATE_MISMATCH" and mismatch["details"]["recorded"] == today().isoformat()
            document = await ok(api, f"/api/plans/{plan_id}/result", result_body(), 201)
            assert document["fields"]["holder"] == WINNER and document["fields"]["price_wan"] == "5010.004567"
            again = await api.post(f"/api/plans/{plan_id}/result", result_body())
            assert again.status_code == 409 and again.json()["error"]["code"] == "RESULT_ALREADY_PUBLISHED"
            q29 = (await api.get(f"/api/plans/{plan_id}/publication")).json()
            assert q29["met"] is False and q29["required_channels"] == ["landchina", "province"]
            # Q29 counts as met only once every channel confirmed: the deadline cannot be ticked off before.
            publication_deadline = next(
                d for d in (await api.get("/api/deadlines")).json()
                if d["session_id"] == session_id and d["kind"] == "RESULT_PUBLICATION")
            early_done = await api.post(f"/api/deadlines/{publication_deadline['deadline_id']}/done",
                                        {"by": "op-li", "done_at": datetime.now(UTC).isoformat()})
            assert early_done.json()["error"]["code"] == "Q29_RESULT_NOT_DELIVERED", early_done.text

            # SIGKILL while deliveries of both documents are failing, then start again on
            # the same database (after the session: a restart before its start could
            # take longer than the time left to the start on a loaded machine).
            server.kill()
            await asyncio.to_thread(server.start)

            # The channels recover: everything arrives.
            assert {"500", "timeout", "drop"} <= set(receiver.failures)
            receiver.failing = False

            async def all_confirmed() -> bool:
                return all(d["confirmed"] for d in await deliveries(api)) and len(receiver.accepted) == 4

            await wait_until(all_confirmed, 60, "all deliveries confirmed")
            assert receiver.problems == []
            assert sorted(receiver.accepted) == sorted(
                f"{doc}:{ch}" for doc in (announcement_id, result_id) for ch in ("landchina", "province"))
            parcel_no = document["parcel_no"]
            for channel in ("landchina", "province"):
                assert receiver.order[(parcel_no, channel)] == [announcement_id, result_id]  # in order, once each
            assert all(key in receiver.accepted for key, _ in receiver.duplicates)  # repeats only of the same key

            q29 = (await api.get(f"/api/plans/{plan_id}/publication")).json()
            assert q29["met"] is True and q29["confirmed_at"].endswith("+08:00")
            done = await api.post(f"/api/deadlines/{publication_deadline['deadline_id']}/done",
                                  {"by": "op-li", "done_at": datetime.now(UTC).isoformat()})
            assert done.status_code == 200 and done.json()[0]["state"] == "DONE", done.text
            detail = (await api.get(f"/api/publications/{announcement_id}")).json()
            errors = " ".join(str(x["error"]) for x in detail["attempts"])
            assert "HTTP 500" in errors and "timeout" in errors
            assert {x["node_id"] for x in detail["attempts"]} and len(detail["attempts"]) >= 4
            assert all(d["state"] == "DELIVERED" and re.fullmatch(r'\{"receipt_no": "[A-Z]+-\d{6}".*', d["receipt"])
                       for d in detail["deliveries"])
            # Nothing left to retry; a retry of a delivered document changes nothing.
            retried = await ok(api, f"/api/publications/{announcement_id}/retry", {})
            assert retried["rescheduled"] == 0

            await check_public_pages(server, public, announcement_id, result_id, parcel_no)
        assert "Traceback" not in server.log_text()
    finally:
        await receiver.stop()


async def check_public_pages(server: ServerProcess, public: httpx.AsyncClient, announcement_id: str,
                             result_id: str, parcel_no: str) -> None:
    lists = await page_text(public, "/public/announcements") + await page_text(public, "/public/results")
    assert parcel_no in lists
    assert "国有建设用地使用权" in lists and "出让公告（" in lists  # listed by 公告标题, its 公告编号 beside it
    result = await page_text(public, f"/public/results/{result_id}")
    for text in (WINNER, "5010.004567", SUPERVISION_NO, "拍卖出让", "城镇住宅用地", "土地使用权人", "电子监管号"):
        assert text in result, text
    assert LOSER not in result and str(RESERVE) not in result
    feed = await public.get("/public/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    import xml.etree.ElementTree as ET

    atom = ET.fromstring(feed.text)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = [e.findtext("a:id", namespaces=ns) for e in atom.findall("a:entry", ns)]
    assert f"urn:land-publication:{result_id}" in ids and f"urn:land-publication:{announcement_id}" in ids
    xml = await public.get(f"/public/documents/{result_id}.xml")
    assert ET.fromstring(xml.text).findtext("fields/holder") == WINNER
    assert (await public.get("/public/documents/NOPE.json")).status_code == 404

    if not (CHROMIUM.exists() and shutil.which(str(CHROMIUM)) and importlib.util.find_spec("playwright")):
        return  # the httpx checks above stand in
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(java_script_enabled=False)  # readable without JavaScript
            page = await context.new_page()
            await page.goto(f"{server.http}/public/results")
            await page.click(f"a[href='/public/results/{result_id}']")
            assert (await page.inner_text("#f-holder td")).strip() == WINNER
            assert (await page.inner_text("#f-price_wan td")).strip() == "5010.004567"
            assert await page.locator("table.installments tbody tr").count() == 2
            await page.goto(f"{server.http}/public/announcements/{announcement_id}")
            # As the site writes them for people: 公顷 to six places, times to the minute in 年月日时分.
            assert (await page.inner_text("#f-area_hectares td")).strip() == "2.000000"
            assert re.fullmatch(r"\d{4}年\d{2}月\d{2}日\d{2}时\d{2}分",
                                (await page.inner_text("#f-deposit_deadline td")).strip())
            body = await page.inner_text("body")
            assert WINNER not in body and "国有建设用地使用权出让公告" in body
        finally:
            await browser.close()


async def test_a_delivery_past_the_retry_limit_waits_for_an_operator_and_keeps_the_order(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    receiver = Receiver(keys={"landchina": b"landchina-hmac-key-0123456789"}, formats={"landchina": "json"},
                        failure_modes=("500",))
    await receiver.start()
    server = server_factory(**{**COMPRESSED, "AUCTION_CHANNELS": receiver.env(),
                               "AUCTION_PUBLICATION_RETRY_BASE_SECONDS": "0.05",
                               "AUCTION_PUBLICATION_MAX_ATTEMPTS": "2", "AUCTION_PUBLICATION_POLL_SECONDS": "0.2"})
    await asyncio.to_thread(server.start)
    try:
        async with Api(server) as api:
            plan_id, _ = await announced_plan(api, "LISTING", start_in=60)
            document_id = f"ANN-{plan_id}"

            async def given_up() -> bool:
                r = (await api.get(f"/api/publications/{document_id}")).json()
                return bool(r["deliveries"][0]["state"] == "FAILED")

            await wait_until(given_up, 30, "the retry limit")
            view = (await api.get(f"/api/publications/{document_id}")).json()
            assert view["deliveries"][0]["attempts"] == 2 and view["deliveries"][0]["last_error"] == "HTTP 500"
            assert [a["http_status"] for a in view["attempts"]] == [500, 500]
            receiver.failing = False
            # FAILED stays failed until an operator acts. The barrier: another plan's
            # announcement (another parcel, so not held back by the order) is delivered,
            # so the worker has looked at the outbox since, and passed the failed row by.
            other_id, _ = await announced_plan(api, "LISTING", start_in=60)

            async def other_delivered() -> bool:
                return f"ANN-{other_id}:landchina" in receiver.accepted

            await wait_until(other_delivered, 30, "another plan's announcement")
            assert f"{document_id}:landchina" not in receiver.accepted
            unknown = await api.post("/api/publications/ANN-NOPE/retry", {})
            assert unknown.status_code == 404
            retried = await ok(api, f"/api/publications/{document_id}/retry", {"channel": "landchina"})
            assert retried["rescheduled"] == 1

            async def delivered() -> bool:
                return f"{document_id}:landchina" in receiver.accepted

            await wait_until(delivered, 30, "the retried delivery")
            assert receiver.problems == []
            view = (await api.get(f"/api/publications/{document_id}")).json()
            assert view["deliveries"][0]["state"] == "DELIVERED" and view["deliveries"][0]["attempts"] == 1
            assert len(view["attempts"]) == 3
            async with httpx.AsyncClient(base_url=server.http, trust_env=False) as anonymous:
                assert (await anonymous.get("/api/publications")).status_code == 401
        assert "Traceback" not in server.log_text()
    finally:
        await receiver.stop()


@contextlib.asynccontextmanager
async def healthy_channels(server_factory: Callable[..., ServerProcess]
                           ) -> AsyncIterator[tuple[ServerProcess, Receiver]]:
    """A server publishing to both test channels of a receiver that does not fail."""
    receiver = Receiver(keys={"landchina": b"landchina-hmac-key-0123456789", "province": b"province-hmac-key-abcdefgh"},
                        formats={"landchina": "json", "province": "xml"}, failing=False)
    await receiver.start()
    server = server_factory(**{**COMPRESSED, "AUCTION_CHANNELS": receiver.env(),
                               "AUCTION_PUBLICATION_POLL_SECONDS": "0.2"})
    await asyncio.to_thread(server.start)
    try:
        yield server, receiver
    finally:
        await receiver.stop()


async def test_an_announcement_change_reaches_every_channel_after_the_announcement(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """RULES 3.1 / Q29: a change to a published announcement (变更公告) is published
    on the same channels, after the announcement it changes (per parcel and channel),
    and listed with the announcements on the public pages; a late change shows the
    schedule pushed back. The plan states its prices per floor area (元/建筑平方米): the totals are
    derived, and the announcement shows both to every channel."""
    async with healthy_channels(server_factory) as (server, receiver):
        async with Api(server) as api, httpx.AsyncClient(base_url=server.http, trust_env=False) as public:
            # 1000 元 and 2 元 per m² over 20000 m² x 2.5: 5000 万元 and 10 万元
            plan_id, _ = await announced_plan(api, "LISTING", start_in=60, start_price_fen=0, increment_fen=0,
                                              start_fen_per_floor_m2=100_000, increment_fen_per_floor_m2=200)
            view = (await api.get(f"/api/plans/{plan_id}")).json()
            assert (view["start_price_fen"], view["increment_fen"]) == (START_PRICE, INCREMENT)
            now = datetime.now(UTC).isoformat()
            await ok(api, f"/api/plans/{plan_id}/announcement-change",
                     {"by": "op-li", "published_at": now, "reason": "更正联系方式", "content": "联系电话改为 0874-3100000"})
            change_id = f"CHG-{plan_id}-1"

            async def all_delivered() -> bool:
                return all(f"{d}:{c}" in receiver.accepted for d in (f"ANN-{plan_id}", change_id)
                           for c in ("landchina", "province"))

            await wait_until(all_delivered, 15, "the announcement and its change")
            assert receiver.problems == []
            for channel in ("landchina", "province"):
                assert receiver.order[(receiver.accepted[change_id + ":landchina"].document["parcel_no"], channel)] \
                    == [f"ANN-{plan_id}", change_id]
            fields = receiver.accepted[f"{change_id}:province"].document["fields"]
            assert (fields["change_no"], fields["reason"], fields["pushed_back_days"]) == ("1", "更正联系方式", "0")
            announced = receiver.accepted[f"ANN-{plan_id}:landchina"].document["fields"]
            assert (announced["floor_area_m2"], announced["start_price_yuan_per_floor_m2"],
                    announced["increment_yuan_per_floor_m2"], announced["announcement_type"]) == (
                "50000.00", "1000", "2", "挂牌出让公告")

            listing = await page_text(public, "/public/announcements")
            assert "变更公告（第1次）" in listing
            detail = await page_text(public, f"/public/announcements/{change_id}")
            assert "国有建设用地使用权出让变更公告" in detail and "联系电话改为 0874-3100000" in detail
            assert (await public.get(f"/public/results/{change_id}")).status_code == 404
            feed = (await public.get("/public/feed.atom")).text
            assert f"urn:land-publication:{change_id}" in feed
            listed = (await api.get("/api/publications?kind=ANNOUNCEMENT_CHANGE")).json()
            assert [d["document_id"] for d in listed] == [change_id] and listed[0]["confirmed"]
        assert "Traceback" not in server.log_text()


async def test_an_unsold_session_has_its_result_published_and_q29_can_be_met(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """RULES 8.3: the result is published whatever it was. A plan's auction ends with no
    bid (流拍): its RESULT_PUBLICATION deadline could never be met before, since only a
    sale had a result. Now the unsold notice goes to every channel (no 电子监管号, no
    price, no bidder, no reserve), and once confirmed the deadline is done."""
    async with healthy_channels(server_factory) as (server, receiver):
        async with Api(server) as api, httpx.AsyncClient(base_url=server.http, trust_env=False) as public:
            committee = await Committee.register(api, tmp_path, 2)
            plan_id, _ = await announced_plan(api, "AUCTION", start_in=9.0)
            result_id = f"RES-{plan_id}"
            session_id = await session_of(api, plan_id, countdown=1)
            await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))
            await api.qualify(session_id, WINNER)
            await api.qualify(session_id, LOSER)  # two bidders, and neither bids
            early = await refused(api, f"/api/plans/{plan_id}/result-unsold", {"by": "op-li"})
            assert early["code"] == "SESSION_NOT_SOLD"  # not ended yet
            closed = await closed_event(server.ws, session_id)
            assert (closed["data"]["outcome"], closed["data"]["reason"]) == ("UNSOLD", "NO_BIDS")
            assert (await refused(api, f"/api/plans/{plan_id}/result", result_body()))["code"] == "SESSION_NOT_SOLD"

            document = await ok(api, f"/api/plans/{plan_id}/result-unsold", {"by": "op-li"}, 201)
            assert document["document_id"] == result_id and document["kind"] == "RESULT_UNSOLD"
            assert (document["fields"]["outcome"], document["fields"]["reason"]) == ("流拍", "无人报价，流拍")
            again = await api.post(f"/api/plans/{plan_id}/result-unsold", {"by": "op-li"})
            assert again.status_code == 409 and again.json()["error"]["code"] == "RESULT_ALREADY_PUBLISHED"

            async def confirmed() -> bool:
                return bool((await api.get(f"/api/plans/{plan_id}/publication")).json()["met"])

            await wait_until(confirmed, 15, "the unsold result confirmed on every channel")
            assert receiver.problems == []
            for channel in ("landchina", "province"):
                assert f"{result_id}:{channel}" in receiver.accepted
            deadline = next(d for d in (await api.get("/api/deadlines")).json()
                            if d["session_id"] == session_id and d["kind"] == "RESULT_PUBLICATION")
            backdated = await api.post(f"/api/deadlines/{deadline['deadline_id']}/done",
                                       {"by": "op-li", "done_at": closed_at_iso(closed)})
            assert backdated.json()["error"]["details"]["field"] == "done_at", backdated.text  # before confirmation
            done = await api.post(f"/api/deadlines/{deadline['deadline_id']}/done",
                                  {"by": "op-li", "done_at": datetime.now(UTC).isoformat()})
            assert done.status_code == 200 and done.json()[0]["state"] == "DONE", done.text

            listing = await page_text(public, "/public/results")
            assert "结果公示（流拍）" in listing
            text = await page_text(public, f"/public/results/{result_id}")
            assert "国有建设用地使用权出让结果公示（未成交）" in text and "无人报价，流拍" in text
            raw = (await public.get(f"/public/documents/{result_id}.json")).text + text
            assert str(RESERVE) not in raw and "5005.000777" not in raw
        assert "Traceback" not in server.log_text()


def closed_at_iso(closed: dict[str, Any]) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(closed["at_us"]))).isoformat()
