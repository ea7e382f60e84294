"""The protocol document lists every rejection code the server can send."""

import re
from pathlib import Path

from auction.domain.tender.tender import TenderPhase
from auction.domain.tender.status import TenderStatus
from auction.domain.plan.progress import PROGRESS
from auction.domain.tender.terms import Evaluation
from auction.domain.codes import MESSAGES, Code
from auction.domain.clock.deadlines import DeadlineKind, DeadlineState
from auction.domain.deposit.ledger import AccountKind, EntryKind
from auction.domain.plan.parcels import ConditionsCategory
from auction.domain.plan.plan_terms import Channel, PlanMethod
from auction.domain.plan.plans import PlanStatus
from auction.domain.bidding.session import Phase
from auction.domain.deposit.settlement import DeductionKind, Regime
from auction.domain.bidding.terms import Method
from auction.staff.roles import Permission, Role

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_every_code_is_documented() -> None:
    missing = [c.value for c in Code if f"`{c.value}`" not in DOC]
    assert missing == []


def test_every_code_has_a_chinese_and_english_message() -> None:
    for code in Code:
        message = MESSAGES[code]
        assert " / " in message, code
        chinese, english = message.split(" / ", 1)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), code
        assert english.isascii(), code


# The other way round: every code the documents name is one the server has.
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
TABLE_ROW = re.compile(r"^\| (`[A-Z][A-Z0-9_]+`(?:, `[A-Z][A-Z0-9_]+`)*) \|", re.MULTILINE)
NAME = re.compile(r"`([A-Z][A-Z0-9_]{2,})`")


def _tabled_codes(text: str) -> set[str]:
    return {name for cells in TABLE_ROW.findall(text) for name in NAME.findall(cells)}


def test_every_tabled_code_exists() -> None:
    tabled = _tabled_codes(DOC)
    assert len(tabled) > 100
    assert sorted(tabled - {c.value for c in Code}) == []
    assert sorted({c.value for c in Code} - tabled) == []  # and each has its row


def test_every_code_the_readme_names_exists() -> None:
    """README names codes in prose; an upper-case name there is a code, a setting, or a
    value of one of the domain's own vocabularies (phases, statuses, kinds, ...)."""
    vocabularies: set[str] = set()
    for enum in (Phase, Method, PlanStatus, PlanMethod, Channel, DeadlineKind, DeadlineState, AccountKind,
                 EntryKind, ConditionsCategory, DeductionKind, Regime, Role, Permission, Evaluation, TenderPhase,
                 TenderStatus):
        vocabularies |= {str(member.value) for member in enum} | {member.name for member in enum}
    vocabularies |= set(PROGRESS)  # a plan's progress past its status (GET /api/plans)
    # Values the README shows that are not codes: application statuses and kinds, CloseHeld
    # reasons, a log level, an audit action, an article cited as an example.
    others = {"AWAITING_DEPOSIT", "QUALIFIED", "NOT_QUALIFIED", "COMPANY", "PERSON", "RESERVE_UNAVAILABLE",
              "CALENDAR_MISSING", "INFO", "DEBUG", "FORWARDED_ALLOW_IPS", "SIGN_IN", "Q31",  # uvicorn's own setting
              "K72",  # the China Land Market website's 行业分类 code in an example
              "FEWER_THAN_THREE",  # a tender's end reason (TenderEnded)
              "SERVER_DOWN_PAST_DEADLINE",  # a recovery suspension's reason (RULES 6.7, 7.5)
              "BELOW_START_PRICE",  # a sealed bid's reason at the opening (OpenedBid)
              "POST_DEAL_RECORD", "RESULT_UPDATE",  # an audit action and a publication document kind
              "PLAN_APPRAISAL_PREVIEW", "PREVIEW", "PLAN_CREATE_TENDER"}  # a form's check (预检) in the audit trail: action, outcome
    named = set(NAME.findall(README))
    unknown = {n for n in named if not n.startswith(("AUCTION_", "DATABASE_", "REDIS_"))} \
        - {c.value for c in Code} - vocabularies - others
    assert sorted(unknown) == []
