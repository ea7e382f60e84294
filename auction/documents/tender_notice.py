"""The notice of award (中标通知书, N Art.20; RULES 6.6) as HTML: the tender's counterpart
of the transaction confirmation (auction/documents/confirmation.py), laid out the same way.

N Art.20 names the winner of a tender 中标人; the contract follows within 10 working
days of the award (Q42), as after any sale.
"""

from __future__ import annotations

from dataclasses import dataclass

from auction.documents.confirmation import Award
from auction.domain.china import chinese_time

EVALUATION_NAMES = {"HIGHEST_PRICE": "价高者得", "SCORING": "综合评分"}


@dataclass(frozen=True)
class TenderNotice(Award):
    tender_id: str
    evaluation: str  # HIGHEST_PRICE or SCORING
    score: str  # the winner's combined score ("" for highest price)
    opened_at: int  # µs UTC: 开标时间
    awarded_at: int  # µs UTC

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            *self.head_rows(("中标人", self.winner_name), "投标人编号"),
            ("出让方式", "招标出让"),
            ("评标办法", EVALUATION_NAMES.get(self.evaluation, self.evaluation)),
            ("开标时间", chinese_time(self.opened_at) + "（北京时间）"),
            ("开标地点", f"{self.trading_center}网上交易系统（招标 {self.tender_id}）"),
            ("定标时间", chinese_time(self.awarded_at) + "（北京时间）"),
        ]
        if self.score:
            rows.append(("综合得分", self.score))
        rows += [
            *self.price_rows("中标价款"),
            ("签订出让合同", "中标人应于本通知书发出之日起10个工作日内签订《国有建设用地使用权出让合同》；"
                         "逾期未签订的，取消中标资格，投标保证金不予退还（第四十二条）。"),
        ]
        return rows


def render_html(n: TenderNotice) -> str:
    return n.page("中标通知书", "根据《招标拍卖挂牌出让国有建设用地使用权规定》第二十条，经公开开标和评标，确定中标人如下：",
                  "中标人（签章）：")
