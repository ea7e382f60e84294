"""Moved to `auction.store.console` (all SQL lives in auction/store/). This name stays only
for the modules still importing it (web/console.py, web/console_records.py), which the
redesign's next step moves; new code imports `auction.store.console`."""

from auction.store.console import SignedIn as SignedIn

__all__ = ["SignedIn"]
