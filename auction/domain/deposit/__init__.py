"""Deposits, the sub-account ledger and the settlement after the close (docs/rules.md sections 3 and 8)."""
