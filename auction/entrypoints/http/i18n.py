"""Chinese first, English second: the one table of interface labels, and the language switch.

A label is a pair (Chinese, English). Pages show the chosen language first and the other
one second, smaller (`tt`), or the chosen one alone (`t`). The choice is a cookie
(`lang`, "zh" or "en"; default Chinese), set by `GET /lang/{zh|en}?next=...`; the static
bidder page reads the same table from `/i18n.js` and keeps the choice in localStorage too.
Codes' messages stay in auction/domain/codes.py (Chinese, then English).
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.domain.china import to_cst
from auction.domain.codes import MESSAGES
from auction.entrypoints.http.tender_labels import TENDER_LABELS

COOKIE = "lang"
LANGS = ("zh", "en")
DEFAULT = "zh"

LABELS: dict[str, tuple[str, str]] = {
    # the layout
    "product": ("国有建设用地使用权网上交易", "Online trading of state-owned construction land use rights"),
    "product.short": ("国有建设用地使用权网上交易", "Land use rights online trading"),
    "center": ("曲靖市公共资源交易中心", "Qujing Public Resource Trading Center"),
    "nav.home": ("首页", "Home"),
    "nav.hall": ("交易大厅", "Trading hall"),
    "nav.announcements": ("出让公告", "Announcements"),
    "nav.results": ("结果公示", "Results"),
    "nav.bid": ("竞买人报价", "Bidder page"),
    "nav.console": ("交易中心操作台", "Operator console"),
    "nav.sessions": ("交易场次", "Sessions"),
    "nav.plans": ("供地方案", "Plans"),
    "nav.deadlines": ("期限看板", "Deadlines"),
    "nav.audit": ("操作审计", "Audit trail"),
    "nav.sign_out": ("退出登录", "Sign out"),
    "lang.switch": ("语言", "Language"),
    "skip": ("跳到正文", "Skip to content"),
    "footer.times": ("时间均为北京时间（UTC+8），倒计时以服务器时钟为准",
                     "Times in China Standard Time (UTC+8); countdowns follow the server's clock"),
    "footer.amounts": ("金额以万元显示，括注精确到分", "Amounts in 万元 with the exact fen"),
    "console.title": ("操作台", "Console"),
    "not_found.title": ("页面未找到", "Page not found"),
    "not_found.text": ("您访问的页面不存在或已被移除。", "The page you asked for does not exist or was removed."),
    "back.home": ("返回首页", "Back to the home page"),
    "unavailable": ("服务暂不可用，请稍后再试。", "The service is unavailable; please try again later."),
    "none_yet": ("暂无", "None yet"),
    # the home page
    "home.intro": ("网上挂牌、拍卖出让国有建设用地使用权：公告、实时交易、结果公示。",
                   "Listing and auction of state-owned construction land use rights online: "
                   "announcements, live trading, results."),
    "home.hall": ("查看今日及近期交易场次，实时旁观竞价", "Today's and coming sessions, watched live"),
    "home.bid": ("以竞买凭证登录报价", "Sign in with your bidding token to bid"),
    "home.console": ("交易中心工作人员登录", "For the trading center's staff"),
    "home.documents": ("出让公告与成交结果", "Announcements and results"),
    # the hall
    "hall.title": ("交易大厅", "Trading hall"),
    "hall.intro": ("公开旁观：只显示匿名竞买号与公开报价，底价在交易结束前保密。",
                   "Public view: anonymous bidder numbers and public bids only; the reserve stays sealed "
                   "until the close."),
    "hall.today": ("今日交易", "Today"),
    "hall.upcoming": ("即将开始", "Upcoming"),
    "hall.closed": ("近期结束", "Recently closed"),
    "hall.empty": ("暂无交易场次", "No sessions"),
    "hall.watch": ("实时旁观", "Watch live"),
    "hall.view": ("查看", "View"),
    "hall.back": ("返回交易大厅", "Back to the trading hall"),
    "hall.live_note": ("本页以旁观者身份实时接收交易动态，不能报价。竞买人请到竞买人报价页登录。",
                       "This page follows the session as a watcher and cannot bid. Bidders sign in on "
                       "the bidder page."),
    "col.session": ("场次", "Session"),
    "col.parcel": ("地块名称", "Parcel"),
    "col.location": ("坐落", "Location"),
    "col.area": ("面积（公顷）", "Area (ha)"),
    "col.method": ("出让方式", "Method"),
    "col.start_price": ("起始价", "Starting price"),
    "col.increment": ("增价幅度", "Increment"),
    "col.start_at": ("开始时间", "Starts"),
    "col.end_at": ("挂牌截止", "Listing ends"),
    "col.phase": ("状态", "Status"),
    "col.highest": ("当前价", "Current price"),
    "col.bids": ("报价次数", "Bids"),
    "col.created": ("创建时间", "Created"),
    "col.next": ("下一时点", "Next deadline"),
    "col.seq": ("序号", "Seq"),
    "col.time": ("时间", "Time"),
    "col.bidder": ("竞买号", "Bidder no."),
    "col.amount": ("金额", "Amount"),
    "live.phase": ("交易阶段", "Phase"),
    "live.highest": ("当前最高价", "Current price"),
    "live.min_next": ("最低可报价", "Minimum next bid"),
    "live.time_left": ("剩余时间", "Time left"),
    "live.until_start": ("距开始", "Starts in"),
    "live.server_time": ("服务器时间", "Server time"),
    "live.bidder_no": ("竞买号", "Bidder no."),
    "live.increment": ("增价幅度", "Increment"),
    "live.bid_count": ("报价次数", "Bids"),
    "live.ladder": ("报价记录", "Bid ladder"),
    "live.events": ("交易动态", "Session events"),
    "live.outcome": ("交易结果", "Outcome"),
    "live.terms": ("宗地与交易条件", "Parcel and terms"),
    "live.connecting": ("正在连接…", "Connecting…"),
    "live.live": ("实时", "Live"),
    "live.reconnecting": ("连接中断，正在重连…", "Reconnecting…"),
    "live.no_bids": ("尚无报价", "No bids yet"),
    "live.sold": ("成交", "Sold"),
    "live.unsold": ("流拍", "Not sold"),
    "live.winner": ("竞得人竞买号", "Winner's number"),
    "live.price": ("成交价", "Price"),
    "term.method": ("出让方式", "Method"),
    "term.start_price": ("起始价", "Starting price"),
    "term.increment": ("增价幅度", "Increment"),
    "term.deposit": ("竞买保证金", "Deposit"),
    "term.start_at": ("开始时间", "Starts"),
    "term.listing_end": ("挂牌截止", "Listing ends"),
    "term.countdown": ("倒计时时长", "Countdown"),
    "term.reserve": ("底价", "Reserve"),
    "term.session": ("交易场次", "Session"),
    "term.parcel": ("地块", "Parcel"),
    "term.parcel_no": ("宗地编号", "Parcel no."),
    "term.location": ("坐落", "Location"),
    "term.area": ("面积", "Area"),
    "term.land_use": ("用途", "Land use"),
    "term.term_years": ("出让年限", "Term"),
    "term.plot_ratio": ("容积率", "Plot ratio"),
    "term.registration": ("登记截止", "Registration closes"),
    "term.commitment": ("底价承诺值", "Reserve commitment"),
    "reserve.sealed": ("有底价（保密，交易结束时公开并可校验）", "Sealed (secret until the close, then checkable)"),
    "reserve.none": ("无底价，以起始价为底价（第二十八条）", "None: the starting price stands in (Q28)"),
    "reserve.not_sealed": ("尚未密封", "Not yet sealed"),
    "method.LISTING": ("挂牌", "Listing"),
    "method.AUCTION": ("拍卖", "Auction"),
    "method.TENDER": ("招标", "Tender"),
    "phase.NEW": ("新建", "New"),
    "phase.SCHEDULED": ("未开始", "Scheduled"),
    "phase.LISTING": ("挂牌期", "Listing"),
    "phase.TIMED_BIDDING": ("限时竞价", "Timed bidding"),
    "phase.AUCTION": ("拍卖", "Auction"),
    "phase.SUSPENDED": ("中止", "Suspended"),
    "phase.CLOSED": ("已结束", "Closed"),
    "phase.HELD": ("暂缓处理", "Held"),
    "phase.TERMINATED": ("终止", "Terminated"),
    # the console's sessions pages
    "sessions.title": ("交易场次", "Trading sessions"),
    "sessions.none": ("尚无交易场次", "No sessions yet"),
    "session.title": ("交易场次", "Session"),
    "session.export": ("事件日志导出", "Export the event log"),
    "session.bidders": ("竞买人", "Bidders"),
    "session.control": ("场次控制", "Session control"),
    "session.trail": ("操作审计（本场次）", "Operator actions on this session"),
    "session.terms": ("交易条件", "Terms"),
    "seconds": ("秒", "s"),
    # the bidder page (static: read by JavaScript from /i18n.js)
    "bid.title": ("竞买人报价", "Bidder page"),
    "bid.signin": ("竞买人登录", "Bidder sign-in"),
    "bid.signin_help": ("请输入交易中心发放的竞买凭证（取得竞买资格后获得，仅限本宗地本场次）。",
                        "Enter the bidding token the trading center gave you (valid for one session)."),
    "bid.token": ("竞买凭证", "Bidding token"),
    "bid.signin_button": ("登录", "Sign in"),
    "bid.place": ("报价", "Place a bid"),
    "bid.my_no": ("竞买号", "Your number"),
    "bid.amount": ("报价金额（万元）", "Amount in 万元"),
    "bid.use_min": ("填入最低可报价", "Minimum"),
    "bid.submit": ("提交报价", "Bid"),
    "bid.confirm": ("请确认报价", "Confirm your bid"),
    "bid.confirm_amount": ("报价金额", "Amount"),
    "bid.confirm_words": ("大写金额", "In words"),
    "bid.irrevocable": ("报价一经提交不可撤回。", "A bid cannot be withdrawn once placed."),
    "bid.confirm_yes": ("确认报价", "Confirm"),
    "bid.confirm_no": ("返回修改", "Back"),
    "bid.mine": ("我的报价", "My accepted bids"),
    "bid.connected": ("已连接，实时更新", "Connected, live"),
    "bid.reconnecting": ("连接中断，正在自动重连，重连后补齐期间的报价…",
                         "Connection lost: reconnecting, missed bids will be filled in"),
    "bid.reserve_box": ("底价", "Reserve"),
    "bid.salt": ("盐值", "Salt"),
    "bid.commitment": ("承诺值", "Commitment"),
    # api (converted from the pages)
    'api.red_overdue_yellow_due_soon': ('红色：已逾期；黄色：临近到期。工作日按国务院公布的法定节假日与调休计算（规则第九条）。', 'Red: overdue; yellow: due soon. Working days follow the official calendar (RULES 9).'),
    'api.back': ('返回', 'Back'),
    'api.not_json': ('非 JSON 内容', 'not JSON'),
    'api.nothing': ('暂无', 'nothing'),
    # audit (converted from the pages)
    'audit.audit_trail_of_operator': ('操作审计', 'Audit trail of operator actions'),
    'audit.export': ('导出', 'Export'),
    'audit.when': ('时间', 'When'),
    'audit.who': ('操作人', 'Who'),
    'audit.what': ('操作', 'What'),
    'audit.outcome': ('结果', 'Outcome'),
    'audit.from': ('来源地址', 'From'),
    'audit.detail': ('详情', 'Detail'),
    'audit.nothing_yet': ('尚无记录', 'nothing yet'),
    # close (converted from the pages)
    'close.the_close_and_what_follows': ('交易结束与后续事项', 'The close and what follows'),
    'close.escrow_key': ('托管密钥', 'Escrow key'),
    'close.passphrase': ('托管密钥口令', 'Passphrase'),
    'close.the_passphrase_is_never': ('口令不记录、不保存。', 'The passphrase is never logged or kept.'),
    'close.why': ('原因', 'Why'),
    'close.price': ('成交价（万元）', 'Price'),
    'close.winner': ('竞得人竞买号', 'Winner'),
    'close.reserve_revealed': ('底价（已揭示）', 'Reserve, revealed'),
    'close.publication_per_channel': ('结果发布', 'Publication per channel'),
    'close.channel': ('渠道', 'Channel'),
    'close.state': ('状态', 'State'),
    'close.attempts': ('尝试次数', 'Attempts'),
    'close.delivered': ('送达时间', 'Delivered'),
    'close.last_error_receipt': ('说明', 'Last error / receipt'),
    'close.action': ('操作', 'Action'),
    'close.deadlines': ('后续期限', 'Deadlines'),
    'close.what': ('事项', 'What'),
    'close.rule': ('依据', 'Rule'),
    'close.subject': ('对象', 'Subject'),
    'close.due': ('到期', 'Due'),
    'close.left': ('剩余工作日', 'Left'),
    'close.action_2': ('办理', 'Action'),
    'close.signed': ('签订时间', 'Signed'),
    'close.confirm': ('确认', 'confirm'),
    'close.confirm_forfeit': ('确认逾期未签，没收保证金（第四十二条）', 'confirm: forfeit (Q42)'),
    'close.done_at': ('办结时间', 'Done at'),
    'close.bank_txn': ('银行流水号', 'Bank txn'),
    'close.amount': ('退还金额（万元，可空）', 'Amount'),
    'close.transaction_confirmation': ('成交确认书', 'Transaction confirmation'),
    'close.not_closed_yet': ('交易尚未结束', 'not closed yet'),
    'close.publish_the_result': ('发布出让结果', 'Publish the result'),
    'close.publish_unsold': ('发布结果公示（未成交）', 'Publish the no-sale result'),
    'close.retry': ('重新发布', 'Retry'),
    'close.nothing_published_for_this': ('无发布记录', 'nothing published for this session'),
    'close.detail': ('详情', 'detail'),
    'close.provisional': ('暂定', 'provisional'),
    'close.contract_signed': ('合同已签订', 'Contract signed'),
    'close.forfeit': ('没收保证金', 'Forfeit'),
    'close.no_deadlines': ('暂无期限', 'no deadlines'),
    'close.back_to_the_session': ('返回场次', 'Back to the session'),
    'close.applications_and_deposits': ('竞买申请与保证金', 'Applications and deposits'),
    'close.escrow_key_unlocked': ('托管密钥已解锁', 'escrow key unlocked'),
    'close.publication_rescheduled': ('已重新安排发布', 'publication rescheduled'),
    'close.contract_signing_recorded': ('已登记合同签订', 'contract signing recorded'),
    'close.recorded_as_done': ('已登记办结', 'recorded as done'),
    'close.deposit_forfeited': ('已按第四十二条没收保证金', 'deposit forfeited (Q42)'),
    'close.already_done_nothing_changed': ('此前已办结，未作更改', 'already done: nothing changed'),
    'close.result_published_being': ('出让结果已发布，正在送达各渠道', 'result published, being delivered'),
    'close.unlocked': ('已解锁', 'unlocked'),
    'close.locked': ('未解锁', 'locked'),
    'close.unlock_and_close': ('解锁并结束交易', 'Unlock and close'),
    'close.unlock': ('解锁', 'Unlock'),
    'close.matches': ('一致', 'matches'),
    'close.mismatch': ('不一致', 'MISMATCH'),
    'close.refund_made': ('保证金已退还', 'Refund made'),
    'close.done': ('已办结', 'Done'),
    # committee (converted from the pages)
    'committee.committee_members_keys': ('委员会成员与公钥', "Committee members' keys (Q26)"),
    'committee.registered_members': ('已登记的成员', 'Registered members'),
    'committee.member_id': ('成员编号', 'Member id'),
    'committee.name': ('姓名', 'Name'),
    'committee.public_key': ('公钥', 'Public key (Ed25519)'),
    'committee.registered': ('登记时间', 'Registered'),
    'committee.register_a_member_s_public': ('登记成员公钥', "Register a member's public key"),
    'committee.supply_plans': ('供地方案', 'Supply plans'),
    'committee.no_member_registered_yet': ('尚未登记成员', 'no member registered yet'),
    'committee.register': ('登记', 'Register'),
    'committee.the_64_hex_digits_the_member': ('委员页面“本浏览器公钥”所示64位十六进制', "the 64 hex digits the member's page shows"),
    'committee.member_id_2': ('成员编号（操作台用户名）', 'Member id (console user name)'),
    'committee.public_key_hex': ('公钥（十六进制）', 'Public key, hex'),
    # deadlines (converted from the pages)
    'deadlines.plan': ('供地方案', 'Plan'),
    'deadlines.due_dates_moved': ('期限变动', 'Due dates moved'),
    'deadlines.was': ('原到期日', 'Was'),
    'deadlines.now': ('新到期日', 'Now'),
    'deadlines.due': ('到期日', 'Due'),
    'deadlines.working_days_left': ('剩余工作日', 'Working days left'),
    'deadlines.done': ('办结', 'Done'),
    'deadlines.red_overdue_yellow_due_soon': ('红色：已逾期；黄色：临近到期或缺少工作日历。工作日按国务院公布的法定节假日与调休计算（规则第九条）；“暂定”的到期日按法定节假日推算，国务院当年放假安排导入后自动重算，变动列于“期限变动”。', 'Red: overdue; yellow: due soon or a calendar year missing. Working days follow the official calendar (RULES 9); a "provisional" due date is counted on the statutory holidays only and recomputed when the State Council\'s schedule is loaded; moves are listed under "Due dates moved".'),
    'deadlines.more': ('其他', 'More'),
    'deadlines.open_only': ('只看未办结', 'open only'),
    'deadlines.all_done_included': ('全部（含已办结）', 'all, done included'),
    'deadlines.late': ('逾期办结', 'late'),
    'deadlines.pending': ('进行中', 'pending'),
    'deadlines.done_2': ('已办结', 'done'),
    'deadlines.overdue': ('已逾期', 'overdue'),
    'deadlines.calendar_missing': ('缺工作日历', 'calendar missing'),
    'deadlines.defaulted': ('已违约', 'defaulted (Q42)'),
    # error (converted from the pages)
    'error.not_done': ('操作未完成', 'Not done'),
    # login (converted from the pages)
    'login.sign_in_to_the_console': ('操作台登录', 'Sign in to the console'),
    'login.user_name': ('用户名', 'User name'),
    'login.password': ('密码', 'Password'),
    # money (converted from the pages)
    'money.bidders_stay_anonymous_until': ('交易结束前不显示竞买人名称（规则第三条第五款、第八条第一款）。', 'Bidders stay anonymous until the close (RULES 3.5, 8.1).'),
    'money.the_page_follows_the_bank_s': ('银行到账通知到达后本页自动更新。', "The page follows the bank's confirmations as they arrive."),
    'money.deposit_ledger': ('保证金台账', 'Deposit ledger'),
    'money.application': ('申请编号', 'Application'),
    'money.kind': ('类型', 'Kind'),
    'money.sub_account': ('保证金子账户', 'Sub-account'),
    'money.required': ('应缴（万元）', 'Required'),
    'money.paid': ('已到账（万元）', 'Paid'),
    'money.missing': ('尚缺（万元）', 'Missing'),
    'money.deadline': ('缴纳截止', 'Deadline'),
    'money.status': ('资格', 'Status'),
    'money.fate': ('去向', 'Fate'),
    'money.bank_confirmations': ('银行到账确认', 'Bank confirmations'),
    'money.sub_account_2': ('子账户', 'Sub-account'),
    'money.amount': ('金额（万元）', 'Amount'),
    'money.received': ('到账时间', 'Received'),
    'money.counted': ('计入', 'Counted'),
    'money.payer': ('付款人', 'Payer'),
    'money.bidding_tokens': ('竞买凭证', 'Bidding tokens'),
    'money.a_token_is_shown_once_re': ('凭证只显示一次，请当面或以安全方式交给竞买人。凭证遗失或泄露时重新发放，原凭证随即失效。', 'A token is shown once; re-issue a lost or exposed one, which revokes the old one.'),
    'money.reason': ('重新发放理由（必填）', 'Reason'),
    'money.no_applications_yet': ('尚无竞买申请', 'no applications yet'),
    'money.nothing_received_yet': ('尚无到账', 'nothing received yet'),
    'money.re_issue': ('重新发放', 'Re-issue'),
    'money.issue': ('发放凭证', 'Issue'),
    'money.token_issued': ('凭证已发放', 'token issued'),
    'money.no_token_yet': ('凭证未发放', 'no token yet'),
    # plan (converted from the pages)
    'plan.next_step': ('下一步', 'Next step'),
    'plan.opens': ('可办理时间', 'Opens'),
    'plan.legal_deadline': ('法定期限', 'Legal deadline'),
    'plan.before': ('前', 'before'),
    'plan.timeline': ('办理进度', 'Timeline'),
    'plan.parcel': ('宗地', 'Parcel'),
    'plan.readiness': ('供应条件', 'Readiness (Q23)'),
    'plan.terms': ('出让条件', 'Terms'),
    'plan.schedule_in_force': ('公告时间表', 'Schedule in force'),
    'plan.appraisals': ('估价报告', 'Appraisals'),
    'plan.the_plan_s_log': ('方案记录', "The plan's log"),
    'plan.raw_record_for_auditors': ('原始记录', 'Raw record for auditors'),
    'plan.open_the_form': ('办理', 'Open the form'),
    'plan.go_to_the_session': ('前往交易场次', 'Go to the session'),
    'plan.plan_drafted': ('供地方案已编制', 'Plan drafted'),
    'plan.meeting_recorded': ('委员会会议已记录', 'Meeting recorded'),
    'plan.approval_recorded': ('政府批准已记录', 'Approval recorded'),
    'plan.appraisal_recorded': ('估价报告已登记', 'Appraisal recorded'),
    'plan.announcement_published': ('出让公告已发布', 'Announcement published'),
    'plan.change_notice_published': ('变更公告已发布', 'Change notice published'),
    'plan.session_created': ('交易场次已创建', 'Session created'),
    'plan.draft_edited': ('供地方案已修改', 'Draft edited'),
    'plan.edit': ('编辑', 'Edit'),
    'plan.editable_until': ('委员会审议前可修改', 'editable until the committee meets'),
    'plan.again': ('再次办理', 'Again'),
    'plan.the_reserve_page': ('底价决定页面（委员签名密钥）', "The reserve page (members' keys)"),
    # form (converted from the pages)
    'form.schedule': ('时间表', 'Schedule'),
    'form.channels_all_six': ('发布渠道（第二十九条，六个渠道均须发布）', 'Channels, all six (Q29)'),
    'form.a_past_time_counts_as_now': ('早于现在按现在计（不得倒签）', 'a past time counts as now'),
    'form.announcement_no': ('公告编号', 'Announcement no.'),
    'form.announcement_title': ('公告标题', 'Announcement title'),
    'form.announcement_title_hint': ('可不填：默认为“出让人＋国有建设用地使用权＋出让方式＋公告”', 'optional: by default the seller, the right and the method, as the site titles it'),
    'form.start_floor_price': ('起始价（元/建筑平方米）', 'Starting price per m² of floor area, 元'),
    'form.increment_floor_price': ('增价幅度（元/建筑平方米）', 'Increment per m² of floor area, 元'),
    'form.floor_price_hint': ('可不填；填写后万元总价按建筑面积精确计算，可留空', 'optional; when given, the 万元 total is derived exactly from the floor area and may be left empty'),
    'form.floor_area_m2': ('建筑面积（m²）', 'Floor area, m²'),
    'form.floor_area_hint': ('可不填：按宗地面积×容积率上限计算', 'optional: land area × the plot ratio upper limit'),
    'form.seller': ('出让人', 'Seller'),
    'form.published_at': ('发布时间', 'Published at (CST)'),
    'form.place_and_method': ('出让时间、地点和方式', 'Place and method'),
    'form.how_to_apply_and_qualify': ('竞买申请（资格、文件、取得资格方式）', 'How to apply and qualify'),
    'form.contacts': ('联系方式', 'Contacts'),
    'form.other_matters': ('其他事项', 'Other matters'),
    'form.what_the_checks_will_compare': ('提交前核对', 'What the checks will compare'),
    'form.article': ('条款', 'Article'),
    'form.check': ('核对', 'Check'),
    'form.numbers': ('数值', 'Numbers'),
    'form.agency_qualification_and': ('估价机构、资质证书编号、电子备案号均须填写', 'agency, qualification and filing number'),
    'form.reserve_benchmark_area': ('底价（无底价拍卖为起始价）不得低于基准地价总额', 'reserve (or the starting price) ≥ benchmark × area'),
    'form.valuation_date_decision_day': ('估价期日不得晚于底价确定日，有效期须覆盖该日', 'valuation date ≤ decision day ≤ valid until'),
    'form.checked_the_engine_would': ('预检通过：现在提交将被接受。', 'Checked: the engine would accept this now (nothing recorded yet).'),
    'form.check_first': ('预检', 'Check first'),
    'form.report_id': ('报告编号（本系统）', 'Report id'),
    'form.appraisal_agency': ('估价机构', 'Appraisal agency'),
    'form.qualification_certificate': ('资质证书编号', 'Qualification certificate'),
    'form.electronic_filing_no': ('电子备案号', 'Electronic filing no.'),
    'form.valuation_date': ('估价期日', 'Valuation date'),
    'form.valid_until': ('有效期至', 'Valid until'),
    'form.not_before_the_committee': ('不得早于委员会会议（Q27）', 'not before the committee meeting'),
    'form.approver': ('批准机关', 'Approver'),
    'form.document_no': ('批复文号', 'Document no.'),
    'form.approved_at': ('批准时间', 'Approved at (CST)'),
    'form.schedule_shift': ('时间表变化预览', 'Schedule shift (not recorded yet)'),
    'form.item': ('项目', 'Item'),
    'form.requested': ('申请', 'Requested'),
    'form.in_force_after': ('生效', 'In force after'),
    'form.preview_the_shift': ('预览顺延', 'Preview the shift'),
    'form.reason': ('变更理由', 'Reason'),
    'form.what_the_change_says': ('变更内容', 'What the change says'),
    'form.change_the_schedule_too': ('同时变更时间表', 'change the schedule too'),
    'form.secret_ballot_passes_with_at': ('委员会以无记名投票表决，到会成员2/3以上赞成方为通过；主要领导末位表态。只记录票数，不记录谁投了什么票（第二十二条）。', 'Secret ballot; passes with at least 2/3 of those present; the chair speaks last. Only the tally is recorded (Q22).'),
    'form.tally': ('表决结果', 'Tally'),
    'form.the_three_add_up_to_the': ('三项之和须等于到会人数', 'the three add up to the members present'),
    'form.the_chair_must_be_among_them': ('主持人须在到会成员之中', 'the chair must be among them'),
    'form.held_at': ('会议时间', 'Held at (CST)'),
    'form.chair': ('主持人（成员编号）', 'Chair (member id)'),
    'form.members_present': ('到会成员（成员编号，逗号或换行分隔）', 'Members present (ids, comma or line separated)'),
    'form.yes': ('赞成', 'Yes'),
    'form.no': ('反对', 'No'),
    'form.abstain': ('弃权', 'Abstain'),
    'form.the_chair_stated_a_view_last': ('主要领导末位表态', 'the chair stated a view last'),
    'form.land_use': ('用途（GB/T 21010）', 'Land use'),
    'form.readiness_all_six': ('供应条件（第二十三条，六项均须具备）', 'Readiness, all six (Q23)'),
    'form.planning_conditions': ('规划条件', 'Planning conditions'),
    'form.bidder_conditions': ('竞买条件', 'Bidder conditions'),
    'form.project_category': ('项目类别', 'Project category'),
    'form.choose': ('— 请选择', 'choose —'),
    'form.letters_digits': ('字母、数字、_ . -', 'letters, digits, _ . -'),
    'form.up_to_6_decimals': ('最多6位小数（精确到分）；按楼面地价出让时可不填', 'up to 6 decimals (exact fen); may be left empty when priced per floor area'),
    'form.at_least_20_of_the_starting': ('不低于起始价的20%（Q31）', 'at least 20% of the starting price'),
    'form.within_the_use_s_legal': ('不超过该用途的法定最高年限', "within the use's legal maximum"),
    'form.e_g_1_0_optional': ('如 1.0；可留空', 'e.g. 1.0; optional'),
    'form.e_g_2_5': ('如 2.5', 'e.g. 2.5'),
    'form.the_reserve_may_not_be_below': ('底价不得低于基准地价×面积（Q27）', 'the reserve may not be below benchmark × area'),
    'form.e_g_cleared_land': ('如：净地', 'e.g. cleared land'),
    'form.only_for_these_projects': ('仅工业、商业综合体、高档酒店、高端商务办公项目可设，不得排斥公平竞争', 'only for these projects, never restricting fair competition'),
    'form.plan_id': ('方案编号', 'Plan id'),
    'form.term_years': ('出让年限（年）', 'Term, years'),
    'form.plot_ratio': ('容积率下限', 'Plot ratio ≥'),
    'form.plot_ratio_2': ('容积率上限', 'Plot ratio ≤'),
    'form.boundaries': ('四至', 'Boundaries'),
    'form.current_state': ('现状', 'Current state'),
    'form.building_density': ('建筑密度上限（%）', 'Building density ≤ %'),
    'form.green_ratio': ('绿地率下限（%）', 'Green ratio ≥ %'),
    'form.height_limit_m': ('建筑限高（m）', 'Height limit, m'),
    'form.other_planning_conditions': ('其他规划条件', 'Other planning conditions'),
    'form.nothing_was_done_see_the': ('提交未执行，请修改标红的字段。', 'Nothing was done: see the field marked below.'),
    'form.cancel': ('取消', 'Cancel'),
    'form.at_least_10_days': ('挂牌期不少于10日（N Art.18）', 'at least 10 days'),
    'form.bidding_starts': ('开始时间', 'Bidding starts (CST)'),
    'form.listing_ends': ('挂牌截止时间', 'Listing ends (CST)'),
    'form.deposit_deadline': ('保证金到账截止', 'Deposit deadline (CST)'),
    'form.registration_closes': ('报名截止', 'Registration closes (CST)'),
    'form.the_session_takes_the': ('交易场次按公告的时间表和方案的价格创建，底价随后由委员会在开始前1小时内集体确定并密封（第二十六条）。', "The session takes the announced schedule and the plan's prices; the committee seals the reserve in the hour before the start (Q26)."),
    'form.restarted_by_each_accepted': ('每次有效报价后重新计时，默认300秒（规则4.5、5.2）', 'restarted by each accepted bid; default 300'),
    'form.countdown_seconds': ('倒计时（秒）', 'Countdown, seconds'),
    # plans (converted from the pages)
    'plans.plan': ('方案编号', 'Plan'),
    'plans.use_area': ('用途 · 面积', 'Use · area'),
    'plans.deposit': ('保证金', 'Deposit'),
    'plans.starts': ('开始日期', 'Starts'),
    'plans.drafted': ('编制日期', 'Drafted'),
    'plans.updated': ('最近更新', 'Updated'),
    'plans.new_supply_plan': ('新建供应计划', 'New supply plan'),
    'plans.committee_members_keys': ('委员会成员与公钥', "Committee members' keys"),
    'plans.no_plans_yet': ('暂无供地方案', 'no plans yet'),
    # token (converted from the pages)
    'token.bidder_qualified': ('已确认竞买资格', 'Bidder qualified'),
    'token.bidding_token_re_issued': ('已重新发放竞买凭证', 'Bidding token re-issued'),
    'token.the_old_token_no_longer': ('原凭证已失效：不能再登录，已登录的连接也不能再报价。', 'The old token no longer works: it cannot sign in, and a connection signed in with it can no longer bid.'),
    'token.bidding_token_issued': ('已发放竞买凭证', 'Bidding token issued'),
    'token.bidder': ('竞买人', 'Bidder'),
    'token.bidder_number': ('竞买号', 'Bidder number'),
    'token.the_bidder_sees_it_on': ('竞买人凭此凭证登录后可见；交易结束前工作人员不可见（规则 3.5）', 'The bidder sees it on signing in with this token; staff do not until the close (RULES 3.5)'),
    'token.the_token_is_shown_once_hand': ('竞买凭证只显示这一次，请当面或以安全方式交给竞买人；系统只保存其摘要。', 'The token is shown once: hand it to the bidder securely. Only its hash is kept.'),
    # reserve (converted from the pages)
    'reserve.reserve_decision': ('底价集体决定', 'Reserve decision (Q26)'),
    'reserve.each_member_signs_in_the': ('底价由委员会成员在活动开始前1小时内集体确定，各成员在本浏览器中签署；底价在浏览器中以托管公钥密封，服务器只收到承诺值与密文（第二十六条）。', 'Each member signs in the browser; the amount is sealed there to the escrow key: the server receives the commitment and the envelope only.'),
    'reserve.plan_status': ('方案状态', 'Plan status'),
    'reserve.decision_window': ('决定时段', 'Decision window'),
    'reserve.benchmark_total': ('基准地价总额', 'Benchmark total (Q27)'),
    'reserve.escrow_key': ('托管公钥', 'Escrow key'),
    'reserve.members_keys': ('委员公钥', "Members' keys"),
    'reserve.sealed_2': ('已密封', 'Sealed'),
    'reserve.decided_at': ('决定时间', 'Decided at'),
    'reserve.members': ('成员', 'Members'),
    'reserve.my_signing_key': ('我的签名密钥', 'My signing key'),
    'reserve.key_in_this_browser': ('本浏览器公钥', 'Key in this browser'),
    'reserve.registered_key': ('已登记公钥', 'Registered key'),
    'reserve.decision_record_to_sign': ('待签署的决策记录', 'Decision record to sign'),
    'reserve.prepared_by': ('起草人', 'Prepared by'),
    'reserve.appraisal': ('估价报告', 'Appraisal'),
    'reserve.floor_price': ('楼面地价', 'Floor price'),
    'reserve.signatures': ('签署', 'Signatures'),
    'reserve.prepare_and_sign': ('起草并签署', 'Prepare and sign'),
    'reserve.a_new_draft_replaces_the': ('重新起草将替换当前的决策记录及其签名。', 'A new draft replaces the current one and its signatures.'),
    'reserve.no_reserve': ('不设底价（第二十八条）', 'No reserve (Q28)'),
    'reserve.appraisal_2': ('估价报告', 'Appraisal (Q25)'),
    'reserve.floor_price_yuan_per_m': ('区域楼面地价（元/平方米）', 'Floor price, yuan per m²'),
    'reserve.before_the_start': ('开始前', 'before the start'),
    'reserve.unlock_the_escrow_key': ('解锁托管密钥', 'Unlock the escrow key'),
    'reserve.make_a_key_here': ('在本浏览器生成密钥', 'Make a key here'),
    'reserve.seal_and_sign': ('密封并签署', 'Seal and sign'),
    'reserve.back_to_the_plan': ('返回供地方案', 'Back to the plan'),
    'reserve.prepared_and_signed_by_you': ('决策记录已起草并由您签署', 'Prepared and signed by you'),
    'reserve.signed': ('已签署', 'Signed'),
    'reserve.the_reserve_is_sealed': ('底价已密封', 'The reserve is sealed'),
    'reserve.not_created_yet': ('尚未创建', 'not created yet'),
    'reserve.locked_unlock_it_before_the': ('未解锁：签齐后须解锁方可密封', 'locked: unlock it before the last signature seals'),
    'reserve.no_reserve_2': ('无底价（以起始价为底价，第二十八条）', 'no reserve (Q28)'),
    'reserve.not_registered': ('未登记', 'not registered'),
    'reserve.no_reserve_3': ('无底价', 'no reserve (Q28)'),
    'reserve.signed_2': ('✓ 已签', 'signed'),
    'reserve.waiting': ('… 待签', 'waiting'),
    'reserve.seal_again': ('再次提交密封', 'Seal again'),
    'reserve.sign_the_record': ('签署决策记录', 'Sign the record'),
    # result (converted from the pages)
    'result.publish_the_result': ('发布出让结果', 'Publish the result (Q29, RULES 8.3)'),
    'result.holder': ('土地使用权人', 'Holder'),
    'result.deal_at': ('成交时间', 'Deal at'),
    'result.enter_from_the_signed': ('以下按已签订的出让合同填写；其余内容取自交易记录。发布后送各发布渠道并在公示页面显示，不可更改。', 'Enter from the signed contract; the rest comes from the records. Once published it goes to every channel and the public pages, and never changes.'),
    'result.land_source': ('土地来源', 'Land source'),
    'result.the_close': ('交易结束与后续事项', 'The close'),
    'result.publish': ('发布', 'Publish'),
    'result.16_characters_never_changed': ('16位：10位数字、1位数字或大写字母、5位数字；登记后不可更改', '16 characters, never changed once entered'),
    'result.supervision_number': ('电子监管号', 'Supervision number'),
    'result.project_name': ('项目名称', 'Project name'),
    'result.industry': ('行业分类', 'Industry'),
    'result.land_grade': ('土地级别', 'Land grade'),
    'result.region_code': ('行政区划代码', 'Region code'),
    'result.payment_schedule': ('分期支付约定', 'Payment schedule'),
    'result.contract_signed': ('合同签订日期', 'Contract signed'),
    'result.land_delivered': ('约定交地时间', 'Land delivered'),
    'result.construction_starts': ('约定开工时间', 'Construction starts'),
    'result.completion': ('约定竣工时间', 'Completion'),
    # session (converted from the pages)
    'session.winner': ('竞得人', 'Winner'),
    'session.closed_at': ('结束时间', 'Closed at'),
    'session.the_revealed_reserve_and_its': ('底价公开与校验', 'The revealed reserve and its commitment'),
    'session.server_check': ('服务器校验', 'Server check'),
    'session.browser_check': ('浏览器校验', 'Browser check'),
    'session.only_anonymous_bidder': ('交易结束前只显示匿名竞买号（规则 3.5）。', 'Only anonymous bidder numbers until the close (RULES 3.5).'),
    'session.legal_name': ('名称', 'Legal name'),
    'session.legal_name_2': ('竞买人名称（临时入口，仅限测试与演示；正式流程为保证金到账取得资格）', 'Legal name (stand-in for tests and demos; bidders really qualify by deposit)'),
    'session.reason_to_suspend': ('中止理由（必填）', 'Reason to suspend (required)'),
    'session.reason_to_resume': ('恢复理由（必填）', 'Reason to resume (required)'),
    'session.announced_resumption': ('公告恢复时间（中止超过1小时须提前24小时公告；留空为立即恢复）', 'Announced resumption (CST; empty = now)'),
    'session.reason_to_terminate': ('终止理由（必填）', 'Reason to terminate (required)'),
    'session.the_session_ends_unsold': ('确认终止：本场次将以未成交结束', 'the session ends unsold'),
    'session.only_operators_may_suspend': ('仅交易中心操作员可以中止、恢复或终止交易。', 'Only operators may suspend, resume or terminate.'),
    'session.an_auction_without_a_reserve': ('无底价拍卖，以起始价为底价（第二十八条）', 'An auction without a reserve: the starting price stood in (Q28).'),
    'session.deadlines_of_this_session': ('本场期限', 'Deadlines of this session'),
    'session.deadline_board': ('期限看板', 'Deadline board'),
    'session.none_yet': ('尚无', 'none yet'),
    'session.qualify': ('确认竞买资格', 'Qualify'),
    'session.suspend': ('中止', 'Suspend'),
    'session.resume': ('恢复', 'Resume'),
    'session.terminate': ('终止', 'Terminate'),
    'session.suspended': ('已中止', 'Suspended'),
    'session.resumed': ('已恢复（或已公告恢复时间）', 'Resumed (or resumption announced)'),
    'session.terminated': ('已终止', 'Terminated'),
    'session.matches': ('✓ sha256(底价:盐值) 与承诺值一致', 'matches'),
    'session.does_not_match': ('✗ 不一致', 'does NOT match'),
    'session.shown_after_the_close': ('结束后公开', 'shown after the close'),
    # sessions (converted from the pages)
    'sessions.new_session': ('新建交易场次（临时入口，仅限测试与演示）', 'New session (stand-in, tests and demos only)'),
    'sessions.parcel_reference': ('地块', 'Parcel reference'),
    'sessions.starting_price': ('起始价（万元）', 'Starting price'),
    'sessions.increment': ('增价幅度（万元）', 'Increment'),
    'sessions.deposit': ('竞买保证金（万元，不低于起始价20%）', 'Deposit (≥ 20%, Q31)'),
    'sessions.reserve': ('底价（万元，挂牌必填；拍卖可不设）', 'Reserve (sealed at once)'),
    'sessions.start': ('开始时间', 'Start'),
    'sessions.listing_end': ('挂牌截止（挂牌）', 'Listing end'),
    'sessions.create': ('创建', 'Create'),
    # portal (converted from the pages)
    'portal.application': ('竞买申请', 'Application'),
    'portal.application_and_deposit': ('申请与保证金', 'Application and deposit'),
    'portal.applicant': ('竞买人', 'Applicant'),
    'portal.deposit_sub_account': ('保证金子账号', 'Deposit sub-account'),
    'portal.deposit_due': ('应缴保证金', 'Deposit due'),
    'portal.deposit_deadline': ('到账截止', 'Deposit deadline'),
    'portal.counted': ('已到账', 'Counted'),
    'portal.missing': ('尚缺', 'Missing'),
    'portal.my_bidder_number': ('我的竞买号', 'My bidder number'),
    'portal.payments': ('到账记录', 'Payments'),
    'portal.payer': ('付款户名', 'Payer'),
    'portal.bidding_credentials': ('竞买凭证', 'Bidding credentials'),
    'portal.you_are_qualified_take_your': ('已取得竞买资格。点击下方按钮获取竞买凭证（只显示一次）并进入报价页。再次获取将使此前的凭证失效。', 'You are qualified. Take your bidding token (shown once) and go to the bidding page. Taking it again makes the earlier one stop working.'),
    'portal.result': ('交易结果', 'Result'),
    'portal.you_did_not_win_the_deposit': ('贵公司未竞得本宗地，保证金不计利息予以退还（第三十一条）。', 'You did not win: the deposit is refunded without interest (Q31).'),
    'portal.refund': ('保证金退还', 'Refund'),
    'portal.due_by': ('退还期限', 'Due by'),
    'portal.refunded_at': ('退还时间', 'Refunded at'),
    'portal.yes': ('是', 'yes'),
        'portal.back_to_my_applications': ('返回我的申请', 'Back to my applications'),
    'portal.held_for_refund': ('待退还', 'Held for refund'),
    'portal.refunded': ('已退还', 'Refunded'),
    'portal.applied_to_the_price': ('转作价款', 'Applied to the price'),
    'portal.forfeited': ('不予退还', 'Forfeited'),
    'portal.bidders_portal': ('国有建设用地使用权网上交易 · 竞买人自助', "Bidders' portal"),
    'portal.parcels': ('可申请宗地', 'Parcels'),
    'portal.my_applications': ('我的申请', 'My applications'),
    'portal.bidding': ('报价页', 'Bidding'),
    'portal.register': ('注册', 'Register'),
    'portal.sign_out': ('退出', 'Sign out'),
    'portal.your_bidding_token': ('竞买凭证', 'Your bidding token'),
    'portal.shown_this_once_keep_it_to': ('凭证只显示这一次，请勿转交他人；遗失可回到申请页重新获取（原凭证随即失效）。', "Shown this once: keep it to yourself. If you lose it, take new credentials on your application's page (the old token then stops working)."),
    'portal.back_to_the_application': ('返回申请', 'Back to the application'),
    'portal.go_to_the_bidding_page': ('进入报价页', 'Go to the bidding page'),
    'portal.bidders_portal_2': ('竞买人自助', "Bidders' portal"),
    'portal.announced_parcels': ('已公告宗地', 'Announced parcels'),
    'portal.my_applications_2': ('我的竞买申请', 'My applications'),
    'portal.sub_account': ('保证金子账号', 'Sub-account'),
    'portal.no_application_yet': ('尚无申请', 'No application yet'),
    'portal.apply_for_a_parcel': ('申请竞买', 'Apply for a parcel'),
    'portal.sign_in': ('竞买人登录', 'Sign in'),
    'portal.unified_social_credit_code': ('统一社会信用代码', 'Unified social credit code'),
    'portal.no_account_register': ('没有账号？注册', 'No account? Register'),
    'portal.land_use': ('土地用途', 'Land use'),
    'portal.increment': ('加价幅度', 'Increment'),
    'portal.deposit_deadline_2': ('保证金到账截止', 'Deposit deadline'),
    'portal.applications_close': ('报名截止', 'Applications close'),
    'portal.conditions': ('竞买条件', 'Conditions'),
    'portal.applications_open_once_the': ('交易场次尚未设立，暂不接受申请', 'Applications open once the session is set up'),
    'portal.applications_are_closed': ('报名已截止', 'Applications are closed'),
    'portal.sign_in_to_apply': ('登录后申请', 'Sign in to apply'),
    'portal.no_parcel_is_announced_now': ('暂无已公告宗地', 'No parcel is announced now'),
    'portal.my_application': ('查看我的申请', 'My application'),
    'portal.apply': ('申请竞买', 'Apply'),
    'portal.register_your_company': ('竞买企业注册', 'Register your company'),
    'portal.register_with_the_name_and': ('以营业执照上的名称和统一社会信用代码注册；保证金须从该名称的账户缴纳。', 'Register with the name and unified social credit code on your business licence; the deposit must come from an account in that name.'),
    'portal.registered_sign_in': ('已注册？登录', 'Registered? Sign in'),
    'portal.company_name': ('企业名称', 'Company name (as on the licence)'),
    'portal.unified_social_credit_code_2': ('统一社会信用代码', 'Unified social credit code (18 characters)'),
    'portal.contact_person': ('联系人', 'Contact person'),
    'portal.phone': ('联系电话', 'Phone'),
    'portal.password': ('密码', 'Password (12 characters or more, not a common one)'),
    'portal.password_again': ('再次输入密码', 'Password again'),
    # api (converted from the pages)
    'api.no': ('否', 'no'),
    # error (converted from the pages)
    'error.refused': ('未完成', 'Refused'),
    # form (converted from the pages)
    'form.publish_the_announcement': ('发布出让公告', 'Publish the announcement'),
    'form.the_start_day_once_announced': ('公告后确定（开始日）', 'the start day, once announced'),
    'form.record_the_appraisal': ('登记估价报告', 'Record the appraisal'),
    'form.total': ('评估总价（万元）', 'Total, 万元'),
    'form.record_the_approval': ('记录批准', 'Record the approval'),
    'form.no_push_back': ('无需顺延', 'no push back'),
    'form.publish_the_change': ('发布变更公告', 'Publish the change'),
    'form.record_the_meeting': ('记录会议', 'Record the meeting'),
    'form.draft_the_plan': ('编制供地方案', 'Draft the plan'),
    'form.two_decimals_at_most_shown': ('最多两位小数；下方同时显示公顷', 'two decimals at most; 公顷 shown below'),
    'form.starting_price': ('起始价（万元）', 'Starting price, 万元'),
    'form.increment': ('增价幅度（万元）', 'Increment, 万元'),
    'form.deposit': ('竞买保证金（万元）', 'Deposit, 万元'),
    'form.submit': ('提交', 'Submit'),
    'form.create_the_session': ('创建交易场次', 'Create the session'),
    # result (converted from the pages)
    'result.one_period_a_line_date': ('每行一期：日期 金额（万元） 备注，合计等于成交价', 'one period a line: date, amount in 万元, note; adding up to the price'),
    # session (converted from the pages)
    'session.not_sealed_yet': ('尚未密封', 'not sealed yet'),
    # portal (converted from the pages)
    'portal.take_new_credentials': ('重新获取凭证', 'Take new credentials'),
    'portal.take_my_credentials': ('获取竞买凭证', 'Take my credentials'),
    'portal.register_2': ('企业注册', 'Register'),
    # written by hand (values of the page inside the sentence)
    'audit.exported_per_session': ('每场交易的完整事件日志在该场次页面导出', "each session's event log is exported from its page"),
    'close.key': ('密钥', 'Key'),
    'close.commitment_check': ('承诺值核对', 'commitment check'),
    'committee.keys_made_by_members': ('委员在底价决定页面（或用命令行）生成签名密钥，私钥留在委员本人处；交易中心在此登记其公钥。', 'A member makes the key in the browser on the reserve page (or with the CLI) and keeps the private key; the trading center registers the public key here. The member signs with the console account named like the member id. A registered key never changes.'),
    'committee.key_registered': ('公钥已登记', 'Key registered'),
    'login.who_signs_in': ('交易中心操作员、土地储备委员会成员、审计员使用本人账号登录。', 'Operators, committee members and auditors sign in with their own account. Bidders use the bidder page with their bidding token.'),
    'money.summary': ('应缴保证金、申请与资格', 'Deposit due, applications, qualified'),
    'money.amounts_note': ('金额单位：万元，精确到分（小数点后6位）。时间为北京时间。', 'Amounts in 万元, exact to the fen; times in CST.'),
    'plan.title': ('供地方案', 'Supply plan'),
    'plan.newest_first': ('最新在前', 'newest first'),
    'form.q29_rule': ('公告发布至开始不少于公告期（第二十九条）', 'At least the announcement period before the start (Q29); published now, bidding starts no earlier than shown.'),
    'form.cst': ('北京时间', 'CST'),
    'form.q31_change': ('变更公告顺延规则（规则3.1）', 'A late change pushes every time back so the start is the full period after it (RULES 3.1).'),
    'form.one_parcel_per_plan': ('一个方案一宗地，Q23', 'one parcel per plan'),
    'form.unit_price': ('评估单价（元/m²）', 'Unit price, yuan/m²'),
    'form.total_price': ('评估总价（万元）', 'Total, 万元'),
    'form.start_price': ('起始价（万元）', 'Starting price, 万元'),
    'form.area_m2': ('面积（m²）', 'Area, m²'),
    'form.benchmark': ('基准地价（元/m²）', 'Benchmark price, yuan/m²'),
    'form.parcel_no': ('宗地编号', 'Parcel no.'),
    'form.location': ('坐落', 'Location'),
    'form.stale': ('本页打开后，供地方案已有新的变化，本次提交未执行。请核对后再提交。', 'The plan changed since this page was drawn: nothing was done. Check the plan and send the form again.'),
    'form.every_time_moves_back': ('全部时间顺延', 'every time moves back'),
    'reserve.title': ('底价集体决定', 'Reserve decision'),
    'reserve.or_import': ('或导入密钥文件', 'or import the key file'),
    'reserve.key_stays_here': ('私钥保存在本浏览器（IndexedDB，不可导出），不会发送到服务器。', 'The private key stays in this browser (IndexedDB, not extractable). The trading center registers the public key.'),
    'reserve.amount': ('底价（万元）', 'Reserve, 万元 — sealed here, never sent'),
    'reserve.members_taking_part': ('参加决定的成员', 'Members'),
    'reserve.registered_count': ('已登记', 'registered'),
    'result.title': ('发布出让结果', 'Publish the result'),
    'session.supply_plan': ('供地方案', 'Supply plan'),
    'session.rules_7': ('规则第七条', 'RULES 7'),
    'sessions.stand_in_note': ('正式流程由供地方案批准、公告后生成交易场次；此表单是测试与演示用的临时入口。', 'Sessions come from an approved, announced supply plan; this form is the stand-in for tests and demos, with the same checks as POST /api/sessions. Amounts in 万元 (up to 6 decimals = exact fen); times in China Standard Time.'),
    'portal.my_application_title': ('我的申请', 'My application'),
    'portal.pay_the_deposit': ('请于截止时间前将保证金足额转入上述子账号。', "Pay the deposit into the sub-account from an account in your company's name before the deadline; the bank's confirmation qualifies you automatically. This page refreshes every 15 s."),
    'portal.you_won': ('贵公司为竞得人，保证金已转作成交价款。', 'You won; your deposit is now part of the price.'),
    'portal.take_new': ('重新获取凭证', 'Take new credentials'),
    'portal.take_mine': ('获取竞买凭证', 'Take my credentials'),
    'portal.intro': ('企业在线注册、申请竞买、查询保证金子账号与到账情况、取得竞买凭证并进入报价，交易结束后查看结果与保证金退还。', 'Register your company, apply for a parcel, follow your deposit, take your bidding credentials and bid; after the close, see the result and your refund.'),
    'portal.sign_in_to_apply_hint': ('登录后即可申请竞买。', 'Sign in or register to apply.'),
    'portal.number_on_bid_page': ('竞买号在报价页登录后显示', 'your bidder number shows on the bidding page'),
    'docs.subscribe': ('订阅', 'Subscribe'),
    'unit.m2': ('平方米', 'm²'),
    'unit.years': ('年', 'years'),
    'unit.seconds': ('秒', 's'),
    # written by the pages' JavaScript (static/*.js, through /i18n.js; {name}: filled in there)
    'event.SessionCreated': ('交易场次已创建', 'Session created'),
    'event.ReserveSealed': ('底价已密封', 'Reserve sealed'),
    'event.SessionOpened': ('竞价开始', 'Bidding opened'),
    'event.OpenRefused': ('未能开始', 'Could not open'),
    'event.BidAccepted': ('报价', 'Bid accepted'),
    'event.TimedBiddingStarted': ('进入限时竞价', 'Timed bidding started'),
    'event.IncrementChanged': ('增价幅度调整', 'Increment changed'),
    'event.SessionSuspended': ('交易中止', 'Suspended'),
    'event.ResumptionScheduled': ('恢复时间公告', 'Resumption announced'),
    'event.ResumptionCancelled': ('取消恢复公告', 'Resumption cancelled'),
    'event.SessionResumed': ('交易恢复', 'Resumed'),
    'event.SessionClosed': ('交易结束', 'Closed'),
    'event.CloseHeld': ('结果暂缓', 'Close held'),
    'event.SessionTerminated': ('交易终止', 'Terminated'),
    'outcome.SOLD': ('成交', 'Sold'),
    'outcome.UNSOLD': ('流拍', 'Not sold'),
    'close_reason.SOLD': ('最高报价不低于底价', 'highest bid at or above the reserve'),
    'close_reason.NO_BIDS': ('无人报价', 'no bids'),
    'close_reason.BELOW_RESERVE': ('最高报价低于底价', 'highest bid below the reserve'),
    'js.refused': ('报价未被接受', 'Bid refused'),
    'js.cannot_bid_now': ('当前不可报价', 'No bids now'),
    'js.me': ('我', 'me'),
    'js.cannot_reach': ('无法连接服务器，请稍后重试', 'cannot reach the server'),
    'js.whoami': ('竞买号 {no} · 场次 {session}', 'Bidder {no} · session {session}'),
    'js.suspended': ('交易已中止，暂停报价。原因：{reason}', 'Suspended: no bids for now. Reason: {reason}'),
    'js.resumed': ('交易已恢复，倒计时重新开始。', 'Resumed: the countdown starts again.'),
    'js.timed_bidding': ('挂牌期结束，进入限时竞价：每次有效报价后倒计时重新开始。', 'The listing has ended: timed bidding, each accepted bid restarts the countdown.'),
    'js.increment_changed': ('增价幅度调整为 {increment}。原因：{reason}', 'The increment is now {increment}. Reason: {reason}'),
    'js.accepted': ('报价已接受：{amount}（序号 {seq}）', 'Bid accepted: {amount} (seq {seq})'),
    'js.auction_no_listing_end': ('拍卖', 'auction'),
    'js.reserve_not_sealed': ('尚未密封', 'not yet sealed'),
    'js.reserve_sealed': ('有底价（保密，结束时公开并可校验）承诺值 {commitment}', 'Sealed (secret until the close, then checkable); commitment {commitment}'),
    'js.reserve_none': ('无底价，以起始价为底价（第二十八条）', 'none: the starting price stands in (Q28)'),
    'js.none': ('无', 'none'),
    'js.terminated': ('交易终止', 'Terminated'),
    'js.held': ('结果暂缓公布，等待交易中心处理', 'The result is held for the trading center'),
    'js.sold': ('成交：竞得人竞买号 {no}，成交价 {price}（人民币{words}）', 'Sold: winning bidder {no}, price {price} (人民币{words})'),
    'js.you_won': ('恭喜，您已竞得本宗地。交易中心将向您出具成交确认书。', 'You won this parcel: the trading center will issue the transaction confirmation.'),
    'js.you_lost': ('您未竞得本宗地，竞买保证金将按规定退还。', 'You did not win; your deposit will be refunded.'),
    'js.not_sold': ('流拍', 'Not sold'),
    'js.cannot_check_here': ('此浏览器无法校验（需 HTTPS）', 'cannot check here (needs HTTPS)'),
    'js.reserve_matches': ('✓ 公开的底价与开始时公布的承诺值一致（本浏览器以 SHA-256 校验）', '✓ the revealed reserve matches its commitment (SHA-256 in this browser)'),
    'js.reserve_mismatch': ('✗ 公开的底价与承诺值不一致！', '✗ the revealed reserve does NOT match its commitment!'),
    'js.sent': ('报价已发送，等待服务器确认…', 'Sent, waiting for the acknowledgement…'),
    'js.browser_matches': ('✓ 浏览器复核一致：{computed}', '✓ checked in this browser: {computed}'),
    'js.browser_mismatch': ('✗ 浏览器复核不一致：{computed}', '✗ does NOT match in this browser: {computed}'),
    'js.loading_outcome': ('交易已结束，正在载入结果…', 'The session has ended: loading the outcome…'),
    'js.hectares': ('公顷', 'hectares'),
    'js.key_none': ('本浏览器尚无签名密钥', 'No signing key in this browser'),
    'js.key_unregistered': ('公钥尚未登记：请交易中心登记此公钥', 'Not registered yet: hand this public key to the trading center'),
    'js.key_matches': ('与登记的公钥一致', 'Matches the registered key'),
    'js.key_differs': ('与登记的公钥不一致', 'Does not match the registered key'),
    'js.key_replace': ('替换本浏览器中的密钥？', 'Replace the key kept in this browser?'),
    'js.key_unreadable': ('密钥文件无法读取', 'The key file could not be read'),
    'js.type_reserve': ('请输入底价（万元，最多6位小数）', 'Type the reserve in 万元 (up to 6 decimals)'),
    'js.floor_price_format': ('楼面地价：元/平方米，最多2位小数', 'Floor price: yuan per m², 2 decimals'),
    'js.record_differs': ('决策记录与显示内容不一致，未签署', 'The record differs from what is shown: not signed'),
    # The bidder page's signed bids and receipts (static/bid_signing.js, docs/protocol.md section 9).
    "bid.key_public": ("报价签名公钥", "Signing public key"),
    "bid.receipts_help": ("回执由交易中心签名，证明报价已被接受及其在交易记录中的位置；交易结束后可用 auction-verify --receipts 对照公开记录校验。",
                          "Each receipt, signed by the trading center, proves a bid was accepted at its place in the log; "
                          "after the close, check them against the public record with auction-verify --receipts."),
    "bid.receipts_download": ("下载报价回执（JSON）", "Download the receipts (JSON)"),
    'js.bid_key_preparing': ('正在准备报价签名密钥…', 'Preparing the bid signing key…'),
    'js.bid_key_registering': ('正在登记报价签名公钥…', 'Registering the signing public key…'),
    'js.bid_key_registered': ('本场次须签名报价：本浏览器的签名密钥已登记，每笔报价在本浏览器内签名，私钥不离开本浏览器',
                              "Signed bids: this browser's key is registered; each bid is signed here and the private key "
                              "never leaves this browser"),
    'js.bid_key_mismatch': ('本竞买号已登记另一公钥，本浏览器无法签名报价：请使用最初登记密钥的浏览器，或联系交易中心',
                            'Another key is registered for this bidder number: bid from the browser that registered it, '
                            'or call the trading center'),
    'js.bid_key_unsupported': ('本场次须签名报价，但本浏览器不支持 Ed25519 签名（WebCrypto）：请使用新版 Chrome、Edge、Firefox 或 Safari（须 HTTPS），或使用竞买客户端 auction-bidder',
                               'Signed bids are required, but this browser has no Ed25519 in WebCrypto: use a recent '
                               'Chrome, Edge, Firefox or Safari (over HTTPS), or the auction-bidder client'),
    'js.bid_key_failed': ('报价签名密钥无法准备（{error}），暂不能报价', 'The signing key could not be prepared ({error}): no bids for now'),
    'js.receipts_count': ('已保存 {count} 张报价回执', '{count} bid receipts kept'),
    # 成交后事项 (auction/entrypoints/console/post_deal.py)
    'postdeal.title': ('成交后事项', 'After the deal'),
    'postdeal.actual_start': ('实际开工时间', 'Actual construction start'),
    'postdeal.actual_completion': ('实际竣工时间', 'Actual completion'),
    'postdeal.version': ('结果公示版本', 'Result version'),
    'postdeal.updated_at': ('更新于', 'updated'),
    'postdeal.period': ('支付期号', 'Period'),
    'postdeal.due': ('约定支付日期', 'Due'),
    'postdeal.amount': ('约定支付金额', 'Amount'),
    'postdeal.paid_date': ('实际支付日期', 'Paid on'),
    'postdeal.paid': ('实际支付金额', 'Paid'),
    'postdeal.payments': ('实际支付', 'Payments'),
    'postdeal.one_payment_a_line': ('每行一笔：期号 日期 金额（万元），如 1 2026-05-08 2505.002283；实际支付为本中心记录，土地市场网无此字段', 'one payment a line: period, date, amount in 万元; payments are this center\'s record (the site has no such field)'),
    'postdeal.each_recording': ('每次登记单独记录、不可更改，并生成新版本的结果公示送各发布渠道；日期不得早于合同签订日期，竣工不得早于开工', 'Each recording is kept as it is and publishes a new version of the result to every channel; no date before the contract, no completion before the start'),
    'postdeal.record': ('登记并发布更新', 'Record and publish the update'),
    'postdeal.recorded': ('成交后事项已登记，结果公示已更新', 'Recorded; the result was updated'),
    'postdeal.no_result': ('该宗地尚无已发布的成交结果公示', 'The plan has no published result of a sale'),
}
LABELS.update(TENDER_LABELS)  # the tender's pages (RULES 6)


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGS else DEFAULT


def label(lang: str, key: str) -> str:
    """The label in `lang` (the key itself for an unknown one, so a gap shows, never breaks)."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def _text(value: str) -> str:
    """Escaped for an element's text (quotes left as typed: labels are never attribute values
    holding user input)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ordered(lang: str, pair: tuple[str, str]) -> tuple[str, str]:
    return (pair[1], pair[0]) if lang == "en" else pair


def both(lang: str, key: str) -> Markup:
    """The chosen language first, the other second and smaller."""
    pair = LABELS.get(key)
    if pair is None:
        return Markup(escape(key))
    first, second = _ordered(lang, pair)
    return Markup(f"{_text(first)} <small>{_text(second)}</small>")


def both_plain(lang: str, key: str) -> Markup:
    """The chosen language first, the other after " / ": for buttons, options, titles and values
    written inline, where a <small> cannot go."""
    pair = LABELS.get(key)
    if pair is None:
        return Markup(escape(key))
    return Markup(_text(" / ".join(_ordered(lang, pair))))


def lead(lang: str, chinese: Markup, key: str) -> Markup:
    """A sentence whose Chinese holds values of the page (`chinese`, already rendered) and whose
    English is the key's: the chosen one first, the other second and smaller."""
    english = Markup(_text(LABELS.get(key, ("", key))[1]))
    first, second = (english, chinese) if lang == "en" else (chinese, english)
    return Markup(f"{first} <small>{second}</small>")


