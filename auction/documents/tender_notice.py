"""The notice of award (中标通知书, N Art.20; RULES 6.6) as HTML: the tender's counterpart
of the transaction confirmation (auction/documents/confirmation.py), laid out the same way.

N Art.20 names the winner of a tender 中标人; the contract follows within 10 working
days of the award (Q42), as after any sale.
"""

from __future__ import annotations

from dataclasses import dataclass

from auction.documents.confirmation import page_html
from auction.domain.amount_words import fen_to_capital
from auction.domain.china import chinese_time
from auction.domain.money import format_wan, format_yuan

EVALUATION_NAMES = {"HIGHEST_PRICE": "价高者得", "SCORING": "综合评分"}


@dataclass(frozen=True)
class TenderNotice:
    number: str  # 中标通知书编号
    tender_id: str
    seller: str  # 出让人
    trading_center: str
    winner_name: str  # 中标人
    bidder_no: int  # 投标人编号
    parcel_ref: str  # 宗地编号
    parcel_facts: tuple[tuple[str, str], ...]
    evaluation: str  # HIGHEST_PRICE or SCORING
    score: str  # the winner's combined score ("" for highest price)
    opened_at: int  # µs UTC: 开标时间
    awarded_at: int  # µs UTC
    price_fen: int
    issued_at: int  # µs UTC

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("编号", self.number),
            ("出让人", self.seller),
            ("中标人", self.winner_name),
            ("投标人编号", str(self.bidder_no)),
            ("出让标的", f"宗地编号 {self.parcel_ref} 的国有建设用地使用权"),
            *self.parcel_facts,
            ("出让方式", "招标出让"),
            ("评标办法", EVALUATION_NAMES.get(self.evaluation, self.evaluation)),
            ("开标时间", chinese_time(self.opened_at) + "（北京时间）"),
            ("开标地点", f"{self.trading_center}网上交易系统（招标 {self.tender_id}）"),
            ("定标时间", chinese_time(self.awarded_at) + "（北京时间）"),
        ]
        if self.score:
            rows.append(("综合得分", self.score))
        rows += [
            ("中标价款", f"人民币 {format_wan(self.price_fen)}（{format_yuan(self.price_fen)}，{self.price_fen} 分）"),
            ("大写金额", f"人民币{fen_to_capital(self.price_fen)}"),
            ("签订出让合同", "中标人应于本通知书发出之日起10个工作日内签订《国有建设用地使用权出让合同》；"
                         "逾期未签订的，取消中标资格，投标保证金不予退还（第四十二条）。"),
        ]
        return rows


def render_html(n: TenderNotice) -> str:
    return page_html(
        "中标通知书", n.number, "根据《招标拍卖挂牌出让国有建设用地使用权规定》第二十条，经公开开标和评标，确定中标人如下：",
        n.rows(), (f"出让人（盖章）：{n.seller}", "中标人（签章）："), n.issued_at,
    )
