"""After the deal (docs/publication.md, "After the deal"), end to end: a parcel is sold through
the API of a real server, its result published to a real receiver standing in for the China
Land Market website (JSON) and the provincial platform (XML); months later the operator records
the actual construction start, an installment paid, then the completion. Each recording is a
new version of the result (RES-{plan}-2, -3) that reaches every channel after the one before;
refused recordings change nothing; the public result page shows the latest version, says when
it was updated, and links the earlier ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from loadtests.harness import ServerProcess
from tests.e2e.helpers import Api
from tests.e2e.plan_flow import Committee, announced_plan, ok, refused, session_of, today
from tests.e2e.test_publication import (
    LOSER, PRICE, RESERVE, SUPERVISION_NO, WINNER, healthy_channels, page_text, result_body, sell, sign_contract,
    wait_until,
)

CHANNELS = ("landchina", "province")


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def site_day(offset: int) -> str:
    d = today() + timedelta(days=offset)
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


async def history(api: Api, path: str) -> list[dict[str, Any]]:
    r = await api.get(path)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def sold_plan(api: Api, server: ServerProcess, tmp_path: Path) -> str:
    """A plan auctioned and sold to WINNER at PRICE."""
    committee = await Committee.register(api, tmp_path, 2)
    plan_id, _ = await announced_plan(api, "AUCTION", start_in=9.0)
    session_id = await session_of(api, plan_id, countdown=3)
    await ok(api, f"/api/plans/{plan_id}/reserve", await committee.decision(plan_id, RESERVE))
    winner, loser = await api.qualify(session_id, WINNER), await api.qualify(session_id, LOSER)
    closed = await sell(server, session_id, winner.token, loser.token)
    assert closed["data"]["outcome"] == "SOLD"
    return plan_id


async def test_facts_after_the_deal_update_the_result_on_every_channel_in_order(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    async with healthy_channels(server_factory) as (server, receiver):
        async with Api(server) as api, httpx.AsyncClient(base_url=server.http, trust_env=False) as public:
            plan_id = await sold_plan(api, server, tmp_path)
            result_id = f"RES-{plan_id}"
            path = f"/api/plans/{plan_id}/post-deal"
            start = {"by": "op-li", "actual_start_date": day(0),
                     "payments": [{"period": 1, "paid_date": site_day(0), "amount_fen": PRICE // 2}]}

            # Nothing can be recorded before the result is published.
            assert (await refused(api, path, start))["code"] == "POSTDEAL_NO_RESULT"
            await ok(api, f"/api/plans/{plan_id}/supervision-number", {"by": "op-li", "supervision_no": SUPERVISION_NO})
            # The contract signed now, after the sale (CONTRACT_BEFORE_SALE otherwise): every fact
            # falls on a day from the contract's to today, so today (the order of days between
            # them is the domain's: tests/unit/test_post_deal.py).
            await sign_contract(api, plan_id)
            signed = {**result_body(), "contract_date": day(0)}
            first = await ok(api, f"/api/plans/{plan_id}/result", signed, 201)
            assert (first["fields"]["actual_start_date"], first["fields"]["installments"][0]["paid_fen"]) == ("", "")

            async def arrived(*ids: str) -> bool:
                return all(f"{d}:{c}" in receiver.accepted for d in ids for c in CHANNELS)

            await wait_until(lambda: arrived(result_id), 30, "the result")

            # Refusals, each with its code, and nothing recorded, published or delivered.
            for body, code in [
                ({**start, "actual_start_date": day(-1)}, "POSTDEAL_BEFORE_CONTRACT"),
                ({"by": "op-li", "payments": [{"period": 1, "paid_date": day(-5), "amount_fen": 1}]},
                 "POSTDEAL_BEFORE_CONTRACT"),
                ({"by": "op-li", "actual_completion_date": day(0)}, "POSTDEAL_COMPLETION_BEFORE_START"),  # no start
                ({"by": "op-li", "payments": [{"period": 2, "paid_date": day(0), "amount_fen": PRICE}]},
                 "POSTDEAL_OVERPAID"),
                ({"by": "op-li", "actual_start_date": day(2)}, "DATE_OUT_OF_RANGE"),
                ({"by": "op-li"}, "INVALID_FIELD"),
            ]:
                assert (await refused(api, path, body))["code"] == code, body
            assert await history(api, path) == []
            assert [d["document_id"] for d in (await api.get("/api/publications?kind=RESULT_UPDATE")).json()] == []

            # The start and the first installment, then the completion: two new versions.
            second = await ok(api, path, start, 201)
            assert (second["document_id"], second["kind"], second["version"], second["supersedes"]) == (
                f"{result_id}-2", "RESULT_UPDATE", 2, result_id)
            paid = second["fields"]["installments"][0]
            assert (second["fields"]["actual_start_date"], paid["paid_date"], paid["paid_fen"]) == (
                day(0), day(0), str(PRICE // 2))
            third = await ok(api, path, {"by": "op-wang", "actual_completion_date": day(0)}, 201)
            assert (third["document_id"], third["supersedes"]) == (f"{result_id}-3", f"{result_id}-2")
            assert (third["fields"]["actual_start_date"], third["fields"]["actual_completion_date"]) == (
                day(0), day(0))
            assert third["fields"]["installments"][0]["paid_fen"] == str(PRICE // 2)  # the fold: kept
            recorded = await history(api, path)
            assert [(h["version"], h["document_id"], h["recorded_by"]) for h in recorded] == [
                (2, f"{result_id}-2", "op-li"), (3, f"{result_id}-3", "op-wang")]

            await wait_until(lambda: arrived(f"{result_id}-2", f"{result_id}-3"), 30, "both updates")
            assert receiver.problems == []
            parcel_no = first["parcel_no"]
            for channel in CHANNELS:  # after the original, once each, in order
                assert receiver.order[(parcel_no, channel)] == [f"ANN-{plan_id}", result_id, f"{result_id}-2",
                                                                f"{result_id}-3"]
            xml = receiver.accepted[f"{result_id}-3:province"].document
            assert (xml["version"], xml["fields"]["actual_completion_date"]) == ("3", day(0))
            q29 = (await api.get(f"/api/plans/{plan_id}/publication")).json()
            assert q29["met"] is True  # the result as first published; updates do not move it

            await check_pages(public, plan_id, result_id)
        assert "Traceback" not in server.log_text()


async def check_pages(public: httpx.AsyncClient, plan_id: str, result_id: str) -> None:
    latest = await page_text(public, f"/public/results/{result_id}")
    assert "本结果已更新（第3版），更新于" in latest and "国有建设用地使用权出让结果公示（更新）" in latest
    assert f"实际开工时间 {site_day(0)}" in latest and f"实际竣工时间 {site_day(0)}" in latest
    assert "实际支付日期" in latest
    original = await page_text(public, f"/public/results/{result_id}?version=1")
    assert "本页为第1版" in original and "实际开工时间 —" in original
    middle = await page_text(public, f"/public/results/{result_id}-2")
    assert "本页为第2版" in middle and "实际竣工时间 —" in middle
    listing = await page_text(public, "/public/results")
    assert listing.count("珠江源大道住宅项目") == 1  # one result per plan in the list; versions from its page
    exported: dict[str, Any] = (await public.get(f"/public/documents/{result_id}-3.json")).json()
    assert exported["version"] == 3 and exported["fields"]["actual_start_date"] == day(0)
    assert (await public.get(f"/public/documents/{result_id}.json")).json()["fields"]["actual_start_date"] == ""