def words(lang: str, text: str | None) -> str:
    """A "中文 / English" pair kept as one string elsewhere (the domain's phase, outcome and
    status words): as it is in Chinese, "English / 中文" in English."""
    if not text or lang != "en" or " / " not in text:
        return text or ""
    chinese, english = text.split(" / ", 1)
    return f"{english} / {chinese}"


def localize_filters(env: Environment, *names: str) -> None:
    """Filters that answer a "中文 / English" pair answer it in the page's order (`words`);
    `bi` does that to any such value a page was handed."""
    def wrap(inner: Any) -> Any:
        @pass_context
        def localized(ctx: Context, value: Any, *args: Any) -> Any:
            out = inner(value, *args)
            return words(ctx.get("lang", DEFAULT), out) if isinstance(out, str) else out
        return localized
    for name in names:
        env.filters[name] = wrap(env.filters[name])
    env.filters["bi"] = wrap(lambda value: value)


def time_text(micros: int | None, lang: str = DEFAULT) -> str:
    """'2026年12月06日 10时00分' (CST), or '2026-12-06 10:00 CST' in English."""
    if micros is None:
        return "—"
    t = to_cst(micros)
    if lang == "en":
        return t.strftime("%Y-%m-%d %H:%M CST")
    return f"{t.year}年{t.month:02d}月{t.day:02d}日 {t.hour:02d}时{t.minute:02d}分"


