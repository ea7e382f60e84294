"""结果公示（更新）: the result record again, whole, with what was recorded after the deal
(auction/domain/plan/post_deal.py): 实际开工时间, 实际竣工时间 and each installment as paid.

The China Land Market website updates a deal's 供地结果信息 in place when these become
known; a channel here gets each update as a new document: the original result is stored
and delivered once under `RES-{plan_id}` and never changed, and the outbox delivers a
document id once per channel (its `Idempotency-Key` is `{document_id}:{channel}`, and
receivers answer a repeated key with the first receipt). So version n (2, 3, ...) is
`RES-{plan_id}-{n}`, kind `RESULT_UPDATE`, with `version` and `supersedes` (the id of the
version before it) in its envelope, and every result field, so a receiver replaces its
record with it. Pure: documents in, a document out.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from auction.domain.china import iso_cst_seconds
from auction.domain.money import wan_number
from auction.domain.plan.post_deal import PostDealFacts
from auction.documents.landchina import RESULT, UPDATE, document_id, site_order


def contract_terms(result: dict[str, Any]) -> tuple[date, dict[int, int]]:
    """What post-deal facts are checked against, as the result published it: the contract's
    date and its installments (period -> fen)."""
    fields = result["fields"]
    return (date.fromisoformat(fields["contract_date"]),
            {int(p["period"]): int(p["amount_fen"]) for p in fields["installments"]})


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def updated_result_document(original: dict[str, Any], facts: PostDealFacts, *, version: int,
                            published_at: int) -> dict[str, Any]:
    """Version `version` (from 2) of the sale's result `original` (`RES-{plan_id}`), carrying `facts`."""
    if original["kind"] != RESULT or version < 2:
        raise ValueError("an update is of a sale's result, from version 2")
    document = copy.deepcopy(original)
    fields = document["fields"]
    fields["actual_start_date"] = _day(facts.actual_start_date)
    fields["actual_completion_date"] = _day(facts.actual_completion_date)
    for part in fields["installments"]:
        paid = facts.paid.get(int(part["period"]))
        part["paid_date"] = _day(paid.last_date if paid else None)
        part["paid_wan"] = wan_number(paid.amount_fen) if paid else ""
        part["paid_fen"] = str(paid.amount_fen) if paid else ""
    plan_id = original["plan_id"]
    document.update({
        "document_id": document_id(UPDATE, plan_id, version),
        "kind": UPDATE,
        "published_at": iso_cst_seconds(published_at),
        "version": version,
        "supersedes": original["document_id"] if version == 2 else document_id(UPDATE, plan_id, version - 1),
    })
    return site_order(document)
