"""Every rejection the server can give, in one place.

A code is stable: clients switch on it, so it is never renamed. The message is
for people, Chinese first, English second. `docs/protocol.md` lists the same
table for client writers; `tests/unit/test_codes.py` keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Code(str, Enum):
    # Bids (RULES 4, 5)
    SESSION_NOT_OPEN = "SESSION_NOT_OPEN"
    SESSION_SUSPENDED = "SESSION_SUSPENDED"
    SESSION_CLOSED = "SESSION_CLOSED"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    DUPLICATE_BID = "DUPLICATE_BID"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    NOT_INCREMENT_MULTIPLE = "NOT_INCREMENT_MULTIPLE"
    ALREADY_HIGHEST = "ALREADY_HIGHEST"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    AMOUNT_TOO_LARGE = "AMOUNT_TOO_LARGE"
    INVALID_BID_ID = "INVALID_BID_ID"
    # Protocol (docs/protocol.md)
    MALFORMED_JSON = "MALFORMED_JSON"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    INVALID_FIELD = "INVALID_FIELD"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    ALREADY_AUTHENTICATED = "ALREADY_AUTHENTICATED"
    INVALID_TOKEN = "INVALID_TOKEN"
    WRONG_SESSION = "WRONG_SESSION"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"
    WATCHER_CANNOT_BID = "WATCHER_CANNOT_BID"
    RESUME_GAP_TOO_LARGE = "RESUME_GAP_TOO_LARGE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    CONFLICT = "CONFLICT"
    # Input edges (HTTP and WebSocket; README "Security")
    JSON_TOO_DEEP = "JSON_TOO_DEEP"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    INVALID_ID = "INVALID_ID"
    DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE"
    # Operator commands
    INVALID_TERMS = "INVALID_TERMS"
    Q31_DEPOSIT_BELOW_20_PERCENT = "Q31_DEPOSIT_BELOW_20_PERCENT"
    N18_LISTING_PERIOD_TOO_SHORT = "N18_LISTING_PERIOD_TOO_SHORT"
    Q28_RESERVE_REQUIRED = "Q28_RESERVE_REQUIRED"
    START_IN_PAST = "START_IN_PAST"
    SESSION_EXISTS = "SESSION_EXISTS"
    REGISTRATION_CLOSED = "REGISTRATION_CLOSED"
    ALREADY_QUALIFIED = "ALREADY_QUALIFIED"
    REASON_REQUIRED = "REASON_REQUIRED"
    NOT_SUSPENDED = "NOT_SUSPENDED"
    ALREADY_SUSPENDED = "ALREADY_SUSPENDED"
    RESUME_NOTICE_REQUIRED = "RESUME_NOTICE_REQUIRED"
    CLOSE_NOT_DUE = "CLOSE_NOT_DUE"
    RESERVE_ALREADY_SEALED = "RESERVE_ALREADY_SEALED"
    Q29_RESULT_NOT_DELIVERED = "Q29_RESULT_NOT_DELIVERED"
    ESCROW_PASSPHRASE_WRONG = "ESCROW_PASSPHRASE_WRONG"
    ESCROW_KEY_UNAVAILABLE = "ESCROW_KEY_UNAVAILABLE"
    INVALID_INCREMENT = "INVALID_INCREMENT"
    UNAUTHORIZED = "UNAUTHORIZED"
    NOT_FOUND = "NOT_FOUND"
    # Supply plans (RULES 1-3; auction/domain/plan/plans.py)
    PLAN_EXISTS = "PLAN_EXISTS"
    PLAN_WRONG_STATUS = "PLAN_WRONG_STATUS"
    INVALID_PARCEL = "INVALID_PARCEL"
    Q22_TALLY_MISMATCH = "Q22_TALLY_MISMATCH"
    Q22_CHAIR_NOT_LAST = "Q22_CHAIR_NOT_LAST"
    Q22_NOT_APPROVED = "Q22_NOT_APPROVED"
    Q23_MORE_THAN_ONE_PARCEL = "Q23_MORE_THAN_ONE_PARCEL"
    Q23_PARCEL_NOT_READY = "Q23_PARCEL_NOT_READY"
    Q24_CONDITIONS_NOT_ALLOWED = "Q24_CONDITIONS_NOT_ALLOWED"
    Q25_APPRAISAL_INCOMPLETE = "Q25_APPRAISAL_INCOMPLETE"
    Q25_NO_APPRAISAL = "Q25_NO_APPRAISAL"
    Q26_OUTSIDE_RESERVE_WINDOW = "Q26_OUTSIDE_RESERVE_WINDOW"
    Q26_TOO_FEW_MEMBERS = "Q26_TOO_FEW_MEMBERS"
    Q26_BAD_SIGNATURE = "Q26_BAD_SIGNATURE"
    Q26_RESERVE_NOT_SEALED = "Q26_RESERVE_NOT_SEALED"
    Q27_APPRAISAL_EXPIRED = "Q27_APPRAISAL_EXPIRED"
    Q27_APPRAISAL_AFTER_DECISION = "Q27_APPRAISAL_AFTER_DECISION"
    Q27_BELOW_BENCHMARK = "Q27_BELOW_BENCHMARK"
    Q27_PROCEDURE_INVERTED = "Q27_PROCEDURE_INVERTED"
    Q29_ANNOUNCEMENT_TOO_SHORT = "Q29_ANNOUNCEMENT_TOO_SHORT"
    Q29_CHANNELS_MISSING = "Q29_CHANNELS_MISSING"
    TENDER_NOT_SUPPORTED = "TENDER_NOT_SUPPORTED"
    # Working-day calendar (RULES 9; auction/domain/clock/workdays.py)
    CALENDAR_FILE_INVALID = "CALENDAR_FILE_INVALID"
    CALENDAR_DATE_OUTSIDE_YEAR = "CALENDAR_DATE_OUTSIDE_YEAR"
    CALENDAR_DATE_OVERLAP = "CALENDAR_DATE_OVERLAP"
    CALENDAR_WORKDAY_NOT_WEEKEND = "CALENDAR_WORKDAY_NOT_WEEKEND"
    CALENDAR_YEAR_MISSING = "CALENDAR_YEAR_MISSING"
    CALENDAR_YEAR_OUT_OF_RANGE = "CALENDAR_YEAR_OUT_OF_RANGE"
    CALENDAR_STATUTORY_DAY_MISSING = "CALENDAR_STATUTORY_DAY_MISSING"
    CALENDAR_YEAR_CONFIRMED = "CALENDAR_YEAR_CONFIRMED"
    CALENDAR_NOT_ACCEPTED = "CALENDAR_NOT_ACCEPTED"
    # Deposits (RULES 3.4, Q31; auction/domain/deposit/deposits.py, ledger.py)
    Q31_DEPOSIT_LATE = "Q31_DEPOSIT_LATE"
    DEPOSIT_AFTER_CLOSE = "DEPOSIT_AFTER_CLOSE"
    Q31_DEPOSIT_NOT_IN_FULL = "Q31_DEPOSIT_NOT_IN_FULL"
    DEPOSIT_PAYER_NAME_MISMATCH = "DEPOSIT_PAYER_NAME_MISMATCH"
    DEPOSIT_UNKNOWN_SUBACCOUNT = "DEPOSIT_UNKNOWN_SUBACCOUNT"
    DEPOSIT_DUPLICATE_TXN = "DEPOSIT_DUPLICATE_TXN"
    DEPOSIT_TXN_CONFLICT = "DEPOSIT_TXN_CONFLICT"
    DEPOSIT_ALREADY_QUALIFIED = "DEPOSIT_ALREADY_QUALIFIED"
    LEDGER_UNBALANCED = "LEDGER_UNBALANCED"
    LEDGER_ENTRY_CONFLICT = "LEDGER_ENTRY_CONFLICT"
    LEDGER_INSUFFICIENT_FUNDS = "LEDGER_INSUFFICIENT_FUNDS"
    # Deadlines after the close (RULES 8; auction/domain/clock/deadlines.py)
    DEADLINE_ALREADY_DONE = "DEADLINE_ALREADY_DONE"
    DEADLINE_WRONG_KIND = "DEADLINE_WRONG_KIND"
    Q42_CONTRACT_NOT_OVERDUE = "Q42_CONTRACT_NOT_OVERDUE"
    Q42_CONTRACT_NOT_SIGNED_IN_TIME = "Q42_CONTRACT_NOT_SIGNED_IN_TIME"
    Q42_DEADLINE_PROVISIONAL = "Q42_DEADLINE_PROVISIONAL"
    # Settlement (Q40-Q41; auction/domain/deposit/settlement.py)
    Q40_DEDUCTIONS_EXCEED_PRICE = "Q40_DEDUCTIONS_EXCEED_PRICE"
    Q41_NOT_COMMERCIAL_OR_RESIDENTIAL = "Q41_NOT_COMMERCIAL_OR_RESIDENTIAL"
    SETTLEMENT_INVALID_ITEM = "SETTLEMENT_INVALID_ITEM"
    # Operator console (auction/entrypoints/console/)
    CSRF_TOKEN_INVALID = "CSRF_TOKEN_INVALID"
    FORBIDDEN = "FORBIDDEN"
    SIGN_IN_FAILED = "SIGN_IN_FAILED"
    SIGN_IN_THROTTLED = "SIGN_IN_THROTTLED"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"
    # Abuse limits per client address (auction/entrypoints/http/limits.py)
    WATCHER_LIMIT = "WATCHER_LIMIT"
    TOKEN_ATTEMPTS_LIMIT = "TOKEN_ATTEMPTS_LIMIT"
    OPERATOR_KEY_ATTEMPTS_LIMIT = "OPERATOR_KEY_ATTEMPTS_LIMIT"
    # Applications and the bank webhook (RULES 3.4; auction/services/deposits.py, auction/entrypoints/api/bank_webhook.py)
    BANK_UNKNOWN = "BANK_UNKNOWN"
    BANK_SIGNATURE_INVALID = "BANK_SIGNATURE_INVALID"
    BANK_TIMESTAMP_STALE = "BANK_TIMESTAMP_STALE"
    BANK_REPLAYED = "BANK_REPLAYED"
    APPLICATION_EXISTS = "APPLICATION_EXISTS"
    DEPOSIT_DEADLINE_AFTER_REGISTRATION = "DEPOSIT_DEADLINE_AFTER_REGISTRATION"
    TOKEN_ALREADY_ISSUED = "TOKEN_ALREADY_ISSUED"
    TOKEN_NOT_YET_ISSUED = "TOKEN_NOT_YET_ISSUED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    SESSION_NOT_SOLD = "SESSION_NOT_SOLD"
    SESSION_SOLD = "SESSION_SOLD"
    # Publication (Q29; auction/services/publication.py, auction/adapters/delivery.py, auction/documents/)
    SUPERVISION_NUMBER_REQUIRED = "SUPERVISION_NUMBER_REQUIRED"
    RESULT_ALREADY_PUBLISHED = "RESULT_ALREADY_PUBLISHED"
    # The bidders' portal (auction/services/portal.py, auction/entrypoints/portal/)
    USCC_INVALID = "USCC_INVALID"
    COMPANY_EXISTS = "COMPANY_EXISTS"
    PHONE_INVALID = "PHONE_INVALID"
    PASSWORDS_DIFFER = "PASSWORDS_DIFFER"
    # Publication to the China Land Market website (docs/publication.md)
    SUPERVISION_NO_REGION_MISMATCH = "SUPERVISION_NO_REGION_MISMATCH"
    REGION_CODE_UNKNOWN = "REGION_CODE_UNKNOWN"
    # The transparency log and the public record (auction/services/transparency.py, public_record.py)
    RECORD_NOT_FINAL = "RECORD_NOT_FINAL"
    BID_SIGNATURE_INVALID = "BID_SIGNATURE_INVALID"
    BIDDER_KEY_REGISTERED = "BIDDER_KEY_REGISTERED"
    # Tender (RULES 6; auction/domain/tender/)
    TENDER_BID_ALREADY_SUBMITTED = "TENDER_BID_ALREADY_SUBMITTED"
    TENDER_BID_DEADLINE_PASSED = "TENDER_BID_DEADLINE_PASSED"
    TENDER_OPENING_NOT_DUE = "TENDER_OPENING_NOT_DUE"
    TENDER_ALREADY_OPENED = "TENDER_ALREADY_OPENED"
    TENDER_NOT_OPENED = "TENDER_NOT_OPENED"
    TENDER_PANEL_INVALID = "TENDER_PANEL_INVALID"
    TENDER_NOT_ON_PANEL = "TENDER_NOT_ON_PANEL"
    TENDER_SHEET_ALREADY_SIGNED = "TENDER_SHEET_ALREADY_SIGNED"
    TENDER_SHEET_BAD_SIGNATURE = "TENDER_SHEET_BAD_SIGNATURE"
    TENDER_SHEET_INVALID = "TENDER_SHEET_INVALID"
    TENDER_SCORING_INCOMPLETE = "TENDER_SCORING_INCOMPLETE"
    TENDER_RESERVE_UNREADABLE = "TENDER_RESERVE_UNREADABLE"
    # After the deal: actual start and completion, installments as paid (docs/publication.md)
    POSTDEAL_NO_RESULT = "POSTDEAL_NO_RESULT"
    POSTDEAL_BEFORE_CONTRACT = "POSTDEAL_BEFORE_CONTRACT"
    POSTDEAL_COMPLETION_BEFORE_START = "POSTDEAL_COMPLETION_BEFORE_START"
    POSTDEAL_OVERPAID = "POSTDEAL_OVERPAID"
    FLOOR_AREA_UNKNOWN = "FLOOR_AREA_UNKNOWN"
    FLOOR_PRICE_NOT_WHOLE_FEN = "FLOOR_PRICE_NOT_WHOLE_FEN"
    FLOOR_PRICE_TOTAL_MISMATCH = "FLOOR_PRICE_TOTAL_MISMATCH"
    TOKEN_VIA_PORTAL = "TOKEN_VIA_PORTAL"
    # Routing (auction/entrypoints/api/routes.py): a path that exists, asked with another method
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    # Bids (RULES 4.4, 4.5; the session's phases, docs/protocol.md 2)
    NOT_IN_TIMED_BIDDING = "NOT_IN_TIMED_BIDDING"
    SESSION_HELD = "SESSION_HELD"
    # Committee members' keys (console 委员会成员与公钥, POST /api/committee-members): permanent, not a race
    MEMBER_KEY_REGISTERED = "MEMBER_KEY_REGISTERED"
    # The result after a sale (Q29) and the contract's Q42 row: one record of the signing
    CONTRACT_NOT_RECORDED = "CONTRACT_NOT_RECORDED"
    CONTRACT_DATE_MISMATCH = "CONTRACT_DATE_MISMATCH"
    # The contract's signing (Q42): not before the sale it follows
    CONTRACT_BEFORE_SALE = "CONTRACT_BEFORE_SALE"
    # A tender held for an outage across its bid deadline (RULES 6.7): no bid, no opening until resumed
    TENDER_SUSPENDED = "TENDER_SUSPENDED"


MESSAGES: dict[Code, str] = {
    Code.SESSION_NOT_OPEN: "竞价尚未开始 / Bidding has not started yet",
    Code.SESSION_SUSPENDED: "交易已中止，暂停接受报价 / The session is suspended; no bids are taken",
    Code.SESSION_CLOSED: "交易已结束 / The session has ended",
    Code.DEADLINE_PASSED: "报价截止时间已过 / The bidding deadline has passed",
    Code.NOT_QUALIFIED: "您不具备本宗地的竞买资格 / You are not a qualified bidder for this parcel",
    Code.DUPLICATE_BID: "该报价编号已用于另一笔报价 / This bid_id was already used for a different bid",
    Code.BELOW_MINIMUM: "报价低于最低可接受价 / The bid is below the minimum acceptable amount",
    Code.NOT_INCREMENT_MULTIPLE: "报价须按加价幅度的整数倍递增 / The bid must rise by whole multiples of the increment",
    Code.ALREADY_HIGHEST: "您已是当前最高报价者 / You already hold the highest bid",
    Code.INVALID_AMOUNT: "金额须为正整数（单位：分） / The amount must be a positive whole number of fen",
    Code.AMOUNT_TOO_LARGE: "报价金额超出系统上限 / The amount exceeds the system limit",
    Code.INVALID_BID_ID: "报价编号须为1至64位字母、数字、- 或 _ / bid_id must be 1-64 letters, digits, - or _",
    Code.MALFORMED_JSON: "消息不是有效的JSON对象 / The message is not a valid JSON object",
    Code.UNKNOWN_TYPE: "未知的消息类型 / Unknown message type",
    Code.INVALID_FIELD: "字段缺失或类型错误 / A field is missing or has the wrong type",
    Code.NOT_AUTHENTICATED: "请先发送 hello 消息 / Send a hello message first",
    Code.ALREADY_AUTHENTICATED: "连接已完成握手 / This connection already said hello",
    Code.INVALID_TOKEN: "竞买凭证无效或已过期 / The bidder token is invalid or expired",
    Code.WRONG_SESSION: "凭证或报价不属于此交易场次 / The token or the bid is for another session",
    Code.UNKNOWN_SESSION: "交易场次不存在 / No such session",
    Code.WATCHER_CANNOT_BID: "旁观连接不能报价 / A watcher connection cannot bid",
    Code.RESUME_GAP_TOO_LARGE: "last_seq 超出当前序号 / last_seq is ahead of the session's log",
    Code.SERVICE_UNAVAILABLE: "服务暂时不可用，报价未被接受，请重试 / Service unavailable; the bid was NOT accepted, retry",
    Code.CONFLICT: "并发冲突，请重试 / Concurrent update; retry",
    Code.JSON_TOO_DEEP: "JSON嵌套层数过多 / The JSON is nested too deeply",
    Code.BODY_TOO_LARGE: "请求内容过大 / The request body is too large",
    Code.INVALID_ID: "编号、路径或查询参数含有不允许的字符 / The id, path or query holds a character that is not allowed",
    Code.DATE_OUT_OF_RANGE: "日期超出允许范围 / The date is outside the accepted range",
    Code.INVALID_TERMS: "交易条件不合法 / The session terms are invalid",
    Code.Q31_DEPOSIT_BELOW_20_PERCENT: "竞买保证金不得低于起始价的20%（第三十一条） / Deposit below 20% of the starting price (Q31)",
    Code.N18_LISTING_PERIOD_TOO_SHORT: "挂牌时间不得少于10日（39号令第十八条） / Listing period shorter than 10 days (N Art.18)",
    Code.Q28_RESERVE_REQUIRED: "挂牌出让必须设定底价（第二十八条） / A listing must have a reserve price (Q28)",
    Code.START_IN_PAST: "开始时间已过 / The start time is in the past",
    Code.SESSION_EXISTS: "交易场次编号已存在 / A session with this id exists",
    Code.REGISTRATION_CLOSED: "竞买登记已截止 / Registration for this session has closed",
    Code.ALREADY_QUALIFIED: "该竞买号已取得资格 / This bidder number is already qualified",
    Code.REASON_REQUIRED: "须说明理由 / A reason is required",
    Code.NOT_SUSPENDED: "交易或招标未处于中止状态 / The session or tender is not suspended",
    Code.ALREADY_SUSPENDED: "交易或招标已中止 / The session or tender is already suspended",
    Code.RESUME_NOTICE_REQUIRED: "恢复时间距中止超过1小时，须提前公告（最早可定的时间见详情） / More than 1 hour after the suspension: announce the resumption in advance (the earliest time allowed is in the details)",
    Code.CLOSE_NOT_DUE: "尚未到结束时间 / The session is not due to close",
    Code.RESERVE_ALREADY_SEALED: "底价已密封，不得更改 / The reserve is already sealed and cannot change",
    Code.Q29_RESULT_NOT_DELIVERED: "出让结果尚未经全部渠道确认送达（第二十九条） / The result is not yet confirmed by every required channel (Q29)",
    Code.ESCROW_PASSPHRASE_WRONG: "托管密钥口令错误 / Wrong escrow key passphrase",
    Code.ESCROW_KEY_UNAVAILABLE: "托管私钥不可用 / The escrow private key is not available",
    Code.INVALID_INCREMENT: "加价幅度须为正整数（分） / The increment must be a positive whole number of fen",
    Code.UNAUTHORIZED: "未授权 / Not authorised",
    Code.NOT_FOUND: "未找到 / Not found",
    Code.PLAN_EXISTS: "供地方案编号已存在 / A plan with this id exists",
    Code.PLAN_WRONG_STATUS: "供地方案当前状态不允许此操作 / The plan's status does not allow this step",
    Code.INVALID_PARCEL: "宗地信息不完整或不一致 / The parcel data are missing or inconsistent",
    Code.Q22_TALLY_MISMATCH: "表决票数与到会成员人数不符（第二十二条） / The tally does not add up to the members present (Q22)",
    Code.Q22_CHAIR_NOT_LAST: "主要领导须末位表态（第二十二条） / The chair must state a view last (Q22)",
    Code.Q22_NOT_APPROVED: "供地方案须经委员会到会成员2/3以上赞成通过并经政府批准（第二十二条） / The plan needs a 2/3 committee vote and government approval first (Q22)",
    Code.Q23_MORE_THAN_ONE_PARCEL: "一个供地方案只能包含一宗地块，不得捆绑出让（第二十三条） / A plan offers exactly one parcel; bundling is refused (Q23)",
    Code.Q23_PARCEL_NOT_READY: "拟供地块不具备供应条件（第二十三条） / The parcel is not ready to be offered (Q23)",
    Code.Q24_CONDITIONS_NOT_ALLOWED: "该用途不得设定竞买条件（第二十四条） / Bidder conditions are not allowed for this land use (Q24)",
    Code.Q25_APPRAISAL_INCOMPLETE: "估价报告须载明估价机构、资质证书和电子备案号（第二十五条） / The appraisal needs its agency, qualification and electronic filing number (Q25)",
    Code.Q25_NO_APPRAISAL: "未经评估不得确定出让底价（第二十五条、第二十七条） / No appraisal report: the reserve cannot be decided (Q25, Q27)",
    Code.Q26_OUTSIDE_RESERVE_WINDOW: "底价须在活动开始前1小时内确定（第二十六条） / The reserve is decided within the hour before the start (Q26)",
    Code.Q26_TOO_FEW_MEMBERS: "底价须由委员会成员集体确定（第二十六条） / The reserve must be decided collectively (Q26)",
    Code.Q26_BAD_SIGNATURE: "底价集体决策记录的成员签名无效（第二十六条） / A member's signature on the reserve decision is invalid (Q26)",
    Code.Q26_RESERVE_NOT_SEALED: "底价尚未集体确定并密封，交易不能开始（第二十六条） / No reserve decision is sealed: the session cannot start (Q26)",
    Code.Q27_APPRAISAL_EXPIRED: "不得依据失效的估价报告确定底价（第二十七条） / The appraisal report has expired (Q27)",
    Code.Q27_APPRAISAL_AFTER_DECISION: "不得先议定价格再评估（第二十七条） / The appraisal is dated after the decision (Q27)",
    Code.Q27_BELOW_BENCHMARK: "底价不得低于基准地价（第二十七条） / The reserve is below the benchmark land price (Q27)",
    Code.Q27_PROCEDURE_INVERTED: "不得倒置出让决策程序（第二十七条） / The decision steps are out of order (Q27)",
    Code.Q29_ANNOUNCEMENT_TOO_SHORT: "出让公告须于活动开始20日前发布（第二十九条） / The announcement must be published at least 20 days before bidding starts (Q29)",
    Code.Q29_CHANNELS_MISSING: "出让公告须在规定的全部渠道公开（第二十九条） / The announcement must be published on every required channel (Q29)",
    Code.TENDER_NOT_SUPPORTED: "招标出让方案应创建招标，而非交易场次 / A tender plan becomes a tender, not a session",
    Code.CALENDAR_FILE_INVALID: "工作日历文件格式不正确 / The working-day calendar file is malformed",
    Code.CALENDAR_DATE_OUTSIDE_YEAR: "日历日期不属于该年度 / A calendar date lies outside the file's year",
    Code.CALENDAR_DATE_OVERLAP: "同一日期不能既是放假日又是调休上班日 / A date cannot be both a holiday and a make-up working day",
    Code.CALENDAR_WORKDAY_NOT_WEEKEND: "调休上班日须为周六或周日 / A make-up working day must fall on a Saturday or Sunday",
    Code.CALENDAR_YEAR_MISSING: "该年度工作日历尚未导入，期限无法计算 / The working-day calendar for that year is not loaded; the deadline cannot be computed",
    Code.CALENDAR_YEAR_OUT_OF_RANGE: "日历年度须在2000年至2199年之间 / The calendar year must lie between 2000 and 2199",
    Code.CALENDAR_STATUTORY_DAY_MISSING: "放假日未涵盖《全国年节及纪念日放假办法》规定的法定节假日 / The holidays do not cover every statutory holiday of the national holidays regulation",
    Code.CALENDAR_YEAR_CONFIRMED: "该年度工作日历已确认，不能以不同日期再次导入 / That year's calendar is already confirmed; it cannot be loaded again with other dates",
    Code.CALENDAR_NOT_ACCEPTED: "操作员未确认导入该年度工作日历 / The operator did not accept the year file",
    Code.Q31_DEPOSIT_LATE: "保证金在截止时间后到账，不计入，予以退还（第三十一条） / Deposit received after the deadline: not counted, held for refund (Q31)",
    Code.DEPOSIT_AFTER_CLOSE: "交易已结束后银行才报告的款项，不计入保证金，予以退还 / Reported by the bank after the session ended: not counted, held for refund",
    Code.Q31_DEPOSIT_NOT_IN_FULL: "保证金未在截止时间前足额到账（第三十一条） / The full deposit did not arrive before the deadline (Q31)",
    Code.DEPOSIT_PAYER_NAME_MISMATCH: "付款账户名称与竞买申请人不一致，予以退还 / The paying account is not in the applicant's name: held for refund",
    Code.DEPOSIT_UNKNOWN_SUBACCOUNT: "保证金子账号不存在，款项待退 / Unknown deposit sub-account: the money is held for refund",
    Code.DEPOSIT_DUPLICATE_TXN: "该银行流水已处理 / This bank transaction was already recorded",
    Code.DEPOSIT_TXN_CONFLICT: "同一银行流水号内容不一致 / The same bank transaction id arrived with different contents",
    Code.DEPOSIT_ALREADY_QUALIFIED: "已取得竞买资格，本笔款项予以退还 / The bidder is already qualified: this payment is held for refund",
    Code.LEDGER_UNBALANCED: "分录借贷不平衡 / The ledger entry does not balance",
    Code.LEDGER_ENTRY_CONFLICT: "同一分录编号内容不一致 / The same entry id was posted with different contents",
    Code.LEDGER_INSUFFICIENT_FUNDS: "账户余额不足 / The account does not hold that much",
    Code.DEADLINE_ALREADY_DONE: "该期限事项已办结 / This deadline is already done",
    Code.DEADLINE_WRONG_KIND: "该操作不适用于此类期限 / This step does not apply to this kind of deadline",
    Code.Q42_CONTRACT_NOT_OVERDUE: "签订出让合同期限尚未届满或已签订（第四十二条） / The contract deadline has not passed or the contract is signed (Q42)",
    Code.Q42_CONTRACT_NOT_SIGNED_IN_TIME: "竞得人未在规定期限内签订出让合同，取消资格，保证金不予退还（第四十二条） / The contract was not signed in time: the win is cancelled and the deposit is not returned (Q42)",
    Code.Q42_DEADLINE_PROVISIONAL: "签约期限按暂定工作日历计算，须待国务院放假安排导入后方可认定违约（第四十二条） / The contract deadline rests on a provisional calendar year: no Q42 default until the official schedule is loaded",
    Code.Q40_DEDUCTIONS_EXCEED_PRICE: "计提专项资金和扣除成本超过成交总价款（第四十条） / Special funds and costs exceed the total price (Q40)",
    Code.Q41_NOT_COMMERCIAL_OR_RESIDENTIAL: "15%调节专项收入仅适用于已完成征收储备的商业和住宅用地（第四十一条） / The 15% regulation revenue applies only to commercial and residential land stored before the reform (Q41)",
    Code.SETTLEMENT_INVALID_ITEM: "专项资金或成本项目不合法 / A special fund or cost item is invalid",
    Code.CSRF_TOKEN_INVALID: "表单校验码缺失或不正确，请刷新页面后重试 / The form's CSRF token is missing or wrong; reload the page and retry",
    Code.FORBIDDEN: "您的角色无权执行此操作 / Your role may not do this",
    Code.SIGN_IN_FAILED: "用户名或密码错误 / Wrong user name or password",
    Code.SIGN_IN_THROTTLED: "该账号从此地址登录失败次数过多，请稍后再试 / Too many failed sign-ins for this account from this address; wait and try again",
    Code.PASSWORD_TOO_SHORT: "密码至少12个字符 / The password must have at least 12 characters",
    Code.PASSWORD_TOO_LONG: "密码最多1024个字符 / The password may have at most 1024 characters",
    Code.PASSWORD_TOO_COMMON: "密码过于常见（属于常用密码，或只是在常用密码前后加数字、符号或重复，或全为数字），请另选 / The password is too common (a common password, one with digits, symbols or repeats added, or digits only): choose another",
    Code.WATCHER_LIMIT: "此地址的旁观连接数已达上限 / Too many watcher connections from this address",
    Code.TOKEN_ATTEMPTS_LIMIT: "此地址的无效竞买凭证尝试过多，请一分钟后再试 / Too many invalid bidder tokens from this address; try again in a minute",
    Code.OPERATOR_KEY_ATTEMPTS_LIMIT: "此地址的错误操作员密钥尝试过多，请一分钟后再试 / Too many wrong operator keys from this address; try again in a minute",
    Code.BANK_UNKNOWN: "未登记的银行 / Unknown bank (X-Bank-Id)",
    Code.BANK_SIGNATURE_INVALID: "银行通知签名缺失或无效 / The bank notification's signature is missing or invalid",
    Code.BANK_TIMESTAMP_STALE: "银行通知时间戳超出允许范围 / The bank notification's timestamp is outside the allowed window",
    Code.BANK_REPLAYED: "该银行通知已收到过（重放），未予处理 / This signed notification was already received (replay): ignored",
    Code.APPLICATION_EXISTS: "该竞买人已申请本宗地 / This applicant has already applied for this parcel",
    Code.DEPOSIT_DEADLINE_AFTER_REGISTRATION: "保证金到账截止时间不得晚于报名截止时间 / The deposit deadline cannot be after registration closes (RULES 3.4)",
    Code.TOKEN_ALREADY_ISSUED: "竞买凭证已发放，仅显示一次 / The bidding token was already issued; it is shown only once",
    Code.TOKEN_NOT_YET_ISSUED: "竞买凭证尚未发放，请先发放 / The bidding token was never issued: issue it first",
    Code.TOKEN_REVOKED: "此竞买凭证已被重新发放的凭证取代，请使用新凭证重新登录 / This bidding token was replaced by a re-issued one: sign in again with the new token",
    Code.SESSION_NOT_SOLD: "该场次尚未结束或未成交 / The session has not ended in a sale",
    Code.SESSION_SOLD: "该场次已成交，请发布成交结果公示 / The session ended in a sale: publish its result with the deal",
    Code.SUPERVISION_NUMBER_REQUIRED: "未录入有效的电子监管号，结果公示不能完成 / The result cannot be published without a valid 16-character land supervision number",
    Code.RESULT_ALREADY_PUBLISHED: "该宗地的结果公示已发布 / The result for this parcel has already been published",
    Code.USCC_INVALID: "统一社会信用代码不正确（应为18位，末位校验码须符合GB 32100-2015） / The unified social credit code is wrong (18 characters, the last a GB 32100-2015 check character)",
    Code.COMPANY_EXISTS: "该统一社会信用代码已注册，请直接登录 / This unified social credit code is already registered: sign in",
    Code.PHONE_INVALID: "联系电话应为11位手机号或带区号的固定电话 / The phone must be an 11-digit mobile number or a landline with its area code",
    Code.PASSWORDS_DIFFER: "两次输入的密码不一致 / The two passwords differ",
    Code.SUPERVISION_NO_REGION_MISMATCH: "电子监管号的行政区划代码与宗地所在行政区不符 / The land supervision number's division code is not the parcel's administrative division",
    Code.REGION_CODE_UNKNOWN: "行政区划代码不在行政区划表中 / The administrative division code is not in the division table (GB/T 2260)",
    Code.RECORD_NOT_FINAL: "交易尚未结束，公开记录在结束后提供 / The public record exists once the session has ended",
    Code.BID_SIGNATURE_INVALID: "报价签名缺失或无效 / The bid's signature is missing or does not verify",
    Code.BIDDER_KEY_REGISTERED: "该竞买号已登记另一公钥，公钥不可更换 / Another key is registered for this bidder; a key never changes",
    Code.TENDER_BID_ALREADY_SUBMITTED: "投标文件已递交，不得撤回或重复递交（规则6.2） / A bid was already submitted and is irrevocable (RULES 6.2)",
    Code.TENDER_BID_DEADLINE_PASSED: "投标截止时间已过 / The tender's bid deadline has passed",
    Code.TENDER_OPENING_NOT_DUE: "尚未到开标时间 / The opening time has not come",
    Code.TENDER_ALREADY_OPENED: "已开标 / The bids have already been opened",
    Code.TENDER_NOT_OPENED: "尚未开标 / The bids have not been opened yet",
    Code.TENDER_PANEL_INVALID: "评标委员会须为5人以上单数 / The panel must be an odd number of at least five",
    Code.TENDER_NOT_ON_PANEL: "您不是本次评标委员会成员 / You are not on this tender's panel",
    Code.TENDER_SHEET_ALREADY_SIGNED: "您已提交评分表 / Your score sheet is already signed",
    Code.TENDER_SHEET_BAD_SIGNATURE: "评分表签名无效 / The score sheet's signature does not verify",
    Code.TENDER_SHEET_INVALID: "评分表须对每份有效投标的每项评分因素打分 / Score every criterion of every valid bid",
    Code.TENDER_SCORING_INCOMPLETE: "评标委员会成员尚未全部提交评分表 / Not every panel member has signed a score sheet",
    Code.TENDER_RESERVE_UNREADABLE: "底价无法开启或与承诺值不符 / The reserve cannot be opened or fails its commitment",
    Code.POSTDEAL_NO_RESULT: "该宗地尚无已发布的成交结果公示，不能登记成交后事项 / The plan has no published result of a sale: post-deal facts cannot be recorded",
    Code.POSTDEAL_BEFORE_CONTRACT: "日期早于合同签订日期 / The date is before the contract date",
    Code.POSTDEAL_COMPLETION_BEFORE_START: "实际竣工时间早于实际开工时间，或实际开工时间未登记 / The actual completion is before the actual start, or no start is recorded",
    Code.POSTDEAL_OVERPAID: "该期实际支付金额超过约定支付金额 / More is paid toward the installment than it owes",
    Code.FLOOR_AREA_UNKNOWN: "按建筑面积计价须写明建筑面积，或有闭区间的容积率上限 / A price per floor area needs the floor area: state it, or a closed plot ratio upper limit",
    Code.FLOOR_PRICE_NOT_WHOLE_FEN: "单价乘建筑面积不是整分 / The unit price times the floor area is not a whole number of fen",
    Code.FLOOR_PRICE_TOTAL_MISMATCH: "总价与单价乘建筑面积不符 / The total differs from the unit price times the floor area",
    Code.TOKEN_VIA_PORTAL: ("该申请由竞买人在自助平台提交，竞买凭证只由竞买人本人在平台领取 / This application was made in "
                            "the bidders' portal: only the company takes its bidding token there"),
    Code.METHOD_NOT_ALLOWED: "该地址不支持此请求方法 / This path does not take this request method",
    Code.NOT_IN_TIMED_BIDDING: ("限时竞价仅限挂牌期间报过价的竞买人参加 / Timed bidding is open only to the bidders "
                                "who bid during the listing"),
    Code.SESSION_HELD: ("交易待工作人员处理，暂不接受报价 / The session is held for the trading center's staff; "
                        "no bids are taken"),
    # Committee members' keys
    Code.MEMBER_KEY_REGISTERED: ("该成员编号或公钥已登记为其他内容，公钥登记后不可更改；如需换钥，请另设成员编号 / This "
                                 "member id or public key is already registered differently; a key never changes"),
    # The result after a sale (Q29) and the contract's Q42 row
    Code.CONTRACT_NOT_RECORDED: "出让合同的签订尚未登记（第四十二条），请先在交易结束页登记“合同已签订”，再发布出让结果 / "
                                "the contract's signing is not recorded yet (Q42): record it first, then publish the result",
    Code.CONTRACT_DATE_MISMATCH: "合同签订日期与已登记的签订日期不一致（第四十二条） / the contract date differs from the "
                                 "signing recorded on the Q42 row",
    # The contract's signing (Q42): not before the sale it follows
    Code.CONTRACT_BEFORE_SALE: "合同签订时间早于成交时间：出让合同在成交（交易结束或中标）之后签订（第四十二条） / the "
                               "signing is dated before the sale: the contract follows the close (or the award)",
    # A tender held for an outage across its bid deadline (RULES 6.7)
    Code.TENDER_SUSPENDED: "招标已中止：投标截止时间在系统停机期间已过，不接受投标、不开标，待交易中心公告新的投标截止时间"
                           "（规则6.7） / The tender is suspended: its bid deadline passed while the server was down; "
                           "no bid is taken and the bids are not opened until the trading center announces a new "
                           "deadline (RULES 6.7)",
}


@dataclass(frozen=True)
class Rejection:
    """A refusal: stable code, human message, machine-readable details."""

    code: Code
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "details": self.details}


class Rejected(Exception):
    """Raised by the engine (and the shell's input checks) for a refused command.

    A rejected command changes nothing: no event is produced.
    """

    def __init__(self, code: Code, detail: str = "", **details: Any) -> None:
        message = MESSAGES[code]
        if detail:
            message = f"{message}: {detail}"
        self.rejection = Rejection(code, message, details)
        super().__init__(f"{code.value}: {message}")

    @property
    def code(self) -> Code:
        return self.rejection.code
