"""Facts known only after the deal (实际开工时间, 实际竣工时间, installments as paid): their checks
(auction/domain/plan/post_deal.py) and the result's later versions (auction/documents/result_update.py,
docs/publication.md "After the deal")."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest

from auction.documents.landchina import RESULT_LABELS, SITE_RESULT_FIELDS, UPDATE, result_document, site_order, to_xml
from auction.documents.pages import detail_body, versions_note
from auction.documents.result_update import contract_terms, updated_result_document
from auction.documents.site_format import human_value
from auction.domain.codes import Code, Rejected
from auction.domain.plan.post_deal import Payment, PostDealFacts, PostDealRecording, check_recording, fold
from auction.services.divisions import shipped_divisions
from tests.unit.plan_helpers import START, sealed
from tests.unit.test_publication_documents import PRICE, deal, entry

CONTRACT = date(2026, 4, 10)  # entry()'s contract date
SCHEDULE = {1: PRICE // 2, 2: PRICE - PRICE // 2}
TODAY = date(2027, 6, 1)
LATER = START + 400 * 86_400 * 10**6  # µs: a year and more after the deal


def original() -> dict[str, Any]:
    return result_document(sealed().state, deal(), entry(), supervision_no="5303022026B00123", published_at=START,
                           divisions=shipped_divisions())


def check(recording: PostDealRecording, facts: PostDealFacts | None = None) -> PostDealFacts:
    return check_recording(facts or PostDealFacts(), recording, contract_date=CONTRACT, installments=SCHEDULE,
                           today=TODAY)


def refused(recording: PostDealRecording, facts: PostDealFacts | None = None) -> Rejected:
    with pytest.raises(Rejected) as info:
        check(recording, facts)
    return info.value


class TestTheResultCarriesTheFields:
    def test_empty_until_recorded_in_the_sites_order(self) -> None:
        fields = original()["fields"]
        assert (fields["actual_start_date"], fields["actual_completion_date"]) == ("", "")
        keys = list(fields)
        assert keys.index("completion_date") + 1 == keys.index("actual_start_date")
        assert keys.index("actual_completion_date") + 1 == keys.index("approver")
        assert (RESULT_LABELS["actual_start_date"], RESULT_LABELS["actual_completion_date"]) == ("实际开工时间",
                                                                                                "实际竣工时间")
        assert SITE_RESULT_FIELDS["实际开工时间"] == "actual_start_date"

    def test_installments_as_paid_are_our_own_keys_empty_until_recorded(self) -> None:
        part = original()["fields"]["installments"][0]
        assert list(part) == ["period", "due_date", "amount_wan", "amount_fen", "note", "paid_date", "paid_wan",
                              "paid_fen"]
        assert (part["paid_date"], part["paid_wan"], part["paid_fen"]) == ("", "", "")

    def test_contract_terms_are_read_from_the_published_result(self) -> None:
        assert contract_terms(original()) == (CONTRACT, SCHEDULE)


class TestChecks:
    def test_facts_fold_corrections_replace_payments_add(self) -> None:
        first = PostDealRecording(actual_start_date=date(2026, 12, 1),
                                  payments=(Payment(1, date(2026, 5, 1), 1_000),))
        second = PostDealRecording(actual_start_date=date(2026, 12, 3),
                                   payments=(Payment(1, date(2026, 5, 20), 2_000), Payment(2, date(2026, 8, 1), 5)))
        facts = fold([first, second])
        assert facts.actual_start_date == date(2026, 12, 3) and facts.actual_completion_date is None
        assert (facts.paid[1].amount_fen, facts.paid[1].last_date) == (3_000, date(2026, 5, 20))
        assert check(second, check(first)) == facts

    def test_nothing_to_record_is_refused(self) -> None:
        assert refused(PostDealRecording()).code is Code.INVALID_FIELD

    @pytest.mark.parametrize("recording", [
        PostDealRecording(actual_start_date=date(2026, 4, 9)),
        PostDealRecording(payments=(Payment(1, date(2026, 1, 1), 100),)),
    ])
    def test_a_day_before_the_contract_is_refused(self, recording: PostDealRecording) -> None:
        r = refused(recording)
        assert r.code is Code.POSTDEAL_BEFORE_CONTRACT and r.rejection.details["contract_date"] == "2026-04-10"

    def test_a_day_not_yet_come_is_refused(self) -> None:
        assert refused(PostDealRecording(actual_start_date=date(2027, 6, 2))).code is Code.DATE_OUT_OF_RANGE

    def test_a_completion_before_the_start_or_without_one_is_refused(self) -> None:
        started = check(PostDealRecording(actual_start_date=date(2026, 12, 1)))
        r = refused(PostDealRecording(actual_completion_date=date(2026, 11, 30)), started)
        assert r.code is Code.POSTDEAL_COMPLETION_BEFORE_START and r.rejection.details["field"] == \
            "actual_completion_date"
        assert refused(PostDealRecording(actual_completion_date=date(2027, 5, 1))).code is \
            Code.POSTDEAL_COMPLETION_BEFORE_START
        done = check(PostDealRecording(actual_completion_date=date(2027, 5, 1)), started)
        # A start corrected past the completion is refused too.
        assert refused(PostDealRecording(actual_start_date=date(2027, 5, 2)), done).code is \
            Code.POSTDEAL_COMPLETION_BEFORE_START

    def test_payments_only_toward_the_contracts_periods_and_never_above_them(self) -> None:
        assert refused(PostDealRecording(payments=(Payment(3, date(2026, 5, 1), 1),))).code is Code.INVALID_FIELD
        assert refused(PostDealRecording(payments=(Payment(1, date(2026, 5, 1), 0),))).code is Code.INVALID_FIELD
        half = check(PostDealRecording(payments=(Payment(1, date(2026, 5, 1), SCHEDULE[1] - 1),)))
        r = refused(PostDealRecording(payments=(Payment(1, date(2026, 5, 2), 2),)), half)
        assert r.code is Code.POSTDEAL_OVERPAID and r.rejection.details["period"] == 1


class TestUpdatedResult:
    def facts(self) -> PostDealFacts:
        return check(PostDealRecording(actual_start_date=date(2026, 12, 1), actual_completion_date=date(2027, 5, 30),
                                       payments=(Payment(1, date(2026, 5, 1), SCHEDULE[1]),)))

    def test_a_new_id_and_version_naming_the_one_it_supersedes(self) -> None:
        first = original()
        second = updated_result_document(first, self.facts(), version=2, published_at=LATER)
        third = updated_result_document(first, self.facts(), version=3, published_at=LATER)
        assert (second["document_id"], second["kind"], second["version"], second["supersedes"]) == (
            "RES-GD-2026-007-2", UPDATE, 2, "RES-GD-2026-007")
        assert (third["document_id"], third["supersedes"]) == ("RES-GD-2026-007-3", "RES-GD-2026-007-2")
        assert list(second)[-3:] == ["version", "supersedes", "fields"]
        assert second["unified_deal_code"] == first["unified_deal_code"] and second["session_id"] == first["session_id"]
        assert first["fields"]["actual_start_date"] == ""  # the original is not touched

    def test_the_facts_iso_in_the_machine_document_the_sites_forms_for_people(self) -> None:
        doc = updated_result_document(original(), self.facts(), version=2, published_at=LATER)
        f = doc["fields"]
        assert (f["actual_start_date"], f["actual_completion_date"]) == ("2026-12-01", "2027-05-30")
        assert human_value("actual_start_date", f["actual_start_date"]) == "2026年12月01日"
        first, second = f["installments"]
        assert (first["paid_date"], first["paid_fen"]) == ("2026-05-01", str(SCHEDULE[1]))
        assert first["paid_wan"] == "2561.502283"  # every fen of 5123.004567 / 2
        assert (second["paid_date"], second["paid_wan"], second["paid_fen"]) == ("", "", "")
        # Everything else is the original's.
        assert {k: v for k, v in f.items() if k not in ("actual_start_date", "actual_completion_date",
                                                        "installments")} == \
            {k: v for k, v in original()["fields"].items() if k not in ("actual_start_date", "actual_completion_date",
                                                                        "installments")}

    def test_order_survives_jsonb_and_xml_carries_the_version(self) -> None:
        doc = updated_result_document(original(), self.facts(), version=2, published_at=LATER)
        shuffled = json.loads(json.dumps(doc, sort_keys=True))
        assert json.dumps(site_order(shuffled), ensure_ascii=False) == json.dumps(doc, ensure_ascii=False)
        root = ET.fromstring(to_xml(doc))
        assert (root.get("kind"), root.findtext("version"), root.findtext("supersedes")) == (
            UPDATE, "2", "RES-GD-2026-007")
        assert root.find("fields/actual_start_date").get("label") == "实际开工时间"  # type: ignore[union-attr]
        assert root.findtext("fields/installments/installment/paid_date") == "2026-05-01"

    def test_the_page_shows_the_sites_dates_and_the_payments(self) -> None:
        doc = updated_result_document(original(), self.facts(), version=2, published_at=LATER)
        html = detail_body(doc)
        assert '<tr id="f-actual_start_date"><th>实际开工时间</th><td>2026年12月01日</td></tr>' in html
        assert "<th>实际支付日期</th><th>实际支付金额</th>" in html and "2561.502283 万元" in html

    def test_the_note_says_updated_and_links_every_version(self) -> None:
        first = original()
        second = updated_result_document(first, self.facts(), version=2, published_at=LATER)
        assert versions_note([first], first) == ""
        latest = versions_note([first, second], second)
        assert "本结果已更新（第2版），更新于 " in latest and "2027年" in latest
        assert 'href="/public/results/RES-GD-2026-007?version=1">第1版</a> 发布于' in latest
        assert 'href="/public/results/RES-GD-2026-007-2">第2版</a> 更新于' in latest
        earlier = versions_note([first, second], first)
        assert "本页为第1版" in earlier and 'href="/public/results/RES-GD-2026-007">最新版本（第2版）' in earlier
