"""The transaction confirmation (成交确认书, N Art.20; RULES 8.1) as HTML and PDF.

N Art.20: 以招标、拍卖或者挂牌方式确定中标人、竞得人后，出让人应当与中标人、竞得人签订成交
确认书。成交确认书应当包括出让人和中标人、竞得人的名称，出让标的，成交时间、地点、价款以及
签订国有建设用地使用权出让合同的时间、地点等内容。

So: seller, winner, parcel, time and place, price (万元, exact 元 and fen, 大写), the
deposit (万元 with its fen), dates written 2026年12月06日 (auction/domain/china.py), and
where and by when the contract is signed: the Q42 contract deadline as the
clock computed it (or, while its calendar year is not loaded, that fact).
`Confirmation` is plain data; `render_html` and `render_pdf` only lay it out.
The PDF embeds a subset of a Chinese TrueType font (auction/documents/fonts.py),
so any reader shows it, with or without Chinese fonts of its own.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date

from auction.domain.amount_words import fen_to_capital
from auction.domain.china import chinese_date, chinese_time
from auction.documents.fonts import pdf_font
from auction.domain.money import format_fen, format_wan, format_wan_fen, format_yuan

METHOD_NAMES = {"LISTING": "挂牌出让", "AUCTION": "拍卖出让"}


@dataclass(frozen=True)
class Award:
    """What every award document states (N Art.20): who awards what to whom, for how much."""

    number: str  # 编号
    seller: str  # 出让人
    trading_center: str  # 交易地点 (Q30)
    winner_name: str  # 竞得人, 中标人
    bidder_no: int  # 竞买号, 投标人编号
    parcel_ref: str  # 宗地编号
    parcel_facts: tuple[tuple[str, str], ...]  # e.g. (("坐落", ...), ("面积", ...)) from the supply plan
    price_fen: int
    issued_at: int  # µs UTC

    def head_rows(self, winner: tuple[str, str], bidder_label: str) -> list[tuple[str, str]]:
        """The document's first lines: its number, the parties, the parcel."""
        return [
            ("编号", self.number),
            ("出让人", self.seller),
            winner,
            (bidder_label, str(self.bidder_no)),
            ("出让标的", f"宗地编号 {self.parcel_ref} 的国有建设用地使用权"),
            *self.parcel_facts,
        ]

    def price_rows(self, label: str) -> list[tuple[str, str]]:
        """The price in 万元, exact in 元 and fen, and in capital figures."""
        return [
            (label, f"人民币 {format_wan(self.price_fen)}（{format_yuan(self.price_fen)}，{format_fen(self.price_fen)}）"),
            ("大写金额", f"人民币{fen_to_capital(self.price_fen)}"),
        ]

    def rows(self) -> list[tuple[str, str]]:
        """The document's lines, in order (label, text)."""
        raise NotImplementedError

    def page(self, title: str, preamble: str, winner_signs: str) -> str:
        return page_html(title, self.number, preamble, self.rows(), (f"出让人（盖章）：{self.seller}", winner_signs),
                         self.issued_at)


