"""The supply plan's console pages in a real headless Chromium at 1366x768: the
draft and announcement forms filled by their labels (and sent from the keyboard),
the other steps through their forms, a refusal shown beside its field, and a
screenshot of every plan page (var/screenshots/plan-*.png)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from auction.staff.roles import Role
from tests.browser.pages import TIMEOUT_MS, collect_errors, console_sign_in, cst_input, in_china
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import make_accounts
from tests.e2e.plan_flow import COMPRESSED

READINESS = ("compensation_settled", "no_legal_dispute", "title_clear", "old_certificate_cancelled",
             "planning_conditions_set", "development_ready")


async def shot(page: Page, directory: Path, name: str) -> None:
    await page.screenshot(path=str(directory / f"plan-{name}.png"), full_page=True)


async def fill(page: Page, by_label: dict[str, str]) -> None:
    """Type into each field found by its label, as a person reads the form."""
    for label, value in by_label.items():
        await page.get_by_label(label).fill(value)


async def submitted(page: Page, done: str) -> None:
    await page.wait_for_url(re.compile(rf"/console/plans/[^/?]+\?done={done}$"), timeout=TIMEOUT_MS)
    await expect(page.locator("#done")).to_have_attribute("data-done", done)


async def send(page: Page, done: str, screenshots: Path | None = None, picture: str = "") -> None:
    """Submit the form (after a picture of it, if named) and wait for its step to be done."""
    if screenshots is not None:
        await shot(page, screenshots, picture)
    await page.click("#submit-button")
    await submitted(page, done)


async def test_plan_forms_in_a_browser(
    server_factory: Callable[..., ServerProcess], database: str, browser: Browser, screenshots: Path
) -> None:
    server = server_factory(**COMPRESSED)
    server.start()
    accounts = await make_accounts(database)
    context = await in_china(browser)
    page = await context.new_page()
    errors = collect_errors(page)
    await console_sign_in(page, server.http, accounts[Role.OPERATOR])

    await page.click("text=供地方案")
    await expect(page.locator("#new-plan")).to_be_visible()
    await page.click("#new-plan")
    await expect(page.locator("#new-form")).to_be_visible()

    # The draft, filled by the labels people read.
    await page.get_by_label("方案编号").fill("GD-BROWSER-1")
    await page.get_by_label("出让方式").select_option("LISTING")
    await page.get_by_label("起始价（万元）").fill("1234.5678")
    await page.get_by_label("增价幅度（万元）").fill("5")
    await page.get_by_label("竞买保证金（万元）").fill("200")  # below 20%: refused beside the field
    await page.get_by_label("宗地编号").fill("QJ2026-浏览器-01")
    await page.get_by_label("坐落").fill("曲靖市麒麟区南宁北路以西")
    await page.get_by_label(re.compile("^面积（m²）")).fill("12345.67")  # (not 建筑面积（m²）)
    await expect(page.locator("#area-hectares")).to_have_text("= 1.234567 公顷 / hectares")
    await page.get_by_label("用途（GB/T 21010）").select_option("0505")
    await page.get_by_label("出让年限（年）").fill("40")
    await page.get_by_label("容积率下限").fill("1.2")
    await page.get_by_label("容积率上限").fill("3.5")
    await page.get_by_label("基准地价（元/m²）").fill("800")
    await page.get_by_label("建筑限高（m）").fill("60")
    await page.get_by_label("四至").fill("东至南宁北路，西至规划路")
    await page.get_by_label("现状").fill("净地")
    for name in READINESS:
        await page.check(f"#f-readiness_{name}")
    await page.get_by_label("项目类别").select_option("HIGH_END_OFFICE")
    await page.fill("#f-bidder_conditions", "须为高端商务办公项目，自持比例不低于30%")
    await page.get_by_label("宗地编号").press("Enter")  # sent from the keyboard
    await expect(page.locator("#err-deposit_wan")).to_contain_text("Q31")
    await expect(page.get_by_label("坐落")).to_have_value("曲靖市麒麟区南宁北路以西")
    await shot(page, screenshots, "draft-refused")
    await page.get_by_label("竞买保证金（万元）").fill("246.91356")
    await send(page, "new")
    await expect(page.locator("#parcel")).to_contain_text("1.234567 公顷（12,345.67 m²）")
    await expect(page.locator("#terms")).to_contain_text("1,234.5678 万元")
    await shot(page, screenshots, "drafted")

    # The committee (its default meeting time is when the form is drawn: a second after the draft).
    await page.wait_for_timeout(1100)
    await page.click("#next-form")
    await fill(page, {"主持人（成员编号）": "m1", "到会成员（成员编号，逗号或换行分隔）": "m1, m2, m3, m4, m5",
                      "赞成": "4", "反对": "1"})
    await page.check("#f-chair_spoke_last")
    await send(page, "committee", screenshots, "committee-form")

    await page.click("#next-form")
    await fill(page, {"批准机关": "曲靖市人民政府", "批复文号": "曲政复〔2026〕30号"})
    await send(page, "approval")

    await page.click("#form-link-appraisal")
    await expect(page.locator("#check-benchmark")).to_contain_text("987.6536 万元")  # 800 元/m² x 12,345.67 m²
    await fill(page, {"估价机构": "云南某土地房地产评估有限公司", "资质证书编号": "土估资A2026009",
                      "电子备案号": "5301262026000999", "评估单价（元/m²）": "1100", "评估总价（万元）": "1358.0237"})
    await page.click("#preview-button")
    await expect(page.locator("#preview-ok")).to_be_visible()
    await send(page, "appraisal", screenshots, "appraisal-form")

    # The announcement: a listing 2 minutes away (the test server's period is seconds).
    await page.click("#next-form")
    await fill(page, {"公告编号": "曲公资土告〔2026〕21号", "出让人": "曲靖市自然资源和规划局",
                      "开始时间": cst_input(120), "挂牌截止时间": cst_input(300), "保证金到账截止": cst_input(100),
                      "报名截止": cst_input(110), "出让时间、地点和方式": "曲靖中心城市国有建设用地使用权网上交易系统，网上挂牌",
                      "竞买申请（资格、文件、取得资格方式）": "保证金到账后取得竞买资格",
                      "联系方式": "曲靖市公共资源交易中心 0874-0000000"})
    await page.uncheck("#f-channel_MAINSTREAM_MEDIA")
    await page.click("#submit-button")
    await expect(page.locator("#err-channels")).to_contain_text("Q29_CHANNELS_MISSING")
    await expect(page.get_by_label("公告编号")).to_have_value("曲公资土告〔2026〕21号")
    await page.check("#f-channel_MAINSTREAM_MEDIA")
    await send(page, "announce", screenshots, "announce-form")

    await page.click("#form-link-change")
    await fill(page, {"变更理由": "补充出让须知", "变更内容": "补充竞买须知第五条"})
    await page.click("#preview-button")
    await expect(page.locator("#shift-preview")).to_be_visible()
    await send(page, "change", screenshots, "change-form")

    await page.click("#next-form")
    await send(page, "session", screenshots, "session-form")
    await expect(page.locator("#session-link")).to_be_visible()
    await shot(page, screenshots, "timeline")

    await page.click("text=供地方案 / Supply plans")
    await expect(page.locator("#plans-table")).to_contain_text("1,234.5678 万元")
    await shot(page, screenshots, "list")
    # The two refusals were answered 422 (the form again): the browser logs that status, nothing else.
    assert [e for e in errors if "status of 422" not in e] == [] and len(errors) == 2, errors
    await context.close()
