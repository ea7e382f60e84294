"""The console's money and close pages over HTTP against a real server: the
applications ledger (万元, CST dates, Chinese headers, anonymous before the close)
following the fake bank's confirmations; then, after a sale, the close page with
the outcome, the confirmation link and the deadline actions (refund made,
contract signed) as forms: refused beside the form with what was typed kept and
nothing changed, done once however often submitted, audited in Chinese."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta, timezone

import pytest

from auction.staff.roles import Role
from tests.conftest import ServerProcess
from tests.e2e.bank import BANK_ENV, FakeBank
from tests.e2e.console_helpers import ConsoleUser, audit_rows, csrf_of, error_code, make_accounts, signed_in
from tests.e2e.helpers import WAN, Api, WsClient, wait_opened
from tests.e2e.test_deadlines import by_kind, session_clock
from tests.e2e.test_deposits import DEPOSIT, apply, auction

CST = timezone(timedelta(hours=8))
WINNER = "曲靖市丁房地产开发有限公司"
LOSER = "云南戊置业有限公司"


def now_input(seconds: float = 0) -> str:
    return (datetime.now(CST) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'id="error-{re.escape(name)}" data-code="([A-Z0-9_]+)"', page)
    return found.group(1) if found else None


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
async def env(server_factory: Callable[..., ServerProcess], database: str
              ) -> AsyncIterator[tuple[ServerProcess, Api, FakeBank, ConsoleUser]]:
    server = server_factory(**BANK_ENV)
    server.start()
    accounts = await make_accounts(database)
    api, bank = Api(server), FakeBank(server)
    operator = await signed_in(server, accounts[Role.OPERATOR])
    try:
        yield server, api, bank, operator
    finally:
        await operator.close()
        await bank.close()
        await api.http.aclose()


async def test_the_ledger_the_close_and_the_deadline_actions(
    env: tuple[ServerProcess, Api, FakeBank, ConsoleUser], database: str
) -> None:
    server, api, bank, operator = env
    session = await auction(api, start_in=8, countdown=3)
    sid = session["terms"]["session_id"]
    win = await apply(api, sid, WINNER, "91530300MA6K00009D")
    lose = await apply(api, sid, LOSER, "91530000MA6K00008E")
    money = f"/console/sessions/{sid}/applications"

    # The ledger: Chinese headers first, 万元 exact to the fen, the deadline written 2026年12月06日.
    page = (await operator.get(money)).text
    for header in ("申请编号", "保证金子账户", "应缴（万元）", "已到账（万元）", "缴纳截止", "资格"):
        assert header in page
    assert "required_fen" not in page and "sub_account<" not in page
    deadline = datetime.fromisoformat(win["deposit_deadline"]).astimezone(CST)
    assert deadline.strftime("%Y年%m月%d日 %H:%M") in page
    assert f'data-application="{win["application_id"]}" data-status="AWAITING_DEPOSIT"' in page
    assert WINNER not in page and LOSER not in page  # anonymous before the close (RULES 3.5, 8.1)

    # The bank's confirmations appear as they arrive: a part first, then the rest.
    assert (await bank.pay(win["sub_account"], 12 * WAN + 34, WINNER)).status == 200
    page = (await operator.get(money)).text
    assert ">12.000034<" in page and "待缴保证金" in page
    for app, name, amount in ((win, WINNER, DEPOSIT - 12 * WAN - 34), (lose, LOSER, DEPOSIT)):
        sent = await bank.pay(app["sub_account"], amount, name)
        assert sent.body["qualified_now"] is True, sent.body
    page = (await operator.get(money)).text
    assert page.count('data-status="QUALIFIED"') == 2 and "已取得竞买资格" in page
    assert WINNER not in page and LOSER not in page
    assert f'id="token-form-{win["application_id"]}"' in page

    tokens = {}
    for app in (win, lose):
        r = await operator.post(f"{money.rsplit('/', 1)[0]}/applications/{app['application_id']}/token",
                                {"csrf_token": csrf_of(page), "mode": "issue"})
        found = re.search(r'id="q-token">(bt_[A-Za-z0-9_-]+)<', r.text)
        assert found, r.text[:1000]
        tokens[app["application_id"]] = found.group(1)

    client = await WsClient.join(server.ws, sid, tokens[win["application_id"]])
    try:
        await wait_opened(client)
        assert (await client.bid(101 * WAN))["type"] == "ack"
        closed = await client.wait_event("SessionClosed", timeout=30)
        assert closed["data"]["outcome"] == "SOLD", closed
    finally:
        await client.close()
    rows = by_kind(await session_clock(api, sid))

    # After the close the names are shown with the numbers (RULES 8.1).
    page = (await operator.get(money)).text
    assert WINNER in page and LOSER in page and "竞买号" in page

    close = f"/console/sessions/{sid}/close"
    page = (await operator.get(close)).text
    assert 'data-outcome="SOLD"' in page and 'id="confirmation-link"' in page
    assert 'data-unlocked="yes"' in page
    # The due dates as people read them (2026年12月10日), on the close page and both deadline pages.
    due = date.fromisoformat(rows["DEPOSIT_REFUND"]["due_date"])
    for path, table in ((close, "deadline-actions"), (f"/console/sessions/{sid}/deadlines", "deadline-table"),
                        ("/console/deadlines", "deadline-table")):
        shown = (await operator.get(path)).text if path != close else page
        found = re.search(rf'id="{table}">.*?</table>', shown, re.S)
        assert found and f"{due:%Y年%m月%d日}" in found.group(0), (path, shown[:3000])
        assert not re.search(r"\d{4}-\d{2}-\d{2}", found.group(0)), (path, found.group(0))
    csrf = csrf_of(page)
    refund = rows["DEPOSIT_REFUND"]
    done_path = f"{close}/deadlines/{refund['deadline_id']}/done"
    typed = now_input()

    # Refused beside its form, what was typed kept, nothing changed.
    r = await operator.post(done_path, {"csrf_token": csrf, "done_at": typed, "bank_txn_id": "",
                                        "amount_wan": "", "confirm": "yes"})
    assert r.status_code == 422 and field_error(r.text, f"d-{refund['deadline_id']}") == "INVALID_FIELD", r.text[:3000]
    assert f'name="done_at" value="{typed}"' in r.text
    r = await operator.post(done_path, {"csrf_token": csrf, "done_at": typed, "bank_txn_id": "B-REFUND-1",
                                        "amount_wan": "9999", "confirm": "yes"})
    assert field_error(r.text, f"d-{refund['deadline_id']}") == "LEDGER_INSUFFICIENT_FUNDS"  # more than is held
    assert 'value="9999"' in r.text and 'value="B-REFUND-1"' in r.text
    # Refusals in Chinese first, naming the field as the form does (not amount_wan, not done_at).
    r = await operator.post(done_path, {"csrf_token": csrf, "done_at": typed, "bank_txn_id": "B-REFUND-1",
                                        "amount_wan": "abc", "confirm": "yes"})
    beside = text_of(r.text.split(f'id="error-d-{refund["deadline_id"]}"')[1].split("</p>")[0])
    assert "退还金额：以万元为单位" in beside and "amount_wan" not in beside, beside
    r = await operator.post(done_path, {"csrf_token": csrf, "done_at": now_input(3600), "bank_txn_id": "B-REFUND-1",
                                        "amount_wan": "", "confirm": "yes"})
    beside = text_of(r.text.split(f'id="error-d-{refund["deadline_id"]}"')[1].split("</p>")[0])
    assert "办结时间不得晚于现在" in beside and beside.index("办结时间") < beside.index("done_at"), beside
    assert by_kind(await session_clock(api, sid))["DEPOSIT_REFUND"]["state"] == "PENDING"

    # Done, and a second submission changes nothing.
    form = {"csrf_token": csrf, "done_at": typed, "bank_txn_id": "B-REFUND-1", "amount_wan": "", "confirm": "yes"}
    r = await operator.post(done_path, form)
    assert r.status_code == 303 and "done=DONE" in r.headers["location"], r.text[:2000]
    r = await operator.post(done_path, form)
    assert r.status_code == 303 and "done=ALREADY" in r.headers["location"]
    apps = {a["application_id"]: a for a in (await api.get(f"/api/sessions/{sid}/applications")).json()}
    assert apps[lose["application_id"]]["deposit"]["REFUNDED"] == DEPOSIT
    shown = (await operator.get(f"/console/sessions/{sid}/deadlines")).text
    assert f"{datetime.fromisoformat(typed):%Y年%m月%d日 %H:%M:%S}" in shown  # when it was done, in CST

    # The contract: a confirmation is required; then signed, once.
    signed = {"csrf_token": csrf, "signed_at": now_input()}
    r = await operator.post(f"{close}/contract-signed", signed)
    assert r.status_code == 422 and field_error(r.text, "contract") == "INVALID_FIELD"
    row = r.text.split('data-kind="CONTRACT_SIGNING"', 1)[1].split("</tr>", 1)[0]
    assert 'id="error-contract"' in row  # beside the contract's own form, not above the table
    assert by_kind(await session_clock(api, sid))["CONTRACT_SIGNING"]["state"] != "DONE"
    for expected in ("CONTRACT_SIGNED", "ALREADY"):
        r = await operator.post(f"{close}/contract-signed", {**signed, "confirm": "yes"})
        assert r.status_code == 303 and f"done={expected}" in r.headers["location"]
    after = by_kind(await session_clock(api, sid))
    assert after["CONTRACT_SIGNING"]["state"] == "DONE" and after["Q32_NOTICE"]["state"] == "PENDING"
    page = (await operator.get(close)).text
    assert 'data-kind="Q32_NOTICE" data-state="PENDING"' in page

    # A session without a plan has nothing published: a retry names no document of it.
    r = await operator.post(f"{close}/retry", {"csrf_token": csrf, "document_id": "D-none", "channel": "LAND_MARKET"})
    assert r.status_code == 422 and field_error(r.text, "publication") == "NOT_FOUND"

    # The audit trail in Chinese: the action named, its code small beside, no raw None or µs.
    audit = (await operator.get("/console/audit")).text
    shown = text_of(audit)
    for words in ("登录 SIGN_IN", "登记合同签订 CONTRACT_SIGNED", "发放竞买凭证 ISSUE_TOKEN", "拒绝 INVALID_FIELD"):
        assert words in re.sub(r"\s+", " ", shown), words
    assert "None" not in shown and "_us:" not in shown
    assert f"签订时间：{datetime.now(CST):%Y年%m月%d日}" in shown
    assert "银行流水号：B-REFUND-1" in shown and f"办结时间：{datetime.now(CST):%Y年%m月%d日}" in shown
    assert re.search(r"签订时间：\d{4}年\d{2}月\d{2}日 \d{2}时\d{2}分", shown)


async def test_committee_members_see_the_close_but_may_not_act(
    env: tuple[ServerProcess, Api, FakeBank, ConsoleUser], database: str
) -> None:
    server, api, _bank, _operator = env
    accounts = await make_accounts(database)
    session = await auction(api, start_in=300)
    sid = session["terms"]["session_id"]
    committee = await signed_in(server, accounts[Role.COMMITTEE])
    try:
        page = await committee.get(f"/console/sessions/{sid}/close")
        assert page.status_code == 200 and 'id="not-closed"' in page.text and "<form" not in page.text.split(
            'id="escrow"')[1].split("</section>")[0]
        r = await committee.post(f"/console/sessions/{sid}/close/contract-signed",
                                 {"csrf_token": csrf_of(page.text), "signed_at": now_input(), "confirm": "yes"})
        assert r.status_code == 403 and error_code(r.text) == "FORBIDDEN"
        r = await committee.get(f"/console/sessions/{sid}/applications")
        assert r.status_code == 403  # not theirs (Q26) ...
        assert f"/console/sessions/{sid}/applications" not in page.text  # ... so not linked either
        assert await broken_links(committee, ["/console", f"/console/sessions/{sid}", f"/console/sessions/{sid}/close"]) == []
    finally:
        await committee.close()


async def broken_links(user: ConsoleUser, start: list[str], most: int = 60) -> list[tuple[str, str, int]]:
    """Follow the console's links from `start` (GET, same site, not the exports): (page, link, status)
    of each link the signed-in role cannot open."""
    seen, queue, broken = set(start), list(start), []
    while queue and len(seen) <= most:
        page = queue.pop(0)
        r = await user.get(page)
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        for link in re.findall(r'href="(/console[^"#?]*)', r.text):
            link = html.unescape(link)
            if link in seen or link.endswith((".csv", ".json", ".pdf")) or link == "/console/logout":
                continue
            seen.add(link)
            status = (await user.get(link)).status_code
            if status >= 400:
                broken.append((page, link, status))
            else:
                queue.append(link)
    return broken


async def test_a_terminated_session_the_resume_form_and_a_form_address_opened_in_a_browser(
    env: tuple[ServerProcess, Api, FakeBank, ConsoleUser], database: str
) -> None:
    server, api, _bank, operator = env
    session = await auction(api, start_in=300)
    sid = session["terms"]["session_id"]
    base = f"/console/sessions/{sid}"
    csrf = await operator.csrf(base)
    r = await operator.post(f"{base}/suspend", {"csrf_token": csrf, "reason": "系统维护"})
    assert r.status_code == 303, r.text[:1500]

    # A resumption announced in the past: refused beside the resume form, what was typed kept (RULES 7.3).
    past = now_input(-3600)
    r = await operator.post(f"{base}/resume", {"csrf_token": csrf, "reason": "维护完成", "resume_at": past})
    assert r.status_code == 422 and field_error(r.text, "resume") == "INVALID_FIELD", r.text[:2000]
    assert 'id="resume-form"' in r.text and f'value="{past}"' in r.text and "维护完成</textarea>" in r.text
    beside = text_of(r.text.split('id="error-resume"')[1].split("</p>")[0])
    assert "恢复时间已过" in beside and beside.index("恢复时间") < beside.index("resume_at"), beside
    r = await operator.post(f"{base}/terminate", {"csrf_token": csrf, "reason": "规划条件调整"})  # not ticked
    assert r.status_code == 422 and field_error(r.text, "terminate") == "INVALID_FIELD"
    assert "规划条件调整</textarea>" in r.text

    # Terminated: the close page says so, with the reason, and not "not closed yet".
    r = await operator.post(f"{base}/terminate", {"csrf_token": csrf, "reason": "规划条件调整", "confirm": "yes"})
    assert r.status_code == 303, r.text[:1500]
    page = (await operator.get(f"{base}/close")).text
    assert 'id="not-closed"' not in page and 'data-outcome="TERMINATED"' in page
    assert "终止" in text_of(page.split('id="terminated"')[1]) and "规划条件调整" in page

    # A form's address opened in a browser: the site's page, Chinese first, with 405 and Allow;
    # the API keeps its JSON error body.
    r = await operator.get(f"{base}/result-unsold")
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html"), r.text[:500]
    assert r.headers["allow"] == "POST" and 'data-code="METHOD_NOT_ALLOWED"' in r.text
    assert "此地址不能直接打开" in r.text and not r.text.lstrip().startswith("{")
    r = await operator.get("/portal/logout")  # the bidders' portal alike, leading back to the portal
    assert r.status_code == 405 and 'data-code="METHOD_NOT_ALLOWED"' in r.text and 'href="/portal"' in r.text
    r = await operator.get(f"/api/sessions/{sid}/terminate")
    assert r.status_code == 405 and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"

    rows = [(a["action"], a["outcome"]) for a in await audit_rows(database)]
    assert ("RESUME", "INVALID_FIELD") in rows and ("TERMINATE", "INVALID_FIELD") in rows and ("TERMINATE", "OK") in rows
