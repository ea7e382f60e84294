"""The transaction confirmation (成交确认书, N Art.20): what it says, as HTML and as PDF."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from auction.documents.confirmation import Confirmation, render_html, render_pdf
from auction.documents.fonts import FontFile, PdfFontMissing, find_font
from tests.pdf_reading import assert_fonts_embedded, font_files, pdf_text
from tests.unit.test_deadlines import cst

CONFIRMATION = Confirmation(
    number="CJQR-S-1",
    session_id="S-1",
    seller="曲靖市自然资源和规划局",
    trading_center="曲靖市公共资源交易中心",
    winner_name="曲靖市甲房地产开发有限公司<script>",
    winner_registration_no="91530300MA6K00001A",
    bidder_no=4821,
    parcel_ref="QJ2026-031",
    parcel_facts=(("坐落", "曲靖市麒麟区"),),
    method="LISTING",
    closed_at=cst(2026, 9, 30, 15),
    price_fen=5_601_234_500,
    deposit_applied_fen=1_000_000_000,
    sign_place="曲靖市自然资源和规划局",
    sign_due_date=date(2026, 10, 20),
    sign_missing_year=None,
    contract_working_days=10,
    issued_at=cst(2026, 9, 30, 15),
)


def test_the_html_has_every_item_n_art_20_asks_for() -> None:
    page = render_html(CONFIRMATION)
    for text in ("成交确认书", "出让人", "曲靖市自然资源和规划局", "竞得人", "91530300MA6K00001A", "QJ2026-031",
                 "曲靖市麒麟区", "挂牌出让", "2026年09月30日 15:00:00", "曲靖市公共资源交易中心",
                 "5601.2345 万元", "56,012,345.00 元", "5,601,234,500 分", "人民币伍仟陆佰零壹万贰仟叁佰肆拾伍元整",
                 "人民币 1000 万元（1,000,000,000 分），抵作土地出让价款", "于2026年10月20日（含当日）前", "第四十二条"):
        assert text in page, text
    # The house's formats (dates zero-padded, the deposit in 万元, fen with separators), no other.
    assert "2026年9月30日" not in page and "5601234500" not in page and "10,000,000.00 元" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_while_the_year_is_missing_the_date_is_not_guessed() -> None:
    text = replace(CONFIRMATION, sign_due_date=None, sign_missing_year=2027).signing_text()
    assert "10个工作日内" in text and "2027年工作日历尚未导入" in text and "（含当日）前" not in text


def test_a_provisional_date_says_so() -> None:
    """RULES 9: a Q42 date counted on a provisional year is named, with the reason."""
    text = replace(CONFIRMATION, sign_due_date=date(2027, 1, 4), sign_provisional_years=(2027,)).signing_text()
    assert "2027年01月04日" in text and "按法定节假日暂定" in text and "2027年国务院节假日安排" in text
    assert "暂定" not in CONFIRMATION.signing_text()


def test_the_pdf_embeds_its_chinese_font_and_its_text_extracts() -> None:
    """A reader without Chinese fonts shows it: a subset of the font travels in the file."""
    pdf = render_pdf(CONFIRMATION)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert font_files(pdf) == {"AAAAAA+UMingCN-0": "FontFile2"}
    assert_fonts_embedded(pdf)
    assert b"STSong-Light" not in pdf and b"Helvetica" not in pdf
    # A subset, not the whole 20 MB collection.
    assert len(pdf) < 300_000, len(pdf)
    text = re.sub(r"\s+", "", pdf_text(pdf))
    for line in ("成交确认书", "出让人", "曲靖市自然资源和规划局", "竞得人", "曲靖市甲房地产开发有限公司<script>",
                 "91530300MA6K00001A", "宗地编号QJ2026-031的国有建设用地使用权", "曲靖市麒麟区", "挂牌出让",
                 "2026年09月30日15:00:00", "5601.2345万元", "56,012,345.00元", "5,601,234,500分",
                 "人民币伍仟陆佰零壹万贰仟叁佰肆拾伍元整", "人民币1000万元（1,000,000,000分），抵作土地出让价款", "第四十二条", "《国有建设用地使用权出让合同》"):
        assert line in text, line


def test_a_missing_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(PdfFontMissing) as refused:
        find_font((FontFile(tmp_path / "uming.ttc", 0, "fonts-arphic-uming"),))
    message = str(refused.value)
    assert message.index("中文字体") < message.index("Chinese font")
    assert "apt-get install fonts-arphic-uming" in message and str(tmp_path / "uming.ttc") in message
    assert find_font().package == "fonts-arphic-uming"  # installed by scripts/system-packages