@dataclass(frozen=True)
class Confirmation(Award):
    session_id: str
    winner_registration_no: str  # 统一社会信用代码 / 身份证号码 ("" for a stand-in bidder)
    method: str  # LISTING or AUCTION
    closed_at: int  # µs UTC
    deposit_applied_fen: int  # the winner's deposit, 抵作土地出让价款 (Q31)
    sign_place: str
    sign_due_date: date | None  # the Q42 deadline's day; None while its calendar year is missing
    sign_missing_year: int | None
    contract_working_days: int  # Q42: 10
    sign_provisional_years: tuple[int, ...] = ()  # the due day was counted on a provisional calendar year

    def rows(self) -> list[tuple[str, str]]:
        registration = f"（{self.winner_registration_no}）" if self.winner_registration_no else ""
        rows = [
            *self.head_rows(("竞得人", self.winner_name + registration), "竞买号"),
            ("出让方式", METHOD_NAMES.get(self.method, self.method)),
            ("成交时间", chinese_time(self.closed_at) + "（北京时间）"),
            ("成交地点", f"{self.trading_center}网上交易系统（交易场次 {self.session_id}）"),
            *self.price_rows("成交价款"),
        ]
        if self.deposit_applied_fen:
            rows.append(("竞买保证金", f"人民币 {format_wan_fen(self.deposit_applied_fen)}，抵作土地出让价款（第三十一条）"))
        rows.append(("签订出让合同", self.signing_text()))
        return rows

    def signing_text(self) -> str:
        if self.sign_due_date is not None:
            when = f"于{chinese_date(self.sign_due_date)}（含当日）前"
            if self.sign_provisional_years:
                years = "、".join(str(y) for y in self.sign_provisional_years)
                when += (f"（该日期按法定节假日暂定，{years}年国务院节假日安排公布后据以重算，"
                         "如有变动另行通知）")
        else:
            year = f"{self.sign_missing_year}年" if self.sign_missing_year is not None else ""
            when = f"于成交之日起{self.contract_working_days}个工作日内（{year}工作日历尚未导入，具体日期另行通知）"
        return (f"竞得人应{when}，到{self.sign_place}签订《国有建设用地使用权出让合同》。"
                "逾期未签订的，取消竞得资格，竞买保证金不予退还（第四十二条）。")


def render_html(c: Confirmation) -> str:
    return c.page("成交确认书", "根据《招标拍卖挂牌出让国有建设用地使用权规定》第二十条，经网上交易，出让人与竞得人确认成交如下：",
                  "竞得人（签章）：")


def page_html(title: str, number: str, preamble: str, rows: list[tuple[str, str]], signs: tuple[str, str],
              issued_at: int) -> str:
    """A one-page document: its title, a preamble, a table of (label, text) and two signing lines."""
    lines = "\n".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(text)}</td></tr>" for label, text in rows
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} {html.escape(number)}</title>
<style>
body {{ font-family: "Songti SC", "SimSun", "Noto Serif CJK SC", serif; max-width: 46em; margin: 2em auto; }}
h1 {{ text-align: center; letter-spacing: 0.5em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #444; padding: 0.5em; text-align: left; vertical-align: top; }}
th {{ width: 8em; background: #f3f3f3; }}
.sign {{ margin-top: 3em; display: flex; justify-content: space-between; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(preamble)}</p>
<table>
{lines}
</table>
<div class="sign"><span>{html.escape(signs[0])}</span><span>{html.escape(signs[1])}</span></div>
<p>签发日期：{html.escape(chinese_time(issued_at))}（北京时间）</p>
</body>
</html>
"""


def render_pdf(c: Confirmation) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=1, spaceAfter=8 * mm)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    label = ParagraphStyle("label", parent=body, fontSize=11)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(html.escape(text), style)

    table = Table(
        [[para(k, label), para(v)] for k, v in c.rows()],
        colWidths=[30 * mm, 140 * mm],
        style=TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font),  # the cells' own font: else Helvetica, not embedded
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.95, 0.95, 0.95)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]),
    )
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"成交确认书 {c.number}", author=c.seller,
        leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm,
        initialFontName=font,  # else every page names Helvetica, a font not embedded
    )
    doc.build([
        Paragraph("成 交 确 认 书", title),
        para("根据《招标拍卖挂牌出让国有建设用地使用权规定》第二十条，经网上交易，出让人与竞得人确认成交如下："),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 14 * mm),
        para(f"出让人（盖章）：{c.seller}"),
        Spacer(1, 8 * mm),
        para("竞得人（签章）："),
        Spacer(1, 8 * mm),
        para(f"签发日期：{chinese_time(c.issued_at)}（北京时间）"),
    ])
    return buffer.getvalue()
