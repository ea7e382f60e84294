"""The language switch on every page, against a real server: with the `lang` cookie set to
`en` each console, portal and public page shows its English heading first (Chinese second,
smaller), with `zh` (and without a cookie: Chinese is the default) the Chinese first.
Refusals keep their codes' Chinese-first messages whatever the choice."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from auction.entrypoints.http.i18n import LABELS
from tests.conftest import ServerProcess
from tests.e2e.console_helpers import ConsoleUser, operator_and_member
from tests.e2e.helpers import Api
from tests.e2e.plan_flow import COMPRESSED, announced_plan, session_of


def heading(key: str, lang: str) -> str:
    """What `tt(key)` writes: the chosen language first, the other one in <small>."""
    zh, en = LABELS[key]
    first, second = (en, zh) if lang == "en" else (zh, en)
    return f"{first} <small>{second}</small>"


def pair(zh: str, en: str, lang: str) -> str:
    """A "中文 / English" word as `bi` writes it: the chosen language first."""
    return f"{en} / {zh}" if lang == "en" else f"{zh} / {en}"


DOUBLED = (re.compile(r">\s*([^<>]+?)\s*<small>\s*\1\s*</small>"),  # 参加决定的成员 <small>参加决定的成员</small>
           re.compile(r"(?<![^\s>（(])([^<>/\s][^<>/]*?) / \1(?=[\s<）)]|$)"),  # 操作员 / 操作员
           re.compile(r"\bCST CST\b"))


def assert_no_doubled(page: str, where: str) -> None:
    """No label shows the same text twice (in both places of a pair, or a word repeated)."""
    for pattern in DOUBLED:
        found = [m.group(0) for m in pattern.finditer(page) if re.search(r"[^\W_]", m.group(0))]  # words, not "— / —"
        assert not found, (where, found)


def choose(user: ConsoleUser | httpx.AsyncClient, lang: str) -> None:
    if isinstance(user, ConsoleUser):
        user.cookies["lang"] = lang
    else:
        user.cookies.set("lang", lang)


async def test_every_page_follows_the_chosen_language(
    server_factory: Callable[..., ServerProcess], database: str
) -> None:
    server, _, op, member = await operator_and_member(server_factory, database, **COMPRESSED)
    try:
        async with Api(server) as api:
            plan_id, _ = await announced_plan(api, start_in=600.0)
            session_id = await session_of(api, plan_id)
        console_pages = {
            "/console/plans": "committee.supply_plans",
            f"/console/plans/{plan_id}": "plan.timeline",
            "/console/plans/new": "form.planning_conditions",
            f"/console/plans/{plan_id}/reserve": "reserve.reserve_decision",
            "/console/committee": "committee.committee_members_keys",
            f"/console/sessions/{session_id}": "session.terms",
            f"/console/sessions/{session_id}/applications": "money.deposit_ledger",
            f"/console/sessions/{session_id}/close": "close.the_close_and_what_follows",
            "/console/deadlines": "deadlines.working_days_left",
            "/console/audit": "audit.audit_trail_of_operator",
        }
        for lang in ("zh", "en"):
            choose(op, lang)
            for path, key in console_pages.items():
                user = member if path.endswith("/reserve") else op
                choose(user, lang)
                r = await user.get(path)
                assert r.status_code == 200, (path, r.text[:500])
                assert heading(key, lang) in r.text, (lang, path, key)
                assert f'<html lang="{"en" if lang == "en" else "zh-CN"}">' in r.text
                assert_no_doubled(r.text, (lang, path))
            # The words kept as "中文 / English" show in the chosen order: the role, the plan's
            # status, the timeline's steps and the plan's log, the empty tenders list.
            page = (await op.get(f"/console/plans/{plan_id}")).text
            assert f"测试操作员 · {pair('操作员', 'Operator', lang)}</span>" in page
            assert f">{pair('已公告', 'Announced', lang)}</span>" in page
            assert f"<b>{pair('编制供地方案', 'Draft', lang)}</b>" in page
            assert f"<b>{pair('发布出让公告', 'Announcement published', lang)}</b>" in page
            assert f"{pair('拍卖', 'Auction', lang)}</dd>" in page
            # Q30: the session's row says who created it (over the operator API here) and when,
            # and names the session once (its link).
            row = re.search(r'data-stage="session".*?</li>', page, re.S)
            assert row is not None and f"<b>{pair('创建交易场次', 'Trading session', lang)}</b>" in row.group(0)
            assert pair("操作员接口", "Operator API", lang) + " · 20" in row.group(0), row.group(0)
            assert row.group(0).count(session_id) == 2, row.group(0)  # the link's href and its text
            page = (await op.get("/console/tenders")).text
            assert heading("tender.empty", lang) in page
            # The reserve form's legend: the chosen language first, the other once.
            page = (await member.get(f"/console/plans/{plan_id}/reserve")).text
            assert f"<legend>{heading('reserve.members_taking_part', lang)} (≥ 2)</legend>" in page
            # A refusal page: its chrome follows the choice, the code's message stays as codes.py has it.
            choose(member, lang)
            r = await member.get("/console/plans/new")
            assert r.status_code == 403 and heading("error.not_done", lang) in r.text, r.text[-1500:]
            assert re.search(r'id="error-code">\w+</span> [^<]*[\u4e00-\u9fff][^<]* / ', r.text)

        # The Chinese page without a cookie is the default; the English words stay on it, second.
        fresh = ConsoleUser(server)
        try:
            page = (await fresh.get("/console/login")).text
            assert heading("login.sign_in_to_the_console", "zh") in page
            fresh.cookies["lang"] = "en"
            page = (await fresh.get("/console/login")).text
            assert heading("login.sign_in_to_the_console", "en") in page
        finally:
            await fresh.close()

        # The portal (signed out) and the public lists.
        async with httpx.AsyncClient(base_url=server.http, timeout=30, trust_env=False) as visitor:
            for lang in ("zh", "en"):
                choose(visitor, lang)
                for path, key in (("/portal", "portal.bidders_portal_2"), ("/portal/parcels", "portal.announced_parcels"),
                                  ("/portal/login", "portal.sign_in"), ("/portal/register", "portal.register_your_company"),
                                  ("/public/announcements", "nav.announcements"), ("/public/results", "nav.results")):
                    r = await visitor.get(path)
                    assert r.status_code == 200, (path, r.text[:500])
                    assert heading(key, lang) in r.text, (lang, path, key)
                    assert 'data-lang="en"' in r.text  # the switch is on every page
                    assert_no_doubled(r.text, (lang, path))
                # The public list's headings and the hall's follow the choice (the documents stay Chinese).
                english = lang == "en"
                page = (await visitor.get("/public/announcements")).text  # the plan's announcement
                assert ("<th>Published <small>发布时间</small></th>" if english
                        else "<th>发布时间 <small>Published</small></th>") in page
                page = (await visitor.get("/public/results")).text  # none yet
                assert ("None yet. <small>暂无。</small>" if english else "暂无。 <small>None yet.</small>") in page
                page = (await visitor.get("/hall")).text
                assert f"<th>{heading('col.parcel', lang)}</th>" in page and heading("hall.empty", lang) in page
                assert_no_doubled(page, (lang, "/hall"))
            # The portal's field labels follow too.
            page = (await visitor.get("/portal/register")).text
            assert heading("portal.company_name", "en") in page
            # The pages' scripts read the same table, and the codes' messages as they are.
            table = (await visitor.get("/i18n.js")).text
            assert '"event.SessionClosed"' in table and "window.AUCTION_CODES" in table
            assert re.search(r'"BELOW_MINIMUM": "报价低于最低可接受价 / ', table)
    finally:
        await op.close()
        await member.close()
