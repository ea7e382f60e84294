"""The trading session engine: listing and auction state, commands, events and terms (docs/rules.md sections 4, 5 and 7)."""
