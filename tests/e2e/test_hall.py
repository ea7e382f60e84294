"""The public trading hall (交易大厅), the layout's HTML 404 and the language switch,
against a real server: sessions as the demo makes them (a listing with a sealed reserve
and named bidders, an auction tomorrow, one that has closed) and one made from an
announced supply plan (its parcel's location and area). Nothing in the hall's HTML or
on its WebSocket tells the reserve, a bidder's name or a token before the close."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from auction.domain.china import CST
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened
from tests.e2e.plan_flow import COMPRESSED, announced_plan, session_of

RESERVE = 8_040 * WAN
NAMES = ("云岭置业有限公司", "珠江城建集团有限公司")


def tomorrow_at_ten() -> str:
    day = datetime.now(CST).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=CST).isoformat()


def section(html: str, group: str) -> str:
    match = re.search(rf'<table class="grid stack" id="hall-{group}">(.*?)</table>', html, re.S)
    assert match, group
    return match.group(1)


async def test_the_hall_lists_sessions_and_watches_them_as_any_watcher(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory(**COMPRESSED)
    server.start()
    async with Api(server) as api, httpx.AsyncClient(base_url=server.http, timeout=30, trust_env=False) as public:
        listing = await api.listing(bidders=0, reserve=RESERVE, start_in=1, listing_seconds=600,
                                    start_price=8_000 * WAN, increment=50 * WAN, countdown=120)
        bidders = [await api.qualify(listing.id, name) for name in NAMES]
        tomorrow = await api.create(method="AUCTION", parcel_ref="曲靖市马龙区 QJ2026-025 号地块", start_price_fen=5_200 * WAN,
                                    increment_fen=30 * WAN, deposit_fen=1_040 * WAN, start_at=tomorrow_at_ten())
        closing = await api.auction(bidders=1, start_in=1, countdown=1)
        plan_id, _ = await announced_plan(api, start_in=3600)
        planned = await session_of(api, plan_id, countdown=60)

        # A real bidder bids on the listing over the WebSocket; the hall's watcher sees it.
        watcher = await WsClient.join(server.ws, listing.id)
        bidder = await WsClient.join(server.ws, listing.id, bidders[0].token)
        await wait_opened(bidder)
        ack = await bidder.bid(8_000 * WAN)
        assert ack["type"] == "ack", ack
        seen = await watcher.wait_event("BidAccepted")
        assert seen["data"]["amount_fen"] == 8_000 * WAN and seen["data"]["bidder_no"] == bidders[0].bidder_no
        closer = await WsClient.join(server.ws, closing.id, last_seq=0)  # the log from the start
        await closer.wait_event("SessionClosed")

        home = await public.get("/")
        assert home.status_code == 200 and 'href="/hall"' in home.text and 'href="/public/announcements"' in home.text

        r = await public.get("/hall")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        html = r.text
        assert "交易大厅" in html and "国有建设用地使用权网上交易" in html
        today, upcoming, closed = section(html, "today"), section(html, "upcoming"), section(html, "closed")
        assert listing.id in today and "挂牌" in today and "8000 万元" in today and "50 万元" in today
        assert tomorrow["terms"]["session_id"] in upcoming and "10时00分" in upcoming and "拍卖" in upcoming
        assert "5200 万元" in upcoming and "30 万元" in upcoming
        assert closing.id in closed and "已结束" in closed and "流拍" in closed  # no bids: unsold
        # The planned session carries its parcel's facts: location and area in 公顷 (2 ha).
        assert planned in today or planned in upcoming
        assert "曲靖市麒麟区珠江源大道以东" in html and re.search(r">\s*2(\.0+)?\s*<", html)
        assert re.search(r"\d{4}年\d{2}月\d{2}日 \d{2}时\d{2}分", html)

        page = await public.get(f"/hall/{listing.id}")
        assert page.status_code == 200
        assert f'data-session-id="{listing.id}"' in page.text and "/static/hall.js" in page.text
        assert "8000 万元" in page.text and "8,000,000,000 分" in page.text  # the start price's exact fen beside
        for shown in (html, page.text):  # times in CST as people read them, never ISO
            assert not re.search(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", shown), shown
        # Nothing a watcher does not see: no reserve, no names, no tokens, in any page or frame.
        secrets = [str(RESERVE), "8040 万元", "8040", *NAMES, *(b.token for b in bidders)]
        frames = " ".join(str(m) for m in watcher.messages)
        for text in (html, page.text, home.text, frames):
            for secret in secrets:
                assert secret not in text, secret
        await close_all(watcher, bidder, closer)

        assert (await public.get("/hall/NO-SUCH-SESSION")).status_code == 404


async def test_after_the_close_the_hall_shows_the_revealed_reserve_with_its_salt(server: ServerProcess) -> None:
    """SessionClosed gives every watcher the reserve and its salt (docs/protocol.md): the hall's
    page, reloaded after the close, shows them in 万元 with exact fen, the commitment and the
    server's check, and leaves the browser's check to hall.js (common.js showReserve)."""
    reserve = 4_500_123_456  # 4500.123456 万元: exact fen
    async with Api(server) as api, httpx.AsyncClient(base_url=server.http, timeout=30, trust_env=False) as public:
        session = await api.auction(bidders=1, start_in=1, countdown=1, start_price=4_000 * WAN,
                                    increment=10 * WAN, reserve=reserve)
        before = await public.get(f"/hall/{session.id}")
        assert "有底价（保密，交易结束时公开并可校验）" in before.text and "4500.123456" not in before.text
        assert re.search(r'id="reserve-box"\s+hidden', before.text)
        watcher = await WsClient.join(server.ws, session.id, last_seq=0)
        closed = (await watcher.wait_event("SessionClosed"))["data"]
        assert closed["reserve_fen"] == reserve and closed["reserve_salt"]
        await close_all(watcher)

        page = (await public.get(f"/hall/{session.id}")).text
        assert "有底价（保密" not in page
        assert re.search(r'id="t-reserve">4500\.123456 万元（交易结束后已公开）', page)
        assert not re.search(r'id="reserve-box"\s+hidden', page)
        assert '<b id="reserve-wan">4500.123456 万元</b>' in page and "4,500,123,456 分" in page
        assert f'<dd class="mono" id="reserve-salt">{closed["reserve_salt"]}</dd>' in page
        commitment = session.created["terms"]["reserve_commitment"]
        assert f'id="reserve-commitment">{commitment}<' in page and f'data-commitment="{commitment}"' in page
        assert 'id="server-check" data-ok="true"' in page and "与承诺值一致" in page


async def test_unknown_pages_answer_html_in_the_layout_and_the_api_keeps_json(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http, timeout=30, trust_env=False) as client:
        for path in ("/console/no-such-page", "/hall/x/y", "/public/nothing", "/bid/nothing"):
            r = await client.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("text/html"), path
            assert 'id="not-found"' in r.text and "页面未找到" in r.text and "国有建设用地使用权网上交易" in r.text
            assert "/static/style.css" in r.text
        r = await client.get("/api/no-such-thing")
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
        # A form posted to a page that is not there is not a page to read: the body any unknown route gets.
        r = await client.post("/console/no-such-form", data={"x": "1"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"


async def test_the_language_cookie_switches_the_labels(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http, timeout=30, trust_env=False) as client:
        zh = await client.get("/hall")
        assert '<html lang="zh-CN">' in zh.text and "<h1>交易大厅 <small>Trading hall</small></h1>" in zh.text

        r = await client.get("/lang/en", params={"next": "/hall"})
        assert r.status_code == 303 and r.headers["location"] == "/hall"
        assert client.cookies.get("lang") == "en"
        en = await client.get("/hall")
        assert '<html lang="en">' in en.text and "<h1>Trading hall <small>交易大厅</small></h1>" in en.text
        assert "Starting price" in en.text
        missing = await client.get("/console/nothing")
        assert missing.status_code == 404 and "Page not found" in missing.text

        # Only this site's paths to go back to; an unknown language changes nothing.
        away = await client.get("/lang/zh", params={"next": "//evil.example/x"})
        assert away.headers["location"] == "/" and client.cookies.get("lang") == "zh"
        await client.get("/lang/xx", params={"next": "/hall"})
        assert client.cookies.get("lang") == "zh"

        table = await client.get("/i18n.js")
        assert table.status_code == 200 and "交易大厅" in table.text and "Trading hall" in table.text
