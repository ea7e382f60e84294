"""The legal clock: working days, statutory periods and the deadlines after a sale (docs/rules.md sections 8 and 9)."""
