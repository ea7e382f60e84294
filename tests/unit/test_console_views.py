"""What console forms turn into (万元 to fen, CST to an instant) and what exports hold
(auction/entrypoints/console/views.py), and who may do what (auction/staff/roles.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auction.domain.codes import Code, Rejected
from auction.entrypoints.console.views import cst, parse_cst, parse_wan, reason_of, to_csv
from auction.staff.roles import GRANTS, Permission, Role, allowed
from auction.store.events import to_micros


class TestAmountsInWan:
    @pytest.mark.parametrize(("text", "fen"), [("8050", 8_050_000_000), ("8050.5", 8_050_500_000),
                                               ("0.000001", 1), ("1,000", 1_000_000_000), (" 3 ", 3_000_000)])
    def test_exact_fen(self, text: str, fen: int) -> None:
        assert parse_wan({"x": text}, "x") == fen

    @pytest.mark.parametrize("text", ["0.0000001", "-1", "0", "abc", "1e3x", "1e4", "+5", "１２", "NaN", "Infinity",
                                      "10000000001"])
    def test_refused(self, text: str) -> None:
        with pytest.raises(Rejected) as e:
            parse_wan({"x": text}, "x")
        assert e.value.code is Code.INVALID_FIELD and e.value.rejection.details == {"field": "x"}

    def test_optional(self) -> None:
        assert parse_wan({}, "x", required=False) is None
        with pytest.raises(Rejected):
            parse_wan({"x": ""}, "x")


def test_local_times_are_china_standard_time() -> None:
    assert parse_cst({"t": "2026-12-01T09:00"}, "t") == "2026-12-01T09:00:00+08:00"
    assert parse_cst({"t": "2026-12-01T01:00:00+00:00"}, "t") == "2026-12-01T01:00:00+00:00"
    assert cst(to_micros(datetime(2026, 11, 30, 17, 30, 5, tzinfo=UTC))) == "2026-12-01 01:30:05"
    with pytest.raises(Rejected):
        parse_cst({"t": "tomorrow"}, "t")


def test_a_reason_is_required() -> None:
    with pytest.raises(Rejected) as e:
        reason_of({"reason": "   "})
    assert e.value.code is Code.REASON_REQUIRED
    assert reason_of({"reason": " 系统故障 "}) == "系统故障"


def test_csv_export_is_utf8_for_spreadsheets_and_runs_no_formula() -> None:
    text = to_csv([{"a": "=HYPERLINK(\"http://x\")", "b": {"k": "值"}, "c": -5}], ["a", "b", "c"])
    assert text.startswith("\ufeffa,b,c\r\n")
    assert "'=HYPERLINK" in text and '"{""k"": ""值""}"' in text and ",-5\r\n" in text


class TestRoles:
    def test_only_operators_control_sessions(self) -> None:
        assert [r for r in Role if allowed(r, Permission.CONTROL_SESSION)] == [Role.OPERATOR]

    def test_committee_members_never_see_bidders(self) -> None:
        for p in (Permission.VIEW_BIDDERS, Permission.SEE_IDENTITIES, Permission.EXPORT_LOG,
                  Permission.VIEW_CONFIRMATION):
            assert not allowed(Role.COMMITTEE, p)

    def test_auditors_change_nothing(self) -> None:
        changes = {Permission.CREATE_SESSION, Permission.QUALIFY_BIDDER, Permission.CONTROL_SESSION,
                   Permission.MANAGE_PLANS}
        assert not GRANTS[Role.AUDITOR] & changes