def local_path(target: str | None) -> str:
    """A path of this site to go back to, nothing else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def context(request: Request) -> dict[str, Any]:
    """For every template (a Jinja2Templates context processor): `lang`, `t(key)`, `tt(key)`,
    `tp(key)` ("chosen / other"), `lead(chinese, key)`, `when(micros)` and `here` (this page,
    for the language switch to come back to)."""
    lang = lang_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "lang": lang,
        "html_lang": "en" if lang == "en" else "zh-CN",
        "t": lambda key: label(lang, key),
        "tt": lambda key: both(lang, key),
        "tp": lambda key: both_plain(lang, key),
        "lead": lambda chinese, key: lead(lang, chinese, key),
        "when": lambda micros: time_text(micros, lang),
        "here": here,
    }


async def switch(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    if lang in LANGS:
        # A preference, not a secret: readable by the static pages' script, sent only to this site.
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax")
    response.headers["cache-control"] = "no-store"
    return response


SCRIPT = ("window.AUCTION_I18N = " + json.dumps(LABELS, ensure_ascii=False, sort_keys=True) + ";\n"
          # the refusals' messages as they are (Chinese, then English), for the English page
          "window.AUCTION_CODES = " + json.dumps({c.value: m for c, m in MESSAGES.items()}, ensure_ascii=False,
                                                 sort_keys=True) + ";\n")


async def script(request: Request) -> Response:
    """The same table for the static pages' JavaScript (auction/entrypoints/static/common.js)."""
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "public, max-age=300"})


def routes() -> list[Route]:
    return [Route("/lang/{lang}", switch, methods=["GET"]), Route("/i18n.js", script, methods=["GET"])]
