"""The tender (招标, RULES 6) command path: `service.py` (create, qualify, sealed bids, the
opening, the evaluation, the committee's reserve, the result for publication)."""

from auction.services.tender.service import TenderRequest, TenderService, receipt_view

__all__ = ["TenderRequest", "TenderService", "receipt_view"]
