"""The operator console's accounts, sessions, roles and audit trail (the pages are in auction/entrypoints/console)."""
